import assert from 'node:assert/strict';
import test from 'node:test';
import { figures } from './load.js';
import type { LoadResult } from './load.js';

const held = (firstPod: string | null, errors: number, switches: number, maxMs: number) => ({ source: 'c', firstPod, requests: 10, errors, switches, maxMs });
const attempt = (at: number, ok: boolean, ms = 5) => ({ source: 'c', at, ok, ms, ...(ok ? { pod: 'p' } : { error: 'ETIMEDOUT' }) });

void test('fault figures: broken, moved, stalls, failures during and after, and the time to full service', () => {
  const r: LoadResult = {
    held: [held('a', 0, 0, 40), held('b', 1, 0, 3000), held('c', 0, 2, 12_000), held(null, 1, 0, 30_000)],
    attempts: [attempt(900, false), attempt(1000, true), attempt(1100, false, 2000), attempt(3200, false, 2000), attempt(5300, true), attempt(6000, false, 100), attempt(6200, true)],
  };
  // The fault from 1000 to 5000: the failure at 900 is before it and not counted.
  assert.deepEqual(figures(r, 1000, 5000), {
    held: 4,
    broken: 2,
    moved: 1,
    maxStallMs: 30_000,
    newConnections: 6,
    newFailedDuring: 2,
    newFailedAfter: 1,
    fullServiceMs: 6100 - 1000,
  });
  assert.equal(figures({ held: [], attempts: [attempt(2000, true)] }, 1000, 1500).fullServiceMs, 0);
});
