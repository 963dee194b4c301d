/* The stack table: like the name table (intern.c), an open-addressing array of
 * pointers into a bump arena. The arena is reserved lazily with mmap so that
 * programs that never capture stacks never pay for it. */
#include "stacks.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define SLOTS (1u << 19)
#define ARENA (64u << 20)

struct entry {
	uint64_t hash;
	uint32_t id;
	uint32_t depth;
	uint64_t pcs[];
};

static _Atomic(struct entry *) slots[SLOTS];
static _Atomic(struct entry *) by_id[STACK_MAX_IDS + 1];
static _Atomic(char *) arena;
static atomic_size_t arena_used;
static atomic_uint next_id = 1;
static atomic_ulong overflows;

static char *get_arena(void)
{
	char *a = atomic_load_explicit(&arena, memory_order_acquire);
	if (a)
		return a;
	/* Reserved address space only: pages appear as stacks are added. The
	 * first stack of the process pays for one mmap; a racing loser unmaps. */
	char *m = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	char *expect = NULL;
	if (!atomic_compare_exchange_strong(&arena, &expect, m)) {
		munmap(m, ARENA);
		return expect;
	}
	return m;
}

static uint32_t fail(void)
{
	atomic_fetch_add_explicit(&overflows, 1, memory_order_relaxed);
	return 0;
}

uint32_t stack_id(const uint64_t *pcs, int n, uint64_t h)
{
	if (n <= 0)
		return 0;
	size_t bytes = (size_t)n * sizeof(uint64_t);
	struct entry *mine = NULL;
	for (uint32_t i = (uint32_t)h & (SLOTS - 1), probes = 0; probes < SLOTS;
	     i = (i + 1) & (SLOTS - 1), probes++) {
		struct entry *e = atomic_load_explicit(&slots[i], memory_order_acquire);
		if (!e) {
			if (!mine) {
				char *a = get_arena();
				if (!a)
					return fail();
				uint32_t id = atomic_fetch_add_explicit(&next_id, 1,
									memory_order_relaxed);
				if (id > STACK_MAX_IDS)
					return fail();
				size_t need = sizeof(struct entry) + bytes;
				size_t off = atomic_fetch_add_explicit(&arena_used, need,
								       memory_order_relaxed);
				if (off + need > ARENA)
					return fail();
				mine = (struct entry *)(a + off);
				mine->hash = h;
				mine->id = id;
				mine->depth = (uint32_t)n;
				memcpy(mine->pcs, pcs, bytes);
				atomic_store_explicit(&by_id[id], mine, memory_order_release);
			}
			struct entry *expect = NULL;
			if (atomic_compare_exchange_strong_explicit(&slots[i], &expect, mine,
								    memory_order_acq_rel,
								    memory_order_acquire))
				return mine->id;
			e = expect;
		}
		if (e->hash == h && e->depth == (uint32_t)n && memcmp(e->pcs, pcs, bytes) == 0)
			return e->id;
	}
	return fail();
}

const uint64_t *stack_lookup(uint32_t id, uint32_t *depth)
{
	if (id == 0 || id > STACK_MAX_IDS)
		return NULL;
	struct entry *e = atomic_load_explicit(&by_id[id], memory_order_acquire);
	if (!e)
		return NULL;
	*depth = e->depth;
	return e->pcs;
}

uint64_t stack_overflows(void)
{
	return atomic_load_explicit(&overflows, memory_order_relaxed);
}
