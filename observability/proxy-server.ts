// The two HTTP endpoints kube-proxy's tooling expects, so Talaria can stand in
// for it without changing probes, load balancer health checks or scrape
// configs: health (/healthz, /livez) on the healthz address, and /metrics
// plus /proxyMode on the metrics address.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { HealthTracker } from './health.js';
import { UserError } from '../cli/errors.js';

export interface ProxyServersOptions {
  registry: Registry;
  health: HealthTracker;
  /** "host:port" (kube-proxy's --healthz-bind-address); "" disables; undefined = 127.0.0.1, ephemeral port. */
  healthzAddress?: string;
  /** "host:port" (kube-proxy's --metrics-bind-address); "" disables; undefined = 127.0.0.1, ephemeral port. */
  metricsAddress?: string;
  /** What /proxyMode answers (kube-proxy answers iptables, ipvs, nftables). */
  proxyMode?: string;
}

export interface ProxyServers {
  /** Bound port of the healthz server; 0 when disabled. */
  healthzPort: number;
  /** Bound port of the metrics server; 0 when disabled. */
  metricsPort: number;
  /** Stops both servers, dropping idle keep-alive connections. */
  close(): Promise<void>;
}

export interface BindAddress {
  host: string;
  port: number;
}

const DEFAULT_HEALTHZ_PORT = 10256;
const DEFAULT_METRICS_PORT = 10249;

export async function startProxyServers(opts: ProxyServersOptions): Promise<ProxyServers> {
  const healthz = bindAddress('healthz', opts.healthzAddress, DEFAULT_HEALTHZ_PORT);
  const metrics = bindAddress('metrics', opts.metricsAddress, DEFAULT_METRICS_PORT);
  const servers: Server[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(servers.map(closeServer));
  };
  try {
    let healthzPort = 0;
    let metricsPort = 0;
    if (healthz) {
      const server = createServer(healthApp(opts.health, healthMetrics(opts.registry, opts.health)));
      servers.push(server);
      healthzPort = await listen(server, healthz, 'healthz');
    }
    if (metrics) {
      const server = createServer(metricsApp(opts.registry, opts.proxyMode ?? 'talaria'));
      servers.push(server);
      metricsPort = await listen(server, metrics, 'metrics');
    }
    return { healthzPort, metricsPort, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Parses a kube-proxy style bind address: "host:port", "[v6]:port", ":port"
 * (all interfaces) or a bare host (default port). undefined means loopback on
 * an ephemeral port (tests); "" means disabled (returns undefined).
 */
export function bindAddress(what: string, value: string | undefined, defaultPort: number): BindAddress | undefined {
  if (value === undefined) return { host: '127.0.0.1', port: 0 };
  const text = value.trim();
  if (text === '') return undefined;
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (text.split(':').length > 2) {
    host = text; // a bare IPv6 address
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  const port = portText === undefined ? defaultPort : /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new UserError(`--${what}-bind-address "${value}": expected HOST:PORT with a port in 0..65535`);
  }
  return { host, port };
}

/**
 * kube-proxy's metrics of its health server: answers by code, and when a
 * change last arrived. Registered with the health server (the software
 * switch, which serves none, has none).
 */
function healthMetrics(registry: Registry, health: HealthTracker): { healthz: Counter<'code'>; livez: Counter<'code'> } {
  const registers = [registry];
  // A registry serves one health server; one started again on it (a restart in tests) takes the metrics over.
  for (const name of ['kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', 'kubeproxy_proxy_healthz_total', 'kubeproxy_proxy_livez_total']) registry.removeSingleMetric(name);
  new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
    help: 'The last time a change was queued for a sync; 0 before the first.',
    registers,
    collect() {
      this.set((health.lastQueued ?? 0) / 1000);
    },
  });
  return {
    healthz: new Counter({ name: 'kubeproxy_proxy_healthz_total', help: 'Answers of /healthz by HTTP code.', labelNames: ['code'], registers }),
    livez: new Counter({ name: 'kubeproxy_proxy_livez_total', help: 'Answers of /livez by HTTP code.', labelNames: ['code'], registers }),
  };
}

function healthApp(health: HealthTracker, counters: { healthz: Counter<'code'>; livez: Counter<'code'> }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const answer = (live: boolean) => (_req: express.Request, res: express.Response): void => {
    const s = health.snapshot();
    const ok = live ? health.live() : s.healthy;
    (live ? counters.livez : counters.healthz).inc({ code: ok ? '200' : '503' });
    res
      .status(ok ? 200 : 503)
      .set('X-Content-Type-Options', 'nosniff')
      .json({ lastUpdated: s.lastUpdated, currentTime: s.currentTime, ...(s.blocked && !live ? { reason: s.blocked } : {}) });
  };
  app.get('/healthz', answer(false));
  // kube-proxy's /livez differs from /healthz only in ignoring node
  // eligibility for load balancers, which Talaria does not track; a failed
  // preflight check (health.block) does not fail it either: restarting the
  // agent does not fix a node's MTU.
  app.get('/livez', answer(true));
  return app;
}

function metricsApp(registry: Registry, proxyMode: string): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    try {
      const body = await registry.metrics();
      res.set('Content-Type', registry.contentType).send(body);
    } catch (err) {
      res.status(500).type('text/plain').send(`collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  app.get('/proxyMode', (_req, res) => {
    res.type('text/plain').send(proxyMode);
  });
  return app;
}

function listen(server: Server, addr: BindAddress, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new UserError(`${what} server cannot listen on ${addr.host || '*'}:${addr.port}: ${err.code ?? err.message}`));
    };
    server.once('error', onError);
    const ready = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    // An empty host means every interface, as in kube-proxy's ":10249".
    if (addr.host === '') server.listen(addr.port, ready);
    else server.listen(addr.port, addr.host, ready);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
