// The chart's RBAC, held to what Talaria's components actually ask of the API
// (talaria mode, after every other case: install, serving, a Service with a
// problem, failover, uninstall and install again, and here a node agent's pod
// deleted, as a rollout or a drain does). The API server's audit log
// (testbed/controlplane: every ServiceAccount request at Metadata level) says
// what each of the chart's ServiceAccounts did; the chart's bindings say what
// each may do. Both ways must agree: nothing refused (the code needs a grant
// the chart lacks) and nothing granted that was never used (more privilege
// than the code needs). Refusals while the release was being uninstalled do
// not count: helm deletes the RBAC while the pods are still stopping.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../testbed/client.js';
import type { KubeObject } from '../testbed/client.js';
import { auditLogPath } from '../testbed/controlplane/control-plane.js';
import { stateDir } from '../testbed/state.js';
import { CHART_NAMESPACE } from '../testbed/talaria-mode.js';
import type { E2eContext } from './context.js';

export const RBAC = "the chart's RBAC grants each component what it used, and nothing more";

const CHART_SELECTOR = encodeURIComponent('app.kubernetes.io/part-of=talaria');

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

interface AuditEvent {
  requestReceivedTimestamp?: string;
  user?: { username?: string };
  verb?: string;
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/** "verb group/resource[/subresource]", the core group as "core". */
export function permission(verb: string, group: string | undefined, resource: string): string {
  return `${verb} ${group || 'core'}/${resource}`;
}

/** What each ServiceAccount (by its user name) may do, from the chart's bindings. */
async function granted(api: ApiClient): Promise<Map<string, Set<string>>> {
  const bindings = [
    ...(await api.list(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?labelSelector=${CHART_SELECTOR}`)),
    ...(await api.list(`/apis/rbac.authorization.k8s.io/v1/namespaces/${CHART_NAMESPACE}/rolebindings?labelSelector=${CHART_SELECTOR}`)),
  ];
  const out = new Map<string, Set<string>>();
  for (const b of bindings) {
    const ref = (b as KubeObject & { roleRef: { kind: string; name: string } }).roleRef;
    const path = ref.kind === 'ClusterRole' ? `/apis/rbac.authorization.k8s.io/v1/clusterroles/${ref.name}` : `/apis/rbac.authorization.k8s.io/v1/namespaces/${b.metadata.namespace}/roles/${ref.name}`;
    const rules = (await api.request<{ rules?: Rule[] }>('GET', path)).rules ?? [];
    const perms = rules.flatMap((r) => (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).flatMap((res) => (r.verbs ?? []).map((v) => permission(v, g, res)))));
    for (const s of (b as KubeObject & { subjects?: { kind: string; name: string; namespace?: string }[] }).subjects ?? []) {
      if (s.kind !== 'ServiceAccount') continue;
      const user = `system:serviceaccount:${s.namespace}:${s.name}`;
      const set = out.get(user) ?? new Set<string>();
      for (const p of perms) set.add(p);
      out.set(user, set);
    }
  }
  return out;
}

/** A stretch of time, ms since the epoch. */
export interface Window {
  from: number;
  to: number;
}

/** What each of `users` asked for (allowed) and was refused (403, except during `excused`), from the audit log. */
export function used(auditLines: string, users: ReadonlySet<string>, excused: readonly Window[] = []): Map<string, { allowed: Set<string>; refused: Set<string> }> {
  const out = new Map<string, { allowed: Set<string>; refused: Set<string> }>();
  for (const line of auditLines.split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as AuditEvent;
    const user = e.user?.username;
    if (!user || !users.has(user) || !e.verb || !e.objectRef?.resource) continue;
    const resource = e.objectRef.subresource ? `${e.objectRef.resource}/${e.objectRef.subresource}` : e.objectRef.resource;
    const entry = out.get(user) ?? { allowed: new Set<string>(), refused: new Set<string>() };
    const key = permission(e.verb, e.objectRef.apiGroup, resource);
    out.set(user, entry);
    if (e.responseStatus?.code !== 403) entry.allowed.add(key);
    else {
      const at = Date.parse(e.requestReceivedTimestamp ?? '');
      if (!excused.some((w) => at >= w.from && at <= w.to)) entry.refused.add(key);
    }
  }
  return out;
}

/**
 * `uninstalls`: when the release was being uninstalled (refusals then are
 * expected). A node agent's pod is deleted first: a stopping agent reads its
 * Pod and DaemonSet to tell a restart from an uninstall, with its RBAC there.
 */
export async function rbacLeastPrivilege(ctx: E2eContext, uninstalls: readonly Window[]): Promise<string> {
  const api = await ApiClient.fromKubeconfig(ctx.tb.kubeconfig!);
  try {
    await ctx.refresh();
    const agent = ctx.tb.pods.find((p) => p.namespace === CHART_NAMESPACE && p.name.startsWith('talaria-node-agent-') && p.ready);
    if (!agent) throw new Error('no Ready node agent pod to restart');
    await ctx.delete('pod', agent.name, CHART_NAMESPACE);
    await ctx.eventually('every node agent Ready again', async () => {
      await ctx.refresh();
      const agents = ctx.tb.pods.filter((p) => p.namespace === CHART_NAMESPACE && p.name.startsWith('talaria-node-agent-'));
      if (agents.length !== ctx.tb.nodes.length || !agents.every((p) => p.ready) || agents.some((p) => p.name === agent.name)) throw new Error(`agents: ${agents.map((p) => `${p.name}${p.ready ? '' : ' (not ready)'}`).join(', ')}`);
    }, 90_000);
    const grants = await granted(api);
    if (grants.size === 0) throw new Error('the chart bound no ServiceAccount to any role');
    const log = readFileSync(auditLogPath(join(stateDir(), 'controlplane')), 'utf8');
    const usage = used(log, new Set(grants.keys()), uninstalls);
    const problems: string[] = [];
    const summary: string[] = [];
    for (const [user, may] of grants) {
      const did = usage.get(user) ?? { allowed: new Set<string>(), refused: new Set<string>() };
      const name = user.split(':').pop()!;
      if (did.refused.size) problems.push(`${name} was refused: ${[...did.refused].sort().join(', ')}`);
      const unused = [...may].filter((p) => !did.allowed.has(p)).sort();
      if (unused.length) problems.push(`${name} is granted but never used: ${unused.join(', ')}`);
      summary.push(`${name}: ${[...did.allowed].sort().join(', ')}`);
    }
    if (problems.length) throw new Error(`${problems.join('\n')}\n(used: ${summary.join('; ')})`);
    return summary.join('\n');
  } finally {
    api.close();
  }
}
