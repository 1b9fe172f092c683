// Benchmarks of the controller's sync path (closing note of issue 6):
//   1. full sync of S Services x E endpoints into the switch (aim < 5 s);
//   2. network programming latency of a single endpoint change with S
//      Services present, from the EndpointSlice change to the switch's
//      acknowledgement of the write (aim p99 < 100 ms).
// The switch is the P4Runtime server (p4/server) over gRPC on loopback with
// the in-memory target, or any running P4Runtime server with --switch.
//
//   node --import tsx controller/bench-sync.ts [--services 10000] [--endpoints 10] [--changes 200]
//       [--target memory|ebpf] (server in a child process, as a switch would be) | [--switch HOST:PORT|none|inprocess]
import { fork } from 'node:child_process';
import type { KubeObject } from '../testbed/client.js';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { talariaP4Info } from '../p4/p4info/load-p4info.js';
import { MemoryTarget } from '../p4/server/memory-target.js';
import { P4RuntimeServer } from '../p4/server/server.js';
import { ClusterState } from './cluster-state.js';
import { ControllerMetrics } from './metrics.js';
import { BoundedFrequencyRunner } from '../proxy/bounded-frequency-runner.js';
import { EntityCodec } from './switch/codec.js';
import { SwitchConnection } from './switch/connection.js';
import { Syncer } from './syncer.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    endpoints: { type: 'string', default: '10' },
    changes: { type: 'string', default: '200' },
    switch: { type: 'string' },
    target: { type: 'string', default: 'memory' },
    serve: { type: 'boolean', default: false },
    'batch-size': { type: 'string', default: '2000' },
    // Drive the controller through the testbed API server (informers, watch delivery) instead of feeding it directly.
    'via-apiserver': { type: 'boolean', default: false },
  },
});
const S = Number(values.services);
const E = Number(values.endpoints);
const CHANGES = Number(values.changes);

const ip = (base: number, i: number): string => `${(base >>> 24) & 255}.${(base >>> 16) & 255}.${((base >>> 8) + (i >>> 8)) & 255}.${i & 255}`;
function service(i: number): V1Service {
  return { metadata: { namespace: 'bench', name: `svc-${i}`, creationTimestamp: new Date(0) }, spec: { clusterIP: ip(0x0a600000, i + 256), ports: [{ name: 'http', port: 80 }] } } as V1Service;
}
function slice(i: number, generation: number): V1EndpointSlice {
  return {
    metadata: { namespace: 'bench', name: `svc-${i}-x`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: Array.from({ length: E }, (_, j) => ({
      addresses: [`10.${128 + (((i * E + j) >>> 16) & 63)}.${((i * E + j) >>> 8) & 255}.${(i * E + j) & 255}`],
      // One endpoint flips between ready and terminating with every generation.
      conditions: j === 0 && generation % 2 === 1 ? { ready: false, serving: false, terminating: true } : { ready: true },
      nodeName: `node-${j % 4}`,
    })),
  } as V1EndpointSlice;
}
/** CHANGES endpoint changes, each to a random Service's slice, with that slice's next generation. */
function* randomChanges(): Generator<{ i: number; g: number }> {
  const gen = new Map<number, number>();
  for (let k = 0; k < CHANGES; k++) {
    const i = Math.floor(Math.random() * S);
    const g = (gen.get(i) ?? 0) + 1;
    gen.set(i, g);
    yield { i, g };
  }
}
function node(n: number): V1Node {
  return {
    metadata: { name: `node-${n}`, annotations: { 'talaria.io/switch-port': String(n + 1), 'talaria.io/uplink-mac': `02:00:00:00:00:0${n + 1}` } },
    spec: { podCIDR: `10.244.${n}.0/24` },
    status: { addresses: [{ type: 'InternalIP', address: `198.18.0.${n + 1}` }] },
  } as V1Node;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The switch side in a child process: the P4Runtime server on the memory or the eBPF target (maps only, no ports). */
async function serve(): Promise<void> {
  let target;
  let close = (): void => {};
  if (values.target === 'ebpf') {
    const { SwitchDatapath } = await import('../p4/softswitch/datapath.js');
    const { EbpfTarget } = await import('../p4/softswitch/ebpf-target.js');
    const datapath = SwitchDatapath.load();
    close = () => datapath.close();
    target = new EbpfTarget({ datapath });
  } else {
    target = new MemoryTarget();
  }
  const server = new P4RuntimeServer({ deviceId: 1, target });
  const port = await server.start('127.0.0.1:0');
  process.on('message', (m: string) => {
    if (m === 'stop') {
      void server.stop(100).then(() => {
        close();
        process.exit(0);
      });
    }
  });
  // Never outlive the benchmark (a crashed parent must not leave maps behind).
  process.on('disconnect', () => {
    close();
    process.exit(0);
  });
  process.send!({ port, description: target.description });
}

async function main(): Promise<void> {
  let server: P4RuntimeServer | undefined;
  let child: ReturnType<typeof fork> | undefined;
  let address = values.switch;
  const nullSwitch = address === 'none';
  if (address === 'inprocess') {
    server = new P4RuntimeServer({ deviceId: 1, target: new MemoryTarget() });
    address = `127.0.0.1:${await server.start('127.0.0.1:0')}`;
  } else if (!address) {
    const c = fork(fileURLToPath(import.meta.url), ['--serve', '--target', values.target!], { execArgv: ['--import', 'tsx', ...(process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : [])], stdio: 'inherit' });
    child = c;
    const hello = await new Promise<{ port: number; description: string }>((resolve, reject) => {
      c.once('message', (r) => resolve(r as { port: number; description: string }));
      c.once('exit', (code) => reject(new Error(`switch server exited with ${code}`)));
    });
    address = `127.0.0.1:${hello.port}`;
    console.log(`switch: P4Runtime server with the ${hello.description} target in a child process`);
  }
  if (values['via-apiserver']) {
    await viaApiServer(address!);
  } else {
    await direct(address!, nullSwitch);
  }
  await server?.stop(100);
  if (child) {
    const c = child;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.send('stop');
    });
  }
}

