// The benchmark run: for each mode, the same testbed, the same objects and
// the same sweep (Services x workload x concurrency x repeat), then the
// direct pod-to-pod path as the ceiling. Nothing measured is dropped: a point
// that fails is recorded in `failures` with its error.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { talariaArgv } from '../cli/self.js';
import { readerFlags } from '../testbed/talaria-mode.js';
import { conntrackCount, conntrackObjectSize } from './conntrack.js';
import { kernelSecondsBetween, sampleCpu } from './cpu.js';
import { runIperfClient } from './iperf3.js';
import { sampleScheduler, schedulerPerRequest } from './scheduler.js';
import type { Progress } from './progress.js';
import type { Mode, Parameters, ProgrammingSample, Results, Run, Workload } from './results.js';
import { runInNetns } from '../testbed/run-in-netns.js';
import type { TestbedSummary } from '../testbed/cli-session.js';
import { testbedApply, testbedDown, testbedStatus, testbedUp } from '../testbed/cli-session.js';
import type { UdpRrResult } from './udp-rr.js';
import {
  BULK_PORT, BULK_SERVICE, CLIENT_POD, FILLER_PREFIX, HTTP_SERVICE, SERVER_APP, UDP_APP, UDP_PORT, UDP_SERVICE,
  fillerServices, workloadObjects,
} from './workload-objects.js';
import { runWrk } from './wrk.js';
import { startBackgroundLoad, type RunningLoad } from './background-load.js';

/** What one sweep measures: the run's Parameters, less the bookkeeping. */
export interface SweepOptions extends Pick<Parameters, 'workloads' | 'services' | 'concurrency' | 'repeats' | 'durationSeconds' | 'nodes' | 'podsPerNode' | 'backgroundLoad'> {
  modes: Array<Exclude<Mode, 'direct'>>;
  /** Measure the direct pod-to-pod path (needs the talaria mode). */
  ceiling: boolean;
}

/** One measurement, before it is labelled with mode, point and repeat. */
type Measured = Pick<Run, 'rps' | 'bitsPerSecond' | 'latencyMs' | 'requests' | 'errors' | 'durationSeconds'>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many points the sweep measures, for the progress display. */
export function countSteps(o: SweepOptions): number {
  const perMode = o.services.length * o.workloads.length * o.concurrency.length * o.repeats;
  const ceiling = o.ceiling && o.modes.includes('talaria') ? o.workloads.length * o.concurrency.length * o.repeats : 0;
  return perMode * o.modes.length + ceiling;
}

function pod(tb: TestbedSummary, name: string) {
  const p = tb.pods.find((x) => x.name === name);
  if (!p) throw new Error(`the testbed has no pod ${name}`);
  return p;
}

function serviceIP(tb: TestbedSummary, name: string): string {
  const s = tb.services.find((x) => x.name === name);
  if (!s) throw new Error(`the testbed has no Service ${name}`);
  return s.clusterIP;
}

/** Sum of run time of the TC programs loaded in the kernel (kernel BPF stats), in seconds. */
function bpfRunSeconds(): number {
  try {
    const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Array<{ type: string; run_time_ns?: number }>;
    return progs.filter((p) => p.type === 'sched_cls').reduce((s, p) => s + (p.run_time_ns ?? 0), 0) / 1e9;
  } catch {
    return NaN;
  }
}

async function waitUntilReady(names: (tb: TestbedSummary) => boolean, what: string, timeoutMs = 180_000): Promise<TestbedSummary> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tb = await testbedStatus();
    if (names(tb)) return tb;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** A TCP connect from the client pod to addr:port, through whatever the mode programs. */
async function reachable(clientNetns: string, addr: string, port: number): Promise<boolean> {
  const script = `const s=require('net').connect(${port},'${addr}');s.setTimeout(300);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1));`;
  const res = await runInNetns(clientNetns, [process.execPath, '-e', script], 5_000);
  return res.code === 0;
}

/** Where the load goes: one Service address each, or (the direct path) every backend pod. */
interface Targets {
  http: string[];
  udp: string[];
  bulk: string;
}

