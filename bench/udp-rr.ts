// UDP request/response load (the udp-rr workload): `concurrency` flows, each
// its own socket (its own 5-tuple, so flows spread over backends like
// separate clients), each sending one datagram and waiting for the answer
// before the next. Written in TypeScript because no Debian tool does UDP
// request/response; the client costs the same in every mode, so ratios hold.
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { LatencyMs } from './results.js';
import { quantile } from './stats.js';

export interface UdpRrOptions {
  /** Flows go round-robin over the targets (the direct path spreads over pods). */
  targets: Array<{ host: string; port: number }>;
  concurrency: number;
  durationSeconds: number;
  /** A request without an answer within this time counts as an error. */
  timeoutMs?: number;
}

export interface UdpRrResult {
  requests: number;
  errors: number;
  durationSeconds: number;
  rps: number;
  latencyMs: LatencyMs;
}

export async function runUdpRr(o: UdpRrOptions): Promise<UdpRrResult> {
  const timeoutMs = o.timeoutMs ?? 1000;
  const deadline = performance.now() + o.durationSeconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();

  const flow = (_: unknown, i: number) =>
    new Promise<void>((resolve) => {
      const target = o.targets[i % o.targets.length];
      const sock = createSocket('udp4');
      const payload = Buffer.from('talaria-udp-rr');
      let sentAt = 0;
      let timer: NodeJS.Timeout | undefined;
      const next = () => {
        if (performance.now() >= deadline) {
          sock.close();
          resolve();
          return;
        }
        sentAt = performance.now();
        timer = setTimeout(() => {
          errors++;
          next();
        }, timeoutMs);
        sock.send(payload, target.port, target.host);
      };
      sock.on('message', () => {
        clearTimeout(timer);
        latencies.push(performance.now() - sentAt);
        next();
      });
      sock.on('error', () => {
        clearTimeout(timer);
        errors++;
        sock.close();
        resolve();
      });
      sock.bind(0, next);
    });

  await Promise.all(Array.from({ length: o.concurrency }, flow));
  const durationSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    durationSeconds,
    rps: latencies.length / durationSeconds,
    latencyMs: {
      p50: quantile(latencies, 0.5),
      p90: quantile(latencies, 0.9),
      p99: quantile(latencies, 0.99),
      p999: quantile(latencies, 0.999),
    },
  };
}
