// The EndpointSlice controller as kube-proxy (and Talaria's controller) sees
// its output: slices per Service, endpoint conditions through a pod's life,
// named ports, several slices for large Services, headless and ExternalName.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectStore } from '../apiserver/store.js';
import type { KubeObject, StoredObject } from '../apiserver/types.js';
import { startCluster } from './control-plane.js';
import type { Cluster } from './control-plane.js';
import { HEADLESS_LABEL, MANAGED_BY, MANAGED_BY_LABEL, SERVICE_NAME_LABEL } from './endpointslice-controller.js';
import type { Endpoint } from './endpointslice-controller.js';

let store: ObjectStore;
let cluster: Cluster;

beforeEach(() => {
  store = new ObjectStore();
  cluster = startCluster(store, { onError: (c, k, e) => assert.fail(`${c} ${k}: ${String(e)}`) });
});

afterEach(() => cluster.stop());

let ipCounter = 0;

/** A pod on n1 with an IP, as the kubelet leaves it; ready unless told otherwise. */
function runPod(name: string, labels: Record<string, string>, opts: { ready?: boolean; ports?: Array<{ name: string; containerPort: number; protocol?: string }> } = {}): StoredObject {
  store.create('pods', { metadata: { name, labels }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'talaria/echo', ports: opts.ports }] } });
  ipCounter++;
  return setReady(name, opts.ready ?? true, `10.244.${1 + (ipCounter >> 8)}.${ipCounter & 255}`);
}

function setReady(name: string, ready: boolean, podIP?: string): StoredObject {
  const status: KubeObject['status'] = { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
  if (podIP) status.podIP = podIP;
  return store.patch('pods', 'default', name, { status }, 'merge', { subresource: 'status' });
}

function slicesOf(svc: string): StoredObject[] {
  return [...store.scan('endpointslices', 'default')].filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === svc);
}

function endpoints(svc: string): Array<{ pod: string; ready: boolean; serving: boolean; terminating: boolean }> {
  return slicesOf(svc)
    .flatMap((s) => (s.endpoints as Endpoint[]).map((e) => ({ pod: e.targetRef.name, ...e.conditions })))
    .sort((a, b) => (a.pod < b.pod ? -1 : 1));
}

