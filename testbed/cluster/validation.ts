// Defaulting and validation of Services, Pods and Deployments, with the
// field paths and wording of the real API server, so that a bad manifest
// fails at apply time naming the field instead of surfacing as missing rules.
import { isIPv4 } from 'node:net';
import type { FieldError } from '../apiserver/errors.js';
import { matchesRequirements, requirementsOf } from '../apiserver/selectors.js';
import type { LabelSelectorObject } from '../apiserver/selectors.js';
import type { KubeObject } from '../apiserver/types.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Collects field errors with Kubernetes' messages. */
class Errors {
  readonly list: FieldError[] = [];
  required(field: string, what = ''): void {
    this.list.push({ field, reason: 'FieldValueRequired', message: `Required value${what ? ': ' + what : ''}` });
  }
  invalid(field: string, value: unknown, why: string): void {
    this.list.push({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}` });
  }
  notSupported(field: string, value: unknown, allowed: readonly string[]): void {
    this.list.push({ field, reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}` });
  }
  duplicate(field: string, value: unknown): void {
    this.list.push({ field, reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(value)}` });
  }
  forbidden(field: string, why: string): void {
    this.list.push({ field, reason: 'FieldValueForbidden', message: `Forbidden: ${why}` });
  }
}

function isPortNumber(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
}

/** An IANA service name (a named port): at most 15 characters, at least one letter. */
export function isPortName(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 15 && IANA_SVC_NAME.test(v) && /[a-z]/.test(v) && !v.includes('--');
}

function validateLabels(e: Errors, field: string, labels: unknown): void {
  if (labels === undefined || labels === null) return;
  if (typeof labels !== 'object' || Array.isArray(labels)) {
    e.invalid(field, labels, 'must be a map of strings');
    return;
  }
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k) || k.split('/').pop()!.length > 63) e.invalid(field, k, 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character');
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) e.invalid(`${field}`, v, 'a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character');
  }
}

// ---- Services ---------------------------------------------------------------

/** Fill the fields Kubernetes defaults on a Service (in place). */
export function defaultService(svc: KubeObject): void {
  const spec = (svc.spec ??= {});
  spec.type ??= 'ClusterIP';
  if (spec.type === 'ExternalName') return;
  spec.sessionAffinity ??= 'None';
  spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports as Array<Record<string, unknown>>) {
      if (!p || typeof p !== 'object') continue;
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    }
  }
}

/** Field errors of a (defaulted) Service; `old` for updates (immutable fields). */
export function validateService(svc: KubeObject, old?: KubeObject): FieldError[] {
  const e = new Errors();
  const name = svc.metadata.name;
  if (typeof name === 'string' && (name.length > 63 || !DNS1035_LABEL.test(name))) {
    e.invalid('metadata.name', name, 'a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character');
  }
  validateLabels(e, 'metadata.labels', svc.metadata.labels);
  const spec = svc.spec ?? {};
  const type = spec.type;
  if (!SERVICE_TYPES.includes(type)) {
    e.notSupported('spec.type', type, SERVICE_TYPES);
    return e.list;
  }
  if (type === 'ExternalName') {
    if (!spec.externalName) e.required('spec.externalName');
    else if (typeof spec.externalName !== 'string' || !DNS1123_SUBDOMAIN.test(spec.externalName.replace(/\.$/, ''))) {
      e.invalid('spec.externalName', spec.externalName, 'must be a valid DNS name');
    }
  }
  const headless = spec.clusterIP === 'None';
  if (spec.clusterIP !== undefined && spec.clusterIP !== '' && !headless && !isIPv4(String(spec.clusterIP))) {
    e.invalid('spec.clusterIP', spec.clusterIP, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff) or "None"');
  }
  if (headless && (type === 'NodePort' || type === 'LoadBalancer')) e.invalid('spec.clusterIP', 'None', `may not be set to 'None' for ${type} services`);
  if (old && old.spec?.clusterIP && old.spec.type !== 'ExternalName' && type !== 'ExternalName' && spec.clusterIP !== old.spec.clusterIP) {
    e.invalid('spec.clusterIP', spec.clusterIP, 'field is immutable');
  }
  const ports = spec.ports;
  if (ports !== undefined && !Array.isArray(ports)) e.invalid('spec.ports', ports, 'must be a list');
  const list = Array.isArray(ports) ? (ports as Array<Record<string, unknown>>) : [];
  if (list.length === 0 && type !== 'ExternalName' && !headless) e.required('spec.ports');
  const names = new Set<string>();
  const keys = new Set<string>();
  list.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (!p || typeof p !== 'object') {
      e.invalid(f, p, 'must be an object');
      return;
    }
    if (list.length > 1 && !p.name) e.required(`${f}.name`);
    if (p.name !== undefined && p.name !== '') {
      if (typeof p.name !== 'string' || p.name.length > 63 || !DNS1123_LABEL.test(p.name)) e.invalid(`${f}.name`, p.name, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\'');
      else if (names.has(p.name)) e.duplicate(`${f}.name`, p.name);
      names.add(String(p.name));
    }
    if (!isPortNumber(p.port)) e.invalid(`${f}.port`, p.port, 'must be between 1 and 65535, inclusive');
    if (!PROTOCOLS.includes(p.protocol as never)) e.notSupported(`${f}.protocol`, p.protocol, PROTOCOLS);
    const key = `${String(p.port)}/${String(p.protocol)}`;
    if (keys.has(key)) e.duplicate(f, { port: p.port, protocol: p.protocol });
    keys.add(key);
    const tp = p.targetPort;
    if (typeof tp === 'number') {
      if (!isPortNumber(tp) && tp !== p.port) e.invalid(`${f}.targetPort`, tp, 'must be between 1 and 65535, inclusive');
    } else if (typeof tp === 'string') {
      if (!/^\d+$/.test(tp) && !isPortName(tp)) e.invalid(`${f}.targetPort`, tp, 'must contain at least one letter (a-z), at most 15 characters, lower case alphanumerics and \'-\'');
    } else if (type !== 'ExternalName') e.invalid(`${f}.targetPort`, tp, 'must be a port number or a port name');
    if (p.nodePort !== undefined && p.nodePort !== null && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') e.forbidden(`${f}.nodePort`, 'may not be used when `type` is \'ClusterIP\'');
      else if (!Number.isInteger(p.nodePort)) e.invalid(`${f}.nodePort`, p.nodePort, 'must be a port number');
    }
  });
  if (spec.selector !== undefined && spec.selector !== null) validateLabels(e, 'spec.selector', spec.selector);
  if (spec.sessionAffinity !== undefined && !['None', 'ClientIP'].includes(spec.sessionAffinity)) e.notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']);
  for (const [field, v] of [['spec.externalTrafficPolicy', spec.externalTrafficPolicy], ['spec.internalTrafficPolicy', spec.internalTrafficPolicy]] as const) {
    if (v !== undefined && v !== 'Cluster' && v !== 'Local') e.notSupported(field, v, ['Cluster', 'Local']);
  }
  if (spec.externalTrafficPolicy !== undefined && type !== 'NodePort' && type !== 'LoadBalancer') {
    e.invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set when `type` is \'NodePort\' or \'LoadBalancer\'');
  }
  (Array.isArray(spec.externalIPs) ? (spec.externalIPs as unknown[]) : []).forEach((ip, i) => {
    if (typeof ip !== 'string' || !isIPv4(ip)) e.invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address');
  });
  return e.list;
}

// ---- Pods -------------------------------------------------------------------

/** Field errors of a pod spec (also a Deployment's template, under `prefix`). */
export function validatePodSpec(spec: unknown, prefix: string): FieldError[] {
  const e = new Errors();
  if (!spec || typeof spec !== 'object') {
    e.required(prefix);
    return e.list;
  }
  const s = spec as Record<string, unknown>;
  const containers = s.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    e.required(`${prefix}.containers`);
    return e.list;
  }
  const names = new Set<string>();
  const portNames = new Set<string>();
  containers.forEach((c: Record<string, unknown>, i) => {
    const f = `${prefix}.containers[${i}]`;
    if (!c || typeof c !== 'object') {
      e.invalid(f, c, 'must be an object');
      return;
    }
    if (!c.name) e.required(`${f}.name`);
    else if (typeof c.name !== 'string' || !DNS1123_LABEL.test(c.name)) e.invalid(`${f}.name`, c.name, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\'');
    else if (names.has(c.name)) e.duplicate(`${f}.name`, c.name);
    names.add(String(c.name));
    if (!c.image || typeof c.image !== 'string') e.required(`${f}.image`);
    const ports = c.ports;
    if (ports !== undefined && !Array.isArray(ports)) e.invalid(`${f}.ports`, ports, 'must be a list');
    (Array.isArray(ports) ? ports : []).forEach((p: Record<string, unknown>, j) => {
      const pf = `${f}.ports[${j}]`;
      if (!isPortNumber(p?.containerPort)) e.invalid(`${pf}.containerPort`, p?.containerPort, 'must be between 1 and 65535, inclusive');
      if (p?.protocol !== undefined && !PROTOCOLS.includes(p.protocol as never)) e.notSupported(`${pf}.protocol`, p.protocol, PROTOCOLS);
      if (p?.name !== undefined) {
        if (!isPortName(p.name)) e.invalid(`${pf}.name`, p.name, 'must contain at least one letter (a-z), at most 15 characters, lower case alphanumerics and \'-\'');
        else if (portNames.has(p.name)) e.duplicate(`${pf}.name`, p.name);
        portNames.add(String(p.name));
      }
    });
  });
  const grace = s.terminationGracePeriodSeconds;
  if (grace !== undefined && (!Number.isInteger(grace) || (grace as number) < 0)) e.invalid(`${prefix}.terminationGracePeriodSeconds`, grace, 'must be greater than or equal to 0');
  return e.list;
}

/** Fill container port protocols (TCP), as Kubernetes does. */
export function defaultPodSpec(spec: unknown): void {
  const s = spec as { containers?: Array<{ ports?: Array<{ protocol?: string }> }> } | undefined;
  for (const c of s?.containers ?? []) for (const p of c?.ports ?? []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
}

export function validatePod(pod: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validatePodSpec(pod.spec, 'spec');
  const e = new Errors();
  validateLabels(e, 'metadata.labels', pod.metadata.labels);
  if (old?.spec?.nodeName && pod.spec?.nodeName !== old.spec.nodeName) e.invalid('spec.nodeName', pod.spec?.nodeName, 'field is immutable once the pod is scheduled');
  return [...errs, ...e.list];
}

// ---- Deployments --------------------------------------------------------------

export function defaultDeployment(d: KubeObject): void {
  const spec = (d.spec ??= {});
  spec.replicas ??= 1;
  spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
  spec.revisionHistoryLimit ??= 10;
  defaultPodSpec(spec.template?.spec);
}

export function validateDeployment(d: KubeObject, old?: KubeObject): FieldError[] {
  const e = new Errors();
  validateLabels(e, 'metadata.labels', d.metadata.labels);
  const spec = d.spec ?? {};
  if (!Number.isInteger(spec.replicas) || spec.replicas < 0) e.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0');
  const sel = spec.selector as LabelSelectorObject | undefined;
  const reqs = requirementsOf(sel);
  if (!sel || reqs.length === 0) e.required('spec.selector');
  else validateLabels(e, 'spec.selector.matchLabels', sel.matchLabels);
  const tmpl = spec.template;
  if (!tmpl || typeof tmpl !== 'object') {
    e.required('spec.template');
    return e.list;
  }
  validateLabels(e, 'spec.template.metadata.labels', tmpl.metadata?.labels);
  if (sel && reqs.length && !matchesRequirements(reqs, tmpl.metadata?.labels)) {
    e.invalid('spec.template.metadata.labels', tmpl.metadata?.labels ?? {}, '`selector` does not match template `labels`');
  }
  if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(sel)) e.invalid('spec.selector', sel, 'field is immutable');
  return [...e.list, ...validatePodSpec(tmpl.spec, 'spec.template.spec')];
}
