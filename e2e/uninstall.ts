// Uninstall and install again (talaria mode), as an operator does it:
// `helm uninstall` of the release the testbed installed. Every node agent
// stops because its DaemonSet is being deleted, and must leave its node
// clean: no TC filter of the agent on any interface of any node, none of its
// pins, and no firewall rule (Talaria writes none; kube-proxy would). Then
// `helm install` with the same values serves again: what a user does after
// an uninstall, or to roll back one.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { interfaces, withNetns } from '../bpf/loader/netns.js';
import { queryTc } from '../bpf/loader/tc.js';
import { TC_HANDLE, TC_PRIORITY } from '../nodeagent/datapath.js';
import { repoRoot } from '../bpf/testing/paths.js';
import { ApiClient } from '../testbed/client.js';
import { run } from '../testbed/network/exec.js';
import { stateDir } from '../testbed/state.js';
import { CHART_NAMESPACE, CHART_RELEASE, pinDir } from '../testbed/talaria-mode.js';
import type { E2eContext } from './context.js';
import { CLIENT, answeredBy } from './context.js';

export const UNINSTALL = 'helm uninstall leaves no TC filter, pin or rule on any node; helm install serves again';

/** What Talaria left on a node: interfaces with the agent's filter, pin files, firewall rules. */
function leftovers(node: { name: string; netns: string }): { filters: string[]; pins: string[] } {
  const names = withNetns(node.netns, () => interfaces().map((i) => i.name));
  const filters = names.filter((ifname) => queryTc({ ifname, direction: 'ingress', netns: node.netns, handle: TC_HANDLE, priority: TC_PRIORITY }) !== undefined);
  const dir = pinDir(node.name);
  const pins = existsSync(dir) ? readdirSync(dir).filter((f) => !statSync(join(dir, f)).isDirectory()) : [];
  return { filters, pins };
}

async function rules(netns: string): Promise<string> {
  const nft = await run(['ip', 'netns', 'exec', netns, 'nft', 'list', 'ruleset'], { allowFailure: true });
  return nft.stdout.trim();
}

async function talariaPods(api: ApiClient): Promise<number> {
  return (await api.list(`/api/v1/namespaces/${CHART_NAMESPACE}/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/name=talaria')}`)).length;
}

export async function uninstall(ctx: E2eContext): Promise<string> {
  const kubeconfig = ctx.tb.kubeconfig!;
  const api = await ApiClient.fromKubeconfig(kubeconfig);
  try {
    const before = ctx.tb.nodes.map((n) => leftovers(n));
    assert.ok(before.every((l) => l.filters.includes('eth0') && l.pins.length > 0), `before: every node has the agent on its uplink and pins: ${JSON.stringify(before)}`);
    const t0 = Date.now();
    await run(['helm', 'uninstall', CHART_RELEASE, '--namespace', CHART_NAMESPACE, '--kubeconfig', kubeconfig]);
    await ctx.eventually('every Talaria pod gone', async () => assert.equal(await talariaPods(api), 0), 120_000);
    const goneSeconds = (Date.now() - t0) / 1000;
    for (const n of ctx.tb.nodes) {
      assert.deepEqual(leftovers(n), { filters: [], pins: [] }, `${n.name} after uninstall`);
      assert.equal(await rules(n.netns), '', `${n.name}: firewall rules after uninstall`);
    }

    const t1 = Date.now();
    await run(['helm', 'install', CHART_RELEASE, join(repoRoot(), 'charts', 'talaria'), '--namespace', CHART_NAMESPACE, '--kubeconfig', kubeconfig, '--values', join(stateDir(), 'talaria-values.yaml')]);
    const ip = ctx.service('echo').clusterIP;
    const client = ctx.pod(CLIENT).netns;
    await ctx.eventually('the echo Service answers again', async () => assert.ok(answeredBy(await ctx.http(client, ip, 80, 4)).length > 0), 120_000);
    await ctx.eventually('every node has the agent again', async () => assert.ok(ctx.tb.nodes.every((n) => leftovers(n).filters.includes('eth0'))), 60_000);
    return `uninstalled in ${goneSeconds.toFixed(1)} s, nothing left on ${ctx.tb.nodes.length} nodes; serving again ${((Date.now() - t1) / 1000).toFixed(1)} s after helm install`;
  } finally {
    api.close();
  }
}