async function measure(tb: TestbedSummary, workload: Workload, concurrency: number, durationSeconds: number, target: Targets): Promise<Measured> {
  const client = pod(tb, CLIENT_POD).netns;
  switch (workload) {
    case 'http-keepalive':
    case 'http-close': {
      const r = await runWrk({
        netns: client, url: `http://${target.http[0]}/`, spreadOver: target.http.length > 1 ? target.http : undefined,
        connections: concurrency, durationSeconds, closeEachRequest: workload === 'http-close',
      });
      return { rps: r.rps, bitsPerSecond: null, latencyMs: r.latencyMs, requests: r.requests, errors: r.errors, durationSeconds: r.durationSeconds };
    }
    case 'udp-rr': {
      const argv = talariaArgv(['bench', 'udp-client', '--targets', target.udp.join(','), '--concurrency', String(concurrency), '--duration', String(durationSeconds)]);
      const res = await runInNetns(client, argv, (durationSeconds + 30) * 1000);
      if (res.code !== 0) throw new Error(`udp client: ${res.stderr.trim()}`);
      const r = JSON.parse(res.stdout) as UdpRrResult;
      return { rps: r.rps, bitsPerSecond: null, latencyMs: r.latencyMs, requests: r.requests, errors: r.errors, durationSeconds: r.durationSeconds };
    }
    case 'tcp-bulk': {
      const [host, port] = target.bulk.split(':');
      const r = await runIperfClient(client, host, Number(port), durationSeconds, Math.min(concurrency, 16));
      // For bulk transfers a "request" is a GiB moved: CPU per request is CPU per GiB.
      return { rps: null, bitsPerSecond: r.bitsPerSecond, latencyMs: null, requests: r.bytes / 2 ** 30, errors: 0, durationSeconds: r.durationSeconds };
    }
  }
}

async function startBulkServers(tb: TestbedSummary): Promise<void> {
  for (const p of tb.pods.filter((x) => x.name.startsWith(SERVER_APP))) {
    await runInNetns(p.netns, ['iperf3', '-s', '-p', String(BULK_PORT), '-D', '-I', `/run/talaria-bench-iperf-${p.name}.pid`], 10_000);
  }
}

async function stopBulkServers(tb: TestbedSummary): Promise<void> {
  for (const p of tb.pods.filter((x) => x.name.startsWith(SERVER_APP))) {
    await runInNetns('', ['pkill', '-F', `/run/talaria-bench-iperf-${p.name}.pid`], 5_000).catch(() => undefined);
    await runInNetns('', ['rm', '-f', `/run/talaria-bench-iperf-${p.name}.pid`], 5_000).catch(() => undefined);
  }
}

async function switchTableEntries(tb: TestbedSummary): Promise<number | null> {
  if (!tb.switch.p4runtime) return null;
  const res = await runInNetns('', talariaArgv(['switch', 'tables', '--json', '--addr', tb.switch.p4runtime, ...readerFlags(tb.switch.reader)]), 60_000);
  if (res.code !== 0) return null;
  const doc = JSON.parse(res.stdout) as { tables: Record<string, unknown[]> };
  return Object.values(doc.tables).reduce((n, rows) => n + rows.length, 0);
}

/**
 * Network-programming latency as a user sees it: create a Service and time
 * until the client's first connection to it succeeds.
 */
async function programmingLatency(mode: Mode, services: number, tbBefore: TestbedSummary): Promise<ProgrammingSample> {
  const name = `bench-probe-${services}`;
  const started = performance.now();
  await testbedApply([{ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: SERVER_APP }, ports: [{ port: 80, targetPort: 'http' }] } }]);
  const tb = await waitUntilReady((t) => t.services.some((s) => s.name === name), `Service ${name}`);
  const ip = serviceIP(tb, name);
  const client = pod(tbBefore, CLIENT_POD).netns;
  while (!(await reachable(client, ip, 80))) {
    if (performance.now() - started > 60_000) throw new Error(`Service ${name} (${ip}) never became reachable`);
  }
  return { mode, services, milliseconds: performance.now() - started };
}

