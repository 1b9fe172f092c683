/* Packet helpers of the host programs: parsing, checksums, NAT, shim
 * push/pop. Conventions (cilium style): helpers return 0 on success, a
 * positive HOST_PASS when the packet belongs to the normal stack, or a
 * negative enum host_drop_reason. Every direct read is preceded by its own
 * bounds check; after any helper that may move packet data, pointers are
 * reloaded. */
#ifndef TALARIA_HOST_PACKET_H
#define TALARIA_HOST_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "shim.h"
#include "host_consts.h"
#include "host_structs.h"
#include "host_maps.h"
#include "answer.h"

/* Not ours: hand the packet to the normal stack (TC_ACT_OK). */
#define HOST_PASS 1

#define HOST_IP_OFF ETH_HLEN
#define HOST_IP_MF 0x2000
#define HOST_IP_OFFSET 0x1fff
/* Headers we may read before deciding: Ethernet, IPv4 with options, TCP. */
#define HOST_PULL_LEN (ETH_HLEN + 60 + 20)

#define HOST_TCP_FIN 0x01
#define HOST_TCP_SYN 0x02
#define HOST_TCP_RST 0x04
#define HOST_TCP_ACK 0x10

/* skb->data / data_end read with one load each: left to itself clang keeps
 * &skb->data_end in a register and the verifier refuses the modified ctx
 * pointer (the same trick as cilium's ctx_data_end). */
static __always_inline void *host_data(const struct __sk_buff *skb)
{
	void *d;

	asm volatile("%[res] = *(u32 *)(%[base] + %[off])"
		     : [res] "=r"(d)
		     : [base] "r"(skb), [off] "i"(offsetof(struct __sk_buff, data)));
	return d;
}

static __always_inline void *host_data_end(const struct __sk_buff *skb)
{
	void *d;

	asm volatile("%[res] = *(u32 *)(%[base] + %[off])"
		     : [res] "=r"(d)
		     : [base] "r"(skb), [off] "i"(offsetof(struct __sk_buff, data_end)));
	return d;
}

/* What the parser learnt about one IPv4 packet. */
struct host_pkt {
	struct host_flow flow; /* addresses, ports (0 without ports), proto */
	__u32 l4_off;          /* offset of the L4 header from the MAC header */
	__u32 l4_len;          /* tot_len - ihl * 4 */
	__u8 tcp_flags;        /* TCP only */
	__u8 has_shim;         /* the Talaria option follows the base header */
	__u8 kind;             /* shim kind */
	__u8 pad;
	__u32 frontend_id;     /* shim fields, host byte order */
	__u32 backend_id;
};

static __always_inline void host_count(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		*v += 1;
}

static __always_inline void host_event(__u32 ev)
{
	host_count(&tl_host_events, ev);
}

static __always_inline bool host_syn_only(const struct host_pkt *p)
{
	return p->flow.proto == IPPROTO_TCP &&
	       (p->tcp_flags & (HOST_TCP_SYN | HOST_TCP_ACK)) == HOST_TCP_SYN;
}

static __always_inline bool host_fin_or_rst(const struct host_pkt *p)
{
	return p->flow.proto == IPPROTO_TCP && (p->tcp_flags & (HOST_TCP_FIN | HOST_TCP_RST));
}

/* Recomputes the IPv4 header checksum over hlen bytes (20 or 32). */
static __always_inline int host_ip_csum(struct __sk_buff *skb, int hlen)
{
	void *data = host_data(skb);
	void *data_end = host_data_end(skb);
	struct iphdr *iph = data + HOST_IP_OFF;

	if (hlen == 32) {
		if ((void *)iph + 32 > data_end)
			return -HOST_DROP_MALFORMED;
		iph->check = 0;
		iph->check = talaria_csum_fold(talaria_csum_words(iph, 16));
	} else {
		if ((void *)iph + 20 > data_end)
			return -HOST_DROP_MALFORMED;
		iph->check = 0;
		iph->check = talaria_csum_fold(talaria_csum_words(iph, 10));
	}
	return 0;
}

