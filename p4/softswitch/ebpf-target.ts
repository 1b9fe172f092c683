// The eBPF target of the P4Runtime server: each validated update becomes
// writes to the software switch's maps (bpf/switch.bpf.c), all-or-nothing.
//
// Layout decisions (see bpf/include/switch_maps.h):
// - tables are hash / LPM maps whose values carry the entry's direct counter
//   slot in a per-CPU array; a slot is zeroed when an entry is inserted and
//   freed when it is deleted;
// - backend_selector members live in an array (slot -> to_backend data); a
//   group owns a Maglev lookup table in maglev_lut, of M slots with M prime
//   and at least 20 per member (1021 up to 51 members, then 2039, 4093,
//   8191...). A group change builds the new table in free space and then
//   switches group_luts to it
//   with one map update, so packets see the old or the new table, never a
//   half-written one;
// - the server's entity store is rebuilt from the pinned maps after a restart
//   (restore()): every map value holds what Read must return, including the
//   member ids and group memberships the data plane itself never reads
//   (members.member_id, group_members, group_luts.max_size, pipeline.cookie).
//   Nothing is persisted beside the pins, so the maps and the store cannot
//   disagree after a crash.
import { BpfError, MapFullError } from '../../bpf/loader/index.js';
import type { BpfMap } from '../../bpf/loader/index.js';
import {
  RouteKind,
  SelectKind,
  type Counter,
  type Member,
} from '../../bpf/layouts/switch-maps.js';
import { P4InfoIndex, type P4InfoMessage } from '../p4info/p4info.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import { Code } from '../proto/codes.js';
import type { Entity } from '../proto/types.js';
import type { TableInfo } from '../p4info/types.js';
import {
  TargetError,
  type CounterValues,
  type P4Target,
  type RestoredState,
  type StoreView,
  type TargetGroup,
  type TargetMember,
  type TargetPipeline,
  type TargetTableEntry,
  type TargetUpdate,
} from '../server/target.js';
import { sumCounter, type SwitchDatapath, type SwitchMaps } from './datapath.js';
import { beBytes, beNumber, ipv4Bytes, ipv4Of, macBytes, macOf, matchValues, param, wireAction, wireTableEntry } from './entities.js';
import { buildMaglevTable } from '../maglev/maglev.js';
import { LutSpace, maglevSizeFor, type LutRange } from './lut-space.js';
import { MapTransaction } from './map-transaction.js';
import { resolveSchema, SchemaMismatchError, SWITCH_TABLE_NAMES, type SwitchSchema, type SwitchTableName } from './schema.js';
import { SlotAllocator } from './slot-allocator.js';

export interface EbpfTargetOptions {
  readonly datapath: SwitchDatapath;
  /** A fixed Maglev table size (prime) for every group; default: by group size (maglevSizeFor). */
  readonly maglevSize?: number;
  /** The P4Info a restarted target reports (default: talaria.p4's). */
  readonly referenceP4Info?: () => P4InfoMessage;
}

/** How one table's entries map to its map and counter array. */
interface TableBinding {
  readonly map: BpfMap<unknown, { counter: number }>;
  readonly counters: BpfMap<number, Counter[]>;
  key(e: TargetTableEntry): unknown;
  value(e: TargetTableEntry, counter: number): { counter: number };
}

const ZERO_COUNTER: Counter[] = [{ packets: 0n, bytes: 0n }];
const ZERO_MEMBER: Member = { backend_id: 0, addr: '0.0.0.0', port: 0, valid: 0, member_id: 0 };

export class EbpfTarget implements P4Target {
  readonly description = 'ebpf';
  private readonly maps: SwitchMaps;
  /** A fixed Maglev table size (tests); otherwise it grows with the group (maglevSizeFor). */
  private readonly fixedM: number | undefined;
  private schema: SwitchSchema | undefined;
  private counterSlots = {} as Record<SwitchTableName, SlotAllocator>;
  private memberSlots: SlotAllocator;
  private readonly memberSlotById = new Map<number, number>();
  private lutSpace: LutSpace;
  /** group id -> its lookup table in maglev_lut (undefined: empty group, no table). */
  private readonly groupLut = new Map<number, LutRange | undefined>();
  private readonly bindings = new Map<SwitchTableName, TableBinding>();

