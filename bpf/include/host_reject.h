/* Rejecting a connection to a frontend without endpoints, as kube-proxy
 * does (TCP RST, ICMP port unreachable for UDP), at the client host. The
 * packet is rewritten in place into the answer (bpf_skb_change_tail to the
 * answer's length, then the bytes stored) and sent back out of the host
 * veth it came from, i.e. into the client pod. */
#ifndef TALARIA_HOST_REJECT_H
#define TALARIA_HOST_REJECT_H

#include "host_packet.h"

static __always_inline __u32 host_pseudo_sum(__be32 saddr, __be32 daddr, __u8 proto, __u16 len)
{
	return talaria_csum_words(&saddr, 2) + talaria_csum_words(&daddr, 2) +
	       bpf_htons(proto) + bpf_htons(len);
}

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
	/* pad: keeps the IP header 4-byte aligned on the stack */
	struct {
		__u16 pad;
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
	} out;
	struct tcphdr *th;
	__u32 seq, ack, seglen;
	__u16 doff;

	if (p->tcp_flags & HOST_TCP_RST)
		return -HOST_DROP_NO_REJECT;
	if (p->l4_off != ETH_HLEN + 20)
		return -HOST_DROP_REJECT_FAILED;
	th = data + ETH_HLEN + 20;
	if ((void *)(th + 1) > data_end)
		return -HOST_DROP_MALFORMED;
	seq = bpf_ntohl(th->seq);
	ack = bpf_ntohl(th->ack_seq);
	doff = th->doff * 4;
	seglen = p->l4_len - doff;
	if (p->tcp_flags & HOST_TCP_SYN)
		seglen++;
	if (p->tcp_flags & HOST_TCP_FIN)
		seglen++;

	if (host_reject_eth(skb, &out.eth))
		return -HOST_DROP_MALFORMED;
	talaria_answer_iphdr(&out.ip, p->flow.daddr, p->flow.saddr, IPPROTO_TCP, 40);
	__builtin_memset(&out.tcp, 0, sizeof(out.tcp));
	out.tcp.source = p->flow.dport;
	out.tcp.dest = p->flow.sport;
	out.tcp.doff = 5;
	out.tcp.rst = 1;
	if (p->tcp_flags & HOST_TCP_ACK) {
		out.tcp.seq = bpf_htonl(ack);
	} else {
		out.tcp.ack = 1;
		out.tcp.ack_seq = bpf_htonl(seq + seglen);
	}
	out.tcp.check = talaria_csum_fold(host_pseudo_sum(out.ip.saddr, out.ip.daddr, IPPROTO_TCP, 20) +
				       talaria_csum_words(&out.tcp, 10));

	if (bpf_skb_change_tail(skb, sizeof(out) - 2, 0))
		return -HOST_DROP_REJECT_FAILED;
	if (bpf_skb_store_bytes(skb, 0, &out.eth, sizeof(out) - 2, 0))
		return -HOST_DROP_REJECT_FAILED;
	return 0;
}

/* ICMP destination unreachable / port unreachable quoting the offending IP
 * header and the first 8 bytes of its payload (RFC 792). */
static __always_inline int host_reject_icmp(struct __sk_buff *skb, const struct host_pkt *p)
{
	void *data = host_data(skb);
	void *data_end = host_data_end(skb);
	struct {
		__u16 pad;
		struct ethhdr eth;
		struct iphdr ip;
		struct icmphdr icmp;
		struct iphdr orig_ip;
		__u8 orig_l4[8];
	} out;
	void *orig = data + ETH_HLEN;

	if (p->l4_off != ETH_HLEN + 20)
		return -HOST_DROP_REJECT_FAILED;
	if (orig + 28 > data_end)
		return -HOST_DROP_MALFORMED;
	__builtin_memcpy(&out.orig_ip, orig, 20);
	__builtin_memcpy(out.orig_l4, orig + 20, 8);
	if (host_reject_eth(skb, &out.eth))
		return -HOST_DROP_MALFORMED;
	talaria_answer_iphdr(&out.ip, p->flow.daddr, p->flow.saddr, IPPROTO_ICMP, 20 + 8 + 28);
	__builtin_memset(&out.icmp, 0, sizeof(out.icmp));
	out.icmp.type = ICMP_DEST_UNREACH;
	out.icmp.code = ICMP_PORT_UNREACH;
	out.icmp.checksum = talaria_csum_fold(talaria_csum_words(&out.icmp, 18));

	if (bpf_skb_change_tail(skb, sizeof(out) - 2, 0))
		return -HOST_DROP_REJECT_FAILED;
	if (bpf_skb_store_bytes(skb, 0, &out.eth, sizeof(out) - 2, 0))
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
