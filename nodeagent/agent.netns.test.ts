// The node agent on real namespaces: two nodes, a Linux router standing in
// for the switch (pod traffic is only routed there), an in-process API
// server. Pod-to-pod traffic over the fast path (no conntrack entry, the
// bridge does not carry it), rejects at the client host, ITP=Local services
// translated at the host, and an agent restart in the middle of 100 live
// connections. Everything is removed in after(), also on failure.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, renameSync } from 'node:fs';
import { MiniCluster } from './testing/mini-cluster.js';
import type { MiniPod } from './testing/mini-cluster.js';
import { AgentHarness, until } from './testing/agent-harness.js';
import { HOST_FE_F_HAS_ENDPOINTS } from '../bpf/layouts/host-maps.js';
import { HealthTracker } from '../observability/health.js';
import { agentReadyCondition, uplinkMacAnnotation } from '../proxy/node-annotations.js';
import { queryTc } from '../bpf/loader/tc.js';
import { TC_HANDLE, TC_PRIORITY } from './datapath.js';
import { UPLINK_MTU } from './testing/mini-cluster.js';
import { execFileSync } from 'node:child_process';

interface NodeObject {
  [key: string]: unknown;
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  status: { conditions?: { type: string; status: string; reason: string; message: string }[] };
}
const nodeObject = async (name: string): Promise<NodeObject> => (await h.api.get<NodeObject>({ apiVersion: 'v1', kind: 'Node', metadata: { name } }))!;

const prefix = `tl-na-${process.pid}`;
const cluster = new MiniCluster(prefix);
const h = new AgentHarness(cluster, `/sys/fs/bpf/talaria/${prefix}`);
const pods: Record<string, MiniPod> = {};
const events = (node: string) => h.events(node);
const echoServer = (pod: MiniPod, port: number) => h.echoServer(pod, port);
const client = (pod: MiniPod, addr: string, port: number, n: number) => h.client(pod, addr, port, n);
const conntrackEntries = (netns: string, addrs: string[]) => h.conntrackEntries(netns, addrs);

