// `talaria e2e --faults`: each fault of cases.ts injected under load, in one
// testbed per mode. One client pod per node and the external client hold
// connections and open new ones through a Service of two backends per node;
// each case reports the figures of load.ts and passes when talaria mode kept
// the case's guarantee (the kube-proxy modes are measured, not judged).
import { performance } from 'node:perf_hooks';
import { service } from '../../testbed/objects.js';
import type { E2eContext } from '../context.js';
import { answeredBy, clientPod, echoDeployment, progress } from '../context.js';
import type { CaseResult } from '../runner.js';
import { FAULT_CASES, brokenGuarantees } from './cases.js';
import type { FaultCase, FaultOutcome, FaultScene } from './cases.js';
import { DEFAULT_LOAD, brokenSample, figures, formatFigures, runLoad, sources } from './load.js';
import type { FaultFigures, Source } from './load.js';

const WORKLOAD = 'e2e-faults';
/** The load runs this long before the fault, and the fault must end this long before the load. */
const WARMUP_MS = 5000;
const AFTER_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function faultCases(ctx: E2eContext, filter?: string): FaultCase[] {
  const target = ctx.tb.switch.target ?? 'ebpf';
  return FAULT_CASES.filter((k) => k.modes.includes(ctx.mode) && (ctx.mode !== 'talaria' || !k.switches || k.switches.includes(target)) && (!filter || k.name.includes(filter)));
}

/** Runs the fault cases on the testbed of ctx, recording one result each. */
export async function runFaultCases(ctx: E2eContext, filter: string | undefined, record: (r: CaseResult) => void): Promise<void> {
  const cases = faultCases(ctx, filter);
  if (cases.length === 0) return;
  const nodes = ctx.tb.nodes;
  const clients = nodes.map((_, i) => `fault-client-${i + 1}`);
  const replicas = 2 * nodes.length;
  try {
    await ctx.apply(
      ...clients.map((name, i) => clientPod(name, nodes[i]!.name)),
      echoDeployment(WORKLOAD, replicas, [{ name: 'http', containerPort: 8080 }]),
      service(WORKLOAD, { type: 'NodePort', selector: { app: WORKLOAD }, ports: [{ port: 80, targetPort: 8080 }] }),
    );
    await ctx.waitForPods(WORKLOAD, replicas, 90_000);
    await ctx.eventually('the fault clients Ready', async () => {
      await ctx.refresh();
      if (!clients.every((n) => ctx.tb.pods.some((p) => p.name === n && p.ready))) throw new Error('not yet');
    }, 60_000);
    const from = sources(ctx, clients, { clusterIP: ctx.service(WORKLOAD).clusterIP, port: 80, nodeIP: nodes[0]!.ip, nodePort: ctx.nodePort(WORKLOAD) });
    for (const k of cases) {
      progress.step = `[${ctx.mode}] before fault: ${k.name}: every source answers`;
      await serving(ctx, from);
      const t0 = performance.now();
      const base = { mode: ctx.mode, ...ctx.switchLabel, name: `fault: ${k.name}` };
      progress.step = `[${ctx.mode}] ${base.name}`;
      try {
        const scene = { deployment: WORKLOAD, clientNetns: ctx.pod(clients[0]!).netns, node: nodes[0]!.name, lastNode: nodes.at(-1)!.name, lastClient: clients.at(-1)! };
        const { detail, passed, figures: f } = await runFault(ctx, k, from, scene);
        record({ ...base, passed, seconds: (performance.now() - t0) / 1000, detail, figures: f });
      } catch (err) {
        record({ ...base, passed: false, seconds: (performance.now() - t0) / 1000, detail: (err as Error).message });
      }
      // Whatever a case left (a pod replaced, a node's pods not back), the next one starts from the same workload.
      await ctx.refresh();
      if (ctx.podsOf(WORKLOAD).length !== replicas) {
        await ctx.scale(WORKLOAD, replicas);
        await ctx.waitForPods(WORKLOAD, replicas, 90_000);
      }
    }
  } finally {
    await ctx.delete('service', WORKLOAD).catch(() => undefined);
    await ctx.delete('deployment', WORKLOAD).catch(() => undefined);
    for (const c of clients) await ctx.delete('pod', c).catch(() => undefined);
  }
}

