// The node agent's caches: Pods of this node, Services, EndpointSlices,
// Nodes (see kube/informer.ts for how they survive a real API server). Every
// change just asks for a sync, which reads the caches whole; the agent writes
// nothing before all have listed once.
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { Informer } from '../kube/informer.js';

export interface AgentInformers {
  pods: Informer<V1Pod>;
  services: Informer<V1Service>;
  slices: Informer<V1EndpointSlice>;
  nodes: Informer<V1Node>;
}

export function makeInformers(kc: KubeConfig, nodeName: string, onChange: () => void, log: (line: string) => void): AgentInformers {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const handlers = { onChange, onDelete: onChange };
  const fieldSelector = `spec.nodeName=${nodeName}`;
  return {
    pods: new Informer({ what: 'pods', kubeconfig: kc, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces({ fieldSelector }), fieldSelector, handlers, log }),
    services: new Informer({ what: 'services', kubeconfig: kc, path: '/api/v1/services', list: () => core.listServiceForAllNamespaces(), handlers, log }),
    slices: new Informer({ what: 'endpointslices', kubeconfig: kc, path: '/apis/discovery.k8s.io/v1/endpointslices', list: () => discovery.listEndpointSliceForAllNamespaces(), handlers, log }),
    nodes: new Informer({ what: 'nodes', kubeconfig: kc, path: '/api/v1/nodes', list: () => core.listNode(), handlers, log }),
  };
}
