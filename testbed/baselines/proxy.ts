// One node's kube-proxy stand-in for the baseline modes: watches Services and
// EndpointSlices in the object store and rewrites the node's whole ruleset
// (iptables-restore --noflush, or one nft transaction) on change. Syncs are
// coalesced like kube-proxy's bounded-frequency runner: a change syncs at
// once unless the last sync was less than minSyncPeriod ago, in which case it
// runs when that period ends; bursts of changes become one sync; a failed
// sync is retried.
import type { ObjectStore } from '../apiserver/store.js';
import type { NodeAddressing } from '../network/addressing.js';
import { POD_CIDR, SERVICE_CIDR } from '../network/addressing.js';
import { run } from '../network/exec.js';
import { buildServicePorts } from './service-model.js';
import { baseRules, iptablesRules } from './iptables-rules.js';
import type { IptablesSyncState } from './iptables-rules.js';
import { nftablesRules } from './nftables-rules.js';
import type { NftablesSyncState } from './nftables-rules.js';

export type BaselineMode = 'iptables' | 'nftables';

/**
 * Which iptables kube-proxy drives: the legacy (x_tables) binary by default,
 * as on the nodes kube-proxy's scale figures come from (iptables-nft needs
 * minutes to restore 10,000 Services here); TALARIA_TESTBED_IPTABLES=nft
 * selects iptables-nft.
 */
export function iptablesRestoreBinary(): string {
  return process.env.TALARIA_TESTBED_IPTABLES === 'nft' ? 'iptables-nft-restore' : 'iptables-legacy-restore';
}

export interface BaselineProxyOptions {
  store: ObjectStore;
  node: NodeAddressing;
  mode: BaselineMode;
  /** kube-proxy's --min-sync-period (default 1 s, kube-proxy's default). */
  minSyncPeriodMs?: number;
  log?: (msg: string) => void;
}

export interface SyncStats {
  syncs: number;
  failures: number;
  lastDurationMs: number;
  /** The store's resourceVersion the last successful sync had seen. */
  syncedResourceVersion: number;
  servicePorts: number;
  /** Per-service chains (iptables) or service ports (nftables) the last sync rewrote. */
  lastWritten: number;
  lastError?: string;
}

export class BaselineProxy {
  private unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private lastSyncStart = 0;
  private iptablesState: IptablesSyncState | undefined;
  private nftablesState: NftablesSyncState | undefined;
  private stopped = false;
  private initialized = false;
  private readonly waiters: { rv: number; resolve: () => void }[] = [];
  readonly stats: SyncStats = { syncs: 0, failures: 0, lastDurationMs: 0, syncedResourceVersion: 0, servicePorts: 0, lastWritten: 0 };

  constructor(private readonly opts: BaselineProxyOptions) {}

  start(): void {
    const onChange = (): void => this.requestSync();
    this.unsubscribe = [this.opts.store.subscribe('services', onChange), this.opts.store.subscribe('endpointslices', onChange)];
    this.requestSync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Resolves once a sync that saw at least this resourceVersion succeeded. */
  waitSynced(rv: number): Promise<void> {
    if (this.stats.syncedResourceVersion >= rv) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ rv, resolve }));
  }

  private requestSync(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.timer || this.running) return;
    const min = this.opts.minSyncPeriodMs ?? 1000;
    const wait = Math.max(0, this.lastSyncStart + min - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.sync().finally(() => {
        this.running = undefined;
        if (this.dirty) this.requestSync();
      });
    }, wait);
  }

  private async sync(): Promise<void> {
    this.dirty = false;
    this.lastSyncStart = Date.now();
    const { store, node, mode } = this.opts;
    const rv = store.resourceVersion;
    try {
      const ports = buildServicePorts(store.scan('services'), store.scan('endpointslices'), node.name);
      const exec = (argv: string[], input: string): Promise<unknown> => run(['ip', 'netns', 'exec', node.netns, ...argv], { input });
      if (mode === 'iptables') {
        const restore = iptablesRestoreBinary();
        if (!this.initialized) await exec([restore, '-w'], baseRules());
        const rules = iptablesRules(ports, { clusterCIDR: POD_CIDR }, this.iptablesState);
        // A failed restore leaves the kernel unknown: the next sync writes everything.
        this.iptablesState = undefined;
        await exec([restore, '-w', '--noflush'], rules.text);
        this.iptablesState = rules.state;
        this.stats.lastWritten = rules.written;
      } else {
        const rules = nftablesRules(ports, { clusterCIDR: POD_CIDR, serviceCIDR: SERVICE_CIDR, nodePortIPs: [node.ip] }, this.nftablesState);
        this.nftablesState = undefined;
        for (const t of rules.transactions) await exec(['nft', '-f', '-'], t);
        this.nftablesState = rules.state;
        this.stats.lastWritten = rules.written;
      }
      this.initialized = true;
      this.stats.syncs++;
      this.stats.servicePorts = ports.length;
      this.stats.syncedResourceVersion = rv;
      this.stats.lastError = undefined;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.rv <= rv) this.waiters.splice(i, 1)[0]!.resolve();
      }
    } catch (err) {
      this.stats.failures++;
      this.stats.lastError = err instanceof Error ? err.message : String(err);
      this.opts.log?.(`${mode} proxy ${node.name}: sync failed: ${this.stats.lastError}`);
      this.dirty = true; // retried after minSyncPeriod
    } finally {
      this.stats.lastDurationMs = Date.now() - this.lastSyncStart;
    }
  }
}
