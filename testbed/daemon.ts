// The testbed's supervisor: the long-lived process `up` starts (detached) and
// `down` stops. It builds the topology, starts the real control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler), one kubelet per
// node, the relay that makes the API server reachable inside the node
// namespaces and, by mode, the real kube-proxy on every node or Talaria's
// switch, controllers and node agents. It reports progress through the state
// file (phase starting -> ready | failed) and, on SIGTERM or a failure, takes
// everything down again.
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { ApiClient } from './client.js';
import type { KubeObject } from './client.js';
import { ControlPlane } from './controlplane/control-plane.js';
import { Kubelet } from './kubelet/kubelet.js';
import { MountPoints } from './kubelet/volumes.js';
import { KUBE_PROXY_HEALTHZ, startKubeProxy } from './kube-proxy.js';
import { netnsPrefix, podNetns } from './network/addressing.js';
import { run } from './network/exec.js';
import type { Mode } from './network/addressing.js';
import { createTopology, destroyTopology } from './network/topology.js';
import { controlSocket, serveControl } from './control-socket.js';
import { FaultInjector } from './faults.js';
import type { Topology } from './network/topology.js';
import { NODE_API_SERVER, inNodeNetns, startNodeRelay, startRelayHub } from './node-processes.js';
import { logTail, stopTracked } from './processes.js';
import { stateDir, writeState } from './state.js';
import type { SwitchKind, TestbedState, TrackedProcess } from './state.js';
import { CHART_NAMESPACE, podProcessName, startTalaria } from './talaria-mode.js';
import type { TalariaProcesses } from './talaria-mode.js';
import { ECHO_APP, echoDeployment, echoService, extraService } from './workload.js';

