// Brings one BPF map to a desired content: writes entries that are missing
// or differ, deletes entries nobody wants. Per-entry failures (a full map, a
// bad value) are collected with the entry's name; the rest still applies.
import { isDeepStrictEqual } from 'node:util';
import type { BpfMap } from '../bpf/loader/map.js';

export interface MapSyncError {
  /** The entry, as keyString() names it. */
  key: string;
  error: Error;
}

export interface MapSyncResult {
  updated: number;
  deleted: number;
  /** Entries in the map afterwards (as far as we know). */
  entries: number;
  errors: MapSyncError[];
}

/**
 * `phase` splits a sync so that a caller can order it across maps: write
 * what a referencing entry needs first ('upsert'), remove leftovers after
 * ('delete'); 'both' does both in one go.
 */
export function syncMap<K, V>(
  map: BpfMap<K, V>,
  desired: ReadonlyMap<string, readonly [K, V]>,
  keyString: (k: K) => string,
  phase: 'upsert' | 'delete' | 'both' = 'both',
): MapSyncResult {
  const current = new Map<string, [K, V]>();
  for (const [k, v] of map.entries()) current.set(keyString(k), [k, v]);
  const result: MapSyncResult = { updated: 0, deleted: 0, entries: current.size, errors: [] };
  if (phase !== 'delete') {
    for (const [ks, [k, v]] of desired) {
      const cur = current.get(ks);
      if (cur && isDeepStrictEqual(cur[1], v)) continue;
      try {
        map.update(k, v);
        result.updated++;
        if (!cur) result.entries++;
      } catch (e) {
        result.errors.push({ key: ks, error: e as Error });
      }
    }
  }
  if (phase !== 'upsert') {
    for (const [ks, [k]] of current) {
      if (desired.has(ks)) continue;
      try {
        if (map.tryDelete(k)) {
          result.deleted++;
          result.entries--;
        }
      } catch (e) {
        result.errors.push({ key: ks, error: e as Error });
      }
    }
  }
  return result;
}
