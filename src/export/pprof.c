/* pprof profile writer: the deduplicating builder (strings, functions,
 * mappings, locations, samples in hash-indexed arrays). */
#include "export/pprof_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Entries are indexed by uint32 in the hash slots; ids are index + 1. */
#define ENTRIES_MAX (UINT32_MAX - 1)

int pprof_grow(void **ptr, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elsz)
		return -ENOMEM;
	void *q = realloc(*ptr, n * elsz);
	if (!q)
		return -ENOMEM;
	*ptr = q;
	*cap = n;
	return 0;
}

static void fail(struct pprof *p, int err)
{
	if (!p->err)
		p->err = err;
}

/* ---- hashing ---- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static uint32_t finish(uint64_t h)
{
	/* murmur3's finalizer: the table uses the low bits, so they must depend
	 * on every input bit. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

typedef int (*eq_fn)(const struct pprof *p, uint32_t idx, const void *key);

static int htab_init(struct htab *t)
{
	t->slot = calloc(16, sizeof(*t->slot));
	t->mask = 15;
	t->n = 0;
	return t->slot ? 0 : -ENOMEM;
}

/* Keeps the load under 3/4 so that probing always ends at an empty slot. */
static int htab_reserve(struct htab *t)
{
	uint64_t cap = (uint64_t)t->mask + 1;
	if (((uint64_t)t->n + 1) * 4 <= cap * 3)
		return 0;
	if (cap >= (1ull << 31))
		return -ENOMEM;
	struct hslot *s = calloc(cap * 2, sizeof(*s));
	if (!s)
		return -ENOMEM;
	uint32_t mask = (uint32_t)(cap * 2 - 1);
	for (uint64_t i = 0; i < cap; i++) {
		struct hslot *o = &t->slot[i];
		if (!o->idx1)
			continue;
		uint32_t j = o->hash & mask;
		while (s[j].idx1)
			j = (j + 1) & mask;
		s[j] = *o;
	}
	free(t->slot);
	t->slot = s;
	t->mask = mask;
	return 0;
}

/* The slot of the entry equal to key, or the empty slot where it goes. */
static struct hslot *htab_find(const struct htab *t, uint32_t hash, eq_fn eq, const struct pprof *p,
			       const void *key)
{
	for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		struct hslot *s = &t->slot[i];
		if (!s->idx1 || (s->hash == hash && eq(p, s->idx1 - 1, key)))
			return s;
	}
}

static void htab_set(struct htab *t, struct hslot *s, uint32_t hash, size_t idx)
{
	s->idx1 = (uint32_t)idx + 1;
	s->hash = hash;
	t->n++;
}

/* ---- strings ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

static char *arena_copy(struct pprof *p, const char *s, size_t len)
{
	struct arena_chunk *c = p->arena;
	if (!c || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > 65536 - sizeof(*c) ? len + 1 : 65536 - sizeof(*c);
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = p->arena;
		p->arena = c;
	}
	char *d = c->data + c->used;
	memcpy(d, s, len);
	d[len] = 0;
	c->used += len + 1;
	return d;
}

struct skey {
	const char *s;
	size_t len;
};

static int str_eq(const struct pprof *p, uint32_t idx, const void *key)
{
	const struct skey *k = key;
	return strncmp(p->str[idx], k->s, k->len) == 0 && p->str[idx][k->len] == 0;
}

/* String id of s; NULL and "" are id 0. On failure records the error and
 * returns 0, which pprof_write then refuses to write. */
static uint32_t intern(struct pprof *p, const char *s)
{
	if (!s || !*s)
		return 0;
	struct skey k = {s, strlen(s)};
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < k.len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	uint32_t hash = finish(h);
	int err = htab_reserve(&p->str_h);
	if (err)
		goto fail;
	struct hslot *slot = htab_find(&p->str_h, hash, str_eq, p, &k);
	if (slot->idx1)
		return slot->idx1 - 1;
	err = -ENOMEM;
	if (p->nstr >= ENTRIES_MAX || PPROF_GROW(p->str, p->str_cap, p->nstr + 1))
		goto fail;
	char *copy = arena_copy(p, s, k.len);
	if (!copy)
		goto fail;
	p->str[p->nstr] = copy;
	htab_set(&p->str_h, slot, hash, p->nstr);
	return (uint32_t)p->nstr++;
fail:
	fail(p, err);
	return 0;
}

