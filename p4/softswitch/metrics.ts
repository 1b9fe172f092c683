// Prometheus metrics of the software switch (observability/metrics.md, job
// "talaria-softswitch"), read from the per-CPU maps at scrape time: hits per
// table, drops per reason; plus, when kernel BPF stats are on, the program's
// run count and run time (the per-packet cost under real traffic).
import { Counter, type Registry } from 'prom-client';
import { programStats } from '../../bpf/loader/index.js';
import { DROP_REASONS, SWITCH_TABLES } from '../../bpf/layouts/switch-maps.js';
import type { P4InfoIndex } from '../p4info/p4info.js';
import type { SwitchDatapath } from './datapath.js';

export function registerSwitchMetrics(registry: Registry, datapath: SwitchDatapath, p4info: P4InfoIndex): void {
  const maps = datapath.maps;
  const tableName = (alias: string): string => p4info.findTable(alias)?.name ?? alias;
  registry.registerMetric(
    new Counter({
      name: 'talaria_switch_table_hits_total',
      help: 'Lookups that hit, per P4 table name.',
      labelNames: ['table'],
      registers: [],
      collect() {
        this.reset();
        SWITCH_TABLES.forEach((t, i) => {
          const hits = (maps.table_stats.lookup(i) ?? []).reduce((s, c) => s + c.hits, 0n);
          this.inc({ table: tableName(t) }, Number(hits));
        });
      },
    }),
  );
  registry.registerMetric(
    new Counter({
      name: 'talaria_switch_drops_total',
      help: 'Packets the pipeline dropped, by reason.',
      labelNames: ['reason'],
      registers: [],
      collect() {
        this.reset();
        for (const [i, reason] of Object.entries(DROP_REASONS)) {
          const n = (maps.drops.lookup(Number(i)) ?? []).reduce((s, c) => s + c.packets, 0n);
          this.inc({ reason }, Number(n));
        }
      },
    }),
  );
  registry.registerMetric(
    new Counter({
      name: 'talaria_bpf_program_runs_total',
      help: 'Runs of the program (bpf_prog_info run_cnt; counts while kernel BPF stats are enabled).',
      labelNames: ['program'],
      registers: [],
      collect() {
        this.reset();
        this.inc({ program: datapath.program.name }, programStats(datapath.program).runCount);
      },
    }),
  );
  registry.registerMetric(
    new Counter({
      name: 'talaria_bpf_program_run_seconds_total',
      help: 'CPU time spent in the program (bpf_prog_info run_time_ns; needs kernel BPF stats enabled).',
      labelNames: ['program'],
      registers: [],
      collect() {
        this.reset();
        this.inc({ program: datapath.program.name }, programStats(datapath.program).runTimeNs / 1e9);
      },
    }),
  );
}
