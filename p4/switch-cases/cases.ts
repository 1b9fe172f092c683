// The switch's packet cases, as data: the table entries every target gets
// (written as P4Runtime entities) and, per case, an input frame and what
// must come out: a rewritten packet on a port, a reject answer, or nothing
// (dropped, or left to the switch's own stack). One table for every target:
// the eBPF switch runs it through BPF_PROG_TEST_RUN (p4/softswitch/
// pipeline.test.ts), talaria.p4 on BMv2 through real ports (p4/bmv2/
// pipeline.test.ts); p4/switch-cases/check.ts holds the assertions both use.
//
// Ports: 1 leads to node 1 (pods 10.244.1.0/24, the client), 2 to node 2
// (the backends), 3 to the outside (203.0.113.0/24, shim stripped).
import type { Entity } from '../proto/types.js';
import { buildPacket, type PacketSpec } from '../../bpf/testing/packet-builder.js';
import { TalariaKind } from '../../bpf/layouts/shim.js';
import type { TalariaEntities } from '../softswitch/wire-entities.js';

export const TCP = 6;
export const UDP = 17;
export const VIP = '10.96.0.10';
export const CLIENT = '10.244.1.2';
export const EXTERNAL = '203.0.113.9';
export const BACKENDS = { 101: { addr: '10.244.2.5', port: 8080 }, 102: { addr: '10.244.2.6', port: 8080 }, 103: { addr: '10.244.2.7', port: 8080 } } as const;
export const PORT_MAC = { 1: '02:00:00:00:01:01', 2: '02:00:00:00:01:02', 3: '02:00:00:00:01:03' } as const;
export const HOST_MAC = { 1: 'aa:00:00:00:00:01', 2: 'aa:00:00:00:00:02', 3: 'aa:00:00:00:00:03' } as const;
// Group 70 (frontend 7, TCP 80): members 1, 2 -> backends 101, 102, equal weights.
export const GROUP70 = [[1, 1], [2, 1]] as const;
/** A LoadBalancer IP (frontend 20, TCP 80, group 70) open to 203.0.113.0/28 and to CLIENT only (loadBalancerSourceRanges). */
export const LB_IP = '198.51.100.10';
export const FLAG_SOURCE_RANGES = 0x04;
export const MEMBER_BACKEND: Record<number, 101 | 102 | 103> = { 1: 101, 2: 102, 3: 103 };



/** The entries of the case table, in write order. */
export function caseEntities(e: TalariaEntities): Entity[] {
  const out: Entity[] = [];
  out.push(e.route('10.244.1.0/24', { kind: 'to_port', port: 1, dstMac: HOST_MAC[1] }));
  out.push(e.route('10.244.2.0/24', { kind: 'to_port', port: 2, dstMac: HOST_MAC[2] }));
  out.push(e.route('203.0.113.0/24', { kind: 'to_external', port: 3, dstMac: HOST_MAC[3] }));
  out.push(e.route('192.0.2.0/24', { kind: 'drop' }));
  for (const p of [1, 2, 3] as const) out.push(e.egressPort(p, PORT_MAC[p]));
  for (const [id, b] of [[1, 101], [2, 102]] as const) out.push(e.member(id, b, BACKENDS[b].addr, BACKENDS[b].port));
  out.push(e.member(3, 101, BACKENDS[101].addr, 5353));
  out.push(e.group(70, GROUP70, 16));
  out.push(e.frontend(VIP, 80, TCP, 7, 0x10));
  out.push(e.backendSelect(7, { groupId: 70 }));
  out.push(e.frontend(VIP, 53, UDP, 8));
  out.push(e.backendSelect(8, { memberId: 3 }));
  out.push(e.frontend(VIP, 81, TCP, 9)); // a frontend with no selection
  out.push(e.frontend(VIP, 82, TCP, 10, 0x1)); // flagged reject (no endpoints)
  out.push(e.frontend(VIP, 83, UDP, 11, 0x1));
  out.push(e.backend(10, 101, BACKENDS[101].addr, 8080)); // a terminating backend, still pinned
  for (const b of [101, 102] as const) out.push(e.backend(7, b, BACKENDS[b].addr, BACKENDS[b].port));
  out.push(e.backend(8, 101, BACKENDS[101].addr, 5353));
  out.push(e.reverseNat(7, VIP, 80));
  out.push(e.reverseNat(8, VIP, 53));
  out.push(e.sourceRange(20, '203.0.113.0/28'));
  out.push(e.sourceRange(20, `${CLIENT}/32`));
  out.push(e.frontend(LB_IP, 80, TCP, 20, FLAG_SOURCE_RANGES));
  out.push(e.backendSelect(20, { groupId: 70 }));
  for (const b of [101, 102] as const) out.push(e.backend(20, b, BACKENDS[b].addr, BACKENDS[b].port));
  out.push(e.reverseNat(20, LB_IP, 80));
  return out;
}

