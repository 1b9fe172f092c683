// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
// Software Network Load Balancer", NSDI 2016, section 3.4), with weights as in
// katran's MaglevV2: the software switch's selector, and the lookup groups
// the controller writes for frontends reachable from outside the cluster
// (controller/desired/lookup-groups.ts), which make any target's selector
// hash minimal-disruption.
//
// Why Maglev: the data plane needs O(1) work per packet and no per-connection
// state (hash % M, one array read), and the table must move as few flows as
// possible when a group's members change, because clients outside the
// cluster have no Talaria host to pin them (DESIGN.md). Maglev gives an
// almost perfectly even spread and, for M much larger than the number of
// members, moves little more than the removed member's share of the slots;
// measured by maglev.test.ts and `node --import tsx p4/softswitch/maglev-disruption.ts`.
//
// How: every member has a preference list (a permutation of the M slots)
// derived from a hash of its stable key; members take turns claiming their
// next preferred free slot. With weights, a member takes a turn each time
// its accumulated weight reaches the largest weight, so slot shares are
// proportional to weights. The key must identify the backend, not its
// position in the group, so that other members keep their preferences when
// one leaves.

/** A table size: prime, and large compared with the group (M >= 100 N keeps disruption near ideal). */
export const DEFAULT_MAGLEV_SIZE = 1021;

export interface MaglevMember {
  /** Stable identity of the backend (e.g. "backend_id/addr:port"). */
  readonly key: string;
  /** >= 1; shares of the table are proportional to weights. */
  readonly weight: number;
}

/** A 32-bit FNV-1a over the UTF-16 code units, finished with murmur3's fmix32. */
function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/**
 * Builds the lookup table: entry i is the index (into `members`) of the
 * member that owns slot i. An empty group gives an empty table.
 */
export function buildMaglevTable(members: readonly MaglevMember[], size: number = DEFAULT_MAGLEV_SIZE): Uint32Array {
  if (!isPrime(size)) throw new RangeError(`Maglev table size ${size} is not prime`);
  const n = members.length;
  if (n === 0) return new Uint32Array(0);
  if (n > size) throw new RangeError(`a group of ${n} members does not fit a Maglev table of ${size} slots`);
  // pos[i]: member i's next preferred slot, (offset + j * skip) mod size
  // advanced incrementally (no division in the loop).
  const pos = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const weight = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  members.forEach((m, i) => {
    if (!Number.isInteger(m.weight) || m.weight < 1) throw new RangeError(`member ${m.key}: weight ${m.weight} is not a positive integer`);
    pos[i] = hash32(m.key, 0x5bd1e995) % size;
    skip[i] = (hash32(m.key, 0x1b873593) % (size - 1)) + 1;
    weight[i] = m.weight;
    maxWeight = Math.max(maxWeight, m.weight);
  });
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      credit[i]! += weight[i]!;
      if (credit[i]! < maxWeight) continue;
      credit[i]! -= maxWeight;
      // Next preferred slot that is still free; the permutation visits every slot.
      const step = skip[i]!;
      let c = pos[i]!;
      while (table[c]! >= 0) {
        c += step;
        if (c >= size) c -= size;
      }
      table[c] = i;
      c += step;
      pos[i] = c >= size ? c - size : c;
      if (++filled === size) return new Uint32Array(table.buffer);
    }
  }
}

/** Fraction of slots whose member (by key) differs between two tables of the same size. */
export function slotsMoved(before: Uint32Array, beforeMembers: readonly MaglevMember[], after: Uint32Array, afterMembers: readonly MaglevMember[]): number {
  if (before.length !== after.length) throw new RangeError('tables of different sizes');
  let moved = 0;
  for (let i = 0; i < before.length; i++) {
    if (beforeMembers[before[i]!]!.key !== afterMembers[after[i]!]!.key) moved++;
  }
  return moved / before.length;
}
