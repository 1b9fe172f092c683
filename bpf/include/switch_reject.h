/* Rejecting a connection to a frontend that has no backend to offer (its
 * flags carry TALARIA_FLAG_REJECT, or its group is empty), the way kube-proxy
 * does: a TCP RST, or ICMP port unreachable for UDP, from the frontend's
 * address back to the client, routed like any packet for the client (plain,
 * no shim). Never a silent drop (controller/desired/flags.ts). The packet is
 * rewritten in place into the answer (bpf_skb_change_tail to the answer's
 * length, then the bytes stored), as the host programs do. */
#ifndef TALARIA_SWITCH_REJECT_H
#define TALARIA_SWITCH_REJECT_H

#include <linux/bpf.h>
#include <linux/icmp.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "switch_consts.h"
#include "switch_parsing.h"
#include "answer.h"

/* TCP: RFC 793 reset. An ACK is answered with seq = its ack; anything else
 * with RST|ACK acknowledging what it occupied. A RST is never answered. */
static __always_inline int sw_reject_tcp(struct __sk_buff *skb, struct sw_pkt *p, const __u8 *dst_mac, const __u8 *src_mac)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct talaria_rst_answer out;
	struct tcphdr *th = data + p->l4_off;

	if ((void *)(th + 1) > data_end)
		return -SW_DROP_MALFORMED_L4;
	if (th->rst)
		return -SW_DROP_NO_REJECT;
	__u32 seglen = p->tot_len - (p->l4_off - SW_L3_OFF) - th->doff * 4;

	if (th->syn)
		seglen++;
	if (th->fin)
		seglen++;
	__builtin_memcpy(out.eth.h_dest, dst_mac, ETH_ALEN);
	__builtin_memcpy(out.eth.h_source, src_mac, ETH_ALEN);
	out.eth.h_proto = bpf_htons(ETH_P_IP);
	talaria_fill_rst(&out, p->daddr, p->saddr, p->dport, p->sport, th->ack, th->ack_seq,
			 bpf_ntohl(th->seq) + seglen);
	if (talaria_store_answer(skb, &out.eth, sizeof(out) - sizeof(out.pad)))
		return -SW_DROP_REJECT_FAILED;
	return 0;
}

/* UDP: ICMP port unreachable quoting the client's IP header (as the client
 * sent it: without the shim) and the first 8 bytes of its payload. */
static __always_inline int sw_reject_icmp(struct __sk_buff *skb, struct sw_pkt *p, const __u8 *dst_mac, const __u8 *src_mac)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct talaria_icmp_answer out;
	void *orig = data + SW_L3_OFF;
	void *l4 = data + p->l4_off;

	if (orig + 20 > data_end || l4 + 8 > data_end)
		return -SW_DROP_MALFORMED_L4;
	__builtin_memcpy(&out.orig_ip, orig, 20);
	__builtin_memcpy(out.orig_l4, l4, 8);
	out.orig_ip.ihl = 5;
	out.orig_ip.tot_len = bpf_htons(p->tot_len - (p->has_shim ? TALARIA_OPT_LEN : 0));
	out.orig_ip.check = 0;
	out.orig_ip.check = talaria_csum_fold(talaria_csum_words(&out.orig_ip, 10));
	__builtin_memcpy(out.eth.h_dest, dst_mac, ETH_ALEN);
	__builtin_memcpy(out.eth.h_source, src_mac, ETH_ALEN);
	out.eth.h_proto = bpf_htons(ETH_P_IP);
	talaria_fill_icmp_unreach(&out, p->daddr, p->saddr);
	if (talaria_store_answer(skb, &out.eth, sizeof(out) - sizeof(out.pad)))
		return -SW_DROP_REJECT_FAILED;
	return 0;
}

#endif /* TALARIA_SWITCH_REJECT_H */
