// Typed codecs for map keys and values. Each map layout is declared once in
// TypeScript with explicit offsets and total size (so padding is visible and
// zeroed) and tested against the C struct with checkLayoutAgainstBtf().
import { endianness } from 'node:os';
import { WrongSizeError } from './errors.js';

/** Encodes a value into exactly `size` bytes at an offset, and back. */
export interface Codec<T> {
  readonly size: number;
  /**
   * The C types this codec reads and writes, as the BTF check spells them
   * (btf-layout.ts: "u32", "be16", "s64", "u8[6]", "struct name"): a field
   * or map key/value of another type is a layout mismatch. Absent: unchecked.
   */
  readonly ctypes?: readonly string[];
  encode(value: T, buf: Buffer, offset: number): void;
  decode(buf: Buffer, offset: number): T;
}

/** The TypeScript value type a codec stands for. */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;

const LE = endianness() === 'LE';

function intCodec(size: 1 | 2 | 4, signed: boolean, bigEndian: boolean): Codec<number> {
  const be = bigEndian || !LE;
  return {
    size,
    ctypes: [`${bigEndian ? 'be' : signed ? 's' : 'u'}${size * 8}`],
    encode(v, buf, off) {
      if (signed) buf[be ? 'writeIntBE' : 'writeIntLE'](v, off, size);
      else buf[be ? 'writeUIntBE' : 'writeUIntLE'](v, off, size);
    },
    decode(buf, off) {
      return signed ? buf[be ? 'readIntBE' : 'readIntLE'](off, size) : buf[be ? 'readUIntBE' : 'readUIntLE'](off, size);
    },
  };
}

function int64Codec(signed: boolean, bigEndian: boolean): Codec<bigint> {
  const be = bigEndian || !LE;
  return {
    size: 8,
    ctypes: [bigEndian ? 'be64' : signed ? 's64' : 'u64'],
    encode(v, buf, off) {
      if (signed) buf[be ? 'writeBigInt64BE' : 'writeBigInt64LE'](BigInt(v), off);
      else buf[be ? 'writeBigUInt64BE' : 'writeBigUInt64LE'](BigInt(v), off);
    },
    decode(buf, off) {
      return signed ? buf[be ? 'readBigInt64BE' : 'readBigInt64LE'](off) : buf[be ? 'readBigUInt64BE' : 'readBigUInt64LE'](off);
    },
  };
}

/** Host-order integers (what the C side calls __u8.. __u64, __s32, __s64). */
export const u8 = intCodec(1, false, false);
export const u16 = intCodec(2, false, false);
export const u32 = intCodec(4, false, false);
export const i32 = intCodec(4, true, false);
export const u64 = int64Codec(false, false);
export const i64 = int64Codec(true, false);
/** Network-order integers (__be16, __be32, __be64), as numbers in host terms. */
export const be16 = intCodec(2, false, true);
export const be32 = intCodec(4, false, true);
export const be64 = int64Codec(false, true);

/** An IPv4 address in network order ("10.244.1.2"). */
export const ipv4: Codec<string> = {
  size: 4,
  ctypes: ['be32', 'u8[4]'],
  encode(v, buf, off) {
    const parts = v.split('.');
    if (parts.length !== 4) throw new TypeError(`not an IPv4 address: ${v}`);
    for (let i = 0; i < 4; i++) {
      const n = Number(parts[i]);
      if (!Number.isInteger(n) || n < 0 || n > 255 || parts[i] === '') throw new TypeError(`not an IPv4 address: ${v}`);
      buf[off + i] = n;
    }
  },
  decode(buf, off) {
    return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  },
};

/** Parses an IPv6 address (with "::" and an optional dotted IPv4 tail) into 16 bytes. */
export function parseIpv6(v: string, buf: Buffer = Buffer.alloc(16), off = 0): Buffer {
  const bad = (): never => {
    throw new TypeError(`not an IPv6 address: ${v}`);
  };
  const halves = v.split('::');
  if (halves.length > 2) bad();
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    parts.forEach((p, i) => {
      if (i === parts.length - 1 && p.includes('.')) {
        const b = Buffer.alloc(4);
        ipv4.encode(p, b, 0);
        out.push(b.readUInt16BE(0), b.readUInt16BE(2));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) bad();
        out.push(parseInt(p, 16));
      }
    });
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) bad();
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  all.forEach((g, i) => buf.writeUInt16BE(g, off + 2 * i));
  return buf;
}

