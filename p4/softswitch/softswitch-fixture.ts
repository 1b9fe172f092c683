// A software switch loaded for tests and benchmarks: the program with fresh
// (unpinned unless asked) maps, an EbpfTarget on it with talaria.p4's
// pipeline committed, and a helper that writes wire entities through the
// server's validation into the target, as a Write would.
import { validateUpdate } from '../server/validate.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import type { Entity } from '../proto/types.js';
import type { StoreView, TargetGroup } from '../server/target.js';
import { SwitchDatapath } from './datapath.js';
import { EbpfTarget } from './ebpf-target.js';
import { TalariaEntities } from './wire-entities.js';

/** The target ignores the store view; tests pass this. */
const NO_STORE: StoreView = {
  member: () => undefined,
  group: () => undefined,
  groupsWithMember: () => [],
  entriesUsing: () => [],
  tableEntries: () => [],
};

export class SoftswitchFixture {
  readonly entities = new TalariaEntities();

  private constructor(
    readonly datapath: SwitchDatapath,
    readonly target: EbpfTarget,
  ) {}

  static async create(opts: { pinDir?: string } = {}): Promise<SoftswitchFixture> {
    const datapath = SwitchDatapath.load(opts.pinDir ? { pinDir: opts.pinDir } : {});
    const target = new EbpfTarget({ datapath });
    await target.setPipeline({ p4info: talariaP4Info(), cookie: '1' }, false);
    return new SoftswitchFixture(datapath, target);
  }

  /** One update, validated like the server does; `previous` for a group MODIFY. */
  async write(type: 'INSERT' | 'MODIFY' | 'DELETE', entity: Entity, previous?: Entity): Promise<void> {
    const info = talariaP4Info();
    const v = validateUpdate(info, { type, entity });
    const prev = previous ? (validateUpdate(info, { type: 'INSERT', entity: previous }).entity as TargetGroup) : undefined;
    await this.target.apply({ type: v.type, entity: v.entity, ...(prev ? { previous: prev } : {}) }, NO_STORE);
  }

  /** Wires switch port `port` to a (possibly fake) ifindex; its source MAC is an egress_ports entry. */
  setPort(port: number, ifindex: number): void {
    this.datapath.maps.ports.update(port, { ifindex });
  }

  /** Packets dropped for a reason (enum sw_drop_reason), over all CPUs. */
  drops(reason: number): bigint {
    return (this.datapath.maps.drops.lookup(reason) ?? []).reduce((s, c) => s + c.packets, 0n);
  }

  passes(reason: number): bigint {
    return (this.datapath.maps.passes.lookup(reason) ?? []).reduce((s, c) => s + c.packets, 0n);
  }

  close(opts: { removePins?: boolean } = {}): void {
    this.datapath.close(opts);
  }
}
