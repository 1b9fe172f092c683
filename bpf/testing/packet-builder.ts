// Builds and parses the packets of the table-driven data-plane tests:
// Ethernet / IPv4 (optionally with the Talaria shim) / IPv6 (optionally with
// the shim's Destination Options form) / TCP / UDP / ICMP, with correct IPv4
// header and L4 checksums unless a test overrides one to craft a bad packet.
// parsePacket(buildPacket(spec)) returns the spec's shape plus checksum flags.
import { formatIpv6, ipv4 as ipv4Codec, mac as macCodec, parseIpv6 } from '../loader/codec.js';
import {
  TALARIA_DSTOPT_LEN,
  TALARIA_OPT_LEN,
  TALARIA_OPT_TYPE,
  decodeShim,
  decodeShim6,
  encodeShim,
  encodeShim6,
} from '../layouts/shim.js';
import type { Shim } from '../layouts/shim.js';

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_ICMPV6 = 58;
/** IPv4 flag bits as they sit in the 3-bit flags field. */
export const IP_DF = 0x2;
export const IP_MF = 0x1;

/** TCP flag bits, in the order parsePacket lists them. */
export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;
export type TcpFlagName = keyof typeof TCP_FLAGS;

export const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
export const DEFAULT_DST_MAC = '02:00:00:00:00:02';

export type Payload = Buffer | string;

export interface EthSpec {
  src?: string;
  dst?: string;
  /** EtherType; derived from the L3 layer when omitted. */
  type?: number;
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  ttl?: number;
  tos?: number;
  id?: number;
  /** IP_DF / IP_MF bits. */
  flags?: number;
  fragOffset?: number;
  /** Derived from the L4 layer when omitted. */
  protocol?: number;
  /** The Talaria option right after the base header. */
  shim?: Shim;
  /** Other raw options (after the shim), padded to 4 bytes with zeros (EOL). */
  options?: Buffer;
  /** Force a header checksum (e.g. a wrong one). */
  checksum?: number;
}

export interface Ipv6Spec {
  src: string;
  dst: string;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** Upper-layer protocol; derived from the L4 layer when omitted. */
  nextHeader?: number;
  /** Carried in a Destination Options header before the upper layer. */
  shim?: Shim;
}

export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Names (['SYN', 'ACK']) or the raw flag byte. */
  flags?: readonly TcpFlagName[] | number;
  window?: number;
  urg?: number;
  /** Raw TCP options, padded to 4 bytes with zeros. */
  options?: Buffer;
  payload?: Payload;
  checksum?: number;
}

export interface UdpSpec {
  sport: number;
  dport: number;
  payload?: Payload;
  checksum?: number;
}

/** ICMP over IPv4, ICMPv6 over IPv6; id/seq fill the 4 bytes after the checksum. */
export interface IcmpSpec {
  type: number;
  code?: number;
  id?: number;
  seq?: number;
  payload?: Payload;
  checksum?: number;
}

export interface PacketSpec {
  eth?: EthSpec;
  ipv4?: Ipv4Spec;
  ipv6?: Ipv6Spec;
  tcp?: TcpSpec;
  udp?: UdpSpec;
  icmp?: IcmpSpec;
  /** Bytes after the last header when there is no L4 header (or no IP at all). */
  payload?: Payload;
}

export interface ParsedPacket {
  eth: Required<EthSpec>;
  ipv4?: Omit<Required<Ipv4Spec>, 'shim' | 'options'> & { shim?: Required<Shim>; options?: Buffer; ihl: number; totalLength: number; checksumOk: boolean };
  ipv6?: Omit<Required<Ipv6Spec>, 'shim'> & { shim?: Required<Shim>; payloadLength: number };
  tcp?: Omit<Required<TcpSpec>, 'flags' | 'payload' | 'options'> & { flags: TcpFlagName[]; payload: Buffer; options?: Buffer; checksumOk: boolean };
  udp?: Omit<Required<UdpSpec>, 'payload'> & { length: number; payload: Buffer; checksumOk: boolean };
  icmp?: Omit<Required<IcmpSpec>, 'payload'> & { payload: Buffer; checksumOk: boolean };
  payload?: Buffer;
  /** Set when the buffer ends before a header does. */
  truncated?: string;
}

const toBuf = (p: Payload | undefined): Buffer => (p === undefined ? Buffer.alloc(0) : typeof p === 'string' ? Buffer.from(p) : p);
const pad4 = (b: Buffer): Buffer => (b.length % 4 ? Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]) : b);

