/* Building an answer packet from scratch: the TCP RST / ICMP port unreachable
 * that the host programs and the switch send for a frontend without
 * endpoints. Shared so both answer alike (kube-proxy's REJECT). */
#ifndef TALARIA_ANSWER_H
#define TALARIA_ANSWER_H

#include <linux/ip.h>
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

#endif /* TALARIA_ANSWER_H */
