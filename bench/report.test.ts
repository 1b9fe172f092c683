import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mode, Results, Run } from './results.js';
import { summaryTable, writeReport } from './report.js';

function run(mode: Mode, services: number, concurrency: number, repeat: number, rps: number, cpu: number): Run {
  return {
    mode, workload: 'http-close', services, concurrency, repeat, rps, bitsPerSecond: null,
    latencyMs: { p50: 1000 / rps, p90: 2000 / rps, p99: 5000 / rps, p999: 9000 / rps },
    requests: rps * 5, errors: 0, durationSeconds: 5, cpuSecondsPerRequest: cpu, bpfSecondsPerRequest: null, contextSwitchesPerRequest: null, reschedulingIpisPerRequest: null,
    conntrackEntries: mode === 'talaria' || mode === 'direct' ? 0 : 1000, conntrackBytes: mode === 'talaria' || mode === 'direct' ? 0 : 320000, switchTableEntries: null,
  };
}

function sample(): Results {
  const runs: Run[] = [];
  for (const repeat of [0, 1, 2]) {
    for (const services of [10, 5000]) {
      runs.push(run('talaria', services, 50, repeat, 9000 + repeat * 100, 20e-6));
      runs.push(run('iptables', services, 50, repeat, services === 10 ? 5000 : 3000 - repeat * 100, 50e-6));
      runs.push(run('nftables', services, 50, repeat, 6000, 40e-6));
    }
    runs.push(run('direct', 0, 50, repeat, 10000, 15e-6));
  }
  return {
    machine: { hostname: 'h', kernel: '6.1', cpus: 2, cpuModel: 'x', memoryBytes: 2 ** 34, node: 'v20', versions: { wrk: '4.1' } },
    parameters: { quick: true, modes: ['talaria', 'iptables', 'nftables', 'direct'], workloads: ['http-close'], services: [10, 5000], concurrency: [50], repeats: 3, durationSeconds: 5, nodes: 3, podsPerNode: 4, startedAt: 'now' },
    runs, programming: [{ mode: 'talaria', services: 5000, milliseconds: 12.5 }], failures: [],
    setup: [{ mode: 'nftables', created: 4990, createSeconds: 21.25, servingSeconds: 30.5 }],
  };
}

test('the summary states medians, spreads and ratios at the headline point', () => {
  const table = summaryTable(sample());
  assert.match(table, /http-close, 5000 Services, 50 concurrent/);
  const talaria = table.split('\n').find((l) => l.startsWith('| talaria'))!;
  // median 9,100 over 2,900 for iptables and 6,000 for nftables; 10,000 is the ceiling.
  assert.match(talaria, /\| 9,100 \(9,000–9,200\) \|/);
  assert.match(talaria, /\| 3\.14x \| 1\.52x \| 0\.91x \|$/);
});

test('writes results.json, report.md, a self-contained report.html and SVG charts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talaria-report-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const files = await writeReport(sample(), dir);
  const json = JSON.parse(readFileSync(files.json, 'utf8')) as Results;
  assert.equal(json.runs.length, 21);
  assert.ok(files.charts.length >= 5);
  for (const f of files.charts) assert.match(readFileSync(f, 'utf8'), /^<svg/);
  const html = readFileSync(files.html, 'utf8');
  assert.doesNotMatch(html, /<script|src="http/);
  assert.equal((html.match(/<svg/g) ?? []).length, files.charts.length);
  assert.match(readFileSync(files.markdown, 'utf8'), /## Network programming latency[\s\S]*12\.5/);
  assert.match(readFileSync(files.markdown, 'utf8'), /## Creating the Services[\s\S]*\| nftables \| 4990 \| 21\.3 \| 30\.5 \|/);
});

test('the summary explains the distance to the ceiling with cross-CPU wakeups, when they were counted', () => {
  assert.doesNotMatch(summaryTable(sample()), /wakeups/);
  const withIpis = sample();
  for (const r of withIpis.runs) r.reschedulingIpisPerRequest = r.mode === 'direct' ? 0.04 : 0.46;
  assert.match(summaryTable(withIpis), /Cross-CPU wakeups \(rescheduling IPIs\) per request at this point: Talaria 0\.46, direct 0\.04\./);
});
