// Name <-> id resolution over a P4Info: the controller says 'frontends' and
// 'set_frontend', the wire says 0x02xxxxxx. Every object is found by id, by
// fully qualified name or by alias.
import type {
  ActionInfo,
  ActionProfileInfo,
  ActionScope,
  DirectCounterInfo,
  MatchFieldInfo,
  MatchType,
  ParamInfo,
  TableInfo,
} from './types.js';

/** The P4Info message as decoded with load.ts's CONVERSION (only the fields read here). */
export interface P4InfoMessage {
  pkg_info?: { arch?: string; name?: string } | null;
  tables?: RawTable[];
  actions?: RawAction[];
  action_profiles?: RawActionProfile[];
  direct_counters?: RawDirectCounter[];
  [other: string]: unknown;
}

interface RawPreamble {
  id: number;
  name: string;
  alias?: string;
  annotations?: string[];
}
interface RawTable {
  preamble: RawPreamble;
  match_fields?: { id: number; name: string; bitwidth: number; match_type?: string }[];
  action_refs?: { id: number; scope?: string }[];
  const_default_action_id?: number;
  implementation_id?: number;
  direct_resource_ids?: number[];
  size?: string | number;
}
interface RawAction {
  preamble: RawPreamble;
  params?: { id: number; name: string; bitwidth: number }[];
}
interface RawActionProfile {
  preamble: RawPreamble;
  table_ids?: number[];
  with_selector?: boolean;
  size?: string | number;
  max_group_size?: number;
}
interface RawDirectCounter {
  preamble: RawPreamble;
  spec?: { unit?: string } | null;
  direct_table_id: number;
}

/** A name or id that the P4Info does not know: a caller's mistake, named precisely. */
export class P4InfoLookupError extends Error {
  override name = 'P4InfoLookupError';
}

class Registry<T extends { id: number; name: string; alias: string }> {
  private readonly byKey = new Map<string | number, T>();
  readonly all: readonly T[];
  constructor(private readonly kind: string, items: T[]) {
    this.all = items;
    for (const item of items) {
      this.byKey.set(item.id, item);
      this.byKey.set(item.name, item);
      if (!this.byKey.has(item.alias)) this.byKey.set(item.alias, item);
    }
  }
  find(key: string | number): T | undefined {
    return this.byKey.get(key);
  }
  get(key: string | number): T {
    const found = this.byKey.get(key);
    if (!found) {
      const shown = typeof key === 'number' ? `id 0x${key.toString(16).padStart(8, '0')}` : `'${key}'`;
      throw new P4InfoLookupError(`P4Info has no ${this.kind} ${shown}`);
    }
    return found;
  }
}

function alias(p: RawPreamble): string {
  return p.alias || p.name;
}

export class P4InfoIndex {
  private readonly tableRegistry: Registry<TableInfo>;
  private readonly actionRegistry: Registry<ActionInfo>;
  private readonly profileRegistry: Registry<ActionProfileInfo>;
  private readonly counterRegistry: Registry<DirectCounterInfo>;

  constructor(readonly message: P4InfoMessage) {
    const counters: DirectCounterInfo[] = (message.direct_counters ?? []).map((c) => ({
      id: c.preamble.id,
      name: c.preamble.name,
      alias: alias(c.preamble),
      unit: (c.spec?.unit ?? 'UNSPECIFIED') as DirectCounterInfo['unit'],
      tableId: c.direct_table_id,
    }));
    this.counterRegistry = new Registry('direct counter', counters);
    this.tableRegistry = new Registry(
      'table',
      (message.tables ?? []).map((t) => ({
        id: t.preamble.id,
        name: t.preamble.name,
        alias: alias(t.preamble),
        matchFields: (t.match_fields ?? []).map(
          (f): MatchFieldInfo => ({ id: f.id, name: f.name, bitwidth: f.bitwidth, matchType: (f.match_type ?? 'UNSPECIFIED') as MatchType }),
        ),
        actionRefs: (t.action_refs ?? []).map((r) => ({ id: r.id, scope: (r.scope ?? 'TABLE_AND_DEFAULT') as ActionScope })),
        constDefaultActionId: t.const_default_action_id ?? 0,
        implementationId: t.implementation_id ?? 0,
        directCounterId: (t.direct_resource_ids ?? []).find((id) => counters.some((c) => c.id === id)),
        size: Number(t.size ?? 0),
      })),
    );
    this.actionRegistry = new Registry(
      'action',
      (message.actions ?? []).map((a) => ({
        id: a.preamble.id,
        name: a.preamble.name,
        alias: alias(a.preamble),
        params: (a.params ?? []).map((p): ParamInfo => ({ id: p.id, name: p.name, bitwidth: p.bitwidth })),
      })),
    );
    this.profileRegistry = new Registry(
      'action profile',
      (message.action_profiles ?? []).map((p) => ({
        id: p.preamble.id,
        name: p.preamble.name,
        alias: alias(p.preamble),
        tableIds: p.table_ids ?? [],
        withSelector: p.with_selector ?? false,
        size: Number(p.size ?? 0),
        maxGroupSize: p.max_group_size ?? 0,
      })),
    );
  }

  get tables(): readonly TableInfo[] {
    return this.tableRegistry.all;
  }
  get actions(): readonly ActionInfo[] {
    return this.actionRegistry.all;
  }
  get actionProfiles(): readonly ActionProfileInfo[] {
    return this.profileRegistry.all;
  }
  get directCounters(): readonly DirectCounterInfo[] {
    return this.counterRegistry.all;
  }

  /** By id, fully qualified name or alias; throws P4InfoLookupError. */
  table(key: string | number): TableInfo {
    return this.tableRegistry.get(key);
  }
  findTable(key: string | number): TableInfo | undefined {
    return this.tableRegistry.find(key);
  }
  action(key: string | number): ActionInfo {
    return this.actionRegistry.get(key);
  }
  findAction(key: string | number): ActionInfo | undefined {
    return this.actionRegistry.find(key);
  }
  actionProfile(key: string | number): ActionProfileInfo {
    return this.profileRegistry.get(key);
  }
  findActionProfile(key: string | number): ActionProfileInfo | undefined {
    return this.profileRegistry.find(key);
  }
  directCounter(key: string | number): DirectCounterInfo {
    return this.counterRegistry.get(key);
  }

  /** A table's match field by id or name. */
  matchField(table: TableInfo, key: string | number): MatchFieldInfo {
    const field = table.matchFields.find((f) => f.id === key || f.name === key);
    if (!field) throw new P4InfoLookupError(`table '${table.alias}' has no match field '${key}'`);
    return field;
  }

  /** An action's parameter by id or name. */
  param(action: ActionInfo, key: string | number): ParamInfo {
    const param = action.params.find((p) => p.id === key || p.name === key);
    if (!param) throw new P4InfoLookupError(`action '${action.alias}' has no parameter '${key}'`);
    return param;
  }

  /** Whether the table may hold entries with this action (and, for indirect tables, whether it is a profile's action). */
  tableAllowsAction(table: TableInfo, actionId: number): boolean {
    const ref = table.actionRefs.find((r) => r.id === actionId);
    return ref !== undefined && ref.scope !== 'DEFAULT_ONLY';
  }
}
