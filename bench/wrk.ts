// HTTP load with wrk (the workloads http-keepalive and http-close). A Lua
// `done` hook prints the exact percentiles as one JSON line, so nothing is
// parsed from wrk's human-readable table.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LatencyMs } from './results.js';
import { runInNetns } from './run-in-netns.js';

const MARKER = 'TALARIA_WRK ';

const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${MARKER}{"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
`;

export interface WrkOptions {
  netns: string;
  url: string;
  connections: number;
  durationSeconds: number;
  /** New TCP connection per request (http-close) instead of keep-alive. */
  closeEachRequest: boolean;
}

export interface WrkResult {
  requests: number;
  errors: number;
  durationSeconds: number;
  rps: number;
  latencyMs: LatencyMs;
}

export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) throw new Error(`wrk printed no result line; output: ${stdout.slice(-400)}`);
  const r = JSON.parse(line.slice(MARKER.length)) as Record<string, number>;
  const durationSeconds = r.durationUs / 1e6;
  const ms = (us: number) => us / 1000;
  return {
    requests: r.requests,
    errors: r.errors + r.non2xx,
    durationSeconds,
    rps: durationSeconds > 0 ? r.requests / durationSeconds : 0,
    latencyMs: { p50: ms(r.p50), p90: ms(r.p90), p99: ms(r.p99), p999: ms(r.p999) },
  };
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'talaria-wrk-'));
  try {
    const script = join(dir, 'done.lua');
    writeFileSync(script, DONE_HOOK);
    const argv = ['wrk', '-t1', `-c${o.connections}`, `-d${o.durationSeconds}s`, '--timeout', '2s', '-s', script];
    if (o.closeEachRequest) argv.push('-H', 'Connection: close');
    argv.push(o.url);
    const res = await runInNetns(o.netns, argv, (o.durationSeconds + 30) * 1000);
    if (res.code !== 0) throw new Error(`wrk exited with ${res.code}: ${res.stderr.trim() || res.stdout.slice(-300)}`);
    return parseWrkOutput(res.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * wrk against several URLs at once, the connections split evenly: the direct
 * path (no Service) spreads over the same backend pods the Services use, so
 * that the ceiling is not one pod's capacity. Requests and errors add up;
 * each latency percentile is the request-weighted mean of the per-URL ones
 * (an approximation, stated in the report).
 */
export async function runWrkSpread(o: Omit<WrkOptions, 'url'> & { urls: string[] }): Promise<WrkResult> {
  const n = Math.max(1, Math.min(o.urls.length, o.connections));
  const parts = await Promise.all(
    o.urls.slice(0, n).map((url, i) =>
      runWrk({ ...o, url, connections: Math.floor(o.connections / n) + (i < o.connections % n ? 1 : 0) }),
    ),
  );
  const requests = parts.reduce((s, p) => s + p.requests, 0);
  const durationSeconds = Math.max(...parts.map((p) => p.durationSeconds));
  const weighted = (k: keyof LatencyMs) => (requests ? parts.reduce((s, p) => s + p.latencyMs[k] * p.requests, 0) / requests : NaN);
  return {
    requests,
    errors: parts.reduce((s, p) => s + p.errors, 0),
    durationSeconds,
    rps: parts.reduce((s, p) => s + p.rps, 0),
    latencyMs: { p50: weighted('p50'), p90: weighted('p90'), p99: weighted('p99'), p999: weighted('p999') },
  };
}
