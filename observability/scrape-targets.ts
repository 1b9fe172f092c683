// Prometheus scrape jobs for running Talaria processes, found from their
// command lines (`talaria controller|nodeagent|softswitch ...
// --metrics-bind-address HOST:PORT`), with the job and node labels the
// dashboards and alerts expect (metrics.md). The testbed lists its processes;
// this turns them into a Prometheus config for checkQueriesAgainst.
import { readFileSync } from 'node:fs';
import type { ScrapeJob } from './prometheus.js';

const JOBS: Record<string, string> = {
  controller: 'talaria-controller',
  nodeagent: 'talaria-node-agent',
  softswitch: 'talaria-softswitch',
};

/** The value of --flag in argv (`--flag v` or `--flag=v`). */
function flag(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i]!.startsWith(`${name}=`)) return argv[i]!.slice(name.length + 1);
  }
  return undefined;
}

/** Jobs for the processes whose argv runs a Talaria component with a metrics address. */
export function scrapeJobsFromArgv(argvs: readonly (readonly string[])[]): ScrapeJob[] {
  const jobs = new Map<string, ScrapeJob>();
  for (const argv of argvs) {
    const sub = argv.find((a) => a in JOBS);
    const address = flag(argv, '--metrics-bind-address');
    if (!sub || !address) continue;
    const job = JOBS[sub]!;
    // A wildcard bind is scraped over loopback.
    const target = address.startsWith(':') || address.startsWith('0.0.0.0:') ? `127.0.0.1:${address.split(':').pop()}` : address;
    const node = sub === 'nodeagent' ? flag(argv, '--node') : undefined;
    const entry = jobs.get(job) ?? { job, targets: [] };
    entry.targets.push({ address: target, labels: node ? { node } : {} });
    jobs.set(job, entry);
  }
  return [...jobs.values()];
}

/** The same from running processes' /proc/PID/cmdline (processes that are gone are skipped). */
export function scrapeJobsFromPids(pids: readonly number[]): ScrapeJob[] {
  const argvs: string[][] = [];
  for (const pid of pids) {
    try {
      argvs.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean));
    } catch {
      // exited
    }
  }
  return scrapeJobsFromArgv(argvs);
}
