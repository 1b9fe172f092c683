/* Parsing for the software switch: Ethernet -> IPv4 (base header, or ihl 8
 * with the Talaria option) -> TCP/UDP, the same parser as talaria.p4. Every
 * read is preceded by its bounds check; anything not understood is either
 * passed to the switch's kernel (not ours) or dropped with a reason (ours but
 * broken), never forwarded on a guess. */
#ifndef TALARIA_SWITCH_PARSING_H
#define TALARIA_SWITCH_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "shim.h"
#include "switch_consts.h"
#include "answer.h"

/* Offset of the IPv4 header (untagged Ethernet). */
#define SW_L3_OFF ((__u32)sizeof(struct ethhdr))
/* Bytes the parser wants linear: Ethernet + IPv4 with shim + TCP header. */
#define SW_PULL_LEN (SW_L3_OFF + 20 + TALARIA_OPT_LEN + (__u32)sizeof(struct tcphdr))
/* IPv4 fragment bits: more-fragments and the offset. */
#define SW_IP_FRAG_MASK 0x3fff

/* Parse results other than a drop: 0 = a parsed IPv4 packet, or a pass. */
#define SW_PARSED 0
#define SW_PARSE_PASS(reason) (1 + (reason))

/* What the pipeline needs from a packet; addresses and ports in network order. */
struct sw_pkt {
	__u32 l4_off;   /* offset of the TCP/UDP header */
	__u32 len;      /* skb->len, for byte counters */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 ttl;
	__u8 has_ports; /* TCP or UDP, not a fragment */
	__u8 has_shim;
	__u8 kind;      /* shim kind (has_shim) */
	__u8 shim_flags;
	__u16 tot_len;  /* IPv4 tot_len, host order */
	__u32 frontend_id; /* from the shim, host order */
	__u32 backend_id;  /* from the shim, host order */
};

static __always_inline int sw_shim_kind_ok(__u8 kind)
{
	return kind == TALARIA_KIND_NEW || kind == TALARIA_KIND_PINNED || kind == TALARIA_KIND_REPLY;
}

/* Returns SW_PARSED, SW_PARSE_PASS(reason) or -drop_reason. */
static __always_inline int sw_parse(struct __sk_buff *skb, struct sw_pkt *p)
{
	__u32 pull = skb->len < SW_PULL_LEN ? skb->len : SW_PULL_LEN;

	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	/* GSO or paged skbs may hold less than the headers in the linear part. */
	if (data + pull > data_end) {
		bpf_skb_pull_data(skb, pull);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return SW_PARSE_PASS(SW_PASS_NOT_IPV4);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return SW_PARSE_PASS(SW_PASS_NOT_IPV4);

	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end)
		return -SW_DROP_MALFORMED_IP;
	if (ip->version != 4 || ip->ihl < 5)
		return -SW_DROP_MALFORMED_IP;

	__u32 hlen = ip->ihl * 4;
	__u16 tot_len = bpf_ntohs(ip->tot_len);

	if (tot_len < hlen || SW_L3_OFF + tot_len > skb->len)
		return -SW_DROP_MALFORMED_IP;

	p->len = skb->len;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->ttl = ip->ttl;
	p->tot_len = tot_len;

	if (ip->ihl == TALARIA_IHL_WITH_SHIM) {
		struct talaria_shim *s = (void *)(ip + 1);

		if ((void *)(s + 1) > data_end)
			return -SW_DROP_MALFORMED_SHIM;
		if (s->type != TALARIA_OPT_TYPE)
			return SW_PARSE_PASS(SW_PASS_IP_OPTIONS);
		if (s->len != TALARIA_OPT_LEN || TALARIA_SHIM_VERSION_OF(s->ver_kind) != TALARIA_SHIM_VERSION)
			return -SW_DROP_MALFORMED_SHIM;
		p->kind = TALARIA_SHIM_KIND_OF(s->ver_kind);
		if (p->kind == TALARIA_KIND_TO_BACKEND || p->kind == TALARIA_KIND_TO_CLIENT)
			return -SW_DROP_UNEXPECTED_KIND;
		if (!sw_shim_kind_ok(p->kind))
			return -SW_DROP_MALFORMED_SHIM;
		p->has_shim = 1;
		p->shim_flags = s->flags;
		p->frontend_id = bpf_ntohl(s->frontend_id);
		p->backend_id = bpf_ntohl(s->backend_id);
		p->l4_off = SW_L3_OFF + 20 + TALARIA_OPT_LEN;
	} else if (ip->ihl == 5) {
		p->l4_off = SW_L3_OFF + 20;
	} else {
		__u8 *opt = (void *)(ip + 1);

		if ((void *)(opt + 1) > data_end)
			return -SW_DROP_MALFORMED_IP;
		/* The shim in a header of the wrong size is ours and broken. */
		if (*opt == TALARIA_OPT_TYPE)
			return -SW_DROP_MALFORMED_SHIM;
		return SW_PARSE_PASS(SW_PASS_IP_OPTIONS);
	}

	/* A corrupted header is not ours to repair: the rewrite would hide the
	 * damage behind a fresh checksum (the shim is covered, being an option). */
	__u32 sum = talaria_csum_words(ip, 10);

	if (p->has_shim)
		sum += talaria_csum_words(ip + 1, TALARIA_OPT_LEN / 2);
	if (talaria_csum_fold(sum) != 0)
		return -SW_DROP_BAD_IP_CHECKSUM;
	if (bpf_ntohs(ip->frag_off) & SW_IP_FRAG_MASK) {
		if (p->has_shim)
			return -SW_DROP_SHIM_FRAGMENT;
		return SW_PARSED;
	}

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + p->l4_off;

		if ((void *)(tcp + 1) > data_end || tcp->doff < 5 ||
		    p->l4_off + tcp->doff * 4 > SW_L3_OFF + tot_len)
			return -SW_DROP_MALFORMED_L4;
		p->sport = tcp->source;
		p->dport = tcp->dest;
		p->has_ports = 1;
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *udp = data + p->l4_off;

		if ((void *)(udp + 1) > data_end || p->l4_off + sizeof(*udp) > SW_L3_OFF + tot_len)
			return -SW_DROP_MALFORMED_L4;
		p->sport = udp->source;
		p->dport = udp->dest;
		p->has_ports = 1;
	} else if (p->has_shim) {
		return -SW_DROP_SHIM_NOT_L4;
	}
	return SW_PARSED;
}

#endif /* TALARIA_SWITCH_PARSING_H */
