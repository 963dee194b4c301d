/* Interned names: an open-addressing table of pointers to entries in a bump
 * arena, both static (zero pages cost nothing until touched). Insertion
 * publishes a fully written entry with one CAS, so a reader never sees half
 * an entry and nobody waits for anybody. */
#include "intern.h"

#include <stdatomic.h>
#include <string.h>

#define SLOTS (1u << 17) /* twice the name cap: probes stay short */
#define ARENA (8u << 20)

struct entry {
	uint64_t hash;
	uint32_t id;
	uint32_t len;
	char s[]; /* NUL-terminated */
};

static _Atomic(struct entry *) slots[SLOTS];
static _Atomic(struct entry *) by_id[INTERN_MAX_NAMES + 1];
static _Alignas(16) char arena[ARENA];
static atomic_size_t arena_used;
static atomic_uint next_id = 1;
static atomic_ulong overflows;

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h | 1;
}

static uint32_t fail(void)
{
	atomic_fetch_add_explicit(&overflows, 1, memory_order_relaxed);
	return 0;
}

uint32_t intern(const char *s)
{
	if (!s)
		return 0;
	size_t n = strnlen(s, INTERN_MAX_LEN);
	uint64_t h = hash_str(s, n);
	struct entry *mine = NULL;
	for (uint32_t i = (uint32_t)h & (SLOTS - 1), probes = 0; probes < SLOTS;
	     i = (i + 1) & (SLOTS - 1), probes++) {
		struct entry *e = atomic_load_explicit(&slots[i], memory_order_acquire);
		if (!e) {
			if (!mine) {
				uint32_t id = atomic_fetch_add_explicit(&next_id, 1,
									memory_order_relaxed);
				if (id > INTERN_MAX_NAMES)
					return fail();
				size_t need = (sizeof(struct entry) + n + 1 + 15) & ~(size_t)15;
				size_t off = atomic_fetch_add_explicit(&arena_used, need,
								       memory_order_relaxed);
				if (off + need > ARENA)
					return fail();
				mine = (struct entry *)(arena + off);
				mine->hash = h;
				mine->id = id;
				mine->len = (uint32_t)n;
				memcpy(mine->s, s, n);
				mine->s[n] = 0;
				atomic_store_explicit(&by_id[id], mine, memory_order_release);
			}
			struct entry *expect = NULL;
			if (atomic_compare_exchange_strong_explicit(&slots[i], &expect, mine,
								    memory_order_acq_rel,
								    memory_order_acquire))
				return mine->id;
			e = expect; /* somebody filled the slot first: compare with it */
		}
		if (e->hash == h && e->len == n && memcmp(e->s, s, n) == 0)
			return e->id; /* a racing twin of ours, if any, stays unused */
	}
	return fail();
}

const char *intern_lookup(uint32_t id, size_t *len)
{
	if (id == 0 || id > INTERN_MAX_NAMES)
		return NULL;
	struct entry *e = atomic_load_explicit(&by_id[id], memory_order_acquire);
	if (!e)
		return NULL;
	if (len)
		*len = e->len;
	return e->s;
}

uint64_t intern_overflows(void)
{
	return atomic_load_explicit(&overflows, memory_order_relaxed);
}
