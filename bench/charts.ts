// The report's charts: Vega-Lite specs rendered to SVG on the server (no
// browser, no canvas), so report.html is self-contained and every chart is
// also an image file.
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { Point } from './aggregate.js';
import { ceilingFor } from './aggregate.js';
import type { Workload } from './results.js';

export interface Chart {
  /** File name stem, e.g. "throughput-vs-services". */
  name: string;
  title: string;
  svg: string;
}

const MODE_COLORS = { domain: ['talaria', 'iptables', 'nftables', 'direct'], range: ['#1f77b4', '#d62728', '#ff7f0e', '#7f7f7f'] };

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

function lineChart(title: string, rows: object[], x: string, xTitle: string, y: string, yTitle: string, logX: boolean): TopLevelSpec {
  return {
    title,
    width: 420,
    height: 260,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: x, type: 'quantitative', title: xTitle, scale: logX ? { type: 'log' } : {} },
      y: { field: y, type: 'quantitative', title: yTitle },
      color: { field: 'mode', type: 'nominal', scale: MODE_COLORS },
    },
  } as TopLevelSpec;
}

function barChart(title: string, rows: object[], y: string, yTitle: string): TopLevelSpec {
  return {
    title,
    width: 320,
    height: 240,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'mode', type: 'nominal', title: null, sort: MODE_COLORS.domain },
      y: { field: y, type: 'quantitative', title: yTitle },
      color: { field: 'mode', type: 'nominal', scale: MODE_COLORS, legend: null },
    },
  } as TopLevelSpec;
}

/** The workload the headline charts use: a new connection per request stresses the service path most. */
function headlineWorkload(points: readonly Point[]): Workload {
  return points.some((p) => p.workload === 'http-close') ? 'http-close' : points[0]?.workload ?? 'http-close';
}

export async function buildCharts(points: readonly Point[]): Promise<Chart[]> {
  if (points.length === 0) return [];
  const wl = headlineWorkload(points);
  const ofWl = points.filter((p) => p.workload === wl);
  const concurrencies = [...new Set(ofWl.map((p) => p.concurrency))].sort((a, b) => a - b);
  const servicesList = [...new Set(ofWl.filter((p) => p.mode !== 'direct').map((p) => p.services))].sort((a, b) => a - b);
  const c = concurrencies[concurrencies.length - 1];
  const s = servicesList[servicesList.length - 1];
  const row = (p: Point) => ({
    mode: p.mode,
    services: p.services,
    concurrency: p.concurrency,
    rps: p.throughput.median,
    p50: p.p50.median,
    p99: p.p99.median,
    cpuUs: p.cpuPerRequest.median * 1e6,
    conntrackKiB: p.conntrackBytes.median / 1024,
    fraction: (() => {
      const ceil = ceilingFor(points, p);
      return ceil ? p.throughput.median / ceil.throughput.median : NaN;
    })(),
  });
  const svc = ofWl.filter((p) => p.concurrency === c && p.mode !== 'direct').map(row);
  const conc = ofWl.filter((p) => (p.services === s || p.mode === 'direct')).map(row);
  const atHead = ofWl.filter((p) => p.concurrency === c && (p.services === s || p.mode === 'direct')).map(row);

  const specs: Array<[string, string, TopLevelSpec]> = [
    ['throughput-vs-services', `Requests/s vs Services (${wl}, ${c} concurrent)`, lineChart('', svc, 'services', 'Services', 'rps', 'requests/s', true)],
    ['latency-p99-vs-services', `p99 latency vs Services (${wl}, ${c} concurrent)`, lineChart('', svc, 'services', 'Services', 'p99', 'p99 latency (ms)', true)],
    ['throughput-vs-concurrency', `Requests/s vs concurrency (${wl}, ${s} Services)`, lineChart('', conc, 'concurrency', 'concurrent connections', 'rps', 'requests/s', false)],
    ['latency-p99-vs-concurrency', `p99 latency vs concurrency (${wl}, ${s} Services)`, lineChart('', conc, 'concurrency', 'concurrent connections', 'p99', 'p99 latency (ms)', false)],
    ['cpu-per-request', `Kernel CPU per request (${wl}, ${s} Services, ${c} concurrent)`, barChart('', atHead, 'cpuUs', 'system+softirq µs per request')],
    ['conntrack-memory', `Conntrack memory on the nodes (${wl}, ${s} Services, ${c} concurrent)`, barChart('', atHead, 'conntrackKiB', 'KiB')],
    ['fraction-of-ceiling', `Requests/s as a fraction of the direct path (${wl}, ${s} Services, ${c} concurrent)`, barChart('', atHead, 'fraction', 'fraction of direct')],
  ];
  const charts: Chart[] = [];
  for (const [name, title, spec] of specs) charts.push({ name, title, svg: await render({ ...spec, title } as TopLevelSpec) });
  return charts;
}
