/* Constants of the host programs (bpf/host.bpf.c): map sizes, flags, drop
 * reasons and event counters. Sizes are overridable at build time
 * (-DHOST_MAX_CONNS=...); the node agent reads the real capacities from the
 * loaded maps, so nothing in TypeScript depends on these numbers. */
#ifndef TALARIA_HOST_CONSTS_H
#define TALARIA_HOST_CONSTS_H

/* Shim usage of the hosts (the switch matches it; details in host.bpf.c):
 * NEW carries frontend_id = backend_id = 0 (hosts do not know frontend ids,
 * the switch finds the frontend by dst addr/port/proto); PINNED carries the
 * (frontend_id, backend_id) learnt from the first TO_CLIENT; REPLY echoes
 * TO_BACKEND's ids; ITP=Local is translated at the client host and never
 * reaches the switch; shim flags are ignored by hosts. */

/* Local pods of this node (pod IPv4 -> host-side veth, MACs). */
#ifndef HOST_MAX_PODS
#define HOST_MAX_PODS 1024
#endif

/* Service frontends (ClusterIP, NodeIP:nodePort, ExternalIP, LB IP). */
#ifndef HOST_MAX_FRONTENDS
#define HOST_MAX_FRONTENDS 65536
#endif

/* Client side connection map (LRU): one entry per service connection. */
#ifndef HOST_MAX_CONNS
#define HOST_MAX_CONNS 65536
#endif

/* Backend side reply map (LRU): one entry per service connection. */
#ifndef HOST_MAX_REPLIES
#define HOST_MAX_REPLIES 65536
#endif

/* ClientIP session affinity entries (LRU): one per (client, frontend). */
#ifndef HOST_MAX_AFFINITY
#define HOST_MAX_AFFINITY 16384
#endif

/* Local endpoints of internalTrafficPolicy=Local frontends, all frontends. */
#ifndef HOST_MAX_LOCAL_BACKENDS
#define HOST_MAX_LOCAL_BACKENDS 16384
#endif

/* Most local endpoints one ITP=Local frontend selects from. */
#ifndef HOST_MAX_LOCAL_PER_FRONTEND
#define HOST_MAX_LOCAL_PER_FRONTEND 256
#endif

/* Hairpin: the source a pod sees when it reaches itself through a Service
 * (kube-proxy masquerades, Cilium uses a link-local address; so do we). */
#ifndef HOST_HAIRPIN_ADDR
#define HOST_HAIRPIN_ADDR 0xa9fea901 /* 169.254.169.1, host byte order */
#endif

/* host_config.flags */
#define HOST_CFG_F_REDIRECT_PEER 0x1 /* deliver to pods with bpf_redirect_peer */

/* host_frontend.flags */
#define HOST_FE_F_HAS_ENDPOINTS 0x1 /* at least one usable endpoint in the cluster */
#define HOST_FE_F_AFFINITY 0x2      /* sessionAffinity: ClientIP */
#define HOST_FE_F_LOCAL_ONLY 0x4    /* internalTrafficPolicy: Local (NAT here) */

/* host_conn.flags and host_reply.flags */
#define HOST_CONN_F_CLOSING 0x1   /* FIN or RST seen: short idle timeout */
#define HOST_CONN_F_LOCAL_NAT 0x2 /* ITP=Local: translated on this host */
#define HOST_CONN_F_HAIRPIN 0x4   /* source rewritten to the hairpin address */
#define HOST_CONN_F_UNPINNED 0x8  /* host_conn reused by a new SYN: no backend learnt yet */

/* Drop reasons: index into the per-CPU tl_host_drops array. Keep in sync
 * with bpf/layouts/host-maps.ts (HOST_DROP_REASONS). */
enum host_drop_reason {
	HOST_DROP_NONE = 0,
	HOST_DROP_MALFORMED = 1,          /* truncated or inconsistent headers */
	HOST_DROP_SHIM_MALFORMED = 2,     /* our option with a bad length/ihl */
	HOST_DROP_SHIM_VERSION = 3,       /* shim version we do not speak */
	HOST_DROP_SHIM_KIND = 4,          /* a kind the host never receives */
	HOST_DROP_SHIM_FROM_POD = 5,      /* a pod sent a Talaria option */
	HOST_DROP_NO_LOCAL_POD = 6,       /* shim packet for a pod not on this node */
	HOST_DROP_ADJUST_ROOM = 7,        /* bpf_skb_adjust_room failed */
	HOST_DROP_STORE = 8,              /* skb store / csum helper failed */
	HOST_DROP_MAP_FULL = 9,           /* a map update failed */
	HOST_DROP_NO_LOCAL_ENDPOINT = 10, /* ITP=Local, endpoints only elsewhere */
	HOST_DROP_REJECT_FAILED = 11,     /* could not build the RST / ICMP */
	HOST_DROP_NO_REJECT = 12,         /* no endpoint, nothing to answer (RST in, other proto) */
	HOST_DROP_SHIM_FRAGMENT = 13,     /* an IP fragment carrying the shim */
	HOST_DROP_MAX = 14,
};

/* Events: index into the per-CPU tl_host_events array (paths taken).
 * Keep in sync with bpf/layouts/host-maps.ts (HOST_EVENTS). */
enum host_event {
	HOST_EV_POD_NEW = 0,           /* pod -> frontend, shim NEW */
	HOST_EV_POD_PINNED = 1,        /* pod -> frontend, shim PINNED (conn map) */
	HOST_EV_POD_AFFINITY = 2,      /* pod -> frontend, PINNED by ClientIP affinity */
	HOST_EV_POD_REPLY = 3,         /* backend pod reply, shim REPLY */
	HOST_EV_POD_LOCAL = 4,         /* pod -> local pod, redirected */
	HOST_EV_POD_REMOTE = 5,        /* pod -> remote pod, to the uplink */
	HOST_EV_POD_REJECT = 6,        /* no endpoint: RST / ICMP sent back */
	HOST_EV_LOCAL_NAT = 7,         /* ITP=Local, translated on this host */
	HOST_EV_LOCAL_NAT_REPLY = 8,   /* reply on an ITP=Local connection */
	HOST_EV_UP_TO_BACKEND = 9,     /* uplink TO_BACKEND delivered */
	HOST_EV_UP_TO_CLIENT = 10,     /* uplink TO_CLIENT delivered */
	HOST_EV_UP_LOCAL = 11,         /* uplink plain packet to a local pod */
	HOST_EV_PASS_NOT_IPV4 = 12,    /* IPv6, ARP, ...: normal stack */
	HOST_EV_PASS_IP_OPTIONS = 13,  /* IPv4 with options we do not own */
	HOST_EV_PASS_FRAGMENT = 14,    /* IPv4 fragment */
	HOST_EV_PASS_OTHER = 15,       /* not ours: normal stack */
	HOST_EV_PASS_TTL = 16,         /* TTL would expire: stack sends ICMP */
	HOST_EV_HAIRPIN = 17,          /* hairpin source rewrite */
	HOST_EV_PASS_NO_CONFIG = 18,   /* agent has not configured us yet: fail open */
	HOST_EV_MAX = 19,
};

#endif /* TALARIA_HOST_CONSTS_H */
