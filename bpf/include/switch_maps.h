/* Maps of the software switch. The P4 tables become hash/LPM maps, the action
 * selector becomes members + one Maglev lookup table per group, direct
 * counters become per-CPU arrays indexed by the entry's counter slot. All are
 * pinned by the target (under --pin-dir), which is why none sets pinning
 * here: the target decides where. */
#ifndef TALARIA_SWITCH_MAPS_H
#define TALARIA_SWITCH_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "switch_consts.h"
#include "switch_structs.h"

/* frontends table: (dst addr, dst port, proto) -> set_frontend. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sw_frontend_key);
	__type(value, struct sw_frontend);
	__uint(max_entries, SW_FRONTENDS_SIZE);
} frontends SEC(".maps");

/* backend_select table: frontend_id -> member or group of backend_selector. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sw_select);
	__uint(max_entries, SW_BACKEND_SELECT_SIZE);
} backend_select SEC(".maps");

/* backend_selector members: member slot -> to_backend action data. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sw_member);
	__uint(max_entries, SW_MEMBERS_SIZE);
} members SEC(".maps");

/* backend_selector groups: group id -> its current lookup table. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sw_lut);
	__uint(max_entries, SW_GROUPS_SIZE);
} group_luts SEC(".maps");

/* Group membership with weights (control plane only, for Read after restart). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sw_group_member);
	__type(value, __u32);
	__uint(max_entries, SW_GROUP_MEMBERS_SIZE);
} group_members SEC(".maps");

/* Maglev lookup tables, SW_MAGLEV_M slots each: slot -> member slot.
 * Mmapable so that the target writes a whole table with plain stores. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, SW_LUT_CHUNKS * SW_MAGLEV_M);
	__uint(map_flags, BPF_F_MMAPABLE);
} maglev_lut SEC(".maps");

/* backends table: (frontend_id, backend_id) -> to_backend, for PINNED. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sw_backend_key);
	__type(value, struct sw_backend);
	__uint(max_entries, SW_BACKENDS_SIZE);
} backends SEC(".maps");

/* reverse_nat table: frontend_id -> restore_frontend, for REPLY. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sw_reverse_nat);
	__uint(max_entries, SW_REVERSE_NAT_SIZE);
} reverse_nat SEC(".maps");

/* routes table: LPM on the destination address. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sw_route_key);
	__type(value, struct sw_route);
	__uint(max_entries, SW_ROUTES_SIZE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

/* source_ranges table: LPM on (frontend_id, source address). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sw_source_range_key);
	__type(value, struct sw_source_range);
	__uint(max_entries, SW_SOURCE_RANGES_SIZE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} source_ranges SEC(".maps");

/* Switch ports: port number -> interface (the target's own wiring, not a table). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sw_port);
	__uint(max_entries, SW_MAX_PORTS);
} ports SEC(".maps");

/* egress_ports table: port number -> the source MAC of packets leaving it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sw_egress_port);
	__uint(max_entries, SW_EGRESS_PORTS_SIZE);
} egress_ports SEC(".maps");

/* The switch's own addresses: traffic for them goes to its kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, __u32);
	__uint(max_entries, SW_LOCAL_ADDRS_SIZE);
} local_addrs SEC(".maps");

/* The committed pipeline (control plane only; one element). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sw_pipeline);
	__uint(max_entries, 1);
} pipeline SEC(".maps");

/* Direct counters, one per-CPU array per table, indexed by entry counter slot. */
#define SW_COUNTER_MAP(name, size)                         \
	struct {                                           \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);   \
		__type(key, __u32);                        \
		__type(value, struct sw_counter);          \
		__uint(max_entries, size);                 \
	} name SEC(".maps")

/* frontends direct counter. */
SW_COUNTER_MAP(frontends_counters, SW_FRONTENDS_SIZE);
/* backend_select direct counter. */
SW_COUNTER_MAP(backend_select_counters, SW_BACKEND_SELECT_SIZE);
/* backends direct counter. */
SW_COUNTER_MAP(backends_counters, SW_BACKENDS_SIZE);
/* reverse_nat direct counter. */
SW_COUNTER_MAP(reverse_nat_counters, SW_REVERSE_NAT_SIZE);
/* routes direct counter. */
SW_COUNTER_MAP(routes_counters, SW_ROUTES_SIZE);
/* source_ranges direct counter. */
SW_COUNTER_MAP(source_ranges_counters, SW_SOURCE_RANGES_SIZE);
/* egress_ports direct counter. */
SW_COUNTER_MAP(egress_ports_counters, SW_EGRESS_PORTS_SIZE);

/* Hits and misses per table (enum sw_table), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sw_table_stat);
	__uint(max_entries, SW_TABLE_COUNT);
} table_stats SEC(".maps");

/* Dropped packets and bytes per reason (enum sw_drop_reason), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sw_counter);
	__uint(max_entries, SW_DROP_REASON_COUNT);
} drops SEC(".maps");

/* Rejects sent per kind (enum sw_reject_kind), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sw_counter);
	__uint(max_entries, SW_REJECT_KIND_COUNT);
} rejects SEC(".maps");

/* Packets handed to the switch's kernel per reason (enum sw_pass_reason). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sw_counter);
	__uint(max_entries, SW_PASS_REASON_COUNT);
} passes SEC(".maps");

#endif /* TALARIA_SWITCH_MAPS_H */