/**
 * The client pod is a load generator opening up to ~40,000 connections a
 * second, and the same pod is measured through a Service and directly. Two
 * kernel defaults would measure the load generator instead of the data path:
 * - Closed sockets sit in TIME_WAIT for 60 s. With 28,000 ephemeral ports and
 *   no TIME_WAIT reuse, connect() soon scans the whole range under a lock for
 *   every new connection (__inet_check_established) and every mode collapses
 *   to ~1,000 requests/s: reuse on, range widened.
 * - TCP timestamps carry a random offset per address pair, so the client's
 *   offset towards the Service address differs from the one towards the pod.
 *   A SYN to a pod reusing a port whose previous connection (through the
 *   Service) left TIME_WAIT in the pod fails the pod's timestamp check and
 *   waits for a 1 s retransmit: the direct path after the Services fell to
 *   ~800 requests/s at one connection. Timestamps without offsets (2).
 * Set in the client pod's namespace only, the same in every mode.
 */
export const CLIENT_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.tcp_tw_reuse': '1',
  'net.ipv4.ip_local_port_range': '1024 65535',
  'net.ipv4.tcp_timestamps': '2',
};

async function tuneClient(netns: string): Promise<void> {
  const res = await runInNetns(netns, ['sysctl', '-q', '-w', ...Object.entries(CLIENT_SYSCTLS).map(([k, v]) => `${k}=${v}`)], 10_000);
  if (res.code !== 0) throw new Error(`tuning the client pod's TCP: ${res.stderr.trim()}`);
}

export async function runSweep(o: SweepOptions, results: Results, progress: Progress): Promise<void> {
  const objectSize = conntrackObjectSize();
  const services = [...o.services].sort((a, b) => a - b);
  for (const mode of o.modes) {
    progress.show(`${mode}: bringing the testbed up`);
    let tb = await testbedUp(mode, o.nodes, o.podsPerNode);
    try {
      const backends = Math.max(2, o.nodes * o.podsPerNode - 1);
      await testbedApply(workloadObjects(backends, tb.nodes[0].name));
      const benchReady = (t: TestbedSummary) =>
        t.pods.filter((p) => p.name === CLIENT_POD || p.name.startsWith(`${SERVER_APP}-`) || p.name.startsWith(`${UDP_APP}-`)).filter((p) => p.ready).length >= 2 * backends + 1;
      tb = await waitUntilReady(benchReady, 'the benchmark pods');
      await tuneClient(pod(tb, CLIENT_POD).netns);
      await startBulkServers(tb);
      const target: Targets = {
        http: [`${serviceIP(tb, HTTP_SERVICE)}:80`],
        udp: [`${serviceIP(tb, UDP_SERVICE)}:${UDP_PORT}`],
        bulk: `${serviceIP(tb, BULK_SERVICE)}:${BULK_PORT}`,
      };
      let fillers = 0;
      for (const count of services) {
        const existing = tb.services.length;
        const want = Math.max(0, count - (existing - fillers));
        if (want > fillers) {
          progress.show(`${mode}: creating Services up to ${count}`);
          const started = performance.now();
          for (let from = fillers; from < want; from += 2000) await testbedApply(fillerServices(from, Math.min(want, from + 2000)));
          const created = performance.now();
          const last = `${FILLER_PREFIX}${want - 1}`;
          tb = await waitUntilReady((t) => t.services.some((s) => s.name === last), `${want} filler Services`, 600_000);
          const ip = serviceIP(tb, last);
          const deadline = Date.now() + 600_000;
          while (!(await reachable(pod(tb, CLIENT_POD).netns, ip, 80))) {
            if (Date.now() > deadline) throw new Error(`${mode}: Service ${last} never became reachable`);
            await sleep(200);
          }
          (results.setup ??= []).push({ mode, created: want - fillers, createSeconds: (created - started) / 1000, servingSeconds: (performance.now() - started) / 1000 });
          fillers = want;
        }
        try {
          results.programming.push(await programmingLatency(mode, count, tb));
        } catch (err) {
          results.failures.push({ mode, workload: 'http-close', services: count, concurrency: 1, repeat: 0, error: `programming latency: ${(err as Error).message}` });
        }
        const tableEntries = await switchTableEntries(tb);
        await measurePoints(o, results, progress, mode, count, tb, target, objectSize, tableEntries);
      }
      if (o.ceiling && mode === 'talaria') {
        // The ceiling: the same client straight to the same backend pods over
        // the eBPF fast path, no Service (wrk's threads and the UDP flows are
        // spread over the pods, as a Service would spread them).
        const nginx = tb.pods.filter((p) => p.name.startsWith(`${SERVER_APP}-`));
        const echo = tb.pods.filter((p) => p.name.startsWith(`${UDP_APP}-`));
        const direct: Targets = { http: nginx.map((p) => `${p.ip}:80`), udp: echo.map((p) => `${p.ip}:${UDP_PORT}`), bulk: `${nginx[0].ip}:${BULK_PORT}` };
        await measurePoints(o, results, progress, 'direct', 0, tb, direct, objectSize, null);
      }
      await stopBulkServers(tb);
    } finally {
      progress.show(`${mode}: tearing the testbed down`);
      await testbedDown();
    }
  }
}

