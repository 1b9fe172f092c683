// The testbed's supervisor: the long-lived process `up` starts (detached) and
// `down` stops. It builds the topology, hosts the API server with the cluster
// controllers, the scheduler, one kubelet per node and, in the baseline
// modes, one kube-proxy stand-in per node; in talaria mode it starts and
// tracks the software switch, the controller and the node agents. It reports
// progress through the state file (phase starting -> ready | failed) and, on
// SIGTERM or a failure, takes everything down again.
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiServer } from './apiserver/api-server.js';
import { ObjectStore } from './apiserver/store.js';
import { BaselineProxy } from './baselines/proxy.js';
import { startCluster } from './cluster/control-plane.js';
import type { Cluster } from './cluster/control-plane.js';
import { Kubelet } from './kubelet/kubelet.js';
import { netnsPrefix, podNetns } from './network/addressing.js';
import { run } from './network/exec.js';
import type { Mode } from './network/addressing.js';
import { createTopology, destroyTopology } from './network/topology.js';
import type { Topology } from './network/topology.js';
import { stopTracked } from './processes.js';
import { stateDir, writeState } from './state.js';
import type { TestbedState, TrackedProcess } from './state.js';
import { startTalaria } from './talaria-mode.js';
import { ECHO_APP, echoDeployment, echoService, extraService } from './workload.js';

export interface DaemonOptions {
  mode: Mode;
  nodes: number;
  podsPerNode: number;
  services: number;
  /** When `up` started (ms since the epoch), for the reported up time. */
  startedAtMs: number;
  /** Give up waiting for readiness after this long. */
  readyTimeoutMs?: number;
}

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Fault injection for the tests of a failed `up` (TALARIA_TESTBED_FAIL_AFTER=step). */
function failpoint(step: string): void {
  if (process.env.TALARIA_TESTBED_FAIL_AFTER === step) throw new Error(`injected failure after ${step}`);
}