/** The port a frame from `src` arrives on (the port its source is routed to). */
export function ingressPort(src: string): 1 | 2 | 3 {
  if (src.startsWith('10.244.2.')) return 2;
  if (src.startsWith('203.0.113.')) return 3;
  return 1;
}

export const tcp = (sport: number, dport: number) => ({ tcp: { sport, dport, flags: ['SYN'] as const, seq: 1, payload: 'hello' } });

/** Where a NEW flow to a group lands: one of `among`; a target that documents its selection also predicts which. */
export interface GroupPick {
  /** daddr: the frontend's address, VIP when absent (TCP to port 80 either way). */
  flow: { saddr: string; sport: number; daddr?: string };
  among: readonly (101 | 102)[];
}

export type Expect =
  | { verdict: 'redirect'; port: 1 | 2 | 3; src: string; sport?: number; dst?: string; dport?: number; ttl?: number; pick?: GroupPick; shim?: { kind: number; frontendId: number; backendId?: number; flags?: number } | null }
  | { verdict: 'reject'; port: 1 | 2 | 3; src: string; sport?: number; dst: string; dport?: number; rst?: { seq: number; ack: number }; icmp?: { sport: number; dport: number } }
  /** Nothing leaves a port; the eBPF switch counts it under this drop reason (bpf/layouts/switch-maps.ts DROP_REASONS). */
  | { verdict: 'drop'; reason: string }
  /** Nothing leaves a port: it is the switch's own stack's (the eBPF switch passes it to its kernel, counted under PASS_REASONS). */
  | { verdict: 'pass'; reason: string };

export interface SwitchCase {
  name: string;
  packet: () => PacketSpec | Buffer;
  expect: () => Expect;
}

