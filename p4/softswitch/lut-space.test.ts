import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LutSpace, maglevSizeFor } from './lut-space.js';

test('ranges are taken first fit, quarantined when released, coalesced when free again', () => {
  const s = new LutSpace(10_000);
  const a = s.take(1021)!;
  const b = s.take(2039)!;
  const small = Array.from({ length: 16 }, () => s.take(1)!);
  assert.deepEqual([a, b, small[0]], [0, 1021, 3060]);
  s.release({ base: a, size: 1021 });
  s.release({ base: b, size: 2039 });
  // Quarantined: freed tables are not handed out at once.
  assert.equal(s.take(1021), 3076);
  for (const base of small) s.release({ base, size: 1 });
  // 16 releases later a and b are free again, coalesced: 3060 contiguous slots at 0.
  assert.equal(s.take(3060), 0);
  assert.equal(s.take(100_000), undefined);
});

test('rebuilt from the tables in use', () => {
  const s = LutSpace.fromUsed(5000, [{ base: 1021, size: 1021 }, { base: 3000, size: 1021 }]);
  assert.equal(s.used, 2042);
  assert.equal(s.take(1021), 0);
  assert.equal(s.take(1021), undefined, 'the gaps left are 958 and 979 slots');
  assert.equal(s.take(979), 4021);
});

test('table size grows with the group: at least 20 slots per member, prime', () => {
  assert.deepEqual([1, 51, 52, 101, 102, 256, 5000].map((n) => maglevSizeFor(n)), [1021, 1021, 2039, 2039, 4093, 8191, 65521]);
  assert.equal(maglevSizeFor(300, 7), 7);
});
