// The TypeScript mirror of bpf/include/shim.h: the 12-byte Talaria IPv4 option
// (and its IPv6 Destination Options form). shim.test.ts checks the layout
// against the C struct's BTF.
import { structCodec } from '../loader/codec.js';
import type { CodecValue } from '../loader/codec.js';

/** Copied, class 0, experimental option number 30 (RFC 4727). */
export const TALARIA_OPT_TYPE = 0x9e;
export const TALARIA_OPT_LEN = 12;
export const TALARIA_SHIM_VERSION = 1;
/** IPv6: the same fields in a Destination Options option of this type. */
export const TALARIA_OPT6_TYPE = 0x3e;
/** Option data length of the IPv6 form: ver_kind, flags, frontend_id, backend_id. */
export const TALARIA_OPT6_DATA_LEN = 10;
/**
 * The IPv6 Destination Options header that carries the shim: next header,
 * length (1 = 16 bytes), the 12-byte option, and a 2-byte PadN.
 */
export const TALARIA_DSTOPT_LEN = 16;
/** ihl of an IPv4 header that carries exactly the shim: (20 + 12) / 4. */
export const TALARIA_IHL_WITH_SHIM = 8;

/** enum talaria_kind. */
export const TalariaKind = {
  /** client host -> switch: select a backend */
  NEW: 1,
  /** client host -> switch: use backend_id */
  PINNED: 2,
  /** switch -> backend host: dst rewritten */
  TO_BACKEND: 3,
  /** backend host -> switch: restore frontend */
  REPLY: 4,
  /** switch -> client host: src restored */
  TO_CLIENT: 5,
} as const;
export type TalariaKindValue = (typeof TalariaKind)[keyof typeof TalariaKind];

/** struct talaria_shim, byte for byte. */
export const talariaShimCodec = structCodec({
  name: 'talaria_shim',
  size: TALARIA_OPT_LEN,
  fields: {
    type: [0, 'u8'],
    len: [1, 'u8'],
    ver_kind: [2, 'u8'],
    flags: [3, 'u8'],
    frontend_id: [4, 'be32'],
    backend_id: [8, 'be32'],
  },
});
export type TalariaShimRaw = CodecValue<typeof talariaShimCodec>;

/** The shim as tests and tools think of it. */
export interface Shim {
  kind: number;
  frontendId: number;
  backendId: number;
  flags?: number;
  /** Defaults to TALARIA_SHIM_VERSION. */
  version?: number;
}

/** TALARIA_VER_KIND(kind) */
export function verKind(kind: number, version = TALARIA_SHIM_VERSION): number {
  return ((version << 4) | (kind & 0xf)) & 0xff;
}
/** TALARIA_SHIM_KIND_OF(vk) */
export const kindOf = (vk: number): number => vk & 0xf;
/** TALARIA_SHIM_VERSION_OF(vk) */
export const versionOf = (vk: number): number => vk >> 4;

/** Writes the 12-byte IPv4 option at `off`. */
export function encodeShim(shim: Shim, buf: Buffer, off = 0): void {
  talariaShimCodec.encode(
    {
      type: TALARIA_OPT_TYPE,
      len: TALARIA_OPT_LEN,
      ver_kind: verKind(shim.kind, shim.version),
      flags: shim.flags ?? 0,
      frontend_id: shim.frontendId,
      backend_id: shim.backendId,
    },
    buf,
    off,
  );
}

/** Reads the 12-byte IPv4 option at `off` (undefined when it is not a Talaria option). */
export function decodeShim(buf: Buffer, off = 0): Required<Shim> | undefined {
  if (buf.length < off + TALARIA_OPT_LEN) return undefined;
  const raw = talariaShimCodec.decode(buf, off);
  if (raw.type !== TALARIA_OPT_TYPE || raw.len !== TALARIA_OPT_LEN) return undefined;
  return { kind: kindOf(raw.ver_kind), version: versionOf(raw.ver_kind), flags: raw.flags, frontendId: raw.frontend_id, backendId: raw.backend_id };
}

/** The 16-byte IPv6 Destination Options header carrying the shim. */
export function encodeShim6(shim: Shim, nextHeader: number, buf: Buffer, off = 0): void {
  buf.fill(0, off, off + TALARIA_DSTOPT_LEN);
  buf[off] = nextHeader;
  buf[off + 1] = TALARIA_DSTOPT_LEN / 8 - 1;
  buf[off + 2] = TALARIA_OPT6_TYPE;
  buf[off + 3] = TALARIA_OPT6_DATA_LEN;
  buf[off + 4] = verKind(shim.kind, shim.version);
  buf[off + 5] = shim.flags ?? 0;
  buf.writeUInt32BE(shim.frontendId >>> 0, off + 6);
  buf.writeUInt32BE(shim.backendId >>> 0, off + 10);
  buf[off + 14] = 1; // PadN with no data: pads the header to 16 bytes
  buf[off + 15] = 0;
}

/** Finds the shim option inside an IPv6 Destination Options header's options. */
export function decodeShim6(buf: Buffer, off: number, end: number): Required<Shim> | undefined {
  for (let p = off; p < end; ) {
    const type = buf[p]!;
    if (type === 0) {
      p++; // Pad1
      continue;
    }
    const len = buf[p + 1] ?? 0;
    if (type === TALARIA_OPT6_TYPE && len === TALARIA_OPT6_DATA_LEN && p + 2 + len <= end) {
      const vk = buf[p + 2]!;
      return { kind: kindOf(vk), version: versionOf(vk), flags: buf[p + 3]!, frontendId: buf.readUInt32BE(p + 4), backendId: buf.readUInt32BE(p + 8) };
    }
    p += 2 + len;
  }
  return undefined;
}
