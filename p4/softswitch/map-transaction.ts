// All-or-nothing map writes for one P4Runtime update: every write records how
// to undo it; a failure part-way rolls back what was written, in reverse, so
// a failed update never leaves a map half-written. Work that must only
// happen once the update stands (freeing slots) waits for commit().
import { BPF_NOEXIST, KeyExistsError, type BpfMap } from '../../bpf/loader/index.js';

export class MapTransaction {
  private readonly undo: (() => void)[] = [];
  private readonly committed: (() => void)[] = [];

  /** Writes key -> value, remembering what was there. */
  put<K, V>(map: BpfMap<K, V>, key: K, value: V): void {
    const prior = map.lookup(key);
    map.update(key, value);
    this.undo.push(() => (prior === undefined ? void map.tryDelete(key) : map.update(key, prior)));
  }

  /** Writes a key the caller knows is new (one syscall instead of two). */
  insert<K, V>(map: BpfMap<K, V>, key: K, value: V): void {
    try {
      map.update(key, value, BPF_NOEXIST);
    } catch (e) {
      // A leftover the store did not know about (e.g. written before a crash): overwrite it, undoably.
      if (e instanceof KeyExistsError) return this.put(map, key, value);
      throw e;
    }
    this.undo.push(() => void map.tryDelete(key));
  }

  /** Deletes a key if present, remembering its value. */
  del<K, V>(map: BpfMap<K, V>, key: K): void {
    const prior = map.lookup(key);
    if (prior === undefined) return;
    map.delete(key);
    this.undo.push(() => map.update(key, prior));
  }

  /** Runs fn now and `undo` on rollback. */
  step(fn: () => void, undo: () => void): void {
    fn();
    this.undo.push(undo);
  }

  /** Runs fn when the whole update succeeded. */
  onCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  commit(): void {
    for (const fn of this.committed.splice(0)) fn();
    this.undo.length = 0;
  }

  /** Undoes every write in reverse order; returns the errors of undo steps that failed. */
  rollback(): unknown[] {
    const errors: unknown[] = [];
    for (const fn of this.undo.splice(0).reverse()) {
      try {
        fn();
      } catch (e) {
        errors.push(e);
      }
    }
    this.committed.length = 0;
    return errors;
  }
}
