// The HTTP face of the object store: Kubernetes REST paths, list/watch with
// newline-delimited JSON events and bookmarks, errors as Status objects.
// Plain HTTP on loopback: the testbed has no authentication to speak of.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, badRequest } from './errors.js';
import { discoveryDocument } from './discovery.js';
import { writeKubeconfig } from './kubeconfig.js';
import { jsonPatch, mergePatch, patchTypeOf, strategicMergePatch } from './patch.js';
import { apiVersionOf, resourceType } from './resources.js';
import { toTable, wantsTable } from './table.js';
import type { ResourceType } from './resources.js';
import { ObjectStore } from './store.js';
import type { DeleteOptions, StoreOptions } from './store.js';
import type { KubeObject, StoredObject } from './types.js';

const MAX_BODY = 16 * 1024 * 1024;
const DEFAULT_BOOKMARK_MS = 10_000;
const DEFAULT_WATCH_TIMEOUT_MS = 30 * 60_000;

export interface ApiServerOptions extends StoreOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Serve this store (e.g. with the cluster controllers attached); default a new one. */
  store?: ObjectStore;
  /** Where to write the kubeconfig; default a file in a new temporary directory (removed by stop()). */
  kubeconfigPath?: string;
  /** How often watches with allowWatchBookmarks get a BOOKMARK (default 10 s). */
  bookmarkIntervalMs?: number;
  /** Watches are closed after this long (clients re-watch), like the API server's request timeout (default 30 min). */
  watchTimeoutMs?: number;
}

interface Route {
  type: ResourceType;
  namespace: string;
  name?: string;
  subresource?: string;
  watchPrefix: boolean;
}

interface OpenWatch {
  close(): void;
}

/** A running API server. Start with ApiServer.start(). */
export class ApiServer {
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private tmpDir: string | undefined;
  private stopped = false;

  private constructor(
    readonly store: ObjectStore,
    private readonly server: Server,
    readonly url: string,
    readonly kubeconfigPath: string,
    private readonly bookmarkMs: number,
    private readonly watchTimeoutMs: number,
  ) {}

