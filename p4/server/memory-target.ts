// A target that keeps entities in memory: the reference behaviour for the
// server's tests and a stand-in where no data plane is needed. It outlives a
// server (pass the same instance to a new server to model a restart that
// keeps forwarding state), counts packets only when a test says so, and can
// be told to refuse the next updates.
import { Code } from '../proto/codes.js';
import type { TableInfo } from '../p4info/types.js';
import type {
  CounterValues,
  P4Target,
  RestoredState,
  StoreView,
  TargetEntity,
  TargetPipeline,
  TargetTableEntry,
  TargetUpdate,
} from './target.js';
import { TargetError } from './target.js';

export interface MemoryTargetOptions {
  /** Capacity per object id, below the P4Info size. */
  capacities?: ReadonlyMap<number, number>;
}

export class MemoryTarget implements P4Target {
  readonly description = 'memory';
  private pipeline: TargetPipeline | undefined;
  private readonly entities = new Map<string, TargetEntity>();
  private readonly counters = new Map<string, CounterValues>();
  private readonly failures: { code: (typeof Code)[keyof typeof Code]; message: string }[] = [];
  /** Every update applied, in order (tests assert on what reached the target). */
  readonly applied: TargetUpdate[] = [];

  constructor(private readonly options: MemoryTargetOptions = {}) {}

  async restore(): Promise<RestoredState | undefined> {
    if (!this.pipeline) return undefined;
    return {
      p4info: this.pipeline.p4info.message,
      cookie: this.pipeline.cookie,
      entities: [...this.entities.values()].map((e) => e.entity),
    };
  }

  async setPipeline(pipeline: TargetPipeline, reconcile: boolean): Promise<void> {
    this.pipeline = pipeline;
    if (!reconcile) {
      this.entities.clear();
      this.counters.clear();
    }
  }

  capacity(objectId: number): number | undefined {
    return this.options.capacities?.get(objectId);
  }

  async apply(update: TargetUpdate, _store: StoreView): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw new TargetError(failure.code, failure.message);
    const { entity } = update;
    if (update.type === 'DELETE') {
      this.entities.delete(entity.key);
      this.counters.delete(entity.key);
    } else {
      this.entities.set(entity.key, entity);
    }
    this.applied.push(update);
  }

  async readCounters(_table: TableInfo, entries: readonly TargetTableEntry[]): Promise<readonly CounterValues[]> {
    return entries.map((e) => this.counters.get(e.key) ?? { packets: 0n, bytes: 0n });
  }

  async close(): Promise<void> {
    // nothing held open
  }

  /** Test hook: the next update(s) fail with this code, leaving nothing applied. */
  failNextApply(code: (typeof Code)[keyof typeof Code] = Code.INTERNAL, message = 'injected failure', times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ code, message });
  }

  /** Test hook: pretend the data plane counted traffic on an entry. */
  count(entryKey: string, packets: bigint, bytes: bigint): void {
    const now = this.counters.get(entryKey) ?? { packets: 0n, bytes: 0n };
    this.counters.set(entryKey, { packets: now.packets + packets, bytes: now.bytes + bytes });
  }

  /** Entities currently held (what a data plane would forward with). */
  snapshot(): readonly TargetEntity[] {
    return [...this.entities.values()];
  }
}