describe('EndpointSliceController', () => {
  it('labels and owns one slice per small Service, with resolved ports, node names and addresses', async () => {
    runPod('a', { app: 'web' });
    store.create('services', { metadata: { name: 'web', labels: { team: 'x' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    await cluster.settled();
    const [slice, ...more] = slicesOf('web');
    assert.equal(more.length, 0);
    assert.equal(slice!.addressType, 'IPv4');
    assert.equal(slice!.metadata.labels![MANAGED_BY_LABEL], MANAGED_BY);
    assert.equal(slice!.metadata.labels!.team, 'x');
    assert.equal(slice!.metadata.ownerReferences![0]!.kind, 'Service');
    assert.match(slice!.metadata.name, /^web-[a-z0-9]{5}$/);
    assert.deepEqual(slice!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const ep = (slice!.endpoints as Endpoint[])[0]!;
    assert.equal(ep.nodeName, 'n1');
    assert.match(ep.addresses[0]!, /^10\.244\./);
    assert.deepEqual(ep.targetRef.name, 'a');
  });

  it('follows a pod from not ready to ready to terminating to gone, leaving a placeholder slice', async () => {
    store.create('services', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    runPod('p', { app: 'web' }, { ready: false });
    await cluster.settled();
    assert.deepEqual(endpoints('web'), [{ pod: 'p', ready: false, serving: false, terminating: false }]);
    setReady('p', true);
    await cluster.settled();
    assert.deepEqual(endpoints('web'), [{ pod: 'p', ready: true, serving: true, terminating: false }]);
    store.delete('pods', 'default', 'p'); // graceful: the kubelet has not finished yet
    await cluster.settled();
    assert.deepEqual(endpoints('web'), [{ pod: 'p', ready: false, serving: true, terminating: true }]);
    store.delete('pods', 'default', 'p', { gracePeriodSeconds: 0 });
    await cluster.settled();
    assert.deepEqual(endpoints('web'), []);
    const slices = slicesOf('web');
    assert.equal(slices.length, 1);
    assert.deepEqual([slices[0]!.endpoints, slices[0]!.ports], [[], []]);
  });

  it('resolves named target ports per pod and groups pods that resolve differently', async () => {
    runPod('a', { app: 'n' }, { ports: [{ name: 'http', containerPort: 8080 }] });
    runPod('b', { app: 'n' }, { ports: [{ name: 'http', containerPort: 9090 }] });
    runPod('c', { app: 'n' }, { ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] });
    store.create('services', { metadata: { name: 'n' }, spec: { selector: { app: 'n' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' }] } });
    await cluster.settled();
    const view = slicesOf('n')
      .map((s) => `${(s.ports as Array<{ name: string; port: number }>).map((p) => `${p.name}:${p.port}`).join(',')} <- ${(s.endpoints as Endpoint[]).map((e) => e.targetRef.name).join(',')}`)
      .sort();
    assert.deepEqual(view, ['dns:53 <- c', 'web:8080 <- a', 'web:9090 <- b']);
  });

  it('spreads more than 100 endpoints over several slices and rewrites only the slice that changed', async () => {
    store.create('services', { metadata: { name: 'big' }, spec: { selector: { app: 'big' }, ports: [{ port: 80 }] } });
    for (let i = 0; i < 250; i++) runPod(`big-${String(i).padStart(3, '0')}`, { app: 'big' });
    await cluster.settled();
    const slices = slicesOf('big');
    assert.deepEqual(slices.map((s) => (s.endpoints as Endpoint[]).length).sort(), [100, 100, 50]);
    assert.equal(endpoints('big').length, 250);
    const versions = new Map(slices.map((s) => [s.metadata.name, s.metadata.resourceVersion]));
    store.delete('pods', 'default', 'big-000', { gracePeriodSeconds: 0 });
    await cluster.settled();
    const changed = slicesOf('big').filter((s) => versions.get(s.metadata.name) !== s.metadata.resourceVersion);
    assert.equal(changed.length, 1);
    assert.equal(endpoints('big').length, 249);
  });

  it('gives headless Services slices (labelled headless) and ExternalName Services none', async () => {
    runPod('h', { app: 'h' });
    store.create('services', { metadata: { name: 'hl' }, spec: { clusterIP: 'None', selector: { app: 'h' }, ports: [{ port: 80 }] } });
    store.create('services', { metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com', selector: { app: 'h' } } });
    await cluster.settled();
    assert.equal(slicesOf('hl').length, 1);
    assert.equal(slicesOf('hl')[0]!.metadata.labels![HEADLESS_LABEL], '');
    assert.equal(slicesOf('ext').length, 0);
  });

  it('moves endpoints when selectors or labels change, and deletes slices with the Service or its selector', async () => {
    runPod('a', { app: 'a' });
    runPod('b', { app: 'b' });
    store.create('services', { metadata: { name: 's' }, spec: { selector: { app: 'a' }, ports: [{ port: 80 }] } });
    await cluster.settled();
    assert.deepEqual(endpoints('s').map((e) => e.pod), ['a']);
    store.patch('services', 'default', 's', { spec: { selector: { app: 'b' } } });
    await cluster.settled();
    assert.deepEqual(endpoints('s').map((e) => e.pod), ['b']);
    store.patch('pods', 'default', 'a', { metadata: { labels: { app: 'b' } } });
    await cluster.settled();
    assert.deepEqual(endpoints('s').map((e) => e.pod), ['a', 'b']);
    store.patch('services', 'default', 's', { spec: { selector: null } });
    await cluster.settled();
    assert.equal(slicesOf('s').length, 0);
    store.patch('services', 'default', 's', { spec: { selector: { app: 'b' } } });
    await cluster.settled();
    assert.equal(slicesOf('s').length, 1);
    store.delete('services', 'default', 's');
    await cluster.settled();
    assert.equal(slicesOf('s').length, 0);
  });

  it('with a batch period, rewrites a slice once for a burst of pod changes', async () => {
    cluster.stop();
    cluster = startCluster(store, { endpointSliceBatchPeriodMs: 30, onError: (c, k, e) => assert.fail(`${c} ${k}: ${String(e)}`) });
    store.create('services', { metadata: { name: 'burst' }, spec: { selector: { app: 'burst' }, ports: [{ port: 80 }] } });
    for (let i = 0; i < 5; i++) runPod(`b${i}`, { app: 'burst' }, { ready: false });
    await cluster.settled();
    const writes: string[] = [];
    const off = store.subscribe('endpointslices', (e) => writes.push(e.type));
    for (let i = 0; i < 5; i++) setReady(`b${i}`, true);
    await cluster.settled();
    off();
    assert.deepEqual(writes, ['MODIFIED']);
    assert.equal(endpoints('burst').filter((e) => e.ready).length, 5);
  });

  it('repairs a managed slice someone else changed, and picks up Services that existed before it started', async () => {
    cluster.stop();
    store.create('services', { metadata: { name: 'early' }, spec: { selector: { app: 'e' }, ports: [{ port: 80 }] } });
    runPod('e', { app: 'e' });
    cluster = startCluster(store, { onError: (c, k, e) => assert.fail(`${c} ${k}: ${String(e)}`) });
    await cluster.settled();
    const [slice] = slicesOf('early');
    assert.equal((slice!.endpoints as Endpoint[]).length, 1);
    store.patch('endpointslices', 'default', slice!.metadata.name, { endpoints: [] });
    await cluster.settled();
    assert.equal((slicesOf('early')[0]!.endpoints as Endpoint[]).length, 1);
  });
});
