// Runs the suite: for each mode, a fresh testbed, two client pods, every case,
// the churn, and (talaria) the design's promises; one line per case and mode,
// then `N passed, N failed`.
import { performance } from 'node:perf_hooks';
import { testbedDown, testbedUp } from '../testbed/cli-session.js';
import type { SwitchKind } from '../testbed/state.js';
import type { E2eCase } from './cases.js';
import { CASES } from './cases.js';
import { churn } from './churn.js';
import { FAILOVER, failover } from './failover.js';
import type { Mode } from './context.js';
import { CLIENT, CLIENT_2, E2eContext, clientPod, progress } from './context.js';
import { assertNoServiceConntrack } from './promises.js';
import { UNINSTALL, uninstall } from './uninstall.js';
import { RBAC, rbacLeastPrivilege } from './rbac.js';
import type { Window } from './rbac.js';
import { faultTable, runFaultCases } from './faults/suite.js';
import type { FaultFigures } from './faults/load.js';

export interface CaseResult {
  mode: Mode;
  /** talaria mode on talaria.p4 in BMv2 instead of the eBPF switch. */
  switch?: 'bmv2';
  name: string;
  passed: boolean;
  seconds: number;
  /** What was expected and what came back, or a figure the case reports. */
  detail?: string;
  /** A fault case's figures (talaria e2e --faults). */
  figures?: FaultFigures;
}

export interface SuiteOptions {
  modes: Mode[];
  /** The switch of talaria mode (default ebpf). */
  switchKind?: SwitchKind;
  /** Only cases whose name contains this. */
  filter?: string;
  /** The faults suite (e2e/faults) instead of the behaviour cases. */
  faults?: boolean;
  nodes: number;
  out?: (line: string) => void;
}

async function runOne(ctx: E2eContext, name: string, body: () => Promise<string | void>): Promise<CaseResult> {
  progress.step = `[${ctx.mode}] ${name}`;
  const t0 = performance.now();
  try {
    const detail = await body();
    return { mode: ctx.mode, ...ctx.switchLabel, name, passed: true, seconds: (performance.now() - t0) / 1000, detail: detail || undefined };
  } catch (err) {
    const e = err as Error;
    return { mode: ctx.mode, ...ctx.switchLabel, name, passed: false, seconds: (performance.now() - t0) / 1000, detail: e.message };
  }
}

export function formatResult(r: CaseResult): string {
  const head = `${r.passed ? 'ok  ' : 'FAIL'} [${r.mode}${r.switch ? ` on ${r.switch}` : ''}] ${r.name} (${r.seconds.toFixed(1)}s)`;
  return r.detail ? `${head}\n       ${r.detail.replace(/\n/g, '\n       ')}` : head;
}

export async function runSuite(o: SuiteOptions): Promise<CaseResult[]> {
  const out = o.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const results: CaseResult[] = [];
  const record = (r: CaseResult) => {
    results.push(r);
    out(formatResult(r));
  };
  const cases: E2eCase[] = CASES.filter((c) => !o.filter || c.name.includes(o.filter));
  for (const mode of o.modes) {
    let ctx: E2eContext | undefined;
    try {
      const switchKind = mode === 'talaria' ? (o.switchKind ?? 'ebpf') : 'ebpf';
      progress.step = `[${mode}] testbed up`;
      ctx = new E2eContext(mode, await testbedUp(mode, o.nodes, 1, switchKind));
      const c = ctx;
      if (o.faults) {
        await runFaultCases(c, o.filter, record);
        continue;
      }
      await c.apply(clientPod(CLIENT, c.tb.nodes[0].name), clientPod(CLIENT_2, c.tb.nodes[1 % c.tb.nodes.length].name));
      await c.eventually('client pods Ready', async () => {
        await c.refresh();
        if (![CLIENT, CLIENT_2].every((n) => c.tb.pods.some((p) => p.name === n && p.ready))) throw new Error('not yet');
      }, 60_000);
      for (const k of cases) {
        if (k.modes && !k.modes.includes(mode)) continue;
        record(await runOne(c, k.name, () => k.run(c)));
      }
      // Kills the leading controller: the cases after it run with the one that took over.
      if (mode === 'talaria' && (!o.filter || FAILOVER.includes(o.filter))) {
        record(await runOne(c, FAILOVER, () => failover(c)));
      }
      if (!o.filter || 'connection consistency under churn'.includes(o.filter)) {
        record(await runOne(c, 'connection consistency under churn', () => churn(c)));
      }
      if (mode === 'talaria' && !o.filter) {
        record(await runOne(c, 'no conntrack entry on any node for service traffic', () => assertNoServiceConntrack(c)));
      }
      // Last: it takes Talaria away (and installs it again).
      const uninstalls: Window[] = [];
      if (mode === 'talaria' && (!o.filter || UNINSTALL.includes(o.filter))) {
        const from = Date.now();
        record(await runOne(c, UNINSTALL, () => uninstall(c)));
        uninstalls.push({ from, to: Date.now() });
      }
      // After everything the components do (only a whole run has seen it all).
      if (mode === 'talaria' && !o.filter) {
        record(await runOne(c, RBAC, () => rbacLeastPrivilege(c, uninstalls)));
      }
    } catch (err) {
      record({ mode, ...(mode === 'talaria' && o.switchKind === 'bmv2' ? { switch: 'bmv2' as const } : {}), name: 'testbed', passed: false, seconds: 0, detail: (err as Error).message });
    } finally {
      await testbedDown().catch((err: Error) => out(`testbed down failed: ${err.message}`));
    }
  }
  const table = faultTable(results);
  if (table) out(`\n${table}\n`);
  const passed = results.filter((r) => r.passed).length;
  out(`${passed} passed, ${results.length - passed} failed`);
  return results;
}
