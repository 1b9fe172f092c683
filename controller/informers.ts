// The controller's caches of Services, EndpointSlices and Nodes (see
// kube/informer.ts for how they survive a real API server). synced tells when
// every one has listed once, before which the controller writes nothing.
import { CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1EndpointSlice, type V1Node, type V1Service } from '@kubernetes/client-node';
import { Informer, type InformerHandlers } from '../kube/informer.js';

export interface ClusterInformers {
  /** Resolves once all three have listed. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

export function startInformers(
  kc: KubeConfig,
  handlers: { services: InformerHandlers<V1Service>; slices: InformerHandlers<V1EndpointSlice>; nodes: InformerHandlers<V1Node> },
  log: (line: string) => void = () => {},
): ClusterInformers {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const all = [
    new Informer({ what: 'services', kubeconfig: kc, path: '/api/v1/services', list: () => core.listServiceForAllNamespaces(), handlers: handlers.services, log }),
    new Informer({ what: 'endpointslices', kubeconfig: kc, path: '/apis/discovery.k8s.io/v1/endpointslices', list: () => discovery.listEndpointSliceForAllNamespaces(), handlers: handlers.slices, log }),
    new Informer({ what: 'nodes', kubeconfig: kc, path: '/api/v1/nodes', list: () => core.listNode(), handlers: handlers.nodes, log }),
  ];
  for (const i of all) i.start();
  return {
    synced: Promise.all(all.map((i) => i.synced)).then(() => undefined),
    async stop() {
      await Promise.all(all.map((i) => i.stop()));
    },
  };
}
