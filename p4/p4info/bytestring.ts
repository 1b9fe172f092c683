// P4Runtime bytestrings: unsigned integers, big-endian. The canonical form
// is the shortest encoding (bit<16> 80 is "\x50"; zero is one zero byte).
// Servers accept zero-padded values and always return canonical ones.

export class BytestringError extends Error {
  override name = 'BytestringError';
}

/** Bytes needed for a field of this width. */
export function byteWidth(bitwidth: number): number {
  return Math.ceil(bitwidth / 8);
}

/** The unsigned big-endian value of the bytes. */
export function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

/** Whether the value the bytes hold fits in bitwidth bits (leading zero bytes allowed). */
export function fitsWidth(bytes: Uint8Array, bitwidth: number): boolean {
  if (bytes.length === 0) return false;
  // No BigInt here: this runs for every field of every update.
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const significant = bytes.length - start;
  const full = Math.ceil(bitwidth / 8);
  if (significant < full) return true;
  if (significant > full) return false;
  const topBits = bitwidth - 8 * (full - 1);
  return bytes[start] < 2 ** topBits;
}

/** The canonical (shortest, at least one byte) encoding of a value. */
export function encodeCanonical(value: bigint | number, bitwidth?: number): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new BytestringError(`negative value ${v}`);
  if (bitwidth !== undefined && v >= 1n << BigInt(bitwidth)) {
    throw new BytestringError(`${v} does not fit in ${bitwidth} bits`);
  }
  const out: number[] = [];
  do {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return Buffer.from(out);
}

/** Drops leading zero bytes (keeping one byte for zero). */
export function canonicalize(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return Buffer.from(bytes.subarray(start));
}

/** Whether the bytes are already in canonical form. */
export function isCanonical(bytes: Uint8Array): boolean {
  return bytes.length > 0 && (bytes.length === 1 || bytes[0] !== 0);
}

/** The value at the field's full byte width, zero-padded (what a map key wants). */
export function padToWidth(bytes: Uint8Array, bitwidth: number): Buffer {
  if (!fitsWidth(bytes, bitwidth)) {
    throw new BytestringError(`0x${Buffer.from(bytes).toString('hex') || '(empty)'} does not fit in ${bitwidth} bits`);
  }
  const width = byteWidth(bitwidth);
  if (bytes.length === width) return Buffer.from(bytes);
  const canonical = canonicalize(bytes);
  const out = Buffer.alloc(width);
  canonical.copy(out, width - canonical.length);
  return out;
}

/** IPv4 dotted quad -> 4 bytes. */
export function ipv4ToBytes(text: string): Buffer {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new BytestringError(`'${text}' is not an IPv4 address`);
  }
  return Buffer.from(parts.map(Number));
}

/** Any-length bytes of a 32-bit value -> dotted quad. */
export function bytesToIpv4(bytes: Uint8Array): string {
  const full = padToWidth(bytes, 32);
  return [...full].join('.');
}

/** MAC 'aa:bb:cc:dd:ee:ff' (or with '-') -> 6 bytes. */
export function macToBytes(text: string): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new BytestringError(`'${text}' is not a MAC address`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function bytesToMac(bytes: Uint8Array): string {
  return [...padToWidth(bytes, 48)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A value the controller may give: a number, a bigint, a decimal/hex string, a dotted IPv4, a MAC, or raw bytes. */
export type ValueInput = number | bigint | string | Uint8Array;

/** Encodes a value for a field of this width, canonically; dotted and colon forms are recognised by shape. */
export function encodeValue(value: ValueInput, bitwidth: number): Buffer {
  if (value instanceof Uint8Array) {
    if (!fitsWidth(value, bitwidth)) throw new BytestringError(`0x${Buffer.from(value).toString('hex')} does not fit in ${bitwidth} bits`);
    return canonicalize(value);
  }
  if (typeof value === 'string') {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(value)) return encodeValue(ipv4ToBytes(value), bitwidth);
    if (/^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2}){5}$/.test(value)) return encodeValue(macToBytes(value), bitwidth);
    if (!/^(\d+|0[xX][0-9a-fA-F]+)$/.test(value)) throw new BytestringError(`'${value}' is not a number, IPv4 or MAC address`);
    return encodeCanonical(BigInt(value), bitwidth);
  }
  if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) {
    throw new BytestringError(`${value} is not a non-negative integer`);
  }
  return encodeCanonical(value, bitwidth);
}

/**
 * How a value is shown to people and in `talaria switch tables --json`:
 * 32-bit address fields dotted, 48-bit MAC fields with colons, the rest
 * decimal. `name` is the match field or parameter name.
 */
export function formatValue(bytes: Uint8Array, bitwidth: number, name: string): string {
  if (bitwidth === 32 && /addr/i.test(name)) return bytesToIpv4(bytes);
  if (bitwidth === 48 && /mac/i.test(name)) return bytesToMac(bytes);
  return toBigInt(bytes).toString(10);
}
