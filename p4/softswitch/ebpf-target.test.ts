// The eBPF target beyond packets: all-or-nothing updates, restart from the
// pinned maps (Read returns what was installed), counters, pipeline checks.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { runProgram, TC_ACT } from '../../bpf/loader/index.js';
import { buildPacket, parsePacket } from '../../bpf/testing/packet-builder.js';
import { TalariaKind } from '../../bpf/layouts/shim.js';
import { P4InfoIndex } from '../p4info/p4info.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import { validateEntity } from '../server/validate.js';
import { TargetError } from '../server/target.js';
import { Code } from '../proto/codes.js';
import { SWITCH_OBJECT, SwitchDatapath } from './datapath.js';
import { EbpfTarget } from './ebpf-target.js';
import { flowHash } from './flow-hash.js';
import { buildMaglevTable } from '../maglev/maglev.js';
import { MapTransaction } from './map-transaction.js';
import { SoftswitchFixture } from './softswitch-fixture.js';

const skip = !existsSync(SWITCH_OBJECT) && 'build/bpf/switch.bpf.o not built (make -C bpf)';
const PIN_DIR = `/sys/fs/bpf/talaria/test-softswitch-${process.pid}`;

describe('eBPF target', { skip }, () => {
  const opened: SoftswitchFixture[] = [];
  after(() => {
    for (const f of opened) f.close({ removePins: true });
    // Whatever a failed test left pinned (a load that threw never got to close()).
    for (const dir of [PIN_DIR, `${PIN_DIR}-stale`]) rmSync(dir, { recursive: true, force: true });
  });
  const fixture = async (pinDir?: string) => {
    const f = await SoftswitchFixture.create(pinDir ? { pinDir } : {});
    opened.push(f);
    return f;
  };

  test('a failed map write rolls back the writes before it', async () => {
    const sw = await fixture();
    const maps = sw.datapath.maps;
    maps.reverse_nat.update(5, { addr: '10.96.0.5', port: 80, counter: 0 });
    const tx = new MapTransaction();
    tx.put(maps.reverse_nat, 5, { addr: '10.96.0.6', port: 81, counter: 0 });
    tx.insert(maps.reverse_nat, 6, { addr: '10.96.0.7', port: 82, counter: 0 });
    assert.throws(() => tx.put(maps.members, 1 << 30, { backend_id: 1, addr: '1.1.1.1', port: 1, valid: 1, member_id: 1 }));
    assert.deepEqual(tx.rollback(), []);
    assert.deepEqual(maps.reverse_nat.lookup(5), { addr: '10.96.0.5', port: 80, counter: 0 });
    assert.equal(maps.reverse_nat.lookup(6), undefined);
  });

  test('a group update that cannot be applied leaves the group as it was', async () => {
    const sw = await fixture();
    const e = sw.entities;
    await sw.write('INSERT', e.member(1, 11, '10.244.2.5', 80));
    await sw.write('INSERT', e.group(9, [[1, 1]]));
    const before = sw.datapath.maps.group_luts.lookup(9);
    await assert.rejects(sw.write('MODIFY', e.group(9, [[1, 1], [77, 1]]), e.group(9, [[1, 1]])), (err: unknown) => err instanceof TargetError && err.code === Code.NOT_FOUND);
    assert.deepEqual(sw.datapath.maps.group_luts.lookup(9), before);
    assert.deepEqual([...sw.datapath.maps.group_members.keys()], [{ group_id: 9, member_id: 1 }]);
  });

  test('an entry that does not fit is RESOURCE_EXHAUSTED and leaves nothing behind', async () => {
    const sw = await fixture();
    const e = sw.entities;
    // A target whose Maglev tables have 7 slots cannot hold a group of 8.
    const small = new EbpfTarget({ datapath: sw.datapath, maglevSize: 7 });
    await small.setPipeline({ p4info: talariaP4Info(), cookie: '1' }, false);
    const info = talariaP4Info();
    const apply = (type: 'INSERT', ent: ReturnType<typeof e.member>) => small.apply({ type, entity: validateEntity(info, ent, true) }, undefined as never);
    const members = Array.from({ length: 8 }, (_, i) => [i + 1, 1] as const);
    for (const [id] of members) await apply('INSERT', e.member(id, id, '10.244.2.5', 80));
    await assert.rejects(apply('INSERT', e.group(1, members)), (err: unknown) => err instanceof TargetError && err.code === Code.RESOURCE_EXHAUSTED);
    assert.equal(sw.datapath.maps.group_luts.lookup(1), undefined);
    assert.equal([...sw.datapath.maps.group_members.keys()].length, 0);
  });

  test('a large group gets a larger Maglev table, and packets follow it', async () => {
    const sw = await fixture();
    const e = sw.entities;
    sw.setPort(2, 12);
    await sw.write('INSERT', e.route('10.244.0.0/16', { kind: 'to_port', port: 2, dstMac: 'aa:00:00:00:00:02' }));
    const members = Array.from({ length: 60 }, (_, i) => [i + 1, 1 + (i % 3)] as const);
    for (const [id] of members) await sw.write('INSERT', e.member(id, 1000 + id, `10.244.3.${id}`, 80));
    await sw.write('INSERT', e.group(5, members, 256));
    await sw.write('INSERT', e.frontend('10.96.0.50', 80, 6, 50));
    await sw.write('INSERT', e.backendSelect(50, { groupId: 5 }));
    const lut = sw.datapath.maps.group_luts.lookup(5)!;
    assert.equal(lut.size, 2039, '60 members: 2039 slots');
    const table = buildMaglevTable(members.map(([id, w]) => ({ key: String(id), weight: w })), 2039);
    for (let i = 0; i < 32; i++) {
      const sport = 10000 + i * 31;
      const res = runProgram(sw.datapath.program, buildPacket({ ipv4: { src: '10.244.1.2', dst: '10.96.0.50', shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, tcp: { sport, dport: 80, flags: ['SYN'] } }));
      const want = 1000 + members[table[flowHash({ saddr: '10.244.1.2', daddr: '10.96.0.50', sport, dport: 80, proto: 6 }) % 2039]!]![0];
      assert.equal(parsePacket(res.packet).ipv4?.shim?.backendId, want, `sport ${sport}`);
    }
  });

  test('a restarted target reads every installed entity back from the pinned maps, and keeps forwarding', async () => {
    const sw = await fixture(PIN_DIR);
    const e = sw.entities;
    const installed = [
      e.member(1, 101, '10.244.2.5', 8080),
      e.member(2, 102, '10.244.2.6', 8080),
      e.group(70, [[1, 2], [2, 1]], 16),
      e.frontend('10.96.0.10', 80, 6, 7, 3),
      e.backendSelect(7, { groupId: 70 }),
      e.frontend('10.96.0.10', 53, 17, 8),
      e.backendSelect(8, { memberId: 2 }),
      e.backend(7, 101, '10.244.2.5', 8080),
      e.reverseNat(7, '10.96.0.10', 80),
      e.route('10.244.2.0/24', { kind: 'to_port', port: 2, dstMac: 'aa:00:00:00:00:02' }),
      e.route('0.0.0.0/0', { kind: 'to_external', port: 3, dstMac: 'aa:00:00:00:00:03' }),
      e.route('192.0.2.0/24', { kind: 'drop' }),
    ];
    for (const ent of installed) await sw.write('INSERT', ent);
    sw.setPort(2, 12);
    sw.datapath.close(); // the process ends; the pins stay

    const datapath = SwitchDatapath.load({ pinDir: PIN_DIR });
    const target = new EbpfTarget({ datapath });
    try {
      const restored = await target.restore();
      assert.ok(restored, 'a committed pipeline is reported');
      assert.equal(restored.cookie, '1');
      const info = new P4InfoIndex(restored.p4info);
      const canon = (ents: typeof installed) => ents.map((x) => JSON.stringify(validateEntity(info, x, true).entity)).sort();
      assert.deepEqual(canon([...restored.entities]), canon(installed));
      const res = runProgram(datapath.program, buildPacket({ ipv4: { src: '10.244.1.2', dst: '10.96.0.10', shim: { kind: TalariaKind.PINNED, frontendId: 7, backendId: 101 } }, tcp: { sport: 1, dport: 80 } }));
      assert.equal(res.verdict, TC_ACT.REDIRECT, 'forwarding state survived');
      // Allocators were rebuilt: a new entry gets its own counter slot.
      await target.setPipeline({ p4info: talariaP4Info(), cookie: '2' }, true);
      const slots = [...datapath.maps.frontends.entries()].map(([, v]) => v.counter);
      await target.apply({ type: 'INSERT', entity: validateEntity(talariaP4Info(), sw.entities.frontend('10.96.0.11', 80, 6, 9), true) }, undefined as never);
      const fresh = datapath.maps.frontends.lookup({ addr: '10.96.0.11', port: 80, proto: 6 });
      assert.ok(fresh && !slots.includes(fresh.counter), `new slot ${fresh?.counter} vs ${slots.join(',')}`);
    } finally {
      datapath.close({ removePins: true });
    }
    assert.equal(existsSync(PIN_DIR), false);
  });

  test('a pin left by an older layout is replaced, not fatal', () => {
    const dir = `${PIN_DIR}-stale`;
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('bpftool', ['map', 'create', `${dir}/frontends`, 'type', 'hash', 'key', '4', 'value', '4', 'entries', '16', 'name', 'frontends']);
    const d = SwitchDatapath.load({ pinDir: dir });
    try {
      assert.equal(d.maps.frontends.info.keySize, 8);
    } finally {
      d.close({ removePins: true });
    }
    assert.equal(existsSync(dir), false);
  });

  test('a P4Info of another program is refused with the mismatch named', async () => {
    const sw = await fixture();
    const msg = structuredClone(talariaP4Info().message);
    msg.tables = msg.tables!.filter((t) => t.preamble.alias !== 'reverse_nat' && !t.preamble.name.endsWith('reverse_nat'));
    await assert.rejects(sw.target.setPipeline({ p4info: new P4InfoIndex(msg), cookie: '0' }, false), (err: unknown) => {
      return err instanceof TargetError && err.code === Code.INVALID_ARGUMENT && /reverse_nat/.test(err.message);
    });
  });

  test('counters are read back per entry', async () => {
    const sw = await fixture();
    const e = sw.entities;
    sw.setPort(2, 12);
    await sw.write('INSERT', e.route('10.244.2.0/24', { kind: 'to_port', port: 2, dstMac: 'aa:00:00:00:00:02' }));
    await sw.write('INSERT', e.route('10.244.3.0/24', { kind: 'to_port', port: 2, dstMac: 'aa:00:00:00:00:02' }));
    const pkt = buildPacket({ ipv4: { src: '10.244.1.2', dst: '10.244.2.9' }, udp: { sport: 1, dport: 2, payload: 'abcd' } });
    for (let i = 0; i < 3; i++) runProgram(sw.datapath.program, pkt);
    const info = talariaP4Info();
    const entries = [e.route('10.244.2.0/24', { kind: 'drop' }), e.route('10.244.3.0/24', { kind: 'drop' })].map((x) => validateEntity(info, x, true));
    const counts = await sw.target.readCounters(info.table('routes'), entries as never);
    assert.deepEqual(counts, [
      { packets: 3n, bytes: BigInt(3 * pkt.length) },
      { packets: 0n, bytes: 0n },
    ]);
  });
});
