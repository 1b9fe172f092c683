// W3C trace context in gRPC metadata, so a controller's sync span and the
// switch's handling of each P4Runtime Write land in one trace. Uses the
// global propagator that startTelemetry registers (traceparent, tracestate,
// baggage); with no propagator registered both are harmless no-ops.
import { context, propagation } from '@opentelemetry/api';
import type { Context, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { Metadata } from '@grpc/grpc-js';

const setter: TextMapSetter<Metadata> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const getter: TextMapGetter<Metadata> = {
  keys(carrier) {
    return Object.keys(carrier.getMap());
  },
  get(carrier, key) {
    const values = carrier.get(key).map((v) => (typeof v === 'string' ? v : v.toString('latin1')));
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

/** Client side: adds the context's trace headers to outgoing metadata (returned for chaining). */
export function injectTraceContext(metadata: Metadata, ctx: Context = context.active()): Metadata {
  propagation.inject(ctx, metadata, setter);
  return metadata;
}

/** Server side: the context a handler should run its spans in (context.with(ctx, ...)). */
export function extractTraceContext(metadata: Metadata, parent: Context = context.active()): Context {
  return propagation.extract(parent, metadata, getter);
}
