// The client side of the end-to-end cases. It runs inside a pod's (or the
// external) network namespace as `talaria e2e probe '<json>'`, talks to the
// built-in echo server (which answers {"pod","node","client"}) and prints one
// JSON result, so the test driver sees exactly what a pod would see.
import { request } from 'node:http';
import type { Agent } from 'node:http';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface EchoAnswer {
  pod: string;
  node: string;
  client: string;
}

export interface Attempt {
  ok: boolean;
  answer?: EchoAnswer;
  /** errno code (ECONNREFUSED, ETIMEDOUT...) or a message. */
  error?: string;
  ms: number;
}

export type ProbeSpec =
  | { kind: 'http'; host: string; port: number; count: number; timeoutMs?: number }
  | { kind: 'udp'; host: string; port: number; count: number; timeoutMs?: number }
  | { kind: 'connect'; host: string; port: number; timeoutMs?: number }
  | { kind: 'hold'; host: string; port: number; connections: number; seconds: number; intervalMs?: number; stopFile?: string; requestTimeoutMs?: number }
  | { kind: 'stream'; host: string; port: number; seconds: number; intervalMs: number; timeoutMs?: number };

/** One new connection of a stream, stamped with the wall clock (the driver compares it with when a fault began). */
export interface StreamAttempt {
  /** When it started, ms since the epoch. */
  at: number;
  ok: boolean;
  pod?: string;
  error?: string;
  ms: number;
}

/** One HTTP GET on a fresh connection. */
export function httpOnce(host: string, port: number, timeoutMs = 2000, agent?: Agent): Promise<Attempt> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', agent: agent ?? false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve({ ok: res.statusCode === 200, answer: JSON.parse(body) as EchoAnswer, ms: performance.now() - t0 });
        } catch {
          resolve({ ok: false, error: `bad body: ${body.slice(0, 80)}`, ms: performance.now() - t0 });
        }
      });
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? e.message, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? e.message, ms: performance.now() - t0 }));
    req.end();
  });
}

export function udpOnce(host: string, port: number, timeoutMs = 1000): Promise<Attempt> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (a: Attempt) => {
      clearTimeout(timer);
      sock.close();
      resolve(a);
    };
    const timer = setTimeout(() => done({ ok: false, error: 'ETIMEDOUT', ms: performance.now() - t0 }), timeoutMs);
    sock.on('message', (msg) => {
      try {
        done({ ok: true, answer: JSON.parse(msg.toString()) as EchoAnswer, ms: performance.now() - t0 });
      } catch {
        done({ ok: false, error: 'bad datagram', ms: performance.now() - t0 });
      }
    });
    // ICMP port unreachable surfaces as ECONNREFUSED on a connected UDP socket.
    sock.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message, ms: performance.now() - t0 }));
    sock.connect(port, host, () => sock.send('ping'));
  });
}

export function connectOnce(host: string, port: number, timeoutMs = 2000): Promise<Attempt> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs });
    s.on('connect', () => {
      s.destroy();
      resolve({ ok: true, ms: performance.now() - t0 });
    });
    s.on('timeout', () => {
      s.destroy();
      resolve({ ok: false, error: 'ETIMEDOUT', ms: performance.now() - t0 });
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? e.message, ms: performance.now() - t0 }));
  });
}

/** What one long-lived connection saw. */
export interface HeldConnection {
  /** The backend of the first answer. */
  firstPod: string | null;
  requests: number;
  errors: number;
  /** Answers that came from another pod than the first one. */
  switches: number;
  /** The first error, if any (the connection is not reused after it). */
  firstError?: string;
  /** When the first error happened, seconds after the start. */
  errorAtSeconds?: number;
  /** The longest a request waited for its answer (a connection that stalled through a fault and resumed). */
  maxMs: number;
}

/**
 * One TCP connection carrying HTTP/1.1 request after request. Written on a
 * raw socket rather than an http.Agent because an agent silently replaces a
 * connection that died between requests, and a broken connection is exactly
 * what the churn test must see.
 */
