// SPDX-License-Identifier: GPL-2.0
/* Packet loss for the testbed's faults suite (this kernel has no netem):
 * attached to the egress of every switch port, so that each packet crossing
 * the rack is dropped once with probability per_million / 1,000,000. It counts
 * what it saw and what it dropped. Not part of Talaria's data path. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct loss_config {
	__u32 per_million;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loss_config);
} loss_config SEC(".maps");

/* Index 0: packets seen, 1: packets dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} loss_stats SEC(".maps");

static __always_inline void count(__u32 index)
{
	__u64 *n = bpf_map_lookup_elem(&loss_stats, &index);

	if (n)
		(*n)++;
}

SEC("tc")
int drop_randomly(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct loss_config *cfg = bpf_map_lookup_elem(&loss_config, &zero);

	count(0);
	if (cfg && bpf_get_prandom_u32() % 1000000 < cfg->per_million) {
		count(1);
		return TC_ACT_SHOT;
	}
	/* Whatever else the port's egress runs still runs. */
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
