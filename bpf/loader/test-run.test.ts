// BPF_PROG_TEST_RUN on packets from the packet builder: verdicts, rewritten
// packets, map side effects, and the kernel's run-time stats.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TalariaKind, talariaShimCodec } from '../layouts/shim.js';
import { buildPacket, describePacket, parsePacket } from '../testing/packet-builder.js';
import type { PacketSpec } from '../testing/packet-builder.js';
import { bpfObjectPath } from '../testing/paths.js';
import { structCodec, u32, u64 } from './codec.js';
import { BpfObject } from './object.js';
import { enableBpfStats, programStats } from './stats.js';
import { runProgram, TC_ACT } from './test-run.js';

const v4 = { src: '10.244.1.2', dst: '10.96.0.10' };

// ttl_or_drop: UDP to port 9 -> drop; other IPv4 -> TTL - 1 (checksum fixed); rest untouched.
const cases: Array<{ name: string; input: PacketSpec; verdict: number; output: PacketSpec | 'same' }> = [
  { name: 'UDP to the discard port is dropped', input: { ipv4: v4, udp: { sport: 1234, dport: 9, payload: 'x' } }, verdict: TC_ACT.SHOT, output: 'same' },
  { name: 'TCP over IPv4 loses one TTL', input: { ipv4: { ...v4, ttl: 64 }, tcp: { sport: 40000, dport: 80, flags: ['SYN'] } }, verdict: TC_ACT.OK, output: { ipv4: { ...v4, ttl: 63 }, tcp: { sport: 40000, dport: 80, flags: ['SYN'] } } },
  { name: 'UDP to another port loses one TTL', input: { ipv4: { ...v4, ttl: 2 }, udp: { sport: 1, dport: 53, payload: 'q' } }, verdict: TC_ACT.OK, output: { ipv4: { ...v4, ttl: 1 }, udp: { sport: 1, dport: 53, payload: 'q' } } },
  { name: 'TTL 1 is left alone', input: { ipv4: { ...v4, ttl: 1 }, icmp: { type: 8 } }, verdict: TC_ACT.OK, output: 'same' },
  {
    name: 'a shim packet keeps its option and loses one TTL',
    input: { ipv4: { ...v4, shim: { kind: TalariaKind.PINNED, frontendId: 11, backendId: 22 } }, tcp: { sport: 5, dport: 6 } },
    verdict: TC_ACT.OK,
    output: { ipv4: { ...v4, ttl: 63, shim: { kind: TalariaKind.PINNED, frontendId: 11, backendId: 22 } }, tcp: { sport: 5, dport: 6 } },
  },
  { name: 'IPv6 passes untouched', input: { ipv6: { src: 'fd00::1', dst: 'fd00::2' }, udp: { sport: 1, dport: 9 } }, verdict: TC_ACT.OK, output: 'same' },
  { name: 'ARP passes untouched', input: { eth: { type: 0x0806 }, payload: Buffer.alloc(28, 1) }, verdict: TC_ACT.OK, output: 'same' },
];

describe('runProgram (BPF_PROG_TEST_RUN)', () => {
  let obj: BpfObject;
  before(() => {
    obj = BpfObject.open(bpfObjectPath('test_counter'));
  });
  after(() => obj?.close());

  for (const c of cases) {
    it(c.name, () => {
      const input = buildPacket(c.input);
      const res = runProgram(obj.program('ttl_or_drop'), input);
      assert.equal(res.verdict, c.verdict);
      const expected = c.output === 'same' ? input : buildPacket(c.output);
      assert.equal(describePacket(res.packet), describePacket(expected));
      assert.deepEqual(res.packet, expected);
      const parsed = parsePacket(res.packet);
      if (parsed.ipv4) assert.equal(parsed.ipv4.checksumOk, true, 'IPv4 header checksum after the program');
    });
  }

  it('has side effects on maps: the drop counter and the last shim seen', () => {
    const drops = obj.perCpuMap('percpu_drops', u32, u64);
    const total = (): bigint => drops.get(1).reduce((a, b) => a + b, 0n);
    const before = total();
    runProgram(obj.program('ttl_or_drop'), buildPacket({ ipv4: v4, udp: { sport: 1, dport: 9 } }), { repeat: 3 });
    assert.equal(total(), before + 3n);

    runProgram(obj.program('ttl_or_drop'), buildPacket({ ipv4: { ...v4, shim: { kind: TalariaKind.NEW, frontendId: 0xabcdef, backendId: 0 } }, tcp: { sport: 1, dport: 2 } }));
    const shim = obj.map('last_shim', u32, talariaShimCodec).get(0);
    assert.deepEqual(shim, { type: 0x9e, len: 12, ver_kind: 0x11, flags: 0, frontend_id: 0xabcdef, backend_id: 0 });
  });

  it('counts crafted packets per protocol with count_packets', () => {
    const counters = obj.map(
      'counters',
      structCodec({ name: 'counter_key', size: 4, fields: { eth_proto: [0, 'be16'], ip_proto: [2, 'u8'] } }),
      structCodec({ name: 'counter_value', size: 16, fields: { packets: [0, 'u64'], bytes: [8, 'u64'] } }),
    );
    counters.clear();
    const frame = buildPacket({ ipv4: v4, tcp: { sport: 1, dport: 2, payload: 'hello' } });
    const res = runProgram(obj.program('count_packets'), frame, { repeat: 4 });
    assert.equal(res.verdict, TC_ACT.OK);
    assert.deepEqual(counters.get({ eth_proto: 0x0800, ip_proto: 6 }), { packets: 4n, bytes: BigInt(4 * frame.length) });
  });

  it('reports the duration, and the run count in the kernel stats while they are on', () => {
    const stats = enableBpfStats();
    try {
      const prog = obj.program('ttl_or_drop');
      const before = programStats(prog);
      const res = runProgram(prog, buildPacket({ ipv4: v4, tcp: { sport: 1, dport: 2 } }), { repeat: 100 });
      assert.ok(Number.isInteger(res.durationNs) && res.durationNs >= 0);
      const afterStats = programStats(prog);
      assert.equal(afterStats.runCount - before.runCount, 100);
      assert.ok(afterStats.runTimeNs >= before.runTimeNs);
      assert.equal(afterStats.name, 'ttl_or_drop');
    } finally {
      stats.close();
    }
  });

  it('names the program when the kernel refuses the run', () => {
    assert.throws(() => runProgram(obj.program('ttl_or_drop'), Buffer.alloc(4)), /bpf_prog_test_run_opts\(ttl_or_drop\) failed: EINVAL/);
  });
});
