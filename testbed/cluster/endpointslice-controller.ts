// The EndpointSlice controller, as kube-controller-manager runs it: for each
// Service with a selector (not ExternalName), slices of the matching pods'
// addresses with ready/serving/terminating, target ports resolved per pod
// (named ports via the containers' ports), at most maxEndpointsPerSlice per
// slice, one placeholder slice when there are no endpoints. Endpoints stay in
// the slice they are in, so a change rewrites one slice, not all of them.
//
// It runs in-process against the store. A pod change only re-syncs the
// Services whose selector could match it (an index of selector key=value
// pairs), so 10,000 Services do not each evaluate every pod event.
import { deepEqual } from '../apiserver/deep-equal.js';
import type { ObjectStore } from '../apiserver/store.js';
import type { KubeObject, StoredObject, WatchEvent } from '../apiserver/types.js';
import { QueueController } from './queue-controller.js';
import { WorkQueue } from './work-queue.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

export interface EndpointSliceControllerOptions {
  maxEndpointsPerSlice?: number;
  /**
   * Pod changes wait this long before their Services are synced, so that pods
   * turning Ready one after another rewrite each slice once (default 0: at once).
   * Worth setting with thousands of Services over the same pods.
   */
  podBatchPeriodMs?: number;
  onError?: (key: string, err: unknown) => void;
}

export interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface Endpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  zone?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  appProtocol?: string;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

