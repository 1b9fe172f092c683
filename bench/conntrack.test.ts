import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conntrackObjectSize } from './conntrack.js';
import { parseIperfJson } from './iperf3.js';

test('conntrack object size comes from slabinfo', () => {
  const slab = 'slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> ...\nnf_conntrack 120 150 256 16 1 : tunables 0 0 0\n';
  assert.equal(conntrackObjectSize(slab), 256);
  assert.equal(conntrackObjectSize('slabinfo - version: 2.1\n'), 320);
});

test('iperf3 reports are read from JSON; its errors are surfaced', () => {
  const ok = JSON.stringify({ end: { sum_received: { bits_per_second: 8e9, bytes: 1e9, seconds: 1 }, sum_sent: { retransmits: 3 } } });
  assert.deepEqual(parseIperfJson(ok), { bitsPerSecond: 8e9, bytes: 1e9, durationSeconds: 1, retransmits: 3 });
  assert.throws(() => parseIperfJson(JSON.stringify({ error: 'unable to connect to server' })), /unable to connect/);
  assert.throws(() => parseIperfJson('garbage'), /no JSON/);
});
