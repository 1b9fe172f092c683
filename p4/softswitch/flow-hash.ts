// The data plane's flow hash, in TypeScript: bpf/include/switch_hash.h's
// sw_jhash_3words over (saddr, daddr, sport << 16 | dport ^ proto), exactly as
// bpf/switch.bpf.c computes it, so tests and the disruption measurement can
// predict which Maglev slot a flow lands in.

const JHASH_INITVAL = 0xdeadbeef;

function rol32(w: number, s: number): number {
  return ((w << s) | (w >>> (32 - s))) >>> 0;
}

export function jhash3words(a0: number, b0: number, c0: number, seed = 0): number {
  const init = (JHASH_INITVAL + 12 + seed) >>> 0;
  let a = (a0 + init) >>> 0;
  let b = (b0 + init) >>> 0;
  let c = (c0 + init) >>> 0;
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

/** A 5-tuple as the program sees it (addresses dotted, ports in host terms). */
export interface FiveTuple {
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  proto: number;
}

/** The __be32 of an address read as a host-order (little-endian) u32, as the C code does. */
function beAddrAsHost(addr: string): number {
  const p = addr.split('.').map(Number);
  return ((p[3]! << 24) | (p[2]! << 16) | (p[1]! << 8) | p[0]!) >>> 0;
}

/** The __be16 of a port read as a host-order u16. */
function bePortAsHost(port: number): number {
  return ((port & 0xff) << 8) | (port >>> 8);
}

/** The flow hash of bpf/switch.bpf.c (on a little-endian host); `clientIp`: ClientIP affinity (source port left out). */
export function flowHash(t: FiveTuple, opts: { clientIp?: boolean } = {}): number {
  const sport = opts.clientIp ? 0 : bePortAsHost(t.sport);
  const ports = ((sport << 16) | bePortAsHost(t.dport)) >>> 0;
  return jhash3words(beAddrAsHost(t.saddr), beAddrAsHost(t.daddr), (ports ^ t.proto) >>> 0, 0);
}