/** Formats 16 bytes as an IPv6 address (RFC 5952: lower case, longest zero run as "::"). */
export function formatIpv6(buf: Buffer, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(off + 2 * i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** An IPv6 address in network order ("fd00::1"). */
export const ipv6: Codec<string> = {
  size: 16,
  ctypes: ['u8[16]', 'be32[4]', 'struct in6_addr'],
  encode(v, buf, off) {
    parseIpv6(v, buf, off);
  },
  decode: formatIpv6,
};

/** A MAC address ("02:00:00:00:00:01"). */
export const mac: Codec<string> = {
  size: 6,
  ctypes: ['u8[6]'],
  encode(v, buf, off) {
    const parts = v.split(/[:-]/);
    if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new TypeError(`not a MAC address: ${v}`);
    parts.forEach((p, i) => (buf[off + i] = parseInt(p, 16)));
  },
  decode(buf, off) {
    return [...buf.subarray(off, off + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  },
};

/**
 * Raw bytes of a fixed length; a Buffer of any other length is a
 * WrongSizeError. Raw on purpose: no C type is checked (only the size), so
 * tools can read any map.
 */
export function bytes(size: number): Codec<Buffer> {
  return {
    size,
    encode(v, buf, off) {
      if (v.length !== size) throw new WrongSizeError({ call: 'encode', object: `bytes(${size})`, what: 'buffer', expected: size, actual: v.length });
      v.copy(buf, off);
    },
    decode(buf, off) {
      return Buffer.from(buf.subarray(off, off + size));
    },
  };
}

const primitives = { u8, u16, u32, i32, u64, i64, be16, be32, be64, ipv4, ipv6, mac } as const;

/** A field type by name, or any codec (bytes(n), a nested structCodec...). */
export type FieldType = keyof typeof primitives | Codec<unknown>;
/** [byte offset, type] of one field. */
export type FieldSpec = readonly [offset: number, type: FieldType];
type FieldValue<F> = F extends Codec<infer V> ? V : F extends keyof typeof primitives ? CodecValue<(typeof primitives)[F]> : never;
export type StructValue<F extends Record<string, FieldSpec>> = { -readonly [K in keyof F]: FieldValue<F[K][1]> };

export interface StructField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  /** The field codec's C types (Codec.ctypes). */
  readonly ctypes?: readonly string[];
}

/** A codec for a C struct with fixed layout; knows its fields for the BTF check. */
export interface StructCodec<T> extends Codec<T> {
  readonly name: string;
  readonly fields: readonly StructField[];
  /** A value with every field zero (or "0.0.0.0", "::", zero bytes...). */
  zero(): T;
}

/**
 * Declares a fixed C layout: `structCodec({ name: 'crud_key', size: 8,
 * fields: { addr: [0, 'ipv4'], port: [4, 'be16'], proto: [6, 'u8'] } })`.
 * Bytes no field covers are padding: written as zero, ignored when reading.
 */
export function structCodec<const F extends Record<string, FieldSpec>>(spec: { name: string; size: number; fields: F }): StructCodec<StructValue<F>> {
  const entries = Object.entries(spec.fields).map(([name, [offset, type]]) => {
    const codec = (typeof type === 'string' ? primitives[type] : type) as Codec<unknown>;
    if (!codec) throw new TypeError(`struct ${spec.name}: field ${name} has unknown type ${String(type)}`);
    return { name, offset, size: codec.size, codec };
  });
  const sorted = [...entries].sort((a, b) => a.offset - b.offset);
  sorted.forEach((f, i) => {
    if (!Number.isInteger(f.offset) || f.offset < 0 || f.offset + f.size > spec.size) {
      throw new RangeError(`struct ${spec.name}: field ${f.name} [${f.offset}, ${f.offset + f.size}) lies outside its ${spec.size} bytes`);
    }
    const next = sorted[i + 1];
    if (next && next.offset < f.offset + f.size) throw new RangeError(`struct ${spec.name}: fields ${f.name} and ${next.name} overlap`);
  });
  const size = spec.size;
  const zeroBuf = Buffer.alloc(size);
  const codec: StructCodec<StructValue<F>> = {
    name: spec.name,
    size,
    ctypes: [`struct ${spec.name}`],
    fields: entries.map(({ name, offset, size: s, codec: c }) => ({ name, offset, size: s, ...(c.ctypes ? { ctypes: c.ctypes } : {}) })),
    encode(value, buf, off) {
      buf.fill(0, off, off + size);
      const v = value as Record<string, unknown>;
      for (const f of entries) {
        const x = v[f.name];
        if (x === undefined) throw new TypeError(`struct ${spec.name}: field ${f.name} is missing`);
        f.codec.encode(x, buf, off + f.offset);
      }
    },
    decode(buf, off) {
      const out: Record<string, unknown> = {};
      for (const f of entries) out[f.name] = f.codec.decode(buf, off + f.offset);
      return out as StructValue<F>;
    },
    zero() {
      return codec.decode(zeroBuf, 0);
    },
  };
  return codec;
}

/**
 * The kernel's view of a per-CPU value: one slot per possible CPU, each
 * rounded up to 8 bytes. Encoding accepts one value per CPU, or a single
 * value that is written to every CPU.
 */
export function perCpuCodec<T>(inner: Codec<T>, cpus: number): Codec<T[]> & { readonly elementSize: number; readonly cpus: number } {
  const slot = Math.ceil(inner.size / 8) * 8;
  return {
    size: slot * cpus,
    elementSize: inner.size,
    cpus,
    encode(values, buf, off) {
      if (values.length !== cpus && values.length !== 1) {
        throw new WrongSizeError({ call: 'encode', object: 'per-CPU value', what: 'value array', expected: cpus, actual: values.length });
      }
      buf.fill(0, off, off + slot * cpus);
      for (let c = 0; c < cpus; c++) inner.encode(values.length === 1 ? values[0]! : values[c]!, buf, off + c * slot);
    },
    decode(buf, off) {
      const out: T[] = [];
      for (let c = 0; c < cpus; c++) out.push(inner.decode(buf, off + c * slot));
      return out;
    },
  };
}
