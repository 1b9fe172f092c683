// The frontend flags exist once, in bpf/include/frontend_flags.h; the
// controller's copy must say exactly the same, every bit, both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cConstants, cTable } from '../../bpf/testing/c-constants.js';
import { FRONTEND_FLAGS } from './flags.js';

void test('controller/desired/flags.ts equals bpf/include/frontend_flags.h', () => {
  const defined = Object.fromEntries([...cTable(cConstants('frontend_flags.h'), 'TALARIA_FLAG_')].map(([name, bit]) => [name.toUpperCase(), bit]));
  assert.ok(Object.keys(defined).length > 0, 'the header defines flags');
  assert.deepEqual({ ...FRONTEND_FLAGS }, defined);
  const bits = Object.values(defined);
  assert.equal(new Set(bits).size, bits.length, 'no two flags share a bit');
  for (const b of bits) assert.ok(b > 0 && b <= 0xff && (b & (b - 1)) === 0, `0x${b.toString(16)} is one bit of the shim's flags byte`);
});