  constructor(private readonly opts: EbpfTargetOptions) {
    this.maps = opts.datapath.maps;
    this.fixedM = opts.maglevSize;
    this.memberSlots = new SlotAllocator(this.maps.members.info.maxEntries);
    this.lutSpace = new LutSpace(this.maps.maglev_lut.info.maxEntries);
    for (const t of SWITCH_TABLE_NAMES) this.counterSlots[t] = new SlotAllocator(this.counterMap(t).info.maxEntries);
  }

  // ---- P4Target ------------------------------------------------------------

  async restore(): Promise<RestoredState | undefined> {
    const pipe = this.maps.pipeline.lookup(0);
    if (!pipe?.committed) return undefined;
    const message = (this.opts.referenceP4Info ?? (() => talariaP4Info().message))();
    this.schema = this.resolve(new P4InfoIndex(message));
    return { p4info: message, cookie: pipe.cookie.toString(), entities: this.rebuild() };
  }

  async setPipeline(pipeline: TargetPipeline, reconcile: boolean): Promise<void> {
    const schema = this.resolve(pipeline.p4info);
    if (!reconcile) this.clear();
    else if (!this.schema) this.rebuild();
    this.schema = schema;
    this.maps.pipeline.update(0, { cookie: BigInt(pipeline.cookie || '0'), committed: 1 });
  }

  capacity(objectId: number): number | undefined {
    const s = this.schema;
    if (!s) return undefined;
    const name = s.tableById.get(objectId);
    const held = name ? this.tableMap(name).info.maxEntries : objectId === s.selector.id ? this.maps.members.info.maxEntries : undefined;
    const declared = name ? s.tables[name].info.size : s.selector.size;
    return held !== undefined && held < declared ? held : undefined;
  }

  async apply(update: TargetUpdate, _store: StoreView): Promise<void> {
    const tx = new MapTransaction();
    try {
      const e = update.entity;
      if (e.kind === 'table_entry') this.applyEntry(tx, update.type, e);
      else if (e.kind === 'action_profile_member') this.applyMember(tx, update.type, e);
      else this.applyGroup(tx, update.type, e, update.previous as TargetGroup | undefined);
      tx.commit();
    } catch (err) {
      const undoErrors = tx.rollback();
      throw toTargetError(err, update, undoErrors);
    }
  }

  async readCounters(table: TableInfo, entries: readonly TargetTableEntry[]): Promise<readonly CounterValues[]> {
    const name = this.requireSchema().tableById.get(table.id);
    if (!name) throw new TargetError(Code.NOT_FOUND, `table ${table.alias} is not part of the eBPF switch`);
    const b = this.binding(name);
    return entries.map((e) => {
      const v = b.map.lookup(b.key(e));
      return v ? sumCounter(b.counters.lookup(v.counter)) : { packets: 0n, bytes: 0n };
    });
  }

  async close(): Promise<void> {
    // The datapath (maps, program, attachments) belongs to the caller.
  }

  // ---- table entries ---------------------------------------------------------

  private applyEntry(tx: MapTransaction, type: TargetUpdate['type'], e: TargetTableEntry): void {
    const name = this.requireSchema().tableById.get(e.table.id);
    if (!name) throw new TargetError(Code.NOT_FOUND, `table ${e.table.alias} is not part of the eBPF switch`);
    const b = this.binding(name);
    const slots = this.counterSlots[name];
    const key = b.key(e);
    if (type === 'DELETE') {
      const old = b.map.lookup(key);
      tx.del(b.map, key);
      // Free slots keep zero counters, so an insert needs no extra write.
      if (old) tx.onCommit(() => this.freeCounter(b, slots, old.counter));
      return;
    }
    const old = type === 'MODIFY' ? b.map.lookup(key) : undefined;
    let counter = old?.counter;
    if (counter === undefined) {
      const fresh = slots.take();
      if (fresh === undefined) throw new TargetError(Code.RESOURCE_EXHAUSTED, `table ${name}: all ${slots.size} counter slots are in use`);
      tx.step(() => undefined, () => slots.release(fresh));
      counter = fresh;
    }
    const value = b.value(e, counter);
    if (type === 'INSERT') tx.insert(b.map, key, value);
    else tx.put(b.map, key, value);
  }

  private freeCounter(b: TableBinding, slots: SlotAllocator, slot: number): void {
    try {
      b.counters.update(slot, ZERO_COUNTER);
    } catch {
      // The entry is gone either way; a stale count on a reused slot is the only cost.
    }
    slots.release(slot);
  }

