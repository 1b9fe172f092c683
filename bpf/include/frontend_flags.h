/* The flags of a frontend: set_frontend(frontend_id, flags) in the switch's
 * frontends table. The one table of them, shared by p4/talaria.p4 (which
 * includes this file), bpf/switch.bpf.c and the controller
 * (controller/desired/flags.ts, compared with this file in full by
 * controller/desired/flags.test.ts). Only bits the switch reads are here.
 * The switch copies the byte into the shim's flags field; host programs do
 * not read it (they learn the same facts from the node agent's maps).
 * Plain #defines only: the P4 compiler's preprocessor reads this file too.
 * Never renumber. */
#ifndef TALARIA_FRONTEND_FLAGS_H
#define TALARIA_FRONTEND_FLAGS_H

/* No usable endpoint: the switch answers NEW packets (and packets without a
 * shim) with a TCP RST or ICMP port unreachable, as kube-proxy does, never
 * a silent drop. PINNED packets still reach their backend, so connections
 * to a terminating endpoint finish. */
#define TALARIA_FLAG_REJECT 0x01

/* sessionAffinity: ClientIP. For clients without a shim (outside the
 * cluster, no host to pin them) the switch hashes without the source port,
 * so all connections of a client land on one backend. */
#define TALARIA_FLAG_AFFINITY_CLIENT_IP 0x02

/* loadBalancerSourceRanges, on a LoadBalancer IP with endpoints: a NEW
 * packet (or one without shim) passes only if source_ranges holds an entry
 * for (frontend_id, its source address); others are dropped, as kube-proxy's
 * firewall chain drops them. PINNED packets are not checked: like
 * kube-proxy's conntrack, an established connection outlives a change of the
 * ranges. */
#define TALARIA_FLAG_SOURCE_RANGES 0x04

#endif /* TALARIA_FRONTEND_FLAGS_H */
