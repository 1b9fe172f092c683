// The controller's metrics: kube-proxy's names where the meaning is the
// same (so existing dashboards and alerts work), talaria_* for the switch.
// Registered on an injected registry, never the global one.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** kube-proxy's sync duration buckets: 0.001 * 2^n, n = 0..14. */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, n) => 0.001 * 2 ** n);

export class ControllerMetrics {
  readonly syncDuration: Histogram;
  /** The same syncs split as kube-proxy splits them: full (every Service recomputed, the switch read back) and partial. */
  readonly syncFullDuration: Histogram;
  readonly syncPartialDuration: Histogram;
  readonly programmingDuration: Histogram;
  readonly lastSync: Gauge;
  readonly serviceChangesPending: Gauge;
  readonly serviceChangesTotal: Counter;
  readonly endpointChangesPending: Gauge;
  readonly endpointChangesTotal: Counter;
  readonly tableEntries: Gauge<'table'>;
  readonly tableCapacity: Gauge<'table'>;
  readonly writeErrors: Counter;
  readonly updates: Counter<'type'>;
  readonly leader: Gauge;
  readonly connected: Gauge;
  readonly unprogrammed: Gauge<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.syncDuration = new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds (one sync of the switch tables)',
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.syncFullDuration = new Histogram({ name: 'kubeproxy_sync_full_proxy_rules_duration_seconds', help: 'Latency of full syncs (every Service recomputed, the switch read back)', buckets: SYNC_BUCKETS, registers });
    this.syncPartialDuration = new Histogram({ name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds', help: 'Latency of partial syncs (only what changed)', buckets: SYNC_BUCKETS, registers });
    this.programmingDuration = new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'In Cluster Network Programming Latency in seconds (object change to switch acknowledgement)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300],
      registers,
    });
    this.lastSync = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time the switch tables were successfully synced', registers });
    this.serviceChangesPending = new Gauge({ name: 'kubeproxy_sync_proxy_rules_service_changes_pending', help: 'Pending service changes', registers });
    this.serviceChangesTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative service changes', registers });
    this.endpointChangesPending = new Gauge({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', help: 'Pending endpoint changes', registers });
    this.endpointChangesTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative endpoint changes', registers });
    this.tableEntries = new Gauge({ name: 'talaria_switch_table_entries', help: 'Entries the controller has installed in each switch table (and selector members/groups)', labelNames: ['table'], registers });
    this.tableCapacity = new Gauge({ name: 'talaria_switch_table_capacity', help: 'Size of each switch table from the P4Info', labelNames: ['table'], registers });
    this.writeErrors = new Counter({ name: 'talaria_switch_write_errors_total', help: 'P4Runtime updates the switch refused', registers });
    this.updates = new Counter({ name: 'talaria_switch_updates_total', help: 'P4Runtime updates acknowledged by the switch, by type', labelNames: ['type'], registers });
    this.leader = new Gauge({ name: 'talaria_leader', help: '1 when this controller holds the leader Lease', registers });
    this.connected = new Gauge({ name: 'talaria_switch_connected', help: '1 when this controller is connected and primary on the switch', registers });
    this.unprogrammed = new Gauge({ name: 'talaria_services_unprogrammed', help: 'Services not (fully) programmed, by reason', labelNames: ['reason'], registers });
    for (const reason of ['invalid', 'conflict', 'unsupported', 'capacity']) this.unprogrammed.set({ reason }, 0);
    this.leader.set(0);
    this.connected.set(0);
  }
}
