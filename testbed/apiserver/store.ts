// The object store behind the testbed API server: every kind in one place,
// one global resourceVersion counter (as etcd's revision), indexed by
// resource and namespace, with a bounded change history for watches.
//
// Stored objects are deep-frozen: peek/scan/subscribe/watch hand out the
// store's own objects (cheap, for controllers and the HTTP layer); get/list
// and the write verbs hand out copies the caller may change.
import { randomUUID } from 'node:crypto';
import { deepEqual } from './deep-equal.js';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from './errors.js';
import type { FieldError } from './errors.js';
import { EventHistory } from './event-history.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import type { PatchType } from './patch.js';
import { apiVersionOf, resourceType } from './resources.js';
import type { ResourceType } from './resources.js';
import { matchesFields, matchesRequirements, parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { FieldRequirement, LabelRequirements } from './selectors.js';
import type { KubeObject, ObjectList, StoredObject, WatchEvent } from './types.js';

/** Namespaces every Kubernetes cluster has. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const DEFAULT_HISTORY = 10_000;
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface StoreOptions {
  /** How many changes a watch can resume across (default 10,000). */
  historySize?: number;
  /** Clock for timestamps (tests). */
  now?: () => Date;
  /** Create default, kube-system, kube-public, kube-node-lease (default true). */
  systemNamespaces?: boolean;
  /** Core Events kept (default 10,000); the oldest go first, as Kubernetes' event TTL would. */
  maxEvents?: number;
  /** A subscriber or watcher threw (default: a line on stderr). The write itself stands. */
  onListenerError?: (err: unknown, ev: WatchEvent) => void;
}

export interface WriteOptions {
  /** Namespace from the request path; must agree with metadata.namespace. */
  namespace?: string;
  /** "status": write only .status; "" or undefined: everything but .status where a status subresource exists. */
  subresource?: string;
  /** Return the store's frozen object instead of a copy (saves a copy per write; the HTTP layer uses it). */
  frozen?: boolean;
  /** The store may keep and change the object passed in (a freshly parsed request body) instead of copying it. */
  adopt?: boolean;
}

export interface ListOptions {
  /** Namespace to list; undefined lists all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface DeleteOptions {
  /** Pods: seconds until the kubelet kills the pod; 0 deletes at once. */
  gracePeriodSeconds?: number;
  /** Return the store's frozen object instead of a copy. */
  frozen?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Resume after this version; "" or "0" starts with ADDED events for what exists now. */
  resourceVersion?: string;
}

/** One event as a watcher sees it (filtered; objects are frozen store objects). */
export interface WatcherEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: StoredObject;
  rv: number;
}

export interface StoreWatch {
  stop(): void;
}

/**
 * Hooks that validate, default or allocate for one resource (the cluster
 * package's Service/Pod/Deployment validation and IP allocation). They may
 * change `obj` and throw ApiError; nothing else can fail after they ran.
 */
export interface AdmissionPlugin {
  create?(obj: KubeObject, store: ObjectStore): void;
  update?(obj: KubeObject, old: StoredObject, store: ObjectStore): void;
  /** After an object left the store (release what create allocated). */
  deleted?(obj: StoredObject, store: ObjectStore): void;
}

interface Watcher {
  /** The newest version delivered: events replayed from history are not delivered twice. */
  seen: number;
  namespace: string | undefined;
  labels: LabelRequirements;
  fields: FieldRequirement[];
  fn: (ev: WatcherEvent) => void;
}

type Bucket = Map<string, StoredObject>; // name -> object

function deepFreeze<T>(o: T): T {
  if (o === null || typeof o !== 'object' || Object.isFrozen(o)) return o;
  Object.freeze(o);
  if (Array.isArray(o)) for (let i = 0; i < o.length; i++) deepFreeze(o[i]);
  else for (const k in o) deepFreeze((o as Record<string, unknown>)[k]);
  return o;
}

