// kube-proxy's change trackers (servicechangetracker.go,
// endpointschangetracker.go) reduced to their core: for every key, the value
// before the first unsynced change and the value now; a change back to the
// starting value cancels out and is dropped, so a sync only sees real changes.

export interface Change<V> {
  readonly previous: V | undefined;
  readonly current: V | undefined;
}

export class ChangeTracker<V> {
  private readonly items = new Map<string, Change<V>>();
  private readonly committed = new Map<string, V>();
  /** Earliest change time per pending key (ms since epoch), for network programming latency. */
  private readonly firstChange = new Map<string, number>();

  constructor(private readonly equal: (a: V, b: V) => boolean = jsonEqual) {}

  /**
   * Records the new value of key (undefined = deleted). Returns true when a
   * change is pending for key afterwards.
   */
  update(key: string, current: V | undefined, changeTimeMs?: number): boolean {
    const item = this.items.get(key);
    const previous = item ? item.previous : this.committed.get(key);
    const same = previous === undefined || current === undefined ? previous === current : this.equal(previous, current);
    if (same) {
      this.items.delete(key);
      this.firstChange.delete(key);
      return false;
    }
    this.items.set(key, { previous, current });
    if (changeTimeMs !== undefined) {
      const t = this.firstChange.get(key);
      if (t === undefined || changeTimeMs < t) this.firstChange.set(key, changeTimeMs);
    }
    return true;
  }

  /** Number of keys with an unsynced change. */
  get pending(): number {
    return this.items.size;
  }

  /** The current value of key including pending changes. */
  get(key: string): V | undefined {
    const item = this.items.get(key);
    return item ? item.current : this.committed.get(key);
  }

  /** All current values (committed plus pending). */
  *entries(): IterableIterator<[string, V]> {
    for (const [k, v] of this.committed) {
      if (!this.items.has(k)) yield [k, v];
    }
    for (const [k, c] of this.items) {
      if (c.current !== undefined) yield [k, c.current];
    }
  }

  /** Takes the pending changes: they become the committed state. */
  checkpoint(): { changes: Map<string, Change<V>>; changeTimes: Map<string, number> } {
    const changes = new Map(this.items);
    const changeTimes = new Map(this.firstChange);
    for (const [k, c] of changes) {
      if (c.current === undefined) this.committed.delete(k);
      else this.committed.set(k, c.current);
    }
    this.items.clear();
    this.firstChange.clear();
    return { changes, changeTimes };
  }
}

/** Structural equality of plain data (Maps and Sets compared by their entries). */
export function jsonEqual<V>(a: V, b: V): boolean {
  return JSON.stringify(a, replacer) === JSON.stringify(b, replacer);
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) return { $map: [...value] };
  if (value instanceof Set) return { $set: [...value] };
  return value;
}
