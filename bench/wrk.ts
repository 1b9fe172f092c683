// HTTP load with wrk (the workloads http-keepalive and http-close). A Lua
// `done` hook prints the exact percentiles as one JSON line, so nothing is
// parsed from wrk's human-readable table.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LatencyMs } from './results.js';
import { runInNetns } from '../testbed/run-in-netns.js';

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
  /**
   * host:port of each backend for the direct path (no Service): wrk's threads
   * are spread over them, so the ceiling uses the same pods as the Services.
   */
  spreadOver?: string[];
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

/** Two threads (one per core of the reference machine), the same in every mode. */
export function threadsFor(connections: number): number {
  return Math.max(1, Math.min(2, connections));
}

/** A Lua setup hook that points each wrk thread at the next backend in turn. */
function spreadHook(targets: readonly string[]): string {
  const list = targets.map((t) => {
    const [host, port] = t.split(':');
    return `{"${host}","${port}"}`;
  });
  return `
local targets = { ${list.join(', ')} }
local next_target = 0
setup = function(thread)
  local t = targets[(next_target % #targets) + 1]
  thread.addr = wrk.lookup(t[1], t[2])[1]
  next_target = next_target + 1
end
`;
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
    writeFileSync(script, (o.spreadOver?.length ? spreadHook(o.spreadOver) : '') + DONE_HOOK);
    const argv = ['wrk', `-t${threadsFor(o.connections)}`, `-c${o.connections}`, `-d${o.durationSeconds}s`, '--timeout', '2s', '-s', script];
    if (o.closeEachRequest) argv.push('-H', 'Connection: close');
    argv.push(o.url);
    const res = await runInNetns(o.netns, argv, (o.durationSeconds + 30) * 1000);
    if (res.code !== 0) throw new Error(`wrk exited with ${res.code}: ${res.stderr.trim() || res.stdout.slice(-300)}`);
    return parseWrkOutput(res.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
