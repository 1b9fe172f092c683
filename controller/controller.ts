// `talaria controller` as an object: informers feed the cluster state, a
// bounded-frequency runner drives syncs, the Lease decides who writes, the
// switch connection provides the session. Standbys run everything except the
// switch connection, so their model is warm when they take over.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import type { Tracer } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import type { P4InfoIndex } from '../p4/p4info/p4info.js';
import { talariaP4Info } from '../p4/p4info/load-p4info.js';
import type { P4RuntimeTransport } from '../p4/transport.js';
import { HealthTracker } from '../observability/health.js';
import { startProxyServers, type ProxyServers } from '../observability/proxy-server.js';
import { makeLog } from '../cli/log.js';
import type { NodePortAddresses } from '../proxy/frontends.js';
import { ClusterState } from './cluster-state.js';
import type { ExternalRoute, PortMac } from './desired/nodes.js';
import { EventRecorder, eventSink, type EventSink } from './events.js';
import { startInformers, type ClusterInformers } from './informers.js';
import { LeaderElector, leaseApi, type LeaseApi } from './leader-election.js';
import { ControllerMetrics } from './metrics.js';
import { BoundedFrequencyRunner } from '../proxy/bounded-frequency-runner.js';
import { EntityCodec } from './switch/codec.js';
import { SwitchConnection } from './switch/connection.js';
import { Syncer } from './syncer.js';

export interface ControllerOptions {
  readonly kubeconfig: KubeConfig;
  readonly switchAddress: string;
  /** Mutual TLS or plaintext towards the switch (default plaintext: tests only; the command makes it explicit). */
  readonly switchTransport?: P4RuntimeTransport;
  readonly deviceId: bigint;
  /** The target's device config sent with the pipeline (BMv2: the JSON p4c wrote); empty for the eBPF switch. */
  readonly deviceConfig?: Buffer;
  /** High 64 bits of the P4Runtime election id; the low bits are the Lease's transitions (a newer leader always wins). */
  readonly electionId: bigint;
  readonly registry: Registry;
  readonly tracer?: Tracer;
  readonly externalRoutes?: readonly ExternalRoute[];
  /** The switch ports' own MACs: the source MAC of packets leaving each. */
  readonly portMacs?: readonly PortMac[];
  /** Node name -> the switch port that leads to it (--node-switch-port). */
  readonly nodeSwitchPorts?: ReadonlyMap<string, number>;
  /** kube-proxy's --nodeport-addresses (empty: every InternalIP answers on NodePorts). */
  readonly nodePortAddresses?: NodePortAddresses;
  readonly serviceProxyName?: string;
  /** undefined: no leader election (this process is the only writer). */
  readonly lease?: { namespace: string; name: string; durationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  readonly identity?: string;
  readonly healthzAddress?: string;
  readonly metricsAddress?: string;
  readonly minSyncIntervalMs?: number;
  readonly syncPeriodMs?: number;
  readonly p4info?: P4InfoIndex;
  readonly log?: (line: string) => void;
  /** Test seams. */
  readonly leaseApi?: LeaseApi;
  readonly eventSink?: EventSink;
}

export class Controller {
  readonly state: ClusterState;
  readonly syncer: Syncer;
  readonly metrics: ControllerMetrics;
  readonly health = new HealthTracker();
  readonly identity: string;
  private readonly runner: BoundedFrequencyRunner;
  private readonly log: (line: string) => void;
  private readonly p4info: P4InfoIndex;
  private informers: ClusterInformers | undefined;
  private elector: LeaderElector | undefined;
  private connection: SwitchConnection | undefined;
  private servers: ProxyServers | undefined;
  private readonly events: EventRecorder;
  private stopped = false;
  private leading = false;

  constructor(private readonly opts: ControllerOptions) {
    this.log = opts.log ?? makeLog('controller');
    this.identity = opts.identity ?? `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`;
    this.p4info = opts.p4info ?? talariaP4Info();
    this.metrics = new ControllerMetrics(opts.registry);
    this.state = new ClusterState({ externalRoutes: opts.externalRoutes ?? [], portMacs: opts.portMacs ?? [], nodeSwitchPorts: opts.nodeSwitchPorts ?? new Map() }, { serviceProxyName: opts.serviceProxyName });
    this.events = new EventRecorder(opts.eventSink ?? eventSink(opts.kubeconfig), this.identity, this.log);
    this.syncer = new Syncer({
      state: this.state,
      codec: new EntityCodec(this.p4info),
      nodePortAddresses: opts.nodePortAddresses,
      metrics: this.metrics,
      tracer: opts.tracer,
      log: this.log,
      onProblems: (p) => void this.events.record(p),
    });
    this.runner = new BoundedFrequencyRunner({
      minIntervalMs: opts.minSyncIntervalMs ?? 10,
      maxIntervalMs: opts.syncPeriodMs ?? 60_000,
      retryInitialMs: 500,
      retryMaxMs: 10_000,
      fn: async (ctx) => {
        await this.syncer.sync(ctx);
        this.health.updated();
      },
      onError: (err) => this.log(`sync failed (retrying): ${err instanceof Error ? err.message : String(err)}`),
    });
  }

