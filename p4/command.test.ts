// `talaria switch tables` against a live P4Runtime server: the JSON contract
// (names, dotted addresses, decimal numbers, counters, groups) and the
// readable form, run as the real CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { talariaArgv } from '../cli/self.js';
import { buildGroup, buildMember, buildTableEntry, talariaP4Info } from './client/index.js';
import type { Update } from './client/index.js';
import { DEVICE_ID, Harness } from './testing/harness.js';
import type { TargetTableEntry } from './server/target.js';

const run = promisify(execFile);
const p4 = talariaP4Info();
const h = new Harness();

async function talaria(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const [cmd, ...rest] = talariaArgv(args);
  try {
    const { stdout, stderr } = await run(cmd, rest, { timeout: 60_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

before(async () => {
  await h.start();
});
after(() => h.close());

test('switch tables without a pipeline says so', async () => {
  const r = await talaria(['switch', 'tables', '--addr', `127.0.0.1:${h.port}`, '--device-id', String(DEVICE_ID), '--switch-insecure-plaintext']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has no forwarding pipeline yet/);
});

test('switch tables --json prints every table, counters and groups in the contract\'s shape', async () => {
  const client = await h.primary();
  const insert = (entity: Update['entity']): Update => ({ type: 'INSERT', entity });
  await client.write([
    insert(buildTableEntry(p4, 'frontends', { dst_addr: '10.96.0.10', dst_port: 80, protocol: 6 }, { name: 'set_frontend', params: { frontend_id: 1, flags: 0 } })),
    insert(buildMember(p4, 'backend_selector', 5, { name: 'to_backend', params: { backend_id: 5, addr: '10.244.1.5', port: 8080 } })),
    insert(buildGroup(p4, 'backend_selector', 1, [{ member_id: 5, weight: 2 }])),
    insert(buildTableEntry(p4, 'backend_select', { frontend_id: 1 }, { groupId: 1 })),
    insert(buildTableEntry(p4, 'routes', { dst_addr: '10.244.1.0/24' }, { name: 'to_port', params: { port: 1, dst_mac: '02:00:00:00:00:01' } })),
    insert(buildTableEntry(p4, 'egress_ports', { port: 1 }, { name: 'set_source_mac', params: { mac: '02:00:00:00:01:01' } })),
    insert(buildTableEntry(p4, 'source_ranges', { frontend_id: 1, src_addr: '198.51.100.0/24' }, { name: 'allow_source', params: {} })),
  ]);
  const entry = h.target.snapshot().find((e): e is TargetTableEntry => e.kind === 'table_entry' && e.table.alias === 'frontends');
  h.target.count(entry!.key, 12n, 960n);

  const r = await talaria(['switch', 'tables', '--json', '--addr', `127.0.0.1:${h.port}`, '--device-id', String(DEVICE_ID), '--switch-insecure-plaintext']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    tables: {
      frontends: [{ match: { dst_addr: '10.96.0.10', dst_port: '80', protocol: '6' }, action: { name: 'set_frontend', params: { frontend_id: '1', flags: '0' } }, counters: { packets: 12, bytes: 960 } }],
      backend_select: [{ match: { frontend_id: '1' }, action: { group: 1 }, counters: { packets: 0, bytes: 0 } }],
      backends: [],
      reverse_nat: [],
      routes: [{ match: { dst_addr: '10.244.1.0/24' }, action: { name: 'to_port', params: { port: '1', dst_mac: '02:00:00:00:00:01' } }, counters: { packets: 0, bytes: 0 } }],
      egress_ports: [{ match: { port: '1' }, action: { name: 'set_source_mac', params: { mac: '02:00:00:00:01:01' } }, counters: { packets: 0, bytes: 0 } }],
      source_ranges: [{ match: { frontend_id: '1', src_addr: '198.51.100.0/24' }, action: { name: 'allow_source', params: {} }, counters: { packets: 0, bytes: 0 } }],
    },
    groups: { backend_selector: { '1': { members: [{ member: 5, weight: 2, action: { name: 'to_backend', params: { backend_id: '5', addr: '10.244.1.5', port: '8080' } } }] } } },
  });

  const text = await talaria(['switch', 'tables', '--addr', `127.0.0.1:${h.port}`, '--device-id', String(DEVICE_ID), '--switch-insecure-plaintext']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /frontends \(1 entry\)/);
  assert.match(text.stdout, /10\.96\.0\.10\s+80\s+6\s+set_frontend\(frontend_id=1 flags=0\)\s+12\s+960/);
  assert.match(text.stdout, /group 1: 1 member\(s\)/);
});

test('an unreachable address is a one-line user error', async () => {
  const r = await talaria(['switch', 'tables', '--addr', '127.0.0.1:1', '--timeout', '500', '--switch-insecure-plaintext']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^talaria: cannot reach a P4Runtime server at 127\.0\.0\.1:1: [^\n]+\n$/);
});
