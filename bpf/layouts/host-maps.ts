// The host programs' map layouts (bpf/include/host_structs.h), declared once
// on the TypeScript side; host-maps.test.ts checks every one against the C
// structs through the object's BTF. Addresses and ports are network order.
import { structCodec, u32 } from '../loader/codec.js';
import type { CodecValue } from '../loader/codec.js';

/** Map names in bpf/include/host_maps.h (also their pin file names). */
export const HOST_MAPS = {
  config: 'tl_host_cfg',
  pods: 'tl_host_pods',
  frontends: 'tl_host_fronts',
  localBackends: 'tl_host_lbe',
  conns: 'tl_host_conns',
  replies: 'tl_host_replies',
  affinity: 'tl_host_affin',
  drops: 'tl_host_drops',
  events: 'tl_host_events',
} as const;

/** Program names in bpf/host.bpf.c. */
export const HOST_PROGRAMS = {
  fromPod: 'tl_host_from_pod',
  fromUplink: 'tl_host_from_uplink',
} as const;

/** host_config.flags */
export const HOST_CFG_F_REDIRECT_PEER = 0x1;
/** host_frontend.flags */
export const HOST_FE_F_HAS_ENDPOINTS = 0x1;
export const HOST_FE_F_AFFINITY = 0x2;
export const HOST_FE_F_LOCAL_ONLY = 0x4;
/** host_conn.flags / host_reply.flags */
export const HOST_CONN_F_CLOSING = 0x1;
export const HOST_CONN_F_LOCAL_NAT = 0x2;
export const HOST_CONN_F_HAIRPIN = 0x4;
export const HOST_CONN_F_UNPINNED = 0x8;
/** The source a pod sees when it reaches itself through a Service. */
export const HOST_HAIRPIN_ADDR = '169.254.169.1';

/** enum host_drop_reason, index = value. */
export const HOST_DROP_REASONS = [
  'none',
  'malformed',
  'shim_malformed',
  'shim_version',
  'shim_kind',
  'shim_from_pod',
  'no_local_pod',
  'adjust_room',
  'store',
  'map_full',
  'no_local_endpoint',
  'reject_failed',
  'no_reject',
  'shim_fragment',
] as const;
export type HostDropReason = (typeof HOST_DROP_REASONS)[number];

/** enum host_event, index = value. */
export const HOST_EVENTS = [
  'pod_new',
  'pod_pinned',
  'pod_affinity',
  'pod_reply',
  'pod_local',
  'pod_remote',
  'pod_reject',
  'local_nat',
  'local_nat_reply',
  'up_to_backend',
  'up_to_client',
  'up_local',
  'pass_not_ipv4',
  'pass_ip_options',
  'pass_fragment',
  'pass_other',
  'pass_ttl',
  'hairpin',
  'pass_no_config',
] as const;
export type HostEvent = (typeof HOST_EVENTS)[number];

export const hostConfig = structCodec({
  name: 'host_config',
  size: 32,
  fields: {
    uplink_ifindex: [0, 'u32'],
    flags: [4, 'u32'],
    uplink_mac: [8, 'mac'],
    gateway_mac: [14, 'mac'],
    cluster_cidr: [20, 'ipv4'],
    cluster_mask: [24, 'ipv4'],
    hairpin_addr: [28, 'ipv4'],
  },
});


export const hostPod = structCodec({
  name: 'host_pod',
  size: 16,
  fields: {
    ifindex: [0, 'u32'],
    mac: [4, 'mac'],
    gw_mac: [10, 'mac'],
  },
});

export const hostFrontendKey = structCodec({
  name: 'host_frontend_key',
  size: 8,
  fields: {
    addr: [0, 'ipv4'],
    port: [4, 'be16'],
    proto: [6, 'u8'],
  },
});

export const hostFrontend = structCodec({
  name: 'host_frontend',
  size: 16,
  fields: {
    flags: [0, 'u32'],
    affinity_timeout_s: [4, 'u32'],
    local_count: [8, 'u32'],
  },
});

export const hostLocalBackendKey = structCodec({
  name: 'host_local_backend_key',
  size: 12,
  fields: {
    fe: [0, hostFrontendKey],
    index: [8, 'u32'],
  },
});

export const hostLocalBackend = structCodec({
  name: 'host_local_backend',
  size: 8,
  fields: {
    addr: [0, 'ipv4'],
    port: [4, 'be16'],
  },
});

export const hostFlow = structCodec({
  name: 'host_flow',
  size: 16,
  fields: {
    saddr: [0, 'ipv4'],
    daddr: [4, 'ipv4'],
    sport: [8, 'be16'],
    dport: [10, 'be16'],
    proto: [12, 'u8'],
  },
});

export const hostConn = structCodec({
  name: 'host_conn',
  size: 24,
  fields: {
    last_seen_ns: [0, 'u64'],
    frontend_id: [8, 'u32'],
    backend_id: [12, 'u32'],
    nat_addr: [16, 'ipv4'],
    nat_port: [20, 'be16'],
    flags: [22, 'u8'],
  },
});

export const hostReply = structCodec({
  name: 'host_reply',
  size: 32,
  fields: {
    last_seen_ns: [0, 'u64'],
    frontend_id: [8, 'u32'],
    backend_id: [12, 'u32'],
    orig_saddr: [16, 'ipv4'],
    fe_addr: [20, 'ipv4'],
    fe_port: [24, 'be16'],
    flags: [26, 'u8'],
  },
});

export const hostAffinityKey = structCodec({
  name: 'host_affinity_key',
  size: 12,
  fields: {
    client: [0, 'ipv4'],
    fe: [4, hostFrontendKey],
  },
});

/** Key codec of the array and per-CPU maps. */
export const hostIndex = u32;

/** Every struct layout with its C name, for the BTF test. */
export const HOST_LAYOUTS = [
  ['host_config', hostConfig],
  ['host_pod', hostPod],
  ['host_frontend_key', hostFrontendKey],
  ['host_frontend', hostFrontend],
  ['host_local_backend_key', hostLocalBackendKey],
  ['host_local_backend', hostLocalBackend],
  ['host_flow', hostFlow],
  ['host_conn', hostConn],
  ['host_reply', hostReply],
  ['host_affinity_key', hostAffinityKey],
] as const;

export type HostConfig = CodecValue<typeof hostConfig>;
export type HostPod = CodecValue<typeof hostPod>;
export type HostFrontendKey = CodecValue<typeof hostFrontendKey>;
export type HostFrontend = CodecValue<typeof hostFrontend>;
export type HostLocalBackendKey = CodecValue<typeof hostLocalBackendKey>;
export type HostLocalBackend = CodecValue<typeof hostLocalBackend>;
export type HostFlow = CodecValue<typeof hostFlow>;
export type HostConn = CodecValue<typeof hostConn>;
export type HostReply = CodecValue<typeof hostReply>;
export type HostAffinityKey = CodecValue<typeof hostAffinityKey>;