export const CASES: SwitchCase[] = [
  {
    name: 'NEW TCP to a frontend -> TO_BACKEND, destination and checksums rewritten',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(40000, 80) }),
    expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, sport: 40000, pick: { flow: { saddr: CLIENT, sport: 40000 }, among: [101, 102] }, dport: 8080, ttl: 63, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, flags: 0x10 } }),
  },
  {
    name: 'NEW UDP to a single-member frontend',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 8, backendId: 0 } }, udp: { sport: 5000, dport: 53, payload: 'q' } }),
    expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, sport: 5000, dst: BACKENDS[101].addr, dport: 5353, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 8, backendId: 101 } }),
  },
  {
    name: 'shimless frontend hit from outside -> NEW, the option is added',
    packet: () => ({ ipv4: { src: EXTERNAL, dst: VIP }, ...tcp(50000, 80) }),
    expect: () => ({ verdict: 'redirect', port: 2, src: EXTERNAL, sport: 50000, pick: { flow: { saddr: EXTERNAL, sport: 50000 }, among: [101, 102] }, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, flags: 0x10 } }),
  },
  {
    name: 'PINNED -> the pinned backend, never re-hashed',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.PINNED, frontendId: 7, backendId: 102 } }, ...tcp(40001, 80) }),
    expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, dst: BACKENDS[102].addr, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, backendId: 102, flags: 0x10 } }),
  },
  {
    name: 'PINNED to a backend that is gone -> dropped and counted',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.PINNED, frontendId: 7, backendId: 999 } }, ...tcp(40002, 80) }),
    expect: () => ({ verdict: 'drop', reason: 'pinned_backend_gone' }),
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
    expect: () => ({ verdict: 'drop', reason: 'no_reverse_nat' }),
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
    expect: () => ({ verdict: 'pass', reason: 'no_route' }),
  },
  {
    name: 'NEW for an unknown frontend -> dropped',
    packet: () => ({ ipv4: { src: CLIENT, dst: '10.96.0.99', shim: { kind: TalariaKind.NEW, frontendId: 1, backendId: 0 } }, ...tcp(1, 80) }),
    expect: () => ({ verdict: 'drop', reason: 'no_frontend' }),
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
    expect: () => ({ verdict: 'drop', reason: 'no_reject' }),
  },
  {
    name: 'PINNED to a frontend flagged reject still reaches its pinned backend',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.PINNED, frontendId: 10, backendId: 101 } }, ...tcp(4444, 82) }),
    expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, dst: BACKENDS[101].addr, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 10, backendId: 101, flags: 1 } }),
  },
  {
    name: 'loadBalancerSourceRanges: a source from outside inside the ranges is served',
    packet: () => ({ ipv4: { src: EXTERNAL, dst: LB_IP }, ...tcp(50001, 80) }),
    expect: () => ({ verdict: 'redirect', port: 2, src: EXTERNAL, sport: 50001, pick: { flow: { saddr: EXTERNAL, sport: 50001, daddr: LB_IP }, among: [101, 102] }, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 20, flags: FLAG_SOURCE_RANGES } }),
  },
  {
    name: 'loadBalancerSourceRanges: a source from outside beyond the ranges is dropped, not answered',
    packet: () => ({ ipv4: { src: '203.0.113.200', dst: LB_IP }, ...tcp(50002, 80) }),
    expect: () => ({ verdict: 'drop', reason: 'source_range' }),
  },
  {
    name: 'loadBalancerSourceRanges: NEW from an allowed pod is served',
    packet: () => ({ ipv4: { src: CLIENT, dst: LB_IP, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, ...tcp(40010, 80) }),
    expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, sport: 40010, pick: { flow: { saddr: CLIENT, sport: 40010, daddr: LB_IP }, among: [101, 102] }, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 20, flags: FLAG_SOURCE_RANGES } }),
  },
  {
    name: 'loadBalancerSourceRanges: NEW from another pod is dropped',
    packet: () => ({ ipv4: { src: '10.244.1.3', dst: LB_IP, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, ...tcp(40011, 80) }),
    expect: () => ({ verdict: 'drop', reason: 'source_range' }),
  },
  {
    name: 'loadBalancerSourceRanges: PINNED is not checked (an established connection outlives a change of the ranges)',
    packet: () => ({ ipv4: { src: '10.244.1.3', dst: LB_IP, shim: { kind: TalariaKind.PINNED, frontendId: 20, backendId: 101 } }, ...tcp(40012, 80) }),
    expect: () => ({ verdict: 'redirect', port: 2, src: '10.244.1.3', dst: BACKENDS[101].addr, dport: 8080, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 20, backendId: 101, flags: FLAG_SOURCE_RANGES } }),
  },
  {
    name: 'route action drop',
    packet: () => ({ ipv4: { src: CLIENT, dst: '192.0.2.1' }, ...tcp(1, 2) }),
    expect: () => ({ verdict: 'drop', reason: 'route_drop' }),
  },
  {
    name: 'TTL 2 leaves with TTL 1',
    packet: () => ({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr, ttl: 2 }, ...tcp(1, 2) }),
    expect: () => ({ verdict: 'redirect', port: 2, src: CLIENT, dst: BACKENDS[101].addr, ttl: 1, shim: null }),
  },
  {
    name: 'TTL 1 expires',
    packet: () => ({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr, ttl: 1 }, ...tcp(1, 2) }),
    expect: () => ({ verdict: 'drop', reason: 'ttl_expired' }),
  },
  {
    name: 'shim with a wrong length -> dropped',
    packet: () => {
      const b = buildPacket({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(1, 80) });
      b[14 + 21] = 10;
      return fixIpChecksum(b);
    },
    expect: () => ({ verdict: 'drop', reason: 'malformed_shim' }),
  },
  {
    name: 'shim with version 2 -> dropped',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0, version: 2 } }, ...tcp(1, 80) }),
    expect: () => ({ verdict: 'drop', reason: 'malformed_shim' }),
  },
  {
    name: 'shim with an unknown kind -> dropped',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: 9, frontendId: 7, backendId: 0 } }, ...tcp(1, 80) }),
    expect: () => ({ verdict: 'drop', reason: 'malformed_shim' }),
  },
  {
    name: 'TO_BACKEND arriving at the switch -> dropped',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, backendId: 101 } }, ...tcp(1, 80) }),
    expect: () => ({ verdict: 'drop', reason: 'unexpected_kind' }),
  },
  {
    name: 'shim cut short (frame ends inside the option) -> dropped',
    packet: () => buildPacket({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(1, 80) }).subarray(0, 14 + 26),
    expect: () => ({ verdict: 'drop', reason: 'malformed_ip' }),
  },
  {
    name: 'shim in a header of the wrong size (ihl 9) -> dropped',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 }, options: Buffer.from([1, 1, 1, 1]) }, ...tcp(1, 80) }),
    expect: () => ({ verdict: 'drop', reason: 'malformed_shim' }),
  },
  {
    name: 'shim on ICMP -> dropped',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, icmp: { type: 8 } }),
    expect: () => ({ verdict: 'drop', reason: 'shim_not_l4' }),
  },
  {
    name: 'shim on a fragment -> dropped',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, fragOffset: 10, protocol: TCP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, payload: Buffer.alloc(24) }),
    expect: () => ({ verdict: 'drop', reason: 'shim_fragment' }),
  },
  {
    name: 'TCP header cut short -> dropped',
    packet: () => ({ ipv4: { src: CLIENT, dst: VIP, protocol: TCP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, payload: Buffer.alloc(10) }),
    expect: () => ({ verdict: 'drop', reason: 'malformed_l4' }),
  },
  {
    // (BPF_PROG_TEST_RUN refuses frames shorter than an IPv4 header, so the broken header is an ihl of 4.)
    name: 'IPv4 header with ihl 4 -> dropped',
    packet: () => {
      const b = buildPacket({ ipv4: { src: CLIENT, dst: VIP }, ...tcp(1, 80) });
      b[14] = 0x44;
      return fixIpChecksum(b);
    },
    expect: () => ({ verdict: 'drop', reason: 'malformed_ip' }),
  },
  {
    name: 'tot_len longer than the frame -> dropped',
    packet: () => {
      const b = buildPacket({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr }, ...tcp(1, 80) });
      b.writeUInt16BE(1400, 14 + 2);
      return fixIpChecksum(b);
    },
    expect: () => ({ verdict: 'drop', reason: 'malformed_ip' }),
  },
  {
    name: 'other IPv4 options -> left to the kernel',
    packet: () => ({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr, options: Buffer.from([0x94, 4, 0, 0]) }, ...tcp(1, 80) }),
    expect: () => ({ verdict: 'pass', reason: 'ip_options' }),
  },
  {
    name: 'twelve bytes of other IPv4 options (ihl 8, no shim) -> left alone, never rewritten',
    packet: () => ({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr, options: Buffer.from([0x07, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1]) }, ...tcp(1, 80) }),
    expect: () => ({ verdict: 'pass', reason: 'ip_options' }),
  },
  {
    name: 'a bad IPv4 header checksum -> dropped, never forwarded with a fresh one',
    packet: () => {
      const b = buildPacket({ ipv4: { src: CLIENT, dst: BACKENDS[101].addr }, ...tcp(1, 80) });
      b.writeUInt16BE(b.readUInt16BE(14 + 10) ^ 0x0101, 14 + 10);
      return b;
    },
    expect: () => ({ verdict: 'drop', reason: 'bad_ip_checksum' }),
  },
  {
    name: 'a bad IPv4 header checksum over a shim -> dropped',
    packet: () => {
      const b = buildPacket({ ipv4: { src: CLIENT, dst: VIP, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } }, ...tcp(40000, 80) });
      b[14 + 20 + 11] ^= 0x01; // the shim's backend id, covered by the header checksum
      return b;
    },
    expect: () => ({ verdict: 'drop', reason: 'bad_ip_checksum' }),
  },
  {
    name: 'traffic for the switch itself -> its kernel',
    packet: () => ({ ipv4: { src: CLIENT, dst: '198.18.0.1' }, ...tcp(1, 22) }),
    expect: () => ({ verdict: 'pass', reason: 'local' }),
  },
  {
    name: 'ARP -> the kernel',
    packet: () => ({ eth: { type: 0x0806, dst: 'ff:ff:ff:ff:ff:ff' }, payload: Buffer.alloc(28) }),
    expect: () => ({ verdict: 'pass', reason: 'not_ipv4' }),
  },
  {
    name: 'IPv6 -> the kernel',
    packet: () => ({ ipv6: { src: 'fd00::1', dst: 'fd00::2' }, ...tcp(1, 80) }),
    expect: () => ({ verdict: 'pass', reason: 'not_ipv4' }),
  },
];

/** Rewrites the IPv4 header checksum of an Ethernet frame after a test damaged the header on purpose. */
export function fixIpChecksum(b: Buffer): Buffer {
  const ihl = (b[14]! & 0xf) * 4;
  b.writeUInt16BE(0, 14 + 10);
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += b.readUInt16BE(14 + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 14 + 10);
  return b;
}
