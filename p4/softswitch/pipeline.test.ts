// Table-driven packet tests of bpf/switch.bpf.c through BPF_PROG_TEST_RUN,
// with the tables written through the eBPF target as P4Runtime entities.
// Every pipeline path: NEW, shimless frontend hit, PINNED, PINNED to a removed
// backend, REPLY (to a host and to the outside), plain routing, unknown
// frontends, TCP and UDP, malformed input, TTL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runProgram, TC_ACT } from '../../bpf/loader/index.js';
import { buildPacket, describePacket, parsePacket, type PacketSpec } from '../../bpf/testing/packet-builder.js';
import { TalariaKind } from '../../bpf/layouts/shim.js';
import { SWITCH_OBJECT } from './datapath.js';
import { flowHash } from './flow-hash.js';
import { buildMaglevTable } from './maglev.js';
import { SoftswitchFixture } from './softswitch-fixture.js';

const TCP = 6;
const UDP = 17;
const VIP = '10.96.0.10';
const CLIENT = '10.244.1.2';
const EXTERNAL = '203.0.113.9';
const BACKENDS = { 101: { addr: '10.244.2.5', port: 8080 }, 102: { addr: '10.244.2.6', port: 8080 }, 103: { addr: '10.244.2.7', port: 8080 } } as const;
const PORT_MAC = { 1: '02:00:00:00:01:01', 2: '02:00:00:00:01:02', 3: '02:00:00:00:01:03' } as const;
const HOST_MAC = { 1: 'aa:00:00:00:00:01', 2: 'aa:00:00:00:00:02', 3: 'aa:00:00:00:00:03' } as const;
const IFINDEX = { 1: 11, 2: 12, 3: 13 } as const;
const DROP = { MALFORMED_IP: 1, MALFORMED_SHIM: 2, MALFORMED_L4: 3, SHIM_FRAGMENT: 4, SHIM_NOT_L4: 5, UNEXPECTED_KIND: 6, NO_FRONTEND: 7, PINNED_BACKEND_GONE: 9, NO_REVERSE_NAT: 10, ROUTE_DROP: 12, TTL_EXPIRED: 13, NO_REJECT: 17 } as const;
const PASS = { NOT_IPV4: 0, LOCAL: 1, IP_OPTIONS: 2, NO_ROUTE: 3 } as const;
// Group 70 (frontend 7, TCP 80): members 1, 2 -> backends 101, 102, equal weights.
const GROUP70 = [[1, 1], [2, 1]] as const;
const MEMBER_BACKEND: Record<number, 101 | 102 | 103> = { 1: 101, 2: 102, 3: 103 };

/** The backend the switch must pick for a NEW flow to frontend 7, predicted in TypeScript. */
function predictedBackend(t: { saddr: string; sport: number }): 101 | 102 {
  const table = buildMaglevTable(GROUP70.map(([m, w]) => ({ key: String(m), weight: w })));
  const slot = flowHash({ saddr: t.saddr, daddr: VIP, sport: t.sport, dport: 80, proto: TCP }) % table.length;
  return MEMBER_BACKEND[GROUP70[table[slot]!]![0]] as 101 | 102;
}

const skip = !existsSync(SWITCH_OBJECT) && 'build/bpf/switch.bpf.o not built (make -C bpf)';

