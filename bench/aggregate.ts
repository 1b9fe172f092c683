// Turns repeats into points: the median of each measured point with its
// spread, and the ratios the report states (against iptables, nftables and
// the direct-path ceiling, always within the same run).
import type { Mode, Results, Run, Workload } from './results.js';
import type { Spread } from './stats.js';
import { spread } from './stats.js';

export interface Point {
  mode: Mode;
  workload: Workload;
  services: number;
  concurrency: number;
  /** requests/s, or bits/s for tcp-bulk. */
  throughput: Spread;
  p50: Spread;
  p90: Spread;
  p99: Spread;
  p999: Spread;
  cpuPerRequest: Spread;
  bpfPerRequest: Spread;
  reschedulingIpisPerRequest: Spread;
  conntrackEntries: Spread;
  conntrackBytes: Spread;
  errors: number;
}

const keyOf = (r: Pick<Run, 'mode' | 'workload' | 'services' | 'concurrency'>) => `${r.mode}|${r.workload}|${r.services}|${r.concurrency}`;

export function aggregate(results: Results): Point[] {
  const groups = new Map<string, Run[]>();
  for (const r of results.runs) {
    const k = keyOf(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return [...groups.values()].map((runs) => {
    const r0 = runs[0];
    const pick = (f: (r: Run) => number | null | undefined) => spread(runs.map((r) => f(r) ?? NaN));
    return {
      mode: r0.mode,
      workload: r0.workload,
      services: r0.services,
      concurrency: r0.concurrency,
      throughput: pick((r) => (r.workload === 'tcp-bulk' ? r.bitsPerSecond : r.rps)),
      p50: pick((r) => r.latencyMs?.p50),
      p90: pick((r) => r.latencyMs?.p90),
      p99: pick((r) => r.latencyMs?.p99),
      p999: pick((r) => r.latencyMs?.p999),
      cpuPerRequest: pick((r) => r.cpuSecondsPerRequest),
      bpfPerRequest: pick((r) => r.bpfSecondsPerRequest),
      // Results written before the field existed have no value: NaN, shown as "–".
      reschedulingIpisPerRequest: pick((r) => r.reschedulingIpisPerRequest),
      conntrackEntries: pick((r) => r.conntrackEntries),
      conntrackBytes: pick((r) => r.conntrackBytes),
      errors: runs.reduce((n, r) => n + r.errors, 0),
    };
  });
}

export function findPoint(points: readonly Point[], mode: Mode, workload: Workload, services: number, concurrency: number): Point | undefined {
  return points.find((p) => p.mode === mode && p.workload === workload && p.services === services && p.concurrency === concurrency);
}

/** a / b of the medians, NaN when either is missing. */
export function ratio(a: Spread | undefined, b: Spread | undefined): number {
  if (!a || !b || !Number.isFinite(a.median) || !Number.isFinite(b.median) || b.median === 0) return NaN;
  return a.median / b.median;
}

/**
 * The ceiling for a point: the direct path is measured at one Service count
 * (it uses none), so the same workload and concurrency at any count is used.
 */
export function ceilingFor(points: readonly Point[], p: Point): Point | undefined {
  return points.find((c) => c.mode === 'direct' && c.workload === p.workload && c.concurrency === p.concurrency);
}
