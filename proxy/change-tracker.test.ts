import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeTracker } from './change-tracker.js';

void test('changes that cancel out are dropped', () => {
  const t = new ChangeTracker<{ v: number }>();
  assert.equal(t.update('a', { v: 1 }, 10), true);
  assert.equal(t.update('a', undefined), false, 'add then delete cancels');
  assert.equal(t.pending, 0);
  t.update('b', { v: 1 }, 20);
  t.checkpoint();
  t.update('b', { v: 2 }, 30);
  t.update('b', { v: 3 }, 40);
  assert.equal(t.pending, 1);
  const { changes, changeTimes } = t.checkpoint();
  assert.deepEqual(changes.get('b'), { previous: { v: 1 }, current: { v: 3 } });
  assert.equal(changeTimes.get('b'), 30, 'earliest change time kept');
  t.update('b', { v: 4 });
  t.update('b', { v: 3 });
  assert.equal(t.pending, 0, 'change back to the committed value cancels');
  assert.deepEqual([...t.entries()], [['b', { v: 3 }]]);
});

void test('values holding Maps compare by content', () => {
  const t = new ChangeTracker<{ m: Map<string, number[]> }>();
  t.update('a', { m: new Map([['x', [1]]]) });
  t.checkpoint();
  assert.equal(t.update('a', { m: new Map([['x', [1, 2]]]) }), true);
  assert.equal(t.update('a', { m: new Map([['x', [1]]]) }), false);
});
