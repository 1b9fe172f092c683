// Service ports, the unit kube-proxy's model is built on
// (pkg/proxy/serviceport.go): one per (Service, port name, protocol), keyed
// "namespace/name:port/PROTOCOL". Everything the desired state needs from a
// Service is copied here, validated, so that later stages never read the
// Kubernetes object again.
import type { V1Service } from '@kubernetes/client-node';
import { canonicalIp, parseCidr, type IpFamily } from './ip.js';
import type { Problem } from './problem.js';

/** Protocols the switch pipeline load-balances. SCTP is reported as unsupported. */
export type Protocol = 'TCP' | 'UDP';

export const serviceProxyNameLabel = 'service.kubernetes.io/service-proxy-name';
export const headlessLabel = 'service.kubernetes.io/headless';
/** kube-proxy's default when sessionAffinityConfig gives no timeout (3 hours). */
export const defaultAffinityTimeoutSeconds = 10800;

/** An address of a Service and the field of the object it was read from. */
export interface FieldIp {
  readonly ip: string;
  readonly field: string;
}

/** A CIDR as parseCidr gives it (host bits cleared). */
export type Cidr = NonNullable<ReturnType<typeof parseCidr>>;

/**
 * spec.loadBalancerSourceRanges, by address family: the sources a
 * LoadBalancer IP of that family accepts new connections from. A family
 * that is absent accepts every source.
 */
export type SourceRanges = Readonly<Partial<Record<IpFamily, readonly Cidr[]>>>;

export interface ServicePortInfo {
  /** "namespace/name:portName/PROTOCOL". */
  readonly key: string;
  /** "namespace/name". */
  readonly service: string;
  readonly portName: string;
  readonly protocol: Protocol;
  readonly port: number;
  /** Index of this port in spec.ports, to name fields in problems. */
  readonly portIndex: number;
  readonly clusterIPs: readonly string[];
  readonly nodePort?: number;
  /** Each with the field it came from (`spec.externalIPs[1]`), to name it in problems. */
  readonly externalIPs: readonly FieldIp[];
  readonly loadBalancerIPs: readonly FieldIp[];
  /** Who may open connections to loadBalancerIPs (NodePorts, externalIPs and ClusterIPs are not restricted, as in kube-proxy). */
  readonly sourceRanges: SourceRanges;
  /** Present when spec.sessionAffinity is ClientIP. */
  readonly affinityTimeoutSeconds?: number;
  readonly internalTrafficLocal: boolean;
  readonly externalTrafficLocal: boolean;
  /** Orders Services when two claim the same frontend: the older wins. */
  readonly createdAt: string;
}

export interface ServicePortsResult {
  readonly ports: ServicePortInfo[];
  readonly problems: Problem[];
  /**
   * kube-proxy's health check port of a LoadBalancer Service with
   * externalTrafficPolicy Local: every node answers on it whether it has
   * ready endpoints of the Service, so the load balancer skips those without.
   */
  readonly healthCheckNodePort?: number;
}

export interface ProxyFilter {
  /** kube-proxy's --service-proxy-name: unset means "Services without the label". */
  readonly serviceProxyName?: string;
}

