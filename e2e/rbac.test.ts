import assert from 'node:assert/strict';
import test from 'node:test';
import { used } from './rbac.js';

const line = (user: string, verb: string, ref: object, code = 200, at = '2026-12-04T21:00:00.123456Z') =>
  JSON.stringify({ kind: 'Event', stage: 'ResponseComplete', requestReceivedTimestamp: at, user: { username: user }, verb, objectRef: ref, responseStatus: { code } });

void test('rbac: the audit log gives each ServiceAccount what it was allowed and refused, by group, resource and subresource', () => {
  const c = 'system:serviceaccount:kube-system:talaria-controller';
  const a = 'system:serviceaccount:kube-system:talaria-node-agent';
  const log = [
    line(c, 'watch', { resource: 'services', apiVersion: 'v1' }),
    line(c, 'list', { resource: 'endpointslices', apiGroup: 'discovery.k8s.io' }),
    line(c, 'update', { resource: 'leases', apiGroup: 'coordination.k8s.io', name: 'talaria-controller' }),
    line(a, 'patch', { resource: 'nodes', subresource: 'status', name: 'node-1' }),
    line(a, 'create', { resource: 'events' }, 403),
    line('system:serviceaccount:default:other', 'delete', { resource: 'pods' }),
    JSON.stringify({ user: { username: c }, verb: 'get', requestURI: '/version' }),
    '',
  ].join('\n');
  const u = used(log, new Set([c, a]));
  assert.deepEqual([...u.get(c)!.allowed].sort(), ['list discovery.k8s.io/endpointslices', 'update coordination.k8s.io/leases', 'watch core/services']);
  assert.deepEqual([...u.get(a)!.allowed], ['patch core/nodes/status']);
  assert.deepEqual([...u.get(a)!.refused], ['create core/events']);
  assert.equal(u.size, 2);
});

void test('rbac: refusals while the release was being uninstalled are excused, others are not', () => {
  const a = 'system:serviceaccount:kube-system:talaria-node-agent';
  const log = [
    line(a, 'get', { resource: 'daemonsets', apiGroup: 'apps' }, 403, '2026-12-04T21:10:00.500000Z'),
    line(a, 'get', { resource: 'pods' }, 403, '2026-12-04T21:20:00.000001Z'),
  ].join('\n');
  const uninstall = { from: Date.parse('2026-12-04T21:09:59Z'), to: Date.parse('2026-12-04T21:10:30Z') };
  assert.deepEqual([...used(log, new Set([a]), [uninstall]).get(a)!.refused], ['get core/pods']);
});
