// How the testbed's CLI commands talk to the running testbed's API server:
// plain REST over loopback (the same protocol kubectl speaks), with
// Kubernetes Status errors turned into one readable line.
import { UserError } from '../cli/errors.js';
import { RESOURCE_TYPES, apiVersionOf } from './apiserver/resources.js';
import type { ResourceType } from './apiserver/resources.js';
import type { KubeObject, StoredObject } from './apiserver/types.js';

export class ApiClient {
  constructor(readonly baseUrl: string) {}

  /** Sends a request; a non-2xx answer throws ApiRequestError carrying the Status. */
  async request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': contentType },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new UserError(`cannot reach the testbed API server at ${this.baseUrl} (${err instanceof Error ? err.message : String(err)}): is the testbed up?`);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as T & { message?: string; reason?: string; code?: number }) : (undefined as T);
    if (!res.ok) throw new ApiRequestError(res.status, (parsed as { reason?: string } | undefined)?.reason ?? '', (parsed as { message?: string } | undefined)?.message ?? text);
    return parsed;
  }

  async list(resource: string, namespace?: string): Promise<StoredObject[]> {
    const t = typeOf(resource);
    const l = await this.request<{ items: StoredObject[] }>('GET', collectionPath(t, namespace));
    return l.items;
  }
}

export class ApiRequestError extends UserError {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function typeOf(resource: string): ResourceType {
  const t = RESOURCE_TYPES.find((r) => r.resource === resource);
  if (!t) throw new Error(`unknown resource ${resource}`);
  return t;
}

/** Resource type by kind or any of kubectl's names for it (pod, pods, po, Deployment, deploy...). */
export function resolveKind(kind: string): ResourceType {
  const k = kind.toLowerCase();
  const t = RESOURCE_TYPES.find((r) => r.kind.toLowerCase() === k || r.resource === k || r.singular === k || r.shortNames?.includes(k));
  if (!t) throw new UserError(`unknown kind "${kind}": known are ${RESOURCE_TYPES.map((r) => r.singular).join(', ')}`);
  return t;
}

export function typeForObject(obj: KubeObject): ResourceType {
  const t = RESOURCE_TYPES.find((r) => r.kind === obj.kind && apiVersionOf(r) === obj.apiVersion);
  if (!t) throw new UserError(`${obj.apiVersion ?? '?'}/${obj.kind ?? '?'} ${obj.metadata?.name ?? ''}: the testbed does not serve this kind`);
  return t;
}

function prefix(t: ResourceType): string {
  return t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
}

export function collectionPath(t: ResourceType, namespace?: string): string {
  return t.namespaced && namespace ? `${prefix(t)}/namespaces/${namespace}/${t.resource}` : `${prefix(t)}/${t.resource}`;
}

export function objectPath(t: ResourceType, namespace: string, name: string): string {
  return `${collectionPath(t, t.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}
