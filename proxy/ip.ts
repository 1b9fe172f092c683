// Address parsing for the model: Kubernetes fields arrive as strings and may
// be wrong; the desired state needs a canonical text form to key entities by.
import { isIPv4, isIPv6 } from 'node:net';

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
  const groups = expandIpv6(ip);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Inverse of ipBytes. */
export function ipFromBytes(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) throw new Error(`address of ${b.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  return canonicalIpv6(groups.map((g) => g.toString(16)).join(':'));
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

function expandIpv6(ip: string): number[] {
  let text = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    text = text.slice(0, v4.index) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  return [...h, ...Array<string>(fill).fill('0'), ...t].map((g) => parseInt(g, 16));
}

/** RFC 5952 form: lower case, no leading zeros, the longest zero run as "::". */
function canonicalIpv6(ip: string): string {
  const groups = expandIpv6(ip);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
