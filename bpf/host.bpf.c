// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Talaria host programs (TC, clsact ingress), DESIGN.md "Host programs":
 *
 *   tl_host_from_pod    ingress of each pod's host-side veth (pod -> host)
 *   tl_host_from_uplink ingress of the node's uplink (switch -> host)
 *
 * Shim usage (what the switch must match):
 *   - the client host sends NEW with frontend_id = 0 and backend_id = 0: it
 *     does not know frontend ids (no Kubernetes field carries them); the
 *     switch finds the frontend by (dst addr, dst port, proto) anyway.
 *   - it stores (frontend_id, backend_id) from the first TO_CLIENT and sends
 *     PINNED with both from then on (and for ClientIP affinity).
 *   - the backend host echoes TO_BACKEND's (frontend_id, backend_id) in REPLY.
 *   - internalTrafficPolicy=Local never reaches the switch: the client host
 *     translates to a local endpoint itself (the host knows local endpoints'
 *     addresses, not their backend ids) and restores the frontend on replies.
 *   - hairpin (the switch picked the client itself): the backend host
 *     rewrites the source to 169.254.169.1 and restores it on the reply.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "shim.h"
#include "host_consts.h"
#include "host_structs.h"
#include "host_maps.h"
#include "host_packet.h"
#include "host_reject.h"

static __always_inline const struct host_config *host_cfg(void)
{
	__u32 zero = 0;
	const struct host_config *cfg = bpf_map_lookup_elem(&tl_host_cfg, &zero);

	if (!cfg || !cfg->uplink_ifindex)
		return NULL;
	return cfg;
}

static __always_inline __be32 host_hairpin_addr(const struct host_config *cfg)
{
	return cfg->hairpin_addr ? cfg->hairpin_addr : bpf_htonl(HOST_HAIRPIN_ADDR);
}

/* Into a local pod: its MACs, then the peer of its host veth. */
static __always_inline int host_deliver(struct __sk_buff *skb, const struct host_config *cfg,
					const struct host_pod *pod)
{
	int ret = host_set_macs(skb, pod->mac, pod->gw_mac);

	if (ret)
		return ret;
	if (cfg->flags & HOST_CFG_F_REDIRECT_PEER)
		return bpf_redirect_peer(pod->ifindex, 0);
	return bpf_redirect(pod->ifindex, 0);
}

/* Out of the uplink to the switch. */
static __always_inline int host_to_uplink(struct __sk_buff *skb, const struct host_config *cfg)
{
	int ret = host_set_macs(skb, cfg->gateway_mac, cfg->uplink_mac);

	if (ret)
		return ret;
	return bpf_redirect(cfg->uplink_ifindex, 0);
}

/* A service packet for the switch: TTL, shim, MACs, redirect. */
static __always_inline int host_to_switch(struct __sk_buff *skb, const struct host_config *cfg,
					  struct host_pkt *p, __u8 kind, __u32 frontend_id,
					  __u32 backend_id, __u32 ev)
{
	int ret = host_ttl_dec(skb);

	if (ret)
		return ret;
	ret = host_shim_push(skb, p, kind, frontend_id, backend_id);
	if (ret)
		return ret;
	host_event(ev);
	return host_to_uplink(skb, cfg);
}

/* Entries only need their idle time in seconds: the coarse clock (CLOCK_MONOTONIC
 * as of the last tick) is enough, and unlike bpf_ktime_get_ns it reads no
 * clocksource; on a VM (pvclock) that read cost about 1 us per request over
 * the ~10 packets of a short connection. The agent's GC compares the stamps
 * with its own CLOCK_MONOTONIC, which is never behind them. */
static __always_inline __u64 host_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* since + seconds has not passed yet; a stamp slightly ahead of the coarse
 * clock (written from user space with the precise one) counts as fresh. */
static __always_inline bool host_within(__u64 now, __u64 since, __u32 seconds)
{
	return now < since || now - since < (__u64)seconds * 1000000000ULL;
}

static __always_inline void host_conn_touch(struct host_conn *ct, const struct host_pkt *p, __u64 now)
{
	ct->last_seen_ns = now;
	if (host_fin_or_rst(p))
		ct->flags |= HOST_CONN_F_CLOSING;
}

/* A plain packet opening a flow to a local pod: a reply entry left by an
 * earlier service connection with the same 5-tuple (a client reusing its
 * port within the closing timeout, now talking to the pod directly) would
 * turn the pod's answers into REPLYs to the frontend. TCP: on a SYN; UDP:
 * any plain datagram, since nothing marks a new UDP flow. */
