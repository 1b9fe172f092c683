// What `talaria switch tables` shows: every table entry with its counters
// and every selector group with its members, read over P4Runtime. The JSON
// form is a stable contract:
//   {"tables": {"<table>": [{"match": {"<field>": "<value>"},
//                            "action": {"name": "<action>", "params": {"<param>": "<value>"}}
//                                      | {"group": N} | {"member": N},
//                            "counters": {"packets": N, "bytes": N}}]},
//    "groups": {"<action profile>": {"<group id>": {"members": [{"member": N, "weight": N,
//                            "action": {"name": ..., "params": {...}}}]}}}}
// Addresses are dotted, MACs with colons, other values decimal strings;
// counters, ids and weights are JSON numbers. Every table of the P4Info is
// present (possibly empty).
import type { P4RuntimeClient } from './client/client.js';
import { describeAction, describeTableEntry, tableWildcard } from './p4info/entities.js';
import type { DescribedAction } from './p4info/entities.js';
import type { P4InfoIndex } from './p4info/p4info.js';
import type { Entity } from './proto/types.js';

export interface TablesJsonEntry {
  match: Record<string, string>;
  action: DescribedAction | { group: number } | { member: number } | null;
  counters?: { packets: number; bytes: number };
  priority?: number;
}

export interface TablesJson {
  tables: Record<string, TablesJsonEntry[]>;
  groups: Record<string, Record<string, { members: { member: number; weight: number; action: DescribedAction | null }[] }>>;
}

/** Builds the JSON contract from Read results. */
export function tablesJson(p4info: P4InfoIndex, entities: readonly Entity[]): TablesJson {
  const out: TablesJson = { tables: {}, groups: {} };
  for (const t of p4info.tables) out.tables[t.alias] = [];
  const members = new Map<string, DescribedAction | null>();
  for (const e of entities) {
    const m = e.action_profile_member;
    if (m) members.set(`${m.action_profile_id}/${m.member_id}`, m.action ? describeAction(p4info, m.action) : null);
  }
  for (const e of entities) {
    if (e.table_entry) {
      const d = describeTableEntry(p4info, e.table_entry);
      const row: TablesJsonEntry = { match: d.match, action: d.action };
      if (d.priority) row.priority = d.priority;
      if (d.counters) row.counters = { packets: Number(d.counters.packets), bytes: Number(d.counters.bytes) };
      out.tables[d.table].push(row);
    } else if (e.action_profile_group) {
      const g = e.action_profile_group;
      const profile = p4info.actionProfile(g.action_profile_id).alias;
      out.groups[profile] ??= {};
      out.groups[profile][String(g.group_id)] = {
        members: (g.members ?? []).map((m) => ({ member: m.member_id, weight: m.weight, action: members.get(`${g.action_profile_id}/${m.member_id}`) ?? null })),
      };
    }
  }
  for (const rows of Object.values(out.tables)) rows.sort((a, b) => JSON.stringify(a.match).localeCompare(JSON.stringify(b.match)));
  return out;
}

/** Reads every table (with counters), member and group. */
export async function readTables(client: P4RuntimeClient, p4info: P4InfoIndex): Promise<TablesJson> {
  const entities = await client.readAll([
    tableWildcard(p4info, undefined, true),
    { action_profile_member: { action_profile_id: 0, member_id: 0 } },
    { action_profile_group: { action_profile_id: 0, group_id: 0 } },
  ]);
  return tablesJson(p4info, entities);
}

function actionText(action: TablesJsonEntry['action']): string {
  if (!action) return '-';
  if ('group' in action) return `group ${action.group}`;
  if ('member' in action) return `member ${action.member}`;
  const params = Object.entries(action.params).map(([k, v]) => `${k}=${v}`).join(' ');
  return params ? `${action.name}(${params})` : action.name;
}

function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd());
}

/** The human-readable form, one block per table, like `cilium service list`. */
export function renderTables(json: TablesJson): string {
  const lines: string[] = [];
  for (const [table, rows] of Object.entries(json.tables)) {
    lines.push(`${table} (${rows.length} ${rows.length === 1 ? 'entry' : 'entries'})`);
    if (rows.length === 0) {
      lines.push('');
      continue;
    }
    const keys = Object.keys(rows[0].match);
    const body = rows.map((r) => [...keys.map((k) => r.match[k] ?? '*'), actionText(r.action), String(r.counters?.packets ?? '-'), String(r.counters?.bytes ?? '-')]);
    lines.push(...columns([[...keys.map((k) => k.toUpperCase()), 'ACTION', 'PACKETS', 'BYTES'], ...body]).map((l) => `  ${l}`), '');
  }
  for (const [profile, groups] of Object.entries(json.groups)) {
    lines.push(`${profile} groups (${Object.keys(groups).length})`);
    for (const [id, g] of Object.entries(groups)) {
      lines.push(`  group ${id}: ${g.members.length} member(s)`);
      for (const m of g.members) lines.push(`    member ${m.member} weight ${m.weight}: ${actionText(m.action)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
