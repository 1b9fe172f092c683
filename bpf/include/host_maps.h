/* Maps of the host programs. The agent's loader pins every one by name
 * under --pin-dir (not LIBBPF_PIN_BY_NAME: an object opened without a pin
 * dir, as in tests, must not pin at the bpffs root) and reuses the pins on
 * restart, so no connection is lost. Names stay under 16 characters. */
#ifndef TALARIA_HOST_MAPS_H
#define TALARIA_HOST_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "host_consts.h"
#include "host_structs.h"

/* Node configuration, one entry, written by the agent before it attaches. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct host_config);
} tl_host_cfg SEC(".maps");

/* Local pods: pod IPv4 -> host veth ifindex and MACs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOST_MAX_PODS);
	__type(key, __be32);
	__type(value, struct host_pod);
} tl_host_pods SEC(".maps");

/* Frontends: (addr, port, proto) -> flags; the switch knows their ids. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOST_MAX_FRONTENDS);
	__type(key, struct host_frontend_key);
	__type(value, struct host_frontend);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tl_host_fronts SEC(".maps");

/* Local endpoints of ITP=Local frontends: (frontend, i) -> addr, port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOST_MAX_LOCAL_BACKENDS);
	__type(key, struct host_local_backend_key);
	__type(value, struct host_local_backend);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tl_host_lbe SEC(".maps");

/* Client side: connection as the client sent it -> pinned backend. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HOST_MAX_CONNS);
	__type(key, struct host_flow);
	__type(value, struct host_conn);
} tl_host_conns SEC(".maps");

/* Backend side: connection as the backend pod received it -> ids for REPLY. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HOST_MAX_REPLIES);
	__type(key, struct host_flow);
	__type(value, struct host_reply);
} tl_host_replies SEC(".maps");

/* ClientIP affinity: (client, frontend) -> backend of its last connection. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HOST_MAX_AFFINITY);
	__type(key, struct host_affinity_key);
	__type(value, struct host_conn);
} tl_host_affin SEC(".maps");

/* Drops by reason (enum host_drop_reason), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HOST_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tl_host_drops SEC(".maps");

/* Paths taken (enum host_event), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HOST_EV_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tl_host_events SEC(".maps");

#endif /* TALARIA_HOST_MAPS_H */