static __always_inline void host_forget_reply(const struct host_pkt *p)
{
	/* A lockless lookup first: the delete takes the bucket lock. */
	if ((p->flow.proto == IPPROTO_TCP ? host_syn_only(p) : p->flow.proto == IPPROTO_UDP) &&
	    bpf_map_lookup_elem(&tl_host_replies, &p->flow))
		bpf_map_delete_elem(&tl_host_replies, &p->flow);
}

/* ITP=Local, established or chosen: translate to the local endpoint and
 * deliver; the reply map remembers how to undo it. */
static __always_inline int host_local_nat(struct __sk_buff *skb, const struct host_config *cfg,
					  struct host_pkt *p, __be32 nat_addr, __be16 nat_port, __u64 now)
{
	const struct host_pod *pod = bpf_map_lookup_elem(&tl_host_pods, &nat_addr);
	struct host_flow rkey;
	struct host_reply *r;
	bool hairpin;
	int ret;

	if (!pod)
		return -HOST_DROP_NO_LOCAL_POD;
	ret = host_ttl_dec(skb);
	if (ret)
		return ret;
	hairpin = p->flow.saddr == nat_addr;
	rkey = p->flow;
	if (hairpin)
		rkey.saddr = host_hairpin_addr(cfg);
	rkey.daddr = nat_addr;
	rkey.dport = nat_port;
	r = bpf_map_lookup_elem(&tl_host_replies, &rkey);
	if (r && !host_syn_only(p)) {
		r->last_seen_ns = now;
		if (host_fin_or_rst(p))
			r->flags |= HOST_CONN_F_CLOSING;
	} else {
		struct host_reply nr = {
			.last_seen_ns = now,
			.orig_saddr = hairpin ? p->flow.saddr : 0,
			.fe_addr = p->flow.daddr,
			.fe_port = p->flow.dport,
			.flags = HOST_CONN_F_LOCAL_NAT | (hairpin ? HOST_CONN_F_HAIRPIN : 0),
		};

		if (bpf_map_update_elem(&tl_host_replies, &rkey, &nr, BPF_ANY))
			return -HOST_DROP_MAP_FULL;
	}
	ret = host_nat_addr(skb, p, false, nat_addr);
	if (!ret)
		ret = host_nat_port(skb, p, false, nat_port);
	if (!ret && hairpin) {
		ret = host_nat_addr(skb, p, true, rkey.saddr);
		host_event(HOST_EV_HAIRPIN);
	}
	if (ret)
		return ret;
	host_event(HOST_EV_LOCAL_NAT);
	return host_deliver(skb, cfg, pod);
}

/* ITP=Local, first packet: pick a local endpoint (or honour affinity). */
static __always_inline int host_local_nat_new(struct __sk_buff *skb, const struct host_config *cfg,
					      struct host_pkt *p, const struct host_frontend_key *fk,
					      const struct host_frontend *fe, __u64 now)
{
	struct host_affinity_key akey = { .client = p->flow.saddr, .fe = *fk };
	struct host_local_backend_key lkey = { .fe = *fk };
	const struct host_local_backend *lbe;
	struct host_conn ct = { .last_seen_ns = now, .flags = HOST_CONN_F_LOCAL_NAT };
	struct host_conn *aff = NULL;
	__u32 n = fe->local_count;

	if (n == 0)
		return (fe->flags & HOST_FE_F_HAS_ENDPOINTS) ? -HOST_DROP_NO_LOCAL_ENDPOINT
							     : host_reject(skb, p);
	if (fe->flags & HOST_FE_F_AFFINITY) {
		aff = bpf_map_lookup_elem(&tl_host_affin, &akey);
		if (aff && (aff->flags & HOST_CONN_F_LOCAL_NAT) &&
		    host_within(now, aff->last_seen_ns, fe->affinity_timeout_s)) {
			ct.nat_addr = aff->nat_addr;
			ct.nat_port = aff->nat_port;
			host_event(HOST_EV_POD_AFFINITY);
		} else {
			aff = NULL;
		}
	}
	if (!aff) {
		if (n > HOST_MAX_LOCAL_PER_FRONTEND)
			n = HOST_MAX_LOCAL_PER_FRONTEND;
		lkey.index = bpf_get_prandom_u32() % n;
		lbe = bpf_map_lookup_elem(&tl_host_lbe, &lkey);
		if (!lbe)
			return -HOST_DROP_NO_LOCAL_ENDPOINT;
		ct.nat_addr = lbe->addr;
		ct.nat_port = lbe->port;
	}
	if (host_fin_or_rst(p))
		ct.flags |= HOST_CONN_F_CLOSING;
	if (bpf_map_update_elem(&tl_host_conns, &p->flow, &ct, BPF_ANY))
		return -HOST_DROP_MAP_FULL;
	if (fe->flags & HOST_FE_F_AFFINITY)
		bpf_map_update_elem(&tl_host_affin, &akey, &ct, BPF_ANY);
	return host_local_nat(skb, cfg, p, ct.nat_addr, ct.nat_port, now);
}

