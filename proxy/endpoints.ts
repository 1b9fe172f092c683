// Endpoints of service ports, from EndpointSlices, as kube-proxy reads them
// (pkg/proxy/endpointslicecache.go): a slice port is matched to the service
// port by name and protocol (so a named targetPort is already resolved to a
// number by the EndpointSlice controller), conditions default the way the API
// documents (ready unset = ready, serving unset = ready, terminating unset =
// false), and the same address:port seen in two slices is merged.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { canonicalIp } from './ip.js';
import type { Problem } from './problem.js';
import { servicePortKey } from './service-port.js';

export const serviceNameLabel = 'kubernetes.io/service-name';
export const lastChangeTriggerTimeAnnotation = 'endpoints.kubernetes.io/last-change-trigger-time';

export interface EndpointInfo {
  readonly addr: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly zoneHints?: readonly string[];
  readonly nodeHints?: readonly string[];
}

/** Service port key -> endpoints sorted by address, port. */
export type EndpointsByPort = Map<string, EndpointInfo[]>;

/** "namespace/name" of the Service a slice belongs to, or undefined when unlabelled. */
export function sliceServiceName(slice: V1EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[serviceNameLabel];
  if (svc === undefined || svc === '') return undefined;
  return `${slice.metadata?.namespace ?? 'default'}/${svc}`;
}

/** The endpoints of one Service from all its slices. */
export function endpointsFromSlices(
  service: string,
  slices: Iterable<V1EndpointSlice>,
): { endpoints: EndpointsByPort; problems: Problem[] } {
  const byPort = new Map<string, Map<string, EndpointInfo>>();
  const problems: Problem[] = [];
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue; // FQDN: nothing to route to
    const sliceName = slice.metadata?.name ?? '';
    for (const sp of slice.ports ?? []) {
      if (sp.port === undefined || sp.port === null) continue; // "all ports": not representable, kube-proxy skips too
      if (!Number.isInteger(sp.port) || sp.port < 1 || sp.port > 65535) {
        problems.push({ service, field: `EndpointSlice ${sliceName} ports[${sp.name ?? ''}].port`, reason: 'invalid', message: `${sp.port} is not a port number` });
        continue;
      }
      const key = servicePortKey(service, sp.name ?? '', sp.protocol ?? 'TCP');
      let eps = byPort.get(key);
      if (!eps) byPort.set(key, (eps = new Map()));
      (slice.endpoints ?? []).forEach((ep, i) => {
        const ready = ep.conditions?.ready ?? true;
        const info = {
          port: sp.port as number,
          ready,
          serving: ep.conditions?.serving ?? ready,
          terminating: ep.conditions?.terminating ?? false,
          nodeName: ep.nodeName,
          zone: ep.zone,
          zoneHints: ep.hints?.forZones?.map((z) => z.name),
          nodeHints: ep.hints?.forNodes?.map((n) => n.name),
        };
        // Only the first address counts (the API says consumers may assume they are fungible).
        const text = ep.addresses?.[0];
        const ip = canonicalIp(text);
        if (!ip) {
          problems.push({ service, field: `EndpointSlice ${sliceName} endpoints[${i}].addresses[0]`, reason: 'invalid', message: `${JSON.stringify(text)} is not an IP address` });
          return;
        }
        const id = `${ip.ip}|${info.port}`;
        const prev = eps.get(id);
        // A duplicate across slices (during a slice split or merge): keep the readier one.
        if (prev && rank(prev) >= rank(info)) return;
        eps.set(id, { addr: ip.ip, ...info });
      });
    }
  }
  const endpoints: EndpointsByPort = new Map();
  for (const [key, eps] of byPort) {
    endpoints.set(key, [...eps.values()].sort(compareEndpoints));
  }
  return { endpoints, problems };
}

function rank(e: { ready: boolean; serving: boolean }): number {
  return (e.ready ? 2 : 0) + (e.serving ? 1 : 0);
}

export function compareEndpoints(a: EndpointInfo, b: EndpointInfo): number {
  return a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.port - b.port;
}

/**
 * kube-proxy's selection (CategorizeEndpoints): ready endpoints when there
 * are any, else the serving ones that are terminating (so a rolling update
 * of every pod does not drop traffic), else none.
 */
export function selectableEndpoints(eps: readonly EndpointInfo[]): EndpointInfo[] {
  const ready = eps.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return eps.filter((e) => e.serving && e.terminating);
}
