/* Key and value layouts of the host maps. Every struct is packed by hand
 * (explicit padding, no holes) because bpf/layouts/host-maps.ts mirrors it
 * byte for byte and a BTF test checks sizes and offsets. Addresses and ports
 * are in network byte order, everything else in host byte order. */
#ifndef TALARIA_HOST_STRUCTS_H
#define TALARIA_HOST_STRUCTS_H

#include <linux/types.h>

/* tl_host_cfg[0]: written by the node agent. */
struct host_config {
	__u32 uplink_ifindex; /* uplink, in the node netns */
	__u32 flags;          /* HOST_CFG_F_* */
	__u8 uplink_mac[6];   /* source MAC of packets sent to the switch */
	__u8 gateway_mac[6];  /* the switch: destination MAC on the uplink */
	__be32 cluster_cidr;  /* pod CIDR of the whole cluster (remote pods) */
	__be32 cluster_mask;  /* its netmask */
	__be32 hairpin_addr;  /* 0 = HOST_HAIRPIN_ADDR */
};

/* tl_host_pods value; key: __be32 pod IPv4 address. */
struct host_pod {
	__u32 ifindex;   /* host-side veth of the pod */
	__u8 mac[6];     /* the pod's eth0 MAC */
	__u8 gw_mac[6];  /* source MAC of packets we deliver (the pod's gateway) */
};

/* tl_host_fronts key: one address a Service answers on. */
struct host_frontend_key {
	__be32 addr;
	__be16 port;
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_SCTP */
	__u8 pad;
};

/* tl_host_fronts value. */
struct host_frontend {
	__u32 flags;              /* HOST_FE_F_* */
	__u32 affinity_timeout_s; /* ClientIP affinity timeout, seconds */
	__u32 local_count;        /* ITP=Local: entries 0..n-1 in tl_host_lbe */
	__u32 pad;
};

/* tl_host_lbe key: the i-th local endpoint of an ITP=Local frontend. */
struct host_local_backend_key {
	struct host_frontend_key fe;
	__u32 index;
};

/* tl_host_lbe value. */
struct host_local_backend {
	__be32 addr;
	__be16 port;
	__u16 pad;
};

/* Key of tl_host_conns and tl_host_replies: a 5-tuple in the direction the
 * client sent it (conns: as the client pod sent it, to the frontend;
 * replies: as the backend pod received it, after any hairpin rewrite). */
struct host_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* tl_host_conns value (client side) and tl_host_affin value. */
struct host_conn {
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC, tick resolution */
	__u32 frontend_id;  /* learnt from TO_CLIENT */
	__u32 backend_id;   /* learnt from TO_CLIENT; sent in PINNED */
	__be32 nat_addr;    /* LOCAL_NAT: the chosen local endpoint */
	__be16 nat_port;
	__u8 flags;         /* HOST_CONN_F_* */
	__u8 pad;
};

/* tl_host_replies value (backend side). */
struct host_reply {
	__u64 last_seen_ns;
	__u32 frontend_id; /* from TO_BACKEND, echoed in REPLY */
	__u32 backend_id;
	__be32 orig_saddr; /* HAIRPIN: the client's real address */
	__be32 fe_addr;    /* LOCAL_NAT: source restored on replies */
	__be16 fe_port;
	__u8 flags;        /* HOST_CONN_F_* */
	__u8 pad;
	__u32 pad2;
};

/* tl_host_affin key: ClientIP affinity of one client to one frontend. */
struct host_affinity_key {
	__be32 client;
	struct host_frontend_key fe;
};

#endif /* TALARIA_HOST_STRUCTS_H */
