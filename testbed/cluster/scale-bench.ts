// How fast the control plane takes 10,000 Services and their EndpointSlices,
// in-process and over HTTP (with watchers attached, as in a real run; the
// HTTP client is a child process, so serverCpuMs is the server's own CPU time):
//   node --import tsx testbed/cluster/scale-bench.ts [--services N] [--concurrency C]
// Prints one JSON object with the timings. A benchmark, not a test.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { ObjectStore } from '../apiserver/store.js';
import { startCluster, startControlPlane } from './control-plane.js';
import type { Cluster } from './control-plane.js';

const { values } = parseArgs({ options: { services: { type: 'string', default: '10000' }, concurrency: { type: 'string', default: '32' } } });
const N = Number(values.services);
const CONCURRENCY = Number(values.concurrency);
const APPS = 4;

function ms(since: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - since) / 1e5) / 10;
}

/** CPU milliseconds (user + system) of this process since `since`: meaningful on a busy machine. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return Math.round((d.user + d.system) / 100) / 10;
}

/** 3 Ready nodes and 12 ready pods in APPS apps, as `testbed up` leaves them. */
function workload(store: ObjectStore): void {
  for (let n = 1; n <= 3; n++) store.create('nodes', { metadata: { name: `node-${n}` }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  for (let i = 0; i < 12; i++) {
    const name = `pod-${i}`;
    store.create('pods', { metadata: { name, labels: { app: `app-${i % APPS}` } }, spec: { nodeName: `node-${(i % 3) + 1}`, containers: [{ name: 'c', image: 'talaria/echo', ports: [{ name: 'http', containerPort: 8080 }] }] } });
    store.patch('pods', 'default', name, { status: { phase: 'Running', podIP: `10.244.${(i % 3) + 1}.${10 + i}`, conditions: [{ type: 'Ready', status: 'True' }] } }, 'merge', { subresource: 'status' });
  }
}

function service(i: number): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { selector: { app: `app-${i % APPS}` }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };
}

function check(cluster: Cluster): { services: number; slices: number; endpoints: number } {
  let endpoints = 0;
  for (const s of cluster.store.scan('endpointslices')) endpoints += (s.endpoints as unknown[]).length;
  return { services: cluster.store.count('services'), slices: cluster.store.count('endpointslices'), endpoints };
}

async function inProcess(): Promise<object> {
  const store = new ObjectStore();
  const cluster = startCluster(store);
  workload(store);
  await cluster.settled();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) store.create('services', service(i));
  const created = ms(t0);
  const createdCpu = cpuMs(c0);
  await cluster.settled();
  const withSlices = ms(t0);
  const withSlicesCpu = cpuMs(c0);
  const counts = check(cluster);
  // A pod change that touches N/APPS Services.
  const t1 = process.hrtime.bigint();
  store.patch('pods', 'default', 'pod-0', { status: { conditions: [{ type: 'Ready', status: 'False' }] } }, 'merge', { subresource: 'status' });
  await cluster.settled();
  const podFlip = ms(t1);
  cluster.stop();
  return { createMs: created, createCpuMs: createdCpu, createWithSlicesMs: withSlices, createWithSlicesCpuMs: withSlicesCpu, podReadyFlipMs: podFlip, servicesTouchedByFlip: N / APPS, ...counts };
}

/**
 * The HTTP client runs in a child process, so that this process's CPU time is
 * the API server's and the controllers' alone. It POSTs services 0..n-1 with
 * `concurrency` requests in flight and prints the number of failures.
 */
const CLIENT = `
import { Agent, request } from 'node:http';
const [url, n, concurrency, apps] = process.argv.slice(1);
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency) });
let next = 0, failures = 0;
function post(i) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc-' + i, namespace: 'default' },
      spec: { selector: { app: 'app-' + (i % Number(apps)) }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
    const req = request(url + '/api/v1/namespaces/default/services', { method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(data);
  });
}
await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
  while (next < Number(n)) { const i = next++; if ((await post(i)) !== 201) failures++; }
}));
agent.destroy();
process.stdout.write(String(failures));
`;

