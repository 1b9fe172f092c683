// The `flags` parameter of `set_frontend(frontend_id, flags)` in the switch's
// `frontends` table. The one table of these bits is
// bpf/include/frontend_flags.h (talaria.p4 and the eBPF switch include it);
// flags.test.ts compares this file with it in full. Only bits the switch
// reads exist: host programs do not read the shim's copy.

/**
 * No usable endpoint: the switch answers a NEW packet (or a packet without
 * shim) with a reject (TCP RST / ICMP port unreachable, as kube-proxy does),
 * never a silent drop. PINNED packets still look up `backends`, so
 * connections pinned to a terminating backend finish.
 */
export const FLAG_REJECT = 0x01;
/** sessionAffinity: ClientIP. The switch hashes a client without shim without its source port. */
export const FLAG_AFFINITY_CLIENT_IP = 0x02;

/**
 * loadBalancerSourceRanges on a LoadBalancer IP with endpoints: the switch
 * lets a NEW packet through only from a source in the frontend's
 * `source_ranges` entries and drops the others (as kube-proxy's firewall).
 */
export const FLAG_SOURCE_RANGES = 0x04;

/** Every flag by its name in frontend_flags.h (TALARIA_FLAG_<name>). */
export const FRONTEND_FLAGS = { REJECT: FLAG_REJECT, AFFINITY_CLIENT_IP: FLAG_AFFINITY_CLIENT_IP, SOURCE_RANGES: FLAG_SOURCE_RANGES } as const;
