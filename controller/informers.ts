// Informers (list + watch, @kubernetes/client-node makeInformer) on
// Services, EndpointSlices and Nodes. A watch that fails is restarted with
// backoff; synced() tells when every informer has listed once, before which
// the controller writes nothing.
import { CoreV1Api, DiscoveryV1Api, makeInformer, type KubeConfig, type KubernetesObject, type V1EndpointSlice, type V1Node, type V1Service } from '@kubernetes/client-node';

export interface Handlers<T> {
  onChange(obj: T): void;
  onDelete(obj: T): void;
}

interface Running {
  stop(): Promise<void>;
  synced: Promise<void>;
}

export interface ClusterInformers {
  /** Resolves once all three have listed. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

export function startInformers(
  kc: KubeConfig,
  handlers: { services: Handlers<V1Service>; slices: Handlers<V1EndpointSlice>; nodes: Handlers<V1Node> },
  log: (line: string) => void = () => {},
): ClusterInformers {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const all = [
    run(kc, '/api/v1/services', () => core.listServiceForAllNamespaces(), handlers.services, log),
    run(kc, '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces(), handlers.slices, log),
    run(kc, '/api/v1/nodes', () => core.listNode(), handlers.nodes, log),
  ];
  return {
    synced: Promise.all(all.map((r) => r.synced)).then(() => undefined),
    async stop() {
      await Promise.all(all.map((r) => r.stop()));
    },
  };
}

function run<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
  h: Handlers<T>,
  log: (line: string) => void,
): Running {
  const informer = makeInformer<T>(kc, path, list as never);
  let stopped = false;
  let backoff = 500;
  let timer: NodeJS.Timeout | undefined;
  let failedThisRound = false;
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => (resolveSynced = r));
  informer.on('add', (o) => h.onChange(o));
  informer.on('update', (o) => h.onChange(o));
  informer.on('delete', (o) => h.onDelete(o));
  const start = (): void => {
    failedThisRound = false;
    informer
      .start()
      .then(() => {
        if (!failedThisRound) {
          backoff = 500;
          resolveSynced();
        }
      })
      .catch((err: unknown) => {
        log(`informer ${path}: ${err instanceof Error ? err.message : String(err)}`);
        restart();
      });
  };
  const restart = (): void => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      start();
    }, backoff);
    backoff = Math.min(backoff * 2, 30_000);
  };
  informer.on('error', (err) => {
    failedThisRound = true;
    if (stopped) return;
    log(`informer ${path}: ${err instanceof Error ? err.message : String(err)}; restarting in ${backoff} ms`);
    restart();
  });
  start();
  return {
    synced,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await informer.stop();
    },
  };
}
