/* LEB128 unsigned varints: the integer encoding of every event and table in
 * the trace. Shared by the recorder (encode) and the reader (decode). */
#ifndef CT_FORMAT_VARINT_H
#define CT_FORMAT_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define CT_VARINT_MAX 10 /* bytes of a 64-bit value */

/* Writes v at p, returns the byte after it. p needs CT_VARINT_MAX bytes. */
static inline uint8_t *ct_put_uvarint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline size_t ct_uvarint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Reads a varint from [*pp, end). Returns 0 and advances *pp, or -1 when the
 * varint runs past end or is longer than 10 bytes / overflows 64 bits. */
static inline int ct_get_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	if (p < end && *p < 0x80) { /* the common one-byte case */
		*out = *p;
		*pp = p + 1;
		return 0;
	}
	uint64_t v = 0;
	unsigned shift = 0;
	while (p < end) {
		uint8_t b = *p++;
		if (shift == 63 && b > 1)
			return -1;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80) {
			*out = v;
			*pp = p;
			return 0;
		}
		shift += 7;
		if (shift > 63)
			return -1;
	}
	return -1;
}

/* Signed values (CT_ARG_INT) are zigzag-encoded: 0, -1, 1, -2... */
static inline uint64_t ct_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t ct_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Fixed-width little-endian helpers for frame headers. */
static inline void ct_put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void ct_put_u64le(uint8_t *p, uint64_t v)
{
	ct_put_u32le(p, (uint32_t)v);
	ct_put_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t ct_get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ct_get_u64le(const uint8_t *p)
{
	return (uint64_t)ct_get_u32le(p) | (uint64_t)ct_get_u32le(p + 4) << 32;
}
static inline uint16_t ct_get_u16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

#endif
