/* Constants of the software switch pipeline (bpf/switch.bpf.c), the eBPF twin
 * of p4/talaria.p4. Sizes are the P4Info table sizes; each can be overridden
 * at build time (-DSW_FRONTENDS_SIZE=...) and, for the maps, at load time by
 * the target (bpf_map__set_max_entries), which reads them from the P4Info. */
#ifndef TALARIA_SWITCH_CONSTS_H
#define TALARIA_SWITCH_CONSTS_H

/* frontends: (addr, port, proto) -> set_frontend; P4Info table size. */
#ifndef SW_FRONTENDS_SIZE
#define SW_FRONTENDS_SIZE 65536
#endif

/* backend_select: frontend_id -> member or group of backend_selector. */
#ifndef SW_BACKEND_SELECT_SIZE
#define SW_BACKEND_SELECT_SIZE 65536
#endif

/* backends: (frontend_id, backend_id) -> to_backend, for PINNED packets. */
#ifndef SW_BACKENDS_SIZE
#define SW_BACKENDS_SIZE 262144
#endif

/* reverse_nat: frontend_id -> restore_frontend, for REPLY packets. */
#ifndef SW_REVERSE_NAT_SIZE
#define SW_REVERSE_NAT_SIZE 65536
#endif

/* routes: LPM on the destination address -> to_port / to_external / drop. */
#ifndef SW_ROUTES_SIZE
#define SW_ROUTES_SIZE 4096
#endif

/* backend_selector action profile: member slots (P4Info action profile size). */
#ifndef SW_MEMBERS_SIZE
#define SW_MEMBERS_SIZE 262144
#endif

/* backend_selector groups that can exist at once. Below the 65536 entries of
 * backend_select because every group owns a lookup table of SW_MAGLEV_M
 * slots, preallocated: 16384 * 1021 * 4 bytes = 64 MiB. */
#ifndef SW_GROUPS_SIZE
#define SW_GROUPS_SIZE 16384
#endif

/* (group, member) pairs with their weights, kept for the control plane. */
#ifndef SW_GROUP_MEMBERS_SIZE
#define SW_GROUP_MEMBERS_SIZE 262144
#endif

/* Slots of the smallest Maglev lookup table (a prime). The target picks a
 * larger prime for larger groups; the program reads base and size from
 * group_luts, so tables are just ranges of maglev_lut. */
#ifndef SW_MAGLEV_M
#define SW_MAGLEV_M 1021
#endif

/* maglev_lut holds this many smallest tables: one per group plus spares, so
 * that a group change can build its new table before switching to it. */
#ifndef SW_LUT_CHUNKS
#define SW_LUT_CHUNKS (SW_GROUPS_SIZE + 16)
#endif

/* source_ranges: (frontend_id, source LPM) -> allow_source, for frontends
 * flagged TALARIA_FLAG_SOURCE_RANGES (loadBalancerSourceRanges). */
#ifndef SW_SOURCE_RANGES_SIZE
#define SW_SOURCE_RANGES_SIZE 16384
#endif

/* Switch ports: P4 egress_spec is bit<9>; port 0 is never used. */
#ifndef SW_MAX_PORTS
#define SW_MAX_PORTS 512
#endif

/* egress_ports: an entry per port at most (talaria.p4's EGRESS_PORTS_SIZE). */
#ifndef SW_EGRESS_PORTS_SIZE
#define SW_EGRESS_PORTS_SIZE SW_MAX_PORTS
#endif

/* Addresses of the switch itself (ARP and traffic for it go to its kernel). */
#ifndef SW_LOCAL_ADDRS_SIZE
#define SW_LOCAL_ADDRS_SIZE 256
#endif

/* routes action kinds (sw_route.kind). */
#define SW_ROUTE_TO_PORT 1     /* to a Talaria host: service packets keep the shim */
#define SW_ROUTE_TO_EXTERNAL 2 /* out of the cluster: the shim is stripped */
#define SW_ROUTE_DROP 3        /* drop (counted) */

