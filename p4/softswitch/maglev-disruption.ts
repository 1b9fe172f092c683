// Measures how much of a Maglev table (and of a sample of flows) moves when
// one member of N leaves or joins. Run: node --import tsx p4/softswitch/maglev-disruption.ts
import { pathToFileURL } from 'node:url';
import { buildMaglevTable, DEFAULT_MAGLEV_SIZE, slotsMoved, type MaglevMember } from '../maglev/maglev.js';
import { flowHash } from './flow-hash.js';
import { maglevSizeFor } from './lut-space.js';

export interface Disruption {
  members: number;
  size: number;
  /** Fraction of slots that changed member when one member left. */
  removeSlots: number;
  /** Fraction of sampled flows that changed backend when one member left. */
  removeFlows: number;
  /** The least possible: the leaving member's own share, 1/N. */
  removeIdeal: number;
  /** Fraction of slots that changed member when one member joined. */
  addSlots: number;
  /** The least possible: the new member's share, 1/(N+1). */
  addIdeal: number;
}

function members(n: number): MaglevMember[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${1000 + i}/10.244.${i >> 8}.${i & 255}:8080`, weight: 1 }));
}

/** Deterministic pseudo-random 5-tuples (xorshift), clients of one frontend. */
function sampleFlows(count: number): { saddr: string; daddr: string; sport: number; dport: number; proto: number }[] {
  let x = 0x12345678;
  const rnd = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  return Array.from({ length: count }, () => {
    const r = rnd();
    return { saddr: `10.244.${(r >>> 8) & 255}.${r & 255}`, daddr: '10.96.0.10', sport: 1024 + (rnd() % 60000), dport: 80, proto: 6 };
  });
}

export function measureDisruption(n: number, size = DEFAULT_MAGLEV_SIZE, flows = 20000): Disruption {
  const all = members(n + 1);
  const base = all.slice(0, n);
  // Remove a member from the middle: its neighbours' positions in the array change.
  const removed = base.filter((_, i) => i !== n >> 1);
  const tBase = buildMaglevTable(base, size);
  const tRemoved = buildMaglevTable(removed, size);
  const tAdded = buildMaglevTable(all, size);
  let moved = 0;
  for (const f of sampleFlows(flows)) {
    const slot = flowHash(f) % size;
    if (base[tBase[slot]!]!.key !== removed[tRemoved[slot]!]!.key) moved++;
  }
  return {
    members: n,
    size,
    removeSlots: slotsMoved(tBase, base, tRemoved, removed),
    removeFlows: moved / flows,
    removeIdeal: 1 / n,
    addSlots: slotsMoved(tBase, base, tAdded, all),
    addIdeal: 1 / (n + 1),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
  // The sizes the switch picks (maglevSizeFor), then fixed sizes for comparison.
  const runs: [number, number | undefined][] = [[4, undefined], [10, undefined], [100, undefined], [256, undefined]];
  for (const size of [DEFAULT_MAGLEV_SIZE, 65537]) for (const n of [4, 10, 100]) runs.push([n, size]);
  {
    for (const [n, fixed] of runs) {
      const size = fixed ?? maglevSizeFor(n);
      const d = measureDisruption(n, size);
      process.stdout.write(
        `M=${size}${fixed ? '' : ' (switch)'} N=${n}: remove one -> ${pct(d.removeSlots)} of slots, ${pct(d.removeFlows)} of flows moved (ideal ${pct(d.removeIdeal)}); ` +
          `add one -> ${pct(d.addSlots)} of slots moved (ideal ${pct(d.addIdeal)})\n`,
      );
    }
  }
}