/** The Internet checksum (RFC 1071) of some buffers, as if concatenated; the buffers except the last must be of even length. */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  for (const b of parts) {
    let i = 0;
    for (; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    if (i < b.length) sum += b[i]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudoHeader(l3: { v4?: Ipv4Spec; v6?: Ipv6Spec }, proto: number, length: number): Buffer {
  if (l3.v4) {
    const b = Buffer.alloc(12);
    ipv4Codec.encode(l3.v4.src, b, 0);
    ipv4Codec.encode(l3.v4.dst, b, 4);
    b[9] = proto;
    b.writeUInt16BE(length, 10);
    return b;
  }
  const b = Buffer.alloc(40);
  parseIpv6(l3.v6!.src, b, 0);
  parseIpv6(l3.v6!.dst, b, 16);
  b.writeUInt32BE(length, 32);
  b[39] = proto;
  return b;
}

function tcpFlagByte(flags: TcpSpec['flags']): number {
  if (flags === undefined) return 0;
  if (typeof flags === 'number') return flags;
  return flags.reduce((acc, f) => acc | TCP_FLAGS[f], 0);
}

function buildL4(spec: PacketSpec, l3: { v4?: Ipv4Spec; v6?: Ipv6Spec }): { proto: number; bytes: Buffer } | undefined {
  const layers = [spec.tcp, spec.udp, spec.icmp].filter(Boolean).length;
  if (layers > 1) throw new TypeError('buildPacket: give at most one of tcp, udp, icmp');
  const ip = l3.v4 || l3.v6;
  if (spec.tcp) {
    const t = spec.tcp;
    const opts = pad4(t.options ?? Buffer.alloc(0));
    const payload = toBuf(t.payload);
    const h = Buffer.alloc(20 + opts.length);
    h.writeUInt16BE(t.sport, 0);
    h.writeUInt16BE(t.dport, 2);
    h.writeUInt32BE((t.seq ?? 0) >>> 0, 4);
    h.writeUInt32BE((t.ack ?? 0) >>> 0, 8);
    h[12] = ((20 + opts.length) / 4) << 4;
    h[13] = tcpFlagByte(t.flags);
    h.writeUInt16BE(t.window ?? 65535, 14);
    h.writeUInt16BE(t.urg ?? 0, 18);
    opts.copy(h, 20);
    const seg = Buffer.concat([h, payload]);
    const csum = t.checksum ?? (ip ? internetChecksum(pseudoHeader(l3, IPPROTO_TCP, seg.length), seg) : 0);
    seg.writeUInt16BE(csum, 16);
    return { proto: IPPROTO_TCP, bytes: seg };
  }
  if (spec.udp) {
    const u = spec.udp;
    const seg = Buffer.concat([Buffer.alloc(8), toBuf(u.payload)]);
    seg.writeUInt16BE(u.sport, 0);
    seg.writeUInt16BE(u.dport, 2);
    seg.writeUInt16BE(seg.length, 4);
    let csum = u.checksum;
    if (csum === undefined) {
      csum = ip ? internetChecksum(pseudoHeader(l3, IPPROTO_UDP, seg.length), seg) : 0;
      if (ip && csum === 0) csum = 0xffff; // 0 means "no checksum" in UDP
    }
    seg.writeUInt16BE(csum, 6);
    return { proto: IPPROTO_UDP, bytes: seg };
  }
  if (spec.icmp) {
    const c = spec.icmp;
    const seg = Buffer.concat([Buffer.alloc(8), toBuf(c.payload)]);
    seg[0] = c.type;
    seg[1] = c.code ?? 0;
    seg.writeUInt16BE(c.id ?? 0, 4);
    seg.writeUInt16BE(c.seq ?? 0, 6);
    const proto = l3.v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    const csum = c.checksum ?? (l3.v6 ? internetChecksum(pseudoHeader(l3, proto, seg.length), seg) : internetChecksum(seg));
    seg.writeUInt16BE(csum, 2);
    return { proto, bytes: seg };
  }
  return undefined;
}

/** Builds an Ethernet frame from a layered spec. */
export function buildPacket(spec: PacketSpec): Buffer {
  if (spec.ipv4 && spec.ipv6) throw new TypeError('buildPacket: give ipv4 or ipv6, not both');
  const l4 = buildL4(spec, { v4: spec.ipv4, v6: spec.ipv6 });
  const upper = l4 ? l4.bytes : toBuf(spec.payload);
  let l3: Buffer = upper;
  let ethType = spec.eth?.type;
  if (spec.ipv4) {
    const s = spec.ipv4;
    const shim = Buffer.alloc(s.shim ? TALARIA_OPT_LEN : 0);
    if (s.shim) encodeShim(s.shim, shim, 0);
    const opts = pad4(Buffer.concat([shim, s.options ?? Buffer.alloc(0)]));
    const ihl = (20 + opts.length) / 4;
    if (ihl > 15) throw new RangeError(`buildPacket: IPv4 options of ${opts.length} bytes do not fit`);
    const h = Buffer.alloc(20 + opts.length);
    h[0] = 0x40 | ihl;
    h[1] = s.tos ?? 0;
    h.writeUInt16BE(h.length + upper.length, 2);
    h.writeUInt16BE(s.id ?? 0, 4);
    h.writeUInt16BE(((s.flags ?? 0) << 13) | (s.fragOffset ?? 0), 6);
    h[8] = s.ttl ?? 64;
    h[9] = s.protocol ?? l4?.proto ?? 0;
    ipv4Codec.encode(s.src, h, 12);
    ipv4Codec.encode(s.dst, h, 16);
    opts.copy(h, 20);
    h.writeUInt16BE(s.checksum ?? internetChecksum(h), 10);
    l3 = Buffer.concat([h, upper]);
    ethType ??= ETH_P_IP;
  } else if (spec.ipv6) {
    const s = spec.ipv6;
    const proto = s.nextHeader ?? l4?.proto ?? 59; // 59: no next header
    let ext = Buffer.alloc(0);
    if (s.shim) {
      ext = Buffer.alloc(TALARIA_DSTOPT_LEN);
      encodeShim6(s.shim, proto, ext, 0);
    }
    const h = Buffer.alloc(40);
    h.writeUInt32BE(((6 << 28) | ((s.trafficClass ?? 0) << 20) | (s.flowLabel ?? 0)) >>> 0, 0);
    h.writeUInt16BE(ext.length + upper.length, 4);
    h[6] = s.shim ? IPPROTO_DSTOPTS : proto;
    h[7] = s.hopLimit ?? 64;
    parseIpv6(s.src, h, 8);
    parseIpv6(s.dst, h, 24);
    l3 = Buffer.concat([h, ext, upper]);
    ethType ??= ETH_P_IPV6;
  }
  if (ethType === undefined) throw new TypeError('buildPacket: eth.type is needed when there is no IP layer');
  const eth = Buffer.alloc(14);
  macCodec.encode(spec.eth?.dst ?? DEFAULT_DST_MAC, eth, 0);
  macCodec.encode(spec.eth?.src ?? DEFAULT_SRC_MAC, eth, 6);
  eth.writeUInt16BE(ethType, 12);
  return Buffer.concat([eth, l3]);
}

function flagNames(b: number): TcpFlagName[] {
  return (Object.keys(TCP_FLAGS) as TcpFlagName[]).filter((f) => b & TCP_FLAGS[f]);
}

function parseL4(out: ParsedPacket, proto: number, seg: Buffer, l3: { v4?: Ipv4Spec; v6?: Ipv6Spec }): void {
  if (proto === IPPROTO_TCP) {
    if (seg.length < 20) return void (out.truncated = 'tcp');
    const doff = (seg[12]! >> 4) * 4;
    if (seg.length < doff) return void (out.truncated = 'tcp options');
    out.tcp = {
      sport: seg.readUInt16BE(0),
      dport: seg.readUInt16BE(2),
      seq: seg.readUInt32BE(4),
      ack: seg.readUInt32BE(8),
      flags: flagNames(seg[13]!),
      window: seg.readUInt16BE(14),
      checksum: seg.readUInt16BE(16),
      urg: seg.readUInt16BE(18),
      payload: Buffer.from(seg.subarray(doff)),
      checksumOk: internetChecksum(pseudoHeader(l3, IPPROTO_TCP, seg.length), seg) === 0,
      ...(doff > 20 ? { options: Buffer.from(seg.subarray(20, doff)) } : {}),
    };
  } else if (proto === IPPROTO_UDP) {
    if (seg.length < 8) return void (out.truncated = 'udp');
    const length = seg.readUInt16BE(4);
    const body = seg.subarray(0, Math.min(length, seg.length));
    const checksum = seg.readUInt16BE(6);
    out.udp = {
      sport: seg.readUInt16BE(0),
      dport: seg.readUInt16BE(2),
      length,
      checksum,
      payload: Buffer.from(body.subarray(8)),
      checksumOk: (checksum === 0 && !!l3.v4) || internetChecksum(pseudoHeader(l3, IPPROTO_UDP, body.length), body) === 0,
    };
  } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    if (seg.length < 8) return void (out.truncated = 'icmp');
    out.icmp = {
      type: seg[0]!,
      code: seg[1]!,
      checksum: seg.readUInt16BE(2),
      id: seg.readUInt16BE(4),
      seq: seg.readUInt16BE(6),
      payload: Buffer.from(seg.subarray(8)),
      checksumOk: (proto === IPPROTO_ICMPV6 ? internetChecksum(pseudoHeader(l3, proto, seg.length), seg) : internetChecksum(seg)) === 0,
    };
  } else {
    out.payload = Buffer.from(seg);
  }
}

/** Parses an Ethernet frame into the shape buildPacket takes, plus lengths and checksum validity. */
export function parsePacket(buf: Buffer): ParsedPacket {
  if (buf.length < 14) throw new RangeError(`parsePacket: ${buf.length} bytes is shorter than an Ethernet header`);
  const out: ParsedPacket = { eth: { dst: macCodec.decode(buf, 0), src: macCodec.decode(buf, 6), type: buf.readUInt16BE(12) } };
  const l3 = buf.subarray(14);
  if (out.eth.type === ETH_P_IP) {
    if (l3.length < 20) return { ...out, truncated: 'ipv4' };
    const ihl = l3[0]! & 0xf;
    const totalLength = l3.readUInt16BE(2);
    if (l3.length < ihl * 4) return { ...out, truncated: 'ipv4 options' };
    const opts = l3.subarray(20, ihl * 4);
    const shim = opts[0] === TALARIA_OPT_TYPE ? decodeShim(opts, 0) : undefined;
    const rest = shim ? opts.subarray(TALARIA_OPT_LEN) : opts;
    const fragWord = l3.readUInt16BE(6);
    const v4 = {
      src: ipv4Codec.decode(l3, 12),
      dst: ipv4Codec.decode(l3, 16),
      ttl: l3[8]!,
      tos: l3[1]!,
      id: l3.readUInt16BE(4),
      flags: fragWord >> 13,
      fragOffset: fragWord & 0x1fff,
      protocol: l3[9]!,
      checksum: l3.readUInt16BE(10),
      ihl,
      totalLength,
      checksumOk: internetChecksum(l3.subarray(0, ihl * 4)) === 0,
      ...(shim ? { shim } : {}),
      ...(rest.length ? { options: Buffer.from(rest) } : {}),
    };
    out.ipv4 = v4;
    parseL4(out, v4.protocol, l3.subarray(ihl * 4, Math.min(totalLength, l3.length)), { v4 });
  } else if (out.eth.type === ETH_P_IPV6) {
    if (l3.length < 40) return { ...out, truncated: 'ipv6' };
    const word = l3.readUInt32BE(0);
    const payloadLength = l3.readUInt16BE(4);
    let next = l3[6]!;
    let off = 40;
    let shim: Required<Shim> | undefined;
    if (next === IPPROTO_DSTOPTS && l3.length >= off + 8) {
      const len = (l3[off + 1]! + 1) * 8;
      shim = decodeShim6(l3, off + 2, off + len);
      next = l3[off]!;
      off += len;
    }
    const v6 = {
      src: formatIpv6(l3, 8),
      dst: formatIpv6(l3, 24),
      hopLimit: l3[7]!,
      trafficClass: (word >>> 20) & 0xff,
      flowLabel: word & 0xfffff,
      nextHeader: next,
      payloadLength,
      ...(shim ? { shim } : {}),
    };
    out.ipv6 = v6;
    parseL4(out, next, l3.subarray(off, Math.min(40 + payloadLength, l3.length)), { v6 });
  } else {
    out.payload = Buffer.from(l3);
  }
  return out;
}

/** A one-line summary for test names and assertion messages. */
export function describePacket(buf: Buffer): string {
  const p = parsePacket(buf);
  const parts = [`${p.eth.src} > ${p.eth.dst}`];
  const shimText = (s: Required<Shim>): string => `shim kind=${s.kind} fe=${s.frontendId} be=${s.backendId}${s.flags ? ` flags=${s.flags}` : ''}`;
  if (p.ipv4) parts.push(`IPv4 ${p.ipv4.src} > ${p.ipv4.dst} ttl=${p.ipv4.ttl}${p.ipv4.checksumOk ? '' : ' BAD-IP-CSUM'}`, ...(p.ipv4.shim ? [shimText(p.ipv4.shim)] : []));
  else if (p.ipv6) parts.push(`IPv6 ${p.ipv6.src} > ${p.ipv6.dst} hlim=${p.ipv6.hopLimit}`, ...(p.ipv6.shim ? [shimText(p.ipv6.shim)] : []));
  else parts.push(`ethertype 0x${p.eth.type.toString(16).padStart(4, '0')}`);
  const bad = (ok: boolean): string => (ok ? '' : ' BAD-CSUM');
  if (p.tcp) parts.push(`TCP ${p.tcp.sport} > ${p.tcp.dport} [${p.tcp.flags.join(',')}] len=${p.tcp.payload.length}${bad(p.tcp.checksumOk)}`);
  if (p.udp) parts.push(`UDP ${p.udp.sport} > ${p.udp.dport} len=${p.udp.payload.length}${bad(p.udp.checksumOk)}`);
  if (p.icmp) parts.push(`ICMP type=${p.icmp.type} code=${p.icmp.code} id=${p.icmp.id} seq=${p.icmp.seq}${bad(p.icmp.checksumOk)}`);
  if (p.truncated) parts.push(`truncated in ${p.truncated}`);
  return parts.join(' | ');
}
