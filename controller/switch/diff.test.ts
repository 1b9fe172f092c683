import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEntity, type Entity } from '../desired/entities.js';
import { planUpdates } from './diff.js';
import { InstalledState } from './installed-state.js';

const fe = (id: number, flags = 0): Entity => ({ type: 'frontend', addr: '10.96.0.1', port: 80, protocol: 'TCP', frontendId: id, flags });
const member = (id: number): Entity => ({ type: 'member', memberId: id, backendId: id, addr: `10.244.0.${id}`, port: 80 });
const group = (...m: number[]): Entity => ({ type: 'group', groupId: 1, members: m });
const sel: Entity = { type: 'select', frontendId: 1, groupId: 1 };

function show(p: ReturnType<typeof planUpdates>): string[] {
  return p.phases.flatMap((ph) => ph.updates.map((u) => `${u.type} ${formatEntity(u.entity)}`));
}

void test('inserts in dependency order', () => {
  const plan = planUpdates(new InstalledState(), [fe(1), sel, group(1), member(1)]);
  assert.deepEqual(show(plan), [
    'INSERT member 1 = to_backend(1, 10.244.0.1, 80)',
    'INSERT group 1 = [1]',
    'INSERT backend_select 1 -> group 1',
    'INSERT frontends 10.96.0.1:80/TCP -> set_frontend(1, 0x0)',
  ]);
});

void test('scale down: group modified before the member goes; unchanged entities untouched', () => {
  const installed = new InstalledState();
  installed.replaceAll([fe(1), sel, group(1, 2), member(1), member(2)]);
  const plan = planUpdates(installed, [fe(1), sel, group(1), member(1)]);
  assert.deepEqual(show(plan), ['MODIFY group 1 = [1]', 'DELETE member 2 = to_backend(2, 10.244.0.2, 80)']);
  assert.deepEqual([plan.inserts, plan.modifies, plan.deletes], [0, 1, 1]);
});

void test('last endpoint gone: frontend flips to reject, then select, group, member are deleted in reverse order', () => {
  const installed = new InstalledState();
  installed.replaceAll([fe(1), sel, group(1), member(1)]);
  const plan = planUpdates(installed, [fe(1, 1)]);
  assert.deepEqual(show(plan), [
    'MODIFY frontends 10.96.0.1:80/TCP -> set_frontend(1, 0x1)',
    'DELETE backend_select 1 -> group 1',
    'DELETE group 1 = [1]',
    'DELETE member 1 = to_backend(1, 10.244.0.1, 80)',
  ]);
});

void test('partial scope leaves other installed entities alone', () => {
  const installed = new InstalledState();
  const other: Entity = { type: 'route', prefix: '10.244.1.0', prefixLen: 24, action: 'to_port', port: 1, mac: '02:00:00:00:00:01' };
  installed.replaceAll([fe(1), other]);
  assert.deepEqual(show(planUpdates(installed, [], [fe(1)])), ['DELETE frontends 10.96.0.1:80/TCP -> set_frontend(1, 0x0)']);
  assert.equal(installed.hasFrontendId(1), true);
});
