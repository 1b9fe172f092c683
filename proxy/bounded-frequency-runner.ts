// kube-proxy's BoundedFrequencyRunner (pkg/proxy/runner): requests to run are
// coalesced, runs are at least minInterval apart, a failed run is retried
// with exponential backoff, and a run happens at least every maxInterval (the
// periodic full resync that repairs anything changed behind our back).
import { realClock, type Clock, type Timer } from './clock.js';

export interface RunContext {
  /** True for the periodic resync or when a full sync was requested. */
  readonly full: boolean;
}

export interface BoundedFrequencyRunnerOptions {
  readonly fn: (ctx: RunContext) => Promise<void>;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  readonly clock?: Clock;
  /** Told about failed runs (they are retried regardless). */
  readonly onError?: (err: unknown) => void;
}

export class BoundedFrequencyRunner {
  private readonly clock: Clock;
  private timer: Timer | undefined;
  private timerDue = Infinity;
  private running: Promise<void> | undefined;
  private pending = false;
  private fullPending = false;
  private lastStart = -Infinity;
  private retryAt = -Infinity;
  private backoffMs = 0;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: BoundedFrequencyRunnerOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** Starts the periodic schedule; the first run happens as soon as one is requested. */
  start(): void {
    this.started = true;
    this.lastStart = this.clock.now();
    this.schedule();
  }

  /**
   * Requests a run (coalesced with other requests). resetBackoff: the cause
   * of earlier failures is gone (e.g. the switch is back), do not wait out
   * the retry delay.
   */
  run(opts: { full?: boolean; resetBackoff?: boolean } = {}): void {
    this.pending = true;
    if (opts.full) this.fullPending = true;
    if (opts.resetBackoff) {
      this.backoffMs = 0;
      this.retryAt = -Infinity;
      if (this.timer && !this.running) {
        this.timer.cancel();
        this.timer = undefined;
        this.timerDue = Infinity;
      }
    }
    this.schedule();
  }

  /** Stops scheduling and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    if (!this.started || this.stopped || this.running) return;
    const now = this.clock.now();
    const due = this.pending
      ? Math.max(this.lastStart + this.opts.minIntervalMs, this.retryAt, now)
      : Math.max(this.lastStart + this.opts.maxIntervalMs, now);
    if (this.timer && this.timerDue <= due) return;
    this.timer?.cancel();
    this.timerDue = due;
    this.timer = this.clock.setTimer(() => this.fire(), due - now);
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    if (this.stopped) return;
    const full = this.fullPending || !this.pending;
    this.pending = false;
    this.fullPending = false;
    this.lastStart = this.clock.now();
    this.running = this.execute(full);
  }

  private async execute(full: boolean): Promise<void> {
    try {
      await this.opts.fn({ full });
      this.backoffMs = 0;
      this.retryAt = -Infinity;
    } catch (err) {
      const initial = this.opts.retryInitialMs ?? 1000;
      this.backoffMs = this.backoffMs === 0 ? initial : Math.min(this.backoffMs * 2, this.opts.retryMaxMs ?? 30_000);
      this.retryAt = this.clock.now() + this.backoffMs;
      this.pending = true;
      if (full) this.fullPending = true;
      try {
        this.opts.onError?.(err);
      } catch {
        // a reporting failure must not stop the runner
      }
    } finally {
      this.running = undefined;
      this.schedule();
    }
  }
}
