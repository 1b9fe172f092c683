/* The Talaria shim: a 12-byte IPv4 option right after the base header, on
 * host<->switch links only (see DESIGN.md, "The Talaria shim"). Shared by the
 * software switch pipeline and the host programs; the TypeScript side mirrors
 * it in bpf/layouts/shim.ts. */
#ifndef TALARIA_SHIM_H
#define TALARIA_SHIM_H

#include <linux/types.h>

/* Copied, class 0, experimental option number 30 (RFC 4727). */
#define TALARIA_OPT_TYPE 0x9E
#define TALARIA_OPT_LEN 12
#define TALARIA_SHIM_VERSION 1
/* IPv6: the same fields in a Destination Options option of this type. */
#define TALARIA_OPT6_TYPE 0x3E
/* ihl of an IPv4 header that carries exactly the shim: (20 + 12) / 4. */
#define TALARIA_IHL_WITH_SHIM 8

enum talaria_kind {
	TALARIA_KIND_NEW = 1,        /* client host -> switch: select a backend */
	TALARIA_KIND_PINNED = 2,     /* client host -> switch: use backend_id */
	TALARIA_KIND_TO_BACKEND = 3, /* switch -> backend host: dst rewritten */
	TALARIA_KIND_REPLY = 4,      /* backend host -> switch: restore frontend */
	TALARIA_KIND_TO_CLIENT = 5,  /* switch -> client host: src restored */
};

struct talaria_shim {
	__u8 type;        /* TALARIA_OPT_TYPE */
	__u8 len;         /* TALARIA_OPT_LEN */
	__u8 ver_kind;    /* version in the high nibble, kind in the low one */
	__u8 flags;
	__be32 frontend_id;
	__be32 backend_id;
} __attribute__((packed));

#define TALARIA_VER_KIND(kind) ((__u8)((TALARIA_SHIM_VERSION << 4) | ((kind) & 0xf)))
#define TALARIA_SHIM_VERSION_OF(vk) ((vk) >> 4)
#define TALARIA_SHIM_KIND_OF(vk) ((vk) & 0xf)

#endif /* TALARIA_SHIM_H */
