// kube-proxy's health model (pkg/proxy/healthcheck/proxy_health.go): a proxy
// is healthy while nothing is waiting to be programmed, or while the oldest
// change still waiting has waited less than the timeout. A proxy that is
// slow to program one change turns unhealthy; one that is merely idle never
// does. Load balancers (and the chart's probes) read it on /healthz.

/** Go's zero time, what kube-proxy reports as lastUpdated before the first sync. */
const NEVER = '0001-01-01T00:00:00.000Z';

/** kube-proxy's default: twice the default 30 s sync period. */
export const DEFAULT_STALE_AFTER_MS = 60_000;

export interface HealthSnapshot {
  /** When the rules were last written in full (RFC 3339). */
  lastUpdated: string;
  /** When this snapshot was taken (RFC 3339). */
  currentTime: string;
  healthy: boolean;
  /** Why the proxy cannot serve at all (preflight), when it cannot: /healthz fails, /livez does not. */
  blocked?: string;
}

export class HealthTracker {
  private readonly staleAfterMs: number;
  private readonly now: () => number;
  private lastUpdatedMs: number | undefined;
  private oldestQueuedMs: number | undefined;
  private lastQueuedMs: number | undefined;
  /** Why the proxy should not be used, by cause (preflight, switch, node): /healthz fails while any is set. */
  private readonly blocks = new Map<string, string>();

  constructor(opts: { staleAfterMs?: number; now?: () => number } = {}) {
    this.staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.now = opts.now ?? Date.now;
  }

  /** A change arrived that a later sync must program (kube-proxy's QueuedUpdate). */
  queued(): void {
    this.lastQueuedMs = this.now();
    this.oldestQueuedMs ??= this.lastQueuedMs;
  }

  /** When a change last arrived (kube-proxy's last_queued_timestamp); undefined before the first. */
  get lastQueued(): number | undefined {
    return this.lastQueuedMs;
  }

  /** A sync programmed everything queued so far (kube-proxy's Updated). */
  updated(): void {
    this.lastUpdatedMs = this.now();
    this.oldestQueuedMs = undefined;
  }

  /**
   * The proxy should not be used, for a reason a restart does not fix: a
   * failed preflight check (nothing programmed until an operator fixes the
   * node), a leader without its switch, a node being deleted (kube-proxy's
   * node eligibility). Unhealthy, so that the pod is not Ready and load
   * balancers skip the node, but alive, so that it is not restarted in a
   * loop. One reason per cause; /healthz gives them all.
   */
  block(cause: string, reason: string): void {
    this.blocks.set(cause, reason);
  }

  unblock(cause: string): void {
    this.blocks.delete(cause);
  }

  private get blockedBy(): string | undefined {
    return this.blocks.size ? [...this.blocks.values()].join('; ') : undefined;
  }

  healthy(): boolean {
    return this.blockedBy === undefined && this.isHealthyAt(this.now());
  }

  /** kube-proxy's /livez: the sync loop makes progress (a block is not a reason to restart). */
  live(): boolean {
    return this.isHealthyAt(this.now());
  }

  snapshot(): HealthSnapshot {
    const now = this.now();
    return {
      lastUpdated: this.lastUpdatedMs === undefined ? NEVER : new Date(this.lastUpdatedMs).toISOString(),
      currentTime: new Date(now).toISOString(),
      healthy: this.blockedBy === undefined && this.isHealthyAt(now),
      ...(this.blockedBy !== undefined ? { blocked: this.blockedBy } : {}),
    };
  }

  private isHealthyAt(now: number): boolean {
    return this.oldestQueuedMs === undefined || now - this.oldestQueuedMs < this.staleAfterMs;
  }
}
