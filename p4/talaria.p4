/* talaria.p4: Talaria's switch pipeline (P4_16, v1model).
 *
 * Service load balancing without per-connection state in the switch: a
 * client host marks a packet for a frontend NEW (select a backend by hash)
 * or PINNED (use the backend the connection already has); the switch
 * rewrites the destination to the backend and marks it TO_BACKEND. A reply
 * comes back marked REPLY; the switch restores the frontend as source and
 * marks it TO_CLIENT. The marks travel in the Talaria shim, a 12-byte IPv4
 * option (see DESIGN.md). Everything else is routed by destination. A
 * frontend without an endpoint is answered by the switch itself, as
 * kube-proxy's REJECT does: a TCP RST or an ICMP port unreachable.
 *
 * To the controller (P4Runtime) the program is six ingress tables, one
 * action selector and one direct counter per table; names below are the
 * P4Runtime aliases, and every match key carries a stable @name so that the
 * controller never depends on header field spellings:
 *
 *   frontends       (dst_addr, dst_port, protocol) exact -> set_frontend
 *   source_ranges   frontend_id exact, src_addr lpm       -> allow_source
 *   backend_select  frontend_id exact, via backend_selector -> to_backend
 *   backends        (frontend_id, backend_id) exact       -> to_backend
 *   reverse_nat     frontend_id exact                     -> restore_frontend
 *   routes          dst_addr lpm      -> to_port | to_external | drop
 *
 * The eBPF software switch (bpf/switch.bpf.c) implements the same pipeline
 * and accepts this program's P4Info (p4/talaria.p4info.txtpb).
 */
#include <core.p4>
#include <v1model.p4>

/* ---- Types ---------------------------------------------------------------- */

typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<128> ipv6_addr_t;
typedef bit<16> l4_port_t;
typedef bit<9> port_t;          /* switch port (egress_spec); 0 is never used */
typedef bit<32> frontend_id_t;  /* assigned by the controller */
typedef bit<32> backend_id_t;   /* assigned by the controller, never reused while pinned */
typedef bit<8> frontend_flags_t;/* copied into the shim's flags byte */
typedef bit<4> talaria_kind_t;

/* ---- Constants ------------------------------------------------------------ */

const bit<32> ETHERNET_BYTES = 14;
const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_IPV6 = 0x86dd;
const bit<8> IPPROTO_ICMP = 1;
const bit<8> IPPROTO_TCP = 6;
const bit<8> IPPROTO_UDP = 17;

/* The shim: copied, class 0, experimental option number 30 (RFC 4727). */
const bit<8> TALARIA_OPT_TYPE = 0x9E;
const bit<8> TALARIA_OPT_LEN = 12;
const bit<4> TALARIA_VERSION = 1;
const bit<16> TALARIA_SHIM_BYTES = 12;
const bit<4> IPV4_IHL_PLAIN = 5;     /* 20-byte header, no options */
const bit<4> IPV4_IHL_WITH_SHIM = 8; /* 20 bytes + the 12-byte shim */

/* Shim kinds (DESIGN.md, "The Talaria shim"). KIND_NONE: no shim and not a service packet. */
const talaria_kind_t KIND_NONE = 0;
const talaria_kind_t KIND_NEW = 1;
const talaria_kind_t KIND_PINNED = 2;
const talaria_kind_t KIND_TO_BACKEND = 3;
const talaria_kind_t KIND_REPLY = 4;
const talaria_kind_t KIND_TO_CLIENT = 5;

/* set_frontend's flags: the one table is bpf/include/frontend_flags.h. */
#include "../bpf/include/frontend_flags.h"
const frontend_flags_t FLAG_REJECT = TALARIA_FLAG_REJECT;
const frontend_flags_t FLAG_AFFINITY_CLIENT_IP = TALARIA_FLAG_AFFINITY_CLIENT_IP;
const frontend_flags_t FLAG_SOURCE_RANGES = TALARIA_FLAG_SOURCE_RANGES;

