// A stand-in exporter for checking dashboards and alerts before (or without)
// the real components: registers every metric that observability/metrics.md
// documents, with one plausible series each, on prom-client registries, one
// per scrape job. It reads the contract file itself, so the check fails when
// the dashboards use a name the contract does not have.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ContractMetric {
  job: string;
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  labels: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = here.includes('/dist/') ? here.replace('/dist/', '/') : here;

/** The metric tables of metrics.md, per `job="..."` section. */
export function contractMetrics(file = join(sourceDir, 'metrics.md')): ContractMetric[] {
  const out: ContractMetric[] = [];
  let job: string | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const heading = /^## .*\(`job="([^"]+)"/.exec(line);
    if (heading) job = heading[1];
    else if (line.startsWith('## ')) job = undefined;
    const row = /^\| `([a-z_:]+)` \| (counter|gauge|histogram) \|([^|]*)\|/.exec(line);
    if (job && row) {
      const labels = [...row[3]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
      out.push({ job, name: row[1]!, type: row[2] as ContractMetric['type'], labels });
    }
  }
  return out;
}

/** Label values that the dashboards and alerts single out. */
const LABEL_VALUES: Record<string, string> = {
  table: 'frontends',
  reason: 'malformed',
  program: 'tl_host_pod_ingress',
  map: 'tl_host_conns',
};

/** One registry per job, each metric with one series of a plausible value. */
export function contractRegistries(metrics = contractMetrics()): Map<string, Registry> {
  const registries = new Map<string, Registry>();
  for (const m of metrics) {
    let registry = registries.get(m.job);
    if (!registry) registries.set(m.job, (registry = new Registry()));
    const labels = Object.fromEntries(m.labels.map((l) => [l, LABEL_VALUES[l] ?? 'x']));
    const common = { name: m.name, help: `contract stand-in for ${m.name}`, labelNames: m.labels, registers: [registry] };
    if (m.type === 'counter') new Counter(common).inc(labels, 1);
    else if (m.type === 'histogram') new Histogram({ ...common, buckets: [0.01, 0.1, 1, 5, 10] }).observe(labels, 0.05);
    else new Gauge(common).set(labels, gaugeValue(m.name));
  }
  return registries;
}

function gaugeValue(name: string): number {
  if (name.endsWith('_capacity')) return 65536;
  if (name.endsWith('_last_timestamp_seconds')) return Date.now() / 1000;
  if (name.endsWith('_entries')) return 100;
  return 1; // leader, connected, pending, unprogrammed
}

/** The contract metrics of `job` that `registry` has no series for (yet). */
export async function missingSeries(job: string, registry: Registry, metrics = contractMetrics()): Promise<ContractMetric[]> {
  const out: ContractMetric[] = [];
  for (const m of metrics.filter((x) => x.job === job)) {
    const metric = registry.getSingleMetric(m.name);
    if (!metric || (await metric.get()).values.length === 0) out.push(m);
  }
  return out;
}
