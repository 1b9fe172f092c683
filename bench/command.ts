// `talaria bench`: the benchmark in one command, and its UDP client (run by
// the benchmark inside the client pod's namespace).
import { Command } from 'commander';
import { UserError } from '../cli/errors.js';
import { describeKubeProxy, describeMachine } from './machine.js';
import { Progress } from './progress.js';
import { summaryTable, writeReport } from './report.js';
import type { Mode, Results, Workload } from './results.js';
import { WORKLOADS } from './results.js';
import type { SweepOptions } from './sweep.js';
import { CLIENT_SYSCTLS, countSteps, runSweep } from './sweep.js';
import { runUdpRr } from './udp-rr.js';
import { BACKGROUND_LOADS, type BackgroundLoad } from './background-load.js';

const list = (what: string) => (value: string) => {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UserError(`--${what}: give a comma-separated list`);
  return items;
};
const numbers = (what: string) => (value: string) =>
  list(what)(value).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new UserError(`--${what}: "${s}" is not a whole number`);
    return n;
  });

/** --quick fits in under 10 minutes on a 2-core machine and still measures the headline point. */
const QUICK = { services: [10, 5000], concurrency: [50], repeats: 3, duration: 3 };
const FULL = { services: [10, 1000, 5000, 10000], concurrency: [1, 10, 50, 100], repeats: 3, duration: 10 };

export const benchCommand = new Command('bench')
  .description('Measure Talaria against kube-proxy (iptables, nftables) and the direct eBPF path, all in one run; write results.json, report.md, report.html')
  .option('--quick', `a short sweep (${QUICK.services.join(',')} Services, ${QUICK.concurrency.join(',')} concurrent, ${QUICK.repeats} repeats of ${QUICK.duration}s)`)
  .option('--modes <list>', 'modes to compare', list('modes'), ['talaria', 'iptables', 'nftables'])
  .option('--workloads <list>', `workloads (${WORKLOADS.join(', ')})`, list('workloads'), [...WORKLOADS])
  .option('--services <list>', 'numbers of Services to sweep', numbers('services'))
  .option('--concurrency <list>', 'concurrent connections or flows to sweep', numbers('concurrency'))
  .option('--repeats <n>', 'repeats of every point', (v) => numbers('repeats')(v)[0])
  .option('--duration <seconds>', 'seconds per measurement', (v) => numbers('duration')(v)[0])
  .option('--nodes <n>', 'testbed nodes', (v) => numbers('nodes')(v)[0], 3)
  .option('--pods-per-node <n>', 'testbed pods per node', (v) => numbers('pods-per-node')(v)[0], 2)
  .option('--background-load <kind>', `a process per core beside every measurement: ${BACKGROUND_LOADS.join(' (a busy loop) or ')} (streaming through twice the last-level cache)`)
  .option('--out <dir>', 'where to write the report', 'bench-results')
  .action(async (opts: { quick?: boolean; modes: string[]; workloads: string[]; services?: number[]; concurrency?: number[]; repeats?: number; duration?: number; nodes: number; podsPerNode: number; backgroundLoad?: string; out: string }) => {
    const base = opts.quick ? QUICK : FULL;
    for (const m of opts.modes) if (!['talaria', 'iptables', 'nftables'].includes(m)) throw new UserError(`--modes: unknown mode "${m}" (talaria, iptables, nftables)`);
    for (const w of opts.workloads) if (!WORKLOADS.includes(w as Workload)) throw new UserError(`--workloads: unknown workload "${w}" (${WORKLOADS.join(', ')})`);
    if (opts.backgroundLoad !== undefined && !BACKGROUND_LOADS.includes(opts.backgroundLoad as BackgroundLoad)) throw new UserError(`--background-load: unknown kind "${opts.backgroundLoad}" (${BACKGROUND_LOADS.join(', ')})`);
    const sweep: SweepOptions = {
      modes: opts.modes as SweepOptions['modes'],
      workloads: opts.workloads as Workload[],
      services: opts.services ?? base.services,
      concurrency: opts.concurrency ?? base.concurrency,
      repeats: opts.repeats ?? base.repeats,
      durationSeconds: opts.duration ?? base.duration,
      nodes: opts.nodes,
      podsPerNode: opts.podsPerNode,
      ceiling: opts.modes.includes('talaria'),
      ...(opts.backgroundLoad ? { backgroundLoad: opts.backgroundLoad as BackgroundLoad } : {}),
    };
    const results: Results = {
      machine: describeMachine(),
      kubeProxy: describeKubeProxy(sweep.modes),
      parameters: {
        ...sweep,
        quick: Boolean(opts.quick),
        modes: [...sweep.modes, ...(sweep.ceiling ? (['direct'] as Mode[]) : [])],
        clientSysctls: { ...CLIENT_SYSCTLS },
        startedAt: new Date().toISOString(),
      },
      runs: [],
      programming: [],
      failures: [],
    };
    const progress = new Progress(countSteps(sweep));
    try {
      await runSweep(sweep, results, progress);
    } finally {
      progress.finish();
      results.parameters.finishedAt = new Date().toISOString();
      const files = await writeReport(results, opts.out);
      process.stdout.write(`\n${summaryTable(results)}\n`);
      if (results.failures.length) process.stdout.write(`${results.failures.length} point(s) failed; see the report.\n`);
      process.stdout.write(`Report: ${files.html}\n        ${files.markdown}\n        ${files.json}\n`);
    }
  });

benchCommand.addCommand(
  new Command('udp-client')
    .description('UDP request/response load from this network namespace; prints one JSON result (used by `talaria bench`)')
    .requiredOption('--targets <list>', 'comma-separated HOST:PORT; flows go round-robin over them', (v) =>
      v.split(',').map((t) => {
        const [host, port] = t.split(':');
        if (!host || !Number(port)) throw new UserError(`--targets: "${t}" is not HOST:PORT`);
        return { host, port: Number(port) };
      }),
    )
    .option('--concurrency <n>', 'concurrent flows', (v) => Number(v), 1)
    .option('--duration <seconds>', 'seconds', (v) => Number(v), 5)
    .action(async (o: { targets: Array<{ host: string; port: number }>; concurrency: number; duration: number }) => {
      const r = await runUdpRr({ targets: o.targets, concurrency: o.concurrency, durationSeconds: o.duration });
      process.stdout.write(JSON.stringify(r) + '\n');
    }),
  { hidden: true },
);