/* Pod -> frontend: PINNED if the connection (or affinity) pins it, NEW
 * otherwise; ITP=Local stays on this host; no endpoint: reject. */
static __always_inline int host_pod_to_frontend(struct __sk_buff *skb, const struct host_config *cfg,
						struct host_pkt *p, const struct host_frontend_key *fk,
						const struct host_frontend *fe)
{
	__u64 now = host_now();
	struct host_conn *ct = bpf_map_lookup_elem(&tl_host_conns, &p->flow);

	/* A SYN reusing the 5-tuple of a closed connection starts afresh. The
	 * entry is reset in place rather than deleted: clients reuse their ports
	 * within seconds, and an LRU delete plus the insert at TO_CLIENT take the
	 * LRU lock twice per connection. It stays CLOSING (short idle timeout)
	 * until the switch answers. */
	if (ct && (ct->flags & HOST_CONN_F_CLOSING) && host_syn_only(p)) {
		ct->last_seen_ns = now;
		ct->flags = HOST_CONN_F_UNPINNED | HOST_CONN_F_CLOSING;
	}
	if (ct && !(ct->flags & HOST_CONN_F_UNPINNED)) {
		host_conn_touch(ct, p, now);
		if (ct->flags & HOST_CONN_F_LOCAL_NAT)
			return host_local_nat(skb, cfg, p, ct->nat_addr, ct->nat_port, now);
		return host_to_switch(skb, cfg, p, TALARIA_KIND_PINNED, ct->frontend_id,
				      ct->backend_id, HOST_EV_POD_PINNED);
	}
	if (fe->flags & HOST_FE_F_LOCAL_ONLY)
		return host_local_nat_new(skb, cfg, p, fk, fe, now);
	if (!(fe->flags & HOST_FE_F_HAS_ENDPOINTS))
		return host_reject(skb, p);
	if (fe->flags & HOST_FE_F_AFFINITY) {
		struct host_affinity_key akey = { .client = p->flow.saddr, .fe = *fk };
		struct host_conn *aff = bpf_map_lookup_elem(&tl_host_affin, &akey);

		if (aff && !(aff->flags & HOST_CONN_F_LOCAL_NAT) &&
		    host_within(now, aff->last_seen_ns, fe->affinity_timeout_s)) {
			aff->last_seen_ns = now;
			return host_to_switch(skb, cfg, p, TALARIA_KIND_PINNED, aff->frontend_id,
					      aff->backend_id, HOST_EV_POD_AFFINITY);
		}
	}
	return host_to_switch(skb, cfg, p, TALARIA_KIND_NEW, 0, 0, HOST_EV_POD_NEW);
}

/* A backend pod's reply on a recorded connection. */
static __always_inline int host_pod_reply(struct __sk_buff *skb, const struct host_config *cfg,
					  struct host_pkt *p, struct host_reply *r)
{
	__u64 now = host_now();
	int ret = 0;

	r->last_seen_ns = now;
	if (host_fin_or_rst(p))
		r->flags |= HOST_CONN_F_CLOSING;
	if (r->flags & HOST_CONN_F_HAIRPIN)
		ret = host_nat_addr(skb, p, false, r->orig_saddr);
	if (ret)
		return ret;
	if (r->flags & HOST_CONN_F_LOCAL_NAT) {
		const struct host_pod *pod = bpf_map_lookup_elem(&tl_host_pods, &p->flow.daddr);
		struct host_flow ckey;
		struct host_conn *ct;

		if (!pod)
			return -HOST_DROP_NO_LOCAL_POD;
		ret = host_ttl_dec(skb);
		if (ret)
			return ret;
		ret = host_nat_addr(skb, p, true, r->fe_addr);
		if (!ret)
			ret = host_nat_port(skb, p, true, r->fe_port);
		if (ret)
			return ret;
		ckey.saddr = p->flow.daddr;
		ckey.daddr = p->flow.saddr;
		ckey.sport = p->flow.dport;
		ckey.dport = p->flow.sport;
		ckey.proto = p->flow.proto;
		ckey.pad[0] = ckey.pad[1] = ckey.pad[2] = 0;
		ct = bpf_map_lookup_elem(&tl_host_conns, &ckey);
		if (ct)
			host_conn_touch(ct, p, now);
		host_event(HOST_EV_LOCAL_NAT_REPLY);
		return host_deliver(skb, cfg, pod);
	}
	return host_to_switch(skb, cfg, p, TALARIA_KIND_REPLY, r->frontend_id, r->backend_id,
			      HOST_EV_POD_REPLY);
}

