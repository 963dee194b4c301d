/* Hash tables of the analysis (see table.h). */
#include <stdlib.h>
#include <string.h>

#include "analysis/table.h"

#define INIT_CAP 64u

static inline uint32_t hash64(uint64_t k)
{
	return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32);
}

/* ---- u64map ---- */

int u64map_init(struct u64map *m)
{
	m->keys = calloc(INIT_CAP, sizeof(*m->keys));
	m->vals = calloc(INIT_CAP, sizeof(*m->vals));
	m->mask = INIT_CAP - 1;
	m->n = 0;
	return m->keys && m->vals ? 0 : -1;
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

uint64_t *u64map_find(const struct u64map *m, uint64_t key)
{
	for (uint32_t i = hash64(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->keys[i] == key)
			return &m->vals[i];
		if (m->keys[i] == 0)
			return NULL;
	}
}

static int u64map_grow(struct u64map *m)
{
	uint32_t ncap = (m->mask + 1) * 2;
	uint64_t *k = calloc(ncap, sizeof(*k)), *v = calloc(ncap, sizeof(*v));
	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	for (uint32_t i = 0; i <= m->mask; i++) {
		if (m->keys[i] == 0)
			continue;
		uint32_t j = hash64(m->keys[i]) & (ncap - 1);
		while (k[j] != 0)
			j = (j + 1) & (ncap - 1);
		k[j] = m->keys[i];
		v[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = k;
	m->vals = v;
	m->mask = ncap - 1;
	return 0;
}

uint64_t *u64map_put(struct u64map *m, uint64_t key, int *created)
{
	*created = 0;
	uint64_t *v = u64map_find(m, key);
	if (v)
		return v;
	if ((m->n + 1) * 2 > m->mask + 1 && u64map_grow(m) < 0)
		return NULL;
	uint32_t i = hash64(key) & m->mask;
	while (m->keys[i] != 0)
		i = (i + 1) & m->mask;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->n++;
	*created = 1;
	return &m->vals[i];
}

/* ---- taskmap ---- */

int taskmap_init(struct taskmap *m)
{
	m->slots = calloc(INIT_CAP, sizeof(*m->slots));
	m->mask = INIT_CAP - 1;
	m->n = 0;
	return m->slots ? 0 : -1;
}

void taskmap_free(struct taskmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

struct open_task *taskmap_find(const struct taskmap *m, uint64_t id)
{
	for (uint32_t i = hash64(id) & m->mask;; i = (i + 1) & m->mask) {
		if (m->slots[i].id == id)
			return &m->slots[i];
		if (m->slots[i].id == 0)
			return NULL;
	}
}

static int taskmap_grow(struct taskmap *m)
{
	uint32_t ncap = (m->mask + 1) * 2;
	struct open_task *s = calloc(ncap, sizeof(*s));
	if (!s)
		return -1;
	for (uint32_t i = 0; i <= m->mask; i++) {
		if (m->slots[i].id == 0)
			continue;
		uint32_t j = hash64(m->slots[i].id) & (ncap - 1);
		while (s[j].id != 0)
			j = (j + 1) & (ncap - 1);
		s[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = s;
	m->mask = ncap - 1;
	return 0;
}

struct open_task *taskmap_put(struct taskmap *m, uint64_t id, int *created)
{
	*created = 0;
	struct open_task *t = taskmap_find(m, id);
	if (t)
		return t;
	if ((m->n + 1) * 2 > m->mask + 1 && taskmap_grow(m) < 0)
		return NULL;
	uint32_t i = hash64(id) & m->mask;
	while (m->slots[i].id != 0)
		i = (i + 1) & m->mask;
	memset(&m->slots[i], 0, sizeof(m->slots[i]));
	m->slots[i].id = id;
	m->n++;
	*created = 1;
	return &m->slots[i];
}

/* Backward-shift deletion keeps probe chains intact without tombstones, so
 * a long trace with millions of short tasks never degrades the table. */
void taskmap_del(struct taskmap *m, struct open_task *t)
{
	uint32_t i = (uint32_t)(t - m->slots);
	for (uint32_t j = (i + 1) & m->mask;; j = (j + 1) & m->mask) {
		if (m->slots[j].id == 0)
			break;
		uint32_t home = hash64(m->slots[j].id) & m->mask;
		/* Move j into the hole at i if its home is not in (i, j]. */
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].id = 0;
	m->n--;
}

/* ---- strtab ---- */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static uint32_t strtab_add(struct strtab *t, const char *s, uint32_t h);

int strtab_init(struct strtab *t, const char *none, uint32_t limit, const char *overflow)
{
	memset(t, 0, sizeof(*t));
	t->index = calloc(INIT_CAP, sizeof(*t->index));
	if (!t->index)
		return -1;
	t->mask = INIT_CAP - 1;
	t->limit = UINT32_MAX;
	if (strtab_add(t, none, hash_str(none)) != 0)
		return -1;
	t->overflow_id = strtab_add(t, overflow, hash_str(overflow));
	if (t->overflow_id != 1)
		return -1;
	t->limit = limit;
	return 0;
}

void strtab_free(struct strtab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->strs[i]);
	free(t->strs);
	free(t->hashes);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

static int strtab_grow_index(struct strtab *t)
{
	uint32_t ncap = (t->mask + 1) * 2;
	uint32_t *idx = calloc(ncap, sizeof(*idx));
	if (!idx)
		return -1;
	for (uint32_t id = 0; id < t->n; id++) {
		uint32_t j = t->hashes[id] & (ncap - 1);
		while (idx[j] != 0)
			j = (j + 1) & (ncap - 1);
		idx[j] = id + 1;
	}
	free(t->index);
	t->index = idx;
	t->mask = ncap - 1;
	return 0;
}

static uint32_t strtab_add(struct strtab *t, const char *s, uint32_t h)
{
	if (t->n >= t->limit)
		return t->overflow_id;
	if (t->n == t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 64;
		char **strs = realloc(t->strs, ncap * sizeof(*strs));
		if (!strs)
			return t->overflow_id;
		t->strs = strs;
		uint32_t *hs = realloc(t->hashes, ncap * sizeof(*hs));
		if (!hs)
			return t->overflow_id;
		t->hashes = hs;
		t->cap = ncap;
	}
	if ((t->n + 1) * 2 > t->mask + 1 && strtab_grow_index(t) < 0)
		return t->overflow_id;
	char *copy = strdup(s);
	if (!copy)
		return t->overflow_id;
	uint32_t id = t->n++;
	t->strs[id] = copy;
	t->hashes[id] = h;
	uint32_t j = h & t->mask;
	while (t->index[j] != 0)
		j = (j + 1) & t->mask;
	t->index[j] = id + 1;
	return id;
}

uint32_t strtab_intern(struct strtab *t, const char *s)
{
	uint32_t h = hash_str(s);
	for (uint32_t j = h & t->mask; t->index[j] != 0; j = (j + 1) & t->mask) {
		uint32_t id = t->index[j] - 1;
		if (t->hashes[id] == h && strcmp(t->strs[id], s) == 0)
			return id;
	}
	return strtab_add(t, s, h);
}

/* ---- ptrcache ---- */

/* A generation rarely has more distinct strings than this; past it the
 * cache starts over rather than grow without bound. */
#define PTRCACHE_MAX (1u << 20)

int ptrcache_init(struct ptrcache *c)
{
	c->slots = calloc(INIT_CAP, sizeof(*c->slots));
	c->mask = INIT_CAP - 1;
	c->n = 0;
	c->stamp = 1;
	return c->slots ? 0 : -1;
}

void ptrcache_free(struct ptrcache *c)
{
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

void ptrcache_reset(struct ptrcache *c)
{
	c->n = 0;
	if (++c->stamp == 0) {
		memset(c->slots, 0, (size_t)(c->mask + 1) * sizeof(*c->slots));
		c->stamp = 1;
	}
}

static inline uint32_t ptr_hash(const char *p)
{
	return (uint32_t)(((uintptr_t)p * 0x9E3779B97F4A7C15ull) >> 40);
}

static void ptrcache_insert(struct ptrcache *c, const char *p, uint32_t id)
{
	uint32_t i = ptr_hash(p) & c->mask;
	while (c->slots[i].stamp == c->stamp && c->slots[i].p != p)
		i = (i + 1) & c->mask;
	if (c->slots[i].stamp != c->stamp)
		c->n++;
	c->slots[i] = (struct ptrcache_slot){p, id, c->stamp};
}

uint32_t ptrcache_miss(struct ptrcache *c, struct strtab *t, const char *p)
{
	uint32_t i = ptr_hash(p) & c->mask;
	for (; c->slots[i].stamp == c->stamp; i = (i + 1) & c->mask)
		if (c->slots[i].p == p)
			return c->slots[i].id;
	uint32_t id = strtab_intern(t, p);
	if ((c->n + 1) * 2 > c->mask + 1) {
		uint32_t ncap = (c->mask + 1) * 2;
		struct ptrcache_slot *s = ncap <= PTRCACHE_MAX ? calloc(ncap, sizeof(*s)) : NULL;
		if (!s) {
			ptrcache_reset(c);
		} else {
			struct ptrcache_slot *old = c->slots;
			uint32_t ocap = c->mask + 1, stamp = c->stamp;
			c->slots = s;
			c->mask = ncap - 1;
			c->n = 0;
			c->stamp = 1;
			for (uint32_t j = 0; j < ocap; j++)
				if (old[j].stamp == stamp)
					ptrcache_insert(c, old[j].p, old[j].id);
			free(old);
		}
	}
	ptrcache_insert(c, p, id);
	return id;
}
