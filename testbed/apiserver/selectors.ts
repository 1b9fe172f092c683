// Label and field selectors: the string forms of list/watch queries
// (`app=web,tier in (a,b),!canary`, `spec.nodeName=node-1`) and the
// LabelSelector object of Deployments (matchLabels / matchExpressions).
import { ApiError } from './errors.js';

export type Labels = Readonly<Record<string, string>> | undefined;

export interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!' | '=' | '!=';
  values: string[];
}

/** A parsed selector: every requirement must hold (AND). Empty matches everything. */
export type LabelRequirements = readonly Requirement[];

function matchRequirement(r: Requirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case '=':
    case 'in':
      return has && r.values.includes(v!);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v!);
    case 'exists':
      return has;
    case '!':
      return !has;
  }
}

export function matchesRequirements(reqs: LabelRequirements, labels: Labels): boolean {
  for (const r of reqs) if (!matchRequirement(r, labels)) return false;
  return true;
}

const KEY_RE = /^([a-z0-9A-Z]([-a-z0-9A-Z.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

/** Parse the string form of a label selector; throws 400 BadRequest naming the bad part. */
export function parseLabelSelector(s: string | undefined): LabelRequirements {
  if (!s || !s.trim()) return [];
  const out: Requirement[] = [];
  // Split on commas that are not inside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) throw new ApiError('BadRequest', `unable to parse requirement: empty requirement in label selector "${s}"`);
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const values = m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
      out.push({ key: checkKey(m[1]!, s), op: m[2] as 'in' | 'notin', values });
    } else if ((m = p.match(/^!\s*(\S+)$/))) {
      out.push({ key: checkKey(m[1]!, s), op: '!', values: [] });
    } else if ((m = p.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      out.push({ key: checkKey(m[1]!, s), op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] });
    } else if ((m = p.match(/^([^=!\s()]+)$/))) {
      out.push({ key: checkKey(m[1]!, s), op: 'exists', values: [] });
    } else {
      throw new ApiError('BadRequest', `unable to parse requirement: "${p}" in label selector "${s}"`);
    }
  }
  return out;
}

function checkKey(k: string, s: string): string {
  if (!KEY_RE.test(k)) throw new ApiError('BadRequest', `unable to parse requirement: invalid label key "${k}" in label selector "${s}"`);
  return k;
}

/** metav1.LabelSelector (Deployments, ...). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** Requirements of a LabelSelector object. An empty object matches everything, as in Kubernetes. */
export function requirementsOf(sel: LabelSelectorObject | undefined): LabelRequirements {
  if (!sel) return [];
  const out: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) out.push({ key, op: '=', values: [value] });
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[e.operator];
    out.push({ key: e.key, op, values: e.values ?? [] });
  }
  return out;
}

/** A Service-style selector (map of equalities) as requirements. */
export function requirementsOfMap(sel: Readonly<Record<string, string>> | undefined): LabelRequirements {
  return Object.entries(sel ?? {}).map(([key, value]) => ({ key, op: '=', values: [value] }));
}

/** One field requirement: path = value or path != value. */
export interface FieldRequirement {
  path: string[];
  field: string;
  negate: boolean;
  value: string;
}

/** Fields the server accepts in a fieldSelector, per resource, beyond metadata.name/namespace. */
const FIELDS: Record<string, readonly string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  nodes: ['spec.unschedulable'],
  services: ['spec.type', 'spec.clusterIP'],
  namespaces: ['status.phase'],
};

/** Parse a fieldSelector for a resource; unknown fields are a 400, as in Kubernetes. */
export function parseFieldSelector(s: string | undefined, resource: string): FieldRequirement[] {
  if (!s || !s.trim()) return [];
  const out: FieldRequirement[] = [];
  for (const raw of s.split(',')) {
    const m = raw.trim().match(/^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new ApiError('BadRequest', `invalid field selector: "${raw}"`);
    const field = m[1]!;
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !(FIELDS[resource] ?? []).includes(field)) {
      throw new ApiError('BadRequest', `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"${(FIELDS[resource] ?? []).map((f) => `, "${f}"`).join('')}`);
    }
    out.push({ path: field.split('.'), field, negate: m[2] === '!=', value: m[3]!.trim() });
  }
  return out;
}

function fieldValue(obj: unknown, path: readonly string[]): string {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  for (const r of reqs) {
    const eq = fieldValue(obj, r.path) === r.value;
    if (eq === r.negate) return false;
  }
  return true;
}
