// The switch's packet cases (p4/switch-cases/) on bpf/switch.bpf.c through
// BPF_PROG_TEST_RUN, with the tables written through the eBPF target as
// P4Runtime entities; then what only the eBPF switch shows: drop and pass
// reasons counted, Maglev selection predicted exactly, group changes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runProgram, TC_ACT } from '../../bpf/loader/index.js';
import { buildPacket, parsePacket } from '../../bpf/testing/packet-builder.js';
import { TalariaKind } from '../../bpf/layouts/shim.js';
import { DROP_REASONS, PASS_REASONS } from '../../bpf/layouts/switch-maps.js';
import { SWITCH_OBJECT } from './datapath.js';
import { flowHash } from './flow-hash.js';
import { buildMaglevTable } from '../maglev/maglev.js';
import { SoftswitchFixture } from './softswitch-fixture.js';
import { BACKENDS, CASES, CLIENT, EXTERNAL, GROUP70, MEMBER_BACKEND, TCP, VIP, caseEntities, tcp } from '../switch-cases/cases.js';
import { checkOutcome, portOfDestinationMac } from '../switch-cases/check.js';

const IFINDEX = { 1: 11, 2: 12, 3: 13 } as const;

/** The index of a drop or pass reason by its name (the C enum's value). */
function reasonIndex(names: Readonly<Record<number, string>>, name: string): number {
  const hit = Object.entries(names).find(([, n]) => n === name);
  if (!hit) throw new Error(`no reason named ${name}`);
  return Number(hit[0]);
}
/** The backend the eBPF switch picks for a NEW flow to a frontend of group 70 (VIP unless named): Maglev, predicted in TypeScript. */
function predictedBackend(t: { saddr: string; sport: number; daddr?: string }): 101 | 102 {
  const table = buildMaglevTable(GROUP70.map(([m, w]) => ({ key: String(m), weight: w })));
  const slot = flowHash({ saddr: t.saddr, daddr: t.daddr ?? VIP, sport: t.sport, dport: 80, proto: TCP }) % table.length;
  return MEMBER_BACKEND[GROUP70[table[slot]!]![0]] as 101 | 102;
}

const skip = !existsSync(SWITCH_OBJECT) && 'build/bpf/switch.bpf.o not built (make -C bpf)';

