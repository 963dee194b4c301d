/* pprof writer internals shared by the encoder (pprof.c) and the text
 * table (pprof_text.c): the deduplicated in-memory profile. */
#ifndef CT_EXPORT_PPROF_INT_H
#define CT_EXPORT_PPROF_INT_H

#include "export/pprof.h"

/* Open-addressing hash index over entries stored elsewhere (in arrays owned
 * by the profile). A slot keeps the entry's index + 1 (0 = empty) and its
 * hash, so growing never rehashes keys and most mismatches cost no compare. */
struct hslot {
	uint32_t idx1;
	uint32_t hash;
};
struct htab {
	struct hslot *slot;
	uint32_t mask; /* capacity - 1, capacity a power of two */
	uint32_t n;
};

struct pfunc {
	uint32_t name, file; /* string ids */
};

struct pmap {
	uint64_t start, limit, offset;
	uint32_t file, build_id;
};

struct pline {
	uint32_t fn; /* function index (id - 1) */
	int64_t line;
};

struct ploc {
	uint64_t address;
	uint32_t mapping; /* mapping id, 0 for none */
	uint32_t nlines;
	size_t lines; /* offset in the line pool */
};

struct plabel {
	uint32_t key, str, unit; /* string ids; str 0 for a numeric label */
	int64_t num;
};

struct psample {
	size_t locs;   /* offset in the location-id pool */
	size_t labels; /* offset in the label pool */
	uint32_t nlocs, nlabels;
};

struct pprof {
	int err; /* first failure, reported by pprof_write */
	int nvalues;

	/* Strings: the table written as string_table; index 0 is "". */
	const char **str;
	size_t nstr, str_cap;
	struct htab str_h;
	struct arena_chunk *arena;

	uint32_t *type, *unit; /* nvalues sample types */
	uint32_t period_type, period_unit;
	int64_t period, time_nanos, duration_nanos;
	uint32_t default_type;
	uint32_t *comments;
	size_t ncomments, comments_cap;

	struct pfunc *fn;
	size_t nfn, fn_cap;
	struct htab fn_h;

	struct pmap *map;
	size_t nmap, map_cap;
	struct htab map_h;

	struct ploc *loc;
	size_t nloc, loc_cap;
	struct htab loc_h;
	struct pline *lines;
	size_t nlines, lines_cap;

	struct psample *smp;
	size_t nsmp, smp_cap;
	struct htab smp_h;
	uint32_t *slocs; /* location ids of all samples */
	size_t nslocs, slocs_cap;
	struct plabel *slabels;
	size_t nslabels, slabels_cap;
	int64_t *values; /* nvalues per sample */
};

/* Grows *ptr (of *cap elements) to hold need elements, doubling. */
int pprof_grow(void **ptr, size_t *cap, size_t need, size_t elsz);
#define PPROF_GROW(ptr, cap, need) pprof_grow((void **)&(ptr), &(cap), (need), sizeof(*(ptr)))

/* The value index pprof shows by default: default_sample_type, else the
 * last type. */
int pprof_default_index(const struct pprof *p);

#endif