/* backend_select entry kinds (sw_select.kind). */
#define SW_SELECT_MEMBER 1 /* the entry names one action profile member */
#define SW_SELECT_GROUP 2  /* the entry names a group: Maglev over its members */

/* Tables, as indices of table_stats (hits and misses per table). */
enum sw_table {
	SW_TABLE_FRONTENDS = 0,
	SW_TABLE_BACKEND_SELECT = 1,
	SW_TABLE_BACKENDS = 2,
	SW_TABLE_REVERSE_NAT = 3,
	SW_TABLE_ROUTES = 4,
	SW_TABLE_EGRESS_PORTS = 5,
	SW_TABLE_SOURCE_RANGES = 6,
	SW_TABLE_COUNT = 7,
};

/* Why a packet was dropped: indices of the drops map. Never renumber (the
 * TypeScript side and dashboards use the numbers). */
enum sw_drop_reason {
	SW_DROP_MALFORMED_IP = 1,       /* IPv4 header truncated or inconsistent */
	SW_DROP_MALFORMED_SHIM = 2,     /* shim truncated, wrong length/version/kind */
	SW_DROP_MALFORMED_L4 = 3,       /* TCP/UDP header truncated */
	SW_DROP_SHIM_FRAGMENT = 4,      /* a shim packet that is an IP fragment */
	SW_DROP_SHIM_NOT_L4 = 5,        /* a shim packet that is neither TCP nor UDP */
	SW_DROP_UNEXPECTED_KIND = 6,    /* TO_BACKEND/TO_CLIENT arriving at the switch */
	SW_DROP_NO_FRONTEND = 7,        /* NEW/PINNED for an unknown frontend */
	SW_DROP_NO_SELECTION = 8,       /* frontend without backend_select entry or members */
	SW_DROP_PINNED_BACKEND_GONE = 9,/* PINNED whose backend left backends: never re-hashed */
	SW_DROP_NO_REVERSE_NAT = 10,    /* REPLY for an unknown frontend_id */
	SW_DROP_NO_ROUTE = 11,          /* service packet with no route */
	SW_DROP_ROUTE_DROP = 12,        /* the route's action is drop */
	SW_DROP_TTL_EXPIRED = 13,       /* TTL would reach zero */
	SW_DROP_PORT_DOWN = 14,         /* route to a port with no interface */
	SW_DROP_REWRITE_FAILED = 15,    /* a checksum or adjust_room helper failed */
	SW_DROP_REJECT_FAILED = 16,     /* could not build the RST / ICMP answer */
	SW_DROP_NO_REJECT = 17,         /* no backend, nothing to answer (a RST) */
	SW_DROP_BAD_IP_CHECKSUM = 18,   /* IPv4 header checksum wrong (never forwarded with a fresh one) */
	SW_DROP_SOURCE_RANGE = 19,      /* NEW from a source outside the frontend's loadBalancerSourceRanges */
	SW_DROP_REASON_COUNT = 20,
};

/* Answers sent for frontends without backends: indices of rejects. */
enum sw_reject_kind {
	SW_REJECT_TCP_RST = 0,     /* TCP RST */
	SW_REJECT_ICMP_PORT_UNREACHABLE = 1, /* ICMP port unreachable (UDP) */
	SW_REJECT_KIND_COUNT = 2,
};

/* Why a packet went to the switch's own kernel (TC_ACT_OK): indices of passes. */
enum sw_pass_reason {
	SW_PASS_NOT_IPV4 = 0,   /* ARP, IPv6 and everything else not IPv4 */
	SW_PASS_LOCAL = 1,      /* addressed to the switch itself */
	SW_PASS_IP_OPTIONS = 2, /* IPv4 options other than the shim */
	SW_PASS_NO_ROUTE = 3,   /* plain packet without route */
	SW_PASS_REASON_COUNT = 4,
};

#endif /* TALARIA_SWITCH_CONSTS_H */
