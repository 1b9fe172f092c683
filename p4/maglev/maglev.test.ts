import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMaglevTable, isPrime, type MaglevMember } from './maglev.js';
import { measureDisruption } from '../softswitch/maglev-disruption.js';

const group = (n: number, weight = (_i: number) => 1): MaglevMember[] =>
  Array.from({ length: n }, (_, i) => ({ key: `b${i}`, weight: weight(i) }));

function shares(table: Uint32Array, n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const i of table) c[i]!++;
  return c;
}

test('every slot is owned and equal weights share the table evenly', () => {
  for (const n of [1, 3, 10, 100]) {
    const t = buildMaglevTable(group(n), 1021);
    assert.equal(t.length, 1021);
    const s = shares(t, n);
    const ideal = 1021 / n;
    for (const x of s) assert.ok(Math.abs(x - ideal) <= 1, `n=${n}: share ${x} vs ${ideal}`);
  }
});

test('shares follow the weights', () => {
  const t = buildMaglevTable(group(3, (i) => [1, 2, 5][i]!), 1021);
  const s = shares(t, 3);
  assert.deepEqual(
    s.map((x) => Math.round((x / 1021) * 8)),
    [1, 2, 5],
  );
});

test('the table depends on member keys, not on their order', () => {
  const g = group(10);
  const a = buildMaglevTable(g, 1021);
  const rev = [...g].reverse();
  const b = buildMaglevTable(rev, 1021);
  // Ties are broken by turn order, so allow the few slots two members contest.
  let same = 0;
  for (let i = 0; i < a.length; i++) if (g[a[i]!]!.key === rev[b[i]!]!.key) same++;
  assert.ok(same / a.length > 0.9, `${same}/${a.length}`);
});

test('empty groups, sizes and weights are checked', () => {
  assert.equal(buildMaglevTable([], 1021).length, 0);
  assert.throws(() => buildMaglevTable(group(2), 1000), /not prime/);
  assert.throws(() => buildMaglevTable(group(12), 11), /does not fit/);
  assert.throws(() => buildMaglevTable([{ key: 'a', weight: 0 }], 1021), /weight/);
  assert.ok(isPrime(1021) && isPrime(65537) && !isPrime(1024));
});

test('removing or adding one member moves little more than its own share', () => {
  for (const n of [4, 10, 100]) {
    const d = measureDisruption(n, 1021, 5000);
    // Paper and measurement: close to 1/N for M >> N; bounded well below "rehash everything".
    assert.ok(d.removeSlots >= d.removeIdeal - 1e-9, `n=${n} removal moved less than the removed share?`);
    assert.ok(d.removeSlots < d.removeIdeal + 0.06, `n=${n}: ${d.removeSlots}`);
    assert.ok(d.addSlots < d.addIdeal + 0.06, `n=${n}: ${d.addSlots}`);
  }
});
