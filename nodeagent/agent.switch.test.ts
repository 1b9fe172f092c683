// Service traffic through the real software switch: two nodes with their
// agents, `talaria softswitch` on the switch namespace's ports, entries
// written over P4Runtime the way the controller writes them. pod -> ClusterIP
// across nodes and on the same node, hairpin, replies from the ClusterIP, no
// conntrack entry on any node, and pinned connections that keep their backend
// when it leaves the selection while new connections go elsewhere.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { talariaArgv } from '../cli/self.js';
import { P4RuntimeClient } from '../p4/client/index.js';
import { talariaP4Info } from '../p4/p4info/load-p4info.js';
import type { Entity } from '../p4/proto/types.js';
import { SWITCH_OBJECT } from '../p4/softswitch/datapath.js';
import { TalariaEntities } from '../p4/softswitch/wire-entities.js';
import { MiniCluster } from './testing/mini-cluster.js';
import type { MiniPod } from './testing/mini-cluster.js';
import { AgentHarness } from './testing/agent-harness.js';

const prefix = `tl-nas-${process.pid}`;
const cluster = new MiniCluster(prefix);
const h = new AgentHarness(cluster, `/sys/fs/bpf/talaria/${prefix}`);
const pods: Record<string, MiniPod> = {};
const e = new TalariaEntities();
let sw: ChildProcess | undefined;
let p4: P4RuntimeClient | undefined;

// Frontends: ids as the controller would assign them.
const CROSS = { vip: '10.96.1.1', port: 80, id: 1 }; // backend c on node-2
const SAME = { vip: '10.96.1.2', port: 80, id: 2 }; // backend b on node-1 (client a is on node-1 too)
const HAIRPIN = { vip: '10.96.1.3', port: 80, id: 3 }; // backend a itself
const TWO = { vip: '10.96.1.4', port: 80, id: 4 }; // backends b and c
const BULK = { vip: '10.96.1.5', port: 81, id: 5 }; // c's bulk server (port 9100)

// Sends `size` deterministic bytes on each connection, then closes.
const BULK_SERVER = `
const net = require('net');
const size = +process.argv[1];
const chunk = Buffer.alloc(65536);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + 3) & 255;
net.createServer((c) => {
  let left = size;
  const pump = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n; if (!c.write(chunk.subarray(0, n))) return c.once('drain', pump); } c.end(); };
  c.on('error', () => {});
  pump();
}).listen(9100, '0.0.0.0', () => console.log('listening'));
`;
const BULK_CLIENT = `
const h = require('crypto').createHash('sha256');
let n = 0;
const c = require('net').connect(+process.argv[2], process.argv[1]);
c.on('data', (d) => { n += d.length; h.update(d); });
c.on('end', () => console.log(n + ' ' + h.digest('hex')));
c.on('error', (e) => console.log('error ' + e.code));
`;
const BULK_SIZE = 8 << 20;

