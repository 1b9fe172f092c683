// Test fixture: a real kube-apiserver (with etcd; the objects go through its
// validation and admission as in production) and a P4Runtime server on a
// pluggable target, plus controllers started in-process against them.
import { Registry } from 'prom-client';
import { TestApiServer } from '../testbed/controlplane/test-api-server.js';
import type { KubeObject } from '../testbed/client.js';
import type { P4InfoIndex } from '../p4/client/index.js';
import { P4RuntimeClient, talariaP4Info } from '../p4/client/index.js';
import { MemoryTarget } from '../p4/server/memory-target.js';
import type { P4Target } from '../p4/server/target.js';
import { P4RuntimeServer } from '../p4/server/server.js';
import { Controller, loadKubeconfig } from './controller.js';
import { COMPONENT } from './events.js';
import { entityKey, type Entity } from './desired/entities.js';
import { EntityCodec } from './switch/codec.js';
import { LOOKUP_SLOTS } from './desired/lookup-groups.js';
import type { ClusterState } from './cluster-state.js';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

export const p4info = talariaP4Info();
const quiet = (line: string): void => void (process.env.CTL_LOG && process.stderr.write(`${line}\n`));

/**
 * Switch entries of addWebService: 2 frontends (the ClusterIP, the NodePort
 * on the node's address) with their backend_select and reverse_nat, 4
 * backends (2 endpoints x 2 frontends), 2 routes (the pod CIDR and the node
 * address), 1 group and its lookup slots (a NodePort: lookup-groups.ts).
 */
export const WEB_SERVICE_ENTRIES = 2 * 3 + 4 + 2 + 1 + LOOKUP_SLOTS;

/** A NodePort Service with two endpoints and one routed node: WEB_SERVICE_ENTRIES switch entries. */
export function addWebService(state: ClusterState): void {
  state.onService({ metadata: { namespace: 'ns', name: 'web' }, spec: { clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] } } as V1Service);
  state.onEndpointSlice({
    metadata: { namespace: 'ns', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: [{ addresses: ['10.244.1.5'] }, { addresses: ['10.244.2.5'] }],
  } as V1EndpointSlice);
  state.onNode({ metadata: { name: 'n1', annotations: { 'talaria.io/switch-port': '1', 'talaria.io/uplink-mac': '02:00:00:00:00:01' } }, spec: { podCIDR: '10.244.1.0/24' }, status: { addresses: [{ type: 'InternalIP', address: '198.18.0.1' }] } });
}

export async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Harness {
  /** Makes the switch's target (a new, empty one per switch (re)start). */
  constructor(private readonly newTarget: () => P4Target = () => new MemoryTarget()) {}

  api!: TestApiServer;
  switchServer!: P4RuntimeServer;
  address = '';
  controllers: Controller[] = [];
  info: P4InfoIndex = p4info;

  async start(info: P4InfoIndex = p4info): Promise<void> {
    this.info = info;
    this.api = await TestApiServer.start();
    this.switchServer = new P4RuntimeServer({ deviceId: 1, target: this.newTarget(), p4info: info });
    this.address = `127.0.0.1:${await this.switchServer.start('127.0.0.1:0')}`;
  }

  /** Stops kube-apiserver (watches break, etcd keeps the objects), waits, and starts it again on the same port. */
  async restartApiServer(downMs: number): Promise<void> {
    await this.api.restart(downMs);
  }

  async restartSwitch(): Promise<void> {
    await this.stopSwitch();
    await this.startSwitch();
  }

  /** The switch goes away (its P4Runtime server stops). */
  async stopSwitch(): Promise<void> {
    await this.switchServer.stop(100);
  }

  /** A fresh switch (empty, no pipeline) at the same address. */
  async startSwitch(): Promise<void> {
    this.switchServer = new P4RuntimeServer({ deviceId: 1, target: this.newTarget(), p4info: this.info });
    await this.switchServer.start(this.address);
  }

  async controller(opts: { lease?: boolean; identity?: string; servers?: boolean } = {}): Promise<Controller> {
    const c = new Controller({
      kubeconfig: loadKubeconfig(this.api.kubeconfigPath),
      switchAddress: this.address,
      deviceId: 1n,
      electionId: 1n,
      registry: new Registry(),
      p4info: this.info,
      identity: opts.identity,
      lease: opts.lease ? { namespace: 'kube-system', name: 'talaria-controller', durationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 } : undefined,
      // undefined: 127.0.0.1 on an ephemeral port; '': off.
      healthzAddress: opts.servers ? undefined : '',
      metricsAddress: opts.servers ? undefined : '',
      minSyncIntervalMs: 0,
      log: quiet,
    });
    this.controllers.push(c);
    await c.start();
    return c;
  }

  async stopController(c: Controller): Promise<void> {
    await c.stop();
    this.controllers = this.controllers.filter((x) => x !== c);
  }

  /** What the switch holds, decoded, keyed. */
  async switchState(): Promise<Map<string, Entity>> {
    const client = new P4RuntimeClient({ address: this.address, deviceId: 1 });
    const codec = new EntityCodec(this.info);
    try {
      const out = new Map<string, Entity>();
      for (const p of await client.readAll(codec.readAll())) {
        const e = codec.decode(p);
        if (e) out.set(entityKey(e), e);
      }
      return out;
    } catch (err) {
      if ((err as { code?: number }).code === 9) return new Map(); // no pipeline yet
      throw err;
    } finally {
      await client.close();
    }
  }

  async stop(): Promise<void> {
    for (const c of this.controllers) await c.stop();
    await this.switchServer?.stop(100);
    await this.api?.stop();
  }

  service(name: string, clusterIP: string, extra: Record<string, unknown> = {}): Promise<KubeObject> {
    return this.api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...extra } });
  }

  async slice(service: string, ready: string[], terminating: string[] = []): Promise<void> {
    await this.api.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${service}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        ...ready.map((a) => ({ addresses: [a], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' })),
        ...terminating.map((a) => ({ addresses: [a], conditions: { ready: false, serving: false, terminating: true }, nodeName: 'node-1' })),
      ],
    });
  }

  async node(name: string, n: number): Promise<void> {
    const node = await this.api.apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, annotations: { 'talaria.io/switch-port': String(n), 'talaria.io/uplink-mac': `02:00:00:00:00:0${n}` } },
      spec: { podCIDR: `10.244.${n}.0/24` },
    });
    await this.api.patchStatus(node, { addresses: [{ type: 'InternalIP', address: `198.18.0.${n}` }] });
  }

  /** The Events the controller wrote in the default namespace (kube-apiserver writes some of its own). */
  async events(): Promise<{ involvedObject: { name: string }; reason: string; message: string }[]> {
    const all = await this.api.list<{ involvedObject: { name: string }; reason: string; message: string; reportingComponent?: string }>('/api/v1/namespaces/default/events');
    return all.filter((e) => e.reportingComponent === COMPONENT);
  }
}