export class TestbedDaemon {
  private state: TestbedState;
  private writes: Promise<void> = Promise.resolve();
  private store: ObjectStore | undefined;
  private api: ApiServer | undefined;
  private kubelets: Kubelet[] = [];
  private proxies: BaselineProxy[] = [];
  private cluster: Cluster | undefined;
  private topology: Topology | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly o: DaemonOptions) {
    this.state = {
      version: 1,
      phase: 'starting',
      mode: o.mode,
      nodes: o.nodes,
      podsPerNode: o.podsPerNode,
      services: o.services,
      prefix: netnsPrefix(),
      createdAt: new Date(o.startedAtMs).toISOString(),
      daemon: { name: 'daemon', pid: process.pid, argv: process.argv, log: join(stateDir(), 'daemon.log') },
      processes: [],
      pinDirs: [],
      log: join(stateDir(), 'daemon.log'),
    };
  }

  private save(): Promise<void> {
    const snapshot = structuredClone(this.state);
    this.writes = this.writes.then(() => writeState(snapshot));
    return this.writes;
  }

  /** Builds everything and waits until it serves; throws (after cleaning up) on failure. */
  async start(): Promise<void> {
    await mkdir(stateDir(), { recursive: true });
    await this.save();
    try {
      await this.build();
      this.state.phase = 'ready';
      this.state.readyAt = new Date().toISOString();
      this.state.upSeconds = (Date.now() - this.o.startedAtMs) / 1000;
      await this.save();
      log(`ready in ${this.state.upSeconds.toFixed(1)} s`);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      log(`failed: ${err instanceof Error ? (err.stack ?? msg) : msg}`);
      await this.stop();
      this.state.phase = 'failed';
      this.state.error = msg;
      await this.save();
      throw err;
    }
  }

  private async build(): Promise<void> {
    const { mode, nodes, podsPerNode } = this.o;
    const t0 = Date.now();
    this.topology = await createTopology({ mode, nodes });
    log(`topology (${mode}, ${nodes} nodes) in ${Date.now() - t0} ms`);

    const store = (this.store = new ObjectStore());
    this.cluster = startCluster(store, { kubernetesService: true, onError: (c, k, e) => log(`${c}: ${k}: ${e instanceof Error ? e.message : String(e)}`) });
    const kubeconfig = join(stateDir(), 'kubeconfig');
    this.api = await ApiServer.start({ store, kubeconfigPath: kubeconfig });
    this.state.apiServer = this.api.url;
    this.state.kubeconfig = kubeconfig;
    await this.save();
    log(`API server ${this.api.url}`);
    failpoint('api-server');

    const podsDir = join(stateDir(), 'pods');
    for (const n of this.topology.nodes) {
      const k = new Kubelet({ store, node: n, podsDir, log });
      this.kubelets.push(k);
      k.start();
    }

    if (mode === 'talaria') {
      const t = await startTalaria({
        nodes: this.topology.nodes,
        switchPorts: this.topology.switchPorts,
        kubeconfig,
        logDir: stateDir(),
        onStarted: async (p: TrackedProcess) => {
          this.state.processes.push(p);
          await this.save();
        },
      });
      this.state.p4runtime = t.p4runtime;
      this.state.pinDirs = t.pinDirs;
      await this.save();
      this.talariaHealth = t.healthz;
    }

    const replicas = nodes * podsPerNode;
    store.create('deployments', echoDeployment(replicas));
    store.create('services', echoService());
    const t1 = Date.now();
    for (let i = 1; i <= this.o.services; i++) store.create('services', extraService(i));
    if (this.o.services > 0) log(`${this.o.services} extra Services created in ${Date.now() - t1} ms`);

    await this.waitReady(replicas);
    failpoint('ready');
  }

  private talariaHealth: { name: string; url: string }[] = [];

  private readyEchoPods(): number {
    let n = 0;
    for (const p of this.store!.scan('pods')) {
      if (p.metadata.labels?.app !== ECHO_APP || p.metadata.deletionTimestamp) continue;
      if (((p.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True')) n++;
    }
    return n;
  }

  /** Services (of the workload) whose slices list every replica as ready. */
  private servicesWithEndpoints(replicas: number): number {
    const ready = new Map<string, number>();
    for (const s of this.store!.scan('endpointslices')) {
      const svc = s.metadata.labels?.['kubernetes.io/service-name'];
      if (!svc) continue;
      const n = ((s.endpoints ?? []) as { conditions?: { ready?: boolean } }[]).filter((e) => e.conditions?.ready !== false).length;
      ready.set(svc, (ready.get(svc) ?? 0) + n);
    }
    let ok = 0;
    for (const s of this.store!.scan('services')) if ((ready.get(s.metadata.name) ?? 0) >= replicas && (s.spec?.selector?.app === ECHO_APP)) ok++;
    return ok;
  }

  private async waitReady(replicas: number): Promise<void> {
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 10 * 60_000);
    const check = (what: string): void => {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      this.checkProcesses();
    };
    while (this.readyEchoPods() < replicas) {
      check(`${replicas} ready echo pods (have ${this.readyEchoPods()})`);
      await sleep(100);
    }
    log(`${replicas} pods ready`);
    const wantServices = 1 + this.o.services;
    await this.cluster!.settled();
    while (this.servicesWithEndpoints(replicas) < wantServices) {
      check(`endpoints of ${wantServices} Services (have ${this.servicesWithEndpoints(replicas)})`);
      await sleep(500);
      await this.cluster!.settled();
    }
    log(`endpoints of ${wantServices} Services ready`);
    if (this.o.mode !== 'talaria') {
      // Like a kube-proxy starting on a cluster that already has its
      // Services: one full sync per node, not one per intermediate state.
      for (const n of this.topology!.nodes) {
        const p = new BaselineProxy({ store: this.store!, node: n, mode: this.o.mode, log });
        this.proxies.push(p);
        p.start();
      }
      const rv = this.store!.resourceVersion;
      const t = Date.now();
      await Promise.race([
        Promise.all(this.proxies.map((p) => p.waitSynced(rv))),
        (async () => {
          for (;;) {
            check('the kube-proxy rules');
            await sleep(200);
          }
        })(),
      ]);
      log(`rules synced on ${this.proxies.length} nodes in ${Date.now() - t} ms (last sync ${Math.max(...this.proxies.map((p) => p.stats.lastDurationMs))} ms)`);
    }
    for (const h of this.talariaHealth) {
      for (;;) {
        check(`${h.name} to report healthy at ${h.url}`);
        const ok = await fetch(h.url).then((r) => r.ok, () => false);
        if (ok) break;
        await sleep(200);
      }
    }
    if (this.o.mode === 'talaria') await this.waitServing(check);
  }

  /**
   * Healthy processes are not yet a programmed switch: wait until a pod on
   * every node gets answers from the echo Service and from the last extra
   * Service (the controller writes in order, so that one comes last).
   */
  private async waitServing(check: (what: string) => void): Promise<void> {
    const store = this.store!;
    const names = ['echo', ...(this.o.services > 0 ? [extraService(this.o.services).metadata.name!] : [])];
    const ips = names.map((n) => store.peek('services', 'default', n)?.spec?.clusterIP as string);
    const t = Date.now();
    for (const node of this.topology!.nodes) {
      const pod = [...store.scan('pods')].find((p) => p.spec?.nodeName === node.name && p.status?.podIP && !p.metadata.deletionTimestamp);
      if (!pod) continue;
      const netns = podNetns(pod.metadata.namespace ?? 'default', pod.metadata.name);
      for (const ip of ips) {
        for (;;) {
          check(`Service ${ip}:80 to answer from ${node.name}`);
          const r = await run(['ip', 'netns', 'exec', netns, 'curl', '-s', '-o', '/dev/null', '--max-time', '1', `http://${ip}/`], { allowFailure: true });
          if (r.code === 0) break;
          await sleep(200);
        }
      }
    }
    log(`Services answer through the switch from every node (${Date.now() - t} ms)`);
  }

  /** A talaria process that died is a failed `up`, not a hang. */
  private checkProcesses(): void {
    for (const p of this.state.processes) {
      try {
        process.kill(p.pid, 0);
      } catch {
        throw new Error(`${p.name} (pid ${p.pid}) exited; see ${p.log ?? 'its log'}`);
      }
    }
  }

  /** Takes everything down (idempotent). */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.state.phase = this.state.phase === 'failed' ? 'failed' : 'stopping';
    await this.save().catch(() => undefined);
    const step = async (what: string, fn: () => Promise<unknown> | unknown): Promise<void> => {
      const t = Date.now();
      try {
        await fn();
      } catch (err) {
        log(`stop: ${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
      log(`stop: ${what} in ${Date.now() - t} ms`);
    };
    await step('proxies', () => Promise.allSettled(this.proxies.map((p) => p.stop())));
    await step('kubelets', () => Promise.allSettled(this.kubelets.map((k) => k.stop())));
    await step('processes', () => stopTracked(this.state.processes));
    await step('controllers', () => this.cluster?.stop());
    await step('API server', () => this.api?.stop());
    await step('namespaces', () => destroyTopology());
    await step('pins', () => removePins(this.state.pinDirs));
  }
}

/** Removes the testbed's bpffs pin directories, and /sys/fs/bpf/talaria when it is left empty. */
export async function removePins(dirs: readonly string[]): Promise<void> {
  for (const d of dirs) await rm(d, { recursive: true, force: true }).catch(() => undefined);
  try {
    if ((await readdir('/sys/fs/bpf/talaria')).length === 0) await rmdir('/sys/fs/bpf/talaria');
  } catch {
    // not there
  }
}

/** Entry of `talaria testbed daemon`: runs until SIGTERM/SIGINT. */
export async function runDaemon(o: DaemonOptions): Promise<void> {
  const d = new TestbedDaemon(o);
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const onSignal = (sig: string): void => {
    log(`${sig}: stopping`);
    void d.stop().then(resolveDone, resolveDone);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGHUP', () => undefined); // outlive the terminal of `up`
  await d.start();
  await done;
  log('stopped');
  // Timers of components that were shut down (back-offs, resyncs) must not keep the daemon around.
  process.exit(0);
}
