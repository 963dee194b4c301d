/* The symbolizer's memory: interned strings that live as long as it does,
 * and a bounded cache of frames per address. Single-threaded. */
#ifndef CT_RECORD_SYMCACHE_H
#define CT_RECORD_SYMCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/symbolize.h"

/* Zero-initialised is empty. */
struct sym_strings {
	struct sym_string_slot *slots;
	size_t cap, n; /* cap is a power of two */
	struct sym_arena_chunk *chunks;
};

/* A stable copy of s, the same pointer for equal strings until
 * sym_strings_free; "" for NULL, "" or when memory is short, never NULL. */
const char *sym_intern(struct sym_strings *in, const char *s);
void sym_strings_free(struct sym_strings *in);

struct sym_cache_entry {
	uint64_t addr;	/* 0: empty slot (address 0 is never cached) */
	uint32_t first; /* index into sym_cache.frames */
	uint16_t nframes;
	uint32_t mapping; /* 1-based mapping index, 0 = none */
};

/* Zero-initialised is empty. Past its bound it is dropped and refilled
 * rather than grown: a few thousand distinct code addresses is usual. */
struct sym_cache {
	struct sym_cache_entry *slots;
	size_t cap, n;
	struct sym_frame *frames;
	size_t nframes, frames_cap;
};

const struct sym_cache_entry *sym_cache_find(const struct sym_cache *c, uint64_t addr);
/* false (nothing cached) when memory is short: that only costs a repeated
 * lookup later. addr must not be 0. */
bool sym_cache_put(struct sym_cache *c, uint64_t addr, const struct sym_frame *f, int n,
		   uint32_t mapping);
/* Gives each entry mapping renum[mapping] (renum has nold + 1 elements) and
 * drops the entries that get 0. */
void sym_cache_renumber(struct sym_cache *c, const uint32_t *renum, size_t nold);
void sym_cache_clear(struct sym_cache *c);
void sym_cache_free(struct sym_cache *c);

#endif
