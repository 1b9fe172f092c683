// SPDX-License-Identifier: GPL-2.0
/* The loader's test program: the smallest honest TC program (it counts packets
 * and bytes per protocol and passes everything), plus a few maps and programs
 * that exercise the loader's map codecs, BPF_PROG_TEST_RUN and verifier-log
 * reporting. Not used by Talaria itself. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "shim.h"

/* One counter per (EtherType, IP protocol); ip_proto is 0 for non-IP. */
struct counter_key {
	__be16 eth_proto;
	__u8 ip_proto;
	__u8 pad;
};

struct counter_value {
	__u64 packets;
	__u64 bytes;
};

/* A layout with padding, a MAC and mixed widths, for the codec tests. */
struct crud_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

#ifndef CRUD_V2
struct crud_value {
	__u64 hits;
	__u8 mac[6];
	__u16 flags;
	__u32 backend_id;
	__u32 pad;
};
#else
/* The next "release" of crud_value (test_counter_v2.bpf.o): the same size,
 * fields moved and one added, for the pinned-map migration test. */
struct crud_value {
	__u64 hits;
	__u32 backend_id;
	__u8 mac[6];
	__u16 flags;
	__u32 generation;
};
#endif

/* Packets and bytes seen by count_packets, per protocol. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct counter_key);
	__type(value, struct counter_value);
} counters SEC(".maps");

/* Small on purpose: the tests fill it to get E2BIG. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, struct crud_key);
	__type(value, struct crud_value);
} crud SEC(".maps");

/* Large enough for the map-update benchmark. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} bench SEC(".maps");

/* Per-CPU drop counter per reason, the shape the host programs use. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} percpu_drops SEC(".maps");

/* The last Talaria shim ttl_or_drop saw (puts struct talaria_shim in the BTF). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct talaria_shim);
} last_shim SEC(".maps");

SEC("tc")
int count_packets(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct counter_key key = {};
	struct counter_value *val, init = { .packets = 1, .bytes = skb->len };

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	key.eth_proto = eth->h_proto;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return TC_ACT_OK;
		key.ip_proto = ip->protocol;
	}
	val = bpf_map_lookup_elem(&counters, &key);
	if (val) {
		__sync_fetch_and_add(&val->packets, 1);
		__sync_fetch_and_add(&val->bytes, skb->len);
	} else {
		bpf_map_update_elem(&counters, &key, &init, BPF_NOEXIST);
	}
	return TC_ACT_OK;
}

/* For BPF_PROG_TEST_RUN: drops UDP to port 9 (discard) and counts the drop,
 * records a Talaria shim in last_shim, decrements the TTL of other IPv4 packets (fixing the header checksum), and
 * passes everything else untouched. */
SEC("tc")
int ttl_or_drop(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 reason = 1;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_OK;
	if (ip->ihl == TALARIA_IHL_WITH_SHIM) {
		struct talaria_shim *shim = (void *)(ip + 1);
		__u32 zero = 0;

		if ((void *)(shim + 1) > data_end)
			return TC_ACT_OK;
		if (shim->type == TALARIA_OPT_TYPE && shim->len == TALARIA_OPT_LEN)
			bpf_map_update_elem(&last_shim, &zero, shim, BPF_ANY);
	}
	if (ip->protocol == IPPROTO_UDP && ip->ihl == 5) {
		struct udphdr *udp = (void *)(ip + 1);

		if ((void *)(udp + 1) > data_end)
			return TC_ACT_OK;
		if (udp->dest == bpf_htons(9)) {
			__u64 *drops = bpf_map_lookup_elem(&percpu_drops, &reason);

			if (drops)
				*drops += 1;
			return TC_ACT_SHOT;
		}
	}
	if (ip->ttl <= 1)
		return TC_ACT_OK;
	{
		__be16 old = *(__be16 *)&ip->ttl;
		__be16 new;

		ip->ttl -= 1;
		new = *(__be16 *)&ip->ttl;
		bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old, new, 2);
	}
	return TC_ACT_OK;
}

/* Rejected by the verifier (packet read without a bounds check); "?" keeps
 * libbpf from loading it unless a test asks for it. */
SEC("?tc")
int rejected(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;

	return data[20] == 6 ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