  private binding(name: SwitchTableName): TableBinding {
    let b = this.bindings.get(name);
    if (!b) this.bindings.set(name, (b = this.makeBinding(name)));
    return b;
  }

  private makeBinding(name: SwitchTableName): TableBinding {
    const mp = this.maps;
    const counters = this.counterMap(name);
    const act = (e: TargetTableEntry) => {
      if (e.action.kind !== 'action') throw new TargetError(Code.INVALID_ARGUMENT, `table ${name} takes a direct action`);
      return e.action.action;
    };
    switch (name) {
      case 'frontends':
        return {
          map: mp.frontends as unknown as TableBinding['map'],
          counters,
          key: (e) => {
            const [addr, port, proto] = matchValues(e);
            return { addr: ipv4Of(addr!), port: beNumber(port!), proto: beNumber(proto!) };
          },
          value: (e, counter) => {
            const a = act(e);
            return { frontend_id: beNumber(param(a, 'frontend_id')), flags: beNumber(param(a, 'flags')), counter };
          },
        };
      case 'backend_select':
        return {
          map: mp.backend_select as unknown as TableBinding['map'],
          counters,
          key: (e) => beNumber(matchValues(e)[0]!),
          value: (e, counter) => {
            if (e.action.kind === 'group') return { kind: SelectKind.GROUP, ref: e.action.groupId, counter };
            if (e.action.kind === 'member') {
              const slot = this.memberSlotById.get(e.action.memberId);
              if (slot === undefined) throw new TargetError(Code.NOT_FOUND, `backend_selector member ${e.action.memberId} is not in the switch`);
              return { kind: SelectKind.MEMBER, ref: slot, counter };
            }
            throw new TargetError(Code.UNIMPLEMENTED, 'backend_select takes a member or group id, not a direct action');
          },
        };
      case 'backends':
        return {
          map: mp.backends as unknown as TableBinding['map'],
          counters,
          key: (e) => {
            const [fid, bid] = matchValues(e);
            return { frontend_id: beNumber(fid!), backend_id: beNumber(bid!) };
          },
          value: (e, counter) => {
            const a = act(e);
            return { backend_id: beNumber(param(a, 'backend_id')), addr: ipv4Of(param(a, 'addr')), port: beNumber(param(a, 'port')), counter };
          },
        };
      case 'reverse_nat':
        return {
          map: mp.reverse_nat as unknown as TableBinding['map'],
          counters,
          key: (e) => beNumber(matchValues(e)[0]!),
          value: (e, counter) => {
            const a = act(e);
            return { addr: ipv4Of(param(a, 'addr')), port: beNumber(param(a, 'port')), counter };
          },
        };
      case 'routes':
        return {
          map: mp.routes as unknown as TableBinding['map'],
          counters,
          key: (e) => {
            const m = e.match[0]!;
            return { prefixlen: m.prefixLen ?? 32, addr: ipv4Of(m.value) };
          },
          value: (e, counter) => {
            const a = act(e);
            const kindName = this.requireSchema().actionById.get(a.action.id);
            if (kindName === 'drop') return { kind: RouteKind.DROP, port: 0, dst_mac: '00:00:00:00:00:00', counter };
            const kind = kindName === 'to_external' ? RouteKind.TO_EXTERNAL : RouteKind.TO_PORT;
            return { kind, port: beNumber(param(a, 'port')), dst_mac: macOf(param(a, 'dst_mac')), counter };
          },
        };
      case 'source_ranges':
        return {
          map: mp.source_ranges as unknown as TableBinding['map'],
          counters,
          key: (e) => {
            const [fid, src] = e.match;
            // The frontend id is matched whole: 32 bits of the trie's prefix.
            return { prefixlen: 32 + (src!.prefixLen ?? 32), frontend_id: beNumber(fid!.value), addr: ipv4Of(src!.value) };
          },
          value: (_e, counter) => ({ counter }),
        };
      case 'egress_ports':
        return {
          map: mp.egress_ports as unknown as TableBinding['map'],
          counters,
          key: (e) => beNumber(matchValues(e)[0]!),
          value: (e, counter) => ({ mac: macOf(param(act(e), 'mac')), counter }),
        };
    }
  }

  // ---- action profile members and groups ----------------------------------------

