// The node agent's metrics (names, types and labels as in
// observability/metrics.md), registered on the injected registry. Kernel
// counters (program run time, drops, paths) are read at scrape time; map
// occupancy comes from the last sync and garbage collection (counting an LRU
// map of 65k entries on every scrape would cost more than the scrape).
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { programStats } from '../bpf/loader/stats.js';
import { HOST_DROP_REASONS, HOST_EVENTS, HOST_MAPS } from '../bpf/layouts/host-maps.js';
import { HostDatapath } from './datapath.js';

/** kube-proxy's sync duration buckets: 0.001 * 2^n, n = 0..14. */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, n) => 0.001 * 2 ** n);

export class AgentMetrics {
  readonly syncDuration: Histogram;
  /** kube-proxy's split of the same syncs: full (periodic, or every pod interface rescanned) and partial. */
  readonly syncFullDuration: Histogram;
  readonly syncPartialDuration: Histogram;
  readonly lastSync: Gauge;
  readonly mapEntries: Gauge<'map'>;
  readonly mapCapacity: Gauge<'map'>;
  readonly connectionEntries: Gauge;
  readonly attachErrors: Counter;
  readonly badInput: Counter<'kind'>;
  readonly gcDeleted: Counter<'map'>;
  readonly preflightFailed: Gauge<'check'>;
  private datapath: HostDatapath | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.syncDuration = new Histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'Time of one sync of the node agent maps.', buckets: SYNC_BUCKETS, registers });
    this.syncFullDuration = new Histogram({ name: 'kubeproxy_sync_full_proxy_rules_duration_seconds', help: 'Time of one full sync of the node agent maps (periodic; every pod interface rescanned).', buckets: SYNC_BUCKETS, registers });
    this.syncPartialDuration = new Histogram({ name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds', help: 'Time of one partial sync of the node agent maps.', buckets: SYNC_BUCKETS, registers });
    this.lastSync = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'Unix time of the last successful sync of the maps; 0 until the first.', registers });
    this.lastSync.set(0);
    this.mapEntries = new Gauge({ name: 'talaria_bpf_map_entries', help: 'Entries in the map.', labelNames: ['map'], registers });
    this.mapCapacity = new Gauge({ name: 'talaria_bpf_map_capacity', help: 'The map max_entries.', labelNames: ['map'], registers });
    this.connectionEntries = new Gauge({ name: 'talaria_connection_entries', help: 'Entries in the connection map (tl_host_conns).', registers });
    this.attachErrors = new Counter({ name: 'talaria_attach_errors_total', help: 'Failed attaches of a TC program to an interface.', registers });
    this.badInput = new Counter({ name: 'talaria_nodeagent_bad_input_total', help: 'Objects or kernel state the agent could not use, by kind.', labelNames: ['kind'], registers });
    this.preflightFailed = new Gauge({ name: 'talaria_nodeagent_preflight_failed', help: '1 while the preflight check fails on this node (nothing is attached then), by check.', labelNames: ['check'], registers });
    this.gcDeleted = new Counter({ name: 'talaria_nodeagent_gc_deleted_total', help: 'Idle entries deleted by garbage collection, by map.', labelNames: ['map'], registers });

    const programs = (): Array<{ name: string; runTimeNs: number; runCount: number }> => this.programs();
    const datapath = (): HostDatapath | undefined => this.datapath;
    new Counter({
      name: 'talaria_bpf_program_run_seconds_total',
      help: 'CPU time spent in the program (needs kernel BPF stats enabled).',
      labelNames: ['program'],
      registers,
      collect() {
        this.reset();
        for (const p of programs()) this.inc({ program: p.name }, p.runTimeNs / 1e9);
      },
    });
    new Counter({
      name: 'talaria_bpf_program_runs_total',
      help: 'Runs of the program.',
      labelNames: ['program'],
      registers,
      collect() {
        this.reset();
        for (const p of programs()) this.inc({ program: p.name }, p.runCount);
      },
    });
    new Counter({
      name: 'talaria_drops_total',
      help: 'Packets the node programs dropped, by reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        const dp = datapath();
        if (!dp) return;
        HostDatapath.sumCounters(dp.drops, HOST_DROP_REASONS.length).forEach((v, i) => {
          if (i > 0) this.inc({ reason: HOST_DROP_REASONS[i]! }, v);
        });
      },
    });
    new Counter({
      name: 'talaria_host_packets_total',
      help: 'Packets by the path the host programs took.',
      labelNames: ['path'],
      registers,
      collect() {
        this.reset();
        const dp = datapath();
        if (!dp) return;
        HostDatapath.sumCounters(dp.events, HOST_EVENTS.length).forEach((v, i) => this.inc({ path: HOST_EVENTS[i]! }, v));
      },
    });
  }

  /** Starts reading kernel counters from this datapath. */
  attachDatapath(dp: HostDatapath): void {
    this.datapath = dp;
    for (const name of Object.values(HOST_MAPS)) this.mapCapacity.set({ map: name }, dp.mapCapacity(name));
  }

  private programs(): Array<{ name: string; runTimeNs: number; runCount: number }> {
    const dp = this.datapath;
    if (!dp) return [];
    try {
      return Object.values(dp.programs).map((p) => ({ ...programStats(p), name: p.name }));
    } catch {
      return []; // telemetry never throws
    }
  }
}
