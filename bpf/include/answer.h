/* Building an answer packet from scratch: the TCP RST / ICMP port unreachable
 * that the host programs and the switch send for a frontend without
 * endpoints. Shared so both answer alike (kube-proxy's REJECT). */
#ifndef TALARIA_ANSWER_H
#define TALARIA_ANSWER_H

#include <linux/bpf.h>
#include <linux/icmp.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/types.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* TTL of the answers Talaria makes. */
#define TALARIA_ANSWER_TTL 64
/* IPv4 don't-fragment bit (frag_off, host order). */
#define TALARIA_IP_DF 0x4000

static __always_inline __u16 talaria_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Sum of n 16-bit words at p (the caller checked the bounds). */
static __always_inline __u32 talaria_csum_words(const void *p, int n)
{
	const __u16 *w = p;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		sum += w[i];
	return sum;
}

/* A fresh 20-byte IPv4 header with its checksum. */
static __always_inline void talaria_answer_iphdr(struct iphdr *ip, __be32 saddr, __be32 daddr, __u8 proto, __u16 tot_len)
{
	__builtin_memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(tot_len);
	ip->frag_off = bpf_htons(TALARIA_IP_DF);
	ip->ttl = TALARIA_ANSWER_TTL;
	ip->protocol = proto;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = talaria_csum_fold(talaria_csum_words(ip, 10));
}

/* A TCP reset as built on the stack; pad keeps the IP header 4-byte aligned. */
struct talaria_rst_answer {
	__u16 pad;
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
};

/* ICMP port unreachable quoting the offending IP header and 8 bytes of its
 * payload (RFC 792); the caller fills orig_ip and orig_l4. */
struct talaria_icmp_answer {
	__u16 pad;
	struct ethhdr eth;
	struct iphdr ip;
	struct icmphdr icmp;
	struct iphdr orig_ip;
	__u8 orig_l4[8];
};

/* RFC 793 reset from the frontend (saddr:sport) to the client. An ACK is
 * answered with seq = its ack (acked, ack_seq); anything else with RST|ACK
 * acknowledging seq + the segment length it occupied (ack_value). */
static __always_inline void talaria_fill_rst(struct talaria_rst_answer *out, __be32 saddr, __be32 daddr,
					     __be16 sport, __be16 dport, int acked, __be32 ack_seq, __u32 ack_value)
{
	talaria_answer_iphdr(&out->ip, saddr, daddr, IPPROTO_TCP, sizeof(out->ip) + sizeof(out->tcp));
	__builtin_memset(&out->tcp, 0, sizeof(out->tcp));
	out->tcp.source = sport;
	out->tcp.dest = dport;
	out->tcp.doff = 5;
	out->tcp.rst = 1;
	if (acked) {
		out->tcp.seq = ack_seq;
	} else {
		out->tcp.ack = 1;
		out->tcp.ack_seq = bpf_htonl(ack_value);
	}
	__u32 pseudo = talaria_csum_words(&out->ip.saddr, 4) + bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(out->tcp));

	out->tcp.check = talaria_csum_fold(pseudo + talaria_csum_words(&out->tcp, sizeof(out->tcp) / 2));
}

/* The IP and ICMP headers of a port unreachable from saddr to daddr. */
static __always_inline void talaria_fill_icmp_unreach(struct talaria_icmp_answer *out, __be32 saddr, __be32 daddr)
{
	talaria_answer_iphdr(&out->ip, saddr, daddr, IPPROTO_ICMP, sizeof(*out) - sizeof(out->pad) - sizeof(out->eth));
	__builtin_memset(&out->icmp, 0, sizeof(out->icmp));
	out->icmp.type = ICMP_DEST_UNREACH;
	out->icmp.code = ICMP_PORT_UNREACH;
	out->icmp.checksum = talaria_csum_fold(talaria_csum_words(&out->icmp, 18));
}

/* Replaces the packet with the answer that starts at eth and runs for len
 * bytes. Returns 0, or -1 when the skb could not be resized or written. */
static __always_inline int talaria_store_answer(struct __sk_buff *skb, const struct ethhdr *eth, __u32 len)
{
	if (bpf_skb_change_tail(skb, len, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, 0, eth, len, 0))
		return -1;
	return 0;
}

#endif /* TALARIA_ANSWER_H */
