// What the software switch needs to find in a P4Info: talaria.p4's seven
// tables, their keys and actions, the backend_selector profile, with the
// widths the maps can hold. Resolved once per pipeline; a P4Info of any other
// shape is refused with the first mismatch named (the server turns that into
// INVALID_ARGUMENT).
import type { P4InfoIndex } from '../p4info/p4info.js';
import type { ActionInfo, ActionProfileInfo, MatchFieldInfo, ParamInfo, TableInfo } from '../p4info/types.js';

/** A mismatch between a P4Info and the pipeline the eBPF program implements. */
export class SchemaMismatchError extends Error {
  override name = 'SchemaMismatchError';
}

interface FieldSpec {
  readonly name: string;
  readonly bits: number;
  readonly type: MatchFieldInfo['matchType'];
}
interface ParamSpec {
  readonly name: string;
  readonly bits: number;
}

// The shape of talaria.p4 as the eBPF maps store it (bit widths are maxima).
const TABLES = {
  frontends: { fields: [{ name: 'dst_addr', bits: 32, type: 'EXACT' }, { name: 'dst_port', bits: 16, type: 'EXACT' }, { name: 'protocol', bits: 8, type: 'EXACT' }], actions: ['set_frontend'] },
  backend_select: { fields: [{ name: 'frontend_id', bits: 32, type: 'EXACT' }], actions: ['to_backend'] },
  backends: { fields: [{ name: 'frontend_id', bits: 32, type: 'EXACT' }, { name: 'backend_id', bits: 32, type: 'EXACT' }], actions: ['to_backend'] },
  reverse_nat: { fields: [{ name: 'frontend_id', bits: 32, type: 'EXACT' }], actions: ['restore_frontend'] },
  routes: { fields: [{ name: 'dst_addr', bits: 32, type: 'LPM' }], actions: ['to_port', 'to_external', 'drop'] },
  egress_ports: { fields: [{ name: 'port', bits: 9, type: 'EXACT' }], actions: ['set_source_mac'] },
  source_ranges: { fields: [{ name: 'frontend_id', bits: 32, type: 'EXACT' }, { name: 'src_addr', bits: 32, type: 'LPM' }], actions: ['allow_source'] },
} as const satisfies Record<string, { fields: readonly FieldSpec[]; actions: readonly string[] }>;

const ACTIONS = {
  set_frontend: [{ name: 'frontend_id', bits: 32 }, { name: 'flags', bits: 8 }],
  to_backend: [{ name: 'backend_id', bits: 32 }, { name: 'addr', bits: 32 }, { name: 'port', bits: 16 }],
  restore_frontend: [{ name: 'addr', bits: 32 }, { name: 'port', bits: 16 }],
  to_port: [{ name: 'port', bits: 16 }, { name: 'dst_mac', bits: 48 }],
  to_external: [{ name: 'port', bits: 16 }, { name: 'dst_mac', bits: 48 }],
  drop: [],
  set_source_mac: [{ name: 'mac', bits: 48 }],
  allow_source: [],
} as const satisfies Record<string, readonly ParamSpec[]>;

export type SwitchTableName = keyof typeof TABLES;
export type SwitchActionName = keyof typeof ACTIONS;
export const SWITCH_TABLE_NAMES = Object.keys(TABLES) as SwitchTableName[];

export interface ResolvedTable {
  readonly info: TableInfo;
  /** Match fields in the order of TABLES (P4Info order is checked to agree). */
  readonly fields: readonly MatchFieldInfo[];
}

export interface ResolvedAction {
  readonly info: ActionInfo;
  /** Parameters by name. */
  readonly params: Readonly<Record<string, ParamInfo>>;
}

export interface SwitchSchema {
  readonly p4info: P4InfoIndex;
  readonly tables: Readonly<Record<SwitchTableName, ResolvedTable>>;
  readonly actions: Readonly<Record<SwitchActionName, ResolvedAction>>;
  readonly selector: ActionProfileInfo;
  /** Table alias by table id. */
  readonly tableById: ReadonlyMap<number, SwitchTableName>;
  /** Action alias by action id. */
  readonly actionById: ReadonlyMap<number, SwitchActionName>;
}

/** Resolves talaria.p4's objects in a P4Info; throws SchemaMismatchError naming the first difference. */
export function resolveSchema(p4info: P4InfoIndex): SwitchSchema {
  const fail = (msg: string): never => {
    throw new SchemaMismatchError(`P4Info is not talaria.p4's: ${msg}`);
  };
  const actions = {} as Record<SwitchActionName, ResolvedAction>;
  const actionById = new Map<number, SwitchActionName>();
  for (const [name, params] of Object.entries(ACTIONS) as [SwitchActionName, readonly ParamSpec[]][]) {
    const info = p4info.findAction(name) ?? fail(`no action '${name}'`);
    const byName: Record<string, ParamInfo> = {};
    for (const spec of params) {
      const p = info.params.find((x) => x.name === spec.name) ?? fail(`action '${name}' has no parameter '${spec.name}'`);
      if (p.bitwidth > spec.bits) fail(`action '${name}' parameter '${spec.name}' is bit<${p.bitwidth}>, the eBPF switch holds at most ${spec.bits} bits`);
      byName[spec.name] = p;
    }
    if (info.params.length !== params.length) fail(`action '${name}' has ${info.params.length} parameters, expected ${params.length}`);
    actions[name] = { info, params: byName };
    actionById.set(info.id, name);
  }
  const tables = {} as Record<SwitchTableName, ResolvedTable>;
  const tableById = new Map<number, SwitchTableName>();
  for (const [name, spec] of Object.entries(TABLES) as [SwitchTableName, (typeof TABLES)[SwitchTableName]][]) {
    const info = p4info.findTable(name) ?? fail(`no table '${name}'`);
    if (info.matchFields.length !== spec.fields.length) fail(`table '${name}' has ${info.matchFields.length} match fields, expected ${spec.fields.length}`);
    const fields = spec.fields.map((f: FieldSpec, i: number) => {
      const m = info.matchFields[i]!;
      if (m.name !== f.name) fail(`table '${name}' match field ${i + 1} is '${m.name}', expected '${f.name}'`);
      if (m.matchType !== f.type) fail(`table '${name}' match field '${f.name}' is ${m.matchType}, expected ${f.type}`);
      if (m.bitwidth > f.bits) fail(`table '${name}' match field '${f.name}' is bit<${m.bitwidth}>, the eBPF switch holds at most ${f.bits} bits`);
      return m;
    });
    for (const a of spec.actions) {
      if (!p4info.tableAllowsAction(info, actions[a as SwitchActionName].info.id)) fail(`table '${name}' does not allow action '${a}'`);
    }
    tables[name] = { info, fields };
    tableById.set(info.id, name);
  }
  const selector = p4info.findActionProfile('backend_selector') ?? fail("no action profile 'backend_selector'");
  if (!selector.withSelector) fail("'backend_selector' is not an action selector");
  if (tables.backend_select.info.implementationId !== selector.id) fail("table 'backend_select' is not implemented by 'backend_selector'");
  return { p4info, tables, actions, selector, tableById, actionById };
}
