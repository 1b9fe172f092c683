// The components' real metric classes against the contract in metrics.md
// (the dashboards and alerts are written against it): every documented metric
// is registered with the documented type and labels.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ControllerMetrics } from '../controller/metrics.js';
import { AgentMetrics } from '../nodeagent/metrics.js';
import { contractMetrics } from './testing-exporter.js';

interface Registered {
  labelNames?: readonly string[];
}

/** The prom-client type of a metric, without collecting it (collect may need a kernel datapath). */
function typeOf(metric: unknown): string {
  if (metric instanceof Histogram) return 'histogram';
  if (metric instanceof Counter) return 'counter';
  if (metric instanceof Gauge) return 'gauge';
  return 'other';
}

const components: [job: string, register: (r: Registry) => unknown][] = [
  ['talaria-controller', (r) => new ControllerMetrics(r)],
  ['talaria-node-agent', (r) => new AgentMetrics(r)],
];

void describe('metrics contract (observability/metrics.md)', () => {
  for (const [job, register] of components) {
    void it(`${job} registers every documented metric with its type and labels`, () => {
      const registry = new Registry();
      register(registry);
      for (const m of contractMetrics().filter((c) => c.job === job)) {
        const metric = registry.getSingleMetric(m.name) as Registered | undefined;
        assert.ok(metric, `${job} registers ${m.name}`);
        assert.equal(typeOf(metric), m.type, `${m.name} type`);
        assert.deepEqual([...(metric.labelNames ?? [])].sort(), [...m.labels].sort(), `${m.name} labels`);
      }
    });
  }

  void it('talaria-softswitch registers every documented metric with its type and labels', async (t) => {
    let register: ((r: Registry, datapath: unknown, p4info: unknown) => void) | undefined;
    try {
      const path = '../p4/softswitch/metrics.js'; // a variable: the module may not exist yet
      register = ((await import(path)) as { registerSwitchMetrics?: typeof register }).registerSwitchMetrics;
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
    if (!register) {
      t.todo('the software switch exports no metrics module yet');
      return;
    }
    const registry = new Registry();
    // Registration only; the kernel maps are read at scrape time.
    register(registry, { maps: {}, program: { name: 'talaria_switch' } }, {});
    for (const m of contractMetrics().filter((c) => c.job === 'talaria-softswitch')) {
      const metric = registry.getSingleMetric(m.name) as Registered | undefined;
      assert.ok(metric, `talaria-softswitch registers ${m.name}`);
      assert.equal(typeOf(metric), m.type, `${m.name} type`);
      assert.deepEqual([...(metric.labelNames ?? [])].sort(), [...m.labels].sort(), `${m.name} labels`);
    }
  });
});
