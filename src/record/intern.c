/* Interned names: an instance of the insert-only table (lftable.c) keyed by
 * the string's bytes. */
#include "intern.h"

#include <string.h>

#include "record/lftable.h"

#define SLOTS (1u << 17) /* twice the name cap: probes stay short */

static _Atomic(struct lft_entry *) slots[SLOTS];
static _Atomic(struct lft_entry *) by_id[INTERN_MAX_NAMES + 1];
static struct lftable names = LFTABLE_INIT(slots, by_id, SLOTS, INTERN_MAX_NAMES, 8u << 20, 1);

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

/* The calling thread's recently interned names (lftable.h). */
#define CACHE_BITS 4
static __thread struct lft_cache_ent cache[1u << CACHE_BITS]
	__attribute__((tls_model("initial-exec")));

uint32_t intern(const char *s)
{
	if (!s)
		return 0;
	size_t n = strnlen(s, INTERN_MAX_LEN);
	uint64_t h = hash_str(s, n);
	uint32_t id = lft_cache_get(cache, CACHE_BITS, h);
	if (id)
		return id;
	id = lft_insert(&names, h, s, (uint32_t)n);
	if (id)
		lft_cache_put(cache, CACHE_BITS, h, id);
	return id;
}

const char *intern_lookup(uint32_t id, size_t *len)
{
	const struct lft_entry *e = lft_get(&names, id);
	if (!e)
		return NULL;
	if (len)
		*len = e->len;
	return (const char *)e->key;
}

uint64_t intern_overflows(void)
{
	return lft_overflows(&names);
}
