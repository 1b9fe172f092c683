/* Rejecting a connection to a frontend without endpoints, as kube-proxy
 * does (TCP RST, ICMP port unreachable for UDP), at the client host. The
 * packet is rewritten in place into the answer (bpf_skb_change_tail to the
 * answer's length, then the bytes stored) and sent back out of the host
 * veth it came from, i.e. into the client pod. */
#ifndef TALARIA_HOST_REJECT_H
#define TALARIA_HOST_REJECT_H

#include "host_packet.h"

/* Swaps the MACs so the answer looks like it came from the pod's gateway. */
static __always_inline int host_reject_eth(struct __sk_buff *skb, struct ethhdr *eth)
{
	void *data = host_data(skb);
	void *data_end = host_data_end(skb);
	struct ethhdr *old = data;

	if ((void *)(old + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	__builtin_memcpy(eth->h_dest, old->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old->h_dest, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	return 0;
}

/* RFC 793 reset: an ACK is answered with seq = its ack; anything else with
 * RST|ACK acknowledging what it occupied. Never answer a RST. */
static __always_inline int host_reject_tcp(struct __sk_buff *skb, const struct host_pkt *p)
{
	void *data = host_data(skb);
	void *data_end = host_data_end(skb);
	struct talaria_rst_answer out;
	struct tcphdr *th;
	__u32 seq, seglen;
	__u16 doff;

	if (p->tcp_flags & HOST_TCP_RST)
		return -HOST_DROP_NO_REJECT;
	if (p->l4_off != ETH_HLEN + 20)
		return -HOST_DROP_REJECT_FAILED;
	th = data + ETH_HLEN + 20;
	if ((void *)(th + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	seq = bpf_ntohl(th->seq);
	doff = th->doff * 4;
	seglen = p->l4_len - doff;
	if (p->tcp_flags & HOST_TCP_SYN)
		seglen++;
	if (p->tcp_flags & HOST_TCP_FIN)
		seglen++;

	if (host_reject_eth(skb, &out.eth))
		return -HOST_DROP_MALFORMED;
	talaria_fill_rst(&out, p->flow.daddr, p->flow.saddr, p->flow.dport, p->flow.sport,
			 p->tcp_flags & HOST_TCP_ACK, th->ack_seq, seq + seglen);
	if (talaria_store_answer(skb, &out.eth, sizeof(out) - sizeof(out.pad)))
		return -HOST_DROP_REJECT_FAILED;
	return 0;
}

/* ICMP destination unreachable / port unreachable quoting the offending IP
 * header and the first 8 bytes of its payload (RFC 792). */
static __always_inline int host_reject_icmp(struct __sk_buff *skb, const struct host_pkt *p)
{
	void *data = host_data(skb);
	void *data_end = host_data_end(skb);
	struct talaria_icmp_answer out;
	void *orig = data + ETH_HLEN;

	if (p->l4_off != ETH_HLEN + 20)
		return -HOST_DROP_REJECT_FAILED;
	if (orig + 28 > data_end)
		return -HOST_DROP_MALFORMED;
	__builtin_memcpy(&out.orig_ip, orig, 20);
	__builtin_memcpy(out.orig_l4, orig + 20, 8);
	if (host_reject_eth(skb, &out.eth))
		return -HOST_DROP_MALFORMED;
	talaria_fill_icmp_unreach(&out, p->flow.daddr, p->flow.saddr);
	if (talaria_store_answer(skb, &out.eth, sizeof(out) - sizeof(out.pad)))
		return -HOST_DROP_REJECT_FAILED;
	return 0;
}

/* Answers in place and sends the answer back into the pod (egress of the
 * host veth it arrived on = ingress of the pod's eth0). */
static __always_inline int host_reject(struct __sk_buff *skb, const struct host_pkt *p)
{
	int ret;

	if (p->flow.proto == IPPROTO_TCP)
		ret = host_reject_tcp(skb, p);
	else if (p->flow.proto == IPPROTO_UDP)
		ret = host_reject_icmp(skb, p);
	else
		ret = -HOST_DROP_NO_REJECT;
	if (ret)
		return ret;
	host_event(HOST_EV_POD_REJECT);
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* TALARIA_HOST_REJECT_H */
