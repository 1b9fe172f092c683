// The node agent: loads the host programs (maps pinned, reused on restart),
// writes the node configuration, attaches to the uplink and to every local
// pod's host veth, and keeps the maps equal to what Kubernetes says (local
// pods, frontends, ITP=Local endpoints). Event handlers only request a sync;
// a bounded-frequency runner coalesces them and resyncs periodically. Bad
// input (a pod without an IP, a vanished interface, a full map) is logged
// with the object's name and counted; everything else is still served.
import type { KubeConfig, V1Node, V1Pod } from '@kubernetes/client-node';
import type { HealthTracker } from '../observability/health.js';
import { BoundedFrequencyRunner } from '../proxy/bounded-frequency-runner.js';
import type { RunContext } from '../proxy/bounded-frequency-runner.js';
import { enableBpfStats } from '../bpf/loader/stats.js';
import type { StatsHandle } from '../bpf/loader/stats.js';
import { HOST_CFG_F_REDIRECT_PEER, HOST_FE_F_AFFINITY, HOST_MAPS } from '../bpf/layouts/host-maps.js';
import type { HostFrontend, HostFrontendKey, HostLocalBackend, HostLocalBackendKey, HostPod } from '../bpf/layouts/host-maps.js';
import { HostDatapath } from './datapath.js';
import { DesiredStateMemo, desiredState, frontendKeyString, isIPv4 } from './desired-state.js';
import type { DesiredState } from './desired-state.js';
import { DEFAULT_GC_TIMEOUTS, collectIdle } from './gc.js';
import type { GcTimeouts } from './gc.js';
import { makeInformers } from './informers.js';
import type { AgentInformers } from './informers.js';
import { isGone, linkInfo, listPodInterfaces, uplinkInfo } from './interfaces.js';
import type { PodInterface } from './interfaces.js';
import { syncMap } from './map-sync.js';
import type { MapSyncResult } from './map-sync.js';
import type { AgentMetrics } from './metrics.js';
import type { NodePortAddresses } from '../proxy/frontends.js';
import { NodePublisher } from './node-publisher.js';
import { nodeFacts, preflightProblems } from './preflight.js';
import { ServiceHealthServers } from './service-health-servers.js';
import type { NodeFacts, PreflightCheck } from './preflight.js';

export interface NodeAgentOptions {
  nodeName: string;
  /** kube-proxy's --service-proxy-name, as the controller's: serve only Services with this label value. */
  serviceProxyName?: string;
  /** kube-proxy's --nodeport-addresses, as the controller's (empty: every InternalIP). */
  nodePortAddresses?: NodePortAddresses;
  kubeconfig: KubeConfig;
  /** The node's link to the switch. */
  uplink: string;
  /** The node's network namespace (`ip netns` name); the current one when omitted. */
  netns?: string;
  pinDir?: string;
  /** The switch's MAC; default: the neighbour entry of the uplink's default gateway. */
  gatewayMac?: string;
  /** The pods' gateway interface: its MAC is the source of packets we deliver to pods. */
  podGatewayIf: string;
  /** Pod CIDR of the whole cluster: destinations sent straight to the uplink. */
  clusterCidr: string;
  objectPath?: string;
  /** Map sizes by map name (default: the object's); a pinned map keeps the size it was created with. */
  maxEntries?: Readonly<Record<string, number>>;
  /** Deliver into pods with bpf_redirect_peer (else bpf_redirect to the host veth). */
  redirectPeer: boolean;
  metrics: AgentMetrics;
  health: HealthTracker;
  log: (line: string) => void;
  timeouts?: GcTimeouts;
  gcIntervalMs?: number;
  minSyncIntervalMs?: number;
  resyncIntervalMs?: number;
  /** How often a failed preflight is checked again (default 10 s). */
  preflightRetryMs?: number;
  /** The node's facts for the preflight checks (tests); default: read from the node. */
  nodeFacts?: () => Promise<NodeFacts>;
  /**
   * Where the healthCheckNodePorts of externalTrafficPolicy=Local Services
   * are answered (the command: 0.0.0.0, every node address, as kube-proxy);
   * undefined: not served (tests of other things).
   */
  healthCheckBindAddress?: string;
}

