// The boundary between the generic P4Runtime server (arbitration, pipeline,
// validation against the P4Info, the entity store, Read, errors) and a
// target that makes entities real: the eBPF software switch
// (p4/softswitch/) turns them into map updates; memory-target.ts keeps them
// in a Map for tests.
//
// Division of work: the server checks everything the P4Info and the entity
// store can decide (ids, widths, canonical bytes, action allowed in the
// table, duplicates, missing entries, table and profile capacity, member and
// group references, a member still used by a group). A target only applies
// what already passed, all-or-nothing per update, and may still refuse
// (e.g. RESOURCE_EXHAUSTED when its maps are smaller, INTERNAL when a map
// write fails) by throwing TargetError.
import type { Code } from '../proto/codes.js';
import type { P4InfoIndex } from '../p4info/p4info.js';
import type { ActionInfo, ActionProfileInfo, MatchFieldInfo, ParamInfo, TableInfo } from '../p4info/types.js';
import type { Entity, UpdateType } from '../proto/types.js';
import type { P4InfoMessage } from '../p4info/p4info.js';

/** One key field, its value big-endian at the field's full byte width (ceil(bitwidth / 8)). */
export interface TargetMatch {
  readonly field: MatchFieldInfo;
  readonly value: Buffer;
  /** LPM only: the prefix length in bits (the value's host bits are zero). */
  readonly prefixLen?: number;
  /** TERNARY only. */
  readonly mask?: Buffer;
  /** RANGE only: `value` is the low end. */
  readonly high?: Buffer;
}

/** One action parameter, big-endian at the parameter's full byte width. */
export interface TargetParam {
  readonly param: ParamInfo;
  readonly value: Buffer;
}

export interface TargetAction {
  readonly action: ActionInfo;
  /** In P4Info order, every parameter present. */
  readonly params: readonly TargetParam[];
}

export type TargetTableAction =
  | { readonly kind: 'action'; readonly action: TargetAction }
  | { readonly kind: 'member'; readonly memberId: number }
  | { readonly kind: 'group'; readonly groupId: number };

export interface TargetTableEntry {
  readonly kind: 'table_entry';
  readonly table: TableInfo;
  /**
   * Every match field of the table in P4Info order. A wildcarded LPM/ternary
   * field is present with prefixLen 0 / an all-zero mask.
   */
  readonly match: readonly TargetMatch[];
  readonly priority: number;
  readonly action: TargetTableAction;
  /** Identity of the entry within its table (table id + canonical match + priority). */
  readonly key: string;
  /** The entity in canonical wire form, as Read returns it (without counter data). */
  readonly entity: Entity;
}

export interface TargetMember {
  readonly kind: 'action_profile_member';
  readonly profile: ActionProfileInfo;
  readonly memberId: number;
  readonly action: TargetAction;
  readonly key: string;
  readonly entity: Entity;
}

export interface TargetGroup {
  readonly kind: 'action_profile_group';
  readonly profile: ActionProfileInfo;
  readonly groupId: number;
  /** Members in the order the controller listed them; weight >= 1. */
  readonly members: readonly { readonly memberId: number; readonly weight: number }[];
  readonly maxSize: number;
  readonly key: string;
  readonly entity: Entity;
}

export type TargetEntity = TargetTableEntry | TargetMember | TargetGroup;

/**
 * One validated update. For MODIFY, `previous` is the entity being replaced;
 * for DELETE, `entity` is the stored entity (with its action), so the target
 * knows everything it has to remove.
 */
export interface TargetUpdate {
  readonly type: Exclude<UpdateType, 'UNSPECIFIED'>;
  readonly entity: TargetEntity;
  readonly previous?: TargetEntity;
}

/** What the server's entity store lets a target look up while applying (state before the update). */
export interface StoreView {
  member(profileId: number, memberId: number): TargetMember | undefined;
  group(profileId: number, groupId: number): TargetGroup | undefined;
  /** Groups of the profile that list this member. */
  groupsWithMember(profileId: number, memberId: number): readonly TargetGroup[];
  /** Table entries whose action is this group (or member) of an indirect table. */
  entriesUsing(tableId: number, ref: { groupId: number } | { memberId: number }): readonly TargetTableEntry[];
  tableEntries(tableId: number): Iterable<TargetTableEntry>;
}

export interface CounterValues {
  readonly packets: bigint;
  readonly bytes: bigint;
}

export interface TargetPipeline {
  readonly p4info: P4InfoIndex;
  /** ForwardingPipelineConfig.cookie.cookie (decimal string; '0' when none). */
  readonly cookie: string;
}

/** What a target still holds when the server starts (e.g. pinned maps after a restart). */
export interface RestoredState {
  /** The P4Info message last committed (CONVERSION form) and its cookie. */
  readonly p4info: P4InfoMessage;
  readonly cookie: string;
  /**
   * Every entity, wire form, canonical or zero-padded bytes (the server
   * re-validates them; order does not matter).
   */
  readonly entities: readonly Entity[];
}

/** A refusal by the target; `code` becomes the p4.v1.Error canonical_code of the update. */
export class TargetError extends Error {
  override name = 'TargetError';
  constructor(readonly code: (typeof Code)[keyof typeof Code], message: string) {
    super(message);
  }
}

export interface P4Target {
  /** Shown in logs and errors ('memory', 'ebpf'). */
  readonly description: string;
  /**
   * Called once before the server accepts calls: the pipeline and entities
   * the target still holds, or undefined when it starts empty.
   */
  restore(): Promise<RestoredState | undefined>;
  /**
   * A pipeline is being committed. `reconcile` true (RECONCILE_AND_COMMIT, or
   * the same P4Info again) keeps the forwarding state; false clears it: the
   * server's store is emptied too. Throwing refuses the pipeline.
   */
  setPipeline(pipeline: TargetPipeline, reconcile: boolean): Promise<void>;
  /**
   * Entries the target can hold for a table or action profile (members), when
   * less than the P4Info size; undefined means the P4Info size.
   */
  capacity?(objectId: number): number | undefined;
  /** Applies one update all-or-nothing: on a throw nothing of it may remain. */
  apply(update: TargetUpdate, store: StoreView): Promise<void>;
  /** Direct counters of these entries of one table, in the same order. */
  readCounters(table: TableInfo, entries: readonly TargetTableEntry[]): Promise<readonly CounterValues[]>;
  /** Releases what the target holds open (not its persistent state). */
  close(): Promise<void>;
}
