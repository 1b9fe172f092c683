// Kubernetes objects -> DesiredInput in one call, for tests, benchmarks and
// tools (the controller builds the same input incrementally from its trackers).
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { endpointsFromSlices, sliceServiceName } from '../../proxy/endpoints.js';
import { serviceName, servicePortsFromService, type ProxyFilter } from '../../proxy/service-port.js';
import type { DesiredInput, EndpointsResult } from './desired-state.js';
import { nodeInfoFromNode, type ExternalRoute, type PortMac } from './nodes.js';

export function desiredInputFromObjects(
  objs: { services: V1Service[]; slices: V1EndpointSlice[]; nodes: V1Node[]; externalRoutes?: ExternalRoute[]; portMacs?: PortMac[]; nodeSwitchPorts?: ReadonlyMap<string, number> },
  filter: ProxyFilter = {},
): DesiredInput {
  const services = new Map(objs.services.map((s) => [serviceName(s), servicePortsFromService(s, filter)]));
  const slicesBySvc = new Map<string, V1EndpointSlice[]>();
  for (const sl of objs.slices) {
    const svc = sliceServiceName(sl);
    if (svc === undefined) continue;
    const list = slicesBySvc.get(svc) ?? [];
    list.push(sl);
    slicesBySvc.set(svc, list);
  }
  const endpoints = new Map<string, EndpointsResult>();
  for (const [svc, list] of slicesBySvc) endpoints.set(svc, endpointsFromSlices(svc, list));
  return {
    services,
    endpoints,
    nodes: objs.nodes.map((n) => nodeInfoFromNode(n, objs.nodeSwitchPorts).node),
    externalRoutes: objs.externalRoutes ?? [],
    portMacs: objs.portMacs ?? [],
  };
}
