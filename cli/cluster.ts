// How the day-2 tools (status, service list, node connections) reach the
// cluster: the user's kubeconfig, and the Services as Talaria's model sees
// them (the same proxy/ computation the controller and the agents make).
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { UserError } from './errors.js';
import { desiredInputFromObjects } from '../controller/desired/from-objects.js';
import type { DesiredInput } from '../controller/desired/desired-state.js';

/** --kubeconfig FILE, else $KUBECONFIG, ~/.kube/config or the in-cluster config. */
export function userKubeconfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (e) {
    throw new UserError(`--kubeconfig ${path ?? '(default)'}: ${(e as Error).message}`);
  }
  return kc;
}

/** Services, EndpointSlices and Nodes, as the model's input. */
export async function readDesiredInput(kc: KubeConfig): Promise<DesiredInput> {
  const core = kc.makeApiClient(CoreV1Api);
  const [services, slices, nodes] = await Promise.all([core.listServiceForAllNamespaces(), kc.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces(), core.listNode()]);
  return desiredInputFromObjects({ services: services.items, slices: slices.items, nodes: nodes.items });
}