/* Parses Ethernet + IPv4 (+ the shim) + the L4 ports. */
static __always_inline int host_parse(struct __sk_buff *skb, struct host_pkt *p)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *iph;
	__u32 ihl_len, tot;
	__be16 frag;
	void *l4;

	data = host_data(skb);
	data_end = host_data_end(skb);
	/* Headers in paged data (rare on veth): make them linear first. */
	if (data + HOST_PULL_LEN > data_end)
		bpf_skb_pull_data(skb, skb->len < HOST_PULL_LEN ? skb->len : HOST_PULL_LEN);
	data = host_data(skb);
	data_end = host_data_end(skb);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		host_event(HOST_EV_PASS_NOT_IPV4);
		return HOST_PASS;
	}
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return -HOST_DROP_MALFORMED;
	ihl_len = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < ihl_len || tot + ETH_HLEN > skb->len)
		return -HOST_DROP_MALFORMED;
	/* A fragment has no ports to balance on and goes to the stack, unless it
	 * carries the shim: the stack would hand that on to a pod (or, from a
	 * pod, to the switch) with the option in it. Shim packets are never
	 * fragmented (the uplink MTU is the pod MTU + 12), so such a fragment
	 * is dropped, as the switch drops it. */
	frag = iph->frag_off & bpf_htons(HOST_IP_MF | HOST_IP_OFFSET);

	__builtin_memset(p, 0, sizeof(*p));
	if (iph->ihl != 5) {
		struct talaria_shim *sh = (void *)(iph + 1);

		if ((void *)sh + 1 > data_end)
			return -HOST_DROP_MALFORMED;
		if (sh->type != TALARIA_OPT_TYPE) {
			host_event(frag ? HOST_EV_PASS_FRAGMENT : HOST_EV_PASS_IP_OPTIONS);
			return HOST_PASS;
		}
		if (frag)
			return -HOST_DROP_SHIM_FRAGMENT;
		if (iph->ihl != TALARIA_IHL_WITH_SHIM)
			return -HOST_DROP_SHIM_MALFORMED;
		if ((void *)(sh + 1) > data_end)
			return -HOST_DROP_MALFORMED;
		if (sh->len != TALARIA_OPT_LEN)
			return -HOST_DROP_SHIM_MALFORMED;
		if (TALARIA_SHIM_VERSION_OF(sh->ver_kind) != TALARIA_SHIM_VERSION)
			return -HOST_DROP_SHIM_VERSION;
		p->has_shim = 1;
		p->kind = TALARIA_SHIM_KIND_OF(sh->ver_kind);
		p->frontend_id = bpf_ntohl(sh->frontend_id);
		p->backend_id = bpf_ntohl(sh->backend_id);
	} else if (frag) {
		host_event(HOST_EV_PASS_FRAGMENT);
		return HOST_PASS;
	}

	p->flow.saddr = iph->saddr;
	p->flow.daddr = iph->daddr;
	p->flow.proto = iph->protocol;
	p->l4_off = ETH_HLEN + ihl_len;
	p->l4_len = tot - ihl_len;
	l4 = (void *)iph + ihl_len;
	switch (iph->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || p->l4_len < sizeof(*th))
			return -HOST_DROP_MALFORMED;
		if (th->doff < 5 || th->doff * 4 > p->l4_len)
			return -HOST_DROP_MALFORMED;
		p->flow.sport = th->source;
		p->flow.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end || p->l4_len < sizeof(*uh))
			return -HOST_DROP_MALFORMED;
		p->flow.sport = uh->source;
		p->flow.dport = uh->dest;
		break;
	}
	case IPPROTO_SCTP: {
		__be16 *ports = l4;

		if ((void *)(ports + 2) > data_end || p->l4_len < 12)
			return -HOST_DROP_MALFORMED;
		p->flow.sport = ports[0];
		p->flow.dport = ports[1];
		break;
	}
	default:
		break;
	}
	return 0;
}

/* Decrements the TTL as a router does; HOST_PASS when it would expire, so
 * that the normal stack sends ICMP time exceeded. */
