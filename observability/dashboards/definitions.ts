// The two Talaria dashboards. Metric names and job labels are the contract in
// observability/metrics.md; `$__rate_interval` adapts to the scrape interval.
import { DashboardBuilder } from './grafana.js';
import type { PanelSpec } from './grafana.js';

const C = 'job="talaria-controller"';
const N = 'job="talaria-node-agent", node=~"$node"';
const S = 'job="talaria-softswitch"';
const RI = '$__rate_interval';

function quantiles(metric: string, selector: string, by = ''): PanelSpec['queries'] {
  const group = by ? `${by}, le` : 'le';
  const legendPrefix = by ? `{{${by}}} ` : '';
  return [0.5, 0.9, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${group}) (rate(${metric}_bucket{${selector}}[${RI}])))`,
    legend: `${legendPrefix}p${Math.round(q * 100)}`,
  }));
}

export function overviewDashboard(): Record<string, unknown> {
  return new DashboardBuilder(
    'talaria-overview',
    'Talaria overview',
    'Talaria (kube-proxy replacement): control plane, switch tables, node eBPF data path. Metrics: observability/metrics.md.',
    [{ name: 'node', label: 'Node', query: 'label_values(up{job="talaria-node-agent"}, node)' }],
  )
    .row('Health')
    .stat({
      title: 'Leaders',
      description: 'Controller replicas holding the leader lease. Exactly 1 is healthy.',
      queries: [{ expr: `sum(talaria_leader{${C}})` }],
      thresholds: [[null, 'red'], [1, 'green'], [2, 'red']],
    })
    .stat({
      title: 'Switch',
      description: 'Whether the leading controller has its P4Runtime stream to the switch.',
      queries: [{ expr: `max(talaria_switch_connected{${C}} and on (job, instance) (talaria_leader{${C}} == 1))` }],
      valueText: { 0: 'Disconnected', 1: 'Connected' },
      thresholds: [[null, 'red'], [1, 'green']],
    })
    .stat({
      title: 'Controllers up',
      description: 'Controller replicas Prometheus scrapes successfully.',
      queries: [{ expr: `sum(up{${C}})` }],
      thresholds: [[null, 'red'], [1, 'green']],
    })
    .stat({
      title: 'Node agents up',
      description: 'Node agents up out of the node agents Prometheus knows.',
      queries: [{ expr: `sum(up{job="talaria-node-agent"}) / count(up{job="talaria-node-agent"})` }],
      unit: 'percentunit',
      thresholds: [[null, 'red'], [0.99, 'green']],
    })
    .stat({
      title: 'Unprogrammed Services',
      description: 'Services the controller cannot program into the switch (by any reason).',
      queries: [{ expr: `sum(talaria_services_unprogrammed{${C}})` }],
      thresholds: [[null, 'green'], [1, 'orange']],
    })
    .stat({
      title: 'Since last sync',
      description: 'Time since the leader last completed a sync.',
      queries: [{ expr: `time() - max(kubeproxy_sync_proxy_rules_last_timestamp_seconds{${C}})` }],
      unit: 's',
      thresholds: [[null, 'green'], [300, 'orange']],
    })
    .timeseries({
      title: 'Leader and switch connection',
      description: 'Per controller replica: 1 when it is leader / connected to the switch.',
      queries: [
        { expr: `talaria_leader{${C}}`, legend: 'leader {{instance}}' },
        { expr: `talaria_switch_connected{${C}}`, legend: 'switch connected {{instance}}' },
      ],
      min: 0,
      max: 1,
      w: 24,
      h: 6,
    })
    .row('Programming')
    .timeseries({
      title: 'Network programming latency',
      description: 'From a Service/EndpointSlice change to the end of the sync that programmed it into the switch.',
      queries: quantiles('kubeproxy_network_programming_duration_seconds', C),
      unit: 's',
    })
    .timeseries({
      title: 'Sync duration',
      description: 'Duration of one sync (desired state + P4Runtime writes).',
      queries: quantiles('kubeproxy_sync_proxy_rules_duration_seconds', C),
      unit: 's',
    })
    .timeseries({
      title: 'Sync rate',
      description: 'Syncs per second on the leader.',
      queries: [{ expr: `sum(rate(kubeproxy_sync_proxy_rules_duration_seconds_count{${C}}[${RI}]))`, legend: 'syncs/s' }],
      unit: 'ops',
      w: 8,
    })
    .timeseries({
      title: 'Changes received',
      description: 'Service and EndpointSlice changes per second.',
      queries: [
        { expr: `sum(rate(kubeproxy_sync_proxy_rules_service_changes_total{${C}}[${RI}]))`, legend: 'services' },
        { expr: `sum(rate(kubeproxy_sync_proxy_rules_endpoint_changes_total{${C}}[${RI}]))`, legend: 'endpoints' },
      ],
      unit: 'ops',
      w: 8,
    })
    .timeseries({
      title: 'Changes pending',
      description: 'Changes received and not yet programmed.',
      queries: [
        { expr: `max(kubeproxy_sync_proxy_rules_service_changes_pending{${C}})`, legend: 'services' },
        { expr: `max(kubeproxy_sync_proxy_rules_endpoint_changes_pending{${C}})`, legend: 'endpoints' },
      ],
      w: 8,
    })
    .timeseries({
      title: 'Switch write errors',
      description: 'P4Runtime updates the switch rejected, per second.',
      queries: [{ expr: `sum by (instance) (rate(talaria_switch_write_errors_total{${C}}[${RI}]))`, legend: '{{instance}}' }],
      unit: 'ops',
    })
    .timeseries({
      title: 'Unprogrammed Services by reason',
      description: 'Services the controller cannot program, by reason.',
      queries: [{ expr: `max by (reason) (talaria_services_unprogrammed{${C}})`, legend: '{{reason}}' }],
    })
    .row('Switch')
    .bargauge({
      title: 'Switch table occupancy',
      description: 'Entries written against the table size in the P4Info. The alert fires above 90%.',
      queries: [
        {
          expr: `max by (table) (talaria_switch_table_entries{${C}} / on (job, instance, table) (talaria_switch_table_capacity{${C}} > 0))`,
          legend: '{{table}}',
        },
      ],
      unit: 'percentunit',
      min: 0,
      max: 1,
      thresholds: [[null, 'green'], [0.75, 'orange'], [0.9, 'red']],
    })
    .timeseries({
      title: 'Switch table entries and capacity',
      description: 'Entries per table, with the table size for comparison.',
      queries: [
        { expr: `max by (table) (talaria_switch_table_entries{${C}})`, legend: '{{table}}' },
        { expr: `max by (table) (talaria_switch_table_capacity{${C}})`, legend: '{{table}} capacity' },
      ],
    })
    .timeseries({
      title: 'Switch table hits',
      description: 'Lookups that hit, per table (software switch).',
      queries: [{ expr: `sum by (table) (rate(talaria_switch_table_hits_total{${S}}[${RI}]))`, legend: '{{table}}' }],
      unit: 'pps',
    })
    .timeseries({
      title: 'Switch drops by reason',
      description: 'Packets the switch pipeline dropped (software switch).',
      queries: [{ expr: `sum by (reason) (rate(talaria_switch_drops_total{${S}}[${RI}]))`, legend: '{{reason}}' }],
      unit: 'pps',
      stack: true,
    })
    .timeseries({
      title: 'Switch pipeline CPU',
      description: 'CPU time in the software switch program (needs kernel.bpf_stats_enabled=1), in cores.',
      queries: [{ expr: `sum by (program) (rate(talaria_bpf_program_run_seconds_total{${S}}[${RI}]))`, legend: '{{program}}' }],
      unit: 'percentunit',
    })
    .timeseries({
      title: 'Switch time per packet',
      description: 'Average time of one run of the software switch program.',
      queries: [
        {
          expr: `sum by (program) (rate(talaria_bpf_program_run_seconds_total{${S}}[${RI}])) / sum by (program) (rate(talaria_bpf_program_runs_total{${S}}[${RI}]))`,
          legend: '{{program}}',
        },
      ],
      unit: 's',
    })
    .row('Nodes')
    .timeseries({
      title: 'Drops by reason',
      description: 'Packets the node eBPF programs dropped, by reason, over the selected nodes.',
      queries: [{ expr: `sum by (reason) (rate(talaria_drops_total{${N}}[${RI}]))`, legend: '{{reason}}' }],
      unit: 'pps',
      stack: true,
    })
    .timeseries({
      title: 'Connection-map entries',
      description: 'Entries in each node\'s connection map, with the map size. An LRU map: full means evictions.',
      queries: [
        { expr: `max by (node) (talaria_connection_entries{${N}})`, legend: '{{node}}' },
        { expr: `max(talaria_bpf_map_capacity{${N}, map="tl_host_conns"})`, legend: 'capacity' },
      ],
    })
    .timeseries({
      title: 'BPF CPU per node',
      description: 'CPU time spent in Talaria\'s eBPF programs (needs kernel.bpf_stats_enabled=1), in cores.',
      queries: [{ expr: `sum by (node) (rate(talaria_bpf_program_run_seconds_total{${N}}[${RI}]))`, legend: '{{node}}' }],
      unit: 'percentunit',
      stack: true,
    })
    .timeseries({
      title: 'BPF time per run',
      description: 'Average time of one program run, by program.',
      queries: [
        {
          expr: `sum by (program) (rate(talaria_bpf_program_run_seconds_total{${N}}[${RI}])) / sum by (program) (rate(talaria_bpf_program_runs_total{${N}}[${RI}]))`,
          legend: '{{program}}',
        },
      ],
      unit: 's',
    })
    .bargauge({
      title: 'BPF map occupancy',
      description: 'Fullest node per map: entries against max_entries.',
      queries: [
        {
          expr: `max by (map) (talaria_bpf_map_entries{${N}} / on (job, instance, map) (talaria_bpf_map_capacity{${N}} > 0))`,
          legend: '{{map}}',
        },
      ],
      unit: 'percentunit',
      min: 0,
      max: 1,
      thresholds: [[null, 'green'], [0.75, 'orange'], [0.9, 'red']],
    })
    .timeseries({
      title: 'Host fast-path packets by path',
      description: 'Packets per second by the path the node programs took (new Service connection, pinned, reply, local/remote pod, reject).',
      queries: [{ expr: `sum by (path) (rate(talaria_host_packets_total{${N}}[${RI}]))`, legend: '{{path}}' }],
      unit: 'pps',
      stack: true,
    })
    .timeseries({
      title: 'Node agent sync duration',
      description: 'p99 time of one sync of the BPF maps, per node.',
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (node, le) (rate(kubeproxy_sync_proxy_rules_duration_seconds_bucket{${N}}[${RI}])))`,
          legend: '{{node}}',
        },
      ],
      unit: 's',
    })
    .timeseries({
      title: 'Node agent: since last sync',
      description: 'Seconds since each node agent last synced its maps (0 before the first sync means it never did).',
      queries: [{ expr: `time() - max by (node) (kubeproxy_sync_proxy_rules_last_timestamp_seconds{${N}} > 0)`, legend: '{{node}}' }],
      unit: 's',
    })
    .timeseries({
      title: 'Program attach errors',
      description: 'Failed TC attaches per node.',
      queries: [{ expr: `sum by (node) (increase(talaria_attach_errors_total{${N}}[${RI}]))`, legend: '{{node}}' }],
    })
    .row('Processes')
    .timeseries({
      title: 'Process CPU',
      description: 'CPU used by each Talaria process, in cores.',
      queries: [{ expr: `sum by (job, instance) (rate(process_cpu_seconds_total{job=~"talaria-.*"}[${RI}]))`, legend: '{{job}} {{instance}}' }],
      unit: 'percentunit',
    })
    .timeseries({
      title: 'Process memory',
      description: 'Resident memory of each Talaria process.',
      queries: [{ expr: `max by (job, instance) (process_resident_memory_bytes{job=~"talaria-.*"})`, legend: '{{job}} {{instance}}' }],
      unit: 'bytes',
    })
    .build();
}

