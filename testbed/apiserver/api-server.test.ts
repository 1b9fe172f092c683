// The API server against the real @kubernetes/client-node: informers
// (list-watch, reconnect, relist after 410), conflicts, selectors, patches,
// leases, graceful pod deletion and discovery.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { ApiServer } from './api-server.js';

let server: ApiServer;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

/** Resolve when cond() holds, checking on a short interval (no timing assertions). */
async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function pod(name: string, labels: Record<string, string>, nodeName?: string): k8s.V1Pod {
  return { metadata: { name, labels }, spec: { nodeName, containers: [{ name: 'c', image: 'talaria/echo' }] } };
}

/** The parsed Status body of a client-node ApiException. */
function statusOf(e: unknown): { code: number; reason: string; details?: { causes?: Array<{ field: string }> } } {
  assert.ok(e instanceof k8s.ApiException, `expected an ApiException, got ${String(e)}`);
  return JSON.parse(e.body as string);
}

before(async () => {
  server = await ApiServer.start({ bookmarkIntervalMs: 50 });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'inf' } } });
});

after(async () => {
  await server.stop();
});

describe('discovery', () => {
  it('serves /version, /api and /apis', async () => {
    const v = await kc.makeApiClient(k8s.VersionApi).getCode();
    assert.equal(v.major, '1');
    const groups = await kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    const names = groups.groups.map((g) => g.name).sort();
    assert.deepEqual(names, ['apps', 'coordination.k8s.io', 'discovery.k8s.io']);
    const core1 = await core.getAPIResources();
    assert.ok(core1.resources.some((r) => r.name === 'pods' && r.namespaced && r.kind === 'Pod'));
    assert.ok(core1.resources.some((r) => r.name === 'pods/status'));
  });

  it('serves OpenAPI v3 documents that declare fieldValidation, so kubectl apply validates on the server', async () => {
    const root = (await (await fetch(`${server.url}/openapi/v3`)).json()) as { paths: Record<string, { serverRelativeURL: string }> };
    assert.deepEqual(Object.keys(root.paths).sort(), ['api/v1', 'apis/apps/v1', 'apis/coordination.k8s.io/v1', 'apis/discovery.k8s.io/v1']);
    const gv = (await (await fetch(server.url + root.paths['apis/apps/v1']!.serverRelativeURL)).json()) as { paths: Record<string, { patch: { parameters: Array<{ name: string }> } }> };
    const op = gv.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']!.patch;
    assert.ok(op.parameters.some((p) => p.name === 'fieldValidation'));
  });

  it('lets KubernetesObjectApi map kinds to paths (EndpointSlice, Lease)', async () => {
    const objs = k8s.KubernetesObjectApi.makeApiClient(kc);
    const created = await objs.create({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'manual', namespace: 'default' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'] }],
      ports: [],
    } as k8s.KubernetesObject);
    assert.equal(created.metadata?.namespace, 'default');
    const read = await objs.read({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'manual', namespace: 'default' } });
    assert.deepEqual((read as k8s.V1EndpointSlice).endpoints[0]?.addresses, ['10.244.1.5']);
  });
});

