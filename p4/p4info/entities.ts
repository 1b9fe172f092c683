// P4 entities by name: what the controller writes ('frontends', key
// dst_addr '10.96.0.10', action set_frontend) turned into wire entities with
// ids and canonical bytestrings, and wire entities turned back into names
// and readable values (for `talaria switch tables` and error messages).
import type { Action, ActionProfileGroupMember, Entity, FieldMatch, TableEntry } from '../proto/types.js';
import { encodeValue, formatValue } from './bytestring.js';
import type { ValueInput } from './bytestring.js';
import type { P4InfoIndex } from './p4info.js';
import { P4InfoLookupError } from './p4info.js';
import type { MatchFieldInfo } from './types.js';

/** A key field: a value for EXACT; `{ value, prefixLen }` or 'a.b.c.d/len' for LPM; `{ value, mask }` for TERNARY. */
export type MatchInput =
  | ValueInput
  | { readonly value: ValueInput; readonly prefixLen: number }
  | { readonly value: ValueInput; readonly mask: ValueInput }
  | { readonly low: ValueInput; readonly high: ValueInput };

export interface ActionInput {
  /** Alias or full name ('to_backend'). */
  readonly name: string;
  readonly params?: Readonly<Record<string, ValueInput>>;
}

export type TableActionInput = ActionInput | { readonly groupId: number } | { readonly memberId: number };

function fieldMatch(field: MatchFieldInfo, input: MatchInput): FieldMatch {
  switch (field.matchType) {
    case 'EXACT':
      return { field_id: field.id, exact: { value: encodeValue(input as ValueInput, field.bitwidth) } };
    case 'OPTIONAL':
      return { field_id: field.id, optional: { value: encodeValue(input as ValueInput, field.bitwidth) } };
    case 'LPM': {
      if (typeof input === 'string' && input.includes('/')) {
        const [addr, len] = input.split('/');
        return { field_id: field.id, lpm: { value: encodeValue(addr, field.bitwidth), prefix_len: Number(len) } };
      }
      const lpm = input as { value: ValueInput; prefixLen: number };
      return { field_id: field.id, lpm: { value: encodeValue(lpm.value, field.bitwidth), prefix_len: lpm.prefixLen } };
    }
    case 'TERNARY': {
      const t = input as { value: ValueInput; mask: ValueInput };
      return { field_id: field.id, ternary: { value: encodeValue(t.value, field.bitwidth), mask: encodeValue(t.mask, field.bitwidth) } };
    }
    case 'RANGE': {
      const r = input as { low: ValueInput; high: ValueInput };
      return { field_id: field.id, range: { low: encodeValue(r.low, field.bitwidth), high: encodeValue(r.high, field.bitwidth) } };
    }
  }
}

/** A p4.v1.Action from an action name and named parameters (every parameter required). */
export function buildAction(p4info: P4InfoIndex, input: ActionInput): Action {
  const action = p4info.action(input.name);
  const given = input.params ?? {};
  for (const name of Object.keys(given)) p4info.param(action, name);
  return {
    action_id: action.id,
    params: action.params.map((p) => {
      const value = given[p.name];
      if (value === undefined) throw new P4InfoLookupError(`action '${action.alias}' needs parameter '${p.name}'`);
      return { param_id: p.id, value: encodeValue(value, p.bitwidth) };
    }),
  };
}

/**
 * A table entry entity. `match` names key fields; an LPM/ternary field left
 * out is a wildcard. `action` is omitted for DELETE and for Read filters.
 */
export function buildTableEntry(
  p4info: P4InfoIndex,
  table: string,
  match: Readonly<Record<string, MatchInput>>,
  action?: TableActionInput,
  options: { priority?: number } = {},
): Entity {
  const info = p4info.table(table);
  const entry: TableEntry = {
    table_id: info.id,
    match: Object.entries(match).map(([name, value]) => fieldMatch(p4info.matchField(info, name), value)),
    priority: options.priority ?? 0,
  };
  if (action && 'groupId' in action) entry.action = { action_profile_group_id: action.groupId };
  else if (action && 'memberId' in action) entry.action = { action_profile_member_id: action.memberId };
  else if (action) entry.action = { action: buildAction(p4info, action) };
  return { table_entry: entry };
}

export function buildMember(p4info: P4InfoIndex, profile: string, memberId: number, action?: ActionInput): Entity {
  return {
    action_profile_member: {
      action_profile_id: p4info.actionProfile(profile).id,
      member_id: memberId,
      action: action ? buildAction(p4info, action) : null,
    },
  };
}