class KeepAliveConnection {
  private buffer = '';
  private waiting: ((a: Attempt) => void) | null = null;
  private failure: string | null = null;
  private readonly socket;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => {
      this.buffer += d;
      this.tryAnswer();
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.fail(e.code ?? e.message));
    this.socket.on('close', () => this.fail('closed'));
  }

  private t0 = 0;

  private fail(reason: string): void {
    this.failure ??= reason;
    this.waiting?.({ ok: false, error: this.failure, ms: performance.now() - this.t0 });
    this.waiting = null;
  }

  private tryAnswer(): void {
    const head = this.buffer.indexOf('\r\n\r\n');
    if (head < 0 || !this.waiting) return;
    const length = Number(/content-length: *(\d+)/i.exec(this.buffer.slice(0, head))?.[1] ?? NaN);
    if (!Number.isFinite(length) || this.buffer.length < head + 4 + length) return;
    const body = this.buffer.slice(head + 4, head + 4 + length);
    this.buffer = this.buffer.slice(head + 4 + length);
    const resolve = this.waiting;
    this.waiting = null;
    try {
      resolve({ ok: true, answer: JSON.parse(body) as EchoAnswer, ms: performance.now() - this.t0 });
    } catch {
      resolve({ ok: false, error: `bad body: ${body.slice(0, 80)}`, ms: performance.now() - this.t0 });
    }
  }

  get(timeoutMs: number): Promise<Attempt> {
    this.t0 = performance.now();
    if (this.failure) return Promise.resolve({ ok: false, error: this.failure, ms: 0 });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.fail('ETIMEDOUT'), timeoutMs);
      this.waiting = (a) => {
        clearTimeout(timer);
        resolve(a);
      };
      this.socket.write('GET / HTTP/1.1\r\nHost: e2e\r\n\r\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * `connections` long-lived TCP connections, each sending request after
 * request for `seconds`, recording which pod answered. A connection that
 * fails is not replaced: its error is what the test counts.
 */
export async function holdConnections(host: string, port: number, connections: number, seconds: number, intervalMs = 50, stopFile?: string, requestTimeoutMs = 3000): Promise<HeldConnection[]> {
  const t0 = performance.now();
  let end = t0 + seconds * 1000;
  // The driver ends the run early by creating stopFile (this process runs in another namespace).
  const watcher = stopFile ? setInterval(() => existsSync(stopFile) && (end = 0), 100) : undefined;
  const one = async (): Promise<HeldConnection> => {
    const conn = new KeepAliveConnection(host, port);
    const h: HeldConnection = { firstPod: null, requests: 0, errors: 0, switches: 0, maxMs: 0 };
    try {
      while (performance.now() < end) {
        const a = await conn.get(requestTimeoutMs);
        h.requests++;
        h.maxMs = Math.max(h.maxMs, Math.round(a.ms));
        if (!a.ok) {
          h.errors++;
          h.firstError = a.error;
          h.errorAtSeconds = (performance.now() - t0) / 1000;
          break;
        }
        if (h.firstPod === null) h.firstPod = a.answer!.pod;
        else if (a.answer!.pod !== h.firstPod) h.switches++;
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    } finally {
      conn.close();
    }
    return h;
  };
  try {
    return await Promise.all(Array.from({ length: connections }, one));
  } finally {
    clearInterval(watcher);
  }
}

/** A new connection (one GET) after another for `seconds`, `intervalMs` apart: what new clients saw. */
export async function streamConnections(host: string, port: number, seconds: number, intervalMs: number, timeoutMs = 2000): Promise<StreamAttempt[]> {
  const end = Date.now() + seconds * 1000;
  const out: StreamAttempt[] = [];
  while (Date.now() < end) {
    const at = Date.now();
    const a = await httpOnce(host, port, timeoutMs);
    out.push({ at, ok: a.ok, ...(a.answer ? { pod: a.answer.pod } : {}), ...(a.error ? { error: a.error } : {}), ms: Math.round(a.ms) });
    await new Promise((r) => setTimeout(r, Math.max(0, at + intervalMs - Date.now())));
  }
  return out;
}

export async function runProbe(spec: ProbeSpec): Promise<unknown> {
  switch (spec.kind) {
    case 'http': {
      const out: Attempt[] = [];
      for (let i = 0; i < spec.count; i++) out.push(await httpOnce(spec.host, spec.port, spec.timeoutMs));
      return out;
    }
    case 'udp': {
      const out: Attempt[] = [];
      for (let i = 0; i < spec.count; i++) out.push(await udpOnce(spec.host, spec.port, spec.timeoutMs));
      return out;
    }
    case 'connect':
      return connectOnce(spec.host, spec.port, spec.timeoutMs);
    case 'hold':
      return holdConnections(spec.host, spec.port, spec.connections, spec.seconds, spec.intervalMs, spec.stopFile, spec.requestTimeoutMs);
    case 'stream':
      return streamConnections(spec.host, spec.port, spec.seconds, spec.intervalMs, spec.timeoutMs);
  }
}