  /** Listen on 127.0.0.1:port and write a kubeconfig pointing at it. */
  static async start(opts: ApiServerOptions = {}): Promise<ApiServer> {
    const store = opts.store ?? new ObjectStore(opts);
    const host = opts.host ?? '127.0.0.1';
    const server = createServer();
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const url = `http://${host}:${port}`;
    let tmpDir: string | undefined;
    let kubeconfigPath = opts.kubeconfigPath;
    if (!kubeconfigPath) {
      tmpDir = mkdtempSync(join(tmpdir(), 'talaria-apiserver-'));
      kubeconfigPath = join(tmpDir, 'kubeconfig');
    }
    writeKubeconfig(kubeconfigPath, url);
    const api = new ApiServer(store, server, url, kubeconfigPath, opts.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_MS, opts.watchTimeoutMs ?? DEFAULT_WATCH_TIMEOUT_MS);
    api.tmpDir = tmpDir;
    server.on('connection', (s: Socket) => {
      api.sockets.add(s);
      s.on('close', () => api.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => api.handle(req, res));
    return api;
  }

  /** How many watches are open. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** End every open watch (clients reconnect from their last resourceVersion). Returns how many. */
  closeWatches(): number {
    const n = this.watches.size;
    for (const w of [...this.watches]) w.close();
    return n;
  }

  /** Close watches and connections, stop listening, remove the generated kubeconfig. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.closeWatches();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    if (this.tmpDir) rmSync(this.tmpDir, { recursive: true, force: true });
  }

  // ---- request handling ---------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.dispatch(req, res).catch((err: unknown) => this.fail(res, err));
  }

  private fail(res: ServerResponse, err: unknown): void {
    const e = err instanceof ApiError ? err : new ApiError('InternalError', `internal error: ${err instanceof Error ? err.message : String(err)}`);
    if (res.headersSent) {
      res.end();
      return;
    }
    send(res, e.code, e.status());
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const segs = u.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const q = u.searchParams;
    const method = req.method ?? 'GET';
    if (segs.length === 1 && ['healthz', 'livez', 'readyz'].includes(segs[0]!)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    if (method === 'GET') {
      const doc = discoveryDocument(segs, this.url.replace(/^http:\/\//, ''));
      if (doc) {
        send(res, 200, doc);
        return;
      }
    }
    const route = parseRoute(segs);
    if (!route) throw new ApiError('NotFound', `the server could not find the requested resource (${u.pathname})`);
    const { type, namespace, name, subresource } = route;
    const store = this.store;
    if (name === undefined) {
      switch (method) {
        case 'GET':
          if (route.watchPrefix || q.get('watch') === 'true' || q.get('watch') === '1') {
            this.watch(req, res, type, namespace, q);
            return;
          }
          {
            const l = store.listFrozen(type.resource, {
              namespace: namespace || undefined,
              labelSelector: q.get('labelSelector') ?? undefined,
              fieldSelector: q.get('fieldSelector') ?? undefined,
              limit: q.has('limit') ? Number(q.get('limit')) : undefined,
              continue: q.get('continue') ?? undefined,
            });
            if (!wantsTable(req.headers.accept)) send(res, 200, l);
            else send(res, 200, { ...toTable(type.resource, l.items, l.metadata.resourceVersion, q.get('includeObject')), metadata: l.metadata });
          }
          return;
        case 'POST':
          send(res, 201, store.create(type.resource, asObject(await readJson(req)), { namespace: namespace || undefined, frozen: true, adopt: true }));
          return;
        case 'DELETE': {
          const del = deleteOptions(q, await readJson(req, true));
          send(res, 200, store.deleteCollection(type.resource, {
            namespace: namespace || undefined,
            labelSelector: q.get('labelSelector') ?? undefined,
            fieldSelector: q.get('fieldSelector') ?? undefined,
            ...del,
          }));
          return;
        }
        default:
          throw new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${type.resource})`);
      }
    }
    if (subresource === 'scale' && type.subresources.includes('scale')) {
      await this.scale(req, res, type, namespace, name);
      return;
    }
    if (subresource !== undefined && !(type.subresources as readonly string[]).includes(subresource)) {
      throw new ApiError('NotFound', `the server could not find the requested resource (${type.resource}/${subresource})`);
    }
    switch (method) {
      case 'GET':
        if (route.watchPrefix || q.get('watch') === 'true') {
          q.set('fieldSelector', [`metadata.name=${name}`, q.get('fieldSelector')].filter(Boolean).join(','));
          this.watch(req, res, type, namespace, q);
          return;
        }
        {
          const o = store.peek(type.resource, namespace, name) ?? store.get(type.resource, namespace, name);
          send(res, 200, wantsTable(req.headers.accept) ? toTable(type.resource, [o], o.metadata.resourceVersion, q.get('includeObject')) : o);
        }
        return;
      case 'PUT': {
        const body = asObject(await readJson(req));
        send(res, 200, store.update(type.resource, body, { namespace: namespace || undefined, subresource, frozen: true, adopt: true }));
        return;
      }
      case 'PATCH': {
        const kind = patchTypeOf(req.headers['content-type']);
        const body = await readJson(req);
        send(res, 200, store.patch(type.resource, namespace, name, body, kind, { subresource, frozen: true }));
        return;
      }
      case 'DELETE':
        send(res, 200, store.delete(type.resource, namespace, name, { ...deleteOptions(q, await readJson(req, true)), frozen: true }));
        return;
      default:
        throw new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${type.resource}/${name})`);
    }
  }

  /** deployments/<name>/scale as an autoscaling/v1 Scale. */
  private async scale(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, name: string): Promise<void> {
    const store = this.store;
    const toScale = (d: StoredObject): object => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: d.metadata.name, namespace: d.metadata.namespace, uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion, creationTimestamp: d.metadata.creationTimestamp },
      spec: { replicas: d.spec?.replicas ?? 1 },
      status: { replicas: d.status?.replicas ?? 0, selector: Object.entries(d.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(',') },
    });
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      send(res, 200, toScale(store.get(type.resource, namespace, name)));
      return;
    }
    const cur = store.get(type.resource, namespace, name);
    let scale: KubeObject;
    if (method === 'PUT') {
      scale = asObject(await readJson(req));
    } else if (method === 'PATCH') {
      const body = await readJson(req);
      const before = toScale(cur);
      const kind = patchTypeOf(req.headers['content-type']);
      scale = (kind === 'json' ? jsonPatch(before, body) : kind === 'strategic' ? strategicMergePatch(before, body) : mergePatch(before, body)) as KubeObject;
    } else {
      throw new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${type.resource}/${name}/scale)`);
    }
    const replicas = scale.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError('Invalid', `Scale "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, {
        name,
        kind: 'Scale',
        causes: [{ reason: 'FieldValueInvalid', message: 'must be greater than or equal to 0', field: 'spec.replicas' }],
      });
    }
    const patch: KubeObject = { metadata: {}, spec: { replicas } };
    if (scale.metadata?.resourceVersion) patch.metadata.resourceVersion = scale.metadata.resourceVersion;
    send(res, 200, toScale(store.patch(type.resource, namespace, name, patch, 'merge')));
  }

  /** Stream changes as newline-delimited JSON until the client goes or the timeout ends the watch. */
  private watch(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, q: URLSearchParams): void {
    const av = apiVersionOf(type);
    const table = wantsTable(req.headers.accept);
    let open = true;
    const timers: { end?: NodeJS.Timeout; bookmarks?: NodeJS.Timeout } = {};
    let storeWatch: { stop(): void } | undefined;
    const entry: OpenWatch = {
      close: () => {
        if (!open) return;
        open = false;
        storeWatch?.stop();
        clearTimeout(timers.end);
        clearInterval(timers.bookmarks);
        this.watches.delete(entry);
        res.end();
      },
    };
    let corked = false;
    const write = (line: string): void => {
      if (!open) return;
      if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      // Events of one burst (a bulk creation, many requests read in one turn
      // of the event loop) leave in one write, not one syscall each.
      if (!corked) {
        corked = true;
        res.cork();
        setImmediate(() => {
          corked = false;
          res.uncork();
        });
      }
      res.write(line);
    };
    try {
      storeWatch = this.store.watch(type.resource, {
        namespace: namespace || undefined,
        labelSelector: q.get('labelSelector') ?? undefined,
        fieldSelector: q.get('fieldSelector') ?? undefined,
        resourceVersion: q.get('resourceVersion') ?? undefined,
      }, table
        ? (ev) => write(`{"type":"${ev.type}","object":${JSON.stringify(toTable(type.resource, [ev.object], String(ev.rv), q.get('includeObject')))}}\n`)
        : (ev) => write(`{"type":"${ev.type}","object":${serialized(ev.object)}}\n`));
    } catch (err) {
      if (err instanceof ApiError && err.code === 410) {
        // As Kubernetes does: 200 with one ERROR event carrying the 410 Status, then the end.
        write(JSON.stringify({ type: 'ERROR', object: err.status() }) + '\n');
        res.end();
        return;
      }
      throw err;
    }
    this.watches.add(entry);
    if (!res.headersSent) write('');
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 0);
    timers.end = setTimeout(entry.close, timeoutSeconds > 0 ? timeoutSeconds * 1000 : this.watchTimeoutMs);
    if (q.get('allowWatchBookmarks') === 'true') {
      timers.bookmarks = setInterval(() => {
        write(JSON.stringify({ type: 'BOOKMARK', object: { kind: type.kind, apiVersion: av, metadata: { resourceVersion: String(this.store.resourceVersion) } } }) + '\n');
      }, this.bookmarkMs);
    }
    req.on('close', entry.close);
    res.on('close', entry.close);
  }
}

