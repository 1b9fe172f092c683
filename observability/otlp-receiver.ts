// An in-process OTLP/HTTP trace receiver for tests: what Talaria's exporter
// (@opentelemetry/exporter-trace-otlp-http, JSON encoding) sends to a
// collector's /v1/traces, decoded into flat spans. The testbed points the
// controller's and the switch's OTEL_EXPORTER_OTLP_ENDPOINT at it to check
// that one sync is one trace across processes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind number: 1 internal, 2 server, 3 client. */
  kind: number;
  serviceName: string;
  attributes: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** Base URL to use as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  spans(): ReceivedSpan[];
  /** Resolves with the spans once pred holds, rejects after timeoutMs. */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number; attributes?: OtlpKeyValue[] }[] }[];
  }[];
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        // The protobuf encoding would need the OTLP protos; Talaria's exporter sends JSON.
        res.writeHead(415).end();
        return;
      }
      try {
        received.push(...decode(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    spans: () => [...received],
    waitFor(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!pred(received)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve([...received]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`OTLP receiver: condition not met within ${timeoutMs} ms (${received.length} spans received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function decode(body: OtlpExport): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind ?? 0,
          serviceName: String(resource['service.name'] ?? ''),
          attributes: attributes(s.attributes),
        });
      }
    }
  }
  return out;
}

function attributes(kvs: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue);
  }
  return out;
}

/**
 * Traces that start in service `from` and reach service `to`: a span of `to`
 * whose trace has a root span of `from` (e.g. the controller's sync and the
 * switch's handling of its Writes). Keyed by trace id.
 */
export function crossServiceTraces(spans: readonly ReceivedSpan[], from: string, to: string): Map<string, ReceivedSpan[]> {
  const byTrace = new Map<string, ReceivedSpan[]>();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  const out = new Map<string, ReceivedSpan[]>();
  for (const [id, trace] of byTrace) {
    const ids = new Set(trace.map((s) => s.spanId));
    const rootFrom = trace.some((s) => s.serviceName === from && s.parentSpanId === '');
    // Every span of `to` hangs off a span that was received (one connected trace).
    const joined = trace.some((s) => s.serviceName === to && ids.has(s.parentSpanId));
    if (rootFrom && joined) out.set(id, trace);
  }
  return out;
}