/* The answers the switch builds (kube-proxy's REJECT), as bpf/include/answer.h. */
const bit<8> ANSWER_TTL = 64;
const bit<3> IP_FLAGS_DF = 2;
const bit<8> TCP_FIN = 0x01;
const bit<8> TCP_SYN = 0x02;
const bit<8> TCP_RST = 0x04;
const bit<8> TCP_ACK = 0x10;
const bit<8> ICMP_DEST_UNREACH = 3;
const bit<8> ICMP_PORT_UNREACH = 3;
/* Frame lengths of the answers: Ethernet + IPv4 + TCP; Ethernet + IPv4 + ICMP
 * + the quoted IPv4 header + 8 bytes of UDP. */
const bit<32> RST_FRAME_BYTES = 54;
const bit<32> ICMP_FRAME_BYTES = 70;

/* Capacities the controller plans against (P4Info table sizes). */
#define FRONTENDS_SIZE 65536
#define BACKEND_SELECT_SIZE 65536
#define BACKENDS_SIZE 262144
#define REVERSE_NAT_SIZE 65536
#define ROUTES_SIZE 4096
#define SOURCE_RANGES_SIZE 16384
/* Every port of a bit<9> egress_port. */
#define EGRESS_PORTS_SIZE 512
/* Members of backend_selector over all groups; one group holds at most
 * MAX_GROUP_SIZE endpoints of one service port. */
#define SELECTOR_SIZE 262144
#define MAX_GROUP_SIZE 256

error {
    TalariaBadLength,  /* shim length is not 12 */
    TalariaBadVersion  /* shim version is not 1 */
}

/* ---- Headers -------------------------------------------------------------- */

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16> ether_type;
}

