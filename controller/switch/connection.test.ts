// The syncer through a real P4Runtime server (in-memory target): pipeline
// push, writes accepted by the server's validation, read-back, and recovery
// when the server restarts empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { P4RuntimeClient, talariaP4Info } from '../../p4/client/index.js';
import { MemoryTarget } from '../../p4/server/memory-target.js';
import { P4RuntimeServer } from '../../p4/server/server.js';
import { ClusterState } from '../cluster-state.js';
import { ControllerMetrics } from '../metrics.js';
import { Syncer } from '../syncer.js';
import { EntityCodec } from './codec.js';
import { SwitchConnection } from './connection.js';
import { WEB_SERVICE_ENTRIES, addWebService, until } from '../test-harness.js';
import type { SwitchSession } from './session.js';

const p4info = talariaP4Info();

async function countEntries(address: string): Promise<number> {
  const c = new P4RuntimeClient({ address, deviceId: 1 });
  try {
    return (await c.readAll(new EntityCodec(p4info).readAll())).length;
  } finally {
    await c.close();
  }
}

void test('pipeline pushed, state written, server restart reconciled', async () => {
  let server = new P4RuntimeServer({ deviceId: 1, target: new MemoryTarget() });
  const port = await server.start('127.0.0.1:0');
  const address = `127.0.0.1:${port}`;
  const state = new ClusterState();
  const codec = new EntityCodec(p4info);
  const syncer = new Syncer({ state, codec, metrics: new ControllerMetrics(new Registry()) });
  let sessions = 0;
  const conn = new SwitchConnection({
    address,
    deviceId: 1n,
    electionId: 10n,
    p4info,
    retryMs: 100,
    onUp: (s: SwitchSession) => {
      sessions++;
      syncer.attach(s);
    },
    onDown: () => syncer.detach(),
  });
  try {
    addWebService(state);
    conn.start();
    await until('session', () => syncer.attached);
    await syncer.sync();
    assert.deepEqual(syncer.lastStats && [syncer.lastStats.inserts, syncer.lastStats.failures], [WEB_SERVICE_ENTRIES, 0]);
    assert.equal(await countEntries(address), WEB_SERVICE_ENTRIES);

    // The server restarts with an empty target: reconnect, pipeline pushed again, everything rewritten.
    await server.stop(100);
    await until('session down', () => !syncer.attached);
    server = new P4RuntimeServer({ deviceId: 1, target: new MemoryTarget() });
    await server.start(address);
    await until('session back', () => syncer.attached);
    await syncer.sync();
    assert.equal(syncer.lastStats?.inserts, WEB_SERVICE_ENTRIES);
    assert.equal(await countEntries(address), WEB_SERVICE_ENTRIES);
    assert.equal(sessions, 2);
    // A full resync now changes nothing.
    await syncer.sync({ full: true });
    assert.deepEqual([syncer.lastStats?.inserts, syncer.lastStats?.modifies, syncer.lastStats?.deletes], [0, 0, 0]);
  } finally {
    await conn.stop();
    await server.stop(100);
  }
});