/** Is the pod's Ready condition True? */
export function podReady(pod: KubeObject): boolean {
  const conds = pod.status?.conditions as Array<{ type: string; status: string }> | undefined;
  return !!conds?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The port a Service port reaches on this pod, or undefined when a named port is not declared. */
export function resolveTargetPort(sp: ServicePort, pod: KubeObject): number | undefined {
  const tp = sp.targetPort;
  if (tp === undefined || tp === '' || tp === 0) return sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  const proto = sp.protocol ?? 'TCP';
  for (const c of (pod.spec?.containers ?? []) as Array<{ ports?: ContainerPort[] }>) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  return undefined;
}

/** Pods in endpoints: with an IP, not finished (terminating ones stay, marked). */
function podIsEndpoint(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !!pod.status?.podIP && phase !== 'Succeeded' && phase !== 'Failed';
}

/** What about a pod matters to endpoints: a pod event that does not change it is ignored. */
function podFingerprint(pod: StoredObject | undefined): string {
  if (!pod) return '';
  return JSON.stringify([pod.metadata.labels, pod.status?.podIP, podReady(pod), pod.metadata.deletionTimestamp, pod.spec?.nodeName, pod.status?.phase, pod.spec?.containers?.map((c: { ports?: unknown }) => c.ports)]);
}

function selectorPairs(svc: StoredObject | undefined): string[] {
  if (!svc || svc.spec?.type === 'ExternalName') return [];
  return Object.entries((svc.spec?.selector ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
}

function matchesSelector(sel: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const k in sel) if (labels?.[k] !== sel[k]) return false;
  return true;
}

function svcKey(ns: string, name: string): string {
  return `${ns}/${name}`;
}

interface DesiredGroup {
  ports: EndpointPort[];
  endpoints: Map<string, Endpoint>; // pod name -> endpoint
}

export class EndpointSliceController extends QueueController {
  private readonly max: number;
  protected override readonly queue: WorkQueue;
  /** namespace -> "key=value" -> Service names whose selector has that pair. */
  private readonly bySelectorPair = new Map<string, Map<string, Set<string>>>();
  private readonly pairsOf = new Map<string, string[]>();
  /** "ns/service" -> names of slices labelled for it. */
  private readonly slicesOf = new Map<string, Set<string>>();
  private writing = false;

  constructor(
    private readonly store: ObjectStore,
    opts: EndpointSliceControllerOptions = {},
  ) {
    super();
    this.max = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
    this.queue = new WorkQueue((k) => this.sync(k), opts.onError ?? ((k, e) => process.stderr.write(`endpointslice-controller: sync of service ${k} failed: ${String(e)}\n`)), opts.podBatchPeriodMs ?? 0);
  }

  /** Index what exists, queue every Service, and follow changes. */
  start(): void {
    for (const s of this.store.scan('endpointslices')) this.indexSlice(s, undefined);
    for (const s of this.store.scan('services')) {
      this.indexService(s);
      this.queue.add(svcKey(s.metadata.namespace!, s.metadata.name));
    }
    // Slices of Services that no longer exist.
    for (const key of this.slicesOf.keys()) this.queue.add(key);
    this.offs.push(this.store.subscribe('services', (e) => this.onService(e)));
    this.offs.push(this.store.subscribe('pods', (e) => this.onPod(e)));
    this.offs.push(this.store.subscribe('endpointslices', (e) => this.onSlice(e)));
  }

  // ---- event handlers: index, then queue the affected Services ----------------

  private onService(e: WatchEvent): void {
    if (e.type === 'DELETED') this.unindexService(e.object);
    else this.indexService(e.object);
    this.queue.add(svcKey(e.object.metadata.namespace!, e.object.metadata.name));
  }

  private onPod(e: WatchEvent): void {
    const cur = e.type === 'DELETED' ? undefined : e.object;
    const old = e.type === 'ADDED' ? undefined : e.oldObject;
    if (e.type === 'MODIFIED' && podFingerprint(cur) === podFingerprint(old)) return;
    const ns = e.object.metadata.namespace!;
    const pairs = this.bySelectorPair.get(ns);
    if (!pairs) return;
    const candidates = new Set<string>();
    for (const pod of [cur, old]) {
      for (const [k, v] of Object.entries(pod?.metadata.labels ?? {})) {
        for (const name of pairs.get(`${k}=${v}`) ?? []) candidates.add(name);
      }
    }
    for (const name of candidates) {
      const svc = this.store.peek('services', ns, name);
      const sel = (svc?.spec?.selector ?? {}) as Record<string, string>;
      if ((cur && matchesSelector(sel, cur.metadata.labels)) || (old && matchesSelector(sel, old.metadata.labels))) this.queue.addBatched(svcKey(ns, name));
    }
  }

  private onSlice(e: WatchEvent): void {
    this.indexSlice(e.type === 'DELETED' ? undefined : e.object, e.oldObject ?? (e.type === 'DELETED' ? e.object : undefined));
    // Our own writes need no re-sync; someone else's change to a managed slice does.
    if (this.writing) return;
    const labels = e.object.metadata.labels;
    if (labels?.[MANAGED_BY_LABEL] === MANAGED_BY && labels[SERVICE_NAME_LABEL]) this.queue.add(svcKey(e.object.metadata.namespace!, labels[SERVICE_NAME_LABEL]));
  }

  private indexService(svc: StoredObject): void {
    const key = svcKey(svc.metadata.namespace!, svc.metadata.name);
    const pairs = selectorPairs(svc);
    const before = this.pairsOf.get(key) ?? [];
    if (before.length === pairs.length && before.every((p, i) => p === pairs[i])) return;
    this.unindexService(svc);
    if (!pairs.length) return;
    const ns = svc.metadata.namespace!;
    let byPair = this.bySelectorPair.get(ns);
    if (!byPair) this.bySelectorPair.set(ns, (byPair = new Map()));
    for (const p of pairs) {
      let s = byPair.get(p);
      if (!s) byPair.set(p, (s = new Set()));
      s.add(svc.metadata.name);
    }
    this.pairsOf.set(key, pairs);
  }

  private unindexService(svc: StoredObject): void {
    const key = svcKey(svc.metadata.namespace!, svc.metadata.name);
    const byPair = this.bySelectorPair.get(svc.metadata.namespace!);
    for (const p of this.pairsOf.get(key) ?? []) byPair?.get(p)?.delete(svc.metadata.name);
    this.pairsOf.delete(key);
  }

  private indexSlice(cur: StoredObject | undefined, old: StoredObject | undefined): void {
    const of = (s: StoredObject | undefined): string | undefined => {
      const n = s?.metadata.labels?.[SERVICE_NAME_LABEL];
      return s && n && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY ? svcKey(s.metadata.namespace!, n) : undefined;
    };
    const oldKey = of(old);
    if (oldKey) this.slicesOf.get(oldKey)?.delete(old!.metadata.name);
    const newKey = of(cur);
    if (newKey) {
      let s = this.slicesOf.get(newKey);
      if (!s) this.slicesOf.set(newKey, (s = new Set()));
      s.add(cur!.metadata.name);
    }
  }

  // ---- reconciliation -------------------------------------------------------

  private sync(key: string): void {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const svc = this.store.peek('services', ns, name);
    const existing = [...(this.slicesOf.get(key) ?? [])].map((n) => this.store.peek('endpointslices', ns, n)).filter((s): s is StoredObject => !!s);
    this.writing = true;
    try {
      if (!svc || svc.spec?.type === 'ExternalName' || !svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) {
        for (const s of existing) this.deleteSlice(s);
        return;
      }
      this.reconcile(svc, this.desired(svc), existing);
    } finally {
      this.writing = false;
    }
  }

  /** Endpoints grouped by their resolved port list (named ports can differ between pods). */
  private desired(svc: StoredObject): Map<string, DesiredGroup> {
    const ns = svc.metadata.namespace!;
    const sel = svc.spec.selector as Record<string, string>;
    const sports = (svc.spec.ports ?? []) as ServicePort[];
    const publishNotReady = svc.spec.publishNotReadyAddresses === true;
    const groups = new Map<string, DesiredGroup>();
    const pods = [...this.store.scan('pods', ns)].filter((p) => matchesSelector(sel, p.metadata.labels) && podIsEndpoint(p));
    pods.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    for (const pod of pods) {
      const ports: EndpointPort[] = [];
      for (const sp of sports) {
        const port = resolveTargetPort(sp, pod);
        if (port === undefined) continue;
        const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
        if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
        ports.push(ep);
      }
      const gkey = JSON.stringify(ports);
      let g = groups.get(gkey);
      if (!g) groups.set(gkey, (g = { ports, endpoints: new Map() }));
      const serving = podReady(pod);
      const terminating = !!pod.metadata.deletionTimestamp;
      const endpoint: Endpoint = {
        addresses: [pod.status.podIP as string],
        conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
        targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid },
      };
      if (pod.spec?.nodeName) {
        endpoint.nodeName = pod.spec.nodeName;
        const zone = this.store.peek('nodes', '', pod.spec.nodeName)?.metadata.labels?.[ZONE_LABEL];
        if (zone) endpoint.zone = zone;
      }
      g.endpoints.set(pod.metadata.name, endpoint);
    }
    return groups;
  }

  private reconcile(svc: StoredObject, groups: Map<string, DesiredGroup>, existing: StoredObject[]): void {
    const labels = this.sliceLabels(svc);
    const placed = new Set<string>(); // "group\0pod"
    const keep: Array<{ slice: StoredObject; gkey: string; endpoints: Endpoint[] }> = [];
    const drop: StoredObject[] = [];
    // Existing slices keep the endpoints they have that are still wanted in their port group.
    for (const s of existing.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
      const gkey = JSON.stringify(s.ports ?? []);
      const g = groups.get(gkey);
      if (!g) {
        drop.push(s);
        continue;
      }
      const eps: Endpoint[] = [];
      for (const e of (s.endpoints ?? []) as Endpoint[]) {
        const pod = e.targetRef?.name;
        const want = pod !== undefined ? g.endpoints.get(pod) : undefined;
        if (want && !placed.has(`${gkey}\0${pod}`) && eps.length < this.max) {
          eps.push(want);
          placed.add(`${gkey}\0${pod}`);
        }
      }
      keep.push({ slice: s, gkey, endpoints: eps });
    }
    // New endpoints fill slices with room, then new slices.
    const creates: Array<{ ports: EndpointPort[]; endpoints: Endpoint[] }> = [];
    for (const [gkey, g] of groups) {
      const room = keep.filter((k) => k.gkey === gkey);
      let fresh: { ports: EndpointPort[]; endpoints: Endpoint[] } | undefined;
      for (const [pod, ep] of g.endpoints) {
        if (placed.has(`${gkey}\0${pod}`)) continue;
        const slot = room.find((k) => k.endpoints.length < this.max);
        if (slot) slot.endpoints.push(ep);
        else {
          if (!fresh || fresh.endpoints.length >= this.max) creates.push((fresh = { ports: g.ports, endpoints: [] }));
          fresh.endpoints.push(ep);
        }
      }
    }
    const total = keep.reduce((n, k) => n + k.endpoints.length, 0) + creates.length;
    if (total === 0) {
      // No endpoints: one empty placeholder slice, as Kubernetes keeps.
      const base = keep[0]?.slice ?? drop[0];
      for (const s of existing) if (s !== base) this.deleteSlice(s);
      this.writeSlice(svc, labels, base, [], []);
      return;
    }
    for (const s of drop) this.deleteSlice(s);
    for (const k of keep) {
      if (k.endpoints.length === 0) this.deleteSlice(k.slice);
      else this.writeSlice(svc, labels, k.slice, groups.get(k.gkey)!.ports, k.endpoints);
    }
    for (const c of creates) this.writeSlice(svc, labels, undefined, c.ports, c.endpoints);
  }

  private sliceLabels(svc: StoredObject): Record<string, string> {
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    labels[SERVICE_NAME_LABEL] = svc.metadata.name;
    labels[MANAGED_BY_LABEL] = MANAGED_BY;
    if (svc.spec?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
    else delete labels[HEADLESS_LABEL];
    return labels;
  }

  /** Create or update one slice; writes nothing when it already looks like this. */
  private writeSlice(svc: StoredObject, labels: Record<string, string>, cur: StoredObject | undefined, ports: EndpointPort[], endpoints: Endpoint[]): void {
    const ns = svc.metadata.namespace!;
    if (cur) {
      if (deepEqual(cur.endpoints ?? [], endpoints) && deepEqual(cur.ports ?? [], ports) && deepEqual(cur.metadata.labels, labels)) return;
      // adopt: everything new here was built by this sync; what comes from `cur` is frozen and not changed.
      this.store.update('endpointslices', { ...cur, metadata: { ...cur.metadata, labels }, endpoints, ports }, { frozen: true, adopt: true });
      return;
    }
    const prefix = svc.metadata.name.length > 57 ? svc.metadata.name.slice(0, 57) : svc.metadata.name;
    this.store.create('endpointslices', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        generateName: `${prefix}-`,
        namespace: ns,
        labels,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints,
      ports,
    }, { frozen: true, adopt: true });
  }

  private deleteSlice(s: StoredObject): void {
    if (this.store.peek('endpointslices', s.metadata.namespace!, s.metadata.name)) this.store.delete('endpointslices', s.metadata.namespace!, s.metadata.name, { frozen: true });
  }
}
