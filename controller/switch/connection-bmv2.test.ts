// The controller's switch connection and syncer against a real P4 target:
// BMv2's simple_switch_grpc started without a program. With --device-config
// (the JSON p4c wrote) the pipeline goes in and every entry is written and
// read back; a full resync then changes nothing. Skips, saying why, where
// the P4 toolchain is missing (p4/bmv2/toolchain.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { talariaP4Info } from '../../p4/client/index.js';
import { Bmv2Process } from '../../p4/bmv2/bmv2-process.js';
import { PacketPorts } from '../../p4/bmv2/packet-ports.js';
import { compileForBmv2, findP4Tools } from '../../p4/bmv2/toolchain.js';
import { ClusterState } from '../cluster-state.js';
import { ControllerMetrics } from '../metrics.js';
import { Syncer } from '../syncer.js';
import { EntityCodec } from './codec.js';
import { SwitchConnection } from './connection.js';
import { WEB_SERVICE_ENTRIES, addWebService, until } from '../test-harness.js';
import { NODE_SWITCH_PORT, assertMinimalDisruption, describeFigures, measureDisruption } from './disruption-scenario.js';

const tools = findP4Tools();
const skip = typeof tools === 'string' && `controller on BMv2 did not run: ${tools}`;
if (skip) process.stdout.write(`# ${skip}\n`);

let dir = '';
let ports: PacketPorts | undefined;
let bmv2: Bmv2Process | undefined;

before(async () => {
  if (typeof tools === 'string') return;
  dir = mkdtempSync(join(tmpdir(), 'talaria-p4c-'));
  ports = await PacketPorts.create(`tl-ctl-bmv2-${process.pid}`, 2);
  bmv2 = await Bmv2Process.start({ tools, netns: ports.netns, ports: { 1: 'sw1', 2: 'sw2' } });
});

after(async () => {
  await bmv2?.stop();
  await ports?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

void test('with --device-config the controller installs talaria.p4 on BMv2 and programs every entry', { skip }, async () => {
  if (typeof tools === 'string') return;
  assert.ok(bmv2, 'BMv2 started');
  const p4info = talariaP4Info();
  const deviceConfig = compileForBmv2(tools, dir).json;
  const state = new ClusterState();
  const syncer = new Syncer({ state, codec: new EntityCodec(p4info), metrics: new ControllerMetrics(new Registry()) });
  const logged: string[] = [];
  const conn = new SwitchConnection({
    address: bmv2.address,
    deviceId: BigInt(bmv2.deviceId),
    electionId: 10n,
    p4info,
    deviceConfig,
    retryMs: 100,
    log: (l) => logged.push(l),
    onUp: (s) => syncer.attach(s),
    onDown: () => syncer.detach(),
  });
  try {
    addWebService(state);
    conn.start();
    await until('a session on BMv2', () => syncer.attached);
    assert.ok(logged.some((l) => l.includes(`with a ${deviceConfig.length}-byte device config`)), logged.join('\n'));
    await syncer.sync();
    assert.deepEqual(syncer.lastStats && [syncer.lastStats.inserts, syncer.lastStats.failures], [WEB_SERVICE_ENTRIES, 0], logged.join('\n'));
    // Read back from BMv2: nothing to change.
    await syncer.sync({ full: true });
    assert.deepEqual([syncer.lastStats?.inserts, syncer.lastStats?.modifies, syncer.lastStats?.deletes, syncer.lastStats?.failures], [0, 0, 0, 0]);
  } finally {
    await conn.stop();
  }
});

void test('outside clients on BMv2: a backend joining and leaving a NodePort Service moves only its own share of flows', { skip }, async () => {
  if (typeof tools === 'string') return;
  assert.ok(bmv2 && ports, 'BMv2 started');
  const p4info = talariaP4Info();
  const state = new ClusterState();
  const syncer = new Syncer({ state, codec: new EntityCodec(p4info), metrics: new ControllerMetrics(new Registry()) });
  const conn = new SwitchConnection({
    address: bmv2.address,
    deviceId: BigInt(bmv2.deviceId),
    electionId: 11n,
    p4info,
    deviceConfig: compileForBmv2(tools, dir).json,
    retryMs: 100,
    onUp: (s) => syncer.attach(s),
    onDown: () => syncer.detach(),
  });
  const outside = NODE_SWITCH_PORT + 1;
  try {
    conn.start();
    await until('a session on BMv2', () => syncer.attached);
    const figures = await measureDisruption({
      state,
      sync: () => syncer.sync(),
      send: async (frame) => (await ports!.send(outside, frame, 100)).find((r) => r.port === NODE_SWITCH_PORT)?.frame,
    });
    process.stdout.write(`${describeFigures('talaria.p4 on BMv2', figures)}\n`);
    assertMinimalDisruption('talaria.p4 on BMv2', figures);
  } finally {
    await conn.stop();
  }
});
