// Static validation of one update against the P4Info: ids exist, every
// field and parameter is present once with a value that fits its width, LPM
// prefixes are clean, actions belong to the table or profile. Produces the
// target's form (values padded to full width) and the canonical wire form
// that Read returns. Checks against existing state (duplicates, missing
// entries, references, capacity) live in entity-store.ts.
import type { ActionInfo, MatchFieldInfo, TableInfo } from '../p4info/types.js';
import type { P4InfoIndex } from '../p4info/p4info.js';
import { byteWidth, canonicalize, fitsWidth, padToWidth, toBigInt } from '../p4info/bytestring.js';
import { Code } from '../proto/codes.js';
import type { Action, Entity, FieldMatch, TableEntry, Update } from '../proto/types.js';
import type { TargetAction, TargetEntity, TargetGroup, TargetMatch, TargetMember, TargetTableAction, TargetTableEntry } from './target.js';
import { UpdateError, invalid } from './update-error.js';

/**
 * A bytestring for a field/param of this width: non-empty and its value in
 * range. Zero padding of any length is accepted (P4Runtime asks servers to
 * accept non-canonical input); Read returns the canonical form.
 */
function checkBytes(what: string, value: Buffer | undefined, bitwidth: number): Buffer {
  if (!value || value.length === 0) throw invalid(`${what}: empty bytestring`);
  if (!fitsWidth(value, bitwidth)) throw invalid(`${what}: value 0x${value.toString('hex')} exceeds ${bitwidth} bits`);
  return value;
}

function validateMatch(table: TableInfo, matches: readonly FieldMatch[]): { match: TargetMatch[]; wire: FieldMatch[] } {
  const given = new Map<number, FieldMatch>();
  for (const m of matches) {
    if (given.has(m.field_id)) throw invalid(`table '${table.alias}': match field id ${m.field_id} given twice`);
    if (!table.matchFields.some((f) => f.id === m.field_id)) throw invalid(`table '${table.alias}' has no match field id ${m.field_id}`);
    given.set(m.field_id, m);
  }
  const match: TargetMatch[] = [];
  const wire: FieldMatch[] = [];
  for (const field of table.matchFields) {
    const m = given.get(field.id);
    const what = `table '${table.alias}' field '${field.name}'`;
    const kind = m ? (m.field_match_type ?? (['exact', 'lpm', 'ternary', 'range', 'optional'] as const).find((k) => m[k])) : undefined;
    if (m && kind !== field.matchType.toLowerCase()) throw invalid(`${what} is ${field.matchType}, got a ${kind ?? 'missing'} match`);
    const full = Buffer.alloc(byteWidth(field.bitwidth));
    switch (field.matchType) {
      case 'EXACT': {
        if (!m?.exact) throw invalid(`${what}: exact match field missing`);
        const value = checkBytes(what, m.exact.value, field.bitwidth);
        match.push({ field, value: padToWidth(value, field.bitwidth) });
        wire.push({ field_id: field.id, exact: { value: canonicalize(value) } });
        break;
      }
      case 'LPM': {
        if (!m?.lpm) {
          match.push({ field, value: full, prefixLen: 0 });
          break;
        }
        const value = checkBytes(what, m.lpm.value, field.bitwidth);
        const len = m.lpm.prefix_len;
        if (len < 1 || len > field.bitwidth) throw invalid(`${what}: prefix length ${len} outside 1..${field.bitwidth} (omit the field for a wildcard)`);
        const hostBits = (1n << BigInt(field.bitwidth - len)) - 1n;
        if ((toBigInt(value) & hostBits) !== 0n) throw invalid(`${what}: host bits set beyond /${len}`);
        match.push({ field, value: padToWidth(value, field.bitwidth), prefixLen: len });
        wire.push({ field_id: field.id, lpm: { value: canonicalize(value), prefix_len: len } });
        break;
      }
      case 'TERNARY': {
        if (!m?.ternary) {
          match.push({ field, value: full, mask: full });
          break;
        }
        const value = checkBytes(what, m.ternary.value, field.bitwidth);
        const mask = checkBytes(`${what} mask`, m.ternary.mask, field.bitwidth);
        if (toBigInt(mask) === 0n) throw invalid(`${what}: all-zero mask (omit the field for a wildcard)`);
        if ((toBigInt(value) & ~toBigInt(mask)) !== 0n) throw invalid(`${what}: value has bits outside the mask`);
        match.push({ field, value: padToWidth(value, field.bitwidth), mask: padToWidth(mask, field.bitwidth) });
        wire.push({ field_id: field.id, ternary: { value: canonicalize(value), mask: canonicalize(mask) } });
        break;
      }
      case 'RANGE': {
        if (!m?.range) {
          match.push({ field, value: full, high: maxOf(field) });
          break;
        }
        const low = checkBytes(`${what} low`, m.range.low, field.bitwidth);
        const high = checkBytes(`${what} high`, m.range.high, field.bitwidth);
        if (toBigInt(low) > toBigInt(high)) throw invalid(`${what}: low > high`);
        match.push({ field, value: padToWidth(low, field.bitwidth), high: padToWidth(high, field.bitwidth) });
        wire.push({ field_id: field.id, range: { low: canonicalize(low), high: canonicalize(high) } });
        break;
      }
      case 'OPTIONAL': {
        if (!m?.optional) {
          match.push({ field, value: full });
          break;
        }
        const value = checkBytes(what, m.optional.value, field.bitwidth);
        match.push({ field, value: padToWidth(value, field.bitwidth) });
        wire.push({ field_id: field.id, optional: { value: canonicalize(value) } });
        break;
      }
      default:
        throw new UpdateError(Code.UNIMPLEMENTED, `${what}: match type ${String(field.matchType)} not supported`);
    }
  }
  return { match, wire };
}

