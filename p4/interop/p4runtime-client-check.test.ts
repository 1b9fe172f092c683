// Wire compatibility with something Talaria did not write: the official
// p4runtime Python package (PyPI) drives Talaria's P4Runtime server
// (arbitration, pipeline, writes, reads, per-update errors). Skipped, with
// the reason, only when the package is not installed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { P4_DIR, TALARIA_P4INFO } from '../paths.js';
import { PYTHON } from './python.js';
import { DEVICE_ID, Harness } from '../testing/harness.js';
import { P4RuntimeServer } from '../server/server.js';
import type { P4Target } from '../server/target.js';

const SCRIPT = join(P4_DIR, 'interop', 'p4runtime_client_check.py');
const probe = spawnSync(PYTHON, ['-c', 'import p4.v1.p4runtime_pb2_grpc, grpc'], {
  encoding: 'utf8',
  env: { ...process.env, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION: 'python' },
});
const skip = probe.error
  ? `${PYTHON} is not runnable: ${probe.error.message}`
  : probe.status !== 0
    ? `the p4runtime Python package is not installed (pip install p4runtime): ${probe.stderr.trim().split('\n').pop()}`
    : false;

const h = new Harness();
before(async () => {
  if (!skip) await h.start();
});
after(() => h.close());

async function runCheck(port: number, deviceId: number): Promise<Record<string, unknown>> {
  const child = spawn(PYTHON, [SCRIPT, '--addr', `127.0.0.1:${port}`, '--device-id', String(deviceId), '--p4info', TALARIA_P4INFO], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `python client failed:\n${stdout}\n${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

const EXPECTED = {
  api_version: '1.4.0',
  primary: true,
  pipeline: true,
  written: 5,
  read: 5,
  per_update_errors: [6, 0],
  backup: true,
  ok: true,
};

test('the official p4runtime Python client arbitrates, sets the pipeline, writes and reads (memory target)', { skip }, async () => {
  assert.deepEqual(await runCheck(h.port, DEVICE_ID), EXPECTED);
  // What the Python client wrote is what the target holds.
  assert.equal(h.target.snapshot().length, 6);
});

// The same client against the eBPF software switch target (maps, not
// memory): needs root and build/bpf/switch.bpf.o; skipped with the reason
// otherwise.
test('the official p4runtime Python client against the eBPF software switch target', { skip }, async (t) => {
  let fixture: { target: P4Target; close(opts?: { removePins?: boolean }): void } | undefined;
  try {
    const { SoftswitchFixture } = await import('../softswitch/softswitch-fixture.js');
    fixture = await SoftswitchFixture.create();
  } catch (err) {
    t.skip(`the eBPF switch cannot be loaded here: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const server = new P4RuntimeServer({ deviceId: 3, target: fixture.target });
  try {
    const port = await server.start('127.0.0.1:0');
    assert.deepEqual(await runCheck(port, 3), EXPECTED);
  } finally {
    await server.stop(200);
    fixture.close();
  }
});
