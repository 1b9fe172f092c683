// Prometheus scrape jobs for running Talaria processes, found from their
// command lines (`talaria controller|nodeagent|softswitch ...
// --metrics-bind-address HOST:PORT`), with the job and node labels the
// dashboards and alerts expect (metrics.md). The testbed lists its processes
// (and where each is reachable); this turns them into a Prometheus config for
// checkQueriesAgainst.
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

/** A process's command line, and where it can be scraped when that is not its bind address. */
interface Component {
  argv: readonly string[];
  metrics?: string | null;
}

/** Jobs for the processes whose argv runs a Talaria component with a metrics address. */
export function scrapeJobsFromArgv(argvs: readonly (readonly string[])[]): ScrapeJob[] {
  return scrapeJobs(argvs.map((argv) => ({ argv })));
}

function scrapeJobs(components: readonly Component[]): ScrapeJob[] {
  const jobs = new Map<string, ScrapeJob>();
  for (const { argv, metrics } of components) {
    const sub = argv.find((a) => a in JOBS);
    const address = metrics ?? flag(argv, '--metrics-bind-address');
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

/**
 * The same for running processes, their command lines read from
 * /proc/PID/cmdline (processes that are gone are skipped). `metrics`, when
 * set, is where the process is reachable (the testbed relays a node agent's
 * 127.0.0.1:10249 out of its node's namespace).
 */
export function scrapeJobsFromProcesses(processes: readonly { pid: number; metrics?: string | null }[]): ScrapeJob[] {
  const components: Component[] = [];
  for (const { pid, metrics } of processes) {
    try {
      components.push({ argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean), metrics });
    } catch {
      // exited
    }
  }
  return scrapeJobs(components);
}