/* Every program's first step: the agent's config and the parsed headers, or
 * the verdict for a packet that goes no further (no config yet: pass). */
static __always_inline int host_begin(struct __sk_buff *skb, const struct host_config **cfg, struct host_pkt *p)
{
	*cfg = host_cfg();
	if (!*cfg) {
		host_event(HOST_EV_PASS_NO_CONFIG);
		return HOST_PASS;
	}
	return host_parse(skb, p);
}

static __always_inline int host_from_pod(struct __sk_buff *skb)
{
	const struct host_config *cfg;
	struct host_frontend_key fk = {};
	const struct host_frontend *fe;
	const struct host_pod *pod;
	struct host_pkt p;
	int ret;

	ret = host_begin(skb, &cfg, &p);
	if (ret)
		return ret;
	if (p.has_shim)
		return -HOST_DROP_SHIM_FROM_POD;

	if (p.flow.sport || p.flow.dport) {
		struct host_flow rkey = {
			.saddr = p.flow.daddr,
			.daddr = p.flow.saddr,
			.sport = p.flow.dport,
			.dport = p.flow.sport,
			.proto = p.flow.proto,
		};
		struct host_reply *r = bpf_map_lookup_elem(&tl_host_replies, &rkey);

		if (r)
			return host_pod_reply(skb, cfg, &p, r);

		fk.addr = p.flow.daddr;
		fk.port = p.flow.dport;
		fk.proto = p.flow.proto;
		fe = bpf_map_lookup_elem(&tl_host_fronts, &fk);
		if (fe)
			return host_pod_to_frontend(skb, cfg, &p, &fk, fe);
	}

	pod = bpf_map_lookup_elem(&tl_host_pods, &p.flow.daddr);
	if (pod) {
		ret = host_ttl_dec(skb);
		if (ret)
			return ret;
		host_forget_reply(&p);
		host_event(HOST_EV_POD_LOCAL);
		return host_deliver(skb, cfg, pod);
	}
	if (cfg->cluster_mask && (p.flow.daddr & cfg->cluster_mask) == cfg->cluster_cidr) {
		ret = host_ttl_dec(skb);
		if (ret)
			return ret;
		host_event(HOST_EV_POD_REMOTE);
		return host_to_uplink(skb, cfg);
	}
	host_event(HOST_EV_PASS_OTHER);
	return HOST_PASS;
}

/* TO_BACKEND: record, strip (hairpin: rewrite the source), deliver. */
static __always_inline int host_to_backend(struct __sk_buff *skb, const struct host_config *cfg,
					   struct host_pkt *p, const struct host_pod *pod)
{
	__u64 now = host_now();
	struct host_reply *r;
	struct host_flow key;
	bool hairpin;
	int ret;

	ret = host_shim_pop(skb, p);
	if (!ret)
		ret = host_ttl_dec(skb);
	if (ret)
		return ret;
	hairpin = p->flow.saddr == p->flow.daddr;
	key = p->flow;
	if (hairpin)
		key.saddr = host_hairpin_addr(cfg);
	r = bpf_map_lookup_elem(&tl_host_replies, &key);
	if (r && !host_syn_only(p) && r->frontend_id == p->frontend_id &&
	    r->backend_id == p->backend_id) {
		r->last_seen_ns = now;
		if (host_fin_or_rst(p))
			r->flags |= HOST_CONN_F_CLOSING;
	} else {
		struct host_reply nr = {
			.last_seen_ns = now,
			.frontend_id = p->frontend_id,
			.backend_id = p->backend_id,
			.orig_saddr = hairpin ? p->flow.saddr : 0,
			.flags = (hairpin ? HOST_CONN_F_HAIRPIN : 0) |
				 (host_fin_or_rst(p) ? HOST_CONN_F_CLOSING : 0),
		};

		/* An entry left by an earlier connection on this 5-tuple is
		 * overwritten in place: an LRU update would take the LRU lock
		 * twice (a new node, the old one freed) for every connection. */
		if (r)
			*r = nr;
		else if (bpf_map_update_elem(&tl_host_replies, &key, &nr, BPF_ANY))
			return -HOST_DROP_MAP_FULL;
	}
	if (hairpin) {
		ret = host_nat_addr(skb, p, true, key.saddr);
		if (ret)
			return ret;
		host_event(HOST_EV_HAIRPIN);
	}
	host_event(HOST_EV_UP_TO_BACKEND);
	return host_deliver(skb, cfg, pod);
}

