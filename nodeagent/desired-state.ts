// What the host maps should hold, computed from Kubernetes objects alone
// (pure, so it is tested with plain objects): one frontend per address a
// Service answers on, with the flags the host programs act on, and the local
// endpoints of internalTrafficPolicy=Local frontends. The model is the
// controller's (proxy/: kube-proxy's service ports, endpoints, filters and
// frontend ownership), so a host serves exactly the Services, ports and
// endpoints the switch does; the hosts are IPv4 only.
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { HOST_FE_F_AFFINITY, HOST_FE_F_HAS_ENDPOINTS, HOST_FE_F_LOCAL_ONLY } from '../bpf/layouts/host-maps.js';
import type { HostFrontend, HostFrontendKey, HostLocalBackend } from '../bpf/layouts/host-maps.js';
import { endpointsFromSlices, selectableEndpoints, sliceServiceName } from '../proxy/endpoints.js';
import { frontendCandidates, ownsBefore, type FrontendCandidate, type NodeAddresses, type NodePortAddresses } from '../proxy/frontends.js';
import type { Problem } from '../proxy/problem.js';
import { serviceName, servicePortsFromService, type ProxyFilter, type ServicePortInfo, type ServicePortsResult } from '../proxy/service-port.js';

/** IP protocol numbers of the protocols the model serves. */
export const PROTOCOLS: Readonly<Record<ServicePortInfo['protocol'], number>> = { TCP: 6, UDP: 17 };
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export interface DesiredFrontend {
  key: HostFrontendKey;
  value: HostFrontend;
  /** ITP=Local: the local endpoints, index i -> tl_host_lbe (frontend, i). */
  local: HostLocalBackend[];
  /** "namespace/name:port/PROTOCOL", for logs. */
  service: string;
  /** Usable endpoints cluster-wide ("addr:port", sorted): a removal flushes ClientIP affinity. */
  endpoints: string[];
}

/** What a node answers on a Service's healthCheckNodePort (kube-proxy's service health server). */
export interface ServiceHealthCheck {
  namespace: string;
  name: string;
  /** Ready endpoints of the Service on this node (distinct addresses, over all its ports). */
  localEndpoints: number;
}

export interface DesiredState {
  /** By frontendKeyString(). */
  frontends: Map<string, DesiredFrontend>;
  /** By healthCheckNodePort. */
  healthChecks: Map<number, ServiceHealthCheck>;
  /** What could not be served, each naming the Service and the field. */
  problems: Problem[];
}

export function frontendKeyString(k: HostFrontendKey): string {
  return `${k.addr}:${k.port}/${k.proto}`;
}

export function isIPv4(s: string | undefined): s is string {
  const m = s ? IPV4.exec(s) : null;
  return !!m && m.slice(1).every((x) => Number(x) <= 255);
}

function nodeAddresses(nodes: readonly V1Node[]): NodeAddresses[] {
  return nodes.map((n) => ({
    name: n.metadata?.name ?? '',
    internalIPs: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' && isIPv4(a.address)).map((a) => a.address),
  }));
}

/**
 * What one agent reuses between syncs: the parsed ports of each Service
 * object and the endpoints of each Service's slices, recomputed only when
 * the informer hands out a new object (an update replaces it). At 5,000
 * Services parsing everything took 60-120 ms per sync; three agents syncing
 * every 100 ms while Services were being created held the API server to half
 * the write rate of the kube-proxy modes.
 */
export class DesiredStateMemo {
  readonly ports = new WeakMap<V1Service, ServicePortsResult>();
  readonly endpoints = new Map<string, { slices: readonly V1EndpointSlice[]; result: EndpointsFromSlices }>();
}

type EndpointsFromSlices = ReturnType<typeof endpointsFromSlices>;

function sameObjects<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Claim {
  sp: ServicePortInfo;
  c: FrontendCandidate;
}

/**
 * The frontends (and local endpoints) this node's maps should hold.
 * `nodeName` decides which endpoints are local for ITP=Local;
 * `serviceProxyName` is kube-proxy's (and the controller's) --service-proxy-name.
 */
