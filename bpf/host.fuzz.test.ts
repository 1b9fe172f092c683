// The host programs (from-pod, from-uplink) fed generated and mutated packets
// through BPF_PROG_TEST_RUN (bpf/testing/packet-fuzz.ts), seeded from the
// valid paths of bpf/host.test.ts, with the maps' state carried from packet
// to packet. Properties, for every packet:
// - the verdict is one a TC program may give here (pass, drop, redirect);
// - a packet redirected to a local pod is IPv4 addressed to that pod and
//   carries no shim; a rejection goes back to the sender; any other redirect
//   goes to the switch from the uplink;
// - a packet passed to the node's own stack carries no shim;
// - every drop is counted under a reason (the drop counters rise by exactly
//   the number of drops);
// and at the end one end of every connection and reply entry is one of the
// node's pods or frontends.
// A fixed seed and 1,000,000 packets per program here; TALARIA_FUZZ_PACKETS
// and TALARIA_FUZZ_SEED run it longer or elsewhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HostDatapath, defaultObjectPath } from '../nodeagent/datapath.js';
import { HOST_DROP_REASONS } from './layouts/host-maps.js';
import { TalariaKind } from './layouts/shim.js';
import { TC_ACT } from './loader/test-run.js';
import { BACKEND, CLIENT, FE, GW_MAC, LOCAL_PODS, REMOTE_POD, SWITCH_MAC, UPLINK_MAC, configureHostNode } from './testing/host-node.js';
import { buildPacket, IPPROTO_TCP } from './testing/packet-builder.js';
import type { PacketSpec } from './testing/packet-builder.js';
import { carriesShim, fuzzProgram, ipv4Dst, ipv4Src, macAt } from './testing/packet-fuzz.js';

const SEED = Number(process.env.TALARIA_FUZZ_SEED ?? 20261204);
const PACKETS = Number(process.env.TALARIA_FUZZ_PACKETS ?? 1_000_000);
const skip = process.getuid?.() !== 0 && 'needs root (BPF)';

const fromPod = { src: CLIENT.mac, dst: GW_MAC };
const fromSwitch = { src: SWITCH_MAC, dst: UPLINK_MAC };
const tcp = (sport: number, dport: number, flags: ('SYN' | 'ACK' | 'FIN' | 'RST')[] = ['SYN']) => ({ sport, dport, flags, seq: 1, ack: flags.includes('ACK') ? 1 : 0, payload: 'x' });

const POD_SEEDS: PacketSpec[] = [
  ...Object.values(FE).map((fe) => (fe.proto === IPPROTO_TCP ? { eth: fromPod, ipv4: { src: CLIENT.ip, dst: fe.addr }, tcp: tcp(40000, fe.port) } : { eth: fromPod, ipv4: { src: CLIENT.ip, dst: fe.addr }, udp: { sport: 5000, dport: fe.port, payload: 'q' } })),
  { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr }, tcp: tcp(40000, 80, ['ACK']) },
  { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr }, tcp: tcp(40000, 80, ['FIN', 'ACK']) },
  { eth: { src: BACKEND.mac, dst: GW_MAC }, ipv4: { src: BACKEND.ip, dst: REMOTE_POD }, tcp: tcp(9090, 40000, ['ACK']) },
  { eth: fromPod, ipv4: { src: CLIENT.ip, dst: REMOTE_POD }, udp: { sport: 1, dport: 2 } },
  { eth: fromPod, ipv4: { src: CLIENT.ip, dst: BACKEND.ip }, tcp: tcp(1, 2) },
  { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr, shim: { kind: TalariaKind.NEW, frontendId: 1, backendId: 1 } }, tcp: tcp(40000, 80) },
];
const UPLINK_SEEDS: PacketSpec[] = [
  { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 1, backendId: 2 } }, tcp: tcp(40000, 9090) },
  { eth: fromSwitch, ipv4: { src: FE.tcp.addr, dst: CLIENT.ip, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 1, backendId: 2 } }, tcp: tcp(80, 40000, ['ACK']) },
  { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: CLIENT.ip, shim: { kind: TalariaKind.PINNED, frontendId: 1, backendId: 2 } }, tcp: tcp(1, 2) },
  { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: CLIENT.ip }, udp: { sport: 1, dport: 2 } },
  { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: '10.244.9.9' }, udp: { sport: 1, dport: 2 } },
  { eth: fromSwitch, ipv4: { src: '203.0.113.9', dst: BACKEND.ip, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 3, backendId: 1 } }, udp: { sport: 5000, dport: 9090 } },
];