describe('software switch pipeline (BPF_PROG_TEST_RUN)', { skip }, () => {
  let sw: SoftswitchFixture;

  before(async () => {
    sw = await SoftswitchFixture.create();
    const e = sw.entities;
    for (const p of [1, 2, 3] as const) sw.setPort(p, IFINDEX[p], PORT_MAC[p]);
    sw.datapath.setLocalAddresses(['198.18.0.1']);
    await sw.write('INSERT', e.route('10.244.1.0/24', { kind: 'to_port', port: 1, dstMac: HOST_MAC[1] }));
    await sw.write('INSERT', e.route('10.244.2.0/24', { kind: 'to_port', port: 2, dstMac: HOST_MAC[2] }));
    await sw.write('INSERT', e.route('203.0.113.0/24', { kind: 'to_external', port: 3, dstMac: HOST_MAC[3] }));
    await sw.write('INSERT', e.route('192.0.2.0/24', { kind: 'drop' }));
    for (const [id, b] of [[1, 101], [2, 102]] as const) await sw.write('INSERT', e.member(id, b, BACKENDS[b].addr, BACKENDS[b].port));
    await sw.write('INSERT', e.member(3, 101, BACKENDS[101].addr, 5353));
    await sw.write('INSERT', e.group(70, GROUP70, 16));
    await sw.write('INSERT', e.frontend(VIP, 80, TCP, 7, 0x10));
    await sw.write('INSERT', e.backendSelect(7, { groupId: 70 }));
    await sw.write('INSERT', e.frontend(VIP, 53, UDP, 8));
    await sw.write('INSERT', e.backendSelect(8, { memberId: 3 }));
    await sw.write('INSERT', e.frontend(VIP, 81, TCP, 9)); // a frontend with no selection
    await sw.write('INSERT', e.frontend(VIP, 82, TCP, 10, 0x1)); // flagged reject (no endpoints)
    await sw.write('INSERT', e.frontend(VIP, 83, UDP, 11, 0x1));
    await sw.write('INSERT', e.backend(10, 101, BACKENDS[101].addr, 8080)); // a terminating backend, still pinned
    for (const b of [101, 102] as const) await sw.write('INSERT', e.backend(7, b, BACKENDS[b].addr, BACKENDS[b].port));
    await sw.write('INSERT', e.backend(8, 101, BACKENDS[101].addr, 5353));
    await sw.write('INSERT', e.reverseNat(7, VIP, 80));
    await sw.write('INSERT', e.reverseNat(8, VIP, 53));
  });

  after(() => sw?.close());

  const tcp = (sport: number, dport: number) => ({ tcp: { sport, dport, flags: ['SYN'] as const, seq: 1, payload: 'hello' } });

  type Expect =
    | { verdict: 'redirect'; port: 1 | 2 | 3; src: string; sport?: number; dst: string; dport?: number; ttl?: number; shim?: { kind: number; frontendId: number; backendId: number; flags?: number } | null }
    | { verdict: 'reject'; port: 1 | 2 | 3; src: string; sport?: number; dst: string; dport?: number; rst?: { seq: number; ack: number }; icmp?: { sport: number; dport: number } }
    | { verdict: 'drop'; reason: number }
    | { verdict: 'pass'; reason: number };

  const cases: { name: string; packet: () => PacketSpec | Buffer; expect: () => Expect }[] = [
    {
      name: 'NEW TCP to a frontend -> TO_BACKEND, destination and checksums rewritten',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(40000, 80) }),
      expect: () => {
        const b = predictedBackend({ saddr: CLIENT, sport: 40000 });
        return { verdict: 'redirect', port: 2, src: CLIENT, sport: 40000, dst: BACKENDS[b].addr, dport: 8080, ttl: 63, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, backendId: b, flags: 0x10 } };
      },
    },
    {
      name: 'NEW UDP to a single-member frontend',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 8, backendId: 0 } }, udp: { sport: 5000, dport: 53, payload: 'q' } }),
      expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, sport: 5000, dst: BACKENDS[101].addr, dport: 5353, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 8, backendId: 101 } }),
    },
    {
      name: 'shimless frontend hit from outside -> NEW, the option is added',
      packet: () => ({ ipv4: { src: EXTERNAL, dst: VIP }, ...tcp(50000, 80) }),
      expect: () => {
        const b = predictedBackend({ saddr: EXTERNAL, sport: 50000 });
        return { verdict: 'redirect', port: 2, src: EXTERNAL, sport: 50000, dst: BACKENDS[b].addr, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, backendId: b, flags: 0x10 } };
      },
    },
    {
      name: 'PINNED -> the pinned backend, never re-hashed',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.PINNED, frontendId: 7, backendId: 102 } }, ...tcp(40001, 80) }),
      expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, dst: BACKENDS[102].addr, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, backendId: 102, flags: 0x10 } }),
    },
    {
      name: 'PINNED to a backend that is gone -> dropped and counted',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.PINNED, frontendId: 7, backendId: 999 } }, ...tcp(40002, 80) }),
      expect: () => ({ verdict: 'drop', reason: DROP.PINNED_BACKEND_GONE }),
    },
    {
      name: 'REPLY -> TO_CLIENT, source restored, shim kept towards a host',
      packet: () => ({ ipv4: { src: BACKENDS[102].addr, dst: CLIENT, shim: { kind: TalariaKind.REPLY, frontendId: 7, backendId: 102, flags: 0x10 } }, tcp: { sport: 8080, dport: 40000, flags: ['SYN', 'ACK'], payload: 'world' } }),
      expect: () => ({ verdict: 'redirect', port: 1, src: VIP, sport: 80, dst: CLIENT, dport: 40000, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 7, backendId: 102, flags: 0x10 } }),
    },
    {
      name: 'REPLY towards the outside -> source restored, shim stripped',
      packet: () => ({ ipv4: { src: BACKENDS[101].addr, dst: EXTERNAL, shim: { kind: TalariaKind.REPLY, frontendId: 7, backendId: 101 } }, tcp: { sport: 8080, dport: 50000, flags: ['ACK'], payload: 'world' } }),
      expect: () => ({ verdict: 'redirect', port: 3, src: VIP, sport: 80, dst: EXTERNAL, dport: 50000, shim: null }),
    },
    {
      name: 'UDP REPLY with checksum 0 keeps it 0',
      packet: () => ({ ipv4: { src: BACKENDS[101].addr, dst: CLIENT, shim: { kind: TalariaKind.REPLY, frontendId: 8, backendId: 101 } }, udp: { sport: 5353, dport: 5000, payload: 'a', checksum: 0 } }),
      expect: () => ({ verdict: 'redirect', port: 1, src: VIP, sport: 53, dst: CLIENT, dport: 5000, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 8, backendId: 101 } }),
    },
    {
      name: 'REPLY for an unknown frontend -> dropped',
      packet: () => ({ ipv4: { src: BACKENDS[101].addr, dst: CLIENT, shim: { kind: TalariaKind.REPLY, frontendId: 4242, backendId: 101 } }, tcp: { sport: 8080, dport: 1 } }),
      expect: () => ({ verdict: 'drop', reason: DROP.NO_REVERSE_NAT }),
    },
    {
      name: 'plain pod-to-pod TCP is routed: TTL down, MACs set, nothing else changed',
      packet: () => ({ ipv4: { src: CLIENT, dst: BACKENDS[103].addr, ttl: 10 }, ...tcp(1234, 9000) }),
      expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, sport: 1234, dst: BACKENDS[103].addr, dport: 9000, ttl: 9, shim: null }),
    },
    {
      name: 'plain UDP to an unknown frontend port is routed as plain traffic',
      packet: () => ({ ipv4: { src: EXTERNAL, dst: BACKENDS[101].addr }, udp: { sport: 1, dport: 9999, payload: 'x' } }),
      expect: () => ({ verdict: 'redirect', port: 2, src: EXTERNAL, dst: BACKENDS[101].addr, dport: 9999, shim: null }),
    },
    {
      name: 'shimless packet to a service address that is no frontend, no route -> the kernel',
      packet: () => ({ ipv4: { src: CLIENT, dst: '10.96.0.99' }, ...tcp(1, 80) }),
      expect: () => ({ verdict: 'pass', reason: PASS.NO_ROUTE }),
    },
    {
      name: 'NEW for an unknown frontend -> dropped',
      packet: () => ({ ipv4: { src: CLIENT, dst: '10.96.0.99', shim: { kind: TalariaKind.NEW, frontendId: 1, backendId: 0 } }, ...tcp(1, 80) }),
      expect: () => ({ verdict: 'drop', reason: DROP.NO_FRONTEND }),
    },
    {
      name: 'NEW TCP for a frontend without backends -> RST from the frontend, back to the client',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, tcp: { sport: 1111, dport: 81, flags: ['SYN'], seq: 1000 } }),
      expect: () => ({ verdict: 'reject', port: 1, src: VIP, sport: 81, dst: CLIENT, dport: 1111, rst: { seq: 0, ack: 1001 } }),
    },
    {
      name: 'shimless TCP ACK to a frontend flagged reject -> RST with seq = its ack',
      packet: () => ({ ipv4: { src: EXTERNAL, dst: VIP }, tcp: { sport: 2222, dport: 82, flags: ['ACK'], seq: 5, ack: 777, payload: 'data' } }),
      expect: () => ({ verdict: 'reject', port: 3, src: VIP, sport: 82, dst: EXTERNAL, dport: 2222, rst: { seq: 777, ack: 0 } }),
    },
    {
      name: 'NEW UDP for a frontend flagged reject -> ICMP port unreachable quoting the shimless header',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, udp: { sport: 3333, dport: 83, payload: 'query' } }),
      expect: () => ({ verdict: 'reject', port: 1, src: VIP, dst: CLIENT, icmp: { sport: 3333, dport: 83 } }),
    },
    {
      name: 'a RST to a frontend without backends is not answered',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, tcp: { sport: 1, dport: 81, flags: ['RST'] } }),
      expect: () => ({ verdict: 'drop', reason: DROP.NO_REJECT }),
    },
    {
      name: 'PINNED to a frontend flagged reject still reaches its pinned backend',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.PINNED, frontendId: 10, backendId: 101 } }, ...tcp(4444, 82) }),
      expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, dst: BACKENDS[101].addr, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 10, backendId: 101, flags: 1 } }),
    },
    {
      name: 'route action drop',
      packet: () => ({ ipv4: { src: CLIENT, dst: '192.0.2.1' }, ...tcp(1, 2) }),
      expect: () => ({ verdict: 'drop', reason: DROP.ROUTE_DROP }),
    },
    {
      name: 'TTL 2 leaves with TTL 1',
      packet: () => ({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr, ttl: 2 }, ...tcp(1, 2) }),
      expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, dst: BACKENDS[101].addr, ttl: 1, shim: null }),
    },
    {
      name: 'TTL 1 expires',
      packet: () => ({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr, ttl: 1 }, ...tcp(1, 2) }),
      expect: () => ({ verdict: 'drop', reason: DROP.TTL_EXPIRED }),
    },
    {
      name: 'shim with a wrong length -> dropped',
      packet: () => {
        const b = buildPacket({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(1, 80) });
        b[14 + 21] = 10;
        return fixIpChecksum(b);
      },
      expect: () => ({ verdict: 'drop', reason: DROP.MALFORMED_SHIM }),
    },
    {
      name: 'shim with version 2 -> dropped',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0, version: 2 } }, ...tcp(1, 80) }),
      expect: () => ({ verdict: 'drop', reason: DROP.MALFORMED_SHIM }),
    },
    {
      name: 'shim with an unknown kind -> dropped',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: 9, frontendId: 7, backendId: 0 } }, ...tcp(1, 80) }),
      expect: () => ({ verdict: 'drop', reason: DROP.MALFORMED_SHIM }),
    },
    {
      name: 'TO_BACKEND arriving at the switch -> dropped',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, backendId: 101 } }, ...tcp(1, 80) }),
      expect: () => ({ verdict: 'drop', reason: DROP.UNEXPECTED_KIND }),
    },
    {
      name: 'shim cut short (frame ends inside the option) -> dropped',
      packet: () => buildPacket({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(1, 80) }).subarray(0, 14 + 26),
      expect: () => ({ verdict: 'drop', reason: DROP.MALFORMED_IP }),
    },
    {
      name: 'shim in a header of the wrong size (ihl 9) -> dropped',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 }, options: Buffer.from([1, 1, 1, 1]) }, ...tcp(1, 80) }),
      expect: () => ({ verdict: 'drop', reason: DROP.MALFORMED_SHIM }),
    },
    {
      name: 'shim on ICMP -> dropped',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, icmp: { type: 8 } }),
      expect: () => ({ verdict: 'drop', reason: DROP.SHIM_NOT_L4 }),
    },
    {
      name: 'shim on a fragment -> dropped',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, fragOffset: 10, protocol: TCP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, payload: Buffer.alloc(24) }),
      expect: () => ({ verdict: 'drop', reason: DROP.SHIM_FRAGMENT }),
    },
    {
      name: 'TCP header cut short -> dropped',
      packet: () => ({ ipv4: { src: CLIENT, dst: VIP, protocol: TCP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, payload: Buffer.alloc(10) }),
      expect: () => ({ verdict: 'drop', reason: DROP.MALFORMED_L4 }),
    },
    {
      // (BPF_PROG_TEST_RUN refuses frames shorter than an IPv4 header, so the broken header is an ihl of 4.)
      name: 'IPv4 header with ihl 4 -> dropped',
      packet: () => {
        const b = buildPacket({ ipv4: { src: CLIENT, dst: VIP }, ...tcp(1, 80) });
        b[14] = 0x44;
        return fixIpChecksum(b);
      },
      expect: () => ({ verdict: 'drop', reason: DROP.MALFORMED_IP }),
    },
    {
      name: 'tot_len longer than the frame -> dropped',
      packet: () => {
        const b = buildPacket({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr }, ...tcp(1, 80) });
        b.writeUInt16BE(1400, 14 + 2);
        return fixIpChecksum(b);
      },
      expect: () => ({ verdict: 'drop', reason: DROP.MALFORMED_IP }),
    },
    {
      name: 'other IPv4 options -> left to the kernel',
      packet: () => ({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr, options: Buffer.from([0x94, 4, 0, 0]) }, ...tcp(1, 80) }),
      expect: () => ({ verdict: 'pass', reason: PASS.IP_OPTIONS }),
    },
    {
      name: 'traffic for the switch itself -> its kernel',
      packet: () => ({ ipv4: { src: CLIENT, dst: '198.18.0.1' }, ...tcp(1, 22) }),
      expect: () => ({ verdict: 'pass', reason: PASS.LOCAL }),
    },
    {
      name: 'ARP -> the kernel',
      packet: () => ({ eth: { type: 0x0806, dst: 'ff:ff:ff:ff:ff:ff' }, payload: Buffer.alloc(28) }),
      expect: () => ({ verdict: 'pass', reason: PASS.NOT_IPV4 }),
    },
    {
      name: 'IPv6 -> the kernel',
      packet: () => ({ ipv6: { src: 'fd00::1', dst: 'fd00::2' }, ...tcp(1, 80) }),
      expect: () => ({ verdict: 'pass', reason: PASS.NOT_IPV4 }),
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const spec = c.packet();
      const input = Buffer.isBuffer(spec) ? spec : buildPacket(spec);
      const want = c.expect();
      const before = want.verdict === 'drop' ? sw.drops(want.reason) : want.verdict === 'pass' ? sw.passes(want.reason) : 0n;
      const res = runProgram(sw.datapath.program, input);
      const shown = `${describePacket(input)} -> verdict ${res.verdict}: ${res.packet.length >= 14 ? describePacket(res.packet) : ''}`;
      if (want.verdict === 'drop') {
        assert.equal(res.verdict, TC_ACT.SHOT, shown);
        assert.equal(sw.drops(want.reason), before + 1n, `drop reason ${want.reason} counted`);
        return;
      }
      if (want.verdict === 'pass') {
        assert.equal(res.verdict, TC_ACT.OK, shown);
        assert.equal(sw.passes(want.reason), before + 1n, `pass reason ${want.reason} counted`);
        assert.deepEqual(res.packet, input, 'a passed packet is untouched');
        return;
      }
      assert.equal(res.verdict, TC_ACT.REDIRECT, shown);
      const inp = parsePacket(input);
      const out = parsePacket(res.packet);
      if (want.verdict === 'reject') {
        assert.equal(out.eth.dst, HOST_MAC[want.port], 'dst MAC from the client route');
        assert.equal(out.eth.src, PORT_MAC[want.port]);
        assert.ok(out.ipv4 && out.ipv4.checksumOk && out.ipv4.ihl === 5, shown);
        assert.equal(out.ipv4.src, want.src);
        assert.equal(out.ipv4.dst, want.dst);
        assert.equal(out.ipv4.totalLength, res.packet.length - 14);
        if (want.rst) {
          assert.ok(out.tcp?.checksumOk, shown);
          assert.equal(out.tcp.sport, want.sport);
          assert.equal(out.tcp.dport, want.dport);
          assert.ok(out.tcp.flags.includes('RST'), shown);
          assert.equal(out.tcp.seq, want.rst.seq);
          assert.equal(out.tcp.ack, want.rst.ack);
        } else {
          assert.ok(out.icmp?.checksumOk, shown);
          assert.equal(out.icmp.type, 3);
          assert.equal(out.icmp.code, 3);
          const quoted = parsePacket(Buffer.concat([res.packet.subarray(0, 14), out.icmp.payload]));
          assert.equal(quoted.ipv4?.ihl, 5, 'the quoted header is the one the client sent: no shim');
          assert.ok(quoted.ipv4?.checksumOk);
          assert.equal(quoted.ipv4?.src, want.dst);
          assert.equal(quoted.ipv4?.dst, VIP);
          assert.equal(out.icmp.payload.readUInt16BE(20), want.icmp!.sport);
          assert.equal(out.icmp.payload.readUInt16BE(22), want.icmp!.dport);
        }
        return;
      }
      assert.equal(out.eth.dst, HOST_MAC[want.port], 'dst MAC from the route');
      assert.equal(out.eth.src, PORT_MAC[want.port], 'src MAC of the egress port');
      assert.ok(out.ipv4, shown);
      assert.equal(out.ipv4.src, want.src);
      assert.equal(out.ipv4.dst, want.dst);
      assert.equal(out.ipv4.ttl, want.ttl ?? inp.ipv4!.ttl - 1);
      assert.ok(out.ipv4.checksumOk, `IPv4 header checksum: ${shown}`);
      assert.equal(out.ipv4.totalLength, res.packet.length - 14, 'tot_len matches the packet');
      if (want.shim === null) {
        assert.equal(out.ipv4.ihl, 5);
        assert.equal(out.ipv4.shim, undefined);
      } else if (want.shim) {
        assert.equal(out.ipv4.ihl, 8);
        assert.deepEqual(
          { kind: out.ipv4.shim?.kind, frontendId: out.ipv4.shim?.frontendId, backendId: out.ipv4.shim?.backendId, flags: out.ipv4.shim?.flags },
          { flags: 0, ...want.shim },
        );
      }
      const l4 = out.tcp ?? out.udp;
      const inL4 = inp.tcp ?? inp.udp;
      assert.ok(l4 && inL4);
      if (want.sport !== undefined) assert.equal(l4.sport, want.sport);
      if (want.dport !== undefined) assert.equal(l4.dport, want.dport);
      assert.deepEqual(l4.payload, inL4.payload, 'payload intact');
      if (out.udp && inp.udp?.checksum === 0) assert.equal(out.udp.checksum, 0, 'UDP checksum 0 stays 0');
      else assert.ok(l4.checksumOk, `L4 checksum: ${shown}`);
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

function fixIpChecksum(b: Buffer): Buffer {
  const ihl = (b[14]! & 0xf) * 4;
  b.writeUInt16BE(0, 14 + 10);
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += b.readUInt16BE(14 + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 14 + 10);
  return b;
}