function cidrParts(cidr: string): { addr: string; mask: string } {
  const [addr, lenText] = cidr.split('/');
  const len = Number(lenText);
  if (!isIPv4(addr) || !Number.isInteger(len) || len < 0 || len > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const a = addr.split('.').reduce((acc, x) => ((acc << 8) | Number(x)) >>> 0, 0) & mask;
  const dotted = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
  return { addr: dotted(a >>> 0), mask: dotted(mask) };
}

/** The cluster autoscaler's taint on a node it is about to delete. */
const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

const podName = (p: V1Pod): string => `${p.metadata?.namespace ?? 'default'}/${p.metadata?.name ?? '?'}`;

export class NodeAgent {
  private dp: HostDatapath | undefined;
  private stats: StatsHandle | undefined;
  private informers: AgentInformers | undefined;
  private runner: BoundedFrequencyRunner | undefined;
  /** Parsed Services and endpoints kept between syncs (desired-state.ts). */
  private readonly memo = new DesiredStateMemo();
  private gcTimer: NodeJS.Timeout | undefined;
  private desired: DesiredState | undefined;
  private podGwMac: string | undefined;
  /** Pod IPv4 -> its interfaces, from the last scan. */
  private ifaceByIp = new Map<string, PodInterface>();
  /** Pod IP -> pod uid at the last scan (a new uid means a new veth). */
  private scannedUid = new Map<string, string>();
  /** Host veth name -> ifindex we attached to. */
  private readonly attached = new Map<string, number>();
  /** Problems already logged (logged once, counted once). */
  private readonly reported = new Set<string>();
  private syncs = 0;
  private publisher: NodePublisher | undefined;
  private healthServers: ServiceHealthServers | undefined;
  private stopping = false;
  /** Ends a wait between two preflight runs (stop()). */
  private wakePreflight: (() => void) | undefined;

  constructor(private readonly opts: NodeAgentOptions) {}

  get datapath(): HostDatapath {
    if (!this.dp) throw new Error('node agent not started');
    return this.dp;
  }

  /** Number of completed syncs (tests wait on it). */
  get syncCount(): number {
    return this.syncs;
  }

  /**
   * Attaches and serves once the node passes the preflight checks; until
   * then it attaches nothing and reports why (healthz, the Node's
   * TalariaAgentReady condition, the log), checking again every few seconds.
   * Resolves when serving, or when stopped before.
   */
  async start(): Promise<void> {
    const o = this.opts;
    this.publisher = new NodePublisher(o.kubeconfig, o.nodeName, o.log);
    if (!(await this.passPreflight())) return;
    this.dp = HostDatapath.open({ objectPath: o.objectPath, pinDir: o.pinDir, netns: o.netns, maxEntries: o.maxEntries });
    for (const m of this.dp.migrations) o.log(`map ${m.map}: an older layout was pinned (${m.from}): ${m.copied} entries moved to ${m.to}, ${m.dropped} dropped`);
    o.metrics.attachDatapath(this.dp);
    try {
      this.stats = enableBpfStats();
    } catch (e) {
      o.log(`BPF run-time stats unavailable: ${(e as Error).message}`);
    }
    const up = await uplinkInfo(o.netns, o.uplink, o.gatewayMac);
    this.podGwMac = (await linkInfo(o.netns, o.podGatewayIf))?.mac;
    const cidr = cidrParts(o.clusterCidr);
    this.dp.config.update(0, {
      uplink_ifindex: up.ifindex,
      flags: o.redirectPeer ? HOST_CFG_F_REDIRECT_PEER : 0,
      uplink_mac: up.mac,
      gateway_mac: up.gatewayMac,
      cluster_cidr: cidr.addr,
      cluster_mask: cidr.mask,
      hairpin_addr: '0.0.0.0',
    });
    try {
      this.dp.attach(o.uplink, 'fromUplink');
    } catch (e) {
      o.metrics.attachErrors.inc();
      throw e;
    }
    o.log(`node ${o.nodeName}: uplink ${o.uplink} (ifindex ${up.ifindex}, ${up.mac}), switch ${up.gatewayMac}${o.pinDir ? `, pins in ${o.pinDir}` : ''}`);
    // Only now may the switch route to this node: its programs take the shim off.
    this.publisher.set({ uplinkMac: up.mac, ready: true, reason: 'ProgramsAttached', message: `programs attached to ${o.uplink}` });

    if (o.healthCheckBindAddress !== undefined) {
      this.healthServers = new ServiceHealthServers({ proxyHealthy: () => o.health.healthy(), bindAddress: o.healthCheckBindAddress, log: o.log });
    }
    this.runner = new BoundedFrequencyRunner({
      fn: (ctx) => this.sync(ctx),
      minIntervalMs: o.minSyncIntervalMs ?? 100,
      maxIntervalMs: o.resyncIntervalMs ?? 30_000,
      retryInitialMs: 500,
      retryMaxMs: 10_000,
      onError: (err) => o.log(`sync failed: ${(err as Error).stack ?? String(err)}`),
    });
    this.informers = makeInformers(
      o.kubeconfig,
      o.nodeName,
      () => {
        o.health.queued();
        this.runner?.run();
      },
      o.log,
    );
    for (const i of Object.values(this.informers)) i.start();
    this.runner.start();
    // The first sync runs once every cache has listed (until then sync() returns at once).
    const informers = this.informers;
    void Promise.all(Object.values(informers).map((i) => i.synced)).then(() => this.informers === informers && this.runner?.run({ full: true }));
    this.gcTimer = setInterval(() => this.collectGarbage(), o.gcIntervalMs ?? 10_000);
    this.gcTimer.unref();
  }

  /** Runs the preflight checks until they pass (true) or the agent is stopped (false). */
  private async passPreflight(): Promise<boolean> {
    const o = this.opts;
    let last = '';
    while (!this.stopping) {
      const facts = await (o.nodeFacts ?? (() => nodeFacts({ netns: o.netns, uplink: o.uplink, podGatewayIf: o.podGatewayIf })))();
      const problems = preflightProblems(facts);
      const failed = new Set<PreflightCheck>(problems.map((p) => p.check));
      for (const check of ['kernel', 'btf', 'uplink', 'pod_gateway', 'mtu'] as const) o.metrics.preflightFailed.set({ check }, failed.has(check) ? 1 : 0);
      if (problems.length === 0) {
        o.health.unblock('preflight');
        if (last) o.log('preflight checks pass now');
        return true;
      }
      const message = problems.map((p) => p.message).join('; ');
      if (message !== last) {
        o.log(`node ${o.nodeName} is not fit for Talaria, nothing attached (checking again every ${(o.preflightRetryMs ?? 10_000) / 1000} s): ${message}`);
        o.health.block('preflight', message);
        this.publisher?.set({ ready: false, reason: 'PreflightFailed', message });
        last = message;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.preflightRetryMs ?? 10_000);
        this.wakePreflight = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakePreflight = undefined;
    }
    return false;
  }

  /** Stops watching; programs stay attached and maps pinned (a restart picks them up). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakePreflight?.();
    this.publisher?.stop();
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.gcTimer = undefined;
    await this.runner?.stop();
    await this.healthServers?.close();
    if (this.informers) await Promise.all(Object.values(this.informers).map((i) => i.stop()));
    this.stats?.close();
    this.dp?.close();
    this.dp = undefined;
  }

  /** Logs and counts a problem once per distinct (kind, object). */
  private bad(kind: string, object: string, detail: string): void {
    const id = `${kind} ${object}`;
    if (this.reported.has(id)) return;
    this.reported.add(id);
    this.opts.metrics.badInput.inc({ kind });
    this.opts.log(`${kind}: ${object}: ${detail}`);
  }

  private noteMapErrors(map: string, r: MapSyncResult): void {
    for (const e of r.errors) this.bad(e.error.name === 'MapFullError' ? 'map_full' : 'map_update', `${map} ${e.key}`, e.error.message);
  }

  private async sync(ctx: RunContext): Promise<void> {
    const inf = this.informers;
    const dp = this.dp;
    if (!inf || !dp || !Object.values(inf).every((i) => i.hasSynced)) return;
    const started = performance.now();
    const m = this.opts.metrics;

    this.checkNodeEligibility(inf.nodes.list());
    const desired = desiredState({ nodeName: this.opts.nodeName, serviceProxyName: this.opts.serviceProxyName, nodePortAddresses: this.opts.nodePortAddresses, services: inf.services.list(), slices: inf.slices.list(), nodes: inf.nodes.list(), memo: this.memo });
    for (const p of desired.problems) this.bad('service', `Service ${p.service} ${p.field}`, p.message);
    this.flushStaleAffinity(this.desired, desired);
    this.desired = desired;
    const fronts = new Map<string, readonly [HostFrontendKey, HostFrontend]>();
    const lbes = new Map<string, readonly [HostLocalBackendKey, HostLocalBackend]>();
    for (const [ks, fe] of desired.frontends) {
      fronts.set(ks, [fe.key, fe.value]);
      fe.local.forEach((b, index) => lbes.set(`${ks}#${index}`, [{ fe: fe.key, index }, b]));
    }
    const lbeKey = (k: HostLocalBackendKey): string => `${frontendKeyString(k.fe)}#${k.index}`;
    // Local endpoints before the frontends that count them; leftovers after.
    this.noteMapErrors(HOST_MAPS.localBackends, syncMap(dp.localBackends, lbes, lbeKey, 'upsert'));
    const fr = syncMap(dp.frontends, fronts, frontendKeyString);
    this.noteMapErrors(HOST_MAPS.frontends, fr);
    const lr = syncMap(dp.localBackends, lbes, lbeKey, 'delete');
    this.noteMapErrors(HOST_MAPS.localBackends, lr);
    m.mapEntries.set({ map: HOST_MAPS.frontends }, fr.entries);
    m.mapEntries.set({ map: HOST_MAPS.localBackends }, lr.entries);
    await this.healthServers?.update(desired.healthChecks);

    const complete = await this.syncPods(ctx.full);
    this.syncs++;
    const seconds = (performance.now() - started) / 1000;
    m.syncDuration.observe(seconds);
    (ctx.full ? m.syncFullDuration : m.syncPartialDuration).observe(seconds);
    m.lastSync.set(Date.now() / 1000);
    this.opts.health.updated();
    // Pods whose interface is not there yet: look again soon.
    if (!complete) setTimeout(() => this.runner?.run(), 1000).unref();
  }

  /**
   * kube-proxy's node eligibility: a node being deleted, or marked by the
   * cluster autoscaler for deletion, answers /healthz 503 so that load
   * balancers drain it (externalTrafficPolicy=Cluster), while /livez stays 200.
   */
  private checkNodeEligibility(nodes: readonly V1Node[]): void {
    const self = nodes.find((n) => n.metadata?.name === this.opts.nodeName);
    const reason = self?.metadata?.deletionTimestamp
      ? `node ${this.opts.nodeName} is being deleted`
      : self?.spec?.taints?.some((t) => t.key === TO_BE_DELETED_TAINT)
        ? `node ${this.opts.nodeName} is tainted ${TO_BE_DELETED_TAINT}`
        : undefined;
    if (reason) this.opts.health.block('node', reason);
    else this.opts.health.unblock('node');
  }

  /**
   * ClientIP affinity remembers a backend id the host cannot map back to an
   * endpoint; when a frontend loses an endpoint, its affinity entries go
   * (kube-proxy forgets affinity to a removed endpoint too), so that no new
   * connection is PINNED to a backend the switch no longer has.
   */
  private flushStaleAffinity(prev: DesiredState | undefined, next: DesiredState): void {
    if (!prev) return;
    const flush = new Set<string>();
    for (const [ks, fe] of prev.frontends) {
      if (!(fe.value.flags & HOST_FE_F_AFFINITY)) continue;
      const now = new Set(next.frontends.get(ks)?.endpoints ?? []);
      if (fe.endpoints.some((e) => !now.has(e))) flush.add(ks);
    }
    if (flush.size === 0) return;
    const dp = this.dp!;
    const victims = [...dp.affinity.keys()].filter((k) => flush.has(frontendKeyString(k.fe)));
    if (victims.length) dp.affinity.deleteBatch(victims);
  }

  /** Local pods -> tl_host_pods, programs on their veths. False when some pod could not be placed yet. */
  private async syncPods(full: boolean): Promise<boolean> {
    const o = this.opts;
    const dp = this.dp!;
    const pods = this.informers!.pods.list().filter(
      (p) => p.spec?.nodeName === o.nodeName && !p.spec?.hostNetwork && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    );
    const wanted = new Map<string, V1Pod>();
    for (const p of pods) {
      const ip = (p.status?.podIPs ?? []).map((x) => x.ip).find(isIPv4) ?? (isIPv4(p.status?.podIP) ? p.status!.podIP : undefined);
      if (!ip) {
        if (p.status?.phase === 'Running') this.bad('pod_without_ip', podName(p), 'running pod has no IPv4 address');
        continue;
      }
      wanted.set(ip, p);
    }
    const stale = full || [...wanted].some(([ip, p]) => !this.ifaceByIp.has(ip) || this.scannedUid.get(ip) !== p.metadata?.uid);
    if (stale && wanted.size > 0) {
      const found = await listPodInterfaces(o.netns);
      this.ifaceByIp = new Map(found.flatMap((f) => f.podIPs.map((ip) => [ip, f] as const)));
      this.scannedUid = new Map([...wanted].map(([ip, p]) => [ip, p.metadata?.uid ?? '']));
    }

    let complete = true;
    const desiredPods = new Map<string, readonly [string, HostPod]>();
    const inUse = new Set<string>();
    for (const [ip, p] of wanted) {
      const f = this.ifaceByIp.get(ip);
      if (!f) {
        complete = false;
        this.bad('interface_not_found', podName(p), `no veth in the node namespace leads to ${ip} (yet)`);
        this.scannedUid.delete(ip);
        continue;
      }
      inUse.add(f.hostIfname);
      desiredPods.set(ip, [ip, { ifindex: f.hostIfindex, mac: f.podMac, gw_mac: this.podGwMac ?? f.hostMac }]);
      if (this.attached.get(f.hostIfname) === f.hostIfindex) continue;
      try {
        dp.attach(f.hostIfname, 'fromPod');
        this.attached.set(f.hostIfname, f.hostIfindex);
      } catch (e) {
        o.metrics.attachErrors.inc();
        complete = false;
        if (isGone(e) || (e as { errno?: number }).errno === 19) {
          this.ifaceByIp.delete(ip);
          this.bad('interface_vanished', podName(p), `${f.hostIfname}: ${(e as Error).message}`);
        } else {
          o.log(`attach to ${f.hostIfname} (pod ${podName(p)}) failed: ${(e as Error).message}`);
        }
        desiredPods.delete(ip);
      }
    }
    const pr = syncMap(dp.pods, desiredPods, (ip) => ip);
    this.noteMapErrors(HOST_MAPS.pods, pr);
    o.metrics.mapEntries.set({ map: HOST_MAPS.pods }, pr.entries);

    for (const [ifname] of this.attached) {
      if (inUse.has(ifname)) continue;
      this.attached.delete(ifname);
      try {
        dp.detach(ifname);
      } catch {
        // The veth went with its pod: nothing left to detach.
      }
    }
    return complete;
  }

  /** One pass of idle-entry collection (also run by tests). */
  collectGarbage(): void {
    const dp = this.dp;
    if (!dp) return;
    const m = this.opts.metrics;
    const affinity = new Map<string, number>();
    for (const [ks, fe] of this.desired?.frontends ?? []) if (fe.value.flags & HOST_FE_F_AFFINITY) affinity.set(ks, fe.value.affinity_timeout_s);
    try {
      const s = collectIdle(dp, process.hrtime.bigint(), this.opts.timeouts ?? DEFAULT_GC_TIMEOUTS, (fe) => affinity.get(frontendKeyString(fe)));
      for (const [map, st] of [[HOST_MAPS.conns, s.conns], [HOST_MAPS.replies, s.replies], [HOST_MAPS.affinity, s.affinity]] as const) {
        m.mapEntries.set({ map }, st.entries);
        if (st.deleted) m.gcDeleted.inc({ map }, st.deleted);
      }
      m.connectionEntries.set(s.conns.entries);
    } catch (e) {
      this.opts.log(`garbage collection failed: ${(e as Error).message}`);
    }
  }
}
