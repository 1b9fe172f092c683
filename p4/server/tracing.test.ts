// The trace context crosses the P4Runtime hop: a Write made inside a span
// becomes a server span "p4runtime.Write" in the same trace, child of the
// caller's span, with the update counts as attributes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { startTelemetry } from '../../observability/telemetry.js';
import type { Telemetry } from '../../observability/telemetry.js';
import { SpanRecorder } from '../../observability/span-recorder.js';
import { buildTableEntry, talariaP4Info } from '../client/index.js';
import { Harness } from '../testing/harness.js';

const recorder = new SpanRecorder();
let telemetry: Telemetry;
const h = new Harness();

before(async () => {
  telemetry = startTelemetry({ serviceName: 'p4runtime-test', spanProcessors: [recorder.processor()] });
  await h.start();
});
after(async () => {
  await h.close();
  await telemetry.shutdown();
});

test('a Write inside a span is recorded by the server as its child', async () => {
  const client = await h.primary();
  const p4 = talariaP4Info();
  const tracer = trace.getTracer('test');
  const parent = await tracer.startActiveSpan('sync', async (span) => {
    await client.write([
      { type: 'INSERT', entity: buildTableEntry(p4, 'reverse_nat', { frontend_id: 1 }, { name: 'restore_frontend', params: { addr: '10.96.0.1', port: 53 } }) },
      { type: 'DELETE', entity: buildTableEntry(p4, 'reverse_nat', { frontend_id: 2 }) },
    ]).catch(() => undefined);
    span.end();
    return span.spanContext();
  });
  const writes = recorder.spans().filter((s) => s.name === 'p4runtime.Write' && s.spanContext().traceId === parent.traceId);
  assert.equal(writes.length, 1);
  assert.equal(writes[0].parentSpanContext?.spanId, parent.spanId);
  assert.equal(writes[0].attributes['p4runtime.updates'], 2);
  assert.equal(writes[0].attributes['p4runtime.failed_updates'], 1);
});
