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
   * host:port of each backend for the direct path (no Service): the load is
   * spread over them (see spreadHook), so the ceiling uses the same pods as the Services.
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

/**
 * Lua hooks that spread the load over backends the way a Service does.
 * setup: each thread opens its connections to the next target in turn.
 * request (a connection per request only): every request moves the thread to
 * the next target, so the reconnect after it goes there; each thread's
 * connections then reach every backend, as through a Service, instead of one
 * pod per thread. That pairing would let the scheduler keep each wrk thread
 * and its nginx on one CPU, a locality no Service can offer (bench/scheduler.ts).
 * Every mode runs the same hooks (with one target through a Service), so the
 * Lua call per request costs all of them alike.
 */
export function spreadHook(targets: readonly string[], perConnection: boolean): string {
  const list = targets.map((t) => {
    const { hostname, port } = new URL(`http://${t}`);
    return `{"${hostname.replace(/^\[|\]$/g, '')}","${port || '80'}"}`;
  });
  const setup = `
local targets = { ${list.join(', ')} }
local next_target = 0
setup = function(thread)
  local t = targets[(next_target % #targets) + 1]
  thread.addr = wrk.lookup(t[1], t[2])[1]
  thread:set("turn", next_target)
  next_target = next_target + 1
end
`;
  if (!perConnection) return setup;
  return `${setup}
local addrs, req
init = function(args)
  addrs = {}
  for i, t in ipairs(targets) do addrs[i] = wrk.lookup(t[1], t[2])[1] end
  req = wrk.format()
end
request = function()
  turn = turn + 1
  wrk.thread.addr = addrs[(turn % #addrs) + 1]
  return req
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
    const targets = o.spreadOver?.length ? o.spreadOver : [new URL(o.url).host];
    writeFileSync(script, spreadHook(targets, o.closeEachRequest) + DONE_HOOK);
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
