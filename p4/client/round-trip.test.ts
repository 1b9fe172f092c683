// Client <-> server over a real loopback gRPC port with the in-memory
// target: arbitration, pipeline, every error code, Read after Write,
// counters, restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, waitForArbitration } from '../testing/harness.js';
import { Code, P4RuntimeError, P4RuntimeWriteError, buildGroup, buildMember, buildTableEntry, describeTableEntry, tableWildcard, talariaP4Info } from './index.js';
import type { P4RuntimeClient, Update } from './index.js';
import type { TargetTableEntry } from '../server/target.js';
import { normaliseP4Info } from '../p4info/load-p4info.js';

const p4 = talariaP4Info();
const insert = (entity: Update['entity']): Update => ({ type: 'INSERT', entity });
const del = (entity: Update['entity']): Update => ({ type: 'DELETE', entity });
const frontend = (addr: string, port: number, id: number): Update['entity'] =>
  buildTableEntry(p4, 'frontends', { dst_addr: addr, dst_port: port, protocol: 6 }, { name: 'set_frontend', params: { frontend_id: id, flags: 0 } });
const member = (id: number): Update['entity'] => buildMember(p4, 'backend_selector', id, { name: 'to_backend', params: { backend_id: id, addr: `10.244.1.${id}`, port: 8080 } });

async function rejects(promise: Promise<unknown>, code: number, pattern?: RegExp): Promise<P4RuntimeError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof P4RuntimeError, `a P4RuntimeError, got ${String(err)}`);
    assert.equal(err.codeName, new P4RuntimeError('x', code, '').codeName, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('arbitration', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.close());

  test('highest election id is primary, others backups, takeover and loss are announced', async () => {
    const a = h.client({ electionId: 5n });
    assert.deepEqual((await a.arbitrate()).primary, true);
    const b = h.client({ electionId: 3n });
    const rb = await b.arbitrate();
    assert.equal(rb.primary, false);
    assert.equal(rb.code, Code.ALREADY_EXISTS);
    assert.equal(rb.serverElectionId, 5n);

    await a.setPipeline(p4);
    await rejects(b.write([insert(frontend('10.96.0.1', 80, 1))]), Code.PERMISSION_DENIED, /primary/);
    await rejects(b.setPipeline(p4), Code.PERMISSION_DENIED);

    // Same id as a connected controller: refused.
    const dup = h.client({ electionId: 5n });
    await rejects(dup.arbitrate(), Code.INVALID_ARGUMENT, /already used/);

    // Takeover by a higher id: the old primary hears it is a backup now.
    const c = h.client({ electionId: 9n });
    const demoted = waitForArbitration(a, (primary, code) => !primary && code === Code.ALREADY_EXISTS);
    assert.equal((await c.arbitrate()).primary, true);
    await demoted;
    await rejects(a.write([insert(frontend('10.96.0.1', 80, 1))]), Code.PERMISSION_DENIED);

    // The primary leaves: no primary until someone arbitrates again.
    const lost = waitForArbitration(a, (_p, code) => code === Code.NOT_FOUND);
    await c.close();
    await lost;
    await rejects(a.write([insert(frontend('10.96.0.1', 80, 1))]), Code.PERMISSION_DENIED, /primary none/);
    assert.equal((await a.arbitrate()).primary, true);
    await a.write([insert(frontend('10.96.0.1', 80, 1))]);
  });

  test('wrong device id is refused', async () => {
    const other = h.client({ deviceId: 99 });
    await rejects(other.arbitrate(), Code.NOT_FOUND, /unknown device_id 99/);
    await rejects(other.capabilities().then(() => other.getPipeline()), Code.NOT_FOUND);
  });
});