/** The kube-proxy metrics Talaria shares, each as a Talaria panel beside the same kube-proxy panel. */
export function comparisonDashboard(): Record<string, unknown> {
  const T = 'job=~"$talaria_job"';
  const K = 'job=~"$kubeproxy_job"';
  const b = new DashboardBuilder(
    'talaria-vs-kube-proxy',
    'Talaria against kube-proxy',
    'The metrics Talaria and kube-proxy share, side by side, for comparing during a migration.',
    [
      { name: 'talaria_job', label: 'Talaria job', options: ['talaria-controller'] },
      { name: 'kubeproxy_job', label: 'kube-proxy job', options: ['kube-proxy'] },
    ],
  );
  const pair = (spec: PanelSpec): void => {
    for (const [who, sel, procSel] of [
      ['Talaria', T, 'job=~"talaria-.*"'],
      ['kube-proxy', K, K],
    ] as const) {
      b.timeseries({
        ...spec,
        title: `${spec.title}: ${who}`,
        queries: spec.queries.map((q) => ({
          ...q,
          expr: q.expr.replaceAll('SEL', sel).replaceAll('PROC', procSel),
        })),
      });
    }
  };
  b.row('Programming latency');
  pair({
    title: 'Network programming latency',
    description: 'From an API change to the rules/tables that implement it.',
    queries: [0.5, 0.9, 0.99].map((q) => ({
      expr: `histogram_quantile(${q}, sum by (le) (rate(kubeproxy_network_programming_duration_seconds_bucket{SEL}[${RI}])))`,
      legend: `p${Math.round(q * 100)}`,
    })),
    unit: 's',
  });
  pair({
    title: 'Sync duration',
    description: 'One sync: kube-proxy writes iptables/nftables rules, Talaria writes switch tables.',
    queries: [0.5, 0.9, 0.99].map((q) => ({
      expr: `histogram_quantile(${q}, sum by (le) (rate(kubeproxy_sync_proxy_rules_duration_seconds_bucket{SEL}[${RI}])))`,
      legend: `p${Math.round(q * 100)}`,
    })),
    unit: 's',
  });
  b.row('Syncs and changes');
  pair({
    title: 'Sync rate',
    description: 'Syncs per second (kube-proxy: summed over nodes).',
    queries: [{ expr: `sum(rate(kubeproxy_sync_proxy_rules_duration_seconds_count{SEL}[${RI}]))`, legend: 'syncs/s' }],
    unit: 'ops',
  });
  pair({
    title: 'Since last sync',
    description: 'Seconds since the oldest instance last synced.',
    queries: [{ expr: `time() - min(kubeproxy_sync_proxy_rules_last_timestamp_seconds{SEL})`, legend: 'seconds' }],
    unit: 's',
  });
  pair({
    title: 'Changes received',
    description: 'Service and EndpointSlice changes per second.',
    queries: [
      { expr: `sum(rate(kubeproxy_sync_proxy_rules_service_changes_total{SEL}[${RI}]))`, legend: 'services' },
      { expr: `sum(rate(kubeproxy_sync_proxy_rules_endpoint_changes_total{SEL}[${RI}]))`, legend: 'endpoints' },
    ],
    unit: 'ops',
  });
  pair({
    title: 'Changes pending',
    description: 'Changes received and not yet programmed (max over instances).',
    queries: [
      { expr: `max(kubeproxy_sync_proxy_rules_service_changes_pending{SEL})`, legend: 'services' },
      { expr: `max(kubeproxy_sync_proxy_rules_endpoint_changes_pending{SEL})`, legend: 'endpoints' },
    ],
  });
  b.row('Cost');
  pair({
    title: 'Proxy CPU',
    description: 'CPU of all proxy processes (Talaria: controller, node agents, software switch), in cores.',
    queries: [{ expr: `sum(rate(process_cpu_seconds_total{PROC}[${RI}]))`, legend: 'cores' }],
    unit: 'percentunit',
  });
  pair({
    title: 'Proxy memory',
    description: 'Resident memory of all proxy processes.',
    queries: [{ expr: `sum(process_resident_memory_bytes{PROC})`, legend: 'resident' }],
    unit: 'bytes',
  });
  return b.build();
}

/** File name (under observability/dashboards/) to dashboard JSON. */
export function dashboards(): Record<string, Record<string, unknown>> {
  return {
    'talaria-overview.json': overviewDashboard(),
    'talaria-vs-kube-proxy.json': comparisonDashboard(),
  };
}