/* TO_CLIENT: learn the backend (the connection is PINNED from now on),
 * refresh ClientIP affinity, strip, deliver. */
static __always_inline int host_to_client(struct __sk_buff *skb, const struct host_config *cfg,
					  struct host_pkt *p, const struct host_pod *pod)
{
	__u64 now = host_now();
	struct host_flow key = {
		.saddr = p->flow.daddr,
		.daddr = p->flow.saddr,
		.sport = p->flow.dport,
		.dport = p->flow.sport,
		.proto = p->flow.proto,
	};
	struct host_conn *ct;
	int ret;

	ret = host_shim_pop(skb, p);
	if (!ret)
		ret = host_ttl_dec(skb);
	if (ret)
		return ret;
	ct = bpf_map_lookup_elem(&tl_host_conns, &key);
	if (ct && !(ct->flags & HOST_CONN_F_UNPINNED)) {
		host_conn_touch(ct, p, now);
		ct->frontend_id = p->frontend_id;
		ct->backend_id = p->backend_id;
	} else {
		/* The connection's first answer (into a new entry, or the one a
		 * reused 5-tuple reset in place): pinned from now on, and for
		 * ClientIP affinity the client's other connections follow. */
		struct host_frontend_key fk = {
			.addr = p->flow.saddr, .port = p->flow.sport, .proto = p->flow.proto,
		};
		struct host_conn nc = {
			.last_seen_ns = now,
			.frontend_id = p->frontend_id,
			.backend_id = p->backend_id,
			.flags = host_fin_or_rst(p) ? HOST_CONN_F_CLOSING : 0,
		};
		const struct host_frontend *fe;

		if (ct)
			*ct = nc;
		else if (bpf_map_update_elem(&tl_host_conns, &key, &nc, BPF_ANY))
			return -HOST_DROP_MAP_FULL;
		fe = bpf_map_lookup_elem(&tl_host_fronts, &fk);
		if (fe && (fe->flags & HOST_FE_F_AFFINITY)) {
			struct host_affinity_key akey = { .client = key.saddr, .fe = fk };

			nc.flags = 0;
			bpf_map_update_elem(&tl_host_affin, &akey, &nc, BPF_ANY);
		}
	}
	host_event(HOST_EV_UP_TO_CLIENT);
	return host_deliver(skb, cfg, pod);
}

static __always_inline int host_from_uplink(struct __sk_buff *skb)
{
	const struct host_config *cfg;
	const struct host_pod *pod;
	struct host_pkt p;
	int ret;

	ret = host_begin(skb, &cfg, &p);
	if (ret)
		return ret;
	pod = bpf_map_lookup_elem(&tl_host_pods, &p.flow.daddr);
	if (p.has_shim) {
		if (p.kind != TALARIA_KIND_TO_BACKEND && p.kind != TALARIA_KIND_TO_CLIENT)
			return -HOST_DROP_SHIM_KIND;
		if (!pod)
			return -HOST_DROP_NO_LOCAL_POD;
		if (p.kind == TALARIA_KIND_TO_BACKEND)
			return host_to_backend(skb, cfg, &p, pod);
		return host_to_client(skb, cfg, &p, pod);
	}
	if (pod) {
		ret = host_ttl_dec(skb);
		if (ret)
			return ret;
		host_forget_reply(&p);
		host_event(HOST_EV_UP_LOCAL);
		return host_deliver(skb, cfg, pod);
	}
	host_event(HOST_EV_PASS_OTHER);
	return HOST_PASS;
}

/* One exit: count the drop reason, map HOST_PASS to the normal stack. */
static __always_inline int host_finish(int ret)
{
	if (ret == HOST_PASS)
		return TC_ACT_OK;
	if (ret < 0) {
		host_count(&tl_host_drops, (__u32)-ret);
		return TC_ACT_SHOT;
	}
	return ret;
}

SEC("tc")
int tl_host_from_pod(struct __sk_buff *skb)
{
	return host_finish(host_from_pod(skb));
}

SEC("tc")
int tl_host_from_uplink(struct __sk_buff *skb)
{
	return host_finish(host_from_uplink(skb));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
