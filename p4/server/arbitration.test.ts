import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../proto/codes.js';
import { Arbitrator } from './arbitration.js';
import type { ArbitrationOutcome, ArbitrationPeer } from './arbitration.js';

class Peer implements ArbitrationPeer {
  heard: ArbitrationOutcome[] = [];
  notify(outcome: ArbitrationOutcome): void {
    this.heard.push(outcome);
  }
  get last(): [number, bigint] | undefined {
    const o = this.heard.at(-1);
    return o && [o.code, o.electionId];
  }
}

test('primary election, takeover, loss and return', () => {
  const arb = new Arbitrator();
  const a = new Peer();
  const b = new Peer();
  const c = new Peer();
  const steps: [string, () => void, [Peer, [number, bigint] | undefined][], bigint | undefined][] = [
    ['a alone is primary', () => arb.arbitrate(a, 5n), [[a, [Code.OK, 5n]]], 5n],
    ['b lower is a backup, told the primary id', () => arb.arbitrate(b, 3n), [[a, [Code.OK, 5n]], [b, [Code.ALREADY_EXISTS, 5n]]], 5n],
    ['c higher takes over; everyone hears it', () => arb.arbitrate(c, 9n), [[a, [Code.ALREADY_EXISTS, 9n]], [b, [Code.ALREADY_EXISTS, 9n]], [c, [Code.OK, 9n]]], 9n],
    ['a backup leaving changes nothing', () => arb.remove(b), [[a, [Code.ALREADY_EXISTS, 9n]], [c, [Code.OK, 9n]]], 9n],
    ['the primary leaving leaves no primary', () => arb.remove(c), [[a, [Code.NOT_FOUND, 9n]]], undefined],
    ['someone arbitrating again restores a primary', () => arb.arbitrate(a, 5n), [[a, [Code.OK, 5n]]], 5n],
  ];
  for (const [name, act, expected, primary] of steps) {
    act();
    for (const [peer, last] of expected) assert.deepEqual(peer.last, last, name);
    assert.equal(arb.primaryElectionId, primary, name);
  }
  assert.equal(arb.isPrimary(5n), true);
  assert.equal(arb.isPrimary(9n), false);
});

test('an election id in use by another controller is refused; re-sending one\'s own is fine', () => {
  const arb = new Arbitrator();
  const a = new Peer();
  arb.arbitrate(a, 1n);
  assert.throws(() => arb.arbitrate(new Peer(), 1n), (e: unknown) => (e as { code: number }).code === Code.INVALID_ARGUMENT);
  arb.arbitrate(a, 1n);
  assert.deepEqual(a.last, [Code.OK, 1n]);
  arb.arbitrate(a, 2n);
  assert.equal(arb.primaryElectionId, 2n);
});
