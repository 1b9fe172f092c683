// kube-proxy's service health servers: for every LoadBalancer Service with
// externalTrafficPolicy Local, the node answers on the Service's
// healthCheckNodePort, on any path, 200 when it has ready endpoints of the
// Service and the agent is healthy, 503 otherwise, with kube-proxy's body
// ({"service": {"namespace", "name"}, "localEndpoints", "serviceProxyHealthy"})
// and headers. A cloud load balancer probes it to send external traffic only
// to nodes that can keep the client's address. One listener per port,
// opened and closed as Services come and go; a port that cannot be bound is
// reported once and tried again on every update, and does not stop the others.
import { createServer, type Server } from 'node:http';
import type { ServiceHealthCheck } from './desired-state.js';

interface Listener {
  server: Server;
  check: ServiceHealthCheck;
}

export class ServiceHealthServers {
  private readonly listeners = new Map<number, Listener>();
  private readonly opening = new Map<number, Promise<void>>();
  /** Ports whose bind failure was logged (once, until they bind or go away). */
  private readonly failed = new Set<number>();

  constructor(
    private readonly o: {
      /** Whether the agent itself is healthy (kube-proxy's serviceProxyHealthy). */
      proxyHealthy: () => boolean;
      /** Addresses to listen on ('0.0.0.0': all of the node's). */
      bindAddress?: string;
      log: (line: string) => void;
    },
  ) {}

  /** The ports being answered on, with what they answer. */
  get ports(): ReadonlyMap<number, ServiceHealthCheck> {
    return new Map([...this.listeners].map(([p, l]) => [p, l.check]));
  }

  /** Makes the listeners match `checks` (by port). */
  async update(checks: ReadonlyMap<number, ServiceHealthCheck>): Promise<void> {
    for (const port of this.failed) if (!checks.has(port)) this.failed.delete(port);
    for (const [port, l] of this.listeners) {
      if (!checks.has(port)) {
        this.listeners.delete(port);
        l.server.close();
        l.server.closeAllConnections();
      }
    }
    const opened: Promise<void>[] = [];
    for (const [port, check] of checks) {
      const l = this.listeners.get(port);
      if (l) l.check = check;
      else if (!this.opening.has(port)) {
        const p = this.open(port, check).finally(() => this.opening.delete(port));
        this.opening.set(port, p);
        opened.push(p);
      }
    }
    await Promise.all(opened);
  }

  private async open(port: number, check: ServiceHealthCheck): Promise<void> {
    const listener: Listener = { check, server: createServer() };
    listener.server.on('request', (_req, res) => {
      const c = listener.check;
      const healthy = this.o.proxyHealthy();
      const body = JSON.stringify({ service: { namespace: c.namespace, name: c.name }, localEndpoints: c.localEndpoints, serviceProxyHealthy: healthy });
      res.writeHead(c.localEndpoints > 0 && healthy ? 200 : 503, {
        'Content-Type': 'application/json',
        'X-Content-Type-Options': 'nosniff',
        'X-Load-Balancing-Endpoint-Weight': String(c.localEndpoints),
      });
      res.end(body);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        listener.server.once('error', reject);
        listener.server.listen(port, this.o.bindAddress ?? '0.0.0.0', () => {
          listener.server.off('error', reject);
          resolve();
        });
      });
      this.listeners.set(port, listener);
      this.failed.delete(port);
    } catch (e) {
      if (!this.failed.has(port)) this.o.log(`Service ${check.namespace}/${check.name} spec.healthCheckNodePort ${port}: cannot listen: ${(e as Error).message}; trying again with every sync`);
      this.failed.add(port);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.opening.values());
    for (const l of this.listeners.values()) {
      l.server.close();
      l.server.closeAllConnections();
    }
    this.listeners.clear();
  }
}
