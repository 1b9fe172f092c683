// p4.v1.Uint128 (election ids) <-> bigint.
import type { Uint128 } from './types.js';

export function uint128ToBigInt(id: Uint128 | null | undefined): bigint | undefined {
  if (!id) return undefined;
  return (BigInt(id.high) << 64n) | BigInt(id.low);
}

export function bigIntToUint128(id: bigint): Uint128 {
  if (id < 0n || id >= 1n << 128n) throw new RangeError(`election id ${id} outside 0..2^128-1`);
  return { high: (id >> 64n).toString(), low: (id & 0xffffffffffffffffn).toString() };
}
