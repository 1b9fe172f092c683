// The testbed's kubelet: one per node, in the supervisor daemon, talking to
// the real API server as a kubelet does, with its node's own credentials
// (system:node:<name>, so the Node authorizer and NodeRestriction apply). It
// registers its Node with addresses, capacity and conditions, renews its
// Lease in kube-node-lease, and for every Pod bound to it: wires a namespace
// the way the bridge CNI plugin does, starts the containers (built-in images)
// inside it, reports the pod IP and Ready through pods/status once every
// declared port listens, and on deletion terminates gracefully (SIGTERM, the
// grace period, SIGKILL), removes the namespace and finishes the delete.
// It is the one part of the testbed with no real counterpart here: there is
// no container runtime, a container is a process in the pod's namespace.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig, ListWatch, V1MicroTime, Watch } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiClient, ApiRequestError } from '../client.js';
import { CNI_BRIDGE, podHostVeth, podIP, podNetns } from '../network/addressing.js';
import type { NodeAddressing } from '../network/addressing.js';
import { inNetns, ipBatch, run } from '../network/exec.js';
import { addPodNetwork, removePodNetwork } from '../network/topology.js';
import { containerArgv, expectedListeners, validateContainers } from '../images/images.js';
import type { ContainerSpec } from '../images/images.js';
import { containerEnv, expand } from './container-env.js';
import type { ConfigMapReader } from './container-env.js';
import { MountPoints, containerMounts, inContainerMounts, podVolumes } from './volumes.js';
import type { PodVolumes, TokenRequester } from './volumes.js';

export interface KubeletOptions {
  /** kubeconfig with this node's credentials (system:node:<name>). */
  kubeconfig: string;
  node: NodeAddressing;
  /** Where pod files (configs, logs) go. */
  podsDir: string;
  log?: (msg: string) => void;
  /** How often to look for listening ports while a pod starts (ms). */
  readinessPollMs?: number;
  /** Each container process started (and started again), e.g. for the testbed's process list. */
  onContainerStarted?: (c: { namespace: string; pod: string; labels: Record<string, string>; container: string; pid: number; log: string }) => void;
  /** Where mount points missing on the host are made (shared by a testbed's kubelets); default: the kubelet's own, removed when it stops. */
  mountPoints?: MountPoints;
  /** A pod's containers are gone (deleted, replaced, or failed to start). */
  onPodStopped?: (p: { namespace: string; pod: string }) => void;
}

interface RunningContainer {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  exitCode?: number | null;
}

interface LocalPod {
  key: string;
  uid: string;
  namespace: string;
  name: string;
  /** On the node's network (hostNetwork): no namespace, address or veth of its own. */
  hostNetwork: boolean;
  netns: string;
  ip: string;
  /** The address slot in the node's pod CIDR; 0 for a hostNetwork pod. */
  slot: number;
  labels: Record<string, string>;
  volumes?: PodVolumes;
  tokenTimer?: NodeJS.Timeout;
  /** Each container's spec as the API has it (env, volumeMounts, probes, securityContext). */
  podSpec: V1Pod;
  dir: string;
  containers: RunningContainer[];
  ready: boolean;
  terminating: boolean;
  specs: ContainerSpec[];
  startTime: string;
  restarts: number;
}

