// A list+watch cache of one kind of object, the one the controller and the
// node agent both use. It does what client-go's reflector does, in the
// places a real kube-apiserver needs it:
//
// - a failed list or watch (403 while the server's RBAC cache primes, 5xx,
//   a refused connection) is logged and retried with backoff, never fatal;
// - 410 Gone (the resourceVersion was compacted) relists;
// - every watch asks the server to end it after `watchTimeoutSeconds` and for
//   bookmarks; a watch that ends having carried nothing at all, not even a
//   bookmark, is one resumed from a resourceVersion the store has not reached
//   (etcd restored or replaced): the server keeps it open and silent instead
//   of answering 410, so it relists. A watch the server does not end in time
//   is cut by the client and counts as silent too;
// - a relist delivers the differences: changes, and deletions of what is gone.
import { Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

/**
 * The longest wait between two attempts. With 30 s the nodes saw a Service
 * created while the API server was away 16.7 s after it came back, where
 * kube-proxy saw it after 4.1 s (e2e faults suite); 5 s keeps that short and
 * costs an API server that is still down one request per informer per 5 s,
 * jittered.
 */
const DEFAULT_RETRY_MAX_MS = 5000;

export interface InformerHandlers<T> {
  onChange(obj: T): void;
  onDelete(obj: T): void;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** What the log lines name, e.g. "services". */
  readonly what: string;
  readonly kubeconfig: KubeConfig;
  /** The collection's path, e.g. /api/v1/services. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly fieldSelector?: string;
  readonly handlers: InformerHandlers<T>;
  readonly log: (line: string) => void;
  /** The server ends each watch after this long (default 300 s, client-go's minimum). */
  readonly watchTimeoutSeconds?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/** A watch the server has not ended this long after its timeout is cut by the client. */
const CLIENT_GRACE_MS = 30_000;

export class Informer<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private readonly watch: Watch;
  private resourceVersion = '';
  private listedOnce = false;
  private stopped = false;
  private backoffMs: number;
  private retry: NodeJS.Timeout | undefined;
  private cut: NodeJS.Timeout | undefined;
  private request: AbortController | undefined;
  private resolveSynced!: () => void;
  /** Resolves after the first successful list. */
  readonly synced = new Promise<void>((r) => (this.resolveSynced = r));

  constructor(private readonly o: InformerOptions<T>) {
    this.watch = new Watch(o.kubeconfig);
    this.backoffMs = o.retryInitialMs ?? 500;
  }

  get hasSynced(): boolean {
    return this.listedOnce;
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  start(): void {
    this.stopped = false;
    void this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.cut) clearTimeout(this.cut);
    this.request?.abort();
  }

  /** One round: list if needed, then one watch; schedules the next round. */
  private async loop(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.resourceVersion) await this.relist();
      const { carried, early } = await this.watchOnce();
      if (this.stopped) return;
      if (carried) {
        this.backoffMs = this.o.retryInitialMs ?? 500;
      } else if (early) {
        // The connection dropped (a server restart): resume after a pause.
        this.again(`watch of ${this.o.what} closed`);
        return;
      } else {
        this.o.log(`watch of ${this.o.what} stayed silent for its whole timeout; relisting`);
        this.resourceVersion = '';
      }
      void this.loop();
    } catch (err) {
      if (this.stopped) return;
      if (statusOf(err) === 410) {
        this.o.log(`watch of ${this.o.what}: resourceVersion ${this.resourceVersion} is gone (410); relisting`);
        this.resourceVersion = '';
        void this.loop();
        return;
      }
      this.again(`${this.resourceVersion ? 'watch' : 'list'} of ${this.o.what} failed: ${describe(err)}`);
    }
  }

  private again(why: string): void {
    // Jittered, so that a thousand nodes do not come back to a recovered API server in step.
    const delay = Math.round(this.backoffMs * (0.75 + Math.random() / 2));
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.retryMaxMs ?? DEFAULT_RETRY_MAX_MS);
    this.o.log(`${why}; retrying in ${delay} ms`);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.loop();
    }, delay);
  }

  private async relist(): Promise<void> {
    const list = await this.o.list();
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = keyOf(obj);
      seen.add(key);
      const had = this.objects.get(key);
      this.objects.set(key, obj);
      if (had?.metadata?.resourceVersion !== obj.metadata?.resourceVersion || !had) this.o.handlers.onChange(obj);
    }
    for (const [key, obj] of this.objects) {
      if (seen.has(key)) continue;
      this.objects.delete(key);
      this.o.handlers.onDelete(obj);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    if (!this.listedOnce) {
      this.listedOnce = true;
      this.resolveSynced();
    }
  }

  /**
   * Watches from resourceVersion until the watch ends. carried: it delivered
   * anything (an event or a bookmark); early: it ended before half its timeout.
   */
  private watchOnce(): Promise<{ carried: boolean; early: boolean }> {
    const timeoutSeconds = this.o.watchTimeoutSeconds ?? 300;
    const started = Date.now();
    let carried = false;
    let gone = false;
    let finished = false;
    return new Promise((resolve, reject) => {
      const done = (err: unknown): void => {
        finished = true;
        if (this.cut) clearTimeout(this.cut);
        this.cut = undefined;
        this.request = undefined;
        if (gone) reject(Object.assign(new Error('410 Gone'), { statusCode: 410 }));
        else if (err && !this.stopped) reject(err);
        else resolve({ carried, early: Date.now() - started < (timeoutSeconds * 1000) / 2 });
      };
      const params: Record<string, string | number | boolean> = { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
      if (this.o.fieldSelector) params.fieldSelector = this.o.fieldSelector;
      const onEvent = (type: string, obj: T & { code?: number }): void => {
        carried = true;
        if (type === 'ERROR') {
          if (obj.code === 410) gone = true;
          return;
        }
        const key = keyOf(obj);
        if (type === 'DELETED') {
          this.objects.delete(key);
          this.o.handlers.onDelete(obj);
        } else if (type === 'ADDED' || type === 'MODIFIED') {
          this.objects.set(key, obj);
          this.o.handlers.onChange(obj);
        }
        if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
      };
      this.watch.watch(this.o.path, params, onEvent, done).then((req) => {
        if (finished) return;
        this.request = req;
        if (this.stopped) req.abort();
        this.cut = setTimeout(() => req.abort(), timeoutSeconds * 1000 + CLIENT_GRACE_MS);
        this.cut.unref();
      }, reject);
    });
  }
}

function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; code?: number };
  return e?.statusCode ?? (typeof e?.code === 'number' ? e.code : undefined);
}

function describe(err: unknown): string {
  const status = statusOf(err);
  const text = err instanceof Error ? err.message : String(err);
  return status ? `HTTP ${status}: ${text}` : text;
}