export function buildGroup(
  p4info: P4InfoIndex,
  profile: string,
  groupId: number,
  members: readonly ActionProfileGroupMember[] = [],
  maxSize = 0,
): Entity {
  return {
    action_profile_group: {
      action_profile_id: p4info.actionProfile(profile).id,
      group_id: groupId,
      members: members.map((m) => ({ member_id: m.member_id, weight: m.weight })),
      max_size: maxSize,
    },
  };
}

/** A wildcard Read filter: every entry of one table (or of all tables with no name), counters included on request. */
export function tableWildcard(p4info: P4InfoIndex, table?: string, withCounters = false): Entity {
  return {
    table_entry: {
      table_id: table === undefined ? 0 : p4info.table(table).id,
      counter_data: withCounters ? { byte_count: '0', packet_count: '0' } : null,
    },
  };
}

export interface DescribedAction {
  name: string;
  params: Record<string, string>;
}

export interface DescribedTableEntry {
  table: string;
  match: Record<string, string>;
  action: DescribedAction | { group: number } | { member: number } | null;
  priority: number;
  counters?: { packets: bigint; bytes: bigint };
}

export function describeAction(p4info: P4InfoIndex, action: Action): DescribedAction {
  const info = p4info.action(action.action_id);
  const params: Record<string, string> = {};
  for (const p of action.params ?? []) {
    const param = p4info.param(info, p.param_id);
    params[param.name] = formatValue(p.value, param.bitwidth, param.name);
  }
  return { name: info.alias, params };
}

/** Names and readable values of a wire table entry (addresses dotted, numbers decimal). */
export function describeTableEntry(p4info: P4InfoIndex, entry: TableEntry): DescribedTableEntry {
  const table = p4info.table(entry.table_id);
  const match: Record<string, string> = {};
  for (const m of entry.match ?? []) {
    const field = p4info.matchField(table, m.field_id);
    if (m.exact) match[field.name] = formatValue(m.exact.value, field.bitwidth, field.name);
    else if (m.lpm) match[field.name] = `${formatValue(m.lpm.value, field.bitwidth, field.name)}/${m.lpm.prefix_len}`;
    else if (m.optional) match[field.name] = formatValue(m.optional.value, field.bitwidth, field.name);
    else if (m.ternary) match[field.name] = `${formatValue(m.ternary.value, field.bitwidth, field.name)}&&&${formatValue(m.ternary.mask, field.bitwidth, 'mask')}`;
    else if (m.range) match[field.name] = `${formatValue(m.range.low, field.bitwidth, field.name)}..${formatValue(m.range.high, field.bitwidth, field.name)}`;
  }
  let action: DescribedTableEntry['action'] = null;
  const a = entry.action;
  if (a?.action) action = describeAction(p4info, a.action);
  else if (a && (a.type === 'action_profile_group_id' || (a.type === undefined && a.action_profile_group_id))) action = { group: a.action_profile_group_id ?? 0 };
  else if (a && (a.type === 'action_profile_member_id' || (a.type === undefined && a.action_profile_member_id))) action = { member: a.action_profile_member_id ?? 0 };
  const described: DescribedTableEntry = { table: table.alias, match, action, priority: entry.priority ?? 0 };
  if (entry.counter_data) {
    described.counters = { packets: BigInt(entry.counter_data.packet_count), bytes: BigInt(entry.counter_data.byte_count) };
  }
  return described;
}

/** One line naming an entity, for errors and logs: `frontends{dst_addr=10.96.0.10, dst_port=80, protocol=6}`. */
export function entityLabel(p4info: P4InfoIndex | undefined, entity: Entity): string {
  try {
    if (entity.table_entry) {
      if (!p4info) return `table_entry(table_id=${entity.table_entry.table_id})`;
      const d = describeTableEntry(p4info, entity.table_entry);
      return `${d.table}{${Object.entries(d.match).map(([k, v]) => `${k}=${v}`).join(', ')}}`;
    }
    if (entity.action_profile_member) {
      const m = entity.action_profile_member;
      const profile = p4info?.findActionProfile(m.action_profile_id)?.alias ?? `profile ${m.action_profile_id}`;
      return `${profile} member ${m.member_id}`;
    }
    if (entity.action_profile_group) {
      const g = entity.action_profile_group;
      const profile = p4info?.findActionProfile(g.action_profile_id)?.alias ?? `profile ${g.action_profile_id}`;
      return `${profile} group ${g.group_id}`;
    }
  } catch {
    // ids the P4Info does not know: name the entity by its raw ids
    if (entity.table_entry) return `table_entry(table_id=${entity.table_entry.table_id})`;
  }
  return entity.entity ?? Object.keys(entity).find((k) => (entity as Record<string, unknown>)[k]) ?? 'entity';
}
