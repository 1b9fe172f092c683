import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { runUdpRr } from './udp-rr.js';
import { quantile, spread } from './stats.js';

test('quantiles are nearest-rank', () => {
  const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantile(v, 0.5), 5);
  assert.equal(quantile(v, 0.9), 9);
  assert.equal(quantile(v, 0.99), 10);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('spread reports median and relative range', () => {
  assert.deepEqual(spread([10, 12, 8]), { median: 10, min: 8, max: 12, relativeRange: 0.4, n: 3 });
});

test('request/response against a UDP echo on loopback; a silent server is all errors', async () => {
  const echo = createSocket('udp4');
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
  try {
    const r = await runUdpRr({ targets: [{ host: '127.0.0.1', port: echo.address().port }], concurrency: 4, durationSeconds: 0.5 });
    assert.ok(r.requests > 100, `only ${r.requests} answers`);
    assert.equal(r.errors, 0);
    assert.ok(r.latencyMs.p50 <= r.latencyMs.p99);
  } finally {
    echo.close();
  }
  const silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  try {
    const r = await runUdpRr({ targets: [{ host: '127.0.0.1', port: silent.address().port }], concurrency: 2, durationSeconds: 0.3, timeoutMs: 100 });
    assert.equal(r.requests, 0);
    assert.ok(r.errors >= 2);
  } finally {
    silent.close();
  }
});