describe('pipeline', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.close());

  test('only talaria.p4\'s P4Info is accepted; the cookie comes back', async () => {
    const client = h.client({ electionId: 1n });
    assert.equal(await client.capabilities(), '1.4.0');
    await rejects(client.getPipeline(), Code.FAILED_PRECONDITION, /no forwarding pipeline/);
    await client.arbitrate();
    await rejects(client.write([insert(frontend('10.96.0.1', 80, 1))]), Code.FAILED_PRECONDITION);

    const wrong = structuredClone(normaliseP4Info(p4.message)) as ReturnType<typeof normaliseP4Info>;
    wrong.tables![0].match_fields![1].bitwidth = 32;
    await rejects(client.setPipeline(wrong), Code.INVALID_ARGUMENT, /frontends' match field 'dst_port' bitwidth is 32, expected 16/);
    const missing = { ...normaliseP4Info(p4.message), actions: [] };
    await rejects(client.setPipeline(missing), Code.INVALID_ARGUMENT, /action 'NoAction' .* is missing/);

    await client.setPipeline(p4, { cookie: 1234n });
    const got = await client.getPipeline();
    assert.equal(got.cookie, 1234n);
    assert.equal(got.p4info?.tables?.length, 7);
    assert.deepEqual(await client.getPipeline('COOKIE_ONLY'), { p4info: undefined, cookie: 1234n, deviceConfig: Buffer.alloc(0) });
  });
});

