// Address parsing for the model: Kubernetes fields arrive as strings and may
// be wrong; the desired state needs a canonical text form to key entities by.
import { isIPv4, isIPv6 } from 'node:net';
// The IPv6 text <-> bytes conversions the map codecs use (pure functions).
import { formatIpv6, parseIpv6 } from '../bpf/loader/codec.js';

export type IpFamily = 4 | 6;

/** Canonical text of an IP address, or undefined when it is not one. */
export function canonicalIp(text: string | undefined): { ip: string; family: IpFamily } | undefined {
  if (text === undefined) return undefined;
  if (isIPv4(text)) {
    // node accepts only dotted quads without leading zeros; already canonical.
    return { ip: text, family: 4 };
  }
  if (isIPv6(text)) {
    return { ip: canonicalIpv6(text), family: 6 };
  }
  return undefined;
}

/** The address as big-endian bytes (4 or 16). */
export function ipBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  return Uint8Array.from(parseIpv6(ip));
}

/** Inverse of ipBytes. */
export function ipFromBytes(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) throw new Error(`address of ${b.length} bytes`);
  return formatIpv6(Buffer.from(b));
}

/** Parses "a.b.c.d/len" (or IPv6); undefined when malformed. Host bits are cleared. */
export function parseCidr(text: string | undefined): { ip: string; prefixLen: number; family: IpFamily } | undefined {
  if (text === undefined) return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = canonicalIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  const bits = addr.family === 4 ? 32 : 128;
  if (prefixLen > bits) return undefined;
  const bytes = ipBytes(addr.ip);
  for (let bit = prefixLen; bit < bits; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { ip: ipFromBytes(bytes), prefixLen, family: addr.family };
}

/** RFC 5952 form: lower case, no leading zeros, the longest zero run as "::". */
function canonicalIpv6(ip: string): string {
  return formatIpv6(parseIpv6(ip));
}

/** Whether ip lies in cidr (a parseCidr result); addresses of the other family never do. */
export function cidrContains(cidr: { ip: string; prefixLen: number; family: IpFamily }, ip: string): boolean {
  const a = canonicalIp(ip);
  if (!a || a.family !== cidr.family) return false;
  const x = ipBytes(a.ip);
  const net = ipBytes(cidr.ip);
  for (let bit = 0; bit < cidr.prefixLen; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((x[bit >> 3]! & mask) !== (net[bit >> 3]! & mask)) return false;
  }
  return true;
}
