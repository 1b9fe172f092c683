import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotAllocator } from './slot-allocator.js';

test('slots are handed out once, freed ones reused oldest first, none past the size', () => {
  const a = new SlotAllocator(4);
  assert.deepEqual([a.take(), a.take(), a.take()], [0, 1, 2]);
  a.release(1);
  a.release(0);
  assert.deepEqual([a.take(), a.take(), a.take(), a.take()], [3, 1, 0, undefined]);
  assert.equal(a.used, 4);
  assert.equal(a.available, 0);
});

test('rebuilt from the slots in use after a restart', () => {
  const a = SlotAllocator.fromUsed(8, [5, 1, 2]);
  assert.equal(a.used, 3);
  const got = [a.take(), a.take(), a.take(), a.take(), a.take(), a.take()];
  assert.deepEqual(got, [6, 7, 0, 3, 4, undefined]);
});
