// The patch formats the API server accepts: JSON merge patch (RFC 7386), JSON
// patch (RFC 6902, @kubernetes/client-node's default) and strategic merge
// patch (kubectl apply/patch) with the merge keys of the fields the testbed's
// kinds have, found by field name rather than from OpenAPI schemas.
import { ApiError } from './errors.js';

export type PatchType = 'merge' | 'json' | 'strategic';

/** The patch type for a Content-Type, or a 415 for apply patches and others. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/merge-patch+json') return 'merge';
  if (ct === 'application/strategic-merge-patch+json') return 'strategic';
  if (ct === 'application/json-patch+json') return 'json';
  throw new ApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got "${ct}")`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new ApiError('BadRequest', `invalid JSON pointer "${p}" in JSON patch`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, tokens: string[], pointer: string): { parent: Record<string, unknown> | unknown[]; key: string } {
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new ApiError('Invalid', `JSON patch: path "${pointer}" does not exist`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new ApiError('Invalid', `JSON patch: path "${pointer}" does not exist`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function getAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new ApiError('Invalid', `JSON patch: path "${pointer}" does not exist`);
  }
  return cur;
}

function arrayIndex(arr: unknown[], key: string, pointer: string, forAdd: boolean): number {
  if (forAdd && key === '-') return arr.length;
  const i = Number(key);
  if (!/^\d+$/.test(key) || i > arr.length || (!forAdd && i === arr.length)) {
    throw new ApiError('Invalid', `JSON patch: index "${key}" out of range in "${pointer}"`);
  }
  return i;
}

function add(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, true), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return undefined;
  const { parent, key } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, false), 1);
  else {
    if (!(key in parent)) throw new ApiError('Invalid', `JSON patch: path "${pointer}" does not exist`);
    delete parent[key];
  }
  return doc;
}

/** RFC 6902 on a copy of doc. */
export function jsonPatch(docIn: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiError('BadRequest', 'a JSON patch must be an array of operations');
  let doc = structuredClone(docIn);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObject(raw) || typeof raw.path !== 'string') throw new ApiError('BadRequest', `invalid JSON patch operation ${JSON.stringify(raw)}`);
    switch (raw.op) {
      case 'add':
        doc = add(doc, raw.path, structuredClone(raw.value));
        break;
      case 'remove':
        doc = remove(doc, raw.path);
        break;
      case 'replace':
        getAt(doc, raw.path);
        doc = add(remove(doc, raw.path) ?? doc, raw.path, structuredClone(raw.value));
        break;
      case 'move': {
        const v = getAt(doc, raw.from ?? '');
        doc = add(remove(doc, raw.from ?? ''), raw.path, v);
        break;
      }
      case 'copy':
        doc = add(doc, raw.path, structuredClone(getAt(doc, raw.from ?? '')));
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, raw.path)) !== JSON.stringify(raw.value)) {
          throw new ApiError('Invalid', `JSON patch: test failed at "${raw.path}"`);
        }
        break;
      default:
        throw new ApiError('BadRequest', `unknown JSON patch operation "${String((raw as { op: unknown }).op)}"`);
    }
  }
  return doc;
}

/** Merge keys of lists, by field name (Kubernetes' patchMergeKey for these fields). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  addresses: 'type',
  taints: 'key',
  hostAliases: 'ip',
};
/** Lists of scalars that merge as sets (patchStrategy merge). */
const SET_LISTS = new Set(['finalizers']);

function mergeKeyOf(field: string, items: unknown[]): string | undefined {
  if (field === 'ports') {
    // Service ports merge by port, container ports by containerPort.
    return items.some((i) => isObject(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  }
  return MERGE_KEYS[field];
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function mergeList(field: string, base: unknown, patch: unknown[]): unknown[] {
  if (patch.some((i) => isObject(i) && i.$patch === 'replace')) return patch.filter((i) => !(isObject(i) && i.$patch === 'replace')).map(stripDirectives);
  const cur = Array.isArray(base) ? [...base] : [];
  if (SET_LISTS.has(field) && patch.every((i) => !isObject(i))) {
    for (const v of patch) if (!cur.includes(v)) cur.push(v);
    return cur;
  }
  const key = mergeKeyOf(field, [...cur, ...patch]);
  if (!key || !patch.every(isObject)) return patch.map(stripDirectives);
  for (const p of patch as Array<Record<string, unknown>>) {
    const i = cur.findIndex((c) => isObject(c) && c[key] === p[key]);
    if (p.$patch === 'delete') {
      if (i >= 0) cur.splice(i, 1);
    } else if (i >= 0) cur[i] = strategicMergePatch(cur[i], p);
    else cur.push(stripDirectives(p));
  }
  return cur;
}

/** Order a merged list as $setElementOrder says; items it does not name keep their place at the end. */
function applyOrder(field: string, list: unknown, order: unknown): unknown {
  if (!Array.isArray(list) || !Array.isArray(order)) return list;
  const key = mergeKeyOf(field, list);
  const id = (v: unknown): unknown => (key && isObject(v) ? v[key] : v);
  const rank = new Map(order.map((o, i) => [id(o), i]));
  return [...list].sort((a, b) => (rank.get(id(a)) ?? order.length) - (rank.get(id(b)) ?? order.length));
}

/** Strategic merge patch: merge patch plus list merge keys and the $patch, $setElementOrder, $deleteFromPrimitiveList and $retainKeys directives. */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return stripDirectives(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  const orders: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/')) orders.push([k.slice('$setElementOrder/'.length), v]);
    else if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = (out[field] as unknown[]).filter((x) => !v.includes(x));
    } else if (k.startsWith('$')) continue;
    else if (v === null) delete out[k];
    else if (isObject(v) && v.$patch === 'delete') delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(k, out[k], v);
    else out[k] = strategicMergePatch(out[k], v);
  }
  for (const [field, order] of orders) if (field in out) out[field] = applyOrder(field, out[field], order);
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(out)) if (!(patch.$retainKeys as unknown[]).includes(k)) delete out[k];
  }
  return out;
}