/** The largest value of the field, at full width (the high end of a wildcard range). */
function maxOf(field: MatchFieldInfo): Buffer {
  const hex = ((1n << BigInt(field.bitwidth)) - 1n).toString(16).padStart(byteWidth(field.bitwidth) * 2, '0');
  return Buffer.from(hex, 'hex');
}

/** An action's parameters: every one exactly once, values fitting their widths. */
export function validateAction(p4info: P4InfoIndex, action: Action, owner: string): { target: TargetAction; wire: Action } {
  const info: ActionInfo | undefined = p4info.findAction(action.action_id);
  if (!info) throw invalid(`${owner}: unknown action id ${action.action_id}`);
  const given = new Map<number, Buffer>();
  for (const p of action.params ?? []) {
    if (given.has(p.param_id)) throw invalid(`action '${info.alias}': parameter id ${p.param_id} given twice`);
    if (!info.params.some((x) => x.id === p.param_id)) throw invalid(`action '${info.alias}' has no parameter id ${p.param_id}`);
    given.set(p.param_id, p.value);
  }
  const params = info.params.map((param) => {
    const value = given.get(param.id);
    if (!value) throw invalid(`action '${info.alias}': parameter '${param.name}' missing`);
    checkBytes(`action '${info.alias}' parameter '${param.name}'`, value, param.bitwidth);
    return { param, value };
  });
  return {
    target: { action: info, params: params.map(({ param, value }) => ({ param, value: padToWidth(value, param.bitwidth) })) },
    wire: { action_id: info.id, params: params.map(({ param, value }) => ({ param_id: param.id, value: canonicalize(value) })) },
  };
}