static __always_inline int host_ttl_dec(struct __sk_buff *skb)
{
	void *data = host_data(skb);
	void *data_end = host_data_end(skb);
	struct iphdr *iph = data + HOST_IP_OFF;
	__u32 check;

	if ((void *)(iph + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	if (iph->ttl <= 1) {
		host_event(HOST_EV_PASS_TTL);
		return HOST_PASS;
	}
	check = iph->check;
	check += bpf_htons(0x0100);
	iph->check = (__u16)(check + (check >= 0xFFFF));
	iph->ttl--;
	return 0;
}

static __always_inline int host_set_macs(struct __sk_buff *skb, const __u8 *dst, const __u8 *src)
{
	void *data = host_data(skb);
	void *data_end = host_data_end(skb);
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	return 0;
}

/* Offset of the L4 checksum, or -1 when the protocol has none we can fix
 * (SCTP's CRC32c does not cover addresses; ports we cannot fix). */
static __always_inline int host_l4_csum_off(const struct host_pkt *p)
{
	if (p->flow.proto == IPPROTO_TCP)
		return p->l4_off + offsetof(struct tcphdr, check);
	if (p->flow.proto == IPPROTO_UDP)
		return p->l4_off + offsetof(struct udphdr, check);
	return -1;
}

static __always_inline __u64 host_l4_csum_flags(const struct host_pkt *p)
{
	return p->flow.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

/* Rewrites the source (src) or destination address; incremental checksum
 * updates keep CHECKSUM_PARTIAL skbs right (the pseudo-header sum). */
static __always_inline int host_nat_addr(struct __sk_buff *skb, struct host_pkt *p, bool src,
					 __be32 to)
{
	__u32 off = HOST_IP_OFF + (src ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr));
	__be32 from = src ? p->flow.saddr : p->flow.daddr;
	int csum_off = host_l4_csum_off(p);

	if (from == to)
		return 0;
	if (csum_off >= 0 &&
	    bpf_l4_csum_replace(skb, csum_off, from, to,
				BPF_F_PSEUDO_HDR | sizeof(to) | host_l4_csum_flags(p)))
		return -HOST_DROP_STORE;
	if (bpf_l3_csum_replace(skb, HOST_IP_OFF + offsetof(struct iphdr, check), from, to, sizeof(to)))
		return -HOST_DROP_STORE;
	if (bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0))
		return -HOST_DROP_STORE;
	if (src)
		p->flow.saddr = to;
	else
		p->flow.daddr = to;
	return 0;
}

/* Rewrites the source (src) or destination port. */
static __always_inline int host_nat_port(struct __sk_buff *skb, struct host_pkt *p, bool src,
					 __be16 to)
{
	__be16 from = src ? p->flow.sport : p->flow.dport;
	int csum_off = host_l4_csum_off(p);

	if (from == to)
		return 0;
	if (csum_off >= 0 &&
	    bpf_l4_csum_replace(skb, csum_off, from, to, sizeof(to) | host_l4_csum_flags(p)))
		return -HOST_DROP_STORE;
	if (bpf_skb_store_bytes(skb, p->l4_off + (src ? 0 : 2), &to, sizeof(to), 0))
		return -HOST_DROP_STORE;
	if (src)
		p->flow.sport = to;
	else
		p->flow.dport = to;
	return 0;
}

/* Inserts the 12-byte option after the base header. The L4 checksum does
 * not cover IP options; the header checksum is recomputed. FIXED_GSO keeps
 * gso_size: the uplink MTU is the pod MTU + 12 (DESIGN.md). */
static __always_inline int host_shim_push(struct __sk_buff *skb, struct host_pkt *p, __u8 kind,
					  __u32 frontend_id, __u32 backend_id)
{
	void *data, *data_end;
	struct iphdr *iph;
	struct talaria_shim *sh;

	if (bpf_skb_adjust_room(skb, TALARIA_OPT_LEN, BPF_ADJ_ROOM_NET, BPF_F_ADJ_ROOM_FIXED_GSO))
		return -HOST_DROP_ADJUST_ROOM;
	data = host_data(skb);
	data_end = host_data_end(skb);
	iph = data + HOST_IP_OFF;
	sh = (void *)(iph + 1);
	if ((void *)(sh + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	sh->type = TALARIA_OPT_TYPE;
	sh->len = TALARIA_OPT_LEN;
	sh->ver_kind = TALARIA_VER_KIND(kind);
	sh->flags = 0;
	sh->frontend_id = bpf_htonl(frontend_id);
	sh->backend_id = bpf_htonl(backend_id);
	iph->ihl = TALARIA_IHL_WITH_SHIM;
	iph->tot_len = bpf_htons(bpf_ntohs(iph->tot_len) + TALARIA_OPT_LEN);
	p->l4_off += TALARIA_OPT_LEN;
	p->has_shim = 1;
	p->kind = kind;
	return host_ip_csum(skb, 32);
}

/* Removes the option again (the receiving host, before delivery). */
static __always_inline int host_shim_pop(struct __sk_buff *skb, struct host_pkt *p)
{
	void *data, *data_end;
	struct iphdr *iph;

	if (bpf_skb_adjust_room(skb, -TALARIA_OPT_LEN, BPF_ADJ_ROOM_NET, BPF_F_ADJ_ROOM_FIXED_GSO))
		return -HOST_DROP_ADJUST_ROOM;
	data = host_data(skb);
	data_end = host_data_end(skb);
	iph = data + HOST_IP_OFF;
	if ((void *)(iph + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	iph->ihl = 5;
	iph->tot_len = bpf_htons(bpf_ntohs(iph->tot_len) - TALARIA_OPT_LEN);
	p->l4_off -= TALARIA_OPT_LEN;
	p->has_shim = 0;
	return host_ip_csum(skb, 20);
}

#endif /* TALARIA_HOST_PACKET_H */