describe('informer', () => {
  it('sees adds, updates and deletes, also after the server closes its watch and after 410 Gone', async () => {
    let lists = 0;
    const inf = k8s.makeInformer(kc, '/api/v1/namespaces/inf/pods', () => {
      lists++;
      return core.listNamespacedPod({ namespace: 'inf' });
    });
    const seen: string[] = [];
    let connects = 0;
    inf.on('add', (p) => seen.push(`add ${p.metadata!.name}`));
    inf.on('update', (p) => seen.push(`update ${p.metadata!.name} ${p.metadata!.labels?.v ?? ''}`));
    inf.on('delete', (p) => seen.push(`delete ${p.metadata!.name}`));
    inf.on('connect', () => connects++);
    const errors: unknown[] = [];
    inf.on('error', (e) => errors.push(e));
    await core.createNamespacedPod({ namespace: 'inf', body: pod('before', { app: 'a' }) });
    await inf.start();
    try {
      await until(() => seen.includes('add before'), 'the initial list');
      await until(() => server.openWatches > 0, 'the watch');

      await core.createNamespacedPod({ namespace: 'inf', body: pod('p1', { app: 'a' }) });
      await core.patchNamespacedPod({ name: 'p1', namespace: 'inf', body: { metadata: { labels: { v: '2' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await core.deleteNamespacedPod({ name: 'p1', namespace: 'inf' }); // not scheduled: goes at once
      await until(() => seen.includes('delete p1'), 'the delete');
      assert.deepEqual(seen, ['add before', 'add p1', 'update p1 2', 'delete p1']);

      // The server ends the watch: the informer re-watches from where it was, without a relist.
      const listsBefore = lists;
      assert.equal(server.closeWatches(), 1);
      await until(() => connects >= 2 && server.openWatches === 1, 'the reconnect');
      await core.createNamespacedPod({ namespace: 'inf', body: pod('p2', { app: 'a' }) });
      await until(() => seen.includes('add p2'), 'an add after reconnecting');
      assert.equal(lists, listsBefore);

      // Changes while the watch is down, then compaction: the resume answers 410 and the informer relists.
      server.closeWatches();
      server.store.create('pods', pod('p3', { app: 'a' }), { namespace: 'inf' });
      server.store.delete('pods', 'inf', 'before');
      server.store.compact();
      await until(() => seen.includes('add p3') && seen.includes('delete before'), 'the relist after 410');
      assert.equal(lists, listsBefore + 1);
      assert.deepEqual(inf.list('inf').map((p) => p.metadata!.name).sort(), ['p2', 'p3']);
      assert.deepEqual(errors, []);
    } finally {
      await inf.stop();
    }
  });

  it('filters by label selector, also for objects that stop matching', async () => {
    await core.createNamespace({ body: { metadata: { name: 'sel' } } });
    const inf = k8s.makeInformer(kc, '/api/v1/namespaces/sel/pods', () => core.listNamespacedPod({ namespace: 'sel', labelSelector: 'app=web' }), 'app=web');
    const seen: string[] = [];
    inf.on('add', (p) => seen.push(`add ${p.metadata!.name}`));
    inf.on('delete', (p) => seen.push(`delete ${p.metadata!.name}`));
    await inf.start();
    try {
      await until(() => server.openWatches > 0, 'the watch');
      await core.createNamespacedPod({ namespace: 'sel', body: pod('db', { app: 'db' }) });
      await core.createNamespacedPod({ namespace: 'sel', body: pod('web', { app: 'web' }) });
      await core.patchNamespacedPod({ name: 'web', namespace: 'sel', body: [{ op: 'replace', path: '/metadata/labels/app', value: 'other' }] });
      await until(() => seen.length === 2, 'two events');
      assert.deepEqual(seen, ['add web', 'delete web']);
    } finally {
      await inf.stop();
    }
  });
});

describe('field-selected informer', () => {
  it('sees a pod arrive when it is bound to its node, and leave when it moves out of the selection', async () => {
    await core.createNamespace({ body: { metadata: { name: 'fsel' } } });
    const selector = 'spec.nodeName=node-a';
    const lw = new k8s.ListWatch<k8s.V1Pod>('/api/v1/pods', new k8s.Watch(kc), () => core.listPodForAllNamespaces({ fieldSelector: selector }), false, undefined, selector);
    const seen: string[] = [];
    lw.on('add', (p) => seen.push(`add ${p.metadata!.name}`));
    lw.on('delete', (p) => seen.push(`delete ${p.metadata!.name}`));
    await lw.start();
    try {
      await until(() => server.openWatches > 0, 'the watch');
      await core.createNamespacedPod({ namespace: 'fsel', body: pod('unbound', {}) });
      await core.createNamespacedPod({ namespace: 'fsel', body: pod('elsewhere', {}, 'node-b') });
      // The scheduler's binding: spec.nodeName set on an existing pod.
      await core.patchNamespacedPod({ name: 'unbound', namespace: 'fsel', body: [{ op: 'add', path: '/spec/nodeName', value: 'node-a' }] });
      await until(() => seen.length === 1, 'the bound pod');
      await core.deleteNamespacedPod({ name: 'unbound', namespace: 'fsel', gracePeriodSeconds: 0 });
      await until(() => seen.length === 2, 'its deletion');
      assert.deepEqual(seen, ['add unbound', 'delete unbound']);
    } finally {
      await lw.stop();
    }
  });
});

describe('writes', () => {
  it('answers 409 Conflict to an update with a stale resourceVersion', async () => {
    const p = await core.createNamespacedPod({ namespace: 'default', body: pod('conflict', { app: 'c' }) });
    const fresh = structuredClone(p);
    fresh.metadata!.labels = { app: 'c', v: '1' };
    const updated = await core.replaceNamespacedPod({ name: 'conflict', namespace: 'default', body: fresh });
    assert.notEqual(updated.metadata!.resourceVersion, p.metadata!.resourceVersion);
    p.metadata!.labels = { app: 'c', v: 'stale' };
    await assert.rejects(core.replaceNamespacedPod({ name: 'conflict', namespace: 'default', body: p }), (e) => {
      const s = statusOf(e);
      return s.code === 409 && s.reason === 'Conflict';
    });
    // A merge patch carrying a stale resourceVersion is a conflict too.
    await assert.rejects(
      core.patchNamespacedPod({ name: 'conflict', namespace: 'default', body: { metadata: { resourceVersion: p.metadata!.resourceVersion, labels: { x: 'y' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)),
      (e) => statusOf(e).code === 409,
    );
  });

  it('answers AlreadyExists, NotFound and Invalid in Status form', async () => {
    await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'dup' }, spec: { ports: [{ port: 80 }] } } });
    await assert.rejects(core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'dup' }, spec: { ports: [{ port: 80 }] } } }), (e) => statusOf(e).reason === 'AlreadyExists');
    await assert.rejects(core.readNamespacedService({ name: 'nope', namespace: 'default' }), (e) => statusOf(e).reason === 'NotFound');
    await assert.rejects(core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'Bad_Name' }, spec: {} } }), (e) => {
      const s = statusOf(e);
      return s.code === 422 && s.reason === 'Invalid' && s.details?.causes?.[0]?.field === 'metadata.name';
    });
    await assert.rejects(core.createNamespacedPod({ namespace: 'missing-ns', body: pod('x', {}) }), (e) => statusOf(e).reason === 'NotFound');
  });

  it('creates with generateName and counts generations on spec changes only', async () => {
    const p = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { generateName: 'gen-' }, spec: { containers: [{ name: 'c', image: 'talaria/echo' }] } } });
    assert.match(p.metadata!.name!, /^gen-[a-z0-9]{5}$/);
    assert.equal(p.metadata!.generation, 1);
    assert.ok(p.metadata!.uid);
    const labelled = await core.patchNamespacedPod({ name: p.metadata!.name!, namespace: 'default', body: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }] });
    assert.equal(labelled.metadata!.generation, 1);
    const specced = await core.patchNamespacedPod({ name: p.metadata!.name!, namespace: 'default', body: [{ op: 'add', path: '/spec/nodeName', value: 'n1' }] });
    assert.equal(specced.metadata!.generation, 2);
  });

  it('writes status only through the status subresource', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('st', {}, 'n1') });
    const viaStatus = await core.patchNamespacedPodStatus({ name: 'st', namespace: 'default', body: { status: { phase: 'Running', podIP: '10.244.1.9' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    assert.equal(viaStatus.status!.podIP, '10.244.1.9');
    const viaMain = await core.patchNamespacedPod({ name: 'st', namespace: 'default', body: { status: { podIP: '1.1.1.1' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    assert.equal(viaMain.status!.podIP, '10.244.1.9');
  });

  it('deletes scheduled pods gracefully: marked first, gone after gracePeriodSeconds=0', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: { ...pod('grace', {}, 'n1'), spec: { nodeName: 'n1', terminationGracePeriodSeconds: 5, containers: [{ name: 'c', image: 'talaria/echo' }] } } });
    const marked = await core.deleteNamespacedPod({ name: 'grace', namespace: 'default' });
    assert.ok(marked.metadata!.deletionTimestamp);
    assert.equal(marked.metadata!.deletionGracePeriodSeconds, 5);
    const still = await core.readNamespacedPod({ name: 'grace', namespace: 'default' });
    assert.ok(still.metadata!.deletionTimestamp);
    await core.deleteNamespacedPod({ name: 'grace', namespace: 'default', gracePeriodSeconds: 0 });
    await assert.rejects(core.readNamespacedPod({ name: 'grace', namespace: 'default' }), (e) => statusOf(e).code === 404);
  });
});

describe('selectors', () => {
  it('lists by equality and set-based label selectors and by spec.nodeName', async () => {
    await core.createNamespace({ body: { metadata: { name: 'lists' } } });
    const specs: Array<[string, Record<string, string>, string]> = [
      ['a', { app: 'web', tier: 'fe' }, 'n1'],
      ['b', { app: 'web', canary: 'true' }, 'n2'],
      ['c', { app: 'db' }, 'n1'],
    ];
    for (const [name, labels, node] of specs) await core.createNamespacedPod({ namespace: 'lists', body: pod(name, labels, node) });
    const names = async (q: { labelSelector?: string; fieldSelector?: string }): Promise<string[]> =>
      (await core.listNamespacedPod({ namespace: 'lists', ...q })).items.map((p) => p.metadata!.name!);
    const cases: Array<[{ labelSelector?: string; fieldSelector?: string }, string[]]> = [
      [{ labelSelector: 'app=web' }, ['a', 'b']],
      [{ labelSelector: 'app==web,!canary' }, ['a']],
      [{ labelSelector: 'app in (web, db),tier notin (fe)' }, ['b', 'c']],
      [{ labelSelector: 'canary' }, ['b']],
      [{ labelSelector: 'app!=web' }, ['c']],
      [{ fieldSelector: 'spec.nodeName=n1' }, ['a', 'c']],
      [{ fieldSelector: 'spec.nodeName!=n1,metadata.name!=x' }, ['b']],
      [{ fieldSelector: 'metadata.name=c' }, ['c']],
      [{ labelSelector: 'app=web', fieldSelector: 'spec.nodeName=n1' }, ['a']],
    ];
    for (const [q, want] of cases) assert.deepEqual(await names(q), want, JSON.stringify(q));
    const all = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n2' });
    assert.deepEqual(all.items.map((p) => p.metadata!.name), ['b']);
    await assert.rejects(names({ labelSelector: 'app in web' }), (e) => statusOf(e).code === 400);
    await assert.rejects(names({ fieldSelector: 'spec.bogus=1' }), (e) => statusOf(e).code === 400);
  });

  it('pages with limit and continue', async () => {
    const first = await core.listNamespacedPod({ namespace: 'lists', limit: 2 });
    assert.equal(first.items.length, 2);
    assert.ok(first.metadata!._continue);
    const rest = await core.listNamespacedPod({ namespace: 'lists', limit: 2, _continue: first.metadata!._continue });
    assert.deepEqual(rest.items.map((p) => p.metadata!.name), ['c']);
  });
});

describe('leases', () => {
  it('supports leader election: create, renew with the current version, a stale candidate gets 409', async () => {
    const coord = kc.makeApiClient(k8s.CoordinationV1Api);
    const now = new k8s.V1MicroTime();
    const lease = await coord.createNamespacedLease({
      namespace: 'kube-system',
      body: { metadata: { name: 'talaria-controller' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
    });
    const stale = structuredClone(lease);
    lease.spec!.renewTime = new k8s.V1MicroTime(Date.now() + 1000);
    const renewed = await coord.replaceNamespacedLease({ name: 'talaria-controller', namespace: 'kube-system', body: lease });
    assert.equal(renewed.spec!.holderIdentity, 'a');
    stale.spec!.holderIdentity = 'b';
    await assert.rejects(coord.replaceNamespacedLease({ name: 'talaria-controller', namespace: 'kube-system', body: stale }), (e) => statusOf(e).code === 409);
    const read = await coord.readNamespacedLease({ name: 'talaria-controller', namespace: 'kube-system' });
    assert.equal(read.spec!.holderIdentity, 'a');
  });
});

describe('watch protocol', () => {
  /** Raw GET of a watch URL: the first `n` event lines. */
  function rawWatch(path: string, n: number): Promise<Array<{ type: string; object: { kind?: string; code?: number; metadata?: { name?: string; resourceVersion?: string } } }>> {
    return new Promise((resolve, reject) => {
      const req = request(server.url + path, (res) => {
        let buf = '';
        const out: unknown[] = [];
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            out.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
            if (out.length === n) {
              req.destroy();
              resolve(out as never);
            }
          }
        });
        res.on('end', () => resolve(out as never));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('sends bookmarks, and one ERROR 410 event for a compacted version', async () => {
    const rv = server.store.resourceVersion;
    const evs = await rawWatch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, 1);
    assert.equal(evs[0]!.type, 'BOOKMARK');
    assert.equal(evs[0]!.object.metadata!.resourceVersion, String(server.store.resourceVersion));
    server.store.create('events', { metadata: { name: 'e1' }, reason: 'Test' }, { namespace: 'default' });
    server.store.compact();
    const gone = await rawWatch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`, 1);
    assert.deepEqual([gone[0]!.type, gone[0]!.object.kind, gone[0]!.object.code], ['ERROR', 'Status', 410]);
  });

  it('prints Tables for kubectl get', async () => {
    const res = await fetch(`${server.url}/api/v1/namespaces/lists/pods?fieldSelector=metadata.name%3Da`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    const table = (await res.json()) as { kind: string; columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node']);
    assert.deepEqual(table.rows.map((r) => [r.cells[0], r.cells[2], r.cells[6]]), [['a', 'Pending', 'n1']]);
  });

  it('starts a watch without a resourceVersion with the current objects', async () => {
    const evs = await rawWatch('/api/v1/namespaces/lists/pods?watch=1', 3);
    assert.deepEqual(evs.map((e) => `${e.type} ${e.object.metadata!.name}`), ['ADDED a', 'ADDED b', 'ADDED c']);
  });
});