function tableAction(p4info: P4InfoIndex, table: TableInfo, entry: TableEntry): { target: TargetTableAction; wire: TableEntry['action'] } {
  const a = entry.action;
  const kind = a?.type ?? (a?.action ? 'action' : a?.action_profile_group_id ? 'action_profile_group_id' : a?.action_profile_member_id ? 'action_profile_member_id' : undefined);
  if (!a || !kind) throw invalid(`table '${table.alias}': entry has no action`);
  if (table.implementationId === 0) {
    if (kind !== 'action' || !a.action) throw invalid(`table '${table.alias}' is direct: the entry needs an action, not a ${kind}`);
    const { target, wire } = validateAction(p4info, a.action, `table '${table.alias}'`);
    if (!p4info.tableAllowsAction(table, target.action.id)) throw invalid(`table '${table.alias}' does not allow action '${target.action.alias}'`);
    return { target: { kind: 'action', action: target }, wire: { action: wire } };
  }
  const profile = p4info.actionProfile(table.implementationId);
  if (kind === 'action_profile_member_id') {
    return { target: { kind: 'member', memberId: a.action_profile_member_id ?? 0 }, wire: { action_profile_member_id: a.action_profile_member_id ?? 0 } };
  }
  if (kind === 'action_profile_group_id') {
    if (!profile.withSelector) throw invalid(`table '${table.alias}': profile '${profile.alias}' has no selector, so no groups`);
    return { target: { kind: 'group', groupId: a.action_profile_group_id ?? 0 }, wire: { action_profile_group_id: a.action_profile_group_id ?? 0 } };
  }
  throw invalid(`table '${table.alias}' is implemented by '${profile.alias}': the entry needs a member or group id, not a ${kind}`);
}

/** Identity of a table entry within the device. */
export function tableEntryKey(tableId: number, wireMatch: readonly FieldMatch[], priority: number): string {
  const parts = wireMatch.map((m) => {
    if (m.exact) return `${m.field_id}=${m.exact.value.toString('hex')}`;
    if (m.lpm) return `${m.field_id}=${m.lpm.value.toString('hex')}/${m.lpm.prefix_len}`;
    if (m.ternary) return `${m.field_id}=${m.ternary.value.toString('hex')}&${m.ternary.mask.toString('hex')}`;
    if (m.range) return `${m.field_id}=${m.range.low.toString('hex')}-${m.range.high.toString('hex')}`;
    return `${m.field_id}=${m.optional?.value.toString('hex')}`;
  });
  return `t${tableId}|${parts.join(',')}|p${priority}`;
}

export function memberKey(profileId: number, memberId: number): string {
  return `m${profileId}|${memberId}`;
}

export function groupKey(profileId: number, groupId: number): string {
  return `g${profileId}|${groupId}`;
}

/**
 * Validates the entity of an update statically. `needsAction` is false for
 * DELETE (only the key matters) and for Read filters.
 */
