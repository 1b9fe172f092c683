// Static validation of updates: each malformed update and the code and
// message a controller gets for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGroup, buildMember, buildTableEntry } from '../p4info/entities.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import { Code, codeName } from '../proto/codes.js';
import type { Entity, Update } from '../proto/types.js';
import { UpdateError } from './update-error.js';
import { validateUpdate } from './validate.js';

const p4 = talariaP4Info();
const route = (): Entity => buildTableEntry(p4, 'routes', { dst_addr: '10.244.1.0/24' }, { name: 'drop' });
const front = (): Entity => buildTableEntry(p4, 'frontends', { dst_addr: '10.96.0.1', dst_port: 53, protocol: 17 }, { name: 'set_frontend', params: { frontend_id: 1, flags: 0 } });
function edit(entity: Entity, change: (e: Entity) => void): Entity {
  change(entity);
  return entity;
}

test('malformed updates get the code and a message naming the field', () => {
  const cases: [string, Update, number, RegExp][] = [
    ['no type', { type: 'UNSPECIFIED', entity: front() }, Code.INVALID_ARGUMENT, /update type/],
    ['missing exact field', { type: 'INSERT', entity: edit(front(), (e) => e.table_entry!.match!.pop()) }, Code.INVALID_ARGUMENT, /'protocol': exact match field missing/],
    ['field given twice', { type: 'INSERT', entity: edit(front(), (e) => e.table_entry!.match!.push(e.table_entry!.match![0])) }, Code.INVALID_ARGUMENT, /given twice/],
    ['unknown field id', { type: 'INSERT', entity: edit(front(), (e) => (e.table_entry!.match![0].field_id = 9)) }, Code.INVALID_ARGUMENT, /no match field id 9/],
    ['lpm given for exact', { type: 'INSERT', entity: edit(front(), (e) => (e.table_entry!.match![0] = { field_id: 1, lpm: { value: Buffer.from([10]), prefix_len: 8 } })) }, Code.INVALID_ARGUMENT, /is EXACT, got a lpm match/],
    ['empty value', { type: 'INSERT', entity: edit(front(), (e) => (e.table_entry!.match![1].exact!.value = Buffer.alloc(0))) }, Code.INVALID_ARGUMENT, /empty bytestring/],
    ['prefix too long', { type: 'INSERT', entity: edit(route(), (e) => (e.table_entry!.match![0].lpm!.prefix_len = 33)) }, Code.INVALID_ARGUMENT, /prefix length 33 outside 1..32/],
    ['host bits set', { type: 'INSERT', entity: buildTableEntry(p4, 'routes', { dst_addr: '10.244.1.7/24' }, { name: 'drop' }) }, Code.INVALID_ARGUMENT, /host bits set/],
    ['param missing', { type: 'INSERT', entity: edit(front(), (e) => e.table_entry!.action!.action!.params!.pop()) }, Code.INVALID_ARGUMENT, /parameter 'flags' missing/],
    ['param too wide', { type: 'INSERT', entity: edit(front(), (e) => (e.table_entry!.action!.action!.params![1].value = Buffer.from([1, 0]))) }, Code.INVALID_ARGUMENT, /'flags'.*exceeds 8 bits/],
    ['unknown action', { type: 'INSERT', entity: edit(front(), (e) => (e.table_entry!.action!.action!.action_id = 0x01000001)) }, Code.INVALID_ARGUMENT, /unknown action id/],
    ['NoAction is default-only', { type: 'INSERT', entity: edit(front(), (e) => (e.table_entry!.action = { action: { action_id: p4.action('NoAction').id } })) }, Code.INVALID_ARGUMENT, /does not allow action 'NoAction'/],
    ['priority on an exact table', { type: 'INSERT', entity: edit(front(), (e) => (e.table_entry!.priority = 5)) }, Code.INVALID_ARGUMENT, /take no priority/],
    ['default entry', { type: 'MODIFY', entity: { table_entry: { table_id: p4.table('routes').id, is_default_action: true } } }, Code.PERMISSION_DENIED, /default action cannot be changed/],
    ['direct action on a selector table', { type: 'INSERT', entity: buildTableEntry(p4, 'backend_select', { frontend_id: 1 }, { name: 'to_backend', params: { backend_id: 1, addr: 1, port: 1 } }) }, Code.INVALID_ARGUMENT, /needs a member or group id/],
    ['group on a direct table', { type: 'INSERT', entity: buildTableEntry(p4, 'backends', { frontend_id: 1, backend_id: 1 }, { groupId: 1 }) }, Code.INVALID_ARGUMENT, /is direct/],
    ['no action on insert', { type: 'INSERT', entity: buildTableEntry(p4, 'routes', { dst_addr: '10.244.1.0/24' }) }, Code.INVALID_ARGUMENT, /has no action/],
    ['member with a foreign action', { type: 'INSERT', entity: buildMember(p4, 'backend_selector', 1, { name: 'drop' }) }, Code.INVALID_ARGUMENT, /not an action of the profile's tables/],
    ['weight 0', { type: 'INSERT', entity: buildGroup(p4, 'backend_selector', 1, [{ member_id: 1, weight: 0 }]) }, Code.INVALID_ARGUMENT, /weight 0/],
    ['member twice', { type: 'INSERT', entity: buildGroup(p4, 'backend_selector', 1, [{ member_id: 1, weight: 1 }, { member_id: 1, weight: 2 }]) }, Code.INVALID_ARGUMENT, /listed twice/],
    ['group over max_group_size', { type: 'INSERT', entity: buildGroup(p4, 'backend_selector', 1, Array.from({ length: 257 }, (_, i) => ({ member_id: i + 1, weight: 1 }))) }, Code.RESOURCE_EXHAUSTED, /257 members, at most 256/],
    ['max_size beyond the profile', { type: 'INSERT', entity: buildGroup(p4, 'backend_selector', 1, [], 1000) }, Code.INVALID_ARGUMENT, /max_size 1000/],
    ['unsupported entity', { type: 'INSERT', entity: { direct_counter_entry: {} } }, Code.UNIMPLEMENTED, /not supported/],
  ];
  for (const [name, update, code, message] of cases) {
    assert.throws(() => validateUpdate(p4, update), (e: unknown) => {
      assert.ok(e instanceof UpdateError, `${name}: ${String(e)}`);
      assert.equal(codeName(e.code), codeName(code), `${name}: ${e.message}`);
      assert.match(e.message, message, name);
      return true;
    }, name);
  }
});

test('a DELETE needs only the key; values come out padded for the target and canonical for Read', () => {
  const v = validateUpdate(p4, { type: 'DELETE', entity: buildTableEntry(p4, 'routes', { dst_addr: '10.0.0.0/8' }) });
  assert.equal(v.entity.kind, 'table_entry');
  if (v.entity.kind !== 'table_entry') return;
  assert.deepEqual(v.entity.match.map((m) => [m.value.toString('hex'), m.prefixLen]), [['0a000000', 8]]);
  assert.equal(v.entity.entity.table_entry?.match?.[0].lpm?.value.toString('hex'), '0a000000');
  const f = validateUpdate(p4, { type: 'INSERT', entity: front() });
  if (f.entity.kind !== 'table_entry' || f.entity.action.kind !== 'action') return assert.fail('a direct entry');
  assert.deepEqual(f.entity.match.map((m) => m.value.toString('hex')), ['0a600001', '0035', '11']);
  assert.deepEqual(f.entity.action.action.params.map((p) => p.value.toString('hex')), ['00000001', '00']);
  assert.deepEqual(f.entity.entity.table_entry?.action?.action?.params?.map((p) => p.value.toString('hex')), ['01', '00']);
});
