/* The reader's lean iteration, for internal consumers that fuse decoding
 * with their own state machine (the report's first pass): runs of one
 * thread's still-encoded, already validated events, plus what is needed to
 * decode them. Not public API: it exposes the wire format. */
#ifndef CT_READ_LEAN_H
#define CT_READ_LEAN_H

#include "read/internal.h"

/* A run: the rest of one batch of one thread, in thread order. */
struct lean_run {
	const uint8_t *p; /* first event's type byte */
	uint64_t n;	  /* events in the run, at least 1 */
	uint64_t t;	  /* ticks before the first event (add its delta) */
	const struct ct_thread_info *thread;
};

/* What decoding the current generation's events takes. */
struct lean_gen {
	const struct evdesc *desc; /* by full type byte */
	const struct clockconv *clk;
	const char *const *sid; /* string id -> string; NULL when ids are sparse */
	uint64_t nsid;
};

/* The current generation (after ct_reader_next_generation returned 1).
 * Returns 0, or -EINVAL when the reader is not in CT_ORDER_THREAD or the
 * generation's string ids are sparse: then use the public iteration. */
int rdr_lean_gen(ct_reader *r, struct lean_gen *lg);

/* The next run of the current generation: 1, 0 at its end, or negative.
 * The run is consumed: the next call returns the one after it. */
int rdr_lean_run(ct_reader *r, struct lean_run *run);

/* Decodes the event at p (inside a run, ticks *t before it) fully into
 * *ev, as ct_reader_next would, and returns the byte after it; *t becomes
 * its ticks. For the kinds a lean consumer does not decode itself. */
const uint8_t *rdr_lean_decode(ct_reader *r, const uint8_t *p, uint64_t *t,
			       const struct ct_thread_info *thread, struct ct_event *ev);

/* A varint from validated data: it is known to end inside its batch. */
static inline __attribute__((always_inline)) uint64_t lean_uv(const uint8_t **pp)
{
	const uint8_t *p = *pp;
	uint64_t v = p[0];
	if (__builtin_expect(v < 0x80, 1)) {
		*pp = p + 1;
		return v;
	}
	v = (v & 0x7f) | (uint64_t)p[1] << 7;
	if (p[1] < 0x80) {
		*pp = p + 2;
		return v;
	}
	v &= (1u << 14) - 1;
	p += 2;
	unsigned s = 14;
	uint8_t b;
	do {
		b = *p++;
		v |= (uint64_t)(b & 0x7f) << s;
		s += 7;
	} while (b >= 0x80);
	*pp = p;
	return v;
}

/* Past the arguments, stack and byte string of an event whose type byte
 * and timestamp delta were read. */
static inline const uint8_t *lean_skip(const struct evdesc *d, const uint8_t *p)
{
	for (unsigned i = 0; i < d->argc; i++)
		lean_uv(&p);
	if (__builtin_expect(d->flags & (DESC_STACK | DESC_BYTES), 0)) {
		if (d->flags & DESC_STACK)
			lean_uv(&p);
		if (d->flags & DESC_BYTES) {
			uint64_t n = lean_uv(&p);
			p += n;
		}
	}
	return p;
}

#endif
