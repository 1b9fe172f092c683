/* The hash the software switch's selector uses over the 5-tuple: Bob
 * Jenkins' lookup3 final mix (the kernel's and katran's jhash_3words). Any
 * well-mixed hash works for Maglev; this one is cheap and needs no tables. */
#ifndef TALARIA_SWITCH_HASH_H
#define TALARIA_SWITCH_HASH_H

#include <linux/types.h>

/* Arbitrary constant from lookup3, also the default seed. */
#define SW_JHASH_INITVAL 0xdeadbeef

static __always_inline __u32 sw_rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

static __always_inline __u32 sw_jhash_3words(__u32 a, __u32 b, __u32 c, __u32 seed)
{
	a += SW_JHASH_INITVAL + 12 + seed;
	b += SW_JHASH_INITVAL + 12 + seed;
	c += SW_JHASH_INITVAL + 12 + seed;
	c ^= b; c -= sw_rol32(b, 14);
	a ^= c; a -= sw_rol32(c, 11);
	b ^= a; b -= sw_rol32(a, 25);
	c ^= b; c -= sw_rol32(b, 16);
	a ^= c; a -= sw_rol32(c, 4);
	b ^= a; b -= sw_rol32(a, 14);
	c ^= b; c -= sw_rol32(b, 24);
	return c;
}

#endif /* TALARIA_SWITCH_HASH_H */