// ---- helpers ----------------------------------------------------------------

/** JSON of a frozen store object, computed once however many watchers get it. */
const jsonCache = new WeakMap<object, string>();
function serialized(o: StoredObject): string {
  let s = jsonCache.get(o);
  if (s === undefined) {
    s = JSON.stringify(o);
    jsonCache.set(o, s);
  }
  return s;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function parseRoute(segs: string[]): Route | undefined {
  let rest: string[];
  let group = '';
  let version: string;
  if (segs[0] === 'api' && segs.length >= 3) {
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const t = resourceType(rest[2]!);
    if (t && t.namespaced) {
      namespace = rest[1]!;
      rest = rest.slice(2);
    }
  }
  const t = resourceType(rest[0] ?? '');
  if (!t || t.group !== group || t.version !== version || rest.length > 3) return undefined;
  if (t.namespaced && rest.length > 1 && !namespace) return undefined;
  return { type: t, namespace, name: rest[1], subresource: rest[2], watchPrefix };
}

async function readJson(req: IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError('BadRequest', `request body larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) {
    if (optional) return undefined;
    throw badRequest('the request has no body');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
}

function asObject(body: unknown): KubeObject {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  const o = body as KubeObject;
  if (!o.metadata || typeof o.metadata !== 'object') o.metadata = {};
  return o;
}

function deleteOptions(q: URLSearchParams, body: unknown): DeleteOptions {
  const b = (body && typeof body === 'object' ? body : {}) as { gracePeriodSeconds?: number; preconditions?: DeleteOptions['preconditions'] };
  const out: DeleteOptions = {};
  const g = q.get('gracePeriodSeconds') ?? b.gracePeriodSeconds;
  if (g !== undefined && g !== null && g !== '') {
    const n = Number(g);
    if (!Number.isInteger(n)) throw badRequest(`invalid gracePeriodSeconds "${String(g)}"`);
    out.gracePeriodSeconds = n;
  }
  if (b.preconditions) out.preconditions = b.preconditions;
  return out;
}