function runClient(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CLIENT, url, String(N), String(CONCURRENCY), String(APPS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`HTTP client exited with ${code}`))));
  });
}

/** Open a watch and count its events (a stand-in for the controller's informers). */
function watchCount(url: string, path: string, counter: { n: number }): () => void {
  const req = request(url + path, (res) => {
    res.on('data', (c: Buffer) => {
      for (const b of c) if (b === 10) counter.n++;
    });
  });
  req.on('error', () => {});
  req.end();
  return () => req.destroy();
}

/**
 * `testbed up --services N` in miniature: N Services over the same 12 pods,
 * which then turn Ready one by one (2 ms apart). Every Service's slice follows
 * each pod; a batch period collects the burst.
 */
async function podsTurnReady(batchMs: number): Promise<object> {
  const store = new ObjectStore();
  const cluster = startCluster(store, { endpointSliceBatchPeriodMs: batchMs });
  for (let i = 0; i < 12; i++) {
    store.create('pods', { metadata: { name: `p${i}`, labels: { app: 'echo' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'talaria/echo', ports: [{ name: 'http', containerPort: 8080 }] }] } });
    store.patch('pods', 'default', `p${i}`, { status: { phase: 'Running', podIP: `10.244.1.${i + 2}`, conditions: [{ type: 'Ready', status: 'False' }] } }, 'merge', { subresource: 'status' });
  }
  for (let i = 0; i < N; i++) store.create('services', { metadata: { name: `s${i}` }, spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
  await cluster.settled();
  const rv0 = store.resourceVersion;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < 12; i++) {
    store.patch('pods', 'default', `p${i}`, { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 'merge', { subresource: 'status' });
    await new Promise((r) => setTimeout(r, 2));
  }
  await cluster.settled();
  const out = { batchPeriodMs: batchMs, wallMs: ms(t0), cpuMs: cpuMs(c0), sliceWrites: store.resourceVersion - rv0 - 12 };
  cluster.stop();
  return out;
}

async function overHttp(): Promise<object> {
  const cp = await startControlPlane({ historySize: 50_000 });
  workload(cp.store);
  await cp.settled();
  const svcEvents = { n: 0 };
  const sliceEvents = { n: 0 };
  const stops = [
    watchCount(cp.url, `/api/v1/services?watch=true&resourceVersion=${cp.store.resourceVersion}`, svcEvents),
    watchCount(cp.url, `/apis/discovery.k8s.io/v1/endpointslices?watch=true&resourceVersion=${cp.store.resourceVersion}`, sliceEvents),
  ];
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const failures = await runClient(cp.url);
  const created = ms(t0);
  await cp.settled();
  const withSlices = ms(t0);
  const withSlicesCpu = cpuMs(c0);
  for (let i = 0; i < 500 && (svcEvents.n < N || sliceEvents.n < N); i++) await new Promise((r) => setTimeout(r, 10));
  const watched = ms(t0);
  const t1 = process.hrtime.bigint();
  const listed = await new Promise<number>((resolve, reject) => {
    request(`${cp.url}/apis/discovery.k8s.io/v1/endpointslices`, (res) => {
      let size = 0;
      res.on('data', (c: Buffer) => (size += c.length));
      res.on('end', () => resolve(size));
    }).on('error', reject).end();
  });
  const listMs = ms(t1);
  const counts = check(cp);
  for (const s of stops) s();
  await cp.stop();
  return { concurrency: CONCURRENCY, createMs: created, createWithSlicesMs: withSlices, serverCpuMs: withSlicesCpu, watchersCaughtUpMs: watched, failures, serviceEventsWatched: svcEvents.n, sliceEventsWatched: sliceEvents.n, listSlicesMs: listMs, listSlicesBytes: listed, ...counts };
}

const result = { services: N, inProcess: await inProcess(), podsTurnReady: [await podsTurnReady(0), await podsTurnReady(200)], http: await overHttp() };
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
