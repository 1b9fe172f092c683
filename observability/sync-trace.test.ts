// One controller sync is one trace across the two sides of P4Runtime: the
// real controller (its own Telemetry, service talaria-controller) programs a
// real P4RuntimeServer (the software switch's server, here on the in-memory
// target, with the switch's Telemetry), both exporting over OTLP/HTTP to an
// in-process receiver, as they would to a collector.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestApiServer } from '../testbed/controlplane/test-api-server.js';
import { MemoryTarget } from '../p4/server/memory-target.js';
import { P4RuntimeServer } from '../p4/server/server.js';
import { Controller, loadKubeconfig } from '../controller/controller.js';
import { startTelemetry } from './telemetry.js';
import type { Telemetry } from './telemetry.js';
import { crossServiceTraces, startOtlpReceiver } from './otlp-receiver.js';
import type { OtlpReceiver } from './otlp-receiver.js';

void describe('a controller sync traced into the switch', () => {
  let receiver: OtlpReceiver;
  let switchTelemetry: Telemetry | undefined;
  let controllerTelemetry: Telemetry | undefined;
  let api: TestApiServer | undefined;
  let server: P4RuntimeServer | undefined;
  let controller: Controller | undefined;
  const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;

  before(async () => {
    receiver = await startOtlpReceiver();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    // The switch's server records its spans with the process-wide tracer: its
    // Telemetry starts first, so it is the global provider here.
    switchTelemetry = startTelemetry({ serviceName: 'talaria-softswitch' });
    controllerTelemetry = startTelemetry({ serviceName: 'talaria-controller' });
    api = await TestApiServer.start();
    const node = await api.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', annotations: { 'talaria.io/switch-port': '1', 'talaria.io/uplink-mac': '02:00:00:00:00:01' } },
      spec: { podCIDR: '10.244.1.0/24' },
    });
    await api.patchStatus(node, { addresses: [{ type: 'InternalIP', address: '198.18.0.1' }] });
    await api.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    await api.create({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' }],
    });
    server = new P4RuntimeServer({ deviceId: 1, target: new MemoryTarget() });
    const address = `127.0.0.1:${await server.start('127.0.0.1:0')}`;
    controller = new Controller({
      kubeconfig: loadKubeconfig(api.kubeconfigPath),
      switchAddress: address,
      deviceId: 1n,
      electionId: 1n,
      registry: controllerTelemetry.registry,
      tracer: controllerTelemetry.tracer,
      healthzAddress: '',
      metricsAddress: '',
      minSyncIntervalMs: 0,
      log: () => undefined,
    });
    await controller.start();
  });

  after(async () => {
    await controller?.stop();
    await server?.stop(100);
    await api?.stop();
    await controllerTelemetry?.shutdown();
    await switchTelemetry?.shutdown();
    await receiver?.close();
    if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
  });

  void it('exports a sync whose P4Runtime writes the switch records in the same trace', async () => {
    // Wait until the Service is programmed, then flush both processes' spans.
    const deadline = Date.now() + 30_000;
    while (!(await controller!.metrics.lastSync.get()).values.some((v) => v.value > 0)) {
      assert.ok(Date.now() < deadline, 'the controller synced');
      await new Promise((r) => setTimeout(r, 50));
    }
    await controller!.stop();
    await controllerTelemetry!.shutdown();
    await switchTelemetry!.shutdown();

    const spans = receiver.spans();
    const traces = crossServiceTraces(spans, 'talaria-controller', 'talaria-softswitch');
    assert.ok(traces.size >= 1, `a trace from the controller reaches the switch: ${JSON.stringify(spans.map((s) => [s.serviceName, s.name]))}`);
    for (const trace of traces.values()) {
      const sync = trace.find((s) => s.serviceName === 'talaria-controller' && s.name === 'sync');
      assert.ok(sync, 'rooted at a sync span');
      for (const handled of trace.filter((s) => s.serviceName === 'talaria-softswitch')) {
        assert.equal(handled.name, 'p4runtime.Write');
        assert.equal(handled.kind, 2, 'a server span');
        const caller = trace.find((s) => s.spanId === handled.parentSpanId);
        assert.equal(caller?.serviceName, 'talaria-controller', 'child of a controller span');
      }
    }
  });
});
