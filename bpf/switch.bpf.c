// SPDX-License-Identifier: (GPL-2.0 OR Apache-2.0)
/* The software switch: the pipeline of p4/talaria.p4 as one TC ingress
 * program attached to every port of a Linux box. Tables are maps filled by
 * the P4Runtime target in p4/softswitch/; the switch keeps no per-connection
 * state (see DESIGN.md, "How a connection stays consistent").
 *
 * Per packet: parse; NEW (or a frontend hit without shim) -> the source
 * check of a frontend with loadBalancerSourceRanges, then Maglev over the
 * frontend's group; PINNED -> backends[(frontend_id, backend_id)] or drop;
 * REPLY -> reverse_nat; then route (LPM), decrement TTL, add or strip the
 * shim as the route kind says, set MACs and redirect out of the port. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "shim.h"
#include "frontend_flags.h"
#include "switch_consts.h"
#include "switch_structs.h"
#include "switch_maps.h"
#include "switch_hash.h"
#include "switch_parsing.h"
#include "switch_reject.h"

/* sw_to_backend's answer for a frontend without a backend to offer. */
#define SW_REJECT 1

/* What the pipeline decided to do with a packet before touching it. */
struct sw_action {
	__u8 service;     /* a service packet: carries the shim towards hosts */
	__u8 rewrite_dst; /* NEW/PINNED: destination becomes the backend */
	__u8 rewrite_src; /* REPLY: source becomes the frontend */
	__u8 kind;        /* shim kind on the way out */
	__u8 flags;       /* shim flags on the way out */
	__be32 addr;      /* new destination or source address */
	__be16 port;      /* new destination or source port */
	__u32 frontend_id;
	__u32 backend_id;
};

