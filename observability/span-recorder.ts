// A test double for traces: the SDK's InMemorySpanExporter forgets its spans
// when the provider shuts down, which is exactly when a test wants to look at
// what a component flushed. This one keeps them.
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-node';

export class SpanRecorder extends InMemorySpanExporter {
  private readonly kept: ReadableSpan[] = [];

  override export(spans: ReadableSpan[], resultCallback: Parameters<InMemorySpanExporter['export']>[1]): void {
    this.kept.push(...spans);
    super.export(spans, resultCallback);
  }

  /** Every span exported so far, also after shutdown. */
  spans(): ReadableSpan[] {
    return [...this.kept];
  }

  /** A processor to pass as startTelemetry's spanProcessors entry. */
  processor(): SpanProcessor {
    return new SimpleSpanProcessor(this);
  }
}