  private applyMember(tx: MapTransaction, type: TargetUpdate['type'], e: TargetMember): void {
    const id = e.memberId;
    if (type === 'DELETE') {
      const slot = this.memberSlotById.get(id);
      if (slot === undefined) return;
      tx.put(this.maps.members, slot, ZERO_MEMBER);
      tx.onCommit(() => {
        this.memberSlotById.delete(id);
        this.memberSlots.release(slot);
      });
      return;
    }
    const a = e.action;
    const value: Member = { backend_id: beNumber(param(a, 'backend_id')), addr: ipv4Of(param(a, 'addr')), port: beNumber(param(a, 'port')), valid: 1, member_id: id };
    const slot = this.memberSlotById.get(id);
    if (slot !== undefined) return tx.put(this.maps.members, slot, value);
    const fresh = this.memberSlots.take();
    if (fresh === undefined) throw new TargetError(Code.RESOURCE_EXHAUSTED, `backend_selector: all ${this.memberSlots.size} member slots are in use`);
    tx.step(() => this.memberSlotById.set(id, fresh), () => {
      this.memberSlotById.delete(id);
      this.memberSlots.release(fresh);
    });
    // A free slot holds ZERO_MEMBER: that is what undo writes back.
    tx.step(() => this.maps.members.update(fresh, value), () => this.maps.members.update(fresh, ZERO_MEMBER));
  }

  private applyGroup(tx: MapTransaction, type: TargetUpdate['type'], e: TargetGroup, previous: TargetGroup | undefined): void {
    const gid = e.groupId;
    const mp = this.maps;
    const oldLut = this.groupLut.get(gid);
    const hadGroup = this.groupLut.has(gid);
    const pairs = (g: TargetGroup | undefined) => (g?.members ?? []).map((m) => ({ group_id: gid, member_id: m.memberId }));
    if (type === 'DELETE') {
      tx.del(mp.group_luts, gid);
      for (const k of pairs(e)) tx.del(mp.group_members, k);
      tx.onCommit(() => {
        this.groupLut.delete(gid);
        if (oldLut) this.lutSpace.release(oldLut);
      });
      return;
    }
    const m = maglevSizeFor(e.members.length, this.fixedM);
    if (e.members.length > m) throw new TargetError(Code.RESOURCE_EXHAUSTED, `group ${gid}: ${e.members.length} members do not fit a Maglev table of ${m} slots`);
    // Build the new lookup table in free space; the group switches to it below.
    let lut: LutRange | undefined;
    if (e.members.length > 0) {
      const slots = e.members.map((mb) => {
        const s = this.memberSlotById.get(mb.memberId);
        if (s === undefined) throw new TargetError(Code.NOT_FOUND, `group ${gid}: member ${mb.memberId} is not in the switch`);
        return s;
      });
      const table = buildMaglevTable(e.members.map((mb) => ({ key: String(mb.memberId), weight: mb.weight })), m);
      const base = this.lutSpace.take(m);
      if (base === undefined) throw new TargetError(Code.RESOURCE_EXHAUSTED, `backend_selector: no room for another lookup table of ${m} slots (${this.lutSpace.used} of ${this.lutSpace.total} in use)`);
      const range = { base, size: m };
      tx.step(() => undefined, () => this.lutSpace.releaseUnused(range));
      this.opts.datapath.lutWriter().write(base, table, slots);
      lut = range;
    }
    const lutValue = { base: lut?.base ?? 0, size: lut?.size ?? 0, max_size: e.maxSize };
    if (hadGroup) tx.put(mp.group_luts, gid, lutValue);
    else tx.insert(mp.group_luts, gid, lutValue);
    if (!hadGroup && e.members.length > 0) {
      // A new group: all pairs in one batch (one syscall), undone together.
      const fresh = e.members.map((mb) => [{ group_id: gid, member_id: mb.memberId }, mb.weight] as const);
      const undo = (): void => void mp.group_members.deleteBatch(fresh.map(([k]) => k));
      tx.step(() => {
        try {
          mp.group_members.updateBatch(fresh);
        } catch (err) {
          undo(); // a batch that failed part-way
          throw err;
        }
      }, undo);
      tx.onCommit(() => this.groupLut.set(gid, lut));
      return;
    }
    // Membership for Read after a restart: drop pairs that left, write the rest.
    const keep = new Set(e.members.map((mb) => mb.memberId));
    for (const k of pairs(previous)) if (!keep.has(k.member_id)) tx.del(mp.group_members, k);
    const oldWeights = new Map((previous?.members ?? []).map((mb) => [mb.memberId, mb.weight]));
    for (const mb of e.members) {
      const k = { group_id: gid, member_id: mb.memberId };
      if (oldWeights.get(mb.memberId) === mb.weight) continue;
      if (oldWeights.has(mb.memberId)) tx.put(mp.group_members, k, mb.weight);
      else tx.insert(mp.group_members, k, mb.weight);
    }
    tx.onCommit(() => {
      this.groupLut.set(gid, lut);
      if (oldLut) this.lutSpace.release(oldLut);
    });
  }

