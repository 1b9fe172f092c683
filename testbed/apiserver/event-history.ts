// A bounded log of recent changes, so that a watch can resume from a
// resourceVersion it saw before. Versions older than the log answer 410 Gone
// (the informer then relists), as etcd compaction does in Kubernetes.
import type { WatchEvent } from './types.js';

export class EventHistory {
  private events: WatchEvent[] = [];
  /** Every event with rv <= compactedThrough is gone. */
  private compactedThrough = 0;

  constructor(private readonly capacity: number) {}

  append(ev: WatchEvent): void {
    this.events.push(ev);
    // Trim in batches so that append stays O(1) amortized.
    if (this.events.length > this.capacity + Math.max(1, this.capacity >> 1)) {
      const drop = this.events.length - this.capacity;
      this.compactedThrough = this.events[drop - 1]!.rv;
      this.events = this.events.slice(drop);
    }
  }

  /** Forget everything up to and including rv (a compaction). */
  compact(rv: number): void {
    let i = 0;
    while (i < this.events.length && this.events[i]!.rv <= rv) i++;
    this.events = this.events.slice(i);
    this.compactedThrough = Math.max(this.compactedThrough, rv);
  }

  /** The oldest resourceVersion a watch can resume from. */
  oldestResumable(): number {
    return this.compactedThrough;
  }

  /** Events after rv, or undefined when some of them were compacted away. */
  since(rv: number): WatchEvent[] | undefined {
    if (rv < this.compactedThrough) return undefined;
    // Binary search for the first event with rv > given.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo);
  }

  get size(): number {
    return this.events.length;
  }
}
