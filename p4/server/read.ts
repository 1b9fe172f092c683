// Read: entities matching the request's filters, wildcards included
// (table_id 0 = every table, no match = every entry, member/group id 0 =
// every member/group), with direct counters when the filter asks for them.
import { Code } from '../proto/codes.js';
import type { P4InfoIndex } from '../p4info/p4info.js';
import type { TableInfo } from '../p4info/types.js';
import type { CounterData, Entity } from '../proto/types.js';
import type { EntityStore } from './entity-store.js';
import type { P4Target, TargetTableEntry } from './target.js';
import { UpdateError } from './update-error.js';
import { validateEntity } from './validate.js';

/** Entities per ReadResponse. */
export const READ_CHUNK = 1000;

function tablesFor(p4info: P4InfoIndex, tableId: number): readonly TableInfo[] {
  if (tableId === 0) return p4info.tables;
  const table = p4info.findTable(tableId);
  if (!table) throw new UpdateError(Code.NOT_FOUND, `unknown table id ${tableId}`);
  return [table];
}

function selectEntries(p4info: P4InfoIndex, store: EntityStore, table: TableInfo, filter: Entity['table_entry']): TargetTableEntry[] {
  if (!filter || (filter.match ?? []).length === 0) return [...store.tableEntries(table.id)];
  const wanted = validateEntity(p4info, { table_entry: { ...filter, table_id: table.id, action: null } }, false);
  const found = store.tableEntry(table.id, wanted.key);
  return found ? [found] : [];
}

function counterData(c: { packets: bigint; bytes: bigint }): CounterData {
  return { packet_count: c.packets.toString(), byte_count: c.bytes.toString() };
}

/** Yields the response entities, in chunks. Throws UpdateError for a bad filter. */
export async function* readEntities(
  p4info: P4InfoIndex,
  store: EntityStore,
  target: P4Target,
  filters: readonly Entity[],
): AsyncGenerator<Entity[]> {
  for (const filter of filters) {
    const kind = filter.entity ?? Object.keys(filter).find((k) => (filter as Record<string, unknown>)[k]);
    if (kind === 'table_entry' || kind === 'direct_counter_entry') {
      const te = kind === 'table_entry' ? filter.table_entry : filter.direct_counter_entry?.table_entry;
      const withCounters = kind === 'direct_counter_entry' || Boolean(filter.table_entry?.counter_data);
      for (const table of tablesFor(p4info, te?.table_id ?? 0)) {
        if (kind === 'direct_counter_entry' && table.directCounterId === undefined) continue;
        if (kind === 'table_entry' && te?.is_default_action) {
          // Every table's default is its const default action (NoAction in talaria.p4).
          if (table.constDefaultActionId) {
            yield [{ table_entry: { table_id: table.id, action: { action: { action_id: table.constDefaultActionId, params: [] } }, is_default_action: true } }];
          }
          continue;
        }
        const entries = selectEntries(p4info, store, table, te);
        for (let i = 0; i < entries.length; i += READ_CHUNK) {
          const chunk = entries.slice(i, i + READ_CHUNK);
          const counters = withCounters && table.directCounterId !== undefined ? await target.readCounters(table, chunk) : undefined;
          yield chunk.map((e, j): Entity => {
            const entry = { ...e.entity.table_entry!, counter_data: counters ? counterData(counters[j]) : null };
            if (kind === 'table_entry') return { table_entry: entry };
            return { direct_counter_entry: { table_entry: { ...entry, action: null, counter_data: null }, data: entry.counter_data } };
          });
        }
      }
    } else if (kind === 'action_profile_member' || kind === 'action_profile_group') {
      const f = kind === 'action_profile_member' ? filter.action_profile_member : filter.action_profile_group;
      const profiles = f?.action_profile_id ? [p4info.findActionProfile(f.action_profile_id)] : p4info.actionProfiles;
      for (const profile of profiles) {
        if (!profile) throw new UpdateError(Code.NOT_FOUND, `unknown action profile id ${f?.action_profile_id}`);
        const id = kind === 'action_profile_member' ? filter.action_profile_member?.member_id : filter.action_profile_group?.group_id;
        const all = kind === 'action_profile_member' ? [...store.allMembers(profile.id)] : [...store.allGroups(profile.id)];
        const chosen = id ? all.filter((x) => (x.kind === 'action_profile_member' ? x.memberId : x.kind === 'action_profile_group' ? x.groupId : -1) === id) : all;
        for (let i = 0; i < chosen.length; i += READ_CHUNK) yield chosen.slice(i, i + READ_CHUNK).map((x) => x.entity);
      }
    } else {
      throw new UpdateError(Code.UNIMPLEMENTED, `reading ${kind ?? 'an empty entity'} is not supported`);
    }
  }
}
