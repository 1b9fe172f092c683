// The lifecycle every cluster controller shares: it subscribes to the store,
// turns events into keys on a work queue, and is stopped, awaited and probed
// the same way.
import type { WorkQueue } from './work-queue.js';

export abstract class QueueController {
  /** Unsubscribe functions of the store subscriptions. */
  protected readonly offs: Array<() => void> = [];
  protected abstract readonly queue: WorkQueue;

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.queue.stop();
  }

  /** Resolves when every queued key has been synced. */
  settled(): Promise<void> {
    return this.queue.settled();
  }

  /** True when no sync is queued or pending a retry. */
  get idle(): boolean {
    return this.queue.idle;
  }
}
