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
import { TC_ACT } from '../../bpf/loader/test-run.js';
import { buildPacket } from '../../bpf/testing/packet-builder.js';
import { carriesShim, fuzzProgram, ipv4Dst, macAt } from '../../bpf/testing/packet-fuzz.js';
import { bpfObjectPath } from '../../bpf/testing/paths.js';
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
    const seeds = CASES.map((c) => c.packet()).map((p) => (Buffer.isBuffer(p) ? p : buildPacket(p)));
    const dropped = () => Object.keys(DROP_REASONS).reduce((s, i) => s + sw.drops(Number(i)), 0n);
    const dropsBefore = dropped();
    const { verdicts, problems, unrunnable } = fuzzProgram(sw.datapath.program, seeds, {
      seed: SEED,
      packets: PACKETS,
      check(input, verdict, out) {
        if (verdict === TC_ACT.OK) return out.equals(input) ? undefined : 'passed, but changed';
        if (verdict !== TC_ACT.REDIRECT) return undefined;
        const dst = ipv4Dst(out);
        const route = ROUTES.find((x) => dst?.startsWith(x.net));
        if (!route) return `redirected, but ${dst ?? 'a non-IPv4 frame'} has no route`;
        if (macAt(out, 0) !== HOST_MAC[route.port] || macAt(out, 6) !== PORT_MAC[route.port]) return `${dst} left with MACs ${macAt(out, 6)} -> ${macAt(out, 0)}, its route is port ${route.port}`;
        return route.external && carriesShim(out) ? 'left towards the outside with the shim' : undefined;
      },
    });
    assert.deepEqual(problems, []);
    assert.equal(Number(dropped() - dropsBefore), verdicts.drop, `${verdicts.drop} packets dropped, ${dropped() - dropsBefore} counted under a reason`);
    for (const v of ['drop', 'redirect'] as const) assert.ok(verdicts[v] > PACKETS / 100, `${v} only ${verdicts[v]} times`);
    process.stdout.write(`# switch: ${unrunnable} frames too short for test-run left out; verdicts ${JSON.stringify(verdicts)}\n`);
  });
});