  /** Ports of the health and metrics servers (0 when disabled). */
  get ports(): { healthz: number; metrics: number } {
    return { healthz: this.servers?.healthzPort ?? 0, metrics: this.servers?.metricsPort ?? 0 };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts serving health and metrics, the informers, and (once synced) leader election and syncing. */
  async start(): Promise<void> {
    this.servers = await startProxyServers({
      registry: this.opts.registry,
      health: this.health,
      healthzAddress: this.opts.healthzAddress,
      metricsAddress: this.opts.metricsAddress,
      proxyMode: 'talaria',
    });
    const changed = (pending: boolean): void => {
      if (!pending) return;
      this.health.queued();
      this.runner.run();
    };
    this.informers = startInformers(
      this.opts.kubeconfig,
      {
        services: { onChange: (o) => changed(this.state.onService(o)), onDelete: (o) => changed(this.state.onService(o, true)) },
        slices: { onChange: (o) => changed(this.state.onEndpointSlice(o)), onDelete: (o) => changed(this.state.onEndpointSlice(o, true)) },
        nodes: { onChange: (o) => changed(this.state.onNode(o)), onDelete: (o) => changed(this.state.onNode(o, true)) },
      },
      this.log,
    );
    await this.informers.synced;
    if (this.stopped) return;
    this.log('informers synced (Services, EndpointSlices, Nodes)');
    this.runner.start();
    this.runner.run();
    if (this.opts.lease) {
      this.elector = new LeaderElector(this.opts.leaseApi ?? leaseApi(this.opts.kubeconfig), {
        ...this.opts.lease,
        leaseDurationMs: this.opts.lease.durationMs,
        identity: this.identity,
        log: this.log,
        onStartedLeading: (transitions) => this.lead(BigInt(transitions)),
        onStoppedLeading: () => void this.unlead(),
        onNewLeader: (who) => who !== this.identity && this.log(`leader is ${who}`),
      });
      this.elector.start();
    } else {
      this.lead(0n);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.elector?.stop();
    await this.unlead();
    await this.runner.stop();
    await this.informers?.stop();
    await this.servers?.close();
  }

  private lead(transitions: bigint): void {
    if (this.stopped) return;
    this.leading = true;
    this.metrics.leader.set(1);
    // A leader without a session programs nothing: not healthy (a standby is).
    this.health.block('switch', `leader with no P4Runtime session with the switch at ${this.opts.switchAddress} yet`);
    let first = true;
    const connection = new SwitchConnection({
      address: this.opts.switchAddress,
      transport: this.opts.switchTransport,
      deviceId: this.opts.deviceId,
      electionId: (this.opts.electionId << 64n) + transitions,
      p4info: this.p4info,
      deviceConfig: this.opts.deviceConfig,
      log: this.log,
      onUp: (session) => {
        this.metrics.connected.set(1);
        this.health.unblock('switch');
        this.syncer.attach(session, { freshIds: first });
        first = false;
        this.runner.run({ full: true, resetBackoff: true });
      },
      onDown: () => {
        this.metrics.connected.set(0);
        if (this.leading) this.health.block('switch', `leader with no P4Runtime session with the switch at ${this.opts.switchAddress}: lost, reconnecting`);
        this.syncer.detach();
      },
    });
    this.connection = connection;
    connection.start();
  }

  private unleading: Promise<void> | undefined;

  private unlead(): Promise<void> {
    if (!this.leading) return this.unleading ?? Promise.resolve();
    this.unleading = this.stepDown();
    return this.unleading;
  }

  private async stepDown(): Promise<void> {
    this.leading = false;
    this.metrics.leader.set(0);
    this.health.unblock('switch');
    this.syncer.detach();
    const c = this.connection;
    this.connection = undefined;
    await c?.stop();
    this.metrics.connected.set(0);
  }
}

export function loadKubeconfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
