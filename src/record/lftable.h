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

#endif
