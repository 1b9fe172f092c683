import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelSecondsBetween, parseProcStat, sampleCpu } from './cpu.js';

test('parses the aggregate cpu line in seconds', () => {
  const s = parseProcStat('cpu  100 5 200 1000 10 3 40 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\n');
  assert.deepEqual(s, { user: 1.05, system: 2, idle: 10.1, irq: 0.03, softirq: 0.4 });
});

test('rejects a /proc/stat without a cpu line', () => {
  assert.throws(() => parseProcStat('intr 1 2 3\n'), /no aggregate "cpu" line/);
});

test('kernel time between two samples counts system and softirq only', () => {
  const a = { user: 1, system: 2, softirq: 3, irq: 0, idle: 9 };
  const b = { user: 5, system: 2.5, softirq: 3.25, irq: 1, idle: 20 };
  assert.equal(kernelSecondsBetween(a, b), 0.75);
});

test('the real /proc/stat reads and moves forward', () => {
  const a = sampleCpu();
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += i;
  assert.ok(x > 0);
  const b = sampleCpu();
  assert.ok(b.user + b.system >= a.user + a.system);
});