describe('node agent on namespaces', { skip: process.getuid?.() !== 0 && 'needs root (network namespaces, bpf)', timeout: 180_000 }, () => {
  before(async () => {
    await cluster.up(2);
    pods.a = await cluster.addPod('a', 1, 2);
    pods.b = await cluster.addPod('b', 1, 3);
    pods.c = await cluster.addPod('c', 2, 2);
    await h.startApi();
    await h.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ name: 'tcp', port: 80, protocol: 'TCP' }, { name: 'udp', port: 53, protocol: 'UDP' }] } });
    await h.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'local', namespace: 'default' }, spec: { clusterIP: '10.96.0.40', clusterIPs: ['10.96.0.40'], internalTrafficPolicy: 'Local', ports: [{ name: 'echo', port: 8080, protocol: 'TCP', targetPort: 9090 }] } });
    await h.api.create({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'local-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'local' } },
      addressType: 'IPv4', ports: [{ name: 'echo', port: 9090, protocol: 'TCP' }],
      endpoints: [{ addresses: [pods.b.ip], nodeName: 'node-1', conditions: { ready: true } }, { addresses: [pods.c.ip], nodeName: 'node-2', conditions: { ready: true } }],
    });
    await h.startAgent(1);
    await h.startAgent(2);
  });

  after(() => h.stop());

  it('attaches to the uplink and every pod veth, and fills the pod map', async () => {
    const dp = h.agent('node-1').datapath;
    assert.ok(dp.attachedProgramId('eth0'));
    for (const p of [pods.a!, pods.b!]) {
      assert.ok(dp.attachedProgramId(p.hostVeth), p.hostVeth);
      assert.equal(dp.pods.get(p.ip).mac, p.mac);
    }
  });

  it('publishes what only the node knows on its Node: the uplink MAC, TalariaAgentReady=True', async () => {
    for (const n of cluster.nodes) {
      await until(`${n.name}'s uplink MAC on its Node`, async () => (await nodeObject(n.name)).metadata.annotations?.[uplinkMacAnnotation] === n.uplinkMac);
      const ready = (await nodeObject(n.name)).status.conditions?.find((c) => c.type === agentReadyCondition);
      assert.equal(ready?.status, 'True', JSON.stringify(ready));
      assert.equal(ready?.reason, 'ProgramsAttached');
    }
  });

  it('pod -> remote pod over the fast path: no conntrack entry, the bridge does not carry it', async () => {
    const server = echoServer(pods.c!, 9000);
    await server.next(/listening/);
    // Warm up ARP (which does go through cni0) before counting.
    const warm = client(pods.a!, pods.c!.ip, 9000, 1);
    await warm.lines.next(/^connected 1 0/);
    assert.deepEqual(await warm.roundTrip(), [1, 0]);
    const bridgeBefore = await cluster.packets(cluster.nodes[0]!.netns, 'cni0');
    const ev1 = events('node-1');
    const ev2 = events('node-2');
    const c = client(pods.a!, pods.c!.ip, 9000, 20);
    await c.lines.next(/^connected 20 0/);
    for (let i = 0; i < 5; i++) assert.deepEqual(await c.roundTrip(), [20, 0]);
    const bridgeDelta = (await cluster.packets(cluster.nodes[0]!.netns, 'cni0')) - bridgeBefore;
    assert.ok(events('node-1').pod_remote! - ev1.pod_remote! >= 20 * 6, 'node-1 sent them to the uplink');
    assert.ok(events('node-2').up_local! - ev2.up_local! >= 20 * 6, 'node-2 delivered them from the uplink');
    assert.ok(bridgeDelta <= 6, `cni0 moved by ${bridgeDelta} packets (ARP at most) while ~400 went by`);
    for (const n of cluster.nodes) assert.deepEqual(await conntrackEntries(n.netns, [pods.a!.ip, pods.c!.ip]), [], `conntrack in ${n.name}`);
  });

  it('pod -> local pod: straight into its veth', async () => {
    const server = echoServer(pods.b!, 9001);
    await server.next(/listening/);
    const before1 = events('node-1').pod_local!;
    const c = client(pods.a!, pods.b!.ip, 9001, 3);
    await c.lines.next(/^connected 3 0/);
    assert.deepEqual(await c.roundTrip(), [3, 0]);
    assert.ok(events('node-1').pod_local! - before1 >= 6);
  });

  it('a Service without endpoints: TCP refused at once, UDP port unreachable, from the client host', async () => {
    const tcp = await cluster.run(pods.a!.netns, [process.execPath, '-e', `require('net').connect(80, '10.96.0.20').on('error', (e) => console.log(e.code)).on('connect', () => console.log('connected'))`]);
    assert.equal(tcp.trim(), 'ECONNREFUSED');
    const udp = await cluster.run(pods.a!.netns, [
      process.execPath, '-e',
      `const s = require('dgram').createSocket('udp4'); let done = false; const end = (w) => { if (!done) { done = true; console.log(w); s.close(); } };
       s.on('error', (e) => end(e.code)); s.on('message', () => end('answer'));
       s.connect(53, '10.96.0.20', () => { s.send('q'); setTimeout(() => done || s.send('q'), 200); setTimeout(() => end('timeout'), 3000); });`,
    ]);
    assert.match(udp, /ECONNREFUSED/);
    assert.ok(events('node-1').pod_reject! >= 2);
  });

  it('internalTrafficPolicy=Local: served by the local endpoint, the client keeps its address', async () => {
    const server = echoServer(pods.b!, 9090);
    await server.next(/listening/);
    const c = client(pods.a!, '10.96.0.40', 8080, 2);
    await c.lines.next(/^connected 2 0/);
    assert.deepEqual(await c.roundTrip(), [2, 0]);
    assert.match(await server.next(/^from /), new RegExp(`^from ${pods.a!.ip.replace(/\./g, '\\.')}:`));
    // The pod reaching itself through the Service: hairpin source.
    const self = client(pods.b!, '10.96.0.40', 8080, 1);
    await self.lines.next(/^connected 1 0/);
    assert.deepEqual(await self.roundTrip(), [1, 0]);
    assert.match(await server.next(/^from 169\.254\.169\.1:/), /169\.254\.169\.1/);
    for (const n of cluster.nodes) assert.deepEqual(await conntrackEntries(n.netns, ['10.96.0.40']), [], `conntrack in ${n.name}`);
  });

  it('an agent restart in the middle of 100 live connections breaks none', async () => {
    const local = client(pods.a!, '10.96.0.40', 8080, 50); // translated at node-1: lives in the pinned maps
    const remote = client(pods.a!, pods.c!.ip, 9000, 50); // pod to remote pod
    await local.lines.next(/^connected 50 0/);
    await remote.lines.next(/^connected 50 0/);
    assert.deepEqual(await local.roundTrip(), [50, 0]);
    assert.deepEqual(await remote.roundTrip(), [50, 0]);
    const old = h.agent('node-1');
    const connsBefore = [...old.datapath.conns.keys()].length;
    await old.stop();
    // With the agent gone the programs keep running.
    assert.deepEqual(await local.roundTrip(), [50, 0]);
    const fresh = await h.startAgent(1);
    assert.equal([...fresh.datapath.conns.keys()].length, connsBefore, 'connection entries survived');
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await local.roundTrip(), [50, 0]);
      assert.deepEqual(await remote.roundTrip(), [50, 0]);
    }
  });

  it('an upgrade from unversioned pins (the release before layout versions) moves every entry; 100 live connections break none', async () => {
    const local = client(pods.a!, '10.96.0.40', 8080, 50);
    const remote = client(pods.a!, pods.c!.ip, 9000, 50);
    await local.lines.next(/^connected 50 0/);
    await remote.lines.next(/^connected 50 0/);
    const old = h.agent('node-1');
    const connsBefore = [...old.datapath.conns.keys()].length;
    await old.stop();
    // What the previous release left: the same maps under their bare names.
    const dir = `${h.pinRoot}/node-1`;
    const versioned = readdirSync(dir).filter((n) => /-v[0-9a-f]{8}$/.test(n));
    assert.ok(versioned.some((n) => n.startsWith('tl_host_conns-v')), versioned.join(' '));
    for (const n of versioned) renameSync(`${dir}/${n}`, `${dir}/${n.replace(/-v[0-9a-f]{8}$/, '')}`);
    assert.deepEqual(await local.roundTrip(), [50, 0], 'served while the agent is down');
    const fresh = await h.startAgent(1);
    assert.ok(h.logs.some((l) => /map tl_host_conns: an older layout was pinned .* entries moved to .*tl_host_conns-v[0-9a-f]{8}, 0 dropped/.test(l)), h.logs.join('\n'));
    assert.ok(readdirSync(dir).every((n) => !versioned.map((v) => v.replace(/-v[0-9a-f]{8}$/, '')).includes(n)), 'the bare pins are gone');
    assert.equal([...fresh.datapath.conns.keys()].length, connsBefore, 'every connection entry moved');
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await local.roundTrip(), [50, 0]);
      assert.deepEqual(await remote.roundTrip(), [50, 0]);
    }
  });

  it('exports kube-proxy style metrics', async () => {
    const { agent, registry } = h.agents.get('node-1')!;
    agent.collectGarbage();
    const text = await registry.metrics();
    if (process.env.TALARIA_SHOW_METRICS) console.log(text);
    assert.match(text, /talaria_bpf_map_capacity\{map="tl_host_conns"\} 65536/);
    assert.match(text, /talaria_connection_entries [1-9]/);
    assert.match(text, /talaria_drops_total\{reason="malformed"\} 0/);
    assert.match(text, /talaria_host_packets_total\{path="pod_remote"\} [1-9]/);
    assert.match(text, /talaria_bpf_program_runs_total\{program="tl_host_from_pod"\} /);
    assert.match(text, /kubeproxy_sync_proxy_rules_last_timestamp_seconds [1-9]/);
  });

  it('a ClientIP-affinity Service losing an endpoint forgets its affinity entries', async () => {
    await h.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'sticky', namespace: 'default' }, spec: { clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50'], sessionAffinity: 'ClientIP', ports: [{ name: 'p', port: 80, protocol: 'TCP' }] } });
    const slice = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'sticky-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'sticky' } },
      addressType: 'IPv4', ports: [{ name: 'p', port: 80, protocol: 'TCP' }],
      endpoints: [{ addresses: [pods.b!.ip], conditions: { ready: true } }, { addresses: [pods.c!.ip], conditions: { ready: true } }],
    };
    await h.api.create(slice);
    const dp = h.agent('node-1').datapath;
    const fe = { addr: '10.96.0.50', port: 80, proto: 6 };
    // With its endpoints: a frontend synced before the slice has none to lose.
    await until('the sticky frontend with endpoints', () => ((dp.frontends.lookup(fe)?.flags ?? 0) & HOST_FE_F_HAS_ENDPOINTS) !== 0);
    const key = { client: pods.a!.ip, fe };
    dp.affinity.update(key, { last_seen_ns: process.hrtime.bigint(), frontend_id: 9, backend_id: 3, nat_addr: '0.0.0.0', nat_port: 0, flags: 0 });
    await h.api.apply({ ...slice, endpoints: [slice.endpoints[0]] });
    await until('the affinity entry to go', () => dp.affinity.lookup(key) === undefined);
  });

  it('a pod that comes later is attached and served; when it goes, its entry and filter go too', async () => {
    const dp = h.agent('node-2').datapath;
    const d = await cluster.addPod('d', 2, 9);
    await h.pod('d', 'node-2', d.ip);
    await until('the new pod in the pod map', () => dp.pods.lookup(d.ip) !== undefined);
    assert.ok(dp.attachedProgramId(d.hostVeth));
    const server = echoServer(d, 9002);
    await server.next(/listening/);
    const c = client(pods.a!, d.ip, 9002, 2);
    await c.lines.next(/^connected 2 0/);
    assert.deepEqual(await c.roundTrip(), [2, 0]);
    await cluster.removePod('d');
    await h.api.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'd', namespace: 'default' } });
    await until('the pod entry to go', () => dp.pods.lookup(d.ip) === undefined);
  });

  it("kube-proxy's node eligibility: a node the autoscaler is about to delete answers /healthz 503, /livez 200", async () => {
    const health = h.agents.get('node-1')!.health;
    const taint = async (taints: object[]) => h.api.api.request('PATCH', '/api/v1/nodes/node-1', { spec: { taints } }, 'application/merge-patch+json');
    await taint([{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }]);
    await until('node-1 ineligible', () => !health.healthy());
    assert.match(health.snapshot().blocked ?? '', /node node-1 is tainted ToBeDeletedByClusterAutoscaler/);
    assert.equal(health.live(), true);
    await taint([]);
    await until('node-1 eligible again', () => health.healthy());
  });

  // Last: it restarts node-2's agent on a broken uplink.
  it('a node whose uplink has no room for the shim: nothing attached, not ready with the reason, serving once fixed', async () => {
    const n = cluster.nodes[1]!;
    await h.agent(n.name).stop();
    // The old agent's programs stay attached (by design); take the uplink's off to see what the new agent does.
    execFileSync('tc', ['-n', n.netns, 'filter', 'del', 'dev', 'eth0', 'ingress']);
    execFileSync('ip', ['-n', n.netns, 'link', 'set', 'eth0', 'mtu', '1500']);
    const health = new HealthTracker();
    const { agent, registry } = h.newAgent(2, { health, preflightRetryMs: 200 });
    const started = agent.start();
    const condition = async () => (await nodeObject(n.name)).status.conditions?.find((c) => c.type === agentReadyCondition);
    await until('TalariaAgentReady=False', async () => (await condition())?.status === 'False');
    const c = (await condition())!;
    assert.equal(c.reason, 'PreflightFailed');
    assert.match(c.message, /uplink eth0 MTU 1500 is below the pod MTU 1500 \(cni0\) \+ 12/);
    assert.equal(health.healthy(), false);
    assert.match(health.snapshot().blocked ?? '', /MTU 1500/);
    assert.match(await registry.metrics(), /talaria_nodeagent_preflight_failed\{check="mtu"\} 1/);
    assert.equal(queryTc({ ifname: 'eth0', direction: 'ingress', netns: n.netns, handle: TC_HANDLE, priority: TC_PRIORITY }), undefined, 'nothing attached');
    execFileSync('ip', ['-n', n.netns, 'link', 'set', 'eth0', 'mtu', String(UPLINK_MTU)]);
    await started;
    await until('node-2 to sync its pods', () => agent.syncCount > 0 && [...agent.datapath.pods.keys()].length === cluster.pods.filter((p) => p.node === 2).length);
    assert.ok(agent.datapath.attachedProgramId('eth0'));
    assert.equal(health.healthy(), true);
    await until('TalariaAgentReady=True', async () => (await condition())?.status === 'True');
    const server = echoServer(pods.c!, 9003);
    await server.next(/listening/);
    const cl = client(pods.a!, pods.c!.ip, 9003, 2);
    await cl.lines.next(/^connected 2 0/);
    assert.deepEqual(await cl.roundTrip(), [2, 0]);
  });
});