header ipv4_t {
    bit<4> version;
    bit<4> ihl;
    bit<8> diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<3> flags;
    bit<13> frag_offset;
    bit<8> ttl;
    bit<8> protocol;
    bit<16> hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

/* The Talaria shim, as an IPv4 option right after the base header. */
header talaria_t {
    bit<8> opt_type;
    bit<8> opt_len;
    bit<4> version;
    talaria_kind_t kind;
    frontend_flags_t flags;
    frontend_id_t frontend_id;
    backend_id_t backend_id;
}

/* Parsed so that forwarding can be added; IPv6 has no routes table yet. */
header ipv6_t {
    bit<4> version;
    bit<8> traffic_class;
    bit<20> flow_label;
    bit<16> payload_len;
    bit<8> next_hdr;
    bit<8> hop_limit;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

/* ICMP destination unreachable: type, code, checksum, 4 unused bytes. */
header icmp_t {
    bit<8> type;
    bit<8> code;
    bit<16> checksum;
    bit<32> unused;
}

header tcp_t {
    l4_port_t src_port;
    l4_port_t dst_port;
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4> data_offset;
    bit<4> res;
    bit<8> ctrl;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent_ptr;
}

header udp_t {
    l4_port_t src_port;
    l4_port_t dst_port;
    bit<16> length;
    bit<16> checksum;
}

struct headers_t {
    ethernet_t ethernet;
    ipv4_t answer_ipv4;  /* the ICMP answer's own header (the packet's becomes the quote) */
    icmp_t icmp;
    ipv4_t ipv4;
    talaria_t talaria;
    ipv6_t ipv6;
    tcp_t tcp;
    udp_t udp;
}

struct metadata_t {
    talaria_kind_t kind;          /* the packet's kind on arrival (KIND_NEW for a shimless frontend hit) */
    frontend_id_t frontend_id;    /* from frontends, or from the shim of a REPLY */
    frontend_flags_t flags;
    backend_id_t backend_id;      /* chosen by backend_select / backends */
    l4_port_t l4_src_port;        /* TCP or UDP ports, 0 otherwise (selector input) */
    l4_port_t l4_dst_port;
    bit<16> l4_len;               /* TCP/UDP length for the pseudo-header checksum */
    l4_port_t hash_src_port;      /* the source port as the selector hashes it */
    bit<1> ip_options;            /* IPv4 options other than the shim: not ours */
    bit<1> reject;                /* the packet became a RST / ICMP answer */
}

/* ---- Parser --------------------------------------------------------------- */

parser TalariaParser(packet_in packet, out headers_t hdr, inout metadata_t meta,
                     inout standard_metadata_t standard_metadata) {
    state start {
        transition parse_ethernet;
    }

    state parse_ethernet {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    /* Only a header without options, or with exactly the shim, is parsed further. */
    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        transition select(hdr.ipv4.ihl) {
            IPV4_IHL_PLAIN: parse_l4;
            IPV4_IHL_WITH_SHIM: parse_option;
            default: parse_other_options;
        }
    }

    state parse_option {
        transition select(packet.lookahead<bit<8>>()) {
            TALARIA_OPT_TYPE: parse_talaria;
            default: parse_other_options;
        }
    }

    /* Options that are not the shim (or a header of another length): the
     * packet is left to the switch's own stack, never rewritten. */
    state parse_other_options {
        meta.ip_options = 1;
        transition accept;
    }

    state parse_talaria {
        packet.extract(hdr.talaria);
        verify(hdr.talaria.opt_len == TALARIA_OPT_LEN, error.TalariaBadLength);
        verify(hdr.talaria.version == TALARIA_VERSION, error.TalariaBadVersion);
        transition parse_l4;
    }

    /* Ports exist in the first fragment only. */
    state parse_l4 {
        transition select(hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (13w0, IPPROTO_TCP): parse_tcp;
            (13w0, IPPROTO_UDP): parse_udp;
            default: accept;
        }
    }

    state parse_ipv6 {
        packet.extract(hdr.ipv6);
        transition select(hdr.ipv6.next_hdr) {
            IPPROTO_TCP: parse_tcp;
            IPPROTO_UDP: parse_udp;
            default: accept;
        }
    }

    state parse_tcp {
        packet.extract(hdr.tcp);
        transition accept;
    }

    state parse_udp {
        packet.extract(hdr.udp);
        transition accept;
    }
}

/* ---- Checksum verification ------------------------------------------------ */

control TalariaVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid() && !hdr.talaria.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        verify_checksum(hdr.ipv4.isValid() && hdr.talaria.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
              hdr.talaria.opt_type, hdr.talaria.opt_len, hdr.talaria.version, hdr.talaria.kind,
              hdr.talaria.flags, hdr.talaria.frontend_id, hdr.talaria.backend_id },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

/* ---- Ingress -------------------------------------------------------------- */

control TalariaIngress(inout headers_t hdr, inout metadata_t meta,
                       inout standard_metadata_t standard_metadata) {

    /* One counter per table entry: hits in packets and bytes. */
    direct_counter(CounterType.packets_and_bytes) frontends_counter;
    direct_counter(CounterType.packets_and_bytes) backend_select_counter;
    direct_counter(CounterType.packets_and_bytes) backends_counter;
    direct_counter(CounterType.packets_and_bytes) reverse_nat_counter;
    direct_counter(CounterType.packets_and_bytes) routes_counter;
    direct_counter(CounterType.packets_and_bytes) source_ranges_counter;

    /* backend_selector: to the controller an action profile with selector.
     * A member is one backend (to_backend); a group is the backends of one
     * service port, weighted. The hash covers the 5-tuple so that every
     * packet of a connection picks the same member. */
    @max_group_size(MAX_GROUP_SIZE)
    action_selector(HashAlgorithm.crc32, SELECTOR_SIZE, 32w16) backend_selector;

    /* Dropped packets go nowhere; the target counts them by reason. */
    action drop() {
        mark_to_drop(standard_metadata);
    }

    /* frontends entry: "this address:port/protocol is frontend <frontend_id>". */
    action set_frontend(frontend_id_t frontend_id, frontend_flags_t flags) {
        meta.frontend_id = frontend_id;
        meta.flags = flags;
    }

    /* source_ranges entry: this source may open connections to the frontend. */
    action allow_source() {
    }

    /* A backend (selector member or backends entry): rewrite the destination. */
    action to_backend(backend_id_t backend_id, ipv4_addr_t addr, l4_port_t port) {
        meta.backend_id = backend_id;
        hdr.ipv4.dst_addr = addr;
        meta.l4_dst_port = port;
    }

    /* reverse_nat entry: the frontend a reply must appear to come from. */
    action restore_frontend(ipv4_addr_t addr, l4_port_t port) {
        hdr.ipv4.src_addr = addr;
        meta.l4_src_port = port;
    }

    /* routes entry towards a Talaria host: the shim stays on. */
    action to_port(port_t port, mac_addr_t dst_mac) {
        standard_metadata.egress_spec = port;
        hdr.ethernet.dst_addr = dst_mac;
    }

    /* routes entry towards the outside world: the shim comes off. */
    action to_external(port_t port, mac_addr_t dst_mac) {
        standard_metadata.egress_spec = port;
        hdr.ethernet.dst_addr = dst_mac;
        hdr.talaria.setInvalid();
    }

    table frontends {
        key = {
            hdr.ipv4.dst_addr: exact @name("dst_addr");
            meta.l4_dst_port: exact @name("dst_port");
            hdr.ipv4.protocol: exact @name("protocol");
        }
        actions = {
            set_frontend;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = frontends_counter;
        size = FRONTENDS_SIZE;
    }

    /* loadBalancerSourceRanges: the ranges of each frontend flagged
     * FLAG_SOURCE_RANGES; a NEW packet from any other source is dropped. */
    table source_ranges {
        key = {
            meta.frontend_id: exact @name("frontend_id");
            hdr.ipv4.src_addr: lpm @name("src_addr");
        }
        actions = {
            allow_source;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = source_ranges_counter;
        size = SOURCE_RANGES_SIZE;
    }

    /* NEW packets: one entry per frontend naming its group (or one member). */
    table backend_select {
        key = {
            meta.frontend_id: exact @name("frontend_id");
            hdr.ipv4.src_addr: selector;
            hdr.ipv4.dst_addr: selector;
            hdr.ipv4.protocol: selector;
            meta.hash_src_port: selector;
            meta.l4_dst_port: selector;
        }
        actions = {
            to_backend;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        implementation = backend_selector;
        counters = backend_select_counter;
        size = BACKEND_SELECT_SIZE;
    }

    /* PINNED packets: every backend of every frontend that may still carry
     * connections, including those already out of the selector's groups. */
    table backends {
        key = {
            meta.frontend_id: exact @name("frontend_id");
            hdr.talaria.backend_id: exact @name("backend_id");
        }
        actions = {
            to_backend;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = backends_counter;
        size = BACKENDS_SIZE;
    }

    table reverse_nat {
        key = {
            hdr.talaria.frontend_id: exact @name("frontend_id");
        }
        actions = {
            restore_frontend;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = reverse_nat_counter;
        size = REVERSE_NAT_SIZE;
    }

    /* Pod CIDRs and node addresses to their node's port; outside prefixes to the uplink. */
    table routes {
        key = {
            hdr.ipv4.dst_addr: lpm @name("dst_addr");
        }
        actions = {
            to_port;
            to_external;
            drop;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = routes_counter;
        size = ROUTES_SIZE;
    }

    /* A reject: the packet turns into the answer in place, from the
     * frontend back to the client, routed like any packet for the client. */
    @hidden action answer_tcp_rst() {
        bit<32> seglen = (bit<32>)meta.l4_len - ((bit<32>)hdr.tcp.data_offset << 2);
        if (hdr.tcp.ctrl & TCP_SYN != 0) { seglen = seglen + 1; }
        if (hdr.tcp.ctrl & TCP_FIN != 0) { seglen = seglen + 1; }
        l4_port_t client_port = hdr.tcp.src_port;
        hdr.tcp.src_port = hdr.tcp.dst_port;
        hdr.tcp.dst_port = client_port;
        if (hdr.tcp.ctrl & TCP_ACK != 0) {
            hdr.tcp.seq_no = hdr.tcp.ack_no;
            hdr.tcp.ack_no = 0;
            hdr.tcp.ctrl = TCP_RST;
        } else {
            hdr.tcp.ack_no = hdr.tcp.seq_no + seglen;
            hdr.tcp.seq_no = 0;
            hdr.tcp.ctrl = TCP_RST | TCP_ACK;
        }
        hdr.tcp.data_offset = 5;
        hdr.tcp.res = 0;
        hdr.tcp.window = 0;
        hdr.tcp.urgent_ptr = 0;
        ipv4_addr_t client = hdr.ipv4.src_addr;
        hdr.ipv4.src_addr = hdr.ipv4.dst_addr;
        hdr.ipv4.dst_addr = client;
        hdr.ipv4.ihl = IPV4_IHL_PLAIN;
        hdr.ipv4.diffserv = 0;
        hdr.ipv4.total_len = 40;
        hdr.ipv4.identification = 0;
        hdr.ipv4.flags = IP_FLAGS_DF;
        hdr.ipv4.frag_offset = 0;
        hdr.ipv4.ttl = ANSWER_TTL;
        hdr.talaria.setInvalid();
        meta.l4_len = 20;
        meta.reject = 1;
        truncate(RST_FRAME_BYTES);
    }

    /* ICMP port unreachable quoting the client's header as it was sent (no
     * shim, so ihl 5 and the length without it) and 8 bytes of UDP. */
    @hidden action answer_icmp_port_unreachable() {
        hdr.answer_ipv4.setValid();
        hdr.answer_ipv4.version = 4;
        hdr.answer_ipv4.ihl = IPV4_IHL_PLAIN;
        hdr.answer_ipv4.diffserv = 0;
        hdr.answer_ipv4.total_len = 56;
        hdr.answer_ipv4.identification = 0;
        hdr.answer_ipv4.flags = IP_FLAGS_DF;
        hdr.answer_ipv4.frag_offset = 0;
        hdr.answer_ipv4.ttl = ANSWER_TTL;
        hdr.answer_ipv4.protocol = IPPROTO_ICMP;
        hdr.answer_ipv4.src_addr = hdr.ipv4.dst_addr;
        hdr.answer_ipv4.dst_addr = hdr.ipv4.src_addr;
        hdr.icmp.setValid();
        hdr.icmp.type = ICMP_DEST_UNREACH;
        hdr.icmp.code = ICMP_PORT_UNREACH;
        hdr.icmp.unused = 0;
        if (hdr.talaria.isValid()) {
            hdr.ipv4.total_len = hdr.ipv4.total_len - TALARIA_SHIM_BYTES;
        }
        hdr.ipv4.ihl = IPV4_IHL_PLAIN;
        hdr.talaria.setInvalid();
        meta.reject = 1;
        truncate(ICMP_FRAME_BYTES);
    }

    apply {
        /* Malformed shims, bad checksums, lengths beyond the frame, non-IPv4
         * traffic and expiring TTLs never leave; neither do packets with other
         * IPv4 options: they are left to the switch's own stack (the eBPF
         * switch passes them to its kernel; BMv2 has none). */
        if (standard_metadata.parser_error != error.NoError || !hdr.ipv4.isValid()
                || standard_metadata.checksum_error == 1 || meta.ip_options == 1
                || (bit<32>)hdr.ipv4.total_len + ETHERNET_BYTES > standard_metadata.packet_length
                || hdr.ipv4.total_len < ((bit<16>)hdr.ipv4.ihl << 2)) {
            drop();
            return;
        }

        if (hdr.tcp.isValid()) {
            meta.l4_src_port = hdr.tcp.src_port;
            meta.l4_dst_port = hdr.tcp.dst_port;
        } else if (hdr.udp.isValid()) {
            meta.l4_src_port = hdr.udp.src_port;
            meta.l4_dst_port = hdr.udp.dst_port;
        }
        meta.l4_len = hdr.ipv4.total_len - ((bit<16>)hdr.ipv4.ihl << 2);

        /* A shimless TCP/UDP packet that hits a frontend comes from outside the
         * cluster: it is treated as NEW. */
        if (hdr.talaria.isValid()) {
            meta.kind = hdr.talaria.kind;
        } else if (hdr.tcp.isValid() || hdr.udp.isValid()) {
            meta.kind = KIND_NEW;
        } else {
            meta.kind = KIND_NONE;
        }
        if (hdr.talaria.isValid() && !hdr.tcp.isValid() && !hdr.udp.isValid()) {
            drop();
            return;
        }

        if (meta.kind == KIND_NEW || meta.kind == KIND_PINNED) {
            if (frontends.apply().hit) {
                bool selected = false;
                if (meta.kind == KIND_PINNED) {
                    if (!backends.apply().hit) {
                        /* The pinned backend is gone: never re-hashed. */
                        drop();
                        return;
                    }
                    selected = true;
                } else if (meta.flags & FLAG_SOURCE_RANGES != 0 && !source_ranges.apply().hit) {
                    /* A source outside the ranges: dropped, as kube-proxy's firewall does. */
                    drop();
                    return;
                } else if (meta.flags & FLAG_REJECT == 0) {
                    /* ClientIP affinity for clients outside the cluster (no shim,
                     * no host to pin them): every connection of a client hashes
                     * alike. A Talaria host keeps affinity itself and hashes the
                     * full 5-tuple. */
                    meta.hash_src_port = meta.l4_src_port;
                    if (meta.flags & FLAG_AFFINITY_CLIENT_IP != 0 && !hdr.talaria.isValid()) {
                        meta.hash_src_port = 0;
                    }
                    selected = backend_select.apply().hit;
                }
                if (!selected) {
                    /* No endpoint to offer: answer at once, never a silent drop. */
                    if (hdr.tcp.isValid()) {
                        if (hdr.tcp.ctrl & TCP_RST != 0) {
                            drop();
                            return;
                        }
                        answer_tcp_rst();
                    } else {
                        answer_icmp_port_unreachable();
                        /* Routed on the client's address; the quote is restored below. */
                        hdr.ipv4.dst_addr = hdr.answer_ipv4.dst_addr;
                    }
                } else {
                    /* The chosen backend becomes the destination; the shim says so. */
                    if (hdr.tcp.isValid()) {
                        hdr.tcp.dst_port = meta.l4_dst_port;
                    } else {
                        hdr.udp.dst_port = meta.l4_dst_port;
                    }
                    if (!hdr.talaria.isValid()) {
                        hdr.talaria.setValid();
                        hdr.talaria.opt_type = TALARIA_OPT_TYPE;
                        hdr.talaria.opt_len = TALARIA_OPT_LEN;
                        hdr.talaria.version = TALARIA_VERSION;
                        hdr.ipv4.ihl = IPV4_IHL_WITH_SHIM;
                        hdr.ipv4.total_len = hdr.ipv4.total_len + TALARIA_SHIM_BYTES;
                    }
                    hdr.talaria.kind = KIND_TO_BACKEND;
                    hdr.talaria.flags = meta.flags;
                    hdr.talaria.frontend_id = meta.frontend_id;
                    hdr.talaria.backend_id = meta.backend_id;
                }
            } else if (hdr.talaria.isValid()) {
                /* A marked packet for a frontend the switch does not know. */
                drop();
                return;
            }
        } else if (meta.kind == KIND_REPLY) {
            if (!reverse_nat.apply().hit) {
                drop();
                return;
            }
            if (hdr.tcp.isValid()) {
                hdr.tcp.src_port = meta.l4_src_port;
            } else {
                hdr.udp.src_port = meta.l4_src_port;
            }
            hdr.talaria.kind = KIND_TO_CLIENT;
        } else if (meta.kind != KIND_NONE) {
            /* TO_BACKEND / TO_CLIENT only ever leave the switch. */
            drop();
            return;
        }

        if (meta.reject == 0 && hdr.ipv4.ttl <= 1) {
            drop();
            return;
        }
        if (!routes.apply().hit) {
            drop();
            return;
        }
        if (meta.reject == 1) {
            if (hdr.answer_ipv4.isValid()) {
                hdr.ipv4.dst_addr = hdr.answer_ipv4.src_addr;
            }
        } else {
            hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
            /* to_external removed the shim: shrink the header back (an ihl of 8
             * here was the shim: other options never get this far). */
            if (hdr.ipv4.ihl == IPV4_IHL_WITH_SHIM && !hdr.talaria.isValid()) {
                hdr.ipv4.ihl = IPV4_IHL_PLAIN;
                hdr.ipv4.total_len = hdr.ipv4.total_len - TALARIA_SHIM_BYTES;
            }
        }
    }
}

/* ---- Egress --------------------------------------------------------------- */

/* The source MAC of a leaving packet (forwarded, or an answer the switch
 * built) is its egress port's own. A P4 target does not know its ports'
 * MACs, so the controller writes them (--port-mac), one entry per port; a
 * port without one leaves the sender's MAC. */
control TalariaEgress(inout headers_t hdr, inout metadata_t meta,
                      inout standard_metadata_t standard_metadata) {
    direct_counter(CounterType.packets_and_bytes) egress_ports_counter;

    action set_source_mac(mac_addr_t mac) {
        hdr.ethernet.src_addr = mac;
    }

    table egress_ports {
        key = {
            standard_metadata.egress_port: exact @name("port");
        }
        actions = {
            set_source_mac;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        counters = egress_ports_counter;
        size = EGRESS_PORTS_SIZE;
    }

    apply {
        egress_ports.apply();
    }
}

/* ---- Checksum update ------------------------------------------------------ */

/* The IPv4 checksum covers the shim (it is part of the header); TCP/UDP
 * checksums cover the pseudo-header, whose addresses may have changed. A
 * UDP checksum of 0 means "none" and stays 0. An answer's checksums cover
 * only its headers (the payload is truncated away); the ICMP checksum is
 * computed last, over the quoted header's fresh checksum. */
control TalariaComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        update_checksum(hdr.answer_ipv4.isValid(),
            { hdr.answer_ipv4.version, hdr.answer_ipv4.ihl, hdr.answer_ipv4.diffserv,
              hdr.answer_ipv4.total_len, hdr.answer_ipv4.identification, hdr.answer_ipv4.flags,
              hdr.answer_ipv4.frag_offset, hdr.answer_ipv4.ttl, hdr.answer_ipv4.protocol,
              hdr.answer_ipv4.src_addr, hdr.answer_ipv4.dst_addr },
            hdr.answer_ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum(hdr.ipv4.isValid() && !hdr.talaria.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum(hdr.ipv4.isValid() && hdr.talaria.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
              hdr.talaria.opt_type, hdr.talaria.opt_len, hdr.talaria.version, hdr.talaria.kind,
              hdr.talaria.flags, hdr.talaria.frontend_id, hdr.talaria.backend_id },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum_with_payload(meta.reject == 0 && hdr.ipv4.isValid() && hdr.tcp.isValid(),
            { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, 8w0, hdr.ipv4.protocol, meta.l4_len,
              hdr.tcp.src_port, hdr.tcp.dst_port, hdr.tcp.seq_no, hdr.tcp.ack_no,
              hdr.tcp.data_offset, hdr.tcp.res, hdr.tcp.ctrl, hdr.tcp.window,
              hdr.tcp.urgent_ptr },
            hdr.tcp.checksum, HashAlgorithm.csum16);
        update_checksum(meta.reject == 1 && hdr.tcp.isValid(),
            { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, 8w0, hdr.ipv4.protocol, meta.l4_len,
              hdr.tcp.src_port, hdr.tcp.dst_port, hdr.tcp.seq_no, hdr.tcp.ack_no,
              hdr.tcp.data_offset, hdr.tcp.res, hdr.tcp.ctrl, hdr.tcp.window,
              hdr.tcp.urgent_ptr },
            hdr.tcp.checksum, HashAlgorithm.csum16);
        update_checksum_with_payload(meta.reject == 0 && hdr.ipv4.isValid() && hdr.udp.isValid()
                && hdr.udp.checksum != 0,
            { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, 8w0, hdr.ipv4.protocol, meta.l4_len,
              hdr.udp.src_port, hdr.udp.dst_port, hdr.udp.length },
            hdr.udp.checksum, HashAlgorithm.csum16);
        update_checksum(hdr.icmp.isValid(),
            { hdr.icmp.type, hdr.icmp.code, hdr.icmp.unused,
              hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.hdr_checksum, hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
              hdr.udp.src_port, hdr.udp.dst_port, hdr.udp.length, hdr.udp.checksum },
            hdr.icmp.checksum, HashAlgorithm.csum16);
    }
}

/* ---- Deparser ------------------------------------------------------------- */

control TalariaDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.ethernet);
        packet.emit(hdr.answer_ipv4);
        packet.emit(hdr.icmp);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.talaria);
        packet.emit(hdr.ipv6);
        packet.emit(hdr.tcp);
        packet.emit(hdr.udp);
    }
}

V1Switch(TalariaParser(), TalariaVerifyChecksum(), TalariaIngress(), TalariaEgress(),
         TalariaComputeChecksum(), TalariaDeparser()) main;