/* ---- profile ---- */

struct pprof *pprof_new(const char *const *sample_types, const char *const *units, int nvalues)
{
	if (nvalues < 1 || !sample_types || !units)
		return NULL;
	struct pprof *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->nvalues = nvalues;
	p->type = calloc((size_t)nvalues, sizeof(*p->type));
	p->unit = calloc((size_t)nvalues, sizeof(*p->unit));
	if (!p->type || !p->unit || htab_init(&p->str_h) || htab_init(&p->fn_h) ||
	    htab_init(&p->map_h) || htab_init(&p->loc_h) || htab_init(&p->smp_h) ||
	    PPROF_GROW(p->str, p->str_cap, 1))
		goto fail;
	p->str[p->nstr++] = "";
	for (int i = 0; i < nvalues; i++) {
		p->type[i] = intern(p, sample_types[i]);
		p->unit[i] = intern(p, units[i]);
	}
	if (p->err)
		goto fail;
	return p;
fail:
	pprof_free(p);
	return NULL;
}

void pprof_free(struct pprof *p)
{
	if (!p)
		return;
	while (p->arena) {
		struct arena_chunk *c = p->arena;
		p->arena = c->next;
		free(c);
	}
	free(p->str);
	free(p->type);
	free(p->unit);
	free(p->comments);
	free(p->fn);
	free(p->map);
	free(p->loc);
	free(p->lines);
	free(p->smp);
	free(p->slocs);
	free(p->slabels);
	free(p->values);
	free(p->str_h.slot);
	free(p->fn_h.slot);
	free(p->map_h.slot);
	free(p->loc_h.slot);
	free(p->smp_h.slot);
	free(p);
}

void pprof_set_period(struct pprof *p, const char *type, const char *unit, int64_t period)
{
	p->period_type = intern(p, type);
	p->period_unit = intern(p, unit);
	p->period = period;
}

void pprof_set_time(struct pprof *p, int64_t time_nanos, int64_t duration_nanos)
{
	p->time_nanos = time_nanos;
	p->duration_nanos = duration_nanos;
}

void pprof_add_comment(struct pprof *p, const char *comment)
{
	uint32_t id = intern(p, comment);
	if (!id)
		return;
	if (PPROF_GROW(p->comments, p->comments_cap, p->ncomments + 1)) {
		fail(p, -ENOMEM);
		return;
	}
	p->comments[p->ncomments++] = id;
}

void pprof_set_default_sample_type(struct pprof *p, const char *type)
{
	p->default_type = intern(p, type);
}

int pprof_default_index(const struct pprof *p)
{
	for (int i = 0; p->default_type && i < p->nvalues; i++)
		if (p->type[i] == p->default_type)
			return i;
	return p->nvalues - 1;
}

size_t pprof_sample_count(const struct pprof *p)
{
	return p->nsmp;
}

/* ---- functions and mappings ---- */

static int fn_eq(const struct pprof *p, uint32_t idx, const void *key)
{
	const struct pfunc *k = key;
	return p->fn[idx].name == k->name && p->fn[idx].file == k->file;
}

/* Function index (id - 1), or -1 on failure. */
static int64_t function(struct pprof *p, const char *name, const char *file)
{
	struct pfunc k = {intern(p, name), intern(p, file)};
	if (p->err)
		return -1;
	uint32_t hash = finish(mix(mix(0, k.name), k.file));
	if (htab_reserve(&p->fn_h))
		goto fail;
	struct hslot *s = htab_find(&p->fn_h, hash, fn_eq, p, &k);
	if (s->idx1)
		return s->idx1 - 1;
	if (p->nfn >= ENTRIES_MAX || PPROF_GROW(p->fn, p->fn_cap, p->nfn + 1))
		goto fail;
	p->fn[p->nfn] = k;
	htab_set(&p->fn_h, s, hash, p->nfn);
	return (int64_t)p->nfn++;
fail:
	fail(p, -ENOMEM);
	return -1;
}