describe('software switch pipeline (BPF_PROG_TEST_RUN)', { skip }, () => {
  let sw: SoftswitchFixture;

  before(async () => {
    sw = await SoftswitchFixture.create();
    for (const p of [1, 2, 3] as const) sw.setPort(p, IFINDEX[p]);
    sw.datapath.setLocalAddresses(['198.18.0.1']);
    for (const entity of caseEntities(sw.entities)) await sw.write('INSERT', entity);
  });

  after(() => sw?.close());

  for (const c of CASES) {
    test(c.name, () => {
      const spec = c.packet();
      const input = Buffer.isBuffer(spec) ? spec : buildPacket(spec);
      const want = c.expect();
      const reason = want.verdict === 'drop' ? reasonIndex(DROP_REASONS, want.reason) : want.verdict === 'pass' ? reasonIndex(PASS_REASONS, want.reason) : -1;
      const before = want.verdict === 'drop' ? sw.drops(reason) : want.verdict === 'pass' ? sw.passes(reason) : 0n;
      const res = runProgram(sw.datapath.program, input);
      const sent = res.verdict === TC_ACT.REDIRECT ? [{ port: portOfDestinationMac(res.packet) ?? 0, frame: res.packet }] : [];
      checkOutcome(want, input, sent, { predict: (pick) => predictedBackend(pick.flow) });
      if (want.verdict === 'drop') {
        assert.equal(res.verdict, TC_ACT.SHOT);
        assert.equal(sw.drops(reason), before + 1n, `drop reason ${want.reason} counted`);
      } else if (want.verdict === 'pass') {
        assert.equal(res.verdict, TC_ACT.OK);
        assert.equal(sw.passes(reason), before + 1n, `pass reason ${want.reason} counted`);
        assert.deepEqual(res.packet, input, 'a passed packet is untouched');
      }
    });
  }

  test('NEW flows spread over the group exactly as the TypeScript Maglev predicts', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const sport = 20000 + i * 7;
      const res = runProgram(sw.datapath.program, buildPacket({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(sport, 80) }));
      const shim = parsePacket(res.packet).ipv4?.shim;
      assert.equal(shim?.backendId, predictedBackend({ saddr: CLIENT, sport }), `sport ${sport}`);
      seen.add(shim!.backendId);
    }
    assert.deepEqual([...seen].sort(), [101, 102]);
  });

  test('ClientIP affinity: every connection of one client lands on the same backend', async () => {
    await sw.write('INSERT', sw.entities.frontend(VIP, 8443, TCP, 12, 0x2));
    await sw.write('INSERT', sw.entities.backendSelect(12, { groupId: 70 }));
    const picks = new Set<number>();
    for (let i = 0; i < 32; i++) {
      const res = runProgram(sw.datapath.program, buildPacket({ ipv4: { src: EXTERNAL, dst: VIP }, ...tcp(30000 + i * 13, 8443) }));
      picks.add(parsePacket(res.packet).ipv4!.shim!.backendId);
    }
    assert.equal(picks.size, 1, `one backend for one client, got ${[...picks].join(',')}`);
    const table = buildMaglevTable(GROUP70.map(([m, w]) => ({ key: String(m), weight: w })));
    const slot = flowHash({ saddr: EXTERNAL, daddr: VIP, sport: 1, dport: 8443, proto: TCP }, { clientIp: true }) % table.length;
    assert.deepEqual([...picks], [MEMBER_BACKEND[GROUP70[table[slot]!]![0]]]);
  });

  test('ClientIP affinity from a Talaria host: NEW hashes the whole 5-tuple (the host keeps affinity and its timeout)', () => {
    // Frontend 12 (affinity) and its group were installed by the previous test.
    const picks = new Set<number>();
    for (let i = 0; i < 32; i++) {
      const res = runProgram(sw.datapath.program, buildPacket({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, ...tcp(30000 + i * 13, 8443) }));
      picks.add(parsePacket(res.packet).ipv4!.shim!.backendId);
    }
    assert.ok(picks.size > 1, `a host's new connections after the affinity expired must spread, all went to ${[...picks].join(',')}`);
  });

  test('direct counters count hits per entry', async () => {
    const before = (await sw.target.readCounters(sw.entities.p4info.table('reverse_nat'), [])).length;
    assert.equal(before, 0);
    const res = runProgram(sw.datapath.program, buildPacket({ ipv4: { src: BACKENDS[101].addr, dst: CLIENT, shim: { kind: TalariaKind.REPLY, frontendId: 8, backendId: 101 } }, udp: { sport: 5353, dport: 5000, payload: 'abc' } }));
    assert.equal(res.verdict, TC_ACT.REDIRECT);
    const fid8 = [...sw.datapath.maps.reverse_nat.entries()].find(([k]) => k === 8)![1];
    const c = (sw.datapath.maps.reverse_nat_counters.lookup(fid8.counter) ?? []).reduce((s, x) => s + x.packets, 0n);
    assert.ok(c >= 1n);
  });

  test('a group change takes effect at once: removing a member moves only its flows', async () => {
    const e = sw.entities;
    const flows = Array.from({ length: 64 }, (_, i) => 30000 + i);
    const pick = (sport: number) =>
      parsePacket(runProgram(sw.datapath.program, buildPacket({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(sport, 80) })).packet).ipv4!.shim!.backendId;
    await sw.write('INSERT', e.member(4, 103, BACKENDS[103].addr, 8080));
    await sw.write('MODIFY', e.group(70, [[1, 1], [2, 1], [4, 1]], 16), e.group(70, GROUP70, 16));
    const three = flows.map(pick);
    assert.ok(three.includes(103), 'the new member gets flows');
    await sw.write('MODIFY', e.group(70, GROUP70, 16), e.group(70, [[1, 1], [2, 1], [4, 1]], 16));
    const two = flows.map(pick);
    // Maglev moves the leaving member's flows and only a few others.
    const stayed = flows.filter((_, i) => three[i] !== 103 && two[i] === three[i]).length;
    const remaining = three.filter((b) => b !== 103).length;
    assert.ok(stayed >= remaining * 0.8, `${stayed} of ${remaining} flows of the remaining members stayed`);
    assert.deepEqual(two, flows.map((sport) => predictedBackend({ saddr: CLIENT, sport })));
  });
});
