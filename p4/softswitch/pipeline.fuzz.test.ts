// The eBPF switch program fed generated and mutated packets through
// BPF_PROG_TEST_RUN (bpf/testing/packet-fuzz.ts), seeded from the switch's
// packet cases (p4/switch-cases/), with the case tables installed. Properties,
// for every packet:
// - the verdict is pass, drop or redirect;
// - a redirected packet leaves by the port its destination is routed to, with
//   that route's MAC and the port's own source MAC; one leaving towards the
//   outside (a to_external route) carries no shim;
// - a passed packet is untouched;
// - every drop is counted under a reason.
// A fixed seed and 1,000,000 packets here; TALARIA_FUZZ_PACKETS and
// TALARIA_FUZZ_SEED run it longer or elsewhere.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DROP_REASONS } from '../../bpf/layouts/switch-maps.js';
import { TC_ACT, runProgram } from '../../bpf/loader/test-run.js';
import { buildPacket } from '../../bpf/testing/packet-builder.js';
import { carriesShim, mutatePacket, testRunnable } from '../../bpf/testing/packet-fuzz.js';
import { bpfObjectPath } from '../../bpf/testing/paths.js';
import { Random } from '../../bpf/testing/random.js';
import { CASES, HOST_MAC, PORT_MAC, caseEntities } from '../switch-cases/cases.js';
import { SoftswitchFixture } from './softswitch-fixture.js';

const SEED = Number(process.env.TALARIA_FUZZ_SEED ?? 20261204);
const PACKETS = Number(process.env.TALARIA_FUZZ_PACKETS ?? 1_000_000);
const skip = (!existsSync(bpfObjectPath('switch')) && 'build/bpf/switch.bpf.o not built (make -C bpf)') || (process.getuid?.() !== 0 && 'needs root (BPF)');

/** The case table's routes (caseEntities), longest prefix first: where each destination must leave. */
const ROUTES = [
  { net: '10.244.1.', port: 1, external: false },
  { net: '10.244.2.', port: 2, external: false },
  { net: '203.0.113.', port: 3, external: true },
] as const;

const mac = (b: Buffer, off: number) => [...b.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ipv4Dst = (b: Buffer) => (b.length >= 34 && b.readUInt16BE(12) === 0x0800 ? [...b.subarray(30, 34)].join('.') : undefined);

describe('software switch under fuzzed packets (BPF_PROG_TEST_RUN)', { skip }, () => {
  let sw: SoftswitchFixture;
  before(async () => {
    sw = await SoftswitchFixture.create();
    for (const p of [1, 2, 3] as const) sw.setPort(p, 10 + p);
    sw.datapath.setLocalAddresses(['198.18.0.1']);
    for (const entity of caseEntities(sw.entities)) await sw.write('INSERT', entity);
  });
  after(() => sw?.close());

  it(`${PACKETS.toLocaleString('en')} packets, every property holds`, () => {
    const r = new Random(SEED);
    const seeds = CASES.map((c) => c.packet()).map((p) => (Buffer.isBuffer(p) ? p : buildPacket(p)));
    const dropped = () => Object.keys(DROP_REASONS).reduce((s, i) => s + sw.drops(Number(i)), 0n);
    const dropsBefore = dropped();
    const verdicts = new Map<number, number>();
    const problems: string[] = [];
    let unrunnable = 0;
    for (let i = 0; i < PACKETS && problems.length < 10; i++) {
      const input = mutatePacket(r.pick(seeds), r);
      if (!testRunnable(input)) {
        unrunnable++;
        continue;
      }
      const { verdict, packet: out } = runProgram(sw.datapath.program, input);
      verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      const where = () => `packet ${i} (seed ${SEED}): ${input.toString('hex').slice(0, 160)}`;
      if (verdict === TC_ACT.REDIRECT) {
        const dst = ipv4Dst(out);
        const route = ROUTES.find((x) => dst?.startsWith(x.net));
        if (!route) problems.push(`redirected, but ${dst ?? 'a non-IPv4 frame'} has no route: ${where()}`);
        else if (mac(out, 0) !== HOST_MAC[route.port] || mac(out, 6) !== PORT_MAC[route.port]) problems.push(`${dst} left with MACs ${mac(out, 6)} -> ${mac(out, 0)}, its route is port ${route.port}: ${where()}`);
        else if (route.external && carriesShim(out)) problems.push(`left towards the outside with the shim: ${where()}`);
      } else if (verdict === TC_ACT.OK) {
        if (!out.equals(input)) problems.push(`passed, but changed: ${where()}`);
      } else if (verdict !== TC_ACT.SHOT) {
        problems.push(`verdict ${verdict}: ${where()}`);
      }
    }
    assert.deepEqual(problems, []);
    const shot = verdicts.get(TC_ACT.SHOT) ?? 0;
    assert.equal(Number(dropped() - dropsBefore), shot, `${shot} packets dropped, ${dropped() - dropsBefore} counted under a reason`);
    for (const v of [TC_ACT.SHOT, TC_ACT.REDIRECT]) assert.ok((verdicts.get(v) ?? 0) > PACKETS / 100, `verdict ${v} only ${verdicts.get(v) ?? 0} times`);
    process.stdout.write(`# switch: ${unrunnable} frames too short for test-run left out; verdicts ${JSON.stringify(Object.fromEntries([...verdicts].map(([v, n]) => [v === TC_ACT.OK ? 'pass' : v === TC_ACT.SHOT ? 'drop' : 'redirect', n])))}\n`);
  });
});