async function measurePoints(
  o: SweepOptions, results: Results, progress: Progress, mode: Mode, services: number, tb: TestbedSummary,
  target: Targets, objectSize: number, switchEntries: number | null,
): Promise<void> {
  for (const workload of o.workloads) {
    for (const concurrency of o.concurrency) {
      // The load runs through a point's repeats only: setup stays as fast as without it.
      const load = o.backgroundLoad && startBackgroundLoad(o.backgroundLoad);
      try {
        await measureRepeats(o, results, progress, mode, services, tb, target, objectSize, switchEntries, workload, concurrency, load || undefined);
      } finally {
        await load?.stop();
      }
    }
  }
}

async function measureRepeats(
  o: SweepOptions, results: Results, progress: Progress, mode: Mode, services: number, tb: TestbedSummary,
  target: Targets, objectSize: number, switchEntries: number | null, workload: Workload, concurrency: number, load: RunningLoad | undefined,
): Promise<void> {
  for (let repeat = 0; repeat < o.repeats; repeat++) {
    progress.show(`${mode}: ${workload}, ${services} Services, ${concurrency} concurrent, repeat ${repeat + 1}/${o.repeats}`);
    try {
      // Every run starts from empty conntrack tables, so entries are this run's own.
      for (const n of tb.nodes) await runInNetns(n.netns, ['conntrack', '-F'], 10_000);
      const cpu0 = sampleCpu();
      const load0 = load?.kernelSeconds() ?? 0;
      const bpf0 = bpfRunSeconds();
      const sched0 = sampleScheduler();
      const m = await measure(tb, workload, concurrency, o.durationSeconds, target);
      // The background load's own kernel time (its page faults) is not the proxy's.
      const kernel = kernelSecondsBetween(cpu0, sampleCpu()) - ((load?.kernelSeconds() ?? 0) - load0);
      const bpf = bpfRunSeconds() - bpf0;
      const sched = schedulerPerRequest(sched0, sampleScheduler(), m.requests);
      let conntrackEntries = 0;
      for (const n of tb.nodes) conntrackEntries += await conntrackCount(n.netns);
      results.runs.push({
        mode, workload, services, concurrency, repeat, ...m,
        cpuSecondsPerRequest: m.requests > 0 ? kernel / m.requests : null,
        bpfSecondsPerRequest: m.requests > 0 && Number.isFinite(bpf) && bpf > 0 ? bpf / m.requests : null,
        ...sched,
        conntrackEntries, conntrackBytes: conntrackEntries * objectSize, switchTableEntries: switchEntries,
      });
    } catch (err) {
      results.failures.push({ mode, workload, services, concurrency, repeat, error: (err as Error).message });
    }
    progress.step(`${mode}: ${workload}, ${services} Services, ${concurrency} concurrent`);
  }
}