  // ---- pipeline, restore ---------------------------------------------------------

  private resolve(p4info: P4InfoIndex): SwitchSchema {
    try {
      return resolveSchema(p4info);
    } catch (e) {
      if (e instanceof SchemaMismatchError) throw new TargetError(Code.INVALID_ARGUMENT, e.message);
      throw e;
    }
  }

  private requireSchema(): SwitchSchema {
    if (!this.schema) throw new TargetError(Code.FAILED_PRECONDITION, 'no forwarding pipeline is set');
    return this.schema;
  }

  private tableMap(name: SwitchTableName): BpfMap<unknown, unknown> {
    return this.maps[name] as unknown as BpfMap<unknown, unknown>;
  }

  private counterMap(name: SwitchTableName): BpfMap<number, Counter[]> {
    return this.maps[`${name}_counters`];
  }

  /** Empties every table (a new pipeline without reconcile). Ports and local addresses stay. */
  private clear(): void {
    for (const t of SWITCH_TABLE_NAMES) {
      // Free counter slots are kept at zero (see applyEntry).
      const counters = this.counterMap(t);
      for (const [, v] of this.tableMap(t).entries()) counters.update((v as { counter: number }).counter, ZERO_COUNTER);
      this.tableMap(t).clear();
    }
    // Scan rather than trust memberSlotById: the maps may come from an older run.
    for (const [slot, m] of this.maps.members.entries()) if (m.valid) this.maps.members.update(slot, ZERO_MEMBER);
    this.maps.group_luts.clear();
    this.maps.group_members.clear();
    this.memberSlotById.clear();
    this.groupLut.clear();
    this.memberSlots = new SlotAllocator(this.memberSlots.size);
    this.lutSpace = new LutSpace(this.lutSpace.total);
    for (const t of SWITCH_TABLE_NAMES) this.counterSlots[t] = new SlotAllocator(this.counterSlots[t].size);
  }

