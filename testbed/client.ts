// How the testbed (its CLI, its kubelet, its supervisor) and the test
// fixtures talk to the real API server: REST over TLS with the credentials of
// a kubeconfig, resources found through the server's discovery documents (as
// kubectl finds them), and Kubernetes Status errors turned into one readable
// line that carries the server's own message.
import { Agent, request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError } from '../cli/errors.js';

/** Any Kubernetes object, as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string; [k: string]: unknown };
  spec?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  status?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  [k: string]: unknown;
}

/** One resource of a discovery document (/api/v1, /apis/GROUP/VERSION). */
export interface ApiResource {
  /** Plural name (pods, deployments). */
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  /** /api/v1 or /apis/GROUP/VERSION */
  prefix: string;
}

/** A non-2xx answer: the HTTP status, the Status reason and the server's message. */
export class ApiRequestError extends UserError {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The API groups whose resources the testbed's commands resolve by name. */
const DISCOVERED = ['/api/v1', '/apis/apps/v1', '/apis/discovery.k8s.io/v1', '/apis/coordination.k8s.io/v1', '/apis/rbac.authorization.k8s.io/v1'];

export class ApiClient {
  private readonly discovery = new Map<string, Promise<ApiResource[]>>();

  private constructor(
    readonly server: string,
    private readonly options: RequestOptions,
  ) {}

  static async fromKubeconfig(path: string): Promise<ApiClient> {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new UserError(`${path}: no cluster server`);
    const options: RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    // Many requests in flight at once (bulk creates) share a few connections.
    options.agent = new Agent({ keepAlive: true, maxSockets: 32, ca: options.ca, cert: options.cert, key: options.key });
    return new ApiClient(server, options);
  }

  /** Sends a request; the status code and the raw body, whatever the status. */
  raw(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        this.server + path,
        { ...this.options, method, headers: { ...this.options.headers, accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on('error', (err) => reject(new UserError(`cannot reach the API server at ${this.server} (${err.message})`)));
      req.end(payload);
    });
  }

  /** Sends a request; a non-2xx answer throws ApiRequestError with the server's message. */
  async request<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.raw(method, path, body, contentType);
    let parsed: { message?: string; reason?: string } | undefined;
    try {
      parsed = res.body ? (JSON.parse(res.body) as typeof parsed) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.status < 200 || res.status > 299) throw new ApiRequestError(res.status, parsed?.reason ?? '', parsed?.message ?? (res.body.trim() || `HTTP ${res.status}`));
    return parsed as T;
  }

  /** Every item of a list path (/api/v1/pods, /apis/apps/v1/namespaces/x/deployments). */
  async list<T = KubeObject>(path: string): Promise<T[]> {
    return (await this.request<{ items: T[] }>('GET', path)).items;
  }

  /** The resources of one group version, from the server's discovery document. */
  resources(prefix: string): Promise<ApiResource[]> {
    let r = this.discovery.get(prefix);
    if (!r) {
      r = this.request<{ resources: Omit<ApiResource, 'prefix'>[] }>('GET', prefix).then((d) => d.resources.filter((x) => !x.name.includes('/')).map((x) => ({ ...x, prefix })));
      this.discovery.set(prefix, r);
      r.catch(() => this.discovery.delete(prefix));
    }
    return r;
  }

  /** The resource of an object (by apiVersion and kind). */
  async resourceOf(o: KubeObject): Promise<ApiResource> {
    const prefix = o.apiVersion?.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion ?? 'v1'}`;
    const found = (await this.resources(prefix).catch(() => [])).find((r) => r.kind === o.kind);
    if (!found) throw new UserError(`${o.apiVersion ?? '?'}/${o.kind ?? '?'} ${o.metadata?.name ?? ''}: the API server does not serve this kind`);
    return found;
  }

  /** A resource by any of kubectl's names for it (pod, pods, po, Deployment, deploy...). */
  async resolveKind(kind: string): Promise<ApiResource> {
    const k = kind.toLowerCase();
    for (const prefix of DISCOVERED) {
      const r = (await this.resources(prefix)).find((x) => x.kind.toLowerCase() === k || x.name === k || x.singularName === k || x.shortNames?.includes(k));
      if (r) return r;
    }
    throw new UserError(`unknown kind "${kind}"`);
  }

  /** The collection and object paths of `o` (namespaced kinds default to "default"). */
  async pathsOf(o: KubeObject): Promise<{ resource: ApiResource; collection: string; object: string }> {
    const resource = await this.resourceOf(o);
    const ns = o.metadata.namespace ?? 'default';
    return { resource, collection: collectionPath(resource, ns), object: objectPath(resource, ns, o.metadata.name!) };
  }

  async create<T extends KubeObject>(o: T): Promise<T> {
    return this.request<T>('POST', (await this.pathsOf(o)).collection, o);
  }

  /** The object as stored, or undefined when there is none. */
  async get<T extends KubeObject = KubeObject>(o: KubeObject): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', (await this.pathsOf(o)).object);
    } catch (err) {
      if (err instanceof ApiRequestError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Creates the object, or replaces the one of that name (as `kubectl apply`
   * would, keeping a Service's allocated ClusterIP when `o` names none).
   */
  async apply<T extends KubeObject>(o: T): Promise<{ object: T; created: boolean }> {
    // Look first, as kubectl does: a create of an existing Service that names
    // its ClusterIP is refused as an IP already allocated, not as a conflict.
    const paths = await this.pathsOf(o);
    const cur = await this.get(o);
    if (!cur) return { object: await this.request<T>('POST', paths.collection, o), created: true };
    const next: KubeObject = { ...o, metadata: { ...o.metadata, resourceVersion: cur.metadata.resourceVersion } };
    if (paths.resource.name === 'services' && !next.spec?.clusterIP) next.spec = { ...next.spec, clusterIP: cur.spec?.clusterIP, clusterIPs: cur.spec?.clusterIPs };
    return { object: await this.request<T>('PUT', paths.object, next), created: false };
  }

  /** Merge-patches the status subresource. */
  async patchStatus(o: KubeObject, status: Record<string, unknown>): Promise<void> {
    await this.request('PATCH', `${(await this.pathsOf(o)).object}/status`, { status }, 'application/merge-patch+json');
  }

  close(): void {
    (this.options.agent as Agent | undefined)?.destroy();
  }
}

export function collectionPath(r: ApiResource, namespace?: string): string {
  return r.namespaced && namespace ? `${r.prefix}/namespaces/${namespace}/${r.name}` : `${r.prefix}/${r.name}`;
}

export function objectPath(r: ApiResource, namespace: string, name: string): string {
  return `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}
