/* The insert-only table: open addressing over pointers to entries in a bump
 * arena. An insert fills its entry completely and then publishes it with one
 * CAS, so a reader never sees half an entry and nobody waits for anybody. The
 * arena is reserved address space (MAP_NORESERVE): pages appear as entries
 * are added, and a program that never inserts pays nothing. */
#include "record/lftable.h"

#include <string.h>
#include <sys/mman.h>

static char *get_arena(struct lftable *t)
{
	char *a = atomic_load_explicit(&t->arena, memory_order_acquire);
	if (a)
		return a;
	/* The first insert pays for one mmap; a racing loser unmaps its own. */
	char *m = mmap(NULL, t->arena_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	char *expect = NULL;
	if (!atomic_compare_exchange_strong(&t->arena, &expect, m)) {
		munmap(m, t->arena_size);
		return expect;
	}
	return m;
}

static uint32_t fail(struct lftable *t)
{
	atomic_fetch_add_explicit(&t->overflows, 1, memory_order_relaxed);
	return 0;
}

uint32_t lft_insert(struct lftable *t, uint64_t h, const void *key, uint32_t len)
{
	struct lft_entry *mine = NULL;
	uint32_t mask = t->nslots - 1;
	for (uint32_t i = (uint32_t)h & mask, probes = 0; probes < t->nslots;
	     i = (i + 1) & mask, probes++) {
		struct lft_entry *e = atomic_load_explicit(&t->slots[i], memory_order_acquire);
		if (!e) {
			if (!mine) {
				char *a = get_arena(t);
				if (!a)
					return fail(t);
				uint32_t id = atomic_fetch_add_explicit(&t->next_id, 1,
									memory_order_relaxed);
				if (id > t->max_ids)
					return fail(t);
				size_t need =
					(sizeof(struct lft_entry) + len + (size_t)t->nul + 15) &
					~(size_t)15;
				size_t off = atomic_fetch_add_explicit(&t->used, need,
								       memory_order_relaxed);
				if (off + need > t->arena_size)
					return fail(t);
				mine = (struct lft_entry *)(a + off);
				mine->hash = h;
				mine->id = id;
				mine->len = len;
				memcpy(mine->key, key, len);
				if (t->nul)
					mine->key[len] = 0;
				atomic_store_explicit(&t->by_id[id], mine, memory_order_release);
			}
			struct lft_entry *expect = NULL;
			if (atomic_compare_exchange_strong_explicit(&t->slots[i], &expect, mine,
								    memory_order_acq_rel,
								    memory_order_acquire))
				return mine->id;
			e = expect; /* somebody filled the slot first: compare with it */
		}
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
			return e->id; /* a racing twin of ours, if any, stays unused */
	}
	return fail(t);
}

const struct lft_entry *lft_get(struct lftable *t, uint32_t id)
{
	if (id == 0 || id > t->max_ids)
		return NULL;
	return atomic_load_explicit(&t->by_id[id], memory_order_acquire);
}

uint64_t lft_overflows(struct lftable *t)
{
	return atomic_load_explicit(&t->overflows, memory_order_relaxed);
}
