// One trace across two "processes" joined by a gRPC call: the controller's
// sync span and its P4Runtime client span, the switch's server span, each
// exported by its own Telemetry over OTLP/HTTP to an in-process receiver.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { startTelemetry } from './telemetry.js';
import type { Telemetry } from './telemetry.js';
import { extractTraceContext, injectTraceContext } from './grpc-trace-context.js';
import { crossServiceTraces, startOtlpReceiver } from './otlp-receiver.js';
import type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.js';

const text = {
  serialize: (v: string) => Buffer.from(v),
  deserialize: (b: Buffer) => b.toString(),
};
const service: grpc.ServiceDefinition = {
  write: {
    path: '/talaria.test.Switch/Write',
    requestStream: false,
    responseStream: false,
    requestSerialize: text.serialize,
    requestDeserialize: text.deserialize,
    responseSerialize: text.serialize,
    responseDeserialize: text.deserialize,
  },
};

void describe('trace context over gRPC metadata', () => {
  let receiver: OtlpReceiver;
  let controller: Telemetry;
  let softswitch: Telemetry;
  let server: grpc.Server;
  let client: grpc.Client;
  const savedEndpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;

  before(async () => {
    receiver = await startOtlpReceiver();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    controller = startTelemetry({ serviceName: 'talaria-controller' });
    softswitch = startTelemetry({ serviceName: 'talaria-softswitch' });
    server = new grpc.Server();
    server.addService(service, {
      write: (call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) => {
        // ROOT_CONTEXT as parent: in one process the async context would leak
        // the caller's span; only the metadata may carry it here.
        const ctx = extractTraceContext(call.metadata, ROOT_CONTEXT);
        softswitch.tracer.startSpan('p4runtime.Write', { kind: SpanKind.SERVER, attributes: { request: call.request } }, ctx).end();
        callback(null, 'ok');
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const Client = grpc.makeGenericClientConstructor(service, 'Switch');
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
    await controller?.shutdown();
    await softswitch?.shutdown();
    await receiver?.close();
    if (savedEndpoint === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = savedEndpoint;
  });

  function write(request: string, metadata: grpc.Metadata): Promise<string> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest('/talaria.test.Switch/Write', text.serialize, text.deserialize, request, metadata, (err, res) =>
        err ? reject(err) : resolve(res ?? ''),
      );
    });
  }

  void it('puts the sync, the client call and the switch side in one trace', async () => {
    await controller.tracer.startActiveSpan('sync', async (sync) => {
      const rpc = controller.tracer.startSpan('p4runtime.Write', { kind: SpanKind.CLIENT });
      await write('traced', injectTraceContext(new grpc.Metadata(), trace.setSpan(context.active(), rpc)));
      rpc.end();
      sync.end();
    });
    // Without trace headers the switch starts a trace of its own.
    await context.with(ROOT_CONTEXT, () => write('untraced', new grpc.Metadata()));
    await controller.shutdown();
    await softswitch.shutdown();

    const spans = await receiver.waitFor((s) => s.length >= 4);
    const find = (service: string, name: string, request?: string): ReceivedSpan => {
      const span = spans.find((s) => s.serviceName === service && s.name === name && (request === undefined || s.attributes.request === request));
      assert.ok(span, `span ${name} of ${service} received: ${JSON.stringify(spans)}`);
      return span;
    };
    const sync = find('talaria-controller', 'sync');
    const rpc = find('talaria-controller', 'p4runtime.Write');
    const handled = find('talaria-softswitch', 'p4runtime.Write', 'traced');
    const untraced = find('talaria-softswitch', 'p4runtime.Write', 'untraced');

    assert.equal(sync.parentSpanId, '');
    assert.equal(rpc.traceId, sync.traceId);
    assert.equal(rpc.parentSpanId, sync.spanId);
    assert.equal(handled.traceId, sync.traceId, 'switch span joined the controller trace');
    assert.equal(handled.parentSpanId, rpc.spanId);
    assert.equal(handled.kind, 2);
    assert.notEqual(untraced.traceId, sync.traceId);
    assert.equal(untraced.parentSpanId, '');

    // What the testbed asks of a real sync: one trace from controller to switch.
    const joined = crossServiceTraces(spans, 'talaria-controller', 'talaria-softswitch');
    assert.deepEqual([...joined.keys()], [sync.traceId]);
    assert.equal(joined.get(sync.traceId)!.length, 3);
  });
});
