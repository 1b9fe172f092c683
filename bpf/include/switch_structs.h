/* Keys and values of the software switch maps. Each has one TypeScript
 * mirror in bpf/layouts/switch-*.ts, checked against these structs via BTF.
 * Padding is explicit so that both sides agree byte for byte. */
#ifndef TALARIA_SWITCH_STRUCTS_H
#define TALARIA_SWITCH_STRUCTS_H

#include <linux/types.h>

/* frontends key: exact (dst addr, dst port, protocol). */
struct sw_frontend_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

/* frontends value: action set_frontend(frontend_id, flags). */
struct sw_frontend {
	__u32 frontend_id;
	__u32 flags;   /* low byte is copied into the shim's flags */
	__u32 counter; /* index into frontends_counters (direct counter) */
	__u32 pad;
};

/* backend_select value (key: __u32 frontend_id). */
struct sw_select {
	__u32 kind;    /* SW_SELECT_MEMBER or SW_SELECT_GROUP */
	__u32 ref;     /* member slot (MEMBER) or group id (GROUP) */
	__u32 counter; /* index into backend_select_counters */
	__u32 pad;
};

/* members value (key: __u32 member slot): a backend_selector member with its
 * action to_backend(backend_id, addr, port). */
struct sw_member {
	__u32 backend_id;
	__be32 addr;
	__be16 port;
	__u8 valid;    /* 0: free slot */
	__u8 pad;
	__u32 member_id; /* P4Runtime member_id (for Read after a restart) */
};

/* group_luts value (key: __u32 group id): where the group's lookup table is. */
struct sw_lut {
	__u32 base;     /* first index in maglev_lut */
	__u32 size;     /* slots (prime); 0: the group has no members */
	__u32 max_size; /* the group's P4Runtime max_size (control plane only) */
};

/* group_members key: one member of one group (value: __u32 weight). The data
 * plane never reads it; it lets a restarted target Read groups back. */
struct sw_group_member {
	__u32 group_id;
	__u32 member_id;
};

/* backends key: exact (frontend_id, backend_id). */
struct sw_backend_key {
	__u32 frontend_id;
	__u32 backend_id;
};

/* backends value: action to_backend(backend_id, addr, port). */
struct sw_backend {
	__u32 backend_id;
	__be32 addr;
	__be16 port;
	__u16 pad;
	__u32 counter;
};

/* reverse_nat value (key: __u32 frontend_id): restore_frontend(addr, port). */
struct sw_reverse_nat {
	__be32 addr;
	__be16 port;
	__u16 pad;
	__u32 counter;
};

/* routes key: LPM trie key (prefix length in bits, then the address). */
struct sw_route_key {
	__u32 prefixlen;
	__be32 addr;
};

/* routes value: to_port(port, dst_mac) / to_external(port, dst_mac) / drop. */
struct sw_route {
	__u8 kind; /* SW_ROUTE_* */
	__u8 pad;
	__u16 port; /* switch port, 1-based (P4 egress_spec) */
	__u8 dst_mac[6];
	__u16 pad2;
	__u32 counter;
};

/* source_ranges key: LPM trie key. prefixlen counts the 32 bits of the
 * frontend id (always matched whole) plus the source prefix. */
struct sw_source_range_key {
	__u32 prefixlen;
	__u32 frontend_id;
	__be32 addr;
};

/* source_ranges value: allow_source() and its counter slot. */
struct sw_source_range {
	__u32 counter;
};

/* ports value (key: __u32 port number): the port's interface. */
struct sw_port {
	__u32 ifindex; /* 0: no interface */
};

/* egress_ports value (key: __u32 port number): set_source_mac(mac). */
struct sw_egress_port {
	__u8 mac[6]; /* source MAC of packets leaving the port */
	__u16 pad;
	__u32 counter;
};

/* One direct counter (per CPU; the target sums the CPUs). */
struct sw_counter {
	__u64 packets;
	__u64 bytes;
};

/* table_stats value: hits and misses of one table (per CPU). */
struct sw_table_stat {
	__u64 hits;
	__u64 misses;
};

/* pipeline value (key 0): the committed P4Runtime pipeline, so that a
 * restarted target can tell the server it still forwards with it. */
struct sw_pipeline {
	__u64 cookie;    /* ForwardingPipelineConfig.cookie */
	__u32 committed; /* 1 once a pipeline was committed */
	__u32 pad;
};

#endif /* TALARIA_SWITCH_STRUCTS_H */
