/* Stacks on the hot path: a frame-pointer walk and a lock-free process-wide
 * table that deduplicates them into small ids. Symbolization happens later,
 * on the writer thread. */
#ifndef CT_RECORD_STACKS_H
#define CT_RECORD_STACKS_H

#include <stddef.h>
#include <stdint.h>

#define STACK_MAX_DEPTH 64
#define STACK_MAX_IDS	262143u

/* Walks the frame-pointer chain starting at frame fp (the caller passes
 * __builtin_frame_address(0)), storing up to max return addresses. lo/hi
 * bound the thread's stack; the walk stops at anything outside them. */
static inline int stack_walk(void *fp, uintptr_t lo, uintptr_t hi, uint64_t *pcs, int max)
{
	int n = 0;
	uintptr_t f = (uintptr_t)fp;
	while (n < max && f >= lo && f + 16 <= hi && (f & 7) == 0) {
		uintptr_t next = ((uintptr_t *)f)[0];
		uintptr_t ret = ((uintptr_t *)f)[1];
		if (ret < 4096)
			break;
		pcs[n++] = ret;
		if (next <= f)
			break;
		f = next;
	}
	return n;
}

/* The frames are mixed independently (the multiplies run in parallel; a
 * serial chain cost ~25 ns for 10 frames here) with their position folded
 * in, then the sum is finalized. */
static inline uint64_t stack_hash(const uint64_t *pcs, int n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
	for (int i = 0; i < n; i++)
		h ^= (pcs[i] + (uint64_t)i * 0x632be59bd9b4e019ull) * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h | 1;
}

/* Returns the id of the stack pcs[0..n) whose stack_hash() is h, adding it
 * if new; 0 when n == 0 or the table is full. */
uint32_t stack_id(const uint64_t *pcs, int n, uint64_t h);
/* The frames of an id; NULL if unknown. Safe from any thread once the id
 * was returned by stack_id(). */
const uint64_t *stack_lookup(uint32_t id, uint32_t *depth);
uint64_t stack_overflows(void);

#endif