static __always_inline void sw_count(void *map, __u32 slot, __u32 len)
{
	struct sw_counter *c = bpf_map_lookup_elem(map, &slot);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void sw_table_stat(__u32 table, int hit)
{
	struct sw_table_stat *s = bpf_map_lookup_elem(&table_stats, &table);

	if (!s)
		return;
	if (hit)
		s->hits++;
	else
		s->misses++;
}

static __always_inline int sw_drop(struct __sk_buff *skb, __u32 reason)
{
	sw_count(&drops, reason, skb->len);
	return TC_ACT_SHOT;
}

static __always_inline int sw_pass(struct __sk_buff *skb, __u32 reason)
{
	sw_count(&passes, reason, skb->len);
	return TC_ACT_OK;
}

/* frontends: NULL on a miss. */
static __always_inline struct sw_frontend *sw_frontend_lookup(struct sw_pkt *p)
{
	struct sw_frontend_key key = { .addr = p->daddr, .port = p->dport, .proto = p->proto };
	struct sw_frontend *fe = bpf_map_lookup_elem(&frontends, &key);

	sw_table_stat(SW_TABLE_FRONTENDS, fe != NULL);
	if (fe)
		sw_count(&frontends_counters, fe->counter, p->len);
	return fe;
}

/* backend_select: one member, or Maglev over the group's lookup table. */
static __always_inline struct sw_member *sw_select(struct sw_pkt *p, __u32 frontend_id, __u32 flags)
{
	struct sw_select *sel = bpf_map_lookup_elem(&backend_select, &frontend_id);
	__u32 slot;

	sw_table_stat(SW_TABLE_BACKEND_SELECT, sel != NULL);
	if (!sel)
		return NULL;
	sw_count(&backend_select_counters, sel->counter, p->len);
	if (sel->kind == SW_SELECT_MEMBER) {
		slot = sel->ref;
	} else {
		struct sw_lut *lut = bpf_map_lookup_elem(&group_luts, &sel->ref);

		if (!lut || lut->size == 0)
			return NULL;
		/* ClientIP affinity for clients outside the cluster (no shim, no host
		 * to pin them): every connection of a client hashes alike, so they keep
		 * their backend. A Talaria host keeps affinity itself, with its timeout,
		 * and sends PINNED while it lasts; its NEW must hash the full 5-tuple
		 * or an expired affinity would always land on the same backend. */
		__u16 sport = (flags & TALARIA_FLAG_AFFINITY_CLIENT_IP) && !p->has_shim ? 0 : p->sport;
		__u32 hash = sw_jhash_3words(p->saddr, p->daddr,
					     ((__u32)sport << 16 | p->dport) ^ p->proto, 0);
		__u32 idx = lut->base + hash % lut->size;
		__u32 *member_slot = bpf_map_lookup_elem(&maglev_lut, &idx);

		if (!member_slot)
			return NULL;
		slot = *member_slot;
	}
	struct sw_member *m = bpf_map_lookup_elem(&members, &slot);

	if (!m || !m->valid)
		return NULL;
	return m;
}

/* source_ranges: whether this source may open a connection to the frontend. */
static __always_inline int sw_source_allowed(struct sw_pkt *p, __u32 frontend_id)
{
	struct sw_source_range_key key = { .prefixlen = 64, .frontend_id = frontend_id, .addr = p->saddr };
	struct sw_source_range *r = bpf_map_lookup_elem(&source_ranges, &key);

	sw_table_stat(SW_TABLE_SOURCE_RANGES, r != NULL);
	if (r)
		sw_count(&source_ranges_counters, r->counter, p->len);
	return r != NULL;
}

/* NEW / PINNED (or a frontend hit without shim): pick the backend. */
static __always_inline int sw_to_backend(struct sw_pkt *p, struct sw_action *a, int pinned)
{
	struct sw_frontend *fe = sw_frontend_lookup(p);

	if (!fe)
		return -SW_DROP_NO_FRONTEND;
	a->frontend_id = fe->frontend_id;
	a->flags = (__u8)fe->flags;
	if (pinned) {
		struct sw_backend_key key = { .frontend_id = fe->frontend_id, .backend_id = p->backend_id };
		struct sw_backend *be = bpf_map_lookup_elem(&backends, &key);

		sw_table_stat(SW_TABLE_BACKENDS, be != NULL);
		if (!be)
			return -SW_DROP_PINNED_BACKEND_GONE;
		sw_count(&backends_counters, be->counter, p->len);
		a->backend_id = be->backend_id;
		a->addr = be->addr;
		a->port = be->port;
	} else {
		if ((fe->flags & TALARIA_FLAG_SOURCE_RANGES) && !sw_source_allowed(p, fe->frontend_id))
			return -SW_DROP_SOURCE_RANGE;
		if (fe->flags & TALARIA_FLAG_REJECT)
			return SW_REJECT;
		struct sw_member *m = sw_select(p, fe->frontend_id, fe->flags);

		/* No entry or an empty group: rejected like a frontend flagged so. */
		if (!m)
			return SW_REJECT;
		a->backend_id = m->backend_id;
		a->addr = m->addr;
		a->port = m->port;
	}
	a->service = 1;
	a->rewrite_dst = 1;
	a->kind = TALARIA_KIND_TO_BACKEND;
	return 0;
}

/* REPLY: restore the frontend as the source. */
static __always_inline int sw_to_client(struct sw_pkt *p, struct sw_action *a)
{
	struct sw_reverse_nat *rn = bpf_map_lookup_elem(&reverse_nat, &p->frontend_id);

	sw_table_stat(SW_TABLE_REVERSE_NAT, rn != NULL);
	if (!rn)
		return -SW_DROP_NO_REVERSE_NAT;
	sw_count(&reverse_nat_counters, rn->counter, p->len);
	a->service = 1;
	a->rewrite_src = 1;
	a->addr = rn->addr;
	a->port = rn->port;
	a->kind = TALARIA_KIND_TO_CLIENT;
	a->flags = p->shim_flags;
	a->frontend_id = p->frontend_id;
	a->backend_id = p->backend_id;
	return 0;
}

/* IPv4 header checksum over words 16-bit words starting at ip. */
static __always_inline __u16 sw_ip_csum(__u16 *w, int words)
{
	__u32 sum = 0;

	for (int i = 0; i < words; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Apply the action: L4 checksums first (they need the old values and the
 * old offsets), then add/remove the shim, then the header fields. */
static __always_inline int sw_rewrite(struct __sk_buff *skb, struct sw_pkt *p, struct sw_action *a,
				      int want_shim, const __u8 *dst_mac, const __u8 *src_mac)
{
	if (a->rewrite_dst || a->rewrite_src) {
		__u32 csum_off = p->l4_off + (p->proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
								     : offsetof(struct udphdr, check));
		__u64 mangled0 = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
		__be32 old_addr = a->rewrite_dst ? p->daddr : p->saddr;
		__be16 old_port = a->rewrite_dst ? p->dport : p->sport;
		__u32 addr_off = SW_L3_OFF + (a->rewrite_dst ? offsetof(struct iphdr, daddr)
							     : offsetof(struct iphdr, saddr));
		__u32 port_off = p->l4_off + (a->rewrite_dst ? 2 : 0);

		if (bpf_l4_csum_replace(skb, csum_off, old_addr, a->addr, mangled0 | BPF_F_PSEUDO_HDR | 4))
			return -SW_DROP_REWRITE_FAILED;
		if (bpf_l4_csum_replace(skb, csum_off, old_port, a->port, mangled0 | 2))
			return -SW_DROP_REWRITE_FAILED;
		if (bpf_skb_store_bytes(skb, addr_off, &a->addr, 4, 0))
			return -SW_DROP_REWRITE_FAILED;
		if (bpf_skb_store_bytes(skb, port_off, &a->port, 2, 0))
			return -SW_DROP_REWRITE_FAILED;
	}

	int delta = 0;

	if (want_shim && !p->has_shim)
		delta = TALARIA_OPT_LEN;
	else if (!want_shim && p->has_shim)
		delta = -TALARIA_OPT_LEN;
	if (delta && bpf_skb_adjust_room(skb, delta, BPF_ADJ_ROOM_NET, 0))
		return -SW_DROP_REWRITE_FAILED;

	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)ip + 20 + TALARIA_OPT_LEN > data_end && want_shim)
		return -SW_DROP_REWRITE_FAILED;
	if ((void *)(ip + 1) > data_end)
		return -SW_DROP_REWRITE_FAILED;

	__builtin_memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src_mac, ETH_ALEN);
	ip->ttl--;
	ip->tot_len = bpf_htons(p->tot_len + delta);
	ip->check = 0;
	if (want_shim) {
		struct talaria_shim *s = (void *)(ip + 1);

		if ((void *)(s + 1) > data_end)
			return -SW_DROP_REWRITE_FAILED;
		ip->ihl = TALARIA_IHL_WITH_SHIM;
		s->type = TALARIA_OPT_TYPE;
		s->len = TALARIA_OPT_LEN;
		s->ver_kind = TALARIA_VER_KIND(a->kind);
		s->flags = a->flags;
		s->frontend_id = bpf_htonl(a->frontend_id);
		s->backend_id = bpf_htonl(a->backend_id);
		ip->check = sw_ip_csum((__u16 *)ip, (20 + TALARIA_OPT_LEN) / 2);
	} else {
		ip->ihl = 5;
		ip->check = sw_ip_csum((__u16 *)ip, 20 / 2);
	}
	return 0;
}

