// Writes what a benchmark run produced: results.json (the contract),
// report.md, a self-contained report.html and every chart as an SVG file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Point } from './aggregate.js';
import { aggregate, ceilingFor, findPoint, ratio } from './aggregate.js';
import { buildCharts } from './charts.js';
import type { Mode, Results } from './results.js';
import type { Spread } from './stats.js';

export interface ReportFiles {
  json: string;
  markdown: string;
  html: string;
  charts: string[];
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const withSpread = (s: Spread, digits = 0, scale = 1) =>
  s.n === 0 || !Number.isFinite(s.median) ? '–' : s.n === 1 ? fmt(s.median * scale, digits) : `${fmt(s.median * scale, digits)} (${fmt(s.min * scale, digits)}–${fmt(s.max * scale, digits)})`;
const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '–');

/** The point the headline compares: the issue's target point if measured, else the largest measured. */
export function headline(points: readonly Point[]): { services: number; concurrency: number; workload: Point['workload'] } | undefined {
  const svc = points.filter((p) => p.mode !== 'direct');
  if (svc.length === 0) return undefined;
  const workload = svc.some((p) => p.workload === 'http-close') ? 'http-close' : svc[0].workload;
  const of = svc.filter((p) => p.workload === workload);
  const services = of.some((p) => p.services === 5000) ? 5000 : Math.max(...of.map((p) => p.services));
  const concs = of.filter((p) => p.services === services).map((p) => p.concurrency);
  const concurrency = concs.includes(50) ? 50 : Math.max(...concs);
  return { services, concurrency, workload };
}

export function summaryTable(results: Results, points: readonly Point[] = aggregate(results)): string {
  const h = headline(points);
  if (!h) return 'No measurements.\n';
  const modes = [...new Set(points.map((p) => p.mode))] as Mode[];
  const ipt = findPoint(points, 'iptables', h.workload, h.services, h.concurrency);
  const nft = findPoint(points, 'nftables', h.workload, h.services, h.concurrency);
  const lines = [
    `Headline: ${h.workload}, ${h.services} Services, ${h.concurrency} concurrent (median of ${results.parameters.repeats} repeats, min–max in brackets)${results.parameters.backgroundLoad ? `, beside a ${results.parameters.backgroundLoad}-bound process per core` : ''}`,
    '',
    '| mode | requests/s | p50 ms | p99 ms | kernel CPU µs/req | conntrack entries | vs iptables | vs nftables | of ceiling |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const mode of modes) {
    const p = mode === 'direct' ? points.find((x) => x.mode === 'direct' && x.workload === h.workload && x.concurrency === h.concurrency) : findPoint(points, mode, h.workload, h.services, h.concurrency);
    if (!p) continue;
    const ceil = ceilingFor(points, p);
    lines.push(
      `| ${mode} | ${withSpread(p.throughput)} | ${withSpread(p.p50, 2)} | ${withSpread(p.p99, 2)} | ${withSpread(p.cpuPerRequest, 1, 1e6)} | ${withSpread(p.conntrackEntries)} | ${times(ratio(p.throughput, ipt?.throughput))} | ${times(ratio(p.throughput, nft?.throughput))} | ${times(ratio(p.throughput, ceil?.throughput))} |`,
    );
  }
  const tal = findPoint(points, 'talaria', h.workload, h.services, h.concurrency);
  if (tal && ipt) {
    lines.push('', `Talaria against iptables at this point: p99 latency ${times(ratio(tal.p99, ipt.p99))}, CPU per request ${times(ratio(tal.cpuPerRequest, ipt.cpuPerRequest))}.`);
  }
  if (tal && nft) {
    lines.push(`Talaria against nftables at this point: p99 latency ${times(ratio(tal.p99, nft.p99))}, CPU per request ${times(ratio(tal.cpuPerRequest, nft.cpuPerRequest))}.`);
  }
  const ceil = tal && ceilingFor(points, tal);
  if (tal && ceil && Number.isFinite(tal.reschedulingIpisPerRequest.median) && Number.isFinite(ceil.reschedulingIpisPerRequest.median)) {
    // Part of why a mode falls short of the ceiling besides its own data path: see bench/scheduler.ts.
    lines.push(
      '',
      `Cross-CPU wakeups (rescheduling IPIs) per request at this point: Talaria ${fmt(tal.reschedulingIpisPerRequest.median, 2)}, direct ${fmt(ceil.reschedulingIpisPerRequest.median, 2)}.`,
    );
  }
  return lines.join('\n') + '\n';
}

function allPointsTable(points: readonly Point[]): string {
  const rows = [...points].sort((a, b) => a.workload.localeCompare(b.workload) || a.services - b.services || a.concurrency - b.concurrency || a.mode.localeCompare(b.mode));
  const out = [
    '| workload | services | concurrency | mode | throughput | p50 ms | p90/p99/p99.9 ms | kernel CPU µs/req | BPF µs/req | cross-CPU wakeups/req | conntrack entries (bytes) | errors |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const p of rows) {
    const unit = p.workload === 'tcp-bulk' ? ' bit/s' : ' req/s';
    out.push(
      `| ${p.workload} | ${p.services} | ${p.concurrency} | ${p.mode} | ${withSpread(p.throughput)}${unit} | ${withSpread(p.p50, 2)} | ${fmt(p.p90.median, 2)} / ${fmt(p.p99.median, 2)} / ${fmt(p.p999.median, 2)} | ${withSpread(p.cpuPerRequest, 1, 1e6)} | ${fmt(p.bpfPerRequest.median * 1e6, 1)} | ${fmt(p.reschedulingIpisPerRequest.median, 2)} | ${fmt(p.conntrackEntries.median)} (${fmt(p.conntrackBytes.median)}) | ${p.errors} |`,
    );
  }
  return out.join('\n') + '\n';
}

