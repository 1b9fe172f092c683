// The controller against the real software switch target (the eBPF maps of
// bpf/switch.bpf.c behind the P4Runtime server; no ports attached): what the
// controller writes is accepted by the target, read back identically, and a
// restart of the controller writes nothing. Skipped without root or without
// build/bpf/switch.bpf.o (make -C bpf ../build/bpf/switch.bpf.o).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { SWITCH_OBJECT, SwitchDatapath } from '../p4/softswitch/datapath.js';
import { EbpfTarget } from '../p4/softswitch/ebpf-target.js';
import { Registry } from 'prom-client';
import { runProgram, TC_ACT } from '../bpf/loader/index.js';
import { P4RuntimeServer } from '../p4/server/server.js';
import { ClusterState } from './cluster-state.js';
import { ControllerMetrics } from './metrics.js';
import { Syncer } from './syncer.js';
import { EntityCodec } from './switch/codec.js';
import { SwitchConnection } from './switch/connection.js';
import { NODE_SWITCH_PORT, assertMinimalDisruption, describeFigures, measureDisruption } from './switch/disruption-scenario.js';
import { Harness, p4info, until } from './test-harness.js';
import type { GroupEntity, MemberEntity } from './desired/entities.js';
import { LOOKUP_SLOTS } from './desired/lookup-groups.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(SWITCH_OBJECT) ? `${SWITCH_OBJECT} not built` : false;

void describe('controller against the eBPF software switch target', { skip }, () => {
  const datapaths: SwitchDatapath[] = [];
  const h = new Harness(() => {
    const datapath = SwitchDatapath.load();
    datapaths.push(datapath);
    return new EbpfTarget({ datapath });
  });
  before(() => h.start());
  after(async () => {
    await h.stop();
    for (const d of datapaths) d.close();
  });

  void it('programs, scales and survives a controller restart without rewriting', async () => {
    await h.node('node-1', 1);
    await h.service('web', '10.96.0.10', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] });
    await h.slice('web', ['10.244.1.5', '10.244.1.6', '10.244.1.7']);
    const a = await h.controller();
    await until('programmed', async () => (await h.switchState()).has('frontend 198.18.0.1 30080 TCP'));
    // Backends are keyed by frontend id; the API server's `kubernetes` Service has one too.
    const web = ((await h.switchState()).get('frontend 198.18.0.1 30080 TCP') as { frontendId: number }).frontendId;
    await h.slice('web', ['10.244.1.5'], ['10.244.1.6']);
    await until('scaled down', async () => !(await h.switchState()).has(`backend ${web} 3`));
    const s = await h.switchState();
    const group = s.get('group 1') as GroupEntity;
    assert.equal(group.members.length, LOOKUP_SLOTS, 'a NodePort Service selects through a lookup group');
    assert.deepEqual(new Set(group.members.map((m) => (s.get(`member ${m}`) as MemberEntity).backendId)), new Set([1]), 'every slot on the one ready backend');
    assert.ok(s.has(`backend ${web} 2`), 'terminating backend kept for pinned connections');
    await h.stopController(a);
    const b = await h.controller();
    await until('b synced', () => b.syncer.lastStats !== undefined);
    assert.equal(b.syncer.lastStats?.inserts, 0);
    assert.equal(b.syncer.lastStats?.modifies, 0);
    assert.equal(b.syncer.lastStats?.deletes, 0);
    assert.deepEqual(await h.switchState(), s);
    await h.stopController(b);
  });

  void it('outside clients: a backend joining and leaving a NodePort Service moves only its own share of flows', async () => {
    const datapath = SwitchDatapath.load();
    datapaths.push(datapath);
    datapath.maps.ports.update(NODE_SWITCH_PORT, { ifindex: 11 });
    const server = new P4RuntimeServer({ deviceId: 1, target: new EbpfTarget({ datapath }) });
    const address = `127.0.0.1:${await server.start('127.0.0.1:0')}`;
    const state = new ClusterState();
    const syncer = new Syncer({ state, codec: new EntityCodec(p4info), metrics: new ControllerMetrics(new Registry()) });
    const conn = new SwitchConnection({ address, deviceId: 1n, electionId: 10n, p4info, retryMs: 100, onUp: (sw) => syncer.attach(sw), onDown: () => syncer.detach() });
    try {
      conn.start();
      await until('a session', () => syncer.attached);
      const figures = await measureDisruption({
        state,
        sync: () => syncer.sync(),
        send: (frame) => {
          const r = runProgram(datapath.program, frame);
          return Promise.resolve(r.verdict === TC_ACT.REDIRECT ? r.packet : undefined);
        },
      });
      process.stdout.write(`${describeFigures('eBPF switch', figures)}\n`);
      assertMinimalDisruption('eBPF switch', figures);
    } finally {
      await conn.stop();
      await server.stop(100);
    }
  });
});