const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;
/** Projected service account tokens are rewritten this often (they live an hour). */
const TOKEN_REFRESH_MS = 20 * 60_000;
/** Renew the node Lease this often (the kubelet's default: a quarter of its 40 s duration). */
const LEASE_RENEW_MS = 10_000;

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class Kubelet {
  private readonly pods = new Map<string, LocalPod>();
  /** Pod uid -> its last status write (patchStatus keeps them in order). */
  private readonly statusWrites = new Map<string, Promise<void>>();
  private readonly usedSlots = new Set<number>();
  private lastSlot = 1;
  /** Per-pod serialized work, so that events for one pod never race. */
  private readonly queues = new Map<string, Promise<void>>();
  private api: ApiClient | undefined;
  private pods$: ListWatch<V1Pod> | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Lost (testbed/faults.ts): its heartbeats stop reaching the API server. */
  private lost = false;
  private readonly log: (msg: string) => void;
  private readonly mountPoints: MountPoints;

  constructor(private readonly opts: KubeletOptions) {
    this.log = opts.log ?? (() => undefined);
    this.mountPoints = opts.mountPoints ?? new MountPoints();
  }

  get nodeName(): string {
    return this.opts.node.name;
  }

  /** Registers the Node, starts renewing its Lease and handling its pods. */
  async start(): Promise<void> {
    this.api = await ApiClient.fromKubeconfig(this.opts.kubeconfig);
    await this.registerNode();
    await this.renewLease();
    this.leaseTimer = setInterval(() => void this.renewLease(), LEASE_RENEW_MS);
    const kc = new KubeConfig();
    kc.loadFromFile(this.opts.kubeconfig);
    const selector = `spec.nodeName=${this.nodeName}`;
    const path = '/api/v1/pods';
    const list = async () => {
      const l = await this.api!.request<{ items: V1Pod[]; metadata: { resourceVersion?: string } }>('GET', `${path}?fieldSelector=${encodeURIComponent(selector)}`);
      return { apiVersion: 'v1', kind: 'PodList', items: l.items, metadata: l.metadata };
    };
    this.pods$ = new ListWatch<V1Pod>(path, new Watch(kc), list, false, undefined, selector);
    for (const verb of ['add', 'update', 'delete'] as const) this.pods$.on(verb, (pod: V1Pod) => this.onPodEvent(pod));
    this.pods$.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.log(`kubelet ${this.nodeName}: pod watch: ${err instanceof Error ? err.message : String(err)}; listing again in 1 s`);
      setTimeout(() => void this.pods$?.start().catch(() => undefined), 1000).unref();
    });
    await this.pods$.start();
  }

  /** Stops handling pods and kills every local container (the namespaces go with the topology). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    await this.pods$?.stop();
    await Promise.allSettled([...this.queues.values()]);
    await Promise.allSettled([...this.pods.values()].map((p) => this.killContainers(p, 0)));
    for (const p of this.pods.values()) if (p.tokenTimer) clearInterval(p.tokenTimer);
    if (!this.opts.mountPoints) this.mountPoints.remove();
    this.api?.close();
  }

  /**
   * The node is lost to the cluster: no more heartbeats (its Lease is not
   * renewed), so the node controller marks it NotReady and its pods not
   * ready after its grace period. Its pods keep running, as on a node cut
   * off from the network.
   */
  lose(): void {
    this.lost = true;
  }

  /**
   * Found again: the Lease renewed, the Node Ready, and its running pods
   * Ready again (the node controller had marked them not ready).
   */
  async found(): Promise<void> {
    this.lost = false;
    await this.renewLease();
    await this.api!.request('PATCH', `/api/v1/nodes/${this.nodeName}/status`, { status: this.nodeStatus() }, 'application/merge-patch+json');
    for (const local of this.pods.values()) {
      const cur = this.pod(local.namespace, local.name);
      if (cur && local.ready && !local.terminating) this.patchStatus(cur, { conditions: this.conditions(true), containerStatuses: this.containerStatuses(local.specs, true, local.startTime, local.restarts) });
    }
  }

  /** Resolves when every pod queue is idle (tests, `up`). */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.allSettled([...this.queues.values()]);
  }

  /** The Pod as the watch last saw it. */
  private pod(namespace: string, name: string): V1Pod | undefined {
    return this.pods$?.get(name, namespace);
  }

  private async registerNode(): Promise<void> {
    const n = this.opts.node;
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': ARCH, 'node.kubernetes.io/instance-type': 'testbed' },
        // Only the testbed's own: where this node's namespace is. What Talaria
        // needs on the Node, its node agent publishes (as on a real cluster).
        annotations: { 'talaria.io/netns': n.netns },
      },
      spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] },
    };
    await this.api!.request('POST', '/api/v1/nodes', node).catch((err: unknown) => {
      // Registered before (a restarted kubelet): keep the object, refresh its status.
      if (!(err instanceof ApiRequestError && err.status === 409)) throw err;
    });
    // Status is a subresource: create drops it.
    await this.api!.request('PATCH', `/api/v1/nodes/${n.name}/status`, { status: this.nodeStatus() }, 'application/merge-patch+json');
  }

  private nodeStatus(): Record<string, unknown> {
    const n = this.opts.node;
    const t = now();
    const resources = { cpu: '2', memory: '24Gi', pods: '250', 'ephemeral-storage': '100Gi' };
    return {
      addresses: [
        { type: 'InternalIP', address: n.ip },
        { type: 'Hostname', address: n.name },
      ],
      capacity: resources,
      allocatable: resources,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'testbed kubelet is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t },
        ...(['MemoryPressure', 'DiskPressure', 'PIDPressure'] as const).map((type) => ({ type, status: 'False', reason: `KubeletHasNo${type}`, message: '', lastHeartbeatTime: t, lastTransitionTime: t })),
      ],
      nodeInfo: { kubeletVersion: 'v1.37.2-talaria-testbed', kubeProxyVersion: '', operatingSystem: 'linux', architecture: ARCH, containerRuntimeVersion: 'testbed://1', kernelVersion: '', osImage: 'talaria testbed', machineID: '', systemUUID: '', bootID: '' },
    };
  }

  /** The node's heartbeat: its Lease in kube-node-lease, as a kubelet renews it. */
  private async renewLease(): Promise<void> {
    if (this.lost) return;
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.nodeName}`;
    const spec = { holderIdentity: this.nodeName, leaseDurationSeconds: 40, renewTime: new V1MicroTime() };
    try {
      try {
        await this.api!.request('PATCH', path, { spec }, 'application/merge-patch+json');
      } catch (err) {
        if (!(err instanceof ApiRequestError && err.status === 404)) throw err;
        await this.api!.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.nodeName, namespace: 'kube-node-lease' },
          spec,
        });
      }
    } catch (err) {
      if (!this.stopped) this.log(`kubelet ${this.nodeName}: lease: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private onPodEvent(o: V1Pod): void {
    if (this.stopped || !o.metadata?.name) return;
    const ns = o.metadata.namespace ?? 'default';
    const key = `${ns}/${o.metadata.name}`;
    if (o.spec?.nodeName === this.nodeName || this.pods.has(key)) this.enqueue(ns, o.metadata.name);
  }

  private enqueue(namespace: string, name: string): void {
    this.enqueueTask(`${namespace}/${name}`, () => this.reconcile(namespace, name));
  }

  private enqueueTask(key: string, task: () => Promise<void>): void {
    const prev = this.queues.get(key) ?? Promise.resolve();
    // Never work synchronously inside a watch callback.
    const next = prev
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(task)
      .catch((err: unknown) => this.log(`kubelet ${this.nodeName}: pod ${key}: ${err instanceof Error ? err.message : String(err)}`));
    this.queues.set(key, next);
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private async reconcile(namespace: string, name: string): Promise<void> {
    if (this.stopped) return;
    const key = `${namespace}/${name}`;
    const pod = this.pod(namespace, name);
    const local = this.pods.get(key);
    if (!pod || pod.spec?.nodeName !== this.nodeName || (local && local.uid !== pod.metadata!.uid!)) {
      // Gone (or replaced by a new pod of the same name): tear down what we run.
      if (local) await this.teardown(local, 0);
      if (pod && pod.spec?.nodeName === this.nodeName) await this.reconcile(namespace, name);
      return;
    }
    if (pod.metadata?.deletionTimestamp) {
      if (local) await this.teardown(local, pod.metadata.deletionGracePeriodSeconds ?? 30);
      await this.finalizeDeletion(pod);
      return;
    }
    if (!local) await this.startPod(pod);
  }

  /**
   * The next free pod address after the last one handed out, as the bridge
   * CNI's host-local IPAM does: a freed address is not given to the next pod
   * at once, so that neighbours still caching the old pod's MAC for it do not
   * black-hole the new pod's traffic.
   */
  private allocateSlot(): number {
    for (let i = 1; i <= 253; i++) {
      const s = ((this.lastSlot - 2 + i) % 253) + 2;
      if (!this.usedSlots.has(s)) {
        this.usedSlots.add(s);
        this.lastSlot = s;
        return s;
      }
    }
    throw new Error(`node ${this.nodeName}: no free pod address in ${this.opts.node.podCIDR}`);
  }

  private async startPod(pod: V1Pod): Promise<void> {
    const namespace = pod.metadata!.namespace ?? 'default';
    const name = pod.metadata!.name!;
    const key = `${namespace}/${name}`;
    const containers = (pod.spec?.containers ?? []) as ContainerSpec[];
    const problems = validateContainers(containers, 'spec.containers');
    if (problems.length > 0) {
      this.patchStatus(pod, { phase: 'Failed', reason: 'UnsupportedImage', message: problems.join('; ') });
      return;
    }
    const hostNetwork = pod.spec?.hostNetwork === true;
    const slot = hostNetwork ? 0 : this.allocateSlot();
    const local: LocalPod = {
      key,
      uid: pod.metadata!.uid!,
      namespace,
      name,
      hostNetwork,
      netns: hostNetwork ? this.opts.node.netns : podNetns(namespace, name),
      ip: hostNetwork ? this.opts.node.ip : podIP(this.opts.node, slot),
      slot,
      labels: pod.metadata?.labels ?? {},
      podSpec: pod,
      dir: join(this.opts.podsDir, `${namespace}_${name}_${pod.metadata!.uid!.slice(0, 8)}`),
      containers: [],
      ready: false,
      terminating: false,
      specs: containers,
      startTime: now(),
      restarts: 0,
    };
    this.pods.set(key, local);
    try {
      if (pod.spec?.volumes?.length) {
        const volumes = await this.untilReferencesExist(local, () => podVolumes(pod, local.dir, { configMap: this.readConfigMap, secret: this.readSecret, token: this.requestToken }));
        local.volumes = volumes;
        local.tokenTimer = setInterval(() => void volumes.refreshTokens().catch((e: unknown) => this.log(`kubelet ${this.nodeName}: pod ${key}: token: ${(e as Error).message}`)), TOKEN_REFRESH_MS);
        local.tokenTimer.unref();
      }
      if (!hostNetwork) await addPodNetwork({ node: this.opts.node, netns: local.netns, hostVeth: podHostVeth(namespace, name, pod.metadata!.uid!), ip: local.ip });
      for (const c of containers) await this.startContainer(local, c);
    } catch (err) {
      await this.teardown(local, 0);
      this.patchStatus(pod, { phase: 'Failed', reason: 'StartError', message: err instanceof Error ? err.message : String(err) });
      throw err;
    }
    const startTime = local.startTime;
    this.patchStatus(pod, {
      phase: 'Running',
      hostIP: this.opts.node.ip,
      hostIPs: [{ ip: this.opts.node.ip }],
      podIP: local.ip,
      podIPs: [{ ip: local.ip }],
      startTime,
      conditions: this.conditions(false),
      containerStatuses: this.containerStatuses(containers, false, startTime),
    });
    await this.waitListening(local, containers);
    const cur = this.pod(namespace, name);
    if (!cur || cur.metadata!.uid !== local.uid || cur.metadata!.deletionTimestamp || local.terminating) return;
    local.ready = true;
    this.patchStatus(cur, { conditions: this.conditions(true), containerStatuses: this.containerStatuses(containers, true, startTime) });
    this.log(`kubelet ${this.nodeName}: pod ${key} ready at ${local.ip}`);
  }

  private async startContainer(local: LocalPod, c: ContainerSpec): Promise<void> {
    const dir = join(local.dir, c.name);
    const spec = (local.podSpec.spec?.containers ?? []).find((x) => x.name === c.name)!;
    const env = await this.untilReferencesExist(local, () => containerEnv(local.podSpec, spec, { configMap: this.readConfigMap, hostIP: this.opts.node.ip, podIP: local.ip }));
    let argv = await containerArgv(c, { pod: local.name, namespace: local.namespace, node: this.nodeName, dir }, (text) => expand(text, env));
    const mounts = local.volumes ? containerMounts(spec, local.volumes) : [];
    const uid = spec.securityContext?.runAsUser ?? local.podSpec.spec?.securityContext?.runAsUser;
    const gid = spec.securityContext?.runAsGroup ?? local.podSpec.spec?.securityContext?.runAsGroup ?? uid;
    if (mounts.length || uid) {
      await this.mountPoints.ensure(mounts.map((m) => m.target));
      argv = inContainerMounts(mounts, argv, uid ? { uid, gid: gid ?? uid } : undefined);
    }
    // The node's network: enter only its network namespace (`ip netns exec`
    // would remount /sys and hide the host's bpffs, which a node agent pins in).
    const full = local.hostNetwork ? ['nsenter', `--net=/run/netns/${local.netns}`, '--', ...argv] : inNetns(local.netns, argv);
    const log = join(dir, 'container.log');
    const logFd = openSync(log, 'a');
    try {
      // Own process group: termination reaches nginx's workers too. A
      // container's environment is its own (and PATH, to find its tools).
      const processEnv = spec.env?.length || spec.envFrom?.length ? { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/', ...env } : process.env;
      const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', logFd, logFd], env: processEnv });
      const rc: RunningContainer = { name: c.name, child, exited: Promise.resolve() };
      rc.exited = new Promise<void>((resolve) => {
        child.on('exit', (code) => {
          rc.exitCode = code;
          resolve();
          if (!local.terminating && !this.stopped && local.containers.includes(rc)) this.onContainerExit(local, c.name, code);
        });
        child.on('error', () => resolve());
      });
      local.containers.push(rc);
      if (child.pid !== undefined) this.opts.onContainerStarted?.({ namespace: local.namespace, pod: local.name, labels: local.labels, container: c.name, pid: child.pid, log });
    } finally {
      closeSync(logFd);
    }
  }

  /**
   * A pod whose ConfigMap is not there yet (kube-root-ca.crt is written by
   * kube-controller-manager shortly after a namespace appears) waits for it,
   * as a kubelet keeps a pod in ContainerCreating, instead of failing.
   */
  private async untilReferencesExist<T>(local: LocalPod, setUp: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await setUp();
      } catch (err) {
        if (!/(ConfigMap|Secret) .* not found|has no key/.test((err as Error).message) || attempt >= 120 || local.terminating || this.stopped) throw err;
        if (attempt === 1) this.log(`kubelet ${this.nodeName}: pod ${local.key}: ${(err as Error).message}; waiting for it`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** A ConfigMap's data as the API has it (binaryData decoded), for env and volumes. */
  private readonly readConfigMap: ConfigMapReader = async (namespace, name) => {
    try {
      const cm = await this.api!.request<{ data?: Record<string, string>; binaryData?: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
      return {
        ...Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
        ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      };
    } catch (err) {
      if (err instanceof ApiRequestError && err.status === 404) return undefined;
      throw err;
    }
  };

  /** A Secret's data (decoded), for secret volumes. */
  private readonly readSecret: ConfigMapReader = async (namespace, name) => {
    try {
      const secret = await this.api!.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    } catch (err) {
      if (err instanceof ApiRequestError && err.status === 404) return undefined;
      throw err;
    }
  };

  /** A pod's service account token, bound to the pod, as the kubelet gets it (TokenRequest). */
  private readonly requestToken: TokenRequester = async (o) => {
    const tr = await this.api!.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${o.namespace}/serviceaccounts/${o.serviceAccount}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { ...(o.audiences ? { audiences: o.audiences } : {}), expirationSeconds: o.expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: o.pod.name, uid: o.pod.uid } },
    });
    return tr.status.token;
  };

  /**
   * restartPolicy Always: a container that exits makes the pod unready; after
   * a back-off (1 s doubling to 30 s, as the kubelet's CrashLoopBackOff) the
   * pod's containers start again and the pod turns Ready once they listen.
   */
  private onContainerExit(local: LocalPod, name: string, code: number | null): void {
    this.log(`kubelet ${this.nodeName}: pod ${local.key}: container ${name} exited (${code}); restarting`);
    this.enqueueTask(local.key, async () => {
      if (local.terminating || this.stopped || this.pods.get(local.key) !== local) return;
      if (local.ready) {
        local.ready = false;
        const cur = this.pod(local.namespace, local.name);
        if (cur) this.patchStatus(cur, { conditions: this.conditions(false), containerStatuses: this.containerStatuses(local.specs, false, local.startTime, local.restarts) });
      }
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** local.restarts)));
      if (local.terminating || this.stopped || this.pods.get(local.key) !== local) return;
      local.restarts++;
      const old = local.containers;
      local.containers = [];
      for (const c of old) if (c.exitCode === undefined && c.child.pid !== undefined) process.kill(-c.child.pid, 'SIGKILL');
      await Promise.all(old.map((c) => c.exited));
      for (const c of local.specs) await this.startContainer(local, c);
      try {
        await this.waitListening(local, local.specs);
      } catch {
        return; // exited again: its exit queued the next attempt
      }
      const cur = this.pod(local.namespace, local.name);
      if (!cur || cur.metadata!.uid !== local.uid || cur.metadata!.deletionTimestamp || local.terminating) return;
      local.ready = true;
      this.patchStatus(cur, { conditions: this.conditions(true), containerStatuses: this.containerStatuses(local.specs, true, local.startTime, local.restarts) });
    });
  }

  /**
   * Until the pod can serve: its readiness probes pass (httpGet, inside its
   * network namespace), or, for containers without one, every declared port
   * listens (`ss` in the pod namespace).
   */
  private async waitListening(local: LocalPod, containers: readonly ContainerSpec[]): Promise<void> {
    const specs = local.podSpec.spec?.containers ?? [];
    const probes = specs.flatMap((c) => (c.readinessProbe?.httpGet ? [{ c, get: c.readinessProbe.httpGet }] : []));
    const want = expectedListeners(containers.filter((c) => !probes.some((p) => p.c.name === c.name)));
    const poll = this.opts.readinessPollMs ?? 100;
    for (;;) {
      if (local.terminating || this.stopped) return;
      const cur = this.pod(local.namespace, local.name);
      if (!cur || cur.metadata!.uid !== local.uid || cur.metadata!.deletionTimestamp) return;
      if (local.containers.some((c) => c.exitCode !== undefined)) {
        throw new Error(`container exited before listening (see ${local.dir})`);
      }
      const out = await run(['ss', '-N', local.netns, '-Hlntu'], { allowFailure: true });
      const tcp = new Set<number>();
      const udp = new Set<number>();
      for (const line of out.stdout.split('\n')) {
        const f = line.trim().split(/\s+/);
        const port = Number((f[4] ?? '').split(':').pop());
        if (f[0] === 'tcp') tcp.add(port);
        else if (f[0] === 'udp') udp.add(port);
      }
      const probed = await Promise.all(
        probes.map(async ({ c, get }) => {
          const port = typeof get.port === 'number' ? get.port : /^\d+$/.test(String(get.port)) ? Number(get.port) : c.ports?.find((p) => p.name === get.port)?.containerPort;
          if (port === undefined) throw new Error(`container ${c.name}: readinessProbe port ${String(get.port)} is not a container port`);
          const url = `http://127.0.0.1:${port}${get.path ?? '/'}`;
          const r = await run(['nsenter', `--net=/run/netns/${local.netns}`, '--', 'curl', '-fsS', '-o', '/dev/null', '-m', '2', url], { allowFailure: true });
          return r.code === 0;
        }),
      );
      if (probed.every(Boolean) && want.tcp.every((p) => tcp.has(p)) && want.udp.every((p) => udp.has(p))) return;
      await new Promise((r) => setTimeout(r, probes.length ? Math.max(poll, 500) : poll));
    }
  }

  private conditions(ready: boolean): object[] {
    const t = now();
    const s = ready ? 'True' : 'False';
    return [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
      { type: 'Initialized', status: 'True', lastTransitionTime: t },
      { type: 'ContainersReady', status: s, lastTransitionTime: t },
      { type: 'Ready', status: s, lastTransitionTime: t },
    ];
  }

  private containerStatuses(containers: readonly ContainerSpec[], ready: boolean, startedAt: string, restartCount = 0): object[] {
    return containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready,
      started: true,
      restartCount,
      state: { running: { startedAt } },
    }));
  }

  /**
   * Writes a pod's status (through the status subresource, as a kubelet must), after that pod's earlier writes: two PATCHes in
   * flight at once may reach the API server in either order, and a pod whose
   * "Running, not ready" landed after its "ready" stayed not ready for good
   * (seen: the benchmark waited 180 s for 2 of 5 nginx pods).
   */
  private patchStatus(pod: V1Pod, status: Record<string, unknown>): void {
    const uid = pod.metadata!.uid!;
    const path = `/api/v1/namespaces/${pod.metadata!.namespace ?? 'default'}/pods/${pod.metadata!.name!}/status`;
    const write = (): Promise<void> =>
      this.api!.request('PATCH', path, { status }, 'application/merge-patch+json').then(
        () => undefined,
        (err: unknown) => this.log(`kubelet ${this.nodeName}: status of ${pod.metadata!.name!}: ${err instanceof Error ? err.message : String(err)}`),
      );
    const next = (this.statusWrites.get(uid) ?? Promise.resolve()).then(write);
    this.statusWrites.set(uid, next);
    void next.then(() => {
      if (this.statusWrites.get(uid) === next) this.statusWrites.delete(uid);
    });
  }

  private async killContainers(local: LocalPod, graceSeconds: number): Promise<void> {
    const signal = (sig: NodeJS.Signals): void => {
      for (const c of local.containers) {
        if (c.exitCode !== undefined || c.child.pid === undefined) continue;
        try {
          process.kill(-c.child.pid, sig);
        } catch {
          // already gone
        }
      }
    };
    signal('SIGTERM');
    const all = Promise.all(local.containers.map((c) => c.exited));
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceSeconds * 1000).unref());
    if (graceSeconds <= 0 || (await Promise.race([all, timeout])) === 'timeout') signal('SIGKILL');
    await Promise.race([all, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  /** Graceful termination, then the namespace and the address go. */
  private async teardown(local: LocalPod, graceSeconds: number): Promise<void> {
    if (local.terminating) return;
    local.terminating = true;
    // The pod stays Ready while its containers run out their grace period (a
    // real kubelet's readiness probe keeps passing on a draining server): the
    // EndpointSlice then shows it serving and terminating, which kube-proxy
    // falls back to when no ready endpoint is left. Not ready once stopped.
    await this.killContainers(local, graceSeconds);
    if (local.ready) {
      local.ready = false;
      const cur = this.pod(local.namespace, local.name);
      if (cur && cur.metadata!.uid === local.uid) this.patchStatus(cur, { conditions: this.conditions(false) });
    }
    if (local.tokenTimer) clearInterval(local.tokenTimer);
    if (!local.hostNetwork) {
      await removePodNetwork(local.netns);
      // Forget the old pod's MAC for its address (it may be reused later).
      await ipBatch(this.opts.node.netns, [`neigh del ${local.ip} dev ${CNI_BRIDGE}`], true);
      this.usedSlots.delete(local.slot);
    }
    await rm(local.dir, { recursive: true, force: true });
    if (this.pods.get(local.key) === local) this.pods.delete(local.key);
    this.opts.onPodStopped?.({ namespace: local.namespace, pod: local.name });
  }

  /** The last step of a graceful delete: the object goes once the containers have. */
  private async finalizeDeletion(pod: V1Pod): Promise<void> {
    const path = `/api/v1/namespaces/${pod.metadata!.namespace ?? 'default'}/pods/${pod.metadata!.name!}`;
    try {
      await this.api!.request('DELETE', path, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } });
    } catch (err) {
      // Already gone, or replaced: nothing to finish.
      if (!(err instanceof ApiRequestError && (err.status === 404 || err.status === 409))) {
        this.log(`kubelet ${this.nodeName}: final delete of ${pod.metadata!.name!}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
