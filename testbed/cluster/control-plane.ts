// The testbed's control plane in one call: the object store with admission
// (validation, ClusterIP/NodePort allocation), the scheduler, the Deployment
// and EndpointSlice controllers, and optionally the HTTP API server in front.
import { ApiServer } from '../apiserver/api-server.js';
import type { ApiServerOptions } from '../apiserver/api-server.js';
import { ObjectStore } from '../apiserver/store.js';
import { installAdmission } from './admission.js';
import type { ServiceAllocators } from './admission.js';
import { DeploymentController } from './deployment-controller.js';
import { EndpointSliceController } from './endpointslice-controller.js';
import { ClusterIpAllocator, KUBERNETES_SERVICE_IP, NODE_PORT_RANGE, NodePortAllocator, SERVICE_CIDR } from './ip-allocator.js';
import { Scheduler } from './scheduler.js';

export interface ClusterOptions {
  /** Service CIDR (default 10.96.0.0/12). */
  serviceCidr?: string;
  /** NodePort range (default 30000-32767). */
  nodePortRange?: { first: number; last: number };
  /** Endpoints per EndpointSlice before a new slice starts (default 100). */
  maxEndpointsPerSlice?: number;
  /** Collect pod changes this long before re-syncing their Services' slices (default 0). */
  endpointSliceBatchPeriodMs?: number;
  /** Create the `kubernetes` Service (10.96.0.1:443, no selector) in default (default false). */
  kubernetesService?: boolean;
  /** Report controller sync failures (default: a line on stderr). */
  onError?: (component: string, key: string, err: unknown) => void;
}

/** The controllers attached to a store. */
export interface Cluster {
  readonly store: ObjectStore;
  readonly allocators: ServiceAllocators;
  readonly scheduler: Scheduler;
  readonly endpointSlices: EndpointSliceController;
  readonly deployments: DeploymentController;
  /** Resolves when every controller has caught up with every change so far. */
  settled(): Promise<void>;
  /** Detach the controllers and admission from the store. */
  stop(): void;
}

/** Attach admission, the scheduler and the controllers to a store (in-process, no HTTP). */
export function startCluster(store: ObjectStore, opts: ClusterOptions = {}): Cluster {
  const onError = (component: string) => (key: string, err: unknown) =>
    opts.onError ? opts.onError(component, key, err) : process.stderr.write(`${component}: sync of ${key} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  const allocators: ServiceAllocators = {
    clusterIps: new ClusterIpAllocator(opts.serviceCidr ?? SERVICE_CIDR),
    nodePorts: new NodePortAllocator(opts.nodePortRange ?? NODE_PORT_RANGE),
  };
  const uninstall = installAdmission(store, allocators);
  const scheduler = new Scheduler(store, onError('scheduler'));
  const endpointSlices = new EndpointSliceController(store, { maxEndpointsPerSlice: opts.maxEndpointsPerSlice, podBatchPeriodMs: opts.endpointSliceBatchPeriodMs, onError: onError('endpointslice-controller') });
  const deployments = new DeploymentController(store, scheduler, onError('deployment-controller'));
  scheduler.start();
  endpointSlices.start();
  deployments.start();
  if (opts.kubernetesService && !store.peek('services', 'default', 'kubernetes')) {
    store.create('services', {
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: KUBERNETES_SERVICE_IP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    });
  }
  const parts = [scheduler, endpointSlices, deployments];
  return {
    store,
    allocators,
    scheduler,
    endpointSlices,
    deployments,
    async settled() {
      // One controller's writes queue work for another: wait until all are idle at once.
      for (;;) {
        await Promise.all(parts.map((p) => p.settled()));
        await new Promise((r) => setImmediate(r));
        if (parts.every((p) => p.idle)) return;
      }
    },
    stop() {
      for (const p of parts) p.stop();
      uninstall();
    },
  };
}

/** A running control plane: the cluster behind an HTTP API server. */
export interface ControlPlane extends Omit<Cluster, 'stop'> {
  readonly server: ApiServer;
  readonly url: string;
  readonly kubeconfigPath: string;
  /** Stop the controllers and the API server (closing watches, removing the generated kubeconfig). */
  stop(): Promise<void>;
}

/** Start the store, the controllers and the API server on 127.0.0.1. */
export async function startControlPlane(opts: ApiServerOptions & ClusterOptions = {}): Promise<ControlPlane> {
  const store = opts.store ?? new ObjectStore(opts);
  const cluster = startCluster(store, opts);
  let server: ApiServer;
  try {
    server = await ApiServer.start({ ...opts, store });
  } catch (e) {
    cluster.stop();
    throw e;
  }
  return {
    ...cluster,
    server,
    url: server.url,
    kubeconfigPath: server.kubeconfigPath,
    async stop() {
      cluster.stop();
      await server.stop();
    },
  };
}
