import { it } from 'node:test';
import assert from 'node:assert/strict';
import { deepEqual } from './deep-equal.js';

it('compares JSON values structurally, treating undefined members as absent', () => {
  const cases: Array<[unknown, unknown, boolean]> = [
    [1, 1, true],
    ['a', 'b', false],
    [null, null, true],
    [null, {}, false],
    [[1, 2], [1, 2], true],
    [[1, 2], [2, 1], false],
    [[], {}, false],
    [{ a: 1, b: [{ c: 'x' }] }, { b: [{ c: 'x' }], a: 1 }, true],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [{ a: { b: 1 } }, { a: { b: 2 } }, false],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(deepEqual(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(deepEqual(b, a), want, `${JSON.stringify(b)} vs ${JSON.stringify(a)}`);
  }
});