export function serviceName(svc: { metadata?: { namespace?: string; name?: string } }): string {
  return `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
}

export function servicePortKey(service: string, portName: string, protocol: string): string {
  return `${service}:${portName}/${protocol}`;
}

/**
 * Why the Service is not handled at all (as kube-proxy's informer label
 * selectors and its ShouldSkipService), or undefined when it is.
 */
export function skipReason(svc: V1Service, filter: ProxyFilter = {}): string | undefined {
  const labels = svc.metadata?.labels ?? {};
  const proxyName = labels[serviceProxyNameLabel];
  if (filter.serviceProxyName === undefined ? proxyName !== undefined : proxyName !== filter.serviceProxyName) {
    return `label ${serviceProxyNameLabel}=${proxyName ?? ''}`;
  }
  if (headlessLabel in labels) return `label ${headlessLabel}`;
  if (svc.spec?.type === 'ExternalName') return 'type ExternalName';
  const ip = svc.spec?.clusterIP;
  if (ip === undefined || ip === '' || ip === 'None') return 'headless';
  return undefined;
}

const validPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;

/** The Service's ports (empty when skipped), and what is wrong with it. */
export function servicePortsFromService(svc: V1Service, filter: ProxyFilter = {}): ServicePortsResult {
  const ports: ServicePortInfo[] = [];
  const problems: Problem[] = [];
  if (skipReason(svc, filter) !== undefined) return { ports, problems };
  const service = serviceName(svc);
  const spec = svc.spec ?? {};
  const invalid = (field: string, message: string): void => {
    problems.push({ service, field, reason: 'invalid', message });
  };

  const clusterIPs: string[] = [];
  const ipFields = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? ''];
  const ipFieldName = spec.clusterIPs && spec.clusterIPs.length > 0 ? 'spec.clusterIPs' : 'spec.clusterIP';
  ipFields.forEach((text, i) => {
    const ip = canonicalIp(text);
    if (ip) clusterIPs.push(ip.ip);
    else invalid(ipFieldName === 'spec.clusterIP' ? ipFieldName : `${ipFieldName}[${i}]`, `${JSON.stringify(text)} is not an IP address`);
  });

  const externalIPs: FieldIp[] = [];
  (spec.externalIPs ?? []).forEach((text, i) => {
    const ip = canonicalIp(text);
    if (ip) externalIPs.push({ ip: ip.ip, field: `spec.externalIPs[${i}]` });
    else invalid(`spec.externalIPs[${i}]`, `${JSON.stringify(text)} is not an IP address`);
  });

  const loadBalancerIPs: FieldIp[] = [];
  if (spec.type === 'LoadBalancer') {
    (svc.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
      if (ing.ip === undefined) return; // hostname-only ingress: nothing to match on
      const ip = canonicalIp(ing.ip);
      if (ip) loadBalancerIPs.push({ ip: ip.ip, field: `status.loadBalancer.ingress[${i}].ip` });
      else invalid(`status.loadBalancer.ingress[${i}].ip`, `${JSON.stringify(ing.ip)} is not an IP address`);
    });
  }

  const sourceRanges = spec.type === 'LoadBalancer' ? sourceRangesOf(spec.loadBalancerSourceRanges ?? [], invalid) : {};

  const affinityTimeoutSeconds =
    spec.sessionAffinity === 'ClientIP'
      ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinityTimeoutSeconds)
      : undefined;
  const withNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';

  (spec.ports ?? []).forEach((p, i) => {
    const protocol = p.protocol ?? 'TCP';
    if (protocol === 'SCTP') {
      problems.push({
        service,
        field: `spec.ports[${i}].protocol`,
        reason: 'unsupported',
        message: 'SCTP is not supported by the Talaria switch pipeline; this port is not programmed',
      });
      return;
    }
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      invalid(`spec.ports[${i}].protocol`, `unknown protocol ${JSON.stringify(protocol)}`);
      return;
    }
    if (!validPort(p.port)) {
      invalid(`spec.ports[${i}].port`, `${JSON.stringify(p.port)} is not a port number (1-65535)`);
      return;
    }
    let nodePort: number | undefined;
    if (withNodePorts && p.nodePort !== undefined && p.nodePort !== 0) {
      if (validPort(p.nodePort)) nodePort = p.nodePort;
      else invalid(`spec.ports[${i}].nodePort`, `${JSON.stringify(p.nodePort)} is not a port number (1-65535)`);
    }
    const portName = p.name ?? '';
    ports.push({
      key: servicePortKey(service, portName, protocol),
      service,
      portName,
      protocol,
      port: p.port,
      portIndex: i,
      clusterIPs,
      nodePort,
      externalIPs,
      loadBalancerIPs,
      sourceRanges,
      affinityTimeoutSeconds,
      internalTrafficLocal: spec.internalTrafficPolicy === 'Local',
      externalTrafficLocal: spec.externalTrafficPolicy === 'Local',
      createdAt: creationTime(svc),
    });
  });
  let healthCheckNodePort: number | undefined;
  if (spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort !== undefined && ports.length > 0) {
    if (validPort(spec.healthCheckNodePort)) healthCheckNodePort = spec.healthCheckNodePort;
    else invalid('spec.healthCheckNodePort', `${JSON.stringify(spec.healthCheckNodePort)} is not a port number (1-65535)`);
  }
  return { ports, problems, ...(healthCheckNodePort === undefined ? {} : { healthCheckNodePort }) };
}

/**
 * kube-proxy's reading of loadBalancerSourceRanges (pkg/proxy/serviceport.go):
 * entries trimmed of whitespace, split by family; a family with a zero-masked
 * range (0.0.0.0/0) or with no range at all accepts every source. One
 * difference, on the safe side: an entry that is no CIDR (the API server
 * refuses those) is reported and allows no one in its place, so its family
 * stays restricted even when nothing valid is left.
 */
function sourceRangesOf(texts: readonly string[], invalid: (field: string, message: string) => void): SourceRanges {
  const byFamily: Record<IpFamily, Map<string, Cidr>> = { 4: new Map(), 6: new Map() };
  let broken = false;
  texts.forEach((text, i) => {
    const cidr = parseCidr(String(text).trim());
    if (!cidr) {
      invalid(`spec.loadBalancerSourceRanges[${i}]`, `${JSON.stringify(text)} is not a CIDR; it allows no source`);
      broken = true;
      return;
    }
    byFamily[cidr.family].set(`${cidr.ip}/${cidr.prefixLen}`, cidr);
  });
  const out: Partial<Record<IpFamily, readonly Cidr[]>> = {};
  for (const family of [4, 6] as const) {
    const list = [...byFamily[family].values()];
    if (list.some((c) => c.prefixLen === 0)) continue;
    if (list.length > 0 || broken) out[family] = list;
  }
  return out;
}

function creationTime(svc: V1Service): string {
  const t = svc.metadata?.creationTimestamp as unknown;
  if (t instanceof Date) return t.toISOString();
  return typeof t === 'string' ? new Date(t).toISOString() : '';
}