static int map_eq(const struct pprof *p, uint32_t idx, const void *key)
{
	const struct pmap *a = &p->map[idx], *b = key;
	return a->start == b->start && a->limit == b->limit && a->offset == b->offset &&
	       a->file == b->file && a->build_id == b->build_id;
}

uint64_t pprof_mapping(struct pprof *p, uint64_t start, uint64_t limit, uint64_t offset,
		       const char *file, const uint8_t *build_id, size_t build_id_len)
{
	struct pmap k = {start, limit, offset, intern(p, file), 0};
	if (build_id && build_id_len) {
		char *hex = malloc(build_id_len * 2 + 1);
		if (!hex) {
			fail(p, -ENOMEM);
			return 0;
		}
		for (size_t i = 0; i < build_id_len; i++) {
			hex[2 * i] = "0123456789abcdef"[build_id[i] >> 4];
			hex[2 * i + 1] = "0123456789abcdef"[build_id[i] & 15];
		}
		hex[build_id_len * 2] = 0;
		k.build_id = intern(p, hex);
		free(hex);
	}
	if (p->err)
		return 0;
	uint32_t hash =
		finish(mix(mix(mix(mix(mix(0, start), limit), offset), k.file), k.build_id));
	if (htab_reserve(&p->map_h))
		goto fail;
	struct hslot *s = htab_find(&p->map_h, hash, map_eq, p, &k);
	if (s->idx1)
		return s->idx1;
	if (p->nmap >= ENTRIES_MAX || PPROF_GROW(p->map, p->map_cap, p->nmap + 1))
		goto fail;
	p->map[p->nmap] = k;
	htab_set(&p->map_h, s, hash, p->nmap);
	return ++p->nmap;
fail:
	fail(p, -ENOMEM);
	return 0;
}

/* ---- locations ---- */

/* Candidate entries (locations, samples) are appended at the pools' tails
 * before the lookup, so a key needs no separate buffer; a duplicate just
 * leaves the tail unclaimed. */
static int loc_eq(const struct pprof *p, uint32_t idx, const void *key)
{
	const struct ploc *a = &p->loc[idx], *b = key;
	if (a->address != b->address || a->mapping != b->mapping || a->nlines != b->nlines)
		return 0;
	for (uint32_t i = 0; i < a->nlines; i++) {
		const struct pline *x = &p->lines[a->lines + i], *y = &p->lines[b->lines + i];
		if (x->fn != y->fn || x->line != y->line)
			return 0;
	}
	return 1;
}

uint64_t pprof_location(struct pprof *p, uint64_t address, uint64_t mapping_id,
			const struct pprof_line *lines, int nlines)
{
	if (nlines < 0 || (nlines && !lines) || mapping_id > p->nmap)
		return 0;
	if (PPROF_GROW(p->lines, p->lines_cap, p->nlines + (size_t)nlines))
		goto fail;
	struct ploc k = {address, (uint32_t)mapping_id, 0, p->nlines};
	uint64_t h = mix(mix(0, address), mapping_id);
	for (int i = 0; i < nlines; i++) {
		if (!lines[i].function || !*lines[i].function)
			continue;
		int64_t fn = function(p, lines[i].function, lines[i].file);
		if (fn < 0)
			return 0;
		p->lines[k.lines + k.nlines++] = (struct pline){(uint32_t)fn, lines[i].line};
		h = mix(mix(h, (uint64_t)fn), (uint64_t)lines[i].line);
	}
	uint32_t hash = finish(h);
	if (htab_reserve(&p->loc_h))
		goto fail;
	struct hslot *s = htab_find(&p->loc_h, hash, loc_eq, p, &k);
	if (s->idx1)
		return s->idx1;
	if (p->nloc >= ENTRIES_MAX || PPROF_GROW(p->loc, p->loc_cap, p->nloc + 1))
		goto fail;
	p->loc[p->nloc] = k;
	p->nlines += k.nlines;
	htab_set(&p->loc_h, s, hash, p->nloc);
	return ++p->nloc;
fail:
	fail(p, -ENOMEM);
	return 0;
}

/* ---- samples ---- */

static int label_cmp(const void *a, const void *b)
{
	const struct plabel *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->str != y->str)
		return x->str < y->str ? -1 : 1;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->unit < y->unit ? -1 : x->unit > y->unit;
}