function startSwitch(): Promise<number> {
  const argv = talariaArgv(['softswitch', '--ports', 'swn1,swn2', '--grpc-addr', '127.0.0.1:0', '--insecure-plaintext', '--device-id', '1', '--netns', cluster.switchNetns, '--pin-dir', `${h.pinRoot}/switch`]);
  sw = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const child = sw;
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`softswitch did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /P4Runtime server for device 1 on [\d.]+:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`softswitch exited with ${code}: ${err}`));
    });
  });
}

async function write(type: 'INSERT' | 'MODIFY' | 'DELETE', entities: Entity[]): Promise<void> {
  await p4!.write(entities.map((entity) => ({ type, entity })), { atomicity: 'ROLLBACK_ON_ERROR' });
}

const skip = (!existsSync(SWITCH_OBJECT) && 'build/bpf/switch.bpf.o not built (make -C bpf)') || (process.getuid?.() !== 0 && 'needs root');

describe('node agents with the software switch', { skip, timeout: 240_000 }, () => {
  before(async () => {
    await cluster.up(2, { forward: false });
    pods.a = await cluster.addPod('a', 1, 2);
    pods.b = await cluster.addPod('b', 1, 3);
    pods.c = await cluster.addPod('c', 2, 2);
    await h.startApi();
    for (const f of [CROSS, SAME, HAIRPIN, TWO, BULK]) {
      await h.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${f.id}`, namespace: 'default' }, spec: { clusterIP: f.vip, clusterIPs: [f.vip], ports: [{ name: 'echo', port: f.port, protocol: 'TCP', targetPort: 9000 }] } });
      const eps = { 1: [pods.c], 2: [pods.b], 3: [pods.a], 4: [pods.b, pods.c], 5: [pods.c] }[f.id]!;
      await h.api.create({
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `svc-${f.id}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': `svc-${f.id}` } },
        addressType: 'IPv4', ports: [{ name: 'echo', port: f === BULK ? 9100 : 9000, protocol: 'TCP' }],
        endpoints: eps.map((p) => ({ addresses: [p!.ip], nodeName: `node-${p!.node}`, conditions: { ready: true } })),
      });
    }
    const port = await startSwitch();
    p4 = new P4RuntimeClient({ address: `127.0.0.1:${port}`, deviceId: 1, electionId: 10 });
    await p4.connect();
    await p4.arbitrate();
    await p4.setPipeline(talariaP4Info(), { cookie: 1 });
    const entities: Entity[] = [];
    for (const n of cluster.nodes) entities.push(e.route(`10.244.${n.index}.0/24`, { kind: 'to_port', port: n.index, dstMac: n.uplinkMac }));
    // backend ids: 10 + pod slot per node (a=12, b=13, c=22)
    const bid = (p: MiniPod): number => p.node * 10 + Number(p.ip.split('.')[3]);
    let member = 100;
    for (const f of [CROSS, SAME, HAIRPIN, TWO, BULK]) {
      const eps = { 1: [pods.c], 2: [pods.b], 3: [pods.a], 4: [pods.b, pods.c], 5: [pods.c] }[f.id]!;
      const tport = f === BULK ? 9100 : 9000;
      const members: Array<[number, number]> = [];
      for (const p of eps) {
        entities.push(e.member(++member, bid(p!), p!.ip, tport));
        members.push([member, 1]);
      }
      entities.push(e.group(f.id, members, 16));
      entities.push(e.frontend(f.vip, f.port, 6, f.id), e.backendSelect(f.id, { groupId: f.id }), e.reverseNat(f.id, f.vip, f.port));
      for (const p of eps) entities.push(e.backend(f.id, bid(p!), p!.ip, tport));
    }
    // Members and groups first, then the tables that use them.
    await write('INSERT', entities.filter((x) => x.action_profile_member));
    await write('INSERT', entities.filter((x) => x.action_profile_group));
    await write('INSERT', entities.filter((x) => x.table_entry));
    await h.startAgent(1);
    await h.startAgent(2);
    for (const p of [pods.a!, pods.b!, pods.c!]) await h.echoServer(p, 9000).next(/listening/);
    const bulk = cluster.start(pods.c!.netns, [process.execPath, '-e', BULK_SERVER, String(BULK_SIZE)]);
    await new Promise((r) => bulk.stdout!.once('data', r));
  });

  after(async () => {
    await p4?.close().catch(() => undefined);
    if (sw && sw.exitCode === null) {
      const exited = new Promise((r) => sw!.once('exit', r));
      sw.kill('SIGTERM');
      await exited;
    }
    await h.stop();
  });

  for (const [name, f, backend] of [
    ['pod -> ClusterIP, backend on another node', CROSS, 'c'],
    ['pod -> ClusterIP, backend on the same node', SAME, 'b'],
    ['pod -> ClusterIP, backend is the pod itself (hairpin)', HAIRPIN, 'a'],
  ] as const) {
    it(name, async () => {
      const c = h.client(pods.a!, f.vip, f.port, 3);
      await c.lines.next(/^connected 3 0/);
      assert.deepEqual(await c.roundTrip(), [3, 0]); // ARP and the first NEW are behind us
      const ev1 = h.events('node-1');
      const bridges = await Promise.all(cluster.nodes.map((n) => cluster.packets(n.netns, 'cni0')));
      for (let i = 0; i < 3; i++) assert.deepEqual(await c.roundTrip(), [3, 0]);
      const after1 = h.events('node-1');
      const bridgeDelta = (await Promise.all(cluster.nodes.map((n) => cluster.packets(n.netns, 'cni0')))).map((v, i) => v - bridges[i]!);
      assert.ok(bridgeDelta.every((d) => d <= 4), `cni0 moved by ${bridgeDelta.join(', ')} packets`);
      assert.ok(after1.pod_pinned - ev1.pod_pinned >= 9, 'requests went PINNED');
      assert.ok(ev1.pod_new >= 3, 'first packets went NEW');
      assert.ok(after1.up_to_client - ev1.up_to_client >= 3, 'replies came back as TO_CLIENT');
      const backendNode = `node-${pods[backend]!.node}`;
      assert.ok(h.events(backendNode).pod_reply > 0, `${backendNode} sent REPLY`);
      if (backend === 'a') assert.ok(after1.hairpin - ev1.hairpin >= 3, 'hairpin source rewrite');
      for (const n of cluster.nodes) assert.deepEqual(await h.conntrackEntries(n.netns, [f.vip, pods.a!.ip]), [], `conntrack in ${n.name}`);
    });
  }

  it('pinned connections keep their backend when it leaves the selection; new ones avoid it', async () => {
    const c = h.client(pods.a!, TWO.vip, TWO.port, 40);
    await c.lines.next(/^connected 40 0/);
    assert.deepEqual(await c.roundTrip(), [40, 0]);
    const conns = [...h.agent('node-1').datapath.conns.entries()].filter(([k]) => k.daddr === TWO.vip);
    assert.equal(conns.length, 40);
    const onB = conns.filter(([, v]) => v.backend_id === 13).length;
    assert.ok(onB > 0 && onB < 40, `spread over both backends (${onB} on b)`);
    // Scale-down: b leaves the selector group but keeps its backends entry.
    const memberB = 100 + [CROSS, SAME, HAIRPIN].length + 1; // TWO's first member is b
    await write('MODIFY', [e.group(TWO.id, [[memberB + 1, 1]], 16)]);
    for (let i = 0; i < 3; i++) assert.deepEqual(await c.roundTrip(), [40, 0], 'pinned connections unharmed');
    const fresh = h.client(pods.a!, TWO.vip, TWO.port, 20);
    await fresh.lines.next(/^connected 20 0/);
    assert.deepEqual(await fresh.roundTrip(), [20, 0]);
    const after = [...h.agent('node-1').datapath.conns.entries()].filter(([k, v]) => k.daddr === TWO.vip && !conns.some(([o]) => o.sport === k.sport) && v.backend_id === 13);
    assert.deepEqual(after, [], 'no new connection went to the removed backend');
  });

  it('an 8 MB download through a ClusterIP arrives intact (TSO/GRO with the shim)', async () => {
    const out = await cluster.run(pods.a!.netns, [process.execPath, '-e', BULK_CLIENT, BULK.vip, String(BULK.port)], 60_000);
    const expected = expectedDigest(BULK_SIZE);
    assert.equal(out.trim(), `${BULK_SIZE} ${expected}`);
  });

  it('restarting both agents in the middle of 100 live service connections breaks none', async () => {
    const c = h.client(pods.a!, TWO.vip, TWO.port, 100);
    await c.lines.next(/^connected 100 0/);
    assert.deepEqual(await c.roundTrip(), [100, 0]);
    for (const node of [1, 2]) {
      await h.agent(`node-${node}`).stop();
      assert.deepEqual(await c.roundTrip(), [100, 0], 'served while the agent is down');
      await h.startAgent(node);
      assert.deepEqual(await c.roundTrip(), [100, 0], 'served after the restart');
    }
  });
});

function expectedDigest(size: number): string {
  const chunk = Buffer.alloc(65536);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + 3) & 255;
  const hash = createHash('sha256');
  for (let left = size; left > 0; left -= chunk.length) hash.update(chunk.subarray(0, Math.min(left, chunk.length)));
  return hash.digest('hex');
}