/** The whole controller (informers, runner) against a real kube-apiserver: EndpointSlice written -> switch ack. */
async function viaApiServer(address: string): Promise<void> {
  const { TestApiServer } = await import('../testbed/controlplane/test-api-server.js');
  const { Controller, loadKubeconfig } = await import('./controller.js');
  const api = await TestApiServer.start();
  const t0 = performance.now();
  for (let n = 0; n < 4; n++) {
    const { status, ...rest } = node(n);
    await api.patchStatus(await api.create({ apiVersion: 'v1', kind: 'Node', ...rest } as KubeObject), status as Record<string, unknown>);
  }
  await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  // 32 writers at a time: one at a time, the API server's round trip is the limit.
  for (let from = 0; from < S; from += 32) {
    await Promise.all(Array.from({ length: Math.min(32, S - from) }, async (_, k) => {
      const i = from + k;
      await api.create({ apiVersion: 'v1', kind: 'Service', ...service(i), metadata: { namespace: 'bench', name: `svc-${i}` } } as KubeObject);
      await api.create({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', ...slice(i, 0) } as unknown as KubeObject);
    }));
  }
  const tStore = performance.now();
  const controller = new Controller({
    kubeconfig: loadKubeconfig(api.kubeconfigPath),
    switchAddress: address,
    deviceId: 1n,
    electionId: 1n,
    registry: new Registry(),
    healthzAddress: '',
    metricsAddress: '',
    minSyncIntervalMs: 0,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  let synced: (() => void) | undefined;
  const sync = controller.syncer.sync.bind(controller.syncer);
  controller.syncer.sync = async (ctx) => {
    await sync(ctx);
    synced?.();
  };
  const firstFull = new Promise<void>((r) => (synced = r));
  const tStart = performance.now();
  await controller.start();
  while (!(controller.syncer.lastStats?.inserts ?? 0)) await firstFull.then(() => new Promise((r) => setTimeout(r, 10)));
  const tFull = performance.now();
  console.log(`via kube-apiserver: ${S} Services + ${S} EndpointSlices written in ${((tStore - t0) / 1000).toFixed(2)} s; controller start (list/watch) to the first full sync acknowledged: ${((tFull - tStart) / 1000).toFixed(2)} s (${controller.syncer.lastStats?.inserts} entities)`);
  const latencies: number[] = [];
  for (const { i, g } of randomChanges()) {
    const acked = new Promise<void>((r) => (synced = r));
    const start = performance.now();
    const next = slice(i, g);
    await api.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      ...next,
      metadata: { ...next.metadata, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date().toISOString() } },
    } as KubeObject);
    await acked;
    latencies.push(performance.now() - start);
  }
  latencies.sort((a, b) => a - b);
  if (latencies.length > 0) {
    console.log(
      `EndpointSlice written -> informer -> sync -> switch ack, ${CHANGES} changes with ${S} Services: p50 ${pct(latencies, 50).toFixed(1)} ms, p90 ${pct(latencies, 90).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms`,
    );
  }
  await controller.stop();
  await api.stop();
}

async function direct(address: string, nullSwitch: boolean): Promise<void> {
  const p4info = talariaP4Info();
  const state = new ClusterState();
  const metrics = new ControllerMetrics(new Registry());
  const syncer = new Syncer({ state, codec: new EntityCodec(p4info), metrics, readBackIntervalMs: 0, batchSize: Number(values['batch-size']), log: (l) => process.stderr.write(`${l}\n`) });
  let up!: () => void;
  const attached = new Promise<void>((r) => (up = r));
  const conn = new SwitchConnection({ address: address!, deviceId: 1n, electionId: 1n, p4info, onUp: (s) => (syncer.attach(s), up()), onDown: () => syncer.detach() });
  if (nullSwitch) {
    // Controller-only cost: a session that acknowledges everything at once and holds nothing.
    syncer.attach({ write: async () => [], read: async () => [] });
  } else {
    conn.start();
    await attached;
  }

  const t0 = performance.now();
  for (let n = 0; n < 4; n++) state.onNode(node(n));
  for (let i = 0; i < S; i++) {
    state.onService(service(i));
    state.onEndpointSlice(slice(i, 0));
  }
  const tModel = performance.now();
  const cpu0 = process.cpuUsage();
  await syncer.sync();
  const tFull = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const st = syncer.lastStats!;
  console.log(
    `full sync: ${S} Services x ${E} endpoints -> ${st.inserts} entities written in ${((tFull - tModel) / 1000).toFixed(2)} s (controller process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s incl. the P4Runtime client; model from objects ${((tModel - t0) / 1000).toFixed(2)} s; failures ${st.failures})`,
  );

  // Single endpoint changes, through the runner as the controller drives it.
  const latencies: number[] = [];
  let done: (() => void) | undefined;
  const runner = new BoundedFrequencyRunner({
    minIntervalMs: 0,
    maxIntervalMs: 3_600_000,
    fn: async () => {
      await syncer.sync();
      done?.();
    },
  });
  runner.start();
  for (const { i, g } of randomChanges()) {
    const acked = new Promise<void>((r) => (done = r));
    const start = performance.now();
    if (state.onEndpointSlice(slice(i, g))) runner.run();
    await acked;
    latencies.push(performance.now() - start);
  }
  // New Services (each with its endpoints): conflicts are re-resolved over all Services.
  const created: number[] = [];
  for (let k = 0; k < Math.min(50, CHANGES); k++) {
    const i = S + k;
    const acked = new Promise<void>((r) => (done = r));
    const start = performance.now();
    state.onService(service(i));
    state.onEndpointSlice(slice(i, 0));
    runner.run();
    await acked;
    created.push(performance.now() - start);
  }
  await runner.stop();
  created.sort((a, b) => a - b);
  if (created.length > 0) {
    console.log(`new Service -> switch ack, ${created.length} creations with ${S} Services: p50 ${pct(created, 50).toFixed(1)} ms, p99 ${pct(created, 99).toFixed(1)} ms`);
  }
  latencies.sort((a, b) => a - b);
  if (latencies.length > 0) console.log(
    `endpoint change -> switch ack, ${CHANGES} changes with ${S} Services: p50 ${pct(latencies, 50).toFixed(1)} ms, p90 ${pct(latencies, 90).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms`,
  );
  const tResync = performance.now();
  await syncer.sync({ full: true });
  console.log(`full resync (read back, diff: ${syncer.lastStats!.inserts + syncer.lastStats!.modifies + syncer.lastStats!.deletes} updates needed; ${syncer.installed.size} entities on the switch) in ${((performance.now() - tResync) / 1000).toFixed(2)} s`);
  if (!nullSwitch) await conn.stop();
}

(values.serve ? serve() : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