const POD_BY_MAC = new Map<string, string>(LOCAL_PODS.map((p) => [p.mac, p.ip]));

describe('host programs under fuzzed packets (BPF_PROG_TEST_RUN)', { skip }, () => {
  let dp: HostDatapath;
  before(() => {
    dp = HostDatapath.open({ objectPath: defaultObjectPath({ rebuild: true }) });
    configureHostNode(dp);
  });
  after(() => dp?.close());

  for (const prog of ['fromPod', 'fromUplink'] as const) {
    it(`${prog}: ${PACKETS.toLocaleString('en')} packets, every property holds`, () => {
      const seeds = (prog === 'fromPod' ? POD_SEEDS : UPLINK_SEEDS).map((s) => buildPacket(s));
      const drops = () => HostDatapath.sumCounters(dp.drops, HOST_DROP_REASONS.length).reduce((a, b) => a + b, 0);
      const dropsBefore = drops();
      const { verdicts, problems, unrunnable } = fuzzProgram(dp.programs[prog], seeds, {
        seed: SEED + (prog === 'fromPod' ? 0 : 1),
        packets: PACKETS,
        check(input, verdict, out) {
          if (verdict === TC_ACT.OK) return carriesShim(out) ? "passed to the node's stack with the shim" : undefined;
          if (verdict !== TC_ACT.REDIRECT) return undefined;
          const dst = macAt(out, 0);
          const podIp = POD_BY_MAC.get(dst);
          if (dst === macAt(input, 6) && ipv4Dst(out) === ipv4Src(input)) {
            // A rejection (ICMP unreachable, TCP RST) back to whoever sent the packet.
            return carriesShim(out) ? 'rejected back to the sender with the shim' : undefined;
          }
          if (podIp !== undefined) {
            if (ipv4Dst(out) !== podIp) return `delivered to pod ${podIp} but addressed to ${ipv4Dst(out) ?? 'no IPv4'}`;
            return carriesShim(out) ? `delivered to pod ${podIp} with the shim` : undefined;
          }
          return dst === SWITCH_MAC && macAt(out, 6) === UPLINK_MAC ? undefined : `redirected to ${dst || 'a frame too short for a MAC'}, neither a local pod nor the switch`;
        },
      });
      const counted = drops() - dropsBefore;
      assert.deepEqual(problems, []);
      assert.equal(counted, verdicts.drop, `${verdicts.drop} packets dropped, ${counted} counted under a reason`);
      // The seeds and mutations must reach every verdict, or the properties were never put to the test.
      for (const v of ['pass', 'drop', 'redirect'] as const) assert.ok(verdicts[v] > PACKETS / 100, `${v} only ${verdicts[v]} times: ${JSON.stringify(verdicts)}`);
      // Map state only ever refers to what the node knows: one end of every entry is one of its pods or frontends.
      const known = new Set<string>([...LOCAL_PODS.map((p) => p.ip), ...Object.values(FE).map((f) => f.addr)]);
      for (const [name, map] of [['connection', dp.conns], ['reply', dp.replies]] as const) {
        for (const [flow] of map.entries()) assert.ok(known.has(flow.saddr) || known.has(flow.daddr), `${name} entry with neither a pod nor a frontend of the node at either end: ${JSON.stringify(flow)}`);
      }
      process.stdout.write(`# ${prog}: ${unrunnable} frames too short for test-run left out; verdicts ${JSON.stringify(verdicts)}, ${[...dp.conns.keys()].length} connection and ${[...dp.replies.keys()].length} reply entries\n`);
    });
  }
});
