// Runs every shipped dashboard query and alert expression against a running
// Prometheus and prints what failed or came back empty:
//   node --import tsx observability/check-queries.ts http://127.0.0.1:9090 [--rate-interval 1m] [--include-kube-proxy]
// Exit status 1 when any query has a problem.
import { checkQueriesAgainst, describeProblems } from './query-check.js';

const args = process.argv.slice(2);
const url = args.find((a) => /^https?:\/\//.test(a));
if (!url) {
  process.stderr.write('usage: check-queries.ts PROMETHEUS_URL [--rate-interval 1m] [--include-kube-proxy]\n');
  process.exit(2);
}
const i = args.indexOf('--rate-interval');
const results = await checkQueriesAgainst(url, {
  rateInterval: i >= 0 ? args[i + 1] : undefined,
  includeKubeProxy: args.includes('--include-kube-proxy'),
});
const problems = describeProblems(results);
const ok = results.filter((r) => r.status === 'ok').length;
process.stdout.write(`${ok} of ${results.length} queries returned data\n${problems}${problems ? '\n' : ''}`);
process.exit(problems ? 1 : 0);
