/* Hash tables of the analysis: integer maps (threads, open tasks), a string
 * intern table, and a per-generation cache from string pointers to ids so
 * the per-event path never hashes string contents. */
#ifndef CT_ANALYSIS_TABLE_H
#define CT_ANALYSIS_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* Open addressing, linear probing, backward-shift deletion. Key 0 is
 * reserved for empty slots (ids in the format start at 1). */
struct u64map {
	uint64_t *keys;
	uint64_t *vals;
	uint32_t mask, n;
};

int u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
uint64_t *u64map_find(const struct u64map *m, uint64_t key);
/* Finds or inserts key (value 0 when new, *created set). NULL on OOM. */
uint64_t *u64map_put(struct u64map *m, uint64_t key, int *created);

/* A task whose begin or end was seen but not both yet. */
struct open_task {
	uint64_t id; /* 0 = empty slot */
	uint64_t begin, end, parent;
	uint32_t type;	/* name id */
	uint32_t state; /* OPEN_* */
};
#define OPEN_BEGUN 1u /* begin seen, end not yet */
#define OPEN_ENDED 2u /* end seen before its begin (thread order, or pre-trace) */

struct taskmap {
	struct open_task *slots;
	uint32_t mask, n;
};

int taskmap_init(struct taskmap *m);
void taskmap_free(struct taskmap *m);
struct open_task *taskmap_find(const struct taskmap *m, uint64_t id);
struct open_task *taskmap_put(struct taskmap *m, uint64_t id, int *created);
void taskmap_del(struct taskmap *m, struct open_task *t);

/* Interned strings with dense ids from 0. Id 0 is reserved by the caller
 * (strtab_init interns the given placeholder first). */
struct strtab {
	char **strs;
	uint32_t *hashes;
	uint32_t n, cap;
	uint32_t *index; /* open addressing over ids+1, 0 = empty */
	uint32_t mask;
	uint32_t limit; /* beyond this many strings, strtab_intern returns overflow_id */
	uint32_t overflow_id;
};

int strtab_init(struct strtab *t, const char *none, uint32_t limit, const char *overflow);
void strtab_free(struct strtab *t);
/* Returns the id of s (copied on first sight); overflow_id when the table
 * is full or memory ran out. */
uint32_t strtab_intern(struct strtab *t, const char *s);

/* Pointer -> id, valid for one generation: the reader's strings live as
 * long as their generation, and the same string id of a generation always
 * resolves to the same pointer, so one lookup per distinct pointer per
 * generation replaces one string hash per event. */
struct ptrcache {
	struct ptrcache_slot {
		const char *p;
		uint32_t id;
		uint32_t stamp;
	} * slots;
	uint32_t mask, n, stamp;
};

int ptrcache_init(struct ptrcache *c);
void ptrcache_free(struct ptrcache *c);
void ptrcache_reset(struct ptrcache *c); /* a new generation: O(1) */

/* The id of p, interning its content through t on a miss. */
static inline uint32_t ptrcache_id(struct ptrcache *c, struct strtab *t, const char *p);
uint32_t ptrcache_miss(struct ptrcache *c, struct strtab *t, const char *p);

static inline uint32_t ptrcache_id(struct ptrcache *c, struct strtab *t, const char *p)
{
	if (p == NULL)
		return 0;
	uint32_t h = (uint32_t)(((uintptr_t)p * 0x9E3779B97F4A7C15ull) >> 40);
	const struct ptrcache_slot *s = &c->slots[h & c->mask];
	if (s->p == p && s->stamp == c->stamp)
		return s->id;
	return ptrcache_miss(c, t, p);
}

#endif