export function renderMarkdown(results: Results, points: readonly Point[], chartFiles: readonly string[]): string {
  const m = results.machine;
  const pr = results.parameters;
  return [
    '# Talaria benchmark',
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${fmt(m.memoryBytes / 2 ** 30, 1)} GiB, kernel ${m.kernel}, Node ${m.node}. ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    ...(results.kubeProxy
      ? [`Baselines: the real kube-proxy ${results.kubeProxy.version} (${Object.keys(results.kubeProxy.config).join(' and ')} mode; ${results.kubeProxy.iptables} on its PATH), one per node in the node's namespace; its flags and configuration are in results.json.`, '']
      : []),
    `Parameters: modes ${pr.modes.join(', ')}; workloads ${pr.workloads.join(', ')}; Services ${pr.services.join(', ')}; concurrency ${pr.concurrency.join(', ')}; ${pr.repeats} repeats of ${pr.durationSeconds} s; ${pr.nodes} nodes × ${pr.podsPerNode} pods${pr.clientSysctls ? `; client pod ${Object.entries(pr.clientSysctls).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}. Started ${pr.startedAt}${pr.finishedAt ? `, finished ${pr.finishedAt}` : ''}.`,
    '',
    '## Summary',
    '',
    summaryTable(results, points),
    '## Network programming latency',
    '',
    results.programming.length === 0 ? 'Not measured.\n' : ['| mode | services | ms |', '| --- | ---: | ---: |', ...results.programming.map((s) => `| ${s.mode} | ${s.services} | ${fmt(s.milliseconds, 1)} |`)].join('\n') + '\n',
    '## Creating the Services',
    '',
    'Each mode runs in a cluster of its own, so each creates its Services through the API server.',
    '',
    !results.setup?.length
      ? 'Not recorded.\n'
      : ['| mode | Services created | API writes s | until the last answered s |', '| --- | ---: | ---: | ---: |', ...results.setup.map((s) => `| ${s.mode} | ${s.created} | ${fmt(s.createSeconds, 1)} | ${fmt(s.servingSeconds, 1)} |`)].join('\n') + '\n',
    '## Every point',
    '',
    allPointsTable(points),
    results.failures.length ? ['## Points that failed', '', ...results.failures.map((f) => `- ${f.mode} ${f.workload} ${f.services} Services ${f.concurrency} concurrent, repeat ${f.repeat}: ${f.error}`), ''].join('\n') : '',
    '## Charts',
    '',
    ...chartFiles.map((f) => `![${f}](${f})`),
    '',
  ].join('\n');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A minimal Markdown table/heading renderer: enough for the report, no dependency. */
function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('|')) {
      const rows: string[] = [];
      while (i < lines.length && lines[i].startsWith('|')) rows.push(lines[i++]);
      i--;
      const cells = (r: string) => r.slice(1, -1).split('|').map((c) => escapeHtml(c.trim()));
      out.push('<table><thead><tr>' + cells(rows[0]).map((c) => `<th>${c}</th>`).join('') + '</tr></thead><tbody>');
      for (const r of rows.slice(2)) out.push('<tr>' + cells(r).map((c) => `<td>${c}</td>`).join('') + '</tr>');
      out.push('</tbody></table>');
    } else if (l.startsWith('## ')) out.push(`<h2>${escapeHtml(l.slice(3))}</h2>`);
    else if (l.startsWith('# ')) out.push(`<h1>${escapeHtml(l.slice(2))}</h1>`);
    else if (l.startsWith('![')) continue;
    else if (l.startsWith('- ')) out.push(`<li>${escapeHtml(l.slice(2))}</li>`);
    else if (l.trim()) out.push(`<p>${escapeHtml(l)}</p>`);
  }
  return out.join('\n');
}

export async function writeReport(results: Results, outDir: string): Promise<ReportFiles> {
  mkdirSync(join(outDir, 'charts'), { recursive: true });
  const points = aggregate(results);
  const charts = await buildCharts(points);
  const chartFiles = charts.map((c) => `charts/${c.name}.svg`);
  charts.forEach((c, i) => writeFileSync(join(outDir, chartFiles[i]), c.svg));
  const md = renderMarkdown(results, points, chartFiles);
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Talaria benchmark</title>
<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:24px}figure{margin:0}</style>
</head><body>
${markdownToHtml(md)}
<div class="charts">${charts.map((c) => `<figure><figcaption>${escapeHtml(c.title)}</figcaption>${c.svg}</figure>`).join('\n')}</div>
</body></html>
`;
  const files = { json: join(outDir, 'results.json'), markdown: join(outDir, 'report.md'), html: join(outDir, 'report.html'), charts: chartFiles.map((f) => join(outDir, f)) };
  writeFileSync(files.json, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(files.markdown, md);
  writeFileSync(files.html, html);
  return files;
}
