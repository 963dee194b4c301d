/* The symbolizer's interned strings and per-address frame cache: plain
 * open-addressing tables, owned by one thread. */
#include "record/symcache.h"

#include <stdlib.h>
#include <string.h>

/* Past this many addresses the cache is dropped and refilled. */
#define CACHE_MAX_ENTRIES (1u << 16)
#define ARENA_CHUNK	  65536

/* ---- interned strings ---------------------------------------------------- */

struct sym_arena_chunk {
	struct sym_arena_chunk *next;
	size_t used, size;
	char data[];
};

struct sym_string_slot {
	const char *str;
	uint64_t hash;
};

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static char *arena_copy(struct sym_strings *in, const char *s, size_t len)
{
	struct sym_arena_chunk *c = in->chunks;

	if (!c || c->size - c->used < len + 1) {
		size_t size = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = size;
		/* A huge string gets a chunk of its own behind the current one, so
		 * the current chunk's free space is not wasted. */
		if (in->chunks && size > ARENA_CHUNK) {
			c->next = in->chunks->next;
			in->chunks->next = c;
		} else {
			c->next = in->chunks;
			in->chunks = c;
		}
	}
	char *d = c->data + c->used;
	memcpy(d, s, len);
	d[len] = '\0';
	c->used += len + 1;
	return d;
}

static bool intern_grow(struct sym_strings *in)
{
	size_t cap = in->cap ? in->cap * 2 : 1024;
	struct sym_string_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return false;
	for (size_t i = 0; i < in->cap; i++) {
		if (!in->slots[i].str)
			continue;
		size_t j = in->slots[i].hash & (cap - 1);
		while (slots[j].str)
			j = (j + 1) & (cap - 1);
		slots[j] = in->slots[i];
	}
	free(in->slots);
	in->slots = slots;
	in->cap = cap;
	return true;
}

const char *sym_intern(struct sym_strings *in, const char *s)
{
	if (!s || !*s)
		return "";
	size_t len = strlen(s);
	uint64_t h = hash_bytes(s, len);

	if ((in->n + 1) * 4 > in->cap * 3 && !intern_grow(in))
		return "";
	size_t j = h & (in->cap - 1);
	for (; in->slots[j].str; j = (j + 1) & (in->cap - 1))
		if (in->slots[j].hash == h && strcmp(in->slots[j].str, s) == 0)
			return in->slots[j].str;
	char *d = arena_copy(in, s, len);
	if (!d)
		return "";
	in->slots[j].str = d;
	in->slots[j].hash = h;
	in->n++;
	return d;
}

void sym_strings_free(struct sym_strings *in)
{
	while (in->chunks) {
		struct sym_arena_chunk *next = in->chunks->next;
		free(in->chunks);
		in->chunks = next;
	}
	free(in->slots);
}

/* ---- address cache ------------------------------------------------------- */

const struct sym_cache_entry *sym_cache_find(const struct sym_cache *c, uint64_t addr)
{
	if (!c->cap)
		return NULL;
	size_t j = hash_bytes(&addr, sizeof(addr)) & (c->cap - 1);
	for (; c->slots[j].addr; j = (j + 1) & (c->cap - 1))
		if (c->slots[j].addr == addr)
			return &c->slots[j];
	return NULL;
}

void sym_cache_clear(struct sym_cache *c)
{
	if (c->slots)
		memset(c->slots, 0, c->cap * sizeof(*c->slots));
	c->n = 0;
	c->nframes = 0;
}

static bool cache_rehash(struct sym_cache *c, size_t cap)
{
	struct sym_cache_entry *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return false;
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->slots[i].addr)
			continue;
		size_t j = hash_bytes(&c->slots[i].addr, 8) & (cap - 1);
		while (slots[j].addr)
			j = (j + 1) & (cap - 1);
		slots[j] = c->slots[i];
	}
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
	return true;
}

bool sym_cache_put(struct sym_cache *c, uint64_t addr, const struct sym_frame *f, int n,
		   uint32_t mapping)
{
	/* Frames of entries dropped by sym_refresh stay in the pool until a
	 * clear, hence the second bound. */
	if (c->n >= CACHE_MAX_ENTRIES || c->nframes + n > 4 * CACHE_MAX_ENTRIES)
		sym_cache_clear(c);
	if ((c->n + 1) * 4 > c->cap * 3 && !cache_rehash(c, c->cap ? c->cap * 2 : 1024))
		return false;
	if (c->nframes + n > c->frames_cap) {
		size_t cap = c->frames_cap ? c->frames_cap * 2 : 1024;
		while (cap < c->nframes + n)
			cap *= 2;
		struct sym_frame *frames = realloc(c->frames, cap * sizeof(*frames));
		if (!frames)
			return false;
		c->frames = frames;
		c->frames_cap = cap;
	}
	size_t j = hash_bytes(&addr, sizeof(addr)) & (c->cap - 1);
	while (c->slots[j].addr)
		j = (j + 1) & (c->cap - 1);
	c->slots[j] = (struct sym_cache_entry){addr, (uint32_t)c->nframes, (uint16_t)n, mapping};
	if (n > 0)
		memcpy(c->frames + c->nframes, f, n * sizeof(*f));
	c->nframes += n;
	c->n++;
	return true;
}

void sym_cache_renumber(struct sym_cache *c, const uint32_t *renum, size_t nold)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->cap; i++) {
		struct sym_cache_entry *e = &c->slots[i];
		if (!e->addr)
			continue;
		e->mapping = e->mapping <= nold ? renum[e->mapping] : 0;
		if (e->mapping)
			kept++;
		else
			e->addr = 0;
	}
	/* Emptying slots of a linear-probing table breaks probe chains:
	 * rehash what is left. Dropped entries' frames stay in the pool until
	 * the next clear (see sym_cache_put). */
	c->n = kept;
	if (!kept || !cache_rehash(c, c->cap))
		sym_cache_clear(c);
}

void sym_cache_free(struct sym_cache *c)
{
	free(c->slots);
	free(c->frames);
	*c = (struct sym_cache){0};
}
