// The P4Info as Talaria's code sees it: plain, resolved descriptions of the
// program's tables, actions, action profiles and direct counters, indexed by
// id and name in p4info.ts. Sizes are numbers (P4Info int64 fits easily).

export type MatchType = 'EXACT' | 'LPM' | 'TERNARY' | 'RANGE' | 'OPTIONAL';

export interface MatchFieldInfo {
  readonly id: number;
  /** The key's @name (e.g. 'dst_addr'). */
  readonly name: string;
  readonly bitwidth: number;
  readonly matchType: MatchType;
}

export interface ParamInfo {
  readonly id: number;
  readonly name: string;
  readonly bitwidth: number;
}

export interface ActionInfo {
  readonly id: number;
  /** Fully qualified ('TalariaIngress.set_frontend'). */
  readonly name: string;
  /** Shortest unique suffix ('set_frontend'): what the controller uses. */
  readonly alias: string;
  readonly params: readonly ParamInfo[];
}

export type ActionScope = 'TABLE_AND_DEFAULT' | 'TABLE_ONLY' | 'DEFAULT_ONLY';

export interface TableInfo {
  readonly id: number;
  readonly name: string;
  readonly alias: string;
  readonly matchFields: readonly MatchFieldInfo[];
  readonly actionRefs: readonly { readonly id: number; readonly scope: ActionScope }[];
  /** 0 when the default action may be changed. */
  readonly constDefaultActionId: number;
  /** The action profile / selector id when the table is indirect, else 0. */
  readonly implementationId: number;
  /** The direct counter attached to the table, if any. */
  readonly directCounterId: number | undefined;
  readonly size: number;
}

export interface ActionProfileInfo {
  readonly id: number;
  readonly name: string;
  readonly alias: string;
  readonly tableIds: readonly number[];
  readonly withSelector: boolean;
  /** Total members the profile holds. */
  readonly size: number;
  /** Most members in one group (0 = no limit given). */
  readonly maxGroupSize: number;
}

export interface DirectCounterInfo {
  readonly id: number;
  readonly name: string;
  readonly alias: string;
  readonly unit: 'UNSPECIFIED' | 'BYTES' | 'PACKETS' | 'BOTH';
  readonly tableId: number;
}