/* Answers a packet for a frontend without backends, routed to the client. */
/* The source MAC of a packet leaving port_no, as talaria.p4's egress sets
 * it: the port's egress_ports entry (written by the controller), else the
 * sender's, unchanged. */
static __always_inline int sw_source_mac(struct __sk_buff *skb, __u32 port_no, __u32 len, __u8 *mac)
{
	struct sw_egress_port *e = bpf_map_lookup_elem(&egress_ports, &port_no);

	sw_table_stat(SW_TABLE_EGRESS_PORTS, e != NULL);
	if (!e)
		return bpf_skb_load_bytes(skb, ETH_ALEN, mac, ETH_ALEN);
	sw_count(&egress_ports_counters, e->counter, len);
	__builtin_memcpy(mac, e->mac, ETH_ALEN);
	return 0;
}

static __noinline int sw_reject(struct __sk_buff *skb, struct sw_pkt *p)
{
	struct sw_route_key rkey = { .prefixlen = 32, .addr = p->saddr };
	struct sw_route *route = bpf_map_lookup_elem(&routes, &rkey);
	int ret;

	if (!route || (route->kind != SW_ROUTE_TO_PORT && route->kind != SW_ROUTE_TO_EXTERNAL))
		return sw_drop(skb, SW_DROP_NO_ROUTE);
	__u32 port_no = route->port;
	struct sw_port *port = bpf_map_lookup_elem(&ports, &port_no);

	if (!port || !port->ifindex)
		return sw_drop(skb, SW_DROP_PORT_DOWN);
	__u8 dst_mac[ETH_ALEN], src_mac[ETH_ALEN];
	__u32 ifindex = port->ifindex;

	__builtin_memcpy(dst_mac, route->dst_mac, ETH_ALEN);
	if (sw_source_mac(skb, port_no, p->len, src_mac) < 0)
		return sw_drop(skb, SW_DROP_MALFORMED_IP);
	if (p->proto == IPPROTO_TCP)
		ret = sw_reject_tcp(skb, p, dst_mac, src_mac);
	else
		ret = sw_reject_icmp(skb, p, dst_mac, src_mac);
	if (ret < 0)
		return sw_drop(skb, -ret);
	sw_count(&rejects, p->proto == IPPROTO_TCP ? SW_REJECT_TCP_RST : SW_REJECT_ICMP_PORT_UNREACHABLE, p->len);
	return bpf_redirect(ifindex, 0);
}

