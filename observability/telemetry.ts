// One telemetry setup for every Talaria process (controller, node agent,
// software switch): Prometheus metrics on an injected registry and an
// OpenTelemetry tracer provider configured the standard way, by OTEL_* env.
// Telemetry must never take a process down, so nothing here throws: a broken
// exporter configuration degrades to "no export" with one line on stderr.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { buildInfo } from '../cli/version.js';
import { context, propagation, trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface Telemetry {
  /** Where this process registers its metrics; served on /metrics. */
  readonly registry: Registry;
  /** Tracer of this process's provider (spans carry its service.name). */
  readonly tracer: Tracer;
  /** Flushes pending spans and stops exporting; never rejects; idempotent. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  /** service.name of the spans (OTEL_SERVICE_NAME overrides it). */
  serviceName: string;
  /** Registry to use; a new one is created otherwise (never the global one). */
  registry?: Registry;
  /** Extra processors, e.g. a SimpleSpanProcessor around an InMemorySpanExporter in tests. */
  spanProcessors?: SpanProcessor[];
}

// A metric that collectDefaultMetrics registers: its presence means the
// registry already has the process metrics (registering twice throws).
const DEFAULT_METRIC_PROBE = 'process_cpu_user_seconds_total';

// Process-wide OpenTelemetry globals (context manager, propagator, global
// tracer provider) can be set once; the first live Telemetry owns them and
// the last one to shut down releases them, so tests can start several.
let live = 0;
let ownsPropagation = false;
let globalOwner: NodeTracerProvider | undefined;

export function startTelemetry(opts: TelemetryOptions): Telemetry {
  const registry = opts.registry ?? new Registry();
  try {
    if (registry.getSingleMetric(DEFAULT_METRIC_PROBE) === undefined) {
      collectDefaultMetrics({ register: registry });
    }
  } catch (err) {
    warn(`default process metrics not registered: ${message(err)}`);
  }
  registerBuildInfo(registry);

  const provider = createProvider(opts);
  live++;
  registerGlobals(provider);
  const tracer = provider.getTracer(opts.serviceName);

  let stopping: Promise<void> | undefined;
  return {
    registry,
    tracer,
    shutdown(): Promise<void> {
      stopping ??= (async () => {
        try {
          await provider.shutdown();
        } catch (err) {
          warn(`flushing spans failed: ${message(err)}`);
        }
        releaseGlobals(provider);
      })();
      return stopping;
    },
  };
}

/** talaria_build_info: 1, labelled with what this build is (kube-proxy exports kubernetes_build_info). */
function registerBuildInfo(registry: Registry): void {
  if (registry.getSingleMetric('talaria_build_info')) return;
  const b = buildInfo();
  new Gauge({ name: 'talaria_build_info', help: 'A metric with a constant 1 value labelled by the version, commit and Node.js of this build.', labelNames: ['version', 'git_commit', 'build_date', 'node_version'], registers: [registry] })
    .set({ version: b.version, git_commit: b.gitCommit, build_date: b.buildDate, node_version: b.nodeVersion }, 1);
}

function createProvider(opts: TelemetryOptions): NodeTracerProvider {
  const spanProcessors = [...exportProcessors(), ...(opts.spanProcessors ?? [])];
  try {
    // Later resources win: OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME can
    // rename one instance (e.g. per node) without a code change.
    const resource = defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName }))
      .merge(detectResources({ detectors: [envDetector] }));
    return new NodeTracerProvider({ resource, spanProcessors });
  } catch (err) {
    warn(`tracer provider from OTEL_* env failed, using defaults: ${message(err)}`);
    return new NodeTracerProvider({ spanProcessors });
  }
}

/** The exporting processors that OTEL_* env asks for (none by default). */
function exportProcessors(): SpanProcessor[] {
  const env = process.env;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return [];
  const names = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const out: SpanProcessor[] = [];
  for (const name of names) {
    let exporter: SpanExporter | undefined;
    try {
      if (name === 'otlp') {
        // Off unless an endpoint is configured: a process without a collector
        // must not retry exports to localhost:4318 forever.
        if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT) {
          const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
          if (protocol && protocol !== 'http/json') {
            // A collector's gRPC port (4317) would refuse every export silently.
            warn(`OTLP protocol "${protocol}" is not supported; exporting http/json (collector port 4318)`);
          }
          exporter = new OTLPTraceExporter(); // reads endpoint, headers, timeout from env
        }
      } else if (name === 'console') {
        exporter = new ConsoleSpanExporter();
      } else if (name !== 'none') {
        warn(`OTEL_TRACES_EXPORTER "${name}" is not supported (otlp, console, none); ignored`);
      }
    } catch (err) {
      warn(`span exporter "${name}" not started: ${message(err)}`);
    }
    // Batching (OTEL_BSP_* env) keeps exports off the sync's critical path.
    if (exporter) out.push(new BatchSpanProcessor(exporter));
  }
  return out;
}

function registerGlobals(provider: NodeTracerProvider): void {
  try {
    if (live === 1) {
      // NodeTracerProvider.register installs the AsyncLocalStorage context
      // manager and the propagator; the W3C trace context is what the P4Runtime
      // gRPC metadata carries between controller and switch.
      provider.register({
        propagator: new CompositePropagator({
          propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
        }),
      });
      ownsPropagation = true;
      globalOwner = provider;
    } else if (globalOwner === undefined && trace.setGlobalTracerProvider(provider)) {
      globalOwner = provider;
    }
  } catch (err) {
    warn(`registering the OpenTelemetry globals failed: ${message(err)}`);
  }
}

function releaseGlobals(provider: NodeTracerProvider): void {
  live--;
  try {
    if (globalOwner === provider) {
      trace.disable();
      globalOwner = undefined;
    }
    if (live === 0 && ownsPropagation) {
      propagation.disable();
      context.disable();
      ownsPropagation = false;
    }
  } catch (err) {
    warn(`releasing the OpenTelemetry globals failed: ${message(err)}`);
  }
}

function warn(text: string): void {
  process.stderr.write(`talaria: telemetry: ${text}\n`);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
