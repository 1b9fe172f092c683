// A deduplicating work queue for the in-process controllers: keys added many
// times before a sync are synced once; syncs run in batches on setImmediate so
// that a bulk creation (10,000 Services) does not starve the HTTP server;
// failed syncs retry with a delay. settled() lets tests and the testbed wait
// until the controllers caught up.

const BATCH = 256;
const RETRY_MS = 200;
const MAX_RETRIES = 10;

export class WorkQueue {
  private readonly dirty = new Set<string>();
  private readonly retries = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private scheduled: NodeJS.Immediate | undefined;
  private readonly batched = new Set<string>();
  private batchTimer: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly sync: (key: string) => void,
    private readonly onError: (key: string, err: unknown) => void,
    /** addBatched() keys wait this long, collecting more changes (kube-controller-manager's --endpointslice-updates-batch-period). */
    private readonly batchPeriodMs = 0,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.dirty.add(key);
    this.scheduled ??= setImmediate(() => this.run());
  }

  /** Like add(), but wait up to the batch period so that a burst of changes costs one sync. */
  addBatched(key: string): void {
    if (this.batchPeriodMs <= 0) {
      this.add(key);
      return;
    }
    if (this.stopped || this.dirty.has(key)) return;
    this.batched.add(key);
    this.batchTimer ??= setTimeout(() => {
      this.batchTimer = undefined;
      for (const k of this.batched) this.add(k);
      this.batched.clear();
    }, this.batchPeriodMs);
  }

  /** Resolves when no key is waiting, being synced or scheduled for a retry. */
  settled(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** True when nothing is queued, running or waiting for a retry. */
  get idle(): boolean {
    return this.isIdle();
  }

  stop(): void {
    this.stopped = true;
    this.dirty.clear();
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.batched.clear();
    this.wake();
  }

  private isIdle(): boolean {
    return this.dirty.size === 0 && this.retryTimers.size === 0 && this.scheduled === undefined && this.batchTimer === undefined;
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private run(): void {
    this.scheduled = undefined;
    let n = 0;
    for (const key of this.dirty) {
      if (n++ >= BATCH || this.stopped) break;
      this.dirty.delete(key);
      try {
        this.sync(key);
        this.retries.delete(key);
      } catch (err) {
        const tries = (this.retries.get(key) ?? 0) + 1;
        this.onError(key, err);
        if (tries <= MAX_RETRIES) {
          this.retries.set(key, tries);
          const t = setTimeout(() => {
            this.retryTimers.delete(t);
            this.add(key);
            if (this.isIdle()) this.wake();
          }, RETRY_MS * tries);
          this.retryTimers.add(t);
        } else this.retries.delete(key);
      }
    }
    if (this.dirty.size && !this.stopped) this.scheduled = setImmediate(() => this.run());
    else if (this.isIdle()) this.wake();
  }
}
