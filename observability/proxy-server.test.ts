import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { HealthTracker } from './health.js';
import { bindAddress, startProxyServers } from './proxy-server.js';
import type { ProxyServers } from './proxy-server.js';
import { UserError } from '../cli/errors.js';

void describe('bindAddress', () => {
  const ok: [string | undefined, { host: string; port: number } | undefined][] = [
    [undefined, { host: '127.0.0.1', port: 0 }],
    ['', undefined],
    ['127.0.0.1:10256', { host: '127.0.0.1', port: 10256 }],
    [':10249', { host: '', port: 10249 }],
    ['0.0.0.0', { host: '0.0.0.0', port: 7 }],
    ['[::1]:9', { host: '::1', port: 9 }],
    ['::1', { host: '::1', port: 7 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
  ];
  for (const [input, want] of ok) {
    void it(`parses ${JSON.stringify(input)}`, () => assert.deepEqual(bindAddress('healthz', input, 7), want));
  }
  for (const bad of ['127.0.0.1:', '127.0.0.1:http', '127.0.0.1:70000', '[::1]:x']) {
    void it(`rejects ${JSON.stringify(bad)} naming the flag`, () => {
      assert.throws(() => bindAddress('metrics', bad, 7), (e: unknown) => e instanceof UserError && /--metrics-bind-address/.test(e.message));
    });
  }
});

void describe('startProxyServers', () => {
  let now = 1_700_000_000_000;
  const health = new HealthTracker({ staleAfterMs: 1000, now: () => now });
  const registry = new Registry();
  new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'h', registers: [registry] }).inc(3);
  let servers: ProxyServers;
  after(async () => servers?.close());

  void it('binds ephemeral loopback ports', async () => {
    servers = await startProxyServers({ registry, health, healthzAddress: '127.0.0.1:0', metricsAddress: '127.0.0.1:0' });
    assert.ok(servers.healthzPort > 0 && servers.metricsPort > 0);
    assert.notEqual(servers.healthzPort, servers.metricsPort);
  });

  void it('answers /healthz and /livez 200 with lastUpdated and currentTime while healthy', async () => {
    for (const path of ['/healthz', '/livez']) {
      const res = await fetch(`http://127.0.0.1:${servers.healthzPort}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const body = (await res.json()) as Record<string, string>;
      assert.deepEqual(Object.keys(body).sort(), ['currentTime', 'lastUpdated']);
      assert.equal(body.currentTime, new Date(now).toISOString());
    }
  });

  void it('answers 503 when a change has waited too long, 200 again after a sync', async () => {
    health.queued();
    now += 5000;
    assert.equal((await fetch(`http://127.0.0.1:${servers.healthzPort}/healthz`)).status, 503);
    health.updated();
    const res = await fetch(`http://127.0.0.1:${servers.healthzPort}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { lastUpdated: string }).lastUpdated, new Date(now).toISOString());
  });

  void it('while blocked by a failed preflight check: /healthz 503 with the reason, /livez 200', async () => {
    health.block('preflight', 'uplink eth0 MTU 1500 is below the pod MTU 1500 + 12');
    const res = await fetch(`http://127.0.0.1:${servers.healthzPort}/healthz`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { reason: string }).reason, 'uplink eth0 MTU 1500 is below the pod MTU 1500 + 12');
    assert.equal((await fetch(`http://127.0.0.1:${servers.healthzPort}/livez`)).status, 200);
    health.unblock('preflight');
    assert.equal((await fetch(`http://127.0.0.1:${servers.healthzPort}/healthz`)).status, 200);
  });

  void it('counts the answers of /healthz and /livez by code, and says when a change was last queued (kube-proxy\'s metrics)', async () => {
    const text = await registry.metrics();
    // The earlier cases: /healthz answered 200 and 503, /livez 200.
    assert.match(text, /^kubeproxy_proxy_healthz_total\{code="200"\} [1-9]\d*$/m);
    assert.match(text, /^kubeproxy_proxy_healthz_total\{code="503"\} [1-9]\d*$/m);
    assert.match(text, /^kubeproxy_proxy_livez_total\{code="200"\} [1-9]\d*$/m);
    health.queued();
    assert.match(await registry.metrics(), new RegExp(`^kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds ${now / 1000}$`, 'm'));
    health.updated();
  });

  void it('serves the registry on /metrics and "talaria" on /proxyMode', async () => {
    const metrics = await fetch(`http://127.0.0.1:${servers.metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await metrics.text(), /^kubeproxy_sync_proxy_rules_endpoint_changes_total 3$/m);
    const mode = await fetch(`http://127.0.0.1:${servers.metricsPort}/proxyMode`);
    assert.equal(await mode.text(), 'talaria');
  });

  void it('keeps health and metrics on their own addresses', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${servers.healthzPort}/metrics`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${servers.metricsPort}/healthz`)).status, 404);
  });

  void it('closes both servers, also with keep-alive clients', async () => {
    await servers.close();
    await assert.rejects(fetch(`http://127.0.0.1:${servers.healthzPort}/healthz`));
    await assert.rejects(fetch(`http://127.0.0.1:${servers.metricsPort}/metrics`));
  });

  void it('disables a server whose address is empty', async () => {
    const s = await startProxyServers({ registry, health, healthzAddress: '', metricsAddress: '127.0.0.1:0', proxyMode: 'x' });
    try {
      assert.equal(s.healthzPort, 0);
      assert.equal(await (await fetch(`http://127.0.0.1:${s.metricsPort}/proxyMode`)).text(), 'x');
    } finally {
      await s.close();
    }
  });

  void it('fails with the address in use, leaving nothing listening', async () => {
    const first = await startProxyServers({ registry, health, metricsAddress: '' });
    try {
      await assert.rejects(
        startProxyServers({ registry, health, healthzAddress: '127.0.0.1:0', metricsAddress: `127.0.0.1:${first.healthzPort}` }),
        (e: unknown) => e instanceof UserError && /metrics server cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/.test(e.message),
      );
    } finally {
      await first.close();
    }
  });
});
