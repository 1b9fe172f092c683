import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import test from 'node:test';
import { freePort } from './free-port.js';

void test('freePort: distinct ports, none from the ephemeral range connect() draws from, each bindable', async () => {
  const ephemeralFloor = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports: number[] = [];
  for (let i = 0; i < 50; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length, 'a port was handed out twice');
  for (const p of ports) assert.ok(p < ephemeralFloor && p < 30_000, `port ${p} is in the ephemeral or NodePort range`);
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(ports[0], '127.0.0.1', resolve);
  });
  await new Promise((r) => s.close(r));
});
