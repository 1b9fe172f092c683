import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedFrequencyRunner } from './bounded-frequency-runner.js';
import { FakeClock } from './clock.js';

function setup(failTimes = 0) {
  const clock = new FakeClock(0);
  const runs: { at: number; full: boolean }[] = [];
  let failures = failTimes;
  const r = new BoundedFrequencyRunner({
    clock,
    minIntervalMs: 1000,
    maxIntervalMs: 60_000,
    retryInitialMs: 500,
    retryMaxMs: 4000,
    fn: async ({ full }) => {
      runs.push({ at: clock.now(), full });
      if (failures-- > 0) throw new Error('switch said no');
    },
  });
  r.start();
  return { clock, runs, r };
}

void test('requests are coalesced and spaced by minInterval', async () => {
  const { clock, runs, r } = setup();
  await clock.advance(5000);
  r.run();
  r.run();
  await clock.advance(0);
  r.run();
  r.run();
  await clock.advance(2000);
  assert.deepEqual(runs.map((x) => x.at), [5000, 6000]);
  await r.stop();
});

void test('failures are retried with backoff, then the periodic resync is full', async () => {
  const { clock, runs, r } = setup(3);
  await clock.advance(5000);
  r.run();
  await clock.advance(10_000);
  // 5000 fails, retry after 1000 (min interval dominates 500), then 1000, then 2000.
  assert.deepEqual(runs.map((x) => x.at), [5000, 6000, 7000, 9000]);
  await clock.advance(60_000);
  assert.deepEqual(runs.slice(4).map((x) => [x.at, x.full]), [[69_000, true]]);
  await r.stop();
  assert.equal(clock.pendingTimers, 0);
});

void test('resetBackoff skips the retry delay', async () => {
  const clock = new FakeClock(0);
  const runs: number[] = [];
  let fail = true;
  const r = new BoundedFrequencyRunner({
    clock,
    minIntervalMs: 0,
    maxIntervalMs: 60_000,
    retryInitialMs: 5000,
    fn: async () => {
      runs.push(clock.now());
      if (fail) throw new Error('switch down');
    },
  });
  r.start();
  r.run();
  await clock.advance(100); // fails at 0; the retry would be at 5000
  fail = false;
  r.run({ resetBackoff: true }); // the switch is back
  await clock.advance(100);
  assert.deepEqual(runs, [0, 100]);
  await r.stop();
});