static int smp_eq(const struct pprof *p, uint32_t idx, const void *key)
{
	const struct psample *a = &p->smp[idx], *b = key;
	if (a->nlocs != b->nlocs || a->nlabels != b->nlabels)
		return 0;
	if (a->nlocs &&
	    memcmp(&p->slocs[a->locs], &p->slocs[b->locs], a->nlocs * sizeof(*p->slocs)) != 0)
		return 0;
	for (uint32_t i = 0; i < a->nlabels; i++)
		if (label_cmp(&p->slabels[a->labels + i], &p->slabels[b->labels + i]))
			return 0;
	return 1;
}

int pprof_add_sample(struct pprof *p, const uint64_t *locations, int nlocations,
		     const int64_t *values, const struct pprof_label *labels, int nlabels)
{
	if (nlocations < 0 || nlabels < 0 || (nlocations && !locations) || (nlabels && !labels) ||
	    !values)
		return -EINVAL;
	if (PPROF_GROW(p->slocs, p->slocs_cap, p->nslocs + (size_t)nlocations) ||
	    PPROF_GROW(p->slabels, p->slabels_cap, p->nslabels + (size_t)nlabels))
		return -ENOMEM;
	struct psample k = {p->nslocs, p->nslabels, (uint32_t)nlocations, (uint32_t)nlabels};
	uint64_t h = 0;
	for (int i = 0; i < nlocations; i++) {
		if (locations[i] == 0 || locations[i] > p->nloc)
			return -EINVAL;
		p->slocs[k.locs + i] = (uint32_t)locations[i];
		h = mix(h, locations[i]);
	}
	/* The pools may still be NULL when empty: no offset on NULL (UBSan). */
	struct plabel *lab = nlabels ? &p->slabels[k.labels] : NULL;
	for (int i = 0; i < nlabels; i++) {
		if (!labels[i].key || !*labels[i].key)
			return -EINVAL;
		lab[i].key = intern(p, labels[i].key);
		lab[i].str = labels[i].str ? intern(p, labels[i].str) : 0;
		lab[i].num = labels[i].str ? 0 : labels[i].num;
		lab[i].unit = labels[i].str ? 0 : intern(p, labels[i].unit);
	}
	if (p->err)
		return p->err;
	/* pprof keeps labels as a set per key: order does not make a sample. */
	if (nlabels > 1)
		qsort(lab, (size_t)nlabels, sizeof(*lab), label_cmp);
	for (int i = 0; i < nlabels; i++)
		h = mix(mix(mix(mix(h, lab[i].key), lab[i].str), (uint64_t)lab[i].num),
			lab[i].unit);
	uint32_t hash = finish(mix(h, ((uint64_t)nlocations << 32) | (uint32_t)nlabels));
	if (htab_reserve(&p->smp_h))
		return -ENOMEM;
	struct hslot *s = htab_find(&p->smp_h, hash, smp_eq, p, &k);
	size_t idx;
	if (s->idx1) {
		idx = s->idx1 - 1;
	} else {
		size_t cap = p->smp_cap;
		if (p->nsmp >= ENTRIES_MAX || PPROF_GROW(p->smp, p->smp_cap, p->nsmp + 1))
			return -ENOMEM;
		if (cap != p->smp_cap) {
			int64_t *v =
				realloc(p->values, p->smp_cap * (size_t)p->nvalues * sizeof(*v));
			if (!v) {
				p->smp_cap = cap; /* keep values and samples in step */
				return -ENOMEM;
			}
			p->values = v;
		}
		idx = p->nsmp++;
		p->smp[idx] = k;
		p->nslocs += k.nlocs;
		p->nslabels += k.nlabels;
		memset(&p->values[idx * (size_t)p->nvalues], 0,
		       (size_t)p->nvalues * sizeof(int64_t));
		htab_set(&p->smp_h, s, hash, idx);
	}
	int64_t *v = &p->values[idx * (size_t)p->nvalues];
	for (int i = 0; i < p->nvalues; i++) /* wraps rather than overflow UB */
		v[i] = (int64_t)((uint64_t)v[i] + (uint64_t)values[i]);
	return 0;
}
