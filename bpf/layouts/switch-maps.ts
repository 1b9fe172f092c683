// Keys and values of the software switch's maps (bpf/include/switch_structs.h),
// declared once on the TypeScript side and checked against the C structs via
// BTF in switch-maps.test.ts. Addresses and ports are network order in C and
// plain strings/numbers here.
import { ipv4, structCodec, u32, type Codec, type CodecValue } from '../loader/codec.js';

/** frontends key: exact (dst addr, dst port, protocol). */
export const frontendKey = structCodec({
  name: 'sw_frontend_key',
  size: 8,
  fields: { addr: [0, 'ipv4'], port: [4, 'be16'], proto: [6, 'u8'] },
});
export type FrontendKey = CodecValue<typeof frontendKey>;

/** frontends value: set_frontend(frontend_id, flags) and its counter slot. */
export const frontend = structCodec({
  name: 'sw_frontend',
  size: 16,
  fields: { frontend_id: [0, 'u32'], flags: [4, 'u32'], counter: [8, 'u32'] },
});
export type Frontend = CodecValue<typeof frontend>;

/** backend_select value (key: u32 frontend_id). */
export const select = structCodec({
  name: 'sw_select',
  size: 16,
  fields: { kind: [0, 'u32'], ref: [4, 'u32'], counter: [8, 'u32'] },
});
export type Select = CodecValue<typeof select>;

/** members value (key: u32 member slot). */
export const member = structCodec({
  name: 'sw_member',
  size: 16,
  fields: { backend_id: [0, 'u32'], addr: [4, 'ipv4'], port: [8, 'be16'], valid: [10, 'u8'], member_id: [12, 'u32'] },
});
export type Member = CodecValue<typeof member>;

/** group_luts value (key: u32 group id). */
export const lut = structCodec({
  name: 'sw_lut',
  size: 12,
  fields: { base: [0, 'u32'], size: [4, 'u32'], max_size: [8, 'u32'] },
});
export type Lut = CodecValue<typeof lut>;

/** group_members key (value: u32 weight). */
export const groupMember = structCodec({
  name: 'sw_group_member',
  size: 8,
  fields: { group_id: [0, 'u32'], member_id: [4, 'u32'] },
});
export type GroupMember = CodecValue<typeof groupMember>;

/** backends key: exact (frontend_id, backend_id). */
export const backendKey = structCodec({
  name: 'sw_backend_key',
  size: 8,
  fields: { frontend_id: [0, 'u32'], backend_id: [4, 'u32'] },
});
export type BackendKey = CodecValue<typeof backendKey>;

/** backends value: to_backend(backend_id, addr, port). */
export const backend = structCodec({
  name: 'sw_backend',
  size: 16,
  fields: { backend_id: [0, 'u32'], addr: [4, 'ipv4'], port: [8, 'be16'], counter: [12, 'u32'] },
});
export type Backend = CodecValue<typeof backend>;

/** reverse_nat value (key: u32 frontend_id): restore_frontend(addr, port). */
export const reverseNat = structCodec({
  name: 'sw_reverse_nat',
  size: 12,
  fields: { addr: [0, 'ipv4'], port: [4, 'be16'], counter: [8, 'u32'] },
});
export type ReverseNat = CodecValue<typeof reverseNat>;

/** routes key: LPM trie key. */
export const routeKey = structCodec({
  name: 'sw_route_key',
  size: 8,
  fields: { prefixlen: [0, 'u32'], addr: [4, 'ipv4'] },
});
export type RouteKey = CodecValue<typeof routeKey>;

/** routes value: to_port / to_external (port, dst_mac) or drop. */
export const route = structCodec({
  name: 'sw_route',
  size: 16,
  fields: { kind: [0, 'u8'], port: [2, 'u16'], dst_mac: [4, 'mac'], counter: [12, 'u32'] },
});
export type Route = CodecValue<typeof route>;

/** source_ranges key: LPM trie key; prefixlen is 32 (the frontend id, matched whole) + the source prefix. */
export const sourceRangeKey = structCodec({
  name: 'sw_source_range_key',
  size: 12,
  fields: { prefixlen: [0, 'u32'], frontend_id: [4, 'u32'], addr: [8, 'ipv4'] },
});
export type SourceRangeKey = CodecValue<typeof sourceRangeKey>;

/** source_ranges value: allow_source() and its counter slot. */
export const sourceRange = structCodec({
  name: 'sw_source_range',
  size: 4,
  fields: { counter: [0, 'u32'] },
});
export type SourceRange = CodecValue<typeof sourceRange>;

/** ports value (key: u32 port number). */
export const port = structCodec({
  name: 'sw_port',
  size: 4,
  fields: { ifindex: [0, 'u32'] },
});
export type Port = CodecValue<typeof port>;

/** egress_ports value (key: u32 port number): set_source_mac(mac). */
export const egressPort = structCodec({
  name: 'sw_egress_port',
  size: 12,
  fields: { mac: [0, 'mac'], counter: [8, 'u32'] },
});
export type EgressPort = CodecValue<typeof egressPort>;

