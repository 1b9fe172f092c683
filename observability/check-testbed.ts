// Every dashboard query and alert expression against a running testbed:
// starts a Prometheus on 127.0.0.1 that scrapes the testbed's Talaria
// processes (found with `talaria testbed status --json`, which says where
// each one's metrics are reachable), waits for two scrapes, runs
// checkQueriesAgainst and prints what failed or came back empty.
//   talaria testbed up --mode talaria && node --import tsx observability/check-testbed.ts
// Exit status 1 when any query has a problem (kube-proxy panels only need to parse).
import { execFileSync } from 'node:child_process';
import { talariaArgv } from '../cli/self.js';
import type { TestbedSummary } from '../testbed/summary.js';
import { startPrometheus } from './prometheus.js';
import { checkQueriesAgainst, describeProblems } from './query-check.js';
import type { QueryCheck } from './query-check.js';
import { scrapeJobsFromProcesses } from './scrape-targets.js';

export async function checkTestbed(processes: readonly { pid: number; metrics: string | null }[], log: (line: string) => void = () => undefined): Promise<QueryCheck[]> {
  const jobs = scrapeJobsFromProcesses(processes);
  log(`scraping ${jobs.map((j) => `${j.job} (${j.targets.length})`).join(', ') || 'nothing'}`);
  const prometheus = await startPrometheus({ jobs });
  try {
    if (jobs.length === 0) return await checkQueriesAgainst(prometheus.url);
    await prometheus.waitForTargets();
    // rate() needs two samples in its window.
    const twoScrapes = encodeURIComponent('min(count_over_time(up[1m])) >= 2');
    for (let i = 0; i < 150; i++) {
      const r = (await (await fetch(`${prometheus.url}/api/v1/query?query=${twoScrapes}`)).json()) as { data: { result: unknown[] } };
      if (r.data.result.length > 0) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    return await checkQueriesAgainst(prometheus.url);
  } finally {
    await prometheus.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = talariaArgv(['testbed', 'status', '--json']);
  const summary = JSON.parse(execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' })) as TestbedSummary;
  if (summary.mode !== 'talaria') process.stderr.write(`warning: the testbed runs mode ${summary.mode}, not talaria\n`);
  const results = await checkTestbed(summary.processes, (l) => process.stderr.write(`${l}\n`));
  const problems = describeProblems(results);
  process.stdout.write(`${results.filter((r) => r.status === 'ok').length} of ${results.length} queries returned data\n${problems}${problems ? '\n' : ''}`);
  process.exit(problems ? 1 : 0);
}