  /** Reads the pinned maps back: allocator state and the entities Read must return. */
  private rebuild(): Entity[] {
    const s = this.schema ?? this.resolve(talariaP4Info());
    const mp = this.maps;
    const out: Entity[] = [];
    const used = (t: SwitchTableName, slots: number[]) => (this.counterSlots[t] = SlotAllocator.fromUsed(this.counterSlots[t].size, slots));
    const actionOf = (name: keyof SwitchSchema['actions'], values: Record<string, number | Buffer>) => ({ action: wireAction(s.actions[name], values) });
    const fieldBits = (t: SwitchTableName, i: number) => s.tables[t].fields[i]!.bitwidth;

    // Members first: backend_select entries refer to them by slot.
    this.memberSlotById.clear();
    const memberIdBySlot = new Map<number, number>();
    for (const [slot, m] of mp.members.entries()) {
      if (!m.valid) continue;
      this.memberSlotById.set(m.member_id, slot);
      memberIdBySlot.set(slot, m.member_id);
      out.push({
        action_profile_member: {
          action_profile_id: s.selector.id,
          member_id: m.member_id,
          action: wireAction(s.actions.to_backend, { backend_id: m.backend_id, addr: ipv4Bytes(m.addr), port: m.port }),
        },
      });
    }
    this.memberSlots = SlotAllocator.fromUsed(this.memberSlots.size, memberIdBySlot.keys());

    const membersOf = new Map<number, { member_id: number; weight: number }[]>();
    for (const [k, weight] of mp.group_members.entries()) {
      const list = membersOf.get(k.group_id) ?? [];
      list.push({ member_id: k.member_id, weight });
      membersOf.set(k.group_id, list);
    }
    this.groupLut.clear();
    const ranges: LutRange[] = [];
    for (const [gid, lut] of mp.group_luts.entries()) {
      const range = lut.size ? { base: lut.base, size: lut.size } : undefined;
      this.groupLut.set(gid, range);
      if (range) ranges.push(range);
      const members = (membersOf.get(gid) ?? []).sort((a, b) => a.member_id - b.member_id);
      out.push({ action_profile_group: { action_profile_id: s.selector.id, group_id: gid, members, max_size: lut.max_size } });
    }
    this.lutSpace = LutSpace.fromUsed(this.lutSpace.total, ranges);

    const slots: number[] = [];
    for (const [k, v] of mp.frontends.entries()) {
      slots.push(v.counter);
      out.push(wireTableEntry(s.tables.frontends, [ipv4Bytes(k.addr), beBytes(k.port, fieldBits('frontends', 1)), beBytes(k.proto, fieldBits('frontends', 2))],
        actionOf('set_frontend', { frontend_id: v.frontend_id, flags: v.flags & 0xff })));
    }
    used('frontends', slots.splice(0));
    for (const [fid, v] of mp.backend_select.entries()) {
      slots.push(v.counter);
      const ref = v.kind === SelectKind.GROUP ? { action_profile_group_id: v.ref } : { action_profile_member_id: memberIdBySlot.get(v.ref) ?? 0 };
      out.push(wireTableEntry(s.tables.backend_select, [beBytes(fid, fieldBits('backend_select', 0))], ref));
    }
    used('backend_select', slots.splice(0));
    for (const [k, v] of mp.backends.entries()) {
      slots.push(v.counter);
      out.push(wireTableEntry(s.tables.backends, [beBytes(k.frontend_id, fieldBits('backends', 0)), beBytes(k.backend_id, fieldBits('backends', 1))],
        actionOf('to_backend', { backend_id: v.backend_id, addr: ipv4Bytes(v.addr), port: v.port })));
    }
    used('backends', slots.splice(0));
    for (const [fid, v] of mp.reverse_nat.entries()) {
      slots.push(v.counter);
      out.push(wireTableEntry(s.tables.reverse_nat, [beBytes(fid, fieldBits('reverse_nat', 0))], actionOf('restore_frontend', { addr: ipv4Bytes(v.addr), port: v.port })));
    }
    used('reverse_nat', slots.splice(0));
    for (const [k, v] of mp.routes.entries()) {
      slots.push(v.counter);
      const action =
        v.kind === RouteKind.DROP
          ? actionOf('drop', {})
          : actionOf(v.kind === RouteKind.TO_EXTERNAL ? 'to_external' : 'to_port', { port: v.port, dst_mac: macBytes(v.dst_mac) });
      out.push(wireTableEntry(s.tables.routes, [{ value: ipv4Bytes(k.addr), prefixLen: k.prefixlen }], action));
    }
    used('routes', slots.splice(0));
    for (const [port, v] of mp.egress_ports.entries()) {
      slots.push(v.counter);
      out.push(wireTableEntry(s.tables.egress_ports, [beBytes(port, fieldBits('egress_ports', 0))], actionOf('set_source_mac', { mac: macBytes(v.mac) })));
    }
    used('egress_ports', slots.splice(0));
    for (const [k, v] of mp.source_ranges.entries()) {
      slots.push(v.counter);
      out.push(wireTableEntry(s.tables.source_ranges, [beBytes(k.frontend_id, fieldBits('source_ranges', 0)), { value: ipv4Bytes(k.addr), prefixLen: k.prefixlen - 32 }], actionOf('allow_source', {})));
    }
    used('source_ranges', slots.splice(0));
    return out;
  }
}

function toTargetError(err: unknown, update: TargetUpdate, undoErrors: unknown[]): unknown {
  const undo = undoErrors.length ? ` (and ${undoErrors.length} undo step(s) failed: ${String(undoErrors[0])})` : '';
  if (err instanceof TargetError) return undoErrors.length ? new TargetError(err.code, err.message + undo) : err;
  const what = `${update.type} ${update.entity.kind}`;
  if (err instanceof MapFullError) return new TargetError(Code.RESOURCE_EXHAUSTED, `${what}: map ${err.object} is full${undo}`);
  if (err instanceof BpfError) return new TargetError(Code.INTERNAL, `${what}: ${err.message}${undo}`);
  return err;
}