/** Every source gets answers: the fault before has healed (or the testbed never served). */
async function serving(ctx: E2eContext, from: readonly Source[]): Promise<void> {
  for (const s of from) await ctx.eventually(`${s.name} -> ${s.host}:${s.port} answers`, async () => answeredBy(await ctx.http(s.netns, s.host, s.port, 3)), 60_000);
}

async function runFault(ctx: E2eContext, k: FaultCase, from: readonly Source[], scene: Omit<FaultScene, 'ctx'>): Promise<{ detail: string; passed: boolean; figures: FaultFigures }> {
  await ctx.refresh();
  const load = runLoad(ctx, from, { ...DEFAULT_LOAD, seconds: k.seconds });
  let faultAt: number;
  let faultEnd: number;
  let outcome: FaultOutcome;
  try {
    await sleep(WARMUP_MS);
    faultAt = Date.now();
    outcome = await k.inject({ ctx, ...scene });
    faultEnd = Date.now();
  } finally {
    // The probes run to their end either way: nothing is left running in a pod.
    await load.catch(() => undefined);
    await k.recover?.({ ctx, ...scene });
  }
  const all = await load;
  // What the fault took away by design (a lost node's client, connections to its pods) is not counted.
  const lost = outcome.lost;
  const r = lost ? { held: all.held.filter((h) => !lost.sources.includes(h.source) && !lost.pods.includes(h.firstPod ?? '')), attempts: all.attempts.filter((a) => !lost.sources.includes(a.source)) } : all;
  const problems = [...(outcome.problems ?? [])];
  if (faultEnd > faultAt - WARMUP_MS + k.seconds * 1000 - AFTER_MS) problems.push(`the fault lasted ${faultEnd - faultAt} ms: the load (${k.seconds} s) ended before the after-math could be seen`);
  const early = r.attempts.filter((a) => !a.ok && a.at < faultAt);
  if (early.length) problems.push(`${early.length} new connections failed before the fault (${[...new Set(early.map((a) => `${a.source}: ${a.error}`))].slice(0, 3).join(', ')})`);
  const f = figures(r, faultAt, faultEnd);
  // A case that changes a Service's endpoints holds only the pinned connections (from pods) to its
  // guarantee: the outside client's rest on the selector's minimal disruption, reported beside.
  const pinned = k.pinnedOnly ? { held: r.held.filter((h) => h.source !== 'external'), attempts: r.attempts.filter((a) => a.source !== 'external') } : r;
  const outside = k.pinnedOnly ? r.held.filter((h) => h.source === 'external') : [];
  const outsideNote = k.pinnedOnly ? `the outside client's ${outside.length} held connections (not held to the guarantee): ${outside.filter((h) => h.errors > 0 || h.switches > 0).length} broken or moved` : undefined;
  if (ctx.mode === 'talaria') problems.push(...brokenGuarantees(k.guarantee, k.pinnedOnly ? figures(pinned, faultAt, faultEnd) : f));
  const leftOut = lost ? `left out: ${all.held.length - r.held.length} held connections and ${all.attempts.length - r.attempts.length} new ones of ${lost.sources.join(', ')} or to ${lost.pods.length} lost pods` : undefined;
  const detail = [formatFigures(f), outcome.detail, leftOut, outsideNote, problems.length ? `not kept: ${problems.join('; ')}` : undefined, f.broken || f.moved ? brokenSample(r) : undefined].filter(Boolean).join('\n');
  return { detail, passed: problems.length === 0, figures: f };
}

/** The closing table: one row per fault and mode. */
export function faultTable(results: readonly CaseResult[]): string {
  const rows = results.filter((r) => r.figures);
  if (rows.length === 0) return '';
  const head = '| fault | mode | held | broken | moved | longest stall ms | new conns | failed during | failed after | full service ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const line = (r: CaseResult) => {
    const f = r.figures!;
    return `| ${r.name.replace(/^fault: /, '')} | ${r.mode}${r.switch ? ` on ${r.switch}` : ''} | ${f.held} | ${f.broken} | ${f.moved} | ${f.maxStallMs} | ${f.newConnections} | ${f.newFailedDuring} | ${f.newFailedAfter} | ${f.fullServiceMs} |`;
  };
  return [head, ...rows.map(line)].join('\n');
}
