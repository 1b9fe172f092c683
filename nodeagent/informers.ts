// List+watch caches of the objects the agent reads, built on
// @kubernetes/client-node's ListWatch (which takes the field selector that
// makeInformer does not): Pods of this node, Services, EndpointSlices, Nodes.
// A failed watch or list is retried with backoff; `synced` turns true after
// the first successful list, and the agent writes nothing before all are.
import { CoreV1Api, DiscoveryV1Api, ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject, V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

const RETRY_INITIAL_MS = 500;
const RETRY_MAX_MS = 30_000;

export class Informer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private listed = false;
  private stopped = false;
  private backoffMs = RETRY_INITIAL_MS;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    readonly what: string,
    kc: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    fieldSelector: string | undefined,
    onChange: () => void,
    private readonly onError: (what: string, err: unknown) => void,
  ) {
    const listed = async (): Promise<KubernetesListObject<T>> => {
      const out = await list();
      this.listed = true;
      this.backoffMs = RETRY_INITIAL_MS;
      return out;
    };
    this.lw = new ListWatch<T>(path, new Watch(kc), listed, false, undefined, fieldSelector);
    for (const verb of ['add', 'update', 'delete'] as const) this.lw.on(verb, () => onChange());
    this.lw.on('error', (err) => this.failed(err));
  }

  get synced(): boolean {
    return this.listed;
  }

  list(): readonly T[] {
    return this.lw.list();
  }

  async start(): Promise<void> {
    await this.lw.start();
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    this.onError(this.what, err);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, RETRY_MAX_MS);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) this.lw.start().catch((e: unknown) => this.failed(e));
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.lw.stop();
  }
}

export interface AgentInformers {
  pods: Informer<V1Pod>;
  services: Informer<V1Service>;
  slices: Informer<V1EndpointSlice>;
  nodes: Informer<V1Node>;
}

export function makeInformers(kc: KubeConfig, nodeName: string, onChange: () => void, onError: (what: string, err: unknown) => void): AgentInformers {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const podSelector = `spec.nodeName=${nodeName}`;
  return {
    pods: new Informer<V1Pod>('pods', kc, '/api/v1/pods', () => core.listPodForAllNamespaces({ fieldSelector: podSelector }), podSelector, onChange, onError),
    services: new Informer<V1Service>('services', kc, '/api/v1/services', () => core.listServiceForAllNamespaces(), undefined, onChange, onError),
    slices: new Informer<V1EndpointSlice>('endpointslices', kc, '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces(), undefined, onChange, onError),
    nodes: new Informer<V1Node>('nodes', kc, '/api/v1/nodes', () => core.listNode(), undefined, onChange, onError),
  };
}
