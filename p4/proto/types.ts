// TypeScript shapes of the P4Runtime messages Talaria exchanges, in the form
// load.ts's CONVERSION gives them: snake_case names, 64-bit integers as
// decimal strings, enums by name, bytes as Buffer. Outgoing messages may omit
// any field (proto3 defaults); incoming ones have every scalar filled in and
// a oneof's virtual field naming its set member. Only the fields Talaria
// reads or writes are typed; the .proto files hold the rest.

/** 64-bit integer on the wire: a decimal string when decoded; number or bigint-string accepted when encoding. */
export type Uint64 = string;

export interface Uint128 {
  high: Uint64;
  low: Uint64;
}

export type UpdateType = 'UNSPECIFIED' | 'INSERT' | 'MODIFY' | 'DELETE';
export type Atomicity = 'CONTINUE_ON_ERROR' | 'ROLLBACK_ON_ERROR' | 'DATAPLANE_ATOMIC';

export interface FieldMatch {
  field_id: number;
  exact?: { value: Buffer } | null;
  ternary?: { value: Buffer; mask: Buffer } | null;
  lpm?: { value: Buffer; prefix_len: number } | null;
  range?: { low: Buffer; high: Buffer } | null;
  optional?: { value: Buffer } | null;
  /** Which oneof member is set (decoded messages only). */
  field_match_type?: 'exact' | 'ternary' | 'lpm' | 'range' | 'optional' | 'other';
}

export interface ActionParam {
  param_id: number;
  value: Buffer;
}

export interface Action {
  action_id: number;
  params?: ActionParam[];
}

export interface TableAction {
  action?: Action | null;
  action_profile_member_id?: number;
  action_profile_group_id?: number;
  type?: 'action' | 'action_profile_member_id' | 'action_profile_group_id' | 'action_profile_action_set';
}

export interface CounterData {
  byte_count: Uint64;
  packet_count: Uint64;
}

export interface TableEntry {
  table_id: number;
  match?: FieldMatch[];
  action?: TableAction | null;
  priority?: number;
  /** Set in a Read request to ask for the entry's direct counter; filled in the response. */
  counter_data?: CounterData | null;
  is_default_action?: boolean;
  metadata?: Buffer;
}

export interface ActionProfileMember {
  action_profile_id: number;
  member_id: number;
  action?: Action | null;
}

export interface ActionProfileGroupMember {
  member_id: number;
  weight: number;
}

export interface ActionProfileGroup {
  action_profile_id: number;
  group_id: number;
  members?: ActionProfileGroupMember[];
  max_size?: number;
}

export interface DirectCounterEntry {
  table_entry?: TableEntry | null;
  data?: CounterData | null;
}

/** One P4 entity; exactly one member is set. */
export interface Entity {
  table_entry?: TableEntry | null;
  action_profile_member?: ActionProfileMember | null;
  action_profile_group?: ActionProfileGroup | null;
  direct_counter_entry?: DirectCounterEntry | null;
  /** Which oneof member is set (decoded messages only). */
  entity?: string;
}

export interface Update {
  type: UpdateType;
  entity: Entity;
}

export interface WriteRequest {
  device_id: Uint64;
  election_id?: Uint128 | null;
  role?: string;
  updates: Update[];
  atomicity?: Atomicity;
}

export interface ReadRequest {
  device_id: Uint64;
  role?: string;
  entities: Entity[];
}

export interface ReadResponse {
  entities: Entity[];
}

/** google.rpc.Status with its details still packed. */
export interface RpcStatus {
  code: number;
  message: string;
  details: { type_url: string; value: Buffer }[];
}

export interface MasterArbitrationUpdate {
  device_id: Uint64;
  role?: { name?: string } | null;
  election_id?: Uint128 | null;
  status?: RpcStatus | null;
}

export interface StreamMessageRequest {
  arbitration?: MasterArbitrationUpdate | null;
  update?: string;
}

export interface StreamMessageResponse {
  arbitration?: MasterArbitrationUpdate | null;
  error?: { canonical_code: number; message: string } | null;
  update?: string;
}

export interface ForwardingPipelineConfig {
  /** p4.config.v1.P4Info as a plain object (see p4info/). */
  p4info?: object | null;
  p4_device_config?: Buffer;
  cookie?: { cookie: Uint64 } | null;
}

export type PipelineAction = 'UNSPECIFIED' | 'VERIFY' | 'VERIFY_AND_SAVE' | 'VERIFY_AND_COMMIT' | 'COMMIT' | 'RECONCILE_AND_COMMIT';

export interface SetForwardingPipelineConfigRequest {
  device_id: Uint64;
  election_id?: Uint128 | null;
  role?: string;
  action: PipelineAction;
  config?: ForwardingPipelineConfig | null;
}

export type PipelineResponseType = 'ALL' | 'COOKIE_ONLY' | 'P4INFO_AND_COOKIE' | 'DEVICE_CONFIG_AND_COOKIE';

export interface GetForwardingPipelineConfigRequest {
  device_id: Uint64;
  response_type?: PipelineResponseType;
}

/** p4.v1.Error: the outcome of one update in a failed Write. */
export interface P4Error {
  canonical_code: number;
  message: string;
  space: string;
  code: number;
}

/** The p4.v1.Error type URL inside google.protobuf.Any. */
export const P4_ERROR_TYPE_URL = 'type.googleapis.com/p4.v1.Error';