let lastSecond = -1;
let lastStamp = '';
/** RFC 3339 with seconds, as Kubernetes writes timestamps; cached per second for bulk creation. */
function rfc3339(d: Date): string {
  const sec = Math.floor(d.getTime() / 1000);
  if (sec !== lastSecond) {
    lastSecond = sec;
    lastStamp = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastStamp;
}

/** A copy for the caller, or the frozen object itself when asked. */
function out(o: StoredObject, frozen: boolean | undefined): StoredObject {
  return frozen ? o : structuredClone(o);
}

function keyOf(ns: string, name: string): string {
  return ns ? `${ns}/${name}` : name;
}

export class ObjectStore {
  private rv = 0;
  private readonly data = new Map<string, Map<string, Bucket>>(); // resource -> namespace -> bucket
  private readonly history: EventHistory;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly subscribers = new Map<string, Set<(ev: WatchEvent) => void>>();
  private readonly admission = new Map<string, AdmissionPlugin[]>();
  /** owner uid -> dependents ("resource\0namespace\0name"), for garbage collection. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly now: () => Date;
  private readonly onListenerError: (err: unknown, ev: WatchEvent) => void;
  private pending: WatchEvent[] = [];
  private dispatching = false;
  private readonly maxEvents: number;
  /** Keys ("ns\0name") of core Events in creation order, for the cap. */
  private eventOrder: string[] = [];
  private eventHead = 0;

  constructor(opts: StoreOptions = {}) {
    this.history = new EventHistory(opts.historySize ?? DEFAULT_HISTORY);
    this.now = opts.now ?? (() => new Date());
    this.maxEvents = opts.maxEvents ?? 10_000;
    this.onListenerError =
      opts.onListenerError ??
      ((err, ev) => process.stderr.write(`object store: a listener failed on ${ev.type} ${ev.resource} ${ev.object.metadata.namespace ?? ''}/${ev.object.metadata.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`));
    if (opts.systemNamespaces !== false) {
      for (const name of SYSTEM_NAMESPACES) this.create('namespaces', { metadata: { name } });
    }
  }

  /** The current global resourceVersion. */
  get resourceVersion(): number {
    return this.rv;
  }

  // ---- reads ------------------------------------------------------------

  /** The stored (frozen) object, or undefined. */
  peek(resource: string, namespace: string, name: string): StoredObject | undefined {
    return this.data.get(resource)?.get(namespace)?.get(name);
  }

  /** The stored (frozen) objects of a resource, in one namespace or all; unordered. */
  *scan(resource: string, namespace?: string): Iterable<StoredObject> {
    const byNs = this.data.get(resource);
    if (!byNs) return;
    if (namespace !== undefined) {
      const b = byNs.get(namespace);
      if (b) yield* b.values();
      return;
    }
    for (const b of byNs.values()) yield* b.values();
  }

  /** How many objects of a resource exist (in a namespace or all). */
  count(resource: string, namespace?: string): number {
    const byNs = this.data.get(resource);
    if (!byNs) return 0;
    if (namespace !== undefined) return byNs.get(namespace)?.size ?? 0;
    let n = 0;
    for (const b of byNs.values()) n += b.size;
    return n;
  }

  /** A copy of one object; 404 NotFound when absent. */
  get(resource: string, namespace: string, name: string): StoredObject {
    const t = this.type(resource);
    const o = this.peek(resource, t.namespaced ? namespace : '', name);
    if (!o) throw notFound(resource, name, t.group);
    return structuredClone(o);
  }

  /** A list (copies) with the current resourceVersion, filtered and sorted by namespace/name. */
  list(resource: string, opts: ListOptions = {}): ObjectList {
    const l = this.listFrozen(resource, opts);
    return { ...l, items: l.items.map((o) => structuredClone(o)) };
  }

  /** list() without copying the items (the HTTP layer serializes them anyway). */
  listFrozen(resource: string, opts: ListOptions = {}): ObjectList {
    const t = this.type(resource);
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector, resource);
    let after: string | undefined;
    if (opts.continue) {
      try {
        after = (JSON.parse(Buffer.from(opts.continue, 'base64url').toString()) as { start: string }).start;
      } catch {
        throw badRequest(`invalid continue token "${opts.continue}"`);
      }
    }
    const ns = t.namespaced ? opts.namespace || undefined : undefined;
    const matched: Array<[string, StoredObject]> = [];
    for (const o of this.scan(resource, ns)) {
      if (labels.length && !matchesRequirements(labels, o.metadata.labels)) continue;
      if (fields.length && !matchesFields(fields, o)) continue;
      const k = keyOf(o.metadata.namespace ?? '', o.metadata.name);
      if (after !== undefined && k <= after) continue;
      matched.push([k, o]);
    }
    matched.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const meta: ObjectList['metadata'] = { resourceVersion: String(this.rv) };
    let page = matched;
    if (opts.limit && opts.limit > 0 && matched.length > opts.limit) {
      page = matched.slice(0, opts.limit);
      meta.continue = Buffer.from(JSON.stringify({ start: page[page.length - 1]![0] })).toString('base64url');
      meta.remainingItemCount = matched.length - opts.limit;
    }
    return { apiVersion: apiVersionOf(t), kind: `${t.kind}List`, metadata: meta, items: page.map((e) => e[1]) };
  }

  // ---- writes -----------------------------------------------------------

  /** Create; fills name (generateName), uid, creationTimestamp, generation, resourceVersion. */
  create(resource: string, input: KubeObject | object, opts: WriteOptions = {}): StoredObject {
    const t = this.type(resource);
    const obj = (opts.adopt ? input : structuredClone(input)) as KubeObject;
    if (!obj || typeof obj !== 'object' || !obj.metadata || typeof obj.metadata !== 'object') {
      throw invalid(t.kind, '', [{ field: 'metadata', reason: 'FieldValueRequired', message: 'Required value' }], t.group);
    }
    this.checkKind(t, obj);
    const meta = obj.metadata;
    const ns = this.namespaceFor(t, obj, opts.namespace);
    if (t.namespaced && !this.peek('namespaces', '', ns)) throw notFound('namespaces', ns);
    if (!meta.name) {
      if (!meta.generateName) {
        throw invalid(t.kind, '', [{ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' }], t.group);
      }
      meta.name = this.generateName(resource, ns, meta.generateName);
    }
    this.checkName(t, meta.name, 'metadata.name');
    if (this.peek(resource, ns, meta.name)) throw alreadyExists(resource, meta.name, t.group);
    if (t.namespaced) meta.namespace = ns;
    else delete meta.namespace;
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(this.now());
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    if (resource === 'pods') obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    else if (resource === 'deployments' || resource === 'services') obj.status = resource === 'services' ? { loadBalancer: {} } : {};
    else if (resource === 'namespaces') obj.status = { phase: 'Active' };
    for (const p of this.admission.get(resource) ?? []) p.create?.(obj, this);
    const created = this.commit(t, 'ADDED', obj as StoredObject, undefined);
    if (resource === 'events') this.capEvents(ns, meta.name);
    return out(created, opts.frozen);
  }

  /** PUT: replace the object; 409 Conflict when metadata.resourceVersion is stale. */
  update(resource: string, input: KubeObject | object, opts: WriteOptions = {}): StoredObject {
    const t = this.type(resource);
    const obj = (opts.adopt ? input : structuredClone(input)) as KubeObject;
    if (!obj?.metadata?.name) throw invalid(t.kind, '', [{ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value' }], t.group);
    this.checkKind(t, obj);
    const ns = this.namespaceFor(t, obj, opts.namespace);
    return out(this.replace(t, ns, obj.metadata.name, obj, opts.subresource ?? ''), opts.frozen);
  }

  /** PATCH with a merge patch (also used for strategic merge) or a JSON patch. */
  patch(resource: string, namespace: string, name: string, patch: unknown, type: PatchType = 'merge', opts: { subresource?: string; frozen?: boolean } = {}): StoredObject {
    const t = this.type(resource);
    const ns = t.namespaced ? namespace : '';
    const cur = this.peek(resource, ns, name);
    if (!cur) throw notFound(resource, name, t.group);
    // Patch a copy: the stored object is frozen and replace() fills metadata in place.
    const next = (type === 'json' ? jsonPatch(cur, patch) : type === 'strategic' ? strategicMergePatch(structuredClone(cur), patch) : mergePatch(structuredClone(cur), patch)) as KubeObject;
    if (!next || typeof next !== 'object' || !next.metadata) throw badRequest('the patch removed the object\'s metadata');
    if (next.metadata.name !== name) {
      throw invalid(t.kind, name, [{ field: 'metadata.name', reason: 'FieldValueInvalid', message: 'field is immutable' }], t.group);
    }
    if (t.namespaced && next.metadata.namespace !== ns) {
      throw invalid(t.kind, name, [{ field: 'metadata.namespace', reason: 'FieldValueInvalid', message: 'field is immutable' }], t.group);
    }
    return out(this.replace(t, ns, name, next, opts.subresource ?? ''), opts.frozen);
  }

  /**
   * Delete. Pods with a node and a grace period are only marked
   * (deletionTimestamp, deletionGracePeriodSeconds) until deleted again with
   * gracePeriodSeconds 0; objects with finalizers wait for them. Returns the
   * object as it is after the call (marked or gone).
   */
  delete(resource: string, namespace: string, name: string, opts: DeleteOptions = {}): StoredObject {
    const t = this.type(resource);
    const ns = t.namespaced ? namespace : '';
    const cur = this.peek(resource, ns, name);
    if (!cur) throw notFound(resource, name, t.group);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid) {
      throw conflict(resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`, t.group);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(resource, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`, t.group);
    }
    if (resource === 'namespaces') return out(this.deleteNamespace(name), opts.frozen);
    if (t.graceful) {
      const terminal = cur.status?.phase === 'Succeeded' || cur.status?.phase === 'Failed';
      let grace = opts.gracePeriodSeconds ?? cur.metadata.deletionGracePeriodSeconds ?? cur.spec?.terminationGracePeriodSeconds ?? 30;
      if (!cur.spec?.nodeName || terminal) grace = 0;
      if (grace < 0) grace = 0;
      if (grace > 0 || cur.metadata.finalizers?.length) {
        const prev = cur.metadata.deletionGracePeriodSeconds;
        if (cur.metadata.deletionTimestamp && prev !== undefined && prev <= grace) return out(cur, opts.frozen);
        const next = structuredClone(cur) as KubeObject;
        next.metadata.deletionTimestamp = rfc3339(new Date(this.now().getTime() + grace * 1000));
        next.metadata.deletionGracePeriodSeconds = grace;
        return out(this.commit(t, 'MODIFIED', next as StoredObject, cur), opts.frozen);
      }
    } else if (cur.metadata.finalizers?.length) {
      if (cur.metadata.deletionTimestamp) return out(cur, opts.frozen);
      const next = structuredClone(cur) as KubeObject;
      next.metadata.deletionTimestamp = rfc3339(this.now());
      next.metadata.deletionGracePeriodSeconds = 0;
      return out(this.commit(t, 'MODIFIED', next as StoredObject, cur), opts.frozen);
    }
    return out(this.remove(t, cur), opts.frozen);
  }

  /** DELETE on a collection: delete (gracefully, for pods) every match. */
  deleteCollection(resource: string, opts: ListOptions & DeleteOptions = {}): ObjectList {
    const l = this.listFrozen(resource, opts);
    const items: StoredObject[] = [];
    for (const o of l.items) {
      try {
        items.push(this.delete(resource, o.metadata.namespace ?? '', o.metadata.name, { gracePeriodSeconds: opts.gracePeriodSeconds }));
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'NotFound')) throw e;
      }
    }
    return { ...l, metadata: { resourceVersion: String(this.rv) }, items };
  }

  // ---- watching ---------------------------------------------------------

  /**
   * Watch one resource. Events from the history after opts.resourceVersion
   * are delivered synchronously before this returns; throws 410 Expired when
   * they were compacted away. Objects that stop (start) matching the
   * selectors arrive as DELETED (ADDED), as in Kubernetes.
   */
  watch(resource: string, opts: WatchOptions, fn: (ev: WatcherEvent) => void): StoreWatch {
    const t = this.type(resource);
    const w: Watcher = {
      seen: 0,
      namespace: t.namespaced ? opts.namespace || undefined : undefined,
      labels: parseLabelSelector(opts.labelSelector),
      fields: parseFieldSelector(opts.fieldSelector, resource),
      fn,
    };
    const rvText = opts.resourceVersion ?? '';
    if (rvText === '' || rvText === '0') {
      const initial = this.listFrozen(resource, { namespace: w.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
      for (const o of initial.items) fn({ type: 'ADDED', object: o, rv: Number(o.metadata.resourceVersion) });
      w.seen = this.rv;
    } else {
      const from = Number(rvText);
      if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resourceVersion "${rvText}"`);
      if (from > this.rv) {
        // A version from before a restart of the server (the counter starts over):
        // answer like a compacted one, so that the client relists instead of
        // waiting for versions that mean something else now.
        throw new ApiError('Expired', `too large resource version: ${from}, current: ${this.rv}`);
      }
      const past = this.history.since(from);
      if (!past) {
        throw new ApiError('Expired', `too old resource version: ${from} (${this.history.oldestResumable()})`);
      }
      w.seen = from;
      for (const ev of past) if (ev.resource === resource) this.deliver(w, ev);
      w.seen = Math.max(w.seen, this.rv);
    }
    let set = this.watchers.get(resource);
    if (!set) this.watchers.set(resource, (set = new Set()));
    set.add(w);
    return { stop: () => set.delete(w) };
  }

  /**
   * Every change of a resource ("*" for all), unfiltered, synchronously as it
   * is committed: for in-process controllers. Returns the unsubscribe function.
   */
  subscribe(resource: string, fn: (ev: WatchEvent) => void): () => void {
    let set = this.subscribers.get(resource);
    if (!set) this.subscribers.set(resource, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Register validation/defaulting/allocation for a resource. Returns the unregister function. */
  addAdmission(resource: string, plugin: AdmissionPlugin): () => void {
    const list = this.admission.get(resource) ?? [];
    list.push(plugin);
    this.admission.set(resource, list);
    return () => {
      const i = list.indexOf(plugin);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Forget the change history up to now: a watch from any older version gets 410 (tests). */
  compact(): void {
    this.history.compact(this.rv);
  }

  // ---- internals ----------------------------------------------------------

  private type(resource: string): ResourceType {
    const t = resourceType(resource);
    if (!t) throw new ApiError('NotFound', `the server could not find the requested resource (${resource})`);
    return t;
  }

  private checkKind(t: ResourceType, obj: KubeObject): void {
    const av = apiVersionOf(t);
    if (obj.kind !== undefined && obj.kind !== t.kind) throw badRequest(`the kind "${String(obj.kind)}" does not match the resource ${t.resource} (kind ${t.kind})`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== av) throw badRequest(`the apiVersion "${String(obj.apiVersion)}" does not match the resource ${t.resource} (apiVersion ${av})`);
    obj.kind = t.kind;
    obj.apiVersion = av;
  }

  private namespaceFor(t: ResourceType, obj: KubeObject, fromPath: string | undefined): string {
    if (!t.namespaced) return '';
    const inBody = obj.metadata.namespace;
    if (fromPath && inBody && fromPath !== inBody) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    return fromPath || inBody || 'default';
  }

  private checkName(t: ResourceType, name: string, field: string): void {
    const errs: FieldError[] = [];
    if (typeof name !== 'string' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
      errs.push({
        field,
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${String(name)}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      });
    }
    if (errs.length) throw invalid(t.kind, String(name), errs, t.group);
  }

  private capEvents(ns: string, name: string): void {
    this.eventOrder.push(`${ns}\0${name}`);
    // Drop the oldest still-existing Events until within the cap (amortized O(1) per create).
    while (this.count('events') > this.maxEvents && this.eventHead < this.eventOrder.length) {
      const [ens, ename] = this.eventOrder[this.eventHead++]!.split('\0') as [string, string];
      const o = this.peek('events', ens, ename);
      if (o) this.remove(this.type('events'), o);
    }
    if (this.eventHead > this.eventOrder.length >> 1 || this.eventOrder.length > 4 * this.maxEvents) {
      // Forget consumed entries and those of Events deleted by clients.
      this.eventOrder = this.eventOrder.slice(this.eventHead).filter((k) => {
        const [ens, ename] = k.split('\0') as [string, string];
        return !!this.peek('events', ens, ename);
      });
      this.eventHead = 0;
    }
  }

  private generateName(resource: string, ns: string, prefix: string): string {
    for (;;) {
      let s = prefix;
      for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
      if (!this.peek(resource, ns, s)) return s;
    }
  }

  private replace(t: ResourceType, ns: string, name: string, obj: KubeObject, subresource: string): StoredObject {
    const resource = t.resource;
    if (subresource && !(t.subresources as readonly string[]).includes(subresource)) {
      throw new ApiError('NotFound', `the server could not find the requested resource (${resource}/${subresource})`);
    }
    const cur = this.peek(resource, ns, name);
    if (!cur) throw notFound(resource, name, t.group);
    if (obj.metadata.name !== name) throw badRequest(`the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})`);
    const sentRv = obj.metadata.resourceVersion;
    if (sentRv !== undefined && sentRv !== '' && sentRv !== cur.metadata.resourceVersion) {
      throw conflict(resource, name, 'the object has been modified; please apply your changes to the latest version and try again', t.group);
    }
    let next: KubeObject;
    if (subresource === 'status') {
      next = structuredClone(cur) as KubeObject;
      next.status = obj.status;
    } else {
      next = obj;
      const m = next.metadata;
      m.uid = cur.metadata.uid;
      m.creationTimestamp = cur.metadata.creationTimestamp;
      m.generation = cur.metadata.generation;
      if (t.namespaced) m.namespace = ns;
      // Deletion is started by DELETE only.
      if (cur.metadata.deletionTimestamp) {
        m.deletionTimestamp = cur.metadata.deletionTimestamp;
        m.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
      } else {
        delete m.deletionTimestamp;
        delete m.deletionGracePeriodSeconds;
      }
      if (t.subresources.includes('status')) next.status = structuredClone(cur.status);
      if (!deepEqual(next.spec, cur.spec)) m.generation = (cur.metadata.generation ?? 1) + 1;
    }
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    for (const p of this.admission.get(resource) ?? []) p.update?.(next, cur, this);
    // Finalizers gone from an object being deleted: it goes now (pods still wait for grace 0).
    if (cur.metadata.deletionTimestamp && cur.metadata.finalizers?.length && !next.metadata.finalizers?.length && (!t.graceful || !cur.metadata.deletionGracePeriodSeconds)) {
      return this.remove(t, cur);
    }
    // A write that changes nothing keeps the version and sends no event, as in Kubernetes.
    if (deepEqual(next, cur)) return cur;
    return this.commit(t, 'MODIFIED', next as StoredObject, cur);
  }

  private remove(t: ResourceType, cur: StoredObject): StoredObject {
    const ns = cur.metadata.namespace ?? '';
    const gone = structuredClone(cur) as StoredObject;
    this.data.get(t.resource)!.get(ns)!.delete(cur.metadata.name);
    const obj = this.commit(t, 'DELETED', gone, cur);
    for (const p of this.admission.get(t.resource) ?? []) p.deleted?.(obj, this);
    this.collectDependents(cur);
    return obj;
  }

  /** Delete a namespace and everything in it at once (no Terminating phase). */
  private deleteNamespace(name: string): StoredObject {
    for (const [resource, byNs] of this.data) {
      const bucket = byNs.get(name);
      if (!bucket || resource === 'namespaces') continue;
      const t = this.type(resource);
      for (const o of [...bucket.values()]) if (this.peek(resource, name, o.metadata.name)) this.remove(t, o);
    }
    return this.remove(this.type('namespaces'), this.peek('namespaces', '', name)!);
  }

  /** Background garbage collection: objects owned by a deleted object are deleted too. */
  private collectDependents(owner: StoredObject): void {
    const deps = this.dependents.get(owner.metadata.uid);
    if (!deps) return;
    this.dependents.delete(owner.metadata.uid);
    for (const d of deps) {
      const [resource, ns, name] = d.split('\0') as [string, string, string];
      const o = this.peek(resource, ns, name);
      if (!o || o.metadata.deletionTimestamp) continue;
      if (!o.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid)) continue;
      this.delete(resource, ns, name);
    }
  }

  private trackOwners(resource: string, obj: StoredObject, old: StoredObject | undefined, removed: boolean): void {
    const key = `${resource}\0${obj.metadata.namespace ?? ''}\0${obj.metadata.name}`;
    for (const r of old?.metadata.ownerReferences ?? []) this.dependents.get(r.uid)?.delete(key);
    if (removed) return;
    for (const r of obj.metadata.ownerReferences ?? []) {
      let s = this.dependents.get(r.uid);
      if (!s) this.dependents.set(r.uid, (s = new Set()));
      s.add(key);
    }
  }

  private commit(t: ResourceType, type: WatchEvent['type'], obj: StoredObject, old: StoredObject | undefined): StoredObject {
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    deepFreeze(obj);
    const ns = obj.metadata.namespace ?? '';
    if (type !== 'DELETED') {
      let byNs = this.data.get(t.resource);
      if (!byNs) this.data.set(t.resource, (byNs = new Map()));
      let bucket = byNs.get(ns);
      if (!bucket) byNs.set(ns, (bucket = new Map()));
      bucket.set(obj.metadata.name, obj);
    }
    if (old?.metadata.ownerReferences || obj.metadata.ownerReferences) this.trackOwners(t.resource, obj, old, type === 'DELETED');
    const ev: WatchEvent = { type, resource: t.resource, rv, object: obj, oldObject: old };
    this.history.append(ev);
    this.pending.push(ev);
    if (!this.dispatching) this.dispatch();
    return obj;
  }

  /**
   * Deliver queued events in version order. A subscriber that writes from its
   * callback queues its event behind the current one, so every watcher and
   * subscriber sees versions in order; one that throws does not stop the others.
   */
  private dispatch(): void {
    this.dispatching = true;
    try {
      for (let i = 0; i < this.pending.length; i++) {
        const ev = this.pending[i]!;
        const ws = this.watchers.get(ev.resource);
        if (ws) for (const w of ws) this.guard(() => this.deliver(w, ev), ev);
        for (const key of [ev.resource, '*']) {
          const subs = this.subscribers.get(key);
          if (subs) for (const fn of subs) this.guard(() => fn(ev), ev);
        }
      }
    } finally {
      this.pending = [];
      this.dispatching = false;
    }
  }

  private guard(fn: () => void, ev: WatchEvent): void {
    try {
      fn();
    } catch (err) {
      this.onListenerError(err, ev);
    }
  }

  private matches(w: Watcher, o: StoredObject | undefined): boolean {
    if (!o) return false;
    if (w.labels.length && !matchesRequirements(w.labels, o.metadata.labels)) return false;
    if (w.fields.length && !matchesFields(w.fields, o)) return false;
    return true;
  }

  private deliver(w: Watcher, ev: WatchEvent): void {
    if (ev.rv <= w.seen) return;
    w.seen = ev.rv;
    if (w.namespace !== undefined && ev.object.metadata.namespace !== w.namespace) return;
    if (!w.labels.length && !w.fields.length) {
      w.fn({ type: ev.type, object: ev.object, rv: ev.rv });
      return;
    }
    const now = this.matches(w, ev.object);
    if (ev.type !== 'MODIFIED') {
      if (now) w.fn({ type: ev.type, object: ev.object, rv: ev.rv });
      return;
    }
    const before = this.matches(w, ev.oldObject);
    if (now) w.fn({ type: before ? 'MODIFIED' : 'ADDED', object: ev.object, rv: ev.rv });
    else if (before) w.fn({ type: 'DELETED', object: ev.object, rv: ev.rv });
  }
}