SEC("tc")
int talaria_switch(struct __sk_buff *skb)
{
	struct sw_pkt p = {};
	struct sw_action a = {};
	int ret = sw_parse(skb, &p);

	if (ret < 0)
		return sw_drop(skb, -ret);
	if (ret > SW_PARSED)
		return sw_pass(skb, ret - 1);
	if (bpf_map_lookup_elem(&local_addrs, &p.daddr))
		return sw_pass(skb, SW_PASS_LOCAL);

	if (p.has_shim) {
		if (p.kind == TALARIA_KIND_REPLY)
			ret = sw_to_client(&p, &a);
		else
			ret = sw_to_backend(&p, &a, p.kind == TALARIA_KIND_PINNED);
	} else if (p.has_ports) {
		/* Traffic from outside the cluster: a frontend hit without shim is
		 * NEW; a miss is a plain packet, routed as it is. */
		ret = sw_to_backend(&p, &a, 0);
		if (ret == -SW_DROP_NO_FRONTEND)
			ret = 0;
	}
	if (ret < 0)
		return sw_drop(skb, -ret);
	if (ret == SW_REJECT)
		return sw_reject(skb, &p);

	struct sw_route_key rkey = { .prefixlen = 32, .addr = a.rewrite_dst ? a.addr : p.daddr };
	struct sw_route *route = bpf_map_lookup_elem(&routes, &rkey);

	sw_table_stat(SW_TABLE_ROUTES, route != NULL);
	if (!route)
		return a.service ? sw_drop(skb, SW_DROP_NO_ROUTE) : sw_pass(skb, SW_PASS_NO_ROUTE);
	sw_count(&routes_counters, route->counter, p.len);
	if (route->kind != SW_ROUTE_TO_PORT && route->kind != SW_ROUTE_TO_EXTERNAL)
		return sw_drop(skb, SW_DROP_ROUTE_DROP);
	if (p.ttl <= 1)
		return sw_drop(skb, SW_DROP_TTL_EXPIRED);

	__u32 port_no = route->port;
	struct sw_port *port = bpf_map_lookup_elem(&ports, &port_no);

	if (!port || !port->ifindex)
		return sw_drop(skb, SW_DROP_PORT_DOWN);

	int want_shim = a.service && route->kind == SW_ROUTE_TO_PORT;
	__u8 dst_mac[ETH_ALEN], src_mac[ETH_ALEN];
	__u32 ifindex = port->ifindex;

	__builtin_memcpy(dst_mac, route->dst_mac, ETH_ALEN);
	if (sw_source_mac(skb, port_no, p.len, src_mac) < 0)
		return sw_drop(skb, SW_DROP_MALFORMED_IP);
	ret = sw_rewrite(skb, &p, &a, want_shim, dst_mac, src_mac);
	if (ret < 0)
		return sw_drop(skb, -ret);
	return bpf_redirect(ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
