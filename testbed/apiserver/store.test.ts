// The object store on its own: versions, history bounds, watches with
// selectors, garbage collection, finalizers, namespace deletion.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './errors.js';
import { EventHistory } from './event-history.js';
import { ObjectStore } from './store.js';
import type { WatcherEvent } from './store.js';
import type { WatchEvent } from './types.js';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e.reason;
    throw e;
  }
  return 'ok';
}

describe('EventHistory', () => {
  it('stays bounded and refuses to resume from a version it dropped', () => {
    const h = new EventHistory(100);
    for (let rv = 1; rv <= 1000; rv++) h.append({ type: 'ADDED', resource: 'pods', rv } as WatchEvent);
    assert.ok(h.size <= 150);
    assert.equal(h.since(1), undefined);
    assert.deepEqual(h.since(998)!.map((e) => e.rv), [999, 1000]);
    assert.deepEqual(h.since(1000), []);
    h.compact(1000);
    assert.equal(h.since(999), undefined);
    assert.deepEqual(h.since(1000), []);
  });
});

describe('ObjectStore', () => {
  it('counts one global resourceVersion across kinds and keeps no-op writes silent', () => {
    const s = new ObjectStore();
    const events: string[] = [];
    s.subscribe('*', (e) => events.push(`${e.type} ${e.resource}/${e.object.metadata.name}`));
    const a = s.create('services', { metadata: { name: 'a' }, spec: { ports: [{ port: 80 }] } });
    const b = s.create('pods', { metadata: { name: 'b' }, spec: {} });
    assert.equal(Number(b.metadata.resourceVersion), Number(a.metadata.resourceVersion) + 1);
    const same = s.update('services', a);
    assert.equal(same.metadata.resourceVersion, a.metadata.resourceVersion);
    assert.deepEqual(events, ['ADDED services/a', 'ADDED pods/b']);
    assert.throws(() => ((s.peek('services', 'default', 'a')!.metadata as { name: string }).name = 'x'), TypeError);
  });

  it('delivers DELETED/ADDED to selector watches when objects leave/enter the selection', () => {
    const s = new ObjectStore();
    const got: WatcherEvent[] = [];
    s.watch('pods', { labelSelector: 'app=web', resourceVersion: String(s.resourceVersion) }, (e) => got.push(e));
    s.create('pods', { metadata: { name: 'p', labels: { app: 'db' } } });
    s.patch('pods', 'default', 'p', { metadata: { labels: { app: 'web' } } });
    s.patch('pods', 'default', 'p', { metadata: { labels: { app: 'web', x: '1' } } });
    s.patch('pods', 'default', 'p', { metadata: { labels: { app: 'db' } } });
    assert.deepEqual(got.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
  });

  it('resumes a watch from history and answers Expired after compaction', () => {
    const s = new ObjectStore({ historySize: 10 });
    const start = s.resourceVersion;
    for (let i = 0; i < 5; i++) s.create('events', { metadata: { name: `e${i}` } });
    const got: string[] = [];
    s.watch('events', { resourceVersion: String(start + 2) }, (e) => got.push(e.object.metadata.name));
    assert.deepEqual(got, ['e2', 'e3', 'e4']);
    for (let i = 5; i < 40; i++) s.create('events', { metadata: { name: `e${i}` } });
    assert.equal(reasonOf(() => s.watch('events', { resourceVersion: String(start) }, () => {})), 'Expired');
    // A version from a previous incarnation of the server: relist, do not wait for it.
    assert.equal(reasonOf(() => s.watch('events', { resourceVersion: String(s.resourceVersion + 1000) }, () => {})), 'Expired');
  });

  it('garbage-collects dependents of a deleted owner (pods gracefully)', () => {
    const s = new ObjectStore();
    const d = s.create('deployments', { metadata: { name: 'd' }, spec: {} });
    const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: d.metadata.uid, controller: true }];
    s.create('pods', { metadata: { name: 'running', ownerReferences: owner }, spec: { nodeName: 'n1' } });
    s.create('pods', { metadata: { name: 'pending', ownerReferences: owner }, spec: {} });
    s.delete('deployments', 'default', 'd');
    assert.ok(s.peek('pods', 'default', 'running')!.metadata.deletionTimestamp);
    assert.equal(s.peek('pods', 'default', 'pending'), undefined);
  });

  it('keeps objects with finalizers until the last finalizer is removed', () => {
    const s = new ObjectStore();
    s.create('services', { metadata: { name: 'f', finalizers: ['x/y'] }, spec: {} });
    s.delete('services', 'default', 'f');
    assert.ok(s.peek('services', 'default', 'f')!.metadata.deletionTimestamp);
    s.patch('services', 'default', 'f', { metadata: { finalizers: null } });
    assert.equal(s.peek('services', 'default', 'f'), undefined);
  });

  it('deletes everything in a namespace with it', () => {
    const s = new ObjectStore();
    s.create('namespaces', { metadata: { name: 'gone' } });
    s.create('services', { metadata: { name: 'a' }, spec: {} }, { namespace: 'gone' });
    s.create('pods', { metadata: { name: 'p' }, spec: { nodeName: 'n' } }, { namespace: 'gone' });
    s.delete('namespaces', '', 'gone');
    assert.equal(s.count('services', 'gone') + s.count('pods', 'gone'), 0);
    assert.equal(reasonOf(() => s.create('pods', { metadata: { name: 'p' } }, { namespace: 'gone' })), 'NotFound');
  });

  it('keeps version order for every listener when a listener writes, and survives one that throws', () => {
    const errors: string[] = [];
    const s = new ObjectStore({ onListenerError: (e) => errors.push(String(e)) });
    s.subscribe('pods', () => {
      throw new Error('boom');
    });
    s.subscribe('pods', (e) => {
      if (e.type === 'ADDED') s.patch('pods', 'default', e.object.metadata.name, { metadata: { labels: { seen: 'yes' } } });
    });
    const order: number[] = [];
    s.subscribe('pods', (e) => order.push(e.rv));
    const watched: number[] = [];
    s.watch('pods', { resourceVersion: String(s.resourceVersion) }, (e) => watched.push(e.rv));
    const p = s.create('pods', { metadata: { name: 'p' } });
    assert.equal(p.metadata.labels, undefined); // the write returned before the listener's patch
    assert.equal(s.peek('pods', 'default', 'p')!.metadata.labels!.seen, 'yes');
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    assert.equal(order.length, 2);
    assert.deepEqual(watched, order);
    assert.equal(errors.length, 2);
  });

  it('keeps at most maxEvents core Events, dropping the oldest', () => {
    const s = new ObjectStore({ maxEvents: 3 });
    for (let i = 0; i < 10; i++) s.create('events', { metadata: { name: `e${i}` }, reason: 'Test' });
    assert.deepEqual(s.list('events').items.map((e) => e.metadata.name), ['e7', 'e8', 'e9']);
  });

  it('rejects a namespace in the body that differs from the request', () => {
    const s = new ObjectStore();
    assert.equal(reasonOf(() => s.create('pods', { metadata: { name: 'p', namespace: 'kube-system' } }, { namespace: 'default' })), 'BadRequest');
    assert.equal(reasonOf(() => s.create('pods', { kind: 'Service', metadata: { name: 'p' } })), 'BadRequest');
  });
});
