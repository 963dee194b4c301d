/* A process-wide, insert-only table of byte strings with small stable ids:
 * lock-free insert and lookup, fixed memory. The name table (intern.c) and
 * the stack table (stacks.c) are two instances. */
#ifndef CT_RECORD_LFTABLE_H
#define CT_RECORD_LFTABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct lft_entry {
	uint64_t hash;
	uint32_t id;
	uint32_t len;
	_Alignas(8) uint8_t key[]; /* len bytes, then a NUL if the table says so */
};

struct lftable {
	_Atomic(struct lft_entry *) *slots; /* nslots, a power of two */
	_Atomic(struct lft_entry *) *by_id; /* max_ids + 1 */
	uint32_t nslots, max_ids;
	size_t arena_size;
	int nul;	       /* store a NUL after each key (strings) */
	_Atomic(char *) arena; /* reserved on first insert */
	atomic_size_t used;
	atomic_uint next_id;
	atomic_ulong overflows;
};

#define LFTABLE_INIT(slots_, by_id_, nslots_, max_ids_, arena_size_, nul_)                         \
	{                                                                                          \
		.slots = (slots_), .by_id = (by_id_), .nslots = (nslots_), .max_ids = (max_ids_),  \
		.arena_size = (arena_size_), .nul = (nul_), .next_id = 1                           \
	}

/* The id of key (whose hash is h, never 0), adding it if new; 0 when the
 * table or its arena is full (counted in overflows). */
uint32_t lft_insert(struct lftable *t, uint64_t h, const void *key, uint32_t len);
/* The entry of an id, or NULL; safe from any thread once the id was
 * returned by lft_insert(). */
const struct lft_entry *lft_get(struct lftable *t, uint32_t id);
uint64_t lft_overflows(struct lftable *t);

/* A thread's cache in front of a table: hash -> id, direct-mapped, so that
 * a repeated key costs its hash, not a probe of the shared slots (cold in a
 * busy program's cache: the probe was most of a log event's cost). A 64-bit
 * hash match is taken as the same key, as the tables' users already do.
 *
 * A signal handler on the same thread may fill the same entry between an
 * interrupted fill's two stores, so each store is indivisible and the
 * second word repeats the hash's upper half beside the id: a mixed entry
 * fails the check and is a miss, never a wrong id. */
struct lft_cache_ent {
	_Atomic uint64_t hash;
	_Atomic uint64_t check; /* hash >> 32 << 32 | id */
};

static inline uint32_t lft_cache_get(struct lft_cache_ent *c, unsigned nbits, uint64_t h)
{
	struct lft_cache_ent *e = &c[h >> (64 - nbits)];
	uint64_t x = atomic_load_explicit(&e->check, memory_order_relaxed);
	if (atomic_load_explicit(&e->hash, memory_order_relaxed) != h || x >> 32 != h >> 32)
		return 0;
	return (uint32_t)x;
}

static inline void lft_cache_put(struct lft_cache_ent *c, unsigned nbits, uint64_t h, uint32_t id)
{
	struct lft_cache_ent *e = &c[h >> (64 - nbits)];
	atomic_store_explicit(&e->hash, h, memory_order_relaxed);
	atomic_store_explicit(&e->check, h >> 32 << 32 | id, memory_order_relaxed);
}

#endif