export function desiredState(input: {
  nodeName: string;
  services: readonly V1Service[];
  slices: readonly V1EndpointSlice[];
  nodes: readonly V1Node[];
  serviceProxyName?: string;
  /** kube-proxy's --nodeport-addresses, as the controller's (empty: every InternalIP). */
  nodePortAddresses?: NodePortAddresses;
  /** Reused between calls with the same nodeName and serviceProxyName (the agent keeps one). */
  memo?: DesiredStateMemo;
}): DesiredState {
  const memo = input.memo ?? new DesiredStateMemo();
  const filter: ProxyFilter = { serviceProxyName: input.serviceProxyName };
  const problems: Problem[] = [];
  const slicesBySvc = new Map<string, V1EndpointSlice[]>();
  for (const s of input.slices) {
    const svc = sliceServiceName(s);
    if (svc === undefined) continue;
    let list = slicesBySvc.get(svc);
    if (!list) slicesBySvc.set(svc, (list = []));
    list.push(s);
  }
  const nodes = nodeAddresses(input.nodes);

  // Every frontend each Service asks for; the owner of a frontend claimed
  // twice is decided as on the switch (older Service, then name).
  const claims = new Map<string, Claim[]>();
  const healthCheckOwners = new Map<number, string>();
  const services = [...input.services].sort((a, b) => (serviceName(a) < serviceName(b) ? -1 : 1));
  for (const svc of services) {
    let r = memo.ports.get(svc);
    if (!r) memo.ports.set(svc, (r = servicePortsFromService(svc, filter)));
    problems.push(...r.problems);
    if (r.healthCheckNodePort !== undefined) {
      const name = serviceName(svc);
      const taken = healthCheckOwners.get(r.healthCheckNodePort);
      if (taken) problems.push({ service: name, field: 'spec.healthCheckNodePort', reason: 'conflict', message: `${r.healthCheckNodePort} is already the health check port of Service ${taken}` });
      else healthCheckOwners.set(r.healthCheckNodePort, name);
    }
    for (const sp of r.ports) {
      for (const c of frontendCandidates(sp, nodes, input.nodePortAddresses)) {
        if (!isIPv4(c.addr)) continue;
        let list = claims.get(c.key);
        if (!list) claims.set(c.key, (list = []));
        list.push({ sp, c });
      }
    }
  }
  const owner = new Map<string, Claim>();
  for (const [key, list] of claims) {
    let best = list[0]!;
    for (const claim of list.slice(1)) {
      if (ownsBefore({ name: claim.sp.service, createdAt: claim.sp.createdAt }, { name: best.sp.service, createdAt: best.sp.createdAt })) best = claim;
    }
    owner.set(key, best);
    for (const claim of list) {
      if (claim === best) continue;
      const whose = claim.sp.service === best.sp.service ? `this Service's ${best.c.field}` : `Service ${best.sp.service} (${best.c.field}, created earlier)`;
      problems.push({ service: claim.sp.service, field: claim.c.field, reason: 'conflict', message: `${claim.c.addr}:${claim.c.port}/${claim.sp.protocol} is already served for ${whose}` });
    }
  }

  const endpointsBySvc = new Map<string, ReturnType<typeof endpointsFromSlices>['endpoints']>();
  const endpointsOf = (service: string): ReturnType<typeof endpointsFromSlices>['endpoints'] => {
    let byPort = endpointsBySvc.get(service);
    if (!byPort) {
      const slices = slicesBySvc.get(service) ?? [];
      let cached = memo.endpoints.get(service);
      if (!cached || !sameObjects(cached.slices, slices)) memo.endpoints.set(service, (cached = { slices, result: endpointsFromSlices(service, slices) }));
      problems.push(...cached.result.problems);
      endpointsBySvc.set(service, (byPort = cached.result.endpoints));
    }
    return byPort;
  };
  const frontends = new Map<string, DesiredFrontend>();
  for (const [, { sp, c }] of owner) {
    const byPort = endpointsOf(sp.service);
    const eps = selectableEndpoints(byPort.get(sp.key) ?? []).filter((e) => isIPv4(e.addr));
    // internalTrafficPolicy applies to the ClusterIP only; traffic from a
    // pod to NodePorts and external IPs is cluster-wide (as kube-proxy does).
    const localOnly = c.kind === 'cluster' && sp.internalTrafficLocal;
    const local = localOnly ? eps.filter((e) => e.nodeName === input.nodeName).map((e) => ({ addr: e.addr, port: e.port })) : [];
    const key = { addr: c.addr, port: c.port, proto: PROTOCOLS[sp.protocol] };
    frontends.set(frontendKeyString(key), {
      key,
      service: `${sp.service}:${sp.portName}/${sp.protocol}`,
      endpoints: eps.map((e) => `${e.addr}:${e.port}`),
      local,
      value: {
        flags: (eps.length > 0 ? HOST_FE_F_HAS_ENDPOINTS : 0) | (sp.affinityTimeoutSeconds !== undefined ? HOST_FE_F_AFFINITY : 0) | (localOnly ? HOST_FE_F_LOCAL_ONLY : 0),
        affinity_timeout_s: sp.affinityTimeoutSeconds ?? 0,
        local_count: local.length,
      },
    });
  }
  const healthChecks = new Map<number, ServiceHealthCheck>();
  for (const [port, service] of healthCheckOwners) {
    const local = new Set<string>();
    for (const eps of endpointsOf(service).values()) for (const e of eps) if (e.ready && e.nodeName === input.nodeName) local.add(e.addr);
    const [namespace, name] = service.split('/') as [string, string];
    healthChecks.set(port, { namespace, name, localEndpoints: local.size });
  }
  for (const svc of memo.endpoints.keys()) if (!endpointsBySvc.has(svc)) memo.endpoints.delete(svc);
  return { frontends, healthChecks, problems };
}
