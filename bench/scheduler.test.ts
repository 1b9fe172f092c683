import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContextSwitches, parseReschedulingIpis, sampleScheduler, schedulerPerRequest } from './scheduler.js';

const INTERRUPTS = `           CPU0       CPU1
  24:          1          0  IO-APIC   5-edge      ACPI:Ged
 RES:    2273112    2265673   Rescheduling interrupts
 CAL:    3707908    3828562   Function call interrupts
`;

test('sums the rescheduling IPIs over every CPU and stops at the description', () => {
  assert.equal(parseReschedulingIpis(INTERRUPTS), 2273112 + 2265673);
});

test('an architecture without a RES line has no IPI count, not zero', () => {
  assert.equal(parseReschedulingIpis('           CPU0\n  24:   1  GIC  timer\n'), null);
});

test('reads context switches from /proc/stat and rejects a file without them', () => {
  assert.equal(parseContextSwitches('cpu  1 2 3 4\nctxt 987654\nbtime 1\n'), 987654);
  assert.throws(() => parseContextSwitches('cpu  1 2 3 4\n'), /no "ctxt" line/);
});

test('rates per request between two samples', () => {
  const r = schedulerPerRequest({ contextSwitches: 1000, reschedulingIpis: 50 }, { contextSwitches: 3000, reschedulingIpis: 450 }, 800);
  assert.deepEqual(r, { contextSwitchesPerRequest: 2.5, reschedulingIpisPerRequest: 0.5 });
  assert.deepEqual(schedulerPerRequest({ contextSwitches: 1, reschedulingIpis: null }, { contextSwitches: 9, reschedulingIpis: null }, 4), {
    contextSwitchesPerRequest: 2, reschedulingIpisPerRequest: null,
  });
  assert.deepEqual(schedulerPerRequest({ contextSwitches: 1, reschedulingIpis: 1 }, { contextSwitches: 9, reschedulingIpis: 3 }, 0), {
    contextSwitchesPerRequest: null, reschedulingIpisPerRequest: null,
  });
});

test('the real counters read and only move forward', async () => {
  const a = sampleScheduler();
  await new Promise((r) => setTimeout(r, 20)); // sleeping switches context at least once
  const b = sampleScheduler();
  assert.ok(b.contextSwitches > a.contextSwitches);
  if (a.reschedulingIpis !== null) assert.ok(b.reschedulingIpis! >= a.reschedulingIpis);
});
