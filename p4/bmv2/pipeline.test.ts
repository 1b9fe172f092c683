// The switch's packet cases (p4/switch-cases/) on talaria.p4 itself: p4c
// compiles it, BMv2's simple_switch_grpc runs it on three veth ports, our
// P4RuntimeClient sends the pipeline with the BMv2 JSON as device config and
// writes the case entries, and every case frame goes in through a real port.
// Skips, saying why, where the P4 toolchain is missing (see toolchain.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPacket, parsePacket } from '../../bpf/testing/packet-builder.js';
import { TalariaKind } from '../../bpf/layouts/shim.js';
import { parseP4InfoText, talariaP4Info } from '../p4info/load-p4info.js';
import { p4infoMismatch } from '../p4info/compare.js';
import { P4InfoIndex } from '../p4info/p4info.js';
import { TalariaEntities } from '../softswitch/wire-entities.js';
import { CASES, EXTERNAL, TCP, VIP, caseEntities, ingressPort, tcp } from '../switch-cases/cases.js';
import { checkOutcome } from '../switch-cases/check.js';
import { findP4Tools } from './toolchain.js';
import { TalariaOnBmv2 } from './talaria-on-bmv2.js';

const tools = findP4Tools();
const skip = typeof tools === 'string' && `BMv2 cases did not run: ${tools}`;
if (skip) process.stdout.write(`# ${skip}\n`);

describe('talaria.p4 on BMv2 (simple_switch_grpc)', { skip }, () => {
  let sw: TalariaOnBmv2 | undefined;
  const entities = new TalariaEntities();

  before(async () => {
    if (typeof tools === 'string') return;
    sw = await TalariaOnBmv2.start(tools, 'tl-bmv2');
    await sw.client.write(caseEntities(entities).map((entity) => ({ type: 'INSERT' as const, entity })));
  });

  after(() => sw?.close());

  test('p4c compiles talaria.p4 into exactly the P4Info the controller and the eBPF target use', () => {
    const compiled = new P4InfoIndex(parseP4InfoText(sw!.program.p4infoText));
    assert.equal(p4infoMismatch(compiled, talariaP4Info()), undefined, 'what p4c wrote against p4/talaria.p4info.txtpb');
    assert.equal(p4infoMismatch(talariaP4Info(), compiled), undefined, 'p4/talaria.p4info.txtpb against what p4c wrote');
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const spec = c.packet();
      const input = Buffer.isBuffer(spec) ? spec : buildPacket(spec);
      const src = parsePacket(input).ipv4?.src ?? '';
      const sent = await sw!.ports.send(ingressPort(src), input);
      checkOutcome(c.expect(), input, sent, {});
    });
  }

  test('ClientIP affinity: every connection of one outside client lands on the same backend', async () => {
    await sw!.client.write([
      { type: 'INSERT', entity: entities.frontend(VIP, 8443, TCP, 12, 0x2) },
      { type: 'INSERT', entity: entities.backendSelect(12, { groupId: 70 }) },
    ]);
    const picks = new Set<number>();
    for (let i = 0; i < 32; i++) {
      const [out] = await sw!.ports.send(3, buildPacket({ ipv4: { src: EXTERNAL, dst: VIP }, ...tcp(30000 + i * 13, 8443) }), 100);
      picks.add(parsePacket(out!.frame).ipv4!.shim!.backendId);
    }
    assert.equal(picks.size, 1, `one backend for one client, got ${[...picks].join(',')}`);
  });

  test('ClientIP affinity from a Talaria host: NEW hashes the whole 5-tuple', async () => {
    const picks = new Set<number>();
    for (let i = 0; i < 32; i++) {
      const frame = buildPacket({ ipv4: { src: '10.244.1.2', dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, ...tcp(30000 + i * 13, 8443) });
      const [out] = await sw!.ports.send(1, frame, 100);
      picks.add(parsePacket(out!.frame).ipv4!.shim!.backendId);
    }
    assert.ok(picks.size > 1, `a host's new connections must spread, all went to ${[...picks].join(',')}`);
  });
});
