/* Stacks on the hot path: a frame-pointer walk and a lock-free process-wide
 * table that deduplicates them into small ids. Symbolization happens later,
 * on the writer thread. */
#ifndef CT_RECORD_STACKS_H
#define CT_RECORD_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "record/lftable.h"

#define STACK_MAX_DEPTH 64
#define STACK_MAX_IDS	262143u

/* Walks the frame-pointer chain starting at frame fp (the caller passes
 * __builtin_frame_address(0)), storing up to max return addresses, and
 * hashes them on the way. [lo, hi) bounds the thread's stack: the walk stops
 * at anything outside it or not moving up the stack.
 *
 * The frames are mixed independently (their multiplies run in parallel; a
 * serial hash chain cost ~25 ns for 10 frames here) with their position
 * folded in, then the sum is finalized. */
static inline int stack_walk(void *fp, uintptr_t lo, uintptr_t hi, uint64_t *pcs, int max,
			     uint64_t *hash)
{
	int n = 0;
	uintptr_t f = (uintptr_t)fp, span = hi - lo - 16;
	uint64_t h = 0x9e3779b97f4a7c15ull;
	/* Misaligned frames need no test of their own: x86 reads them, and
	 * the next frame must still lie above this one inside the stack. */
	while (n < max && f - lo <= span) {
		const uintptr_t *frame = (const uintptr_t *)f;
		uintptr_t next = frame[0], ret = frame[1];
		if (ret < 4096)
			break;
		pcs[n] = ret;
		h ^= (ret + (uint64_t)n * 0x632be59bd9b4e019ull) * 0xff51afd7ed558ccdull;
		n++;
		if (next <= f)
			break;
		f = next;
	}
	h ^= (uint64_t)n;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	*hash = h | 1;
	return n;
}

/* The hash stack_walk() computes, for frames that come from elsewhere (a
 * perf callchain), so that the same stack gets the same id. */
static inline uint64_t stack_hash(const uint64_t *pcs, int n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < n; i++)
		h ^= (pcs[i] + (uint64_t)i * 0x632be59bd9b4e019ull) * 0xff51afd7ed558ccdull;
	h ^= (uint64_t)n;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h | 1;
}

/* Returns the id of the stack pcs[0..n) whose stack_walk() hash is h, adding it
 * if new; 0 when n == 0 or the table is full. */
uint32_t stack_id(const uint64_t *pcs, int n, uint64_t h);
/* The frames of an id; NULL if unknown. Safe from any thread once the id
 * was returned by stack_id(). */
const uint64_t *stack_lookup(uint32_t id, uint32_t *depth);
uint64_t stack_overflows(void);

/* stack_id() through a thread's cache of 1 << nbits entries (struct trec's
 * stack_cache): a stack seen lately costs no probe of the shared table. A
 * 64-bit hash match is taken as the same stack (the shared table compares
 * frames; a false match here has odds of 2^-64 per pair). */
static inline uint32_t stack_id_cached(struct lft_cache_ent *cache, unsigned nbits,
				       const uint64_t *pcs, int n, uint64_t h)
{
	uint32_t id = lft_cache_get(cache, nbits, h);
	if (!id && (id = stack_id(pcs, n, h)) != 0)
		lft_cache_put(cache, nbits, h, id);
	return id;
}

#endif
