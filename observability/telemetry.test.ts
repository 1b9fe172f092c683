import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../bpf/testing/paths.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, register as globalRegistry } from 'prom-client';
import { context, propagation, trace } from '@opentelemetry/api';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { SpanRecorder } from './span-recorder.js';
import { startTelemetry } from './telemetry.js';

/** Runs fn with some env vars set, restoring the previous values afterwards. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

void describe('startTelemetry', () => {
  void it('creates its own registry with the process metrics, never the global one', async () => {
    const t = startTelemetry({ serviceName: 'test' });
    try {
      assert.notEqual(t.registry, globalRegistry);
      const text = await t.registry.metrics();
      assert.match(text, /^process_cpu_user_seconds_total /m);
      assert.match(text, /^nodejs_heap_size_used_bytes /m);
      // What `talaria version` prints, as kube-proxy's kubernetes_build_info.
      const version = `v${(JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version}`;
      assert.match(text, new RegExp(`^talaria_build_info\\{version="${version}",git_commit="(?:[0-9a-f]{40}(?:-dirty)?|unknown)",build_date="[^"]+",node_version="${process.version}"\\} 1$`, 'm'));
      assert.equal(globalRegistry.getSingleMetric('process_cpu_user_seconds_total'), undefined);
    } finally {
      await t.shutdown();
    }
  });

  void it('uses the registry it is given, also a second time', async () => {
    const registry = new Registry();
    const a = startTelemetry({ serviceName: 'a', registry });
    await a.shutdown();
    const b = startTelemetry({ serviceName: 'b', registry });
    await b.shutdown();
    assert.equal(b.registry, registry);
    assert.ok(registry.getSingleMetric('process_cpu_user_seconds_total'));
  });

  void it('sends spans to extra processors and flushes batched ones on shutdown', async () => {
    const exporter = new SpanRecorder();
    // A batch processor with a long delay: only shutdown's flush can deliver.
    const t = startTelemetry({
      serviceName: 'talaria-controller',
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 3_600_000 })],
    });
    t.tracer.startActiveSpan('sync', (span) => {
      span.end();
    });
    assert.equal(exporter.spans().length, 0);
    await t.shutdown();
    const [span] = exporter.spans();
    assert.equal(span?.name, 'sync');
    assert.equal(span?.resource.attributes['service.name'], 'talaria-controller');
  });

  void it('lets OTEL_SERVICE_NAME rename the service', async () => {
    const exporter = new SpanRecorder();
    await withEnv({ OTEL_SERVICE_NAME: 'talaria-node-agent-n1' }, async () => {
      const t = startTelemetry({ serviceName: 'talaria-node-agent', spanProcessors: [exporter.processor()] });
      t.tracer.startSpan('x').end();
      await t.shutdown();
    });
    assert.equal(exporter.spans()[0]?.resource.attributes['service.name'], 'talaria-node-agent-n1');
  });

  void it('injects a W3C traceparent for the active span', async () => {
    const t = startTelemetry({ serviceName: 'test' });
    try {
      const carrier: Record<string, string> = {};
      t.tracer.startActiveSpan('parent', (span) => {
        propagation.inject(context.active(), carrier);
        span.end();
      });
      assert.match(carrier.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    } finally {
      await t.shutdown();
    }
  });

  void it('exports over OTLP/HTTP when an endpoint is set', async () => {
    const bodies: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    after(() => receiver.close());
    const port = (receiver.address() as AddressInfo).port;
    await withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }, async () => {
      const t = startTelemetry({ serviceName: 'talaria-softswitch' });
      t.tracer.startSpan('p4runtime.Write').end();
      await t.shutdown();
    });
    assert.equal(bodies.length, 1);
    assert.match(bodies[0]!, /^POST \/v1\/traces /);
    assert.match(bodies[0]!, /"p4runtime\.Write"/);
    assert.match(bodies[0]!, /"talaria-softswitch"/);
  });

  void it('never throws: bad settings and an unreachable collector only degrade export', async () => {
    await withEnv(
      {
        OTEL_TRACES_SAMPLER: 'bogus',
        OTEL_TRACES_EXPORTER: 'otlp,zipkin',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:1/v1/traces',
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500',
      },
      async () => {
        const t = startTelemetry({ serviceName: 'test' });
        t.tracer.startSpan('lost').end();
        await t.shutdown();
        await t.shutdown(); // idempotent
      },
    );
  });

  void it('says so when asked for an OTLP protocol it does not speak', async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, async () => {
        await startTelemetry({ serviceName: 'test' }).shutdown();
      });
    } finally {
      process.stderr.write = write;
    }
    assert.ok(lines.some((l) => /OTLP protocol "grpc" is not supported; exporting http\/json/.test(l)), lines.join(''));
  });

  void it('releases the process-wide globals when the last one shuts down', async () => {
    const a = startTelemetry({ serviceName: 'a' });
    const b = startTelemetry({ serviceName: 'b' });
    await a.shutdown();
    const carrier: Record<string, string> = {};
    b.tracer.startActiveSpan('still-propagating', (span) => {
      propagation.inject(context.active(), carrier);
      span.end();
    });
    assert.ok(carrier.traceparent, 'b still propagates after a shut down');
    await b.shutdown();
    assert.equal(trace.getActiveSpan(), undefined);
  });
});
