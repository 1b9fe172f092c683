// Every dashboard panel query and alert expression against a real Prometheus
// (Debian's /usr/bin/prometheus on 127.0.0.1) scraping the controller's and
// node agent's real metric registries (plus contract stand-ins for what they
// cannot fill without a kernel datapath, and for the software switch). The testbed runs the same check,
// checkQueriesAgainst(url), against the running components.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HealthTracker } from './health.js';
import { startProxyServers } from './proxy-server.js';
import type { ProxyServers } from './proxy-server.js';
import { startPrometheus } from './prometheus.js';
import type { RunningPrometheus, ScrapeJob } from './prometheus.js';
import { checkQueriesAgainst, describeProblems, expandVariables, shippedQueries, vectorSelectors } from './query-check.js';
import { contractMetrics, contractRegistries, missingSeries } from './testing-exporter.js';
import { Registry } from 'prom-client';
import { ControllerMetrics } from '../controller/metrics.js';
import { AgentMetrics } from '../nodeagent/metrics.js';
import { startTelemetry } from './telemetry.js';
import type { Telemetry } from './telemetry.js';

const here = dirname(fileURLToPath(import.meta.url));
const alertsDir = join(here.includes('/dist/') ? here.replace('/dist/', '/') : here, 'alerts');

void describe('vectorSelectors', () => {
  const cases: [string, string[]][] = [
    ['up', ['up']],
    ['sum by (job, le) (rate(x_bucket{job="a"}[5m]))', ['x_bucket{job="a"}']],
    ['a / on (job, instance) (b{m="}"} > 0)', ['a', 'b{m="}"}']],
    ['absent(up{job="c"} == 1)', ['up{job="c"}']],
    ['x and on () time() - y offset 5m > 300', ['x', 'y']],
    ['histogram_quantile(0.99, sum without (pod) (rate(h[1m])))', ['h']],
  ];
  for (const [expr, want] of cases) void it(expr, () => assert.deepEqual(vectorSelectors(expr), want));
});

void describe('expandVariables', () => {
  void it('expands $x, ${x} and [[x]] and leaves unknown ones', () => {
    assert.equal(expandVariables('a{n=~"$node",j="${job}",k="[[k]]"}[$__rate_interval] $other', { node: '.*', job: 'j', k: 'v', __rate_interval: '1m' }),
      'a{n=~".*",j="j",k="v"}[1m] $other');
  });
});

void describe('dashboards and alerts against a real Prometheus', () => {
  const telemetries: Telemetry[] = [];
  const servers: ProxyServers[] = [];
  let prometheus: RunningPrometheus | undefined;

  before(async () => {
    // The real metric classes of the controller and node agent, filled the
    // way a sync fills them; stand-ins from the contract for what has no
    // series here (kernel counters without a loaded program, the software
    // switch, which exports no metrics yet), as a second target of the job.
    const now = Date.now() / 1000;
    const controller = new Registry();
    const c = new ControllerMetrics(controller);
    c.syncDuration.observe(0.02);
    c.programmingDuration.observe(0.1);
    c.lastSync.set(now);
    c.serviceChangesTotal.inc(2);
    c.endpointChangesTotal.inc(5);
    c.serviceChangesPending.set(0);
    c.endpointChangesPending.set(0);
    c.tableEntries.set({ table: 'frontends' }, 10);
    c.tableCapacity.set({ table: 'frontends' }, 1024);
    c.leader.set(1);
    c.connected.set(1);
    const agent = new Registry();
    const a = new AgentMetrics(agent);
    a.syncDuration.observe(0.003);
    a.lastSync.set(now);
    a.connectionEntries.set(5);
    a.mapEntries.set({ map: 'tl_host_conns' }, 5);
    a.mapCapacity.set({ map: 'tl_host_conns' }, 65536);
    const real = new Map([
      ['talaria-controller', controller],
      ['talaria-node-agent', agent],
      ['talaria-softswitch', new Registry()],
    ]);
    const jobs: ScrapeJob[] = [];
    for (const [job, registry] of real) {
      const standIn = contractRegistries(await missingSeries(job, registry)).get(job) ?? new Registry();
      const labels: Record<string, string> = job === 'talaria-node-agent' ? { node: 'n1' } : {};
      const targets = [];
      for (const r of [registry, standIn]) {
        const t = startTelemetry({ serviceName: job, registry: r });
        telemetries.push(t);
        const s = await startProxyServers({ registry: r, health: new HealthTracker(), healthzAddress: '', metricsAddress: '127.0.0.1:0' });
        servers.push(s);
        targets.push({ address: `127.0.0.1:${s.metricsPort}`, labels });
      }
      jobs.push({ job, targets });
    }
    prometheus = await startPrometheus({ jobs, ruleFiles: [join(alertsDir, 'talaria.rules.yaml')] });
    await prometheus.waitForTargets();
    // rate() needs two samples in its window: wait for a second scrape of every target.
    await waitFor(async () => {
      const r = (await (await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent('min(count_over_time(up[1m])) >= 2')}`)).json()) as {
        data: { result: unknown[] };
      };
      return r.data.result.length > 0;
    });
  });

  after(async () => {
    await prometheus?.close();
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(telemetries.map((t) => t.shutdown()));
  });

  void it('has a contract with all three jobs', () => {
    assert.deepEqual([...new Set(contractMetrics().map((m) => m.job))].sort(), ['talaria-controller', 'talaria-node-agent', 'talaria-softswitch']);
  });

  void it('loads the alert rules into Prometheus', async () => {
    const r = (await (await fetch(`${prometheus!.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { health: string }[] }[] } };
    const rules = r.data.groups.flatMap((g) => g.rules);
    assert.equal(rules.length, 10);
    assert.ok(rules.every((x) => x.health !== 'err'));
  });

  void it('every panel query and alert expression parses and returns data', async () => {
    const results = await checkQueriesAgainst(prometheus!.url);
    assert.ok(results.length >= 60, `${results.length} queries checked`);
    assert.equal(describeProblems(results), '');
  });

  void it('reports queries that do not parse or find nothing', async () => {
    const base = { kind: 'panel' as const, needsKubeProxy: false, variables: {} };
    const results = await checkQueriesAgainst(prometheus!.url, {
      queries: [
        { ...base, origin: 'broken', expr: 'sum(rate(up[5m]' },
        { ...base, origin: 'renamed', expr: 'talaria_not_a_metric' },
        { ...base, kind: 'alert', origin: 'alert on a renamed metric', expr: 'talaria_leader == 1 or talaria_not_a_metric > 0' },
        ...shippedQueries().slice(0, 1),
      ],
    });
    assert.deepEqual(results.map((r) => r.status), ['error', 'empty', 'empty', 'ok']);
    assert.match(results[2]!.detail, /no series for talaria_not_a_metric$/);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
