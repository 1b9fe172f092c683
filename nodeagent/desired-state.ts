// What the host maps should hold, computed from Kubernetes objects alone
// (pure, so it is tested with plain objects): one frontend per address a
// Service answers on, with the flags the host programs act on, and the local
// endpoints of internalTrafficPolicy=Local frontends. kube-proxy's rules:
// headless and ExternalName Services and those handled by another proxy
// (service.kubernetes.io/service-proxy-name) are skipped; ready endpoints are
// used, serving+terminating ones only when no endpoint is ready.
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { HOST_FE_F_AFFINITY, HOST_FE_F_HAS_ENDPOINTS, HOST_FE_F_LOCAL_ONLY } from '../bpf/layouts/host-maps.js';
import type { HostFrontend, HostFrontendKey, HostLocalBackend } from '../bpf/layouts/host-maps.js';

export const PROTOCOLS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132 };
/** kube-proxy's default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_S = 10800;
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export interface DesiredFrontend {
  key: HostFrontendKey;
  value: HostFrontend;
  /** ITP=Local: the local endpoints, index i -> tl_host_lbe (frontend, i). */
  local: HostLocalBackend[];
  /** "namespace/name:port/proto", for logs. */
  service: string;
  /** Usable endpoints cluster-wide ("addr:port", sorted): a removal flushes ClientIP affinity. */
  endpoints: string[];
}

export interface DesiredState {
  /** By frontendKeyString(). */
  frontends: Map<string, DesiredFrontend>;
  /** Services or ports that could not be programmed, with why. */
  problems: string[];
}

export function frontendKeyString(k: HostFrontendKey): string {
  return `${k.addr}:${k.port}/${k.proto}`;
}

export function isIPv4(s: string | undefined): s is string {
  const m = s ? IPV4.exec(s) : null;
  return !!m && m.slice(1).every((x) => Number(x) <= 255);
}

interface Endpoint {
  addr: string;
  port: number;
  node: string | undefined;
}

/** Usable endpoints of one service port: ready ones, else serving+terminating ones. */
function endpointsFor(slices: readonly V1EndpointSlice[], portName: string, proto: string): Endpoint[] {
  const ready: Endpoint[] = [];
  const terminating: Endpoint[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === proto);
    if (!port || port.port === undefined || port.port === null) continue;
    for (const ep of slice.endpoints ?? []) {
      const addr = ep.addresses?.[0];
      if (!isIPv4(addr)) continue;
      const id = `${addr}:${port.port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const c = ep.conditions ?? {};
      const e = { addr, port: port.port, node: ep.nodeName ?? undefined };
      // A nil ready condition means ready (EndpointSlice API).
      if (c.ready !== false && c.terminating !== true) ready.push(e);
      else if (c.serving !== false && c.terminating === true) terminating.push(e);
    }
  }
  const out = ready.length > 0 ? ready : terminating;
  return out.sort((a, b) => (a.addr === b.addr ? a.port - b.port : a.addr < b.addr ? -1 : 1));
}

/** Whether this node agent handles the Service at all (kube-proxy's filter). */
export function servesService(svc: V1Service): boolean {
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return false;
  if (!spec.clusterIP || spec.clusterIP === 'None') return false;
  if (svc.metadata?.labels?.[SERVICE_PROXY_NAME_LABEL] !== undefined) return false;
  return true;
}

function nodeInternalIPs(nodes: readonly V1Node[]): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    for (const a of n.status?.addresses ?? []) if (a.type === 'InternalIP' && isIPv4(a.address)) out.push(a.address);
  }
  return out;
}

/**
 * The frontends (and local endpoints) this node's maps should hold.
 * `nodeName` decides which endpoints are local for ITP=Local.
 */
export function desiredState(input: {
  nodeName: string;
  services: readonly V1Service[];
  slices: readonly V1EndpointSlice[];
  nodes: readonly V1Node[];
}): DesiredState {
  const frontends = new Map<string, DesiredFrontend>();
  const problems: string[] = [];
  const slicesBySvc = new Map<string, V1EndpointSlice[]>();
  for (const s of input.slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const k = `${s.metadata?.namespace ?? 'default'}/${svc}`;
    let list = slicesBySvc.get(k);
    if (!list) slicesBySvc.set(k, (list = []));
    list.push(s);
  }
  const nodeIPs = nodeInternalIPs(input.nodes);

  const sorted = [...input.services].sort((a, b) =>
    `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`),
  );
  for (const svc of sorted) {
    if (!servesService(svc)) continue;
    const spec = svc.spec!;
    const id = `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
    const slices = slicesBySvc.get(id) ?? [];
    const affinity = spec.sessionAffinity === 'ClientIP';
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_S;
    const itpLocal = spec.internalTrafficPolicy === 'Local';
    const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP!]).filter(isIPv4);
    const externalIPs = [...(spec.externalIPs ?? []), ...(svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '')].filter(isIPv4);

    for (const port of spec.ports ?? []) {
      const protoName = port.protocol ?? 'TCP';
      const proto = PROTOCOLS[protoName];
      const what = `${id}:${port.name ?? ''}/${protoName}`;
      if (proto === undefined) {
        problems.push(`service ${what}: unsupported protocol`);
        continue;
      }
      const eps = endpointsFor(slices, port.name ?? '', protoName);
      const baseFlags = (eps.length > 0 ? HOST_FE_F_HAS_ENDPOINTS : 0) | (affinity ? HOST_FE_F_AFFINITY : 0);
      const add = (addr: string, p: number, local: boolean): void => {
        const key = { addr, port: p, proto };
        const ks = frontendKeyString(key);
        if (frontends.has(ks)) {
          problems.push(`service ${what}: frontend ${ks} already belongs to ${frontends.get(ks)!.service}`);
          return;
        }
        const localEps = local ? eps.filter((e) => e.node === input.nodeName).map((e) => ({ addr: e.addr, port: e.port })) : [];
        frontends.set(ks, {
          key,
          service: what,
          endpoints: eps.map((e) => `${e.addr}:${e.port}`),
          local: localEps,
          value: {
            flags: baseFlags | (local ? HOST_FE_F_LOCAL_ONLY : 0),
            affinity_timeout_s: affinity ? timeout : 0,
            local_count: localEps.length,
          },
        });
      };
      // internalTrafficPolicy applies to the ClusterIP only; traffic from a
      // pod to NodePorts/external IPs is cluster-wide (kube-proxy does the same).
      for (const ip of clusterIPs) add(ip, port.port, itpLocal);
      for (const ip of externalIPs) add(ip, port.port, false);
      if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && port.nodePort) {
        for (const ip of nodeIPs) add(ip, port.nodePort, false);
      }
    }
  }
  return { frontends, problems };
}