export function validateEntity(p4info: P4InfoIndex, entity: Entity, needsAction: boolean): TargetEntity {
  const kind = entity.entity ?? (entity.table_entry ? 'table_entry' : entity.action_profile_member ? 'action_profile_member' : entity.action_profile_group ? 'action_profile_group' : undefined);
  if (kind === 'table_entry' && entity.table_entry) return validateTableEntry(p4info, entity.table_entry, needsAction);
  if (kind === 'action_profile_member' && entity.action_profile_member) {
    const m = entity.action_profile_member;
    const profile = p4info.findActionProfile(m.action_profile_id);
    if (!profile) throw invalid(`unknown action profile id ${m.action_profile_id}`);
    let action: TargetAction = { action: { id: 0, name: '', alias: '', params: [] }, params: [] };
    let wireAction: Action | null = null;
    if (needsAction) {
      if (!m.action) throw invalid(`${profile.alias} member ${m.member_id}: no action`);
      const v = validateAction(p4info, m.action, `${profile.alias} member ${m.member_id}`);
      const allowed = profile.tableIds.some((t) => p4info.tableAllowsAction(p4info.table(t), v.target.action.id));
      if (!allowed) throw invalid(`${profile.alias} member ${m.member_id}: action '${v.target.action.alias}' is not an action of the profile's tables`);
      action = v.target;
      wireAction = v.wire;
    }
    const member: TargetMember = {
      kind: 'action_profile_member',
      profile,
      memberId: m.member_id,
      action,
      key: memberKey(profile.id, m.member_id),
      entity: { action_profile_member: { action_profile_id: profile.id, member_id: m.member_id, action: wireAction } },
    };
    return member;
  }
  if (kind === 'action_profile_group' && entity.action_profile_group) {
    const g = entity.action_profile_group;
    const profile = p4info.findActionProfile(g.action_profile_id);
    if (!profile) throw invalid(`unknown action profile id ${g.action_profile_id}`);
    const what = `${profile.alias} group ${g.group_id}`;
    if (!profile.withSelector) throw invalid(`${what}: profile has no selector, so no groups`);
    const seen = new Set<number>();
    for (const m of g.members ?? []) {
      if (seen.has(m.member_id)) throw invalid(`${what}: member ${m.member_id} listed twice`);
      seen.add(m.member_id);
      if (m.weight < 1) throw invalid(`${what}: member ${m.member_id} has weight ${m.weight} (must be >= 1)`);
    }
    const maxSize = g.max_size ?? 0;
    if (maxSize < 0 || (profile.maxGroupSize > 0 && maxSize > profile.maxGroupSize)) {
      throw invalid(`${what}: max_size ${maxSize} outside 0..${profile.maxGroupSize}`);
    }
    const members = (g.members ?? []).map((m) => ({ memberId: m.member_id, weight: m.weight }));
    const limit = maxSize || profile.maxGroupSize;
    if (needsAction && limit > 0 && members.length > limit) {
      throw new UpdateError(Code.RESOURCE_EXHAUSTED, `${what}: ${members.length} members, at most ${limit}`);
    }
    const group: TargetGroup = {
      kind: 'action_profile_group',
      profile,
      groupId: g.group_id,
      members,
      maxSize,
      key: groupKey(profile.id, g.group_id),
      entity: {
        action_profile_group: {
          action_profile_id: profile.id,
          group_id: g.group_id,
          members: members.map((m) => ({ member_id: m.memberId, weight: m.weight })),
          max_size: maxSize,
        },
      },
    };
    return group;
  }
  throw new UpdateError(Code.UNIMPLEMENTED, `entity kind '${kind ?? 'none'}' is not supported by this target`);
}

function validateTableEntry(p4info: P4InfoIndex, entry: TableEntry, needsAction: boolean): TargetTableEntry {
  const table = p4info.findTable(entry.table_id);
  if (!table) throw invalid(`unknown table id ${entry.table_id}`);
  if (entry.is_default_action) {
    throw new UpdateError(table.constDefaultActionId ? Code.PERMISSION_DENIED : Code.UNIMPLEMENTED, `table '${table.alias}': the default action cannot be changed`);
  }
  const { match, wire } = validateMatch(table, entry.match ?? []);
  const needsPriority = table.matchFields.some((f) => f.matchType === 'TERNARY' || f.matchType === 'RANGE' || f.matchType === 'OPTIONAL');
  const priority = entry.priority ?? 0;
  if (needsPriority && priority <= 0) throw invalid(`table '${table.alias}': entries need a priority > 0`);
  if (!needsPriority && priority !== 0) throw invalid(`table '${table.alias}': exact/LPM entries take no priority (got ${priority})`);
  let action: TargetTableAction = { kind: 'member', memberId: 0 };
  let wireAction: TableEntry['action'] = null;
  if (needsAction) {
    const v = tableAction(p4info, table, entry);
    action = v.target;
    wireAction = v.wire;
  }
  return {
    kind: 'table_entry',
    table,
    match,
    priority,
    action,
    key: tableEntryKey(table.id, wire, priority),
    entity: { table_entry: { table_id: table.id, match: wire, action: wireAction, priority, metadata: entry.metadata ?? Buffer.alloc(0) } },
  };
}

/** The static part of validating an update; the update type is checked too. */
export function validateUpdate(p4info: P4InfoIndex, update: Update): { type: 'INSERT' | 'MODIFY' | 'DELETE'; entity: TargetEntity } {
  const type = update.type;
  if (type !== 'INSERT' && type !== 'MODIFY' && type !== 'DELETE') throw invalid(`update type ${String(type)} (must be INSERT, MODIFY or DELETE)`);
  if (!update.entity) throw invalid('update without entity');
  return { type, entity: validateEntity(p4info, update.entity, type !== 'DELETE') };
}
