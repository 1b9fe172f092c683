// Wire compatibility with something Talaria did not write: the official
// p4runtime Python package (PyPI) drives Talaria's P4Runtime server
// (arbitration, pipeline, writes, reads, per-update errors). Skipped, with
// the reason, only when the package is not installed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { P4_DIR, TALARIA_P4INFO } from '../paths.js';
import { DEVICE_ID, Harness } from '../testing/harness.js';

const SCRIPT = join(P4_DIR, 'interop', 'p4runtime_client_check.py');
const probe = spawnSync('python3', ['-c', 'import p4.v1.p4runtime_pb2_grpc, grpc'], {
  encoding: 'utf8',
  env: { ...process.env, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION: 'python' },
});
const skip = probe.error
  ? `python3 is not runnable: ${probe.error.message}`
  : probe.status !== 0
    ? `the p4runtime Python package is not installed (pip install p4runtime): ${probe.stderr.trim().split('\n').pop()}`
    : false;

const h = new Harness();
before(async () => {
  if (!skip) await h.start();
});
after(() => h.close());

test('the official p4runtime Python client arbitrates, sets the pipeline, writes and reads', { skip }, async () => {
  const child = spawn('python3', [SCRIPT, '--addr', `127.0.0.1:${h.port}`, '--device-id', String(DEVICE_ID), '--p4info', TALARIA_P4INFO], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `python client failed:\n${stdout}\n${stderr}`);
  const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  assert.deepEqual(summary, {
    api_version: '1.4.0',
    primary: true,
    pipeline: true,
    written: 5,
    read: 5,
    per_update_errors: [6, 0],
    backup: true,
    ok: true,
  });
  // What the Python client wrote is what the target holds.
  assert.equal(h.target.snapshot().length, 6);
});
