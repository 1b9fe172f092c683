// Space for Maglev lookup tables inside maglev_lut: tables of different
// sizes (larger groups get larger tables) as ranges of one big array,
// first fit with coalescing. A released range is quarantined behind the
// next few releases before it can be reused, so that a table a packet may
// still be reading on another CPU is not rewritten right after its group
// switched away from it.

/** Releases that pass before a freed range can be handed out again. */
const QUARANTINE = 16;

export interface LutRange {
  readonly base: number;
  readonly size: number;
}

export class LutSpace {
  /** Free ranges, sorted by base, never adjacent (coalesced). */
  private free: { base: number; size: number }[];
  private readonly quarantine: LutRange[] = [];
  private usedSlots = 0;

  constructor(readonly total: number) {
    this.free = total > 0 ? [{ base: 0, size: total }] : [];
  }

  /** The space with `used` ranges taken (rebuilt from group_luts after a restart). */
  static fromUsed(total: number, used: Iterable<LutRange>): LutSpace {
    const s = new LutSpace(total);
    const sorted = [...used].filter((r) => r.size > 0).sort((a, b) => a.base - b.base);
    s.free = [];
    let at = 0;
    for (const r of sorted) {
      if (r.base > at) s.free.push({ base: at, size: r.base - at });
      at = Math.max(at, r.base + r.size);
      s.usedSlots += r.size;
    }
    if (at < total) s.free.push({ base: at, size: total - at });
    return s;
  }

  /** The base of a free range of `size` slots, or undefined when none is left. */
  take(size: number): number | undefined {
    const i = this.free.findIndex((f) => f.size >= size);
    if (i < 0) return undefined;
    const f = this.free[i]!;
    const base = f.base;
    if (f.size === size) this.free.splice(i, 1);
    else this.free[i] = { base: f.base + size, size: f.size - size };
    this.usedSlots += size;
    return base;
  }

  /** Gives a range back; it becomes reusable after QUARANTINE later releases. */
  release(range: LutRange): void {
    this.usedSlots -= range.size;
    this.quarantine.push(range);
    if (this.quarantine.length > QUARANTINE) this.insert(this.quarantine.shift()!);
  }

  /** Gives back a range that no packet can have seen (a failed update's): reusable at once. */
  releaseUnused(range: LutRange): void {
    this.usedSlots -= range.size;
    this.insert(range);
  }

  get used(): number {
    return this.usedSlots;
  }

  private insert(r: LutRange): void {
    let i = 0;
    while (i < this.free.length && this.free[i]!.base < r.base) i++;
    this.free.splice(i, 0, { base: r.base, size: r.size });
    // Coalesce with the neighbours.
    if (i + 1 < this.free.length && this.free[i]!.base + this.free[i]!.size === this.free[i + 1]!.base) {
      this.free[i]!.size += this.free[i + 1]!.size;
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1]!.base + this.free[i - 1]!.size === this.free[i]!.base) {
      this.free[i - 1]!.size += this.free[i]!.size;
      this.free.splice(i, 1);
    }
  }
}

/** Table sizes (primes) by group size: at least 20 slots per member, from the base size up. */
const SIZES = [1021, 2039, 4093, 8191, 16381, 32749, 65521];

/** The Maglev table size for a group of n members (`fixed`: always that size). */
export function maglevSizeFor(n: number, fixed?: number): number {
  if (fixed !== undefined) return fixed;
  return SIZES.find((m) => m >= 20 * n) ?? SIZES[SIZES.length - 1]!;
}
