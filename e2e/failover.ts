// Controller failover under traffic (talaria mode): the testbed runs the
// chart's two controller replicas with leader election against the real API
// server. The leader is killed (SIGKILL: no Lease release, the standby waits
// out the Lease) while connections are held through a Service; the standby
// must take over, adopt what the switch holds without rewriting it, and no
// held connection may break.
import assert from 'node:assert/strict';
import { ApiClient } from '../testbed/client.js';
import { service } from '../testbed/objects.js';
import type { E2eContext } from './context.js';
import { CLIENT, answeredBy, echoDeployment, fetchText } from './context.js';

export const FAILOVER = 'controller failover under traffic: the standby takes over, rewrites nothing, no held connection breaks';
const NAME = 'e2e-failover';
const HELD = 20;
const HOLD_SECONDS = 35;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ControllerProcess {
  name: string;
  pid: number;
  metrics: string;
}

/** The testbed's controllers (the chart's pods), with where their metrics are relayed to. */
export function controllers(ctx: E2eContext): ControllerProcess[] {
  return ctx.tb.processes
    .filter((x) => /^controller-\d+$/.test(x.name))
    .map((p) => {
      if (!p.metrics) throw new Error(`${p.name} has no metrics address in the testbed's state`);
      return { name: p.name, pid: p.pid, metrics: `http://${p.metrics}/metrics` };
    });
}

export async function metric(c: ControllerProcess, name: string): Promise<number> {
  const { text } = await fetchText(c.metrics);
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** The controller that holds the Lease, and the other one (which must not lead). */
export async function leaderAndStandby(ctx: E2eContext, api: ApiClient): Promise<{ leader: ControllerProcess; standby: ControllerProcess }> {
  const lease = await api.request<{ spec: { holderIdentity: string } }>('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/talaria-controller');
  const all = controllers(ctx);
  // The identity is <host>_<pid>_<random>.
  const leader = all.find((c) => lease.spec.holderIdentity.includes(`_${c.pid}_`));
  assert.ok(leader, `no testbed controller holds the Lease (holder ${lease.spec.holderIdentity})`);
  const standby = all.find((c) => c !== leader);
  assert.ok(standby, `no standby controller (${all.map((c) => c.name).join(', ')})`);
  assert.equal(await metric(standby, 'talaria_leader'), 0, `${standby.name} leads too`);
  return { leader, standby };
}

/**
 * Kills the leading controller (`kill`) and waits until the standby leads, is
 * primary on the switch and has synced: its first sync as leader reads the
 * switch back and writes the difference, which must be nothing.
 */
export async function killLeader(ctx: E2eContext, api: ApiClient, kill: (leader: ControllerProcess) => Promise<unknown>): Promise<{ leader: ControllerProcess; standby: ControllerProcess; takeoverMs: number; written: number }> {
  const { leader, standby } = await leaderAndStandby(ctx, api);
  const updatesBefore = await metric(standby, 'talaria_switch_updates_total');
  const killedAt = Date.now();
  await kill(leader);
  await ctx.eventually(`${standby.name} leads and is primary on the switch`, async () => {
    assert.equal(await metric(standby, 'talaria_leader'), 1);
    assert.equal(await metric(standby, 'talaria_switch_connected'), 1);
  }, 60_000);
  const takeoverMs = Date.now() - killedAt;
  await ctx.eventually(`${standby.name} synced`, async () => assert.ok((await metric(standby, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds')) * 1000 > killedAt), 30_000);
  const written = (await metric(standby, 'talaria_switch_updates_total')) - updatesBefore;
  return { leader, standby, takeoverMs, written };
}

export async function failover(ctx: E2eContext): Promise<string> {
  const api = await ApiClient.fromKubeconfig(ctx.tb.kubeconfig!);
  try {
    await ctx.apply(echoDeployment(NAME, 2, [{ name: 'http', containerPort: 8080 }]), service(NAME, { selector: { app: NAME }, ports: [{ port: 80, targetPort: 8080 }] }));
    await ctx.waitForPods(NAME, 2);
    const ip = ctx.service(NAME).clusterIP;
    const client = ctx.pod(CLIENT).netns;
    await ctx.eventually('the Service answers', async () => answeredBy(await ctx.http(client, ip, 80, 4)));

    const held = ctx.hold(client, ip, 80, HELD, HOLD_SECONDS);
    await sleep(3000);
    const { leader, standby, takeoverMs, written } = await killLeader(ctx, api, async (l) => process.kill(l.pid, 'SIGKILL'));
    assert.equal(written, 0, `${standby.name} rewrote ${written} entries the switch already held`);

    const connections = await held;
    const broken = connections.filter((c) => c.firstPod === null || c.errors > 0 || c.switches > 0);
    assert.equal(broken.length, 0, `${broken.length} of ${HELD} held connections broke or changed backend: ${JSON.stringify(broken.slice(0, 3))}`);
    const requests = connections.reduce((n, c) => n + c.requests, 0);

    // The new leader programs changes.
    await ctx.scale(NAME, 3);
    const pods = (await ctx.waitForPods(NAME, 3)).map((p) => p.name);
    await ctx.eventually('the third endpoint programmed', async () => {
      const by = new Set(answeredBy(await ctx.http(client, ip, 80, 30)));
      assert.deepEqual([...by].sort(), [...pods].sort());
    });
    return `${standby.name} led and was primary on the switch ${takeoverMs} ms after ${leader.name} was killed (Lease 15 s); it wrote 0 updates; ${HELD} held connections, ${requests} requests, 0 errors`;
  } finally {
    api.close();
    await ctx.delete('service', NAME).catch(() => undefined);
    await ctx.delete('deployment', NAME).catch(() => undefined);
  }
}
