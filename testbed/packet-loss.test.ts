// The loss program itself, through BPF_PROG_TEST_RUN: it drops what its rate
// says and passes the rest on to whatever else the port runs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { TC_ACT, runProgram } from '../bpf/loader/index.js';
import { buildPacket } from '../bpf/testing/packet-builder.js';
import { bpfObjectPath } from '../bpf/testing/paths.js';
import { PacketLoss } from './packet-loss.js';

const OBJECT = bpfObjectPath('packet_loss');
const skip = (!existsSync(OBJECT) && `${OBJECT} not built (make -C bpf)`) || (process.getuid?.() !== 0 && 'needs root');

test('packet loss drops its share of packets, counts them, and hands the rest on', { skip }, () => {
  const loss = PacketLoss.load(OBJECT);
  try {
    const packet = buildPacket({ ipv4: { src: '10.244.1.2', dst: '10.96.0.10' }, tcp: { sport: 40000, dport: 80 } });
    const run = (n: number) => {
      const codes = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const r = runProgram(loss.program, packet);
        codes.set(r.verdict, (codes.get(r.verdict) ?? 0) + 1);
      }
      return codes;
    };
    loss.setRate(0);
    assert.deepEqual([...run(200)], [[TC_ACT.UNSPEC, 200]]);
    loss.setRate(1);
    assert.deepEqual([...run(200)], [[TC_ACT.SHOT, 200]]);
    loss.setRate(0.05);
    const codes = run(20_000);
    const dropped = codes.get(TC_ACT.SHOT) ?? 0;
    // 5% of 20,000 is 1,000 with a standard deviation of ~31: 800..1,200 fails once in 10^10.
    assert.ok(dropped > 800 && dropped < 1200, `dropped ${dropped} of 20,000 at 5%`);
    assert.deepEqual(loss.counts(), { seen: 20_400, dropped: 200 + dropped });
    assert.throws(() => loss.setRate(1.5), /from 0 to 1, not 1.5/);
  } finally {
    loss.close();
  }
});
