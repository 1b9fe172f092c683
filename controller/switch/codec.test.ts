import { test } from 'node:test';
import assert from 'node:assert/strict';
import { talariaP4Info } from '../../p4/p4info/load-p4info.js';
import type { Entity } from '../desired/entities.js';
import { EntityCodec, uintBytes } from './codec.js';

void test('canonical bytestrings', () => {
  assert.deepEqual([...uintBytes(0)], [0]);
  assert.deepEqual([...uintBytes(80)], [80]);
  assert.deepEqual([...uintBytes(0x1_0000)], [1, 0, 0]);
  assert.deepEqual([...uintBytes(0xffff_ffff)], [255, 255, 255, 255]);
});

void test('every entity survives encode -> decode', () => {
  const codec = new EntityCodec(talariaP4Info());
  const rows: Entity[] = [
    { type: 'frontend', addr: '10.96.0.10', port: 80, protocol: 'TCP', frontendId: 7, flags: 0x19 },
    { type: 'frontend', addr: '0.0.0.1', port: 53, protocol: 'UDP', frontendId: 0xffffffff, flags: 0 },
    { type: 'select', frontendId: 7, groupId: 3 },
    { type: 'member', memberId: 9, backendId: 9, addr: '10.244.1.5', port: 8080 },
    { type: 'group', groupId: 3, members: [2, 9] },
    { type: 'backend', frontendId: 7, backendId: 9, addr: '255.244.1.5', port: 65535 },
    { type: 'reverse', frontendId: 7, addr: '10.96.0.10', port: 80 },
    { type: 'route', prefix: '10.244.1.0', prefixLen: 24, action: 'to_port', port: 1, mac: '02:00:00:00:00:01' },
    { type: 'route', prefix: '0.0.0.0', prefixLen: 0, action: 'to_external', port: 9, mac: '00:00:00:00:00:00' },
    { type: 'source', frontendId: 7, prefix: '198.51.100.0', prefixLen: 24 },
    { type: 'source', frontendId: 0xffffffff, prefix: '10.244.1.7', prefixLen: 32 },
    { type: 'egress', port: 3, mac: '02:00:00:00:01:03' },
  ];
  for (const e of rows) assert.deepEqual(codec.decode(codec.encode(e)), e);
  assert.equal(codec.capacity().backend, 262144);
  assert.equal(codec.capacity().source, 16384);
  assert.equal(codec.ipv6, false);
});
