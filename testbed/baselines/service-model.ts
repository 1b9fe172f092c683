// What kube-proxy sees of Services and EndpointSlices, flattened for rule
// generation: one entry per service port (namespace/name:port/protocol) with
// the endpoints kube-proxy would use for it on one node. Both baselines
// generate their rules from this model, so they agree on semantics.
import type { KubeObject } from '../apiserver/types.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface Endpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  /** On the node the rules are for. */
  isLocal: boolean;
}

export interface ServicePort {
  namespace: string;
  name: string;
  /** The port's name ("" for an unnamed single port). */
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  externalIPs: string[];
  loadBalancerIPs: string[];
  /** ClientIP affinity timeout in seconds, when session affinity is on. */
  affinitySeconds?: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** Every endpoint the slices list for this port (deduplicated by ip:port). */
  endpoints: Endpoint[];
}

/** "ns/name:port" (or "ns/name" for an unnamed port): kube-proxy's ServicePortName.String(). */
export function servicePortName(sp: Pick<ServicePort, 'namespace' | 'name' | 'portName'>): string {
  return `${sp.namespace}/${sp.name}${sp.portName ? `:${sp.portName}` : ''}`;
}

export function hasExternal(sp: ServicePort): boolean {
  return sp.nodePort !== undefined || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
}

/**
 * kube-proxy's endpoint categorization: the cluster-wide set is the ready
 * endpoints, or, when none is ready, the serving terminating ones (so that
 * connections survive a rollout); the local set is the same over this node's
 * endpoints.
 */
export function usableEndpoints(eps: readonly Endpoint[], localOnly: boolean): Endpoint[] {
  const pool = localOnly ? eps.filter((e) => e.isLocal) : [...eps];
  const ready = pool.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return pool.filter((e) => e.serving && e.terminating);
}

/** The endpoints that new connections from a given source kind go to. */
export function clusterEndpoints(sp: ServicePort): Endpoint[] {
  return usableEndpoints(sp.endpoints, false);
}

export function localEndpoints(sp: ServicePort): Endpoint[] {
  return usableEndpoints(sp.endpoints, true);
}

interface SlicePort {
  name?: string;
  port?: number;
  protocol?: string;
}

interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
}

function isProxyable(svc: KubeObject): boolean {
  const spec = svc.spec ?? {};
  const ip = spec.clusterIP as string | undefined;
  if (!ip || ip === 'None') return false; // headless: DNS only
  if (spec.type === 'ExternalName') return false;
  // Services meant for another proxy are left alone, as kube-proxy does.
  if (svc.metadata.labels?.['service.kubernetes.io/service-proxy-name']) return false;
  return !ip.includes(':');
}

/** Builds the model for one node from the current Services and EndpointSlices. */
export function buildServicePorts(services: Iterable<KubeObject>, slices: Iterable<KubeObject>, nodeName: string): ServicePort[] {
  // "ns/svc" -> "portName/protocol" -> ip:port -> endpoint
  const byService = new Map<string, Map<string, Map<string, Endpoint>>>();
  for (const slice of slices) {
    if (slice.addressType !== undefined && slice.addressType !== 'IPv4') continue;
    const svcName = slice.metadata.labels?.['kubernetes.io/service-name'];
    if (!svcName) continue;
    const key = `${slice.metadata.namespace ?? 'default'}/${svcName}`;
    let ports = byService.get(key);
    if (!ports) byService.set(key, (ports = new Map()));
    for (const p of (slice.ports ?? []) as SlicePort[]) {
      if (p.port === undefined) continue;
      const pk = `${p.name ?? ''}/${p.protocol ?? 'TCP'}`;
      let eps = ports.get(pk);
      if (!eps) ports.set(pk, (eps = new Map()));
      for (const e of (slice.endpoints ?? []) as SliceEndpoint[]) {
        const ip = e.addresses?.[0];
        if (!ip) continue;
        const ready = e.conditions?.ready ?? true;
        const ep: Endpoint = {
          ip,
          port: p.port,
          ready,
          serving: e.conditions?.serving ?? ready,
          terminating: e.conditions?.terminating ?? false,
          nodeName: e.nodeName,
          isLocal: e.nodeName === nodeName,
        };
        eps.set(`${ip}:${p.port}`, ep);
      }
    }
  }

  const out: ServicePort[] = [];
  for (const svc of services) {
    if (!isProxyable(svc)) continue;
    const spec = svc.spec;
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name ?? '';
    const affinity = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined;
    const lbIPs = ((svc.status?.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((i) => i.ip).filter((ip): ip is string => !!ip);
    const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
    for (const p of (spec.ports ?? []) as { name?: string; port: number; protocol?: Protocol; nodePort?: number }[]) {
      const protocol = p.protocol ?? 'TCP';
      const eps = byService.get(`${ns}/${name}`)?.get(`${p.name ?? ''}/${protocol}`);
      out.push({
        namespace: ns,
        name,
        portName: p.name ?? '',
        protocol,
        clusterIP: spec.clusterIP,
        port: p.port,
        nodePort: external && p.nodePort ? p.nodePort : undefined,
        externalIPs: [...((spec.externalIPs ?? []) as string[])],
        loadBalancerIPs: spec.type === 'LoadBalancer' ? lbIPs : [],
        affinitySeconds: affinity,
        externalPolicyLocal: external && spec.externalTrafficPolicy === 'Local',
        internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
        endpoints: eps ? [...eps.values()].sort((a, b) => compareEndpoints(a, b)) : [],
      });
    }
  }
  out.sort((a, b) => servicePortName(a).localeCompare(servicePortName(b)) || a.protocol.localeCompare(b.protocol));
  return out;
}

function ipKey(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return ipKey(a.ip) - ipKey(b.ip) || a.port - b.port;
}