export interface DaemonOptions {
  mode: Mode;
  /** talaria mode: the switch (default ebpf). */
  switchKind?: SwitchKind;
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

/** Writers at once when creating many objects (the API server's limit on mutating requests is higher). */
const CREATE_CONCURRENCY = 32;

/** Creates objects with a bounded number of requests in flight; a failure names the object. */
export async function createAll(api: ApiClient, objects: readonly KubeObject[], concurrency = CREATE_CONCURRENCY): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const o = objects[next++]!;
      await api.create(o).catch((err: unknown) => {
        throw new Error(`${o.kind}/${o.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, worker));
}

export class TestbedDaemon {
  private state: TestbedState;
  private writes: Promise<void> = Promise.resolve();
  private controlPlane: ControlPlane | undefined;
  private api: ApiClient | undefined;
  private kubelets: Kubelet[] = [];
  private topology: Topology | undefined;
  private stopping: Promise<void> | undefined;
  /** Health endpoints to poll until the data path is programmed (netns '' = the root namespace). */
  private health: { name: string; netns: string; url: string }[] = [];
  /** talaria mode: the relays to each node's Talaria metrics. */
  private talaria: TalariaProcesses | undefined;
  /** Mount points the kubelets make on the host, recorded in the state so that `down` finds them after a crash. */
  private readonly mountPoints = new MountPoints((dir) => {
    this.state.mountPoints = [...(this.state.mountPoints ?? []), dir];
    void this.save();
  });
  /** Controller pod -> its index in the process names. */
  private readonly controllerPods = new Map<string, number>();
  private readonly faults = new FaultInjector({
    processes: () => this.state.processes,
    replace: async (old, next) => {
      this.state.processes = this.state.processes.map((p) => (p === old || (p.name === old.name && p.pid === old.pid) ? next : p));
      await this.save();
    },
    controlPlane: () => this.controlPlane,
    switchPorts: () => this.topology?.switchPorts ?? [],
    node: (name) => {
      const i = this.topology?.nodes.findIndex((n) => n.name === name) ?? -1;
      return i < 0 ? undefined : { netns: this.topology!.nodes[i]!.netns, kubelet: this.kubelets[i]! };
    },
    log,
  });
  private control: Server | undefined;

  constructor(private readonly o: DaemonOptions) {
    this.state = {
      version: 1,
      phase: 'starting',
      mode: o.mode,
      ...(o.mode === 'talaria' ? { switch: o.switchKind ?? 'ebpf' } : {}),
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

  private readonly track = async (p: TrackedProcess): Promise<void> => {
    this.state.processes.push(p);
    await this.save();
  };

  /** A container a kubelet started: Talaria's get a process entry (replacing the one of an earlier run of it). */
  private onPodContainer(node: string, c: { namespace: string; pod: string; labels: Record<string, string>; pid: number; log: string }): void {
    const name = podProcessName(c.labels, c.pod, node, this.controllerPods);
    if (!name) return;
    const p: TrackedProcess = { name, pid: c.pid, argv: [], log: c.log, pod: `${c.namespace}/${c.pod}`, node };
    this.setPodMetrics(p);
    this.state.processes = [...this.state.processes.filter((x) => x.name !== name), p];
    void this.save();
  }

  /** A pod's containers are gone: so is its process entry (and a controller's name is free again). */
  private onPodStopped(p: { namespace: string; pod: string }): void {
    const key = `${p.namespace}/${p.pod}`;
    if (!this.state.processes.some((x) => x.pod === key)) return;
    log(`${key} stopped`);
    this.state.processes = this.state.processes.filter((x) => x.pod !== key);
    this.controllerPods.delete(p.pod);
    void this.save();
  }

  private setPodMetrics(p: TrackedProcess): void {
    if (!this.talaria || !p.node) return;
    p.metrics = (p.name.startsWith('controller-') ? this.talaria.controllerMetrics : this.talaria.agentMetrics).get(p.node);
  }

  /** Builds everything and waits until it serves; throws (after cleaning up) on failure. */
  async start(): Promise<void> {
    await mkdir(stateDir(), { recursive: true });
    await this.save();
    try {
      await this.build();
      this.control = await serveControl(controlSocket(), (request) => this.faults.handle(request));
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

    const dir = join(stateDir(), 'controlplane');
    const cp = (this.controlPlane = await ControlPlane.start({ dir, cluster: true, onStarted: this.track, log }));
    const api = (this.api = await ApiClient.fromKubeconfig(cp.adminKubeconfig));
    this.state.apiServer = cp.url;
    this.state.kubeconfig = cp.adminKubeconfig;
    await this.save();
    failpoint('api-server');

    // The API server inside every node namespace, for the processes that run there.
    const socket = join(stateDir(), 'apiserver.sock');
    await this.track(startRelayHub(cp.url, socket, stateDir()));
    for (const n of this.topology.nodes) await this.track(startNodeRelay(n.name, n.netns, socket, stateDir()));

    const podsDir = join(stateDir(), 'pods');
    for (const n of this.topology.nodes) {
      const kubeconfig = await cp.kubeconfigFor(`kubelet-${n.name}`, { user: `system:node:${n.name}`, groups: ['system:nodes'] });
      const k = new Kubelet({ kubeconfig, node: n, podsDir, log, mountPoints: this.mountPoints, onContainerStarted: (c) => this.onPodContainer(n.name, c), onPodStopped: (p) => this.onPodStopped(p) });
      this.kubelets.push(k);
      await k.start();
    }
    log(`${nodes} kubelets registered their Nodes`);

    if (mode === 'talaria') {
      const t = (this.talaria = await startTalaria({ controlPlane: cp, api, nodes: this.topology.nodes, switchPorts: this.topology.switchPorts, switchKind: this.o.switchKind ?? 'ebpf', logDir: stateDir(), onStarted: this.track }));
      this.state.p4runtime = t.p4runtime;
      this.state.p4runtimeReader = t.readerTls;
      this.state.pinDirs = t.pinDirs;
      for (const p of this.state.processes) if (p.pod) this.setPodMetrics(p);
      await this.save();
      log('Talaria installed (helm install charts/talaria)');
      // The chart's pods: an agent on every node, and the controllers (one per node at most: host ports).
      const want = nodes + Math.min(2, nodes);
      await this.waitFor(`${want} Talaria pods ready`, async () => (await this.readyPods(CHART_NAMESPACE, 'app.kubernetes.io/name=talaria')) >= want);
      log(`${want} Talaria pods ready`);
    } else {
      // One identity for every node's kube-proxy, bound to system:node-proxier, as kubeadm does.
      await api.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'testbed:kube-proxy' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:kube-proxy' }],
      });
      const nodeKubeconfig = await cp.kubeconfigFor('kube-proxy', { user: 'system:kube-proxy' }, NODE_API_SERVER);
      for (const n of this.topology.nodes) {
        await this.track(await startKubeProxy({ mode, node: n.name, netns: n.netns, kubeconfig: nodeKubeconfig, dir: stateDir() }));
        this.health.push({ name: `kube-proxy-${n.name}`, netns: n.netns, url: `http://${KUBE_PROXY_HEALTHZ}/healthz` });
      }
    }

    // Pods need their namespace's ServiceAccount, which kube-controller-manager creates.
    await this.waitFor('the default ServiceAccount', async () => (await api.raw('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200);
    const replicas = nodes * podsPerNode;
    await createAll(api, [echoDeployment(replicas), echoService()]);
    const t1 = Date.now();
    await createAll(api, Array.from({ length: this.o.services }, (_, i) => extraService(i + 1)));
    if (this.o.services > 0) log(`${this.o.services} extra Services created in ${Date.now() - t1} ms`);

    await this.waitReady(replicas);
    failpoint('ready');
  }

  private deadline = 0;

  /** Polls `ok` until it holds; fails when a process died or the deadline passed. */
  private async waitFor(what: string, ok: () => Promise<boolean>, everyMs = 200): Promise<void> {
    if (this.deadline === 0) this.deadline = Date.now() + (this.o.readyTimeoutMs ?? 10 * 60_000);
    for (;;) {
      if (await ok().catch(() => false)) return;
      if (Date.now() > this.deadline) throw new Error(`timed out waiting for ${what}`);
      this.checkProcesses();
      await sleep(everyMs);
    }
  }

  private async readyEchoPods(): Promise<number> {
    return this.readyPods('default', `app=${ECHO_APP}`);
  }

  private async readyPods(namespace: string, selector: string): Promise<number> {
    const pods = await this.api!.list(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`);
    return pods.filter((p) => !p.metadata.deletionTimestamp && ((p.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True')).length;
  }

  /** Services (of the workload) whose slices list every replica as ready. */
  private async servicesWithEndpoints(replicas: number): Promise<number> {
    const ready = new Map<string, number>();
    for (const s of await this.api!.list('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices')) {
      const svc = s.metadata.labels?.['kubernetes.io/service-name'];
      if (!svc) continue;
      const n = ((s.endpoints ?? []) as { conditions?: { ready?: boolean } }[]).filter((e) => e.conditions?.ready !== false).length;
      ready.set(svc, (ready.get(svc) ?? 0) + n);
    }
    let ok = 0;
    for (const s of await this.api!.list('/api/v1/namespaces/default/services')) if ((ready.get(s.metadata.name!) ?? 0) >= replicas && s.spec?.selector?.app === ECHO_APP) ok++;
    return ok;
  }

  private async waitReady(replicas: number): Promise<void> {
    await this.waitFor(`${replicas} ready echo pods`, async () => (await this.readyEchoPods()) >= replicas);
    log(`${replicas} pods ready`);
    const wantServices = 1 + this.o.services;
    await this.waitFor(`endpoints of ${wantServices} Services`, async () => (await this.servicesWithEndpoints(replicas)) >= wantServices, 500);
    log(`endpoints of ${wantServices} Services ready`);
    for (const h of this.health) {
      await this.waitFor(`${h.name} to report healthy at ${h.url}`, async () => {
        if (!h.netns) return (await fetch(h.url)).ok;
        return (await run(inNodeNetns(h.netns, ['curl', '-sf', '-o', '/dev/null', '--max-time', '1', h.url]), { allowFailure: true })).code === 0;
      });
    }
    await this.waitServing();
  }

  /**
   * Healthy processes are not yet a programmed data path: wait until a pod on
   * every node gets answers from the echo Service and from the last extra
   * Service (both the controller and kube-proxy write in order, so that one
   * comes last).
   */
  private async waitServing(): Promise<void> {
    const names = ['echo', ...(this.o.services > 0 ? [extraService(this.o.services).metadata.name!] : [])];
    const ips: string[] = [];
    for (const n of names) ips.push((await this.api!.request<KubeObject>('GET', `/api/v1/namespaces/default/services/${n}`)).spec!.clusterIP as string);
    const pods = await this.api!.list('/api/v1/namespaces/default/pods');
    const t = Date.now();
    for (const node of this.topology!.nodes) {
      const pod = pods.find((p) => p.spec?.nodeName === node.name && p.status?.podIP && !p.metadata.deletionTimestamp);
      if (!pod) continue;
      const netns = podNetns(pod.metadata.namespace ?? 'default', pod.metadata.name!);
      for (const ip of ips) {
        await this.waitFor(`Service ${ip}:80 to answer from ${node.name}`, async () => {
          const r = await run(['ip', 'netns', 'exec', netns, 'curl', '-s', '-o', '/dev/null', '--max-time', '1', `http://${ip}/`], { allowFailure: true });
          return r.code === 0;
        });
      }
    }
    log(`Services answer from every node (${Date.now() - t} ms)`);
  }

  /** A talaria process that died is a failed `up`, not a hang. */
  private checkProcesses(): void {
    for (const p of this.state.processes) {
      if (p.pod) continue; // its kubelet restarts it
      try {
        process.kill(p.pid, 0);
      } catch {
        throw new Error(`${p.name} (pid ${p.pid}) exited${logTail(p.log)}`);
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
    this.faults.stop();
    this.control?.close();
    const step = async (what: string, fn: () => Promise<unknown> | unknown): Promise<void> => {
      const t = Date.now();
      try {
        await fn();
      } catch (err) {
        log(`stop: ${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
      log(`stop: ${what} in ${Date.now() - t} ms`);
    };
    // Talaria and kube-proxy first (while the API server still answers), the control plane last.
    const controlPlane = new Set(this.controlPlane?.processes.map((p) => p.pid));
    await step('processes', () => stopTracked(this.state.processes.filter((p) => !controlPlane.has(p.pid) && !p.pod)));
    await step('kubelets', () => Promise.allSettled(this.kubelets.map((k) => k.stop())));
    await step('mount points', () => this.mountPoints.remove());
    await step('control plane', () => this.controlPlane?.stop());
    this.api?.close();
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