describe('write and read', () => {
  const h = Harness.withCapacities(new Map([[p4.table('routes').id, 2]]));
  let client: P4RuntimeClient;
  before(async () => {
    await h.start();
    client = await h.primary();
  });
  after(() => h.close());

  test('entries written come back by wildcard Read, canonical, with names resolved', async () => {
    await client.write([
      insert(frontend('10.96.0.10', 80, 1)),
      insert(member(1)),
      insert(member(2)),
      insert(buildGroup(p4, 'backend_selector', 100, [{ member_id: 1, weight: 1 }, { member_id: 2, weight: 3 }])),
      insert(buildTableEntry(p4, 'backend_select', { frontend_id: 1 }, { groupId: 100 })),
      insert(buildTableEntry(p4, 'backends', { frontend_id: 1, backend_id: 2 }, { name: 'to_backend', params: { backend_id: 2, addr: '10.244.1.2', port: 8080 } })),
      insert(buildTableEntry(p4, 'routes', { dst_addr: '10.244.1.0/24' }, { name: 'to_port', params: { port: 1, dst_mac: '02:00:00:00:00:01' } })),
    ]);
    const all = await client.readAll([tableWildcard(p4)]);
    assert.equal(all.length, 4);
    const described = all.map((e) => describeTableEntry(p4, e.table_entry!));
    assert.deepEqual(described.find((d) => d.table === 'frontends'), {
      table: 'frontends', match: { dst_addr: '10.96.0.10', dst_port: '80', protocol: '6' },
      action: { name: 'set_frontend', params: { frontend_id: '1', flags: '0' } }, priority: 0,
    });
    assert.deepEqual(described.find((d) => d.table === 'backend_select')?.action, { group: 100 });
    assert.deepEqual(described.find((d) => d.table === 'routes')?.match, { dst_addr: '10.244.1.0/24' });

    const routes = await client.readAll([tableWildcard(p4, 'routes')]);
    assert.equal(routes.length, 1);
    const members = await client.readAll([{ action_profile_member: { action_profile_id: 0, member_id: 0 } }]);
    assert.deepEqual(members.map((m) => m.action_profile_member?.member_id).sort(), [1, 2]);
    const groups = await client.readAll([{ action_profile_group: { action_profile_id: p4.actionProfile('backend_selector').id, group_id: 100 } }]);
    assert.deepEqual(groups[0].action_profile_group?.members?.map((m) => [m.member_id, m.weight]), [[1, 1], [2, 3]]);
    const one = await client.readAll([buildTableEntry(p4, 'frontends', { dst_addr: '10.96.0.10', dst_port: 80, protocol: 6 })]);
    assert.equal(one.length, 1);
    const defaults = await client.readAll([{ table_entry: { table_id: p4.table('routes').id, is_default_action: true } }]);
    assert.deepEqual(defaults.map((d) => [d.table_entry?.is_default_action, d.table_entry?.action?.action?.action_id]), [[true, p4.action('NoAction').id]]);
  });

  test('zero-padded values are accepted and read back canonical', async () => {
    const padded = buildTableEntry(p4, 'reverse_nat', { frontend_id: Buffer.from('00000005', 'hex') }, { name: 'restore_frontend', params: { addr: '10.96.0.10', port: Buffer.from('0050', 'hex') } });
    padded.table_entry!.match![0].exact!.value = Buffer.from('00000005', 'hex');
    padded.table_entry!.action!.action!.params![1].value = Buffer.from('0050', 'hex');
    await client.write([insert(padded)]);
    const [read] = await client.readAll([tableWildcard(p4, 'reverse_nat')]);
    assert.equal(read.table_entry?.match?.[0].exact?.value.toString('hex'), '05');
    assert.equal(read.table_entry?.action?.action?.params?.[1].value.toString('hex'), '50');
  });

  test('every error code, per update, naming the entity; successes in the batch still apply', async () => {
    const badWidth = buildTableEntry(p4, 'frontends', { dst_addr: '10.96.0.20', dst_port: 80, protocol: 6 }, { name: 'set_frontend', params: { frontend_id: 2, flags: 0 } });
    badWidth.table_entry!.match![2].exact!.value = Buffer.from('0100', 'hex'); // 256 in an 8-bit field
    const unknownTable = { table_entry: { ...frontend('10.96.0.21', 80, 3).table_entry!, table_id: 0x02000001 } };
    const wrongAction = buildTableEntry(p4, 'reverse_nat', { frontend_id: 9 }, { name: 'to_port', params: { port: 1, dst_mac: '02:00:00:00:00:01' } });
    const updates: Update[] = [
      insert(frontend('10.96.0.10', 80, 1)), // 0 duplicate
      insert(frontend('10.96.0.11', 80, 4)), // 1 ok
      del(frontend('10.96.0.99', 80, 5)), // 2 missing
      insert(badWidth), // 3 width
      insert(unknownTable), // 4 unknown id
      insert(buildTableEntry(p4, 'routes', { dst_addr: '10.244.2.0/24' }, { name: 'drop' })), // 5 ok (2nd route)
      insert(buildTableEntry(p4, 'routes', { dst_addr: '10.244.3.0/24' }, { name: 'drop' })), // 6 full
      del(member(1)), // 7 in use by group 100
      insert(buildTableEntry(p4, 'backend_select', { frontend_id: 7 }, { groupId: 999 })), // 8 no such group
      insert(wrongAction), // 9 action not in table
    ];
    const err = await client.write(updates).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof P4RuntimeWriteError);
    assert.equal(err.results.length, updates.length);
    assert.deepEqual(err.failures.map((f) => [f.index, f.codeName]), [
      [0, 'ALREADY_EXISTS'], [2, 'NOT_FOUND'], [3, 'INVALID_ARGUMENT'], [4, 'INVALID_ARGUMENT'],
      [6, 'RESOURCE_EXHAUSTED'], [7, 'FAILED_PRECONDITION'], [8, 'NOT_FOUND'], [9, 'INVALID_ARGUMENT'],
    ]);
    assert.equal(err.failures[0].entity, 'frontends{dst_addr=10.96.0.10, dst_port=80, protocol=6}');
    const byIndex = (i: number): string => err.failures.find((f) => f.index === i)?.message ?? '';
    assert.match(byIndex(3), /field 'protocol'.*exceeds 8 bits/);
    assert.match(byIndex(4), /unknown table id 33554433/);
    assert.match(byIndex(6), /full \(2 entries\)/);
    assert.match(byIndex(7), /member 1 is still used/);
    assert.match(err.message, /#0 INSERT frontends\{dst_addr=10.96.0.10/);
    const fronts = await client.readAll([tableWildcard(p4, 'frontends')]);
    assert.equal(fronts.length, 2, 'the successful insert in the failed batch applied');
  });

  test('ROLLBACK_ON_ERROR undoes the batch; a failing target leaves nothing applied', async () => {
    const before = h.target.snapshot().length;
    const err = await client
      .write([insert(frontend('10.96.0.30', 80, 30)), insert(frontend('10.96.0.10', 80, 1))], { atomicity: 'ROLLBACK_ON_ERROR' })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof P4RuntimeWriteError);
    assert.deepEqual(err.failures.map((f) => f.codeName), ['ABORTED', 'ALREADY_EXISTS']);
    assert.equal(h.target.snapshot().length, before);

    h.target.failNextApply(Code.INTERNAL, 'map update failed: ENOMEM');
    const err2 = await client.write([insert(frontend('10.96.0.31', 80, 31))]).then(() => undefined, (e: unknown) => e);
    assert.ok(err2 instanceof P4RuntimeWriteError && /ENOMEM/.test(err2.failures[0].message));
    assert.equal((await client.readAll([buildTableEntry(p4, 'frontends', { dst_addr: '10.96.0.31', dst_port: 80, protocol: 6 })])).length, 0);
    await rejects(client.write([insert(frontend('10.96.0.32', 80, 32))], { atomicity: 'DATAPLANE_ATOMIC' }), Code.UNIMPLEMENTED);
  });

  test('MODIFY and DELETE change what Read returns; counters come with the entries', async () => {
    await client.write([{ type: 'MODIFY', entity: frontend('10.96.0.10', 80, 77) }]);
    const key = h.target.snapshot().find((e): e is TargetTableEntry => e.kind === 'table_entry' && e.table.alias === 'frontends' && e.match[0].value.equals(Buffer.from([10, 96, 0, 10])));
    assert.ok(key);
    h.target.count(key.key, 3n, 180n);
    const [withCounters] = await client.readAll([buildTableEntry(p4, 'frontends', { dst_addr: '10.96.0.10', dst_port: 80, protocol: 6 })].map((e) => ({ table_entry: { ...e.table_entry!, counter_data: { byte_count: '0', packet_count: '0' } } })));
    assert.deepEqual(describeTableEntry(p4, withCounters.table_entry!).counters, { packets: 3n, bytes: 180n });
    assert.equal(describeTableEntry(p4, withCounters.table_entry!).action && 'params' in describeTableEntry(p4, withCounters.table_entry!).action! ? 'ok' : 'no', 'ok');
    const direct = await client.readAll([{ direct_counter_entry: { table_entry: { table_id: p4.table('frontends').id } } }]);
    assert.equal(direct.length, 2);
    assert.ok(direct.some((d) => d.direct_counter_entry?.data?.packet_count === '3'));
    await client.write([del(frontend('10.96.0.11', 80, 4))]);
    assert.equal((await client.readAll([tableWildcard(p4, 'frontends')])).length, 1);
    await rejects(client.readAll([{ meter_entry: {} } as never]), Code.UNIMPLEMENTED);
  });

  test('a restarted server keeps the target\'s state and the client takes primaryship back', async () => {
    const entriesBefore = await client.readAll([tableWildcard(p4)]);
    const lost = waitForArbitration(client, (primary) => !primary, 10_000);
    await h.stopServer();
    await lost;
    await h.start();
    await waitForArbitration(client, (primary) => primary, 10_000);
    assert.deepEqual(await client.readAll([tableWildcard(p4)]), entriesBefore);
    assert.equal((await client.getPipeline('COOKIE_ONLY')).cookie, 42n);
    await client.write([insert(frontend('10.96.0.40', 80, 40))]);
    // RECONCILE keeps the state; VERIFY_AND_COMMIT clears it (as P4Runtime specifies).
    await client.setPipeline(p4, { cookie: 43n, action: 'RECONCILE_AND_COMMIT' });
    assert.equal((await client.readAll([tableWildcard(p4)])).length, entriesBefore.length + 1);
    await client.setPipeline(p4, { cookie: 44n });
    assert.equal((await client.readAll([tableWildcard(p4)])).length, 0);
  });
});