/** One direct counter or drop/pass reason (per CPU). */
export const counter = structCodec({
  name: 'sw_counter',
  size: 16,
  fields: { packets: [0, 'u64'], bytes: [8, 'u64'] },
});
export type Counter = CodecValue<typeof counter>;

/** table_stats value (per CPU). */
export const tableStat = structCodec({
  name: 'sw_table_stat',
  size: 16,
  fields: { hits: [0, 'u64'], misses: [8, 'u64'] },
});
export type TableStat = CodecValue<typeof tableStat>;

/** pipeline value (key 0): the committed P4Runtime pipeline's cookie. */
export const pipeline = structCodec({
  name: 'sw_pipeline',
  size: 16,
  fields: { cookie: [0, 'u64'], committed: [8, 'u32'] },
});
export type Pipeline = CodecValue<typeof pipeline>;

/** routes action kinds (SW_ROUTE_*). */
export const RouteKind = { TO_PORT: 1, TO_EXTERNAL: 2, DROP: 3 } as const;
/** backend_select entry kinds (SW_SELECT_*). */
export const SelectKind = { MEMBER: 1, GROUP: 2 } as const;

/** Tables as indices of table_stats (enum sw_table). */
export const SWITCH_TABLES = ['frontends', 'backend_select', 'backends', 'reverse_nat', 'routes', 'egress_ports', 'source_ranges'] as const;

/** enum sw_drop_reason, index -> name (never renumbered). */
export const DROP_REASONS: Readonly<Record<number, string>> = {
  1: 'malformed_ip',
  2: 'malformed_shim',
  3: 'malformed_l4',
  4: 'shim_fragment',
  5: 'shim_not_l4',
  6: 'unexpected_kind',
  7: 'no_frontend',
  8: 'no_selection',
  9: 'pinned_backend_gone',
  10: 'no_reverse_nat',
  11: 'no_route',
  12: 'route_drop',
  13: 'ttl_expired',
  14: 'port_down',
  15: 'rewrite_failed',
  16: 'reject_failed',
  17: 'no_reject',
  18: 'bad_ip_checksum',
  19: 'source_range',
};
export const DROP_REASON_COUNT = 20;

/** enum sw_reject_kind: answers sent for frontends without backends. */
export const REJECT_KINDS: Readonly<Record<number, string>> = { 0: 'tcp_rst', 1: 'icmp_port_unreachable' };

/** enum sw_pass_reason, index -> name. */
export const PASS_REASONS: Readonly<Record<number, string>> = { 0: 'not_ipv4', 1: 'local', 2: 'ip_options', 3: 'no_route' };
export const PASS_REASON_COUNT = 4;

/** The default Maglev lookup table size (SW_MAGLEV_M). */
export const SW_MAGLEV_M = 1021;

/** Every map of bpf/switch.bpf.c with its key and value codec; per-CPU maps marked. */
export const SWITCH_MAPS = {
  frontends: { key: frontendKey, value: frontend, perCpu: false },
  backend_select: { key: u32, value: select, perCpu: false },
  members: { key: u32, value: member, perCpu: false },
  group_luts: { key: u32, value: lut, perCpu: false },
  group_members: { key: groupMember, value: u32, perCpu: false },
  maglev_lut: { key: u32, value: u32, perCpu: false },
  backends: { key: backendKey, value: backend, perCpu: false },
  reverse_nat: { key: u32, value: reverseNat, perCpu: false },
  routes: { key: routeKey, value: route, perCpu: false },
  source_ranges: { key: sourceRangeKey, value: sourceRange, perCpu: false },
  ports: { key: u32, value: port, perCpu: false },
  egress_ports: { key: u32, value: egressPort, perCpu: false },
  local_addrs: { key: ipv4, value: u32, perCpu: false },
  pipeline: { key: u32, value: pipeline, perCpu: false },
  frontends_counters: { key: u32, value: counter, perCpu: true },
  backend_select_counters: { key: u32, value: counter, perCpu: true },
  backends_counters: { key: u32, value: counter, perCpu: true },
  reverse_nat_counters: { key: u32, value: counter, perCpu: true },
  routes_counters: { key: u32, value: counter, perCpu: true },
  source_ranges_counters: { key: u32, value: counter, perCpu: true },
  egress_ports_counters: { key: u32, value: counter, perCpu: true },
  table_stats: { key: u32, value: tableStat, perCpu: true },
  drops: { key: u32, value: counter, perCpu: true },
  rejects: { key: u32, value: counter, perCpu: true },
  passes: { key: u32, value: counter, perCpu: true },
} as const satisfies Record<string, { key: Codec<unknown>; value: Codec<unknown>; perCpu: boolean }>;
export type SwitchMapName = keyof typeof SWITCH_MAPS;

/** The C struct behind each struct codec, for the BTF check. */
export const SWITCH_STRUCTS = [frontendKey, frontend, select, member, lut, groupMember, backendKey, backend, reverseNat, routeKey, route, sourceRangeKey, sourceRange, port, egressPort, counter, tableStat, pipeline] as const;
