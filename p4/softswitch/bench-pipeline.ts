// Cost per packet of the software switch pipeline, per path, measured in the
// kernel by BPF_PROG_TEST_RUN.
//
// Caveat that shapes the method: BPF_PROG_TEST_RUN with repeat=R runs the
// program R times on the SAME skb, so from the second run on a rewritten
// packet takes another path (a NEW packet has become TO_BACKEND and is
// dropped as unexpected; a routed one loses TTL each time). So every path is
// timed as many single runs (repeat=1; the kernel's duration then includes
// its two clock reads), and the plain routed path, which stays on its path
// for 254 runs when its TTL is 255, is also timed with repeat=250 to show what
// the single-run method adds.
//
// Run: node --import tsx p4/softswitch/bench-pipeline.ts [--runs 20000]
import { parseArgs } from 'node:util';
import { runProgram, TC_ACT } from '../../bpf/loader/index.js';
import { buildPacket, type PacketSpec } from '../../bpf/testing/packet-builder.js';
import { TalariaKind } from '../../bpf/layouts/shim.js';
import { SoftswitchFixture } from './softswitch-fixture.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20000' } } });
const RUNS = Number(values.runs);
const VIP = '10.96.0.10';
const tcp = (sport: number, dport: number) => ({ tcp: { sport, dport, flags: ['ACK'] as const, payload: Buffer.alloc(64) } });

const sw = await SoftswitchFixture.create();
try {
  const e = sw.entities;
  sw.setPort(1, 11);
  sw.setPort(2, 12);
  sw.setPort(3, 13);
  await sw.write('INSERT', e.route('10.244.1.0/24', { kind: 'to_port', port: 1, dstMac: 'aa:00:00:00:00:01' }));
  await sw.write('INSERT', e.route('10.244.2.0/24', { kind: 'to_port', port: 2, dstMac: 'aa:00:00:00:00:02' }));
  await sw.write('INSERT', e.route('203.0.113.0/24', { kind: 'to_external', port: 3, dstMac: 'aa:00:00:00:00:03' }));
  const group: [number, number][] = [];
  for (let m = 1; m <= 10; m++) {
    await sw.write('INSERT', e.member(m, 100 + m, `10.244.2.${m}`, 8080));
    await sw.write('INSERT', e.backend(7, 100 + m, `10.244.2.${m}`, 8080));
    group.push([m, 1]);
  }
  await sw.write('INSERT', e.group(70, group, 16));
  await sw.write('INSERT', e.frontend(VIP, 80, 6, 7));
  await sw.write('INSERT', e.backendSelect(7, { groupId: 70 }));
  await sw.write('INSERT', e.reverseNat(7, VIP, 80));
  await sw.write('INSERT', e.frontend(VIP, 81, 6, 8, 0x1)); // no endpoints: rejected

  const paths: { name: string; spec: PacketSpec; verdict: number }[] = [
    { name: 'plain routed (TTL, MACs, redirect)', spec: { ipv4: { src: '10.244.1.2', dst: '10.244.2.50', ttl: 255 }, ...tcp(1000, 9000) }, verdict: TC_ACT.REDIRECT },
    { name: 'NEW -> TO_BACKEND (Maglev, 10 members)', spec: { ipv4: { src: '10.244.1.2', dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(40000, 80) }, verdict: TC_ACT.REDIRECT },
    { name: 'shimless frontend hit (option added)', spec: { ipv4: { src: '203.0.113.9', dst: VIP }, ...tcp(40000, 80) }, verdict: TC_ACT.REDIRECT },
    { name: 'PINNED -> TO_BACKEND', spec: { ipv4: { src: '10.244.1.2', dst: VIP, shim: { kind: TalariaKind.PINNED, frontendId: 7, backendId: 103 } }, ...tcp(40000, 80) }, verdict: TC_ACT.REDIRECT },
    { name: 'REPLY -> TO_CLIENT', spec: { ipv4: { src: '10.244.2.3', dst: '10.244.1.2', shim: { kind: TalariaKind.REPLY, frontendId: 7, backendId: 103 } }, ...tcp(8080, 40000) }, verdict: TC_ACT.REDIRECT },
    { name: 'REPLY -> outside (option stripped)', spec: { ipv4: { src: '10.244.2.3', dst: '203.0.113.9', shim: { kind: TalariaKind.REPLY, frontendId: 7, backendId: 103 } }, ...tcp(8080, 40000) }, verdict: TC_ACT.REDIRECT },
    { name: 'no endpoints: TCP RST built and sent', spec: { ipv4: { src: '10.244.1.2', dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, tcp: { sport: 40000, dport: 81, flags: ['SYN'] } }, verdict: TC_ACT.REDIRECT },
    { name: 'PINNED to a removed backend (drop)', spec: { ipv4: { src: '10.244.1.2', dst: VIP, shim: { kind: TalariaKind.PINNED, frontendId: 7, backendId: 999 } }, ...tcp(40000, 80) }, verdict: TC_ACT.SHOT },
  ];
  process.stdout.write(`path                                       ns/packet (mean of ${RUNS} single runs, kernel-timed)\n`);
  for (const p of paths) {
    const pkt = buildPacket(p.spec);
    let sum = 0;
    for (let i = 0; i < 200; i++) runProgram(sw.datapath.program, pkt); // warm up
    for (let i = 0; i < RUNS; i++) {
      const r = runProgram(sw.datapath.program, pkt);
      if (r.verdict !== p.verdict) throw new Error(`${p.name}: verdict ${r.verdict}, expected ${p.verdict}`);
      sum += r.durationNs;
    }
    process.stdout.write(`${p.name.padEnd(42)} ${(sum / RUNS).toFixed(0).padStart(6)}\n`);
  }
  const stable = buildPacket(paths[0]!.spec);
  let sum = 0;
  const calls = Math.ceil(RUNS / 250) * 4;
  for (let i = 0; i < calls; i++) sum += runProgram(sw.datapath.program, stable, { repeat: 250 }).durationNs;
  process.stdout.write(`${'plain routed, repeat=250 (stable path)'.padEnd(42)} ${(sum / calls).toFixed(0).padStart(6)}   (${calls * 250} runs)\n`);
} finally {
  sw.close();
}
