// Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`):
// what `kubectl get` shows, with the columns the real API server prints for
// the kinds the testbed serves, so that trying Talaria with kubectl looks
// like a cluster.
import type { StoredObject } from './types.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  priority?: number;
  cell(o: StoredObject, now: number): string | number;
}

/** kubectl's short age: 42s, 5m, 3h, 2d. */
export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const NAME: Column = { name: 'Name', type: 'string', cell: (o) => o.metadata.name };
const AGE: Column = { name: 'Age', type: 'string', cell: (o, now) => age(o.metadata.creationTimestamp, now) };

function conditionTrue(o: StoredObject, type: string): boolean {
  return !!(o.status?.conditions as Array<{ type: string; status: string }> | undefined)?.some((c) => c.type === type && c.status === 'True');
}

function list(values: string[], max = 3): string {
  if (!values.length) return '<none>';
  return values.length > max ? `${values.slice(0, max).join(',')} + ${values.length - max} more...` : values.join(',');
}

const COLUMNS: Record<string, Column[]> = {
  pods: [
    NAME,
    { name: 'Ready', type: 'string', cell: (o) => { const n = (o.spec?.containers ?? []).length; return `${conditionTrue(o, 'Ready') ? n : 0}/${n}`; } },
    { name: 'Status', type: 'string', cell: (o) => (o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? 'Unknown')) },
    { name: 'Restarts', type: 'integer', cell: () => 0 },
    AGE,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => o.status?.podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => o.spec?.nodeName ?? '<none>' },
  ],
  services: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => o.spec?.type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (o) => o.spec?.clusterIP ?? '<none>' },
    { name: 'External-IP', type: 'string', cell: (o) => list((o.spec?.externalIPs ?? []) as string[]) },
    {
      name: 'Port(s)',
      type: 'string',
      cell: (o) => list(((o.spec?.ports ?? []) as Array<{ port: number; nodePort?: number; protocol?: string }>).map((p) => `${p.port}${p.nodePort ? ':' + p.nodePort : ''}/${p.protocol ?? 'TCP'}`), 8),
    },
    AGE,
    { name: 'Selector', type: 'string', priority: 1, cell: (o) => list(Object.entries((o.spec?.selector ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`), 8) },
  ],
  endpointslices: [
    NAME,
    { name: 'AddressType', type: 'string', cell: (o) => String(o.addressType ?? '') },
    { name: 'Ports', type: 'string', cell: (o) => { const ps = ((o.ports ?? []) as Array<{ port: number }>).map((p) => String(p.port)); return ps.length ? list(ps, 8) : '<unset>'; } },
    { name: 'Endpoints', type: 'string', cell: (o) => { const a = ((o.endpoints ?? []) as Array<{ addresses: string[] }>).flatMap((e) => e.addresses); return a.length ? list(a) : '<unset>'; } },
    AGE,
  ],
  deployments: [
    NAME,
    { name: 'Ready', type: 'string', cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}` },
    { name: 'Up-to-date', type: 'integer', cell: (o) => o.status?.updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', cell: (o) => o.status?.availableReplicas ?? 0 },
    AGE,
    { name: 'Images', type: 'string', priority: 1, cell: (o) => list(((o.spec?.template?.spec?.containers ?? []) as Array<{ image: string }>).map((c) => c.image)) },
  ],
  nodes: [
    NAME,
    { name: 'Status', type: 'string', cell: (o) => (conditionTrue(o, 'Ready') ? 'Ready' : 'NotReady') + (o.spec?.unschedulable ? ',SchedulingDisabled' : '') },
    { name: 'Roles', type: 'string', cell: () => '<none>' },
    AGE,
    { name: 'Version', type: 'string', cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
    { name: 'Internal-IP', type: 'string', priority: 1, cell: (o) => (o.status?.addresses as Array<{ type: string; address: string }> | undefined)?.find((a) => a.type === 'InternalIP')?.address ?? '<none>' },
    { name: 'Pod-CIDR', type: 'string', priority: 1, cell: (o) => o.spec?.podCIDR ?? '<none>' },
  ],
  namespaces: [NAME, { name: 'Status', type: 'string', cell: (o) => o.status?.phase ?? 'Active' }, AGE],
  leases: [NAME, { name: 'Holder', type: 'string', cell: (o) => o.spec?.holderIdentity ?? '' }, AGE],
  events: [
    { name: 'Type', type: 'string', cell: (o) => String(o.type ?? '') },
    { name: 'Reason', type: 'string', cell: (o) => String(o.reason ?? '') },
    { name: 'Object', type: 'string', cell: (o) => { const r = o.involvedObject as { kind?: string; name?: string } | undefined; return r ? `${(r.kind ?? '').toLowerCase()}/${r.name ?? ''}` : ''; } },
    { name: 'Message', type: 'string', cell: (o) => String(o.message ?? '') },
    NAME,
  ],
};

/** Does this Accept header ask for a Table (kubectl get)? */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

/** A meta.k8s.io/v1 Table of the objects; `includeObject` as the query parameter (None, Object, default metadata only). */
export function toTable(resource: string, objects: readonly StoredObject[], resourceVersion: string, includeObject: string | null, now = Date.now()): object {
  const cols = COLUMNS[resource] ?? [NAME, AGE];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c === NAME ? 'name' : '', description: '', priority: c.priority ?? 0 })),
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(o, now)),
      object:
        includeObject === 'Object'
          ? o
          : includeObject === 'None'
            ? undefined
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
