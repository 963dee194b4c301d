/* Parsing and validation of one generation payload: its sections, tables
 * and batches. A generation is all-or-nothing: every event is decoded and
 * checked here once, so iteration (merge.c) can decode without checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrace.h"
#include "internal.h"

/* ---- section readers ---------------------------------------------------- */

/* A cursor over one section body; every read is bounds-checked and the
 * first failure is reported with its position. */
struct rd {
	struct gen *g;
	const uint8_t *p, *end;
	const char *what; /* section name for messages */
};

static int rd_uv(struct rd *d, uint64_t *v, const char *field)
{
	const uint8_t *at = d->p;
	if (ct_get_uvarint(&d->p, d->end, v))
		return rdr_gen_fail(d->g, at, "%s section: bad or truncated varint (%s)", d->what,
				    field);
	return 0;
}

static int rd_u32(struct rd *d, uint32_t *v, const char *field)
{
	uint64_t x;
	const uint8_t *at = d->p;
	int rc = rd_uv(d, &x, field);
	if (rc)
		return rc;
	if (x > UINT32_MAX)
		return rdr_gen_fail(d->g, at, "%s section: %s %llu out of range", d->what, field,
				    (unsigned long long)x);
	*v = (uint32_t)x;
	return 0;
}

/* A count of entries, each taking at least `min` bytes: bounding it by the
 * bytes left keeps a corrupt count from driving an allocation. */
static int rd_count(struct rd *d, uint64_t *n, size_t min)
{
	const uint8_t *at = d->p;
	int rc = rd_uv(d, n, "count");
	if (rc)
		return rc;
	if (*n > (uint64_t)(d->end - d->p) / min)
		return rdr_gen_fail(d->g, at, "%s section: count %llu does not fit in %td bytes",
				    d->what, (unsigned long long)*n, d->end - d->p);
	return 0;
}

/* Copies a str into the arena, NUL-terminated. */
static int rd_str(struct rd *d, const char **out, const char *field)
{
	uint64_t n;
	const uint8_t *at = d->p;
	int rc = rd_uv(d, &n, field);
	if (rc)
		return rc;
	if (n > (uint64_t)(d->end - d->p))
		return rdr_gen_fail(d->g, at, "%s section: %s of %llu bytes runs past the section",
				    d->what, field, (unsigned long long)n);
	struct gen *g = d->g;
	char *s = g->arena + g->arena_len; /* reserved by rdr_gen_load */
	memcpy(s, d->p, n);
	s[n] = 0;
	g->arena_len += n + 1;
	d->p += n;
	*out = s;
	return 0;
}

static int rd_done(struct rd *d)
{
	if (d->p != d->end)
		return rdr_gen_fail(d->g, d->p, "%s section: %td byte%s left over", d->what,
				    d->end - d->p, d->end - d->p == 1 ? "" : "s");
	return 0;
}

static int nomem(struct gen *g)
{
	g->e.err = -ENOMEM;
	snprintf(g->e.msg, sizeof(g->e.msg), "out of memory loading generation %u", g->nbefore + 1);
	return -ENOMEM;
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		int rc_ = (x);                                                                     \
		if (rc_)                                                                           \
			return rc_;                                                                \
	} while (0)

static int finish_map(struct gen *g, struct idmap *m, const uint8_t *at, const char *what)
{
	uint64_t dup;
	int rc = rdr_idmap_finish(m, &dup);
	if (rc < 0)
		return nomem(g);
	if (rc > 0)
		return rdr_gen_fail(g, at, "%s id %llu listed twice", what,
				    (unsigned long long)dup);
	return 0;
}

static int build_sid(struct gen *g)
{
	const struct idmap *m = &g->string_map;
	g->nsid = 0;
	if (m->sparse)
		return 0;
	uint64_t n = m->dense_n ? m->dense_n : 1;
	if (VEC_RESERVE(g->sid, g->sid_cap, n))
		return nomem(g);
	g->sid[0] = NULL;
	for (uint64_t id = 1; id < m->dense_n; id++)
		g->sid[id] = m->dense[id] ? g->strs[m->dense[id] - 1] : NULL;
	g->nsid = n;
	return 0;
}

static int parse_clock(struct gen *g, const struct section *s)
{
	struct rd d = {g, s->p, s->end, "clock"};
	uint64_t kind, tps, ref_ticks, ref_mono, ref_real, min_t, max_t;
	TRY(rd_uv(&d, &kind, "clock kind"));
	const uint8_t *at = d.p;
	TRY(rd_uv(&d, &tps, "ticks per second"));
	if (tps == 0)
		return rdr_gen_fail(g, at, "clock section: ticks per second is 0");
	TRY(rd_uv(&d, &ref_ticks, "reference ticks"));
	TRY(rd_uv(&d, &ref_mono, "reference monotonic time"));
	TRY(rd_uv(&d, &ref_real, "reference real time"));
	TRY(rd_uv(&d, &min_t, "first timestamp"));
	TRY(rd_uv(&d, &max_t, "last timestamp"));
	TRY(rd_done(&d));
	if (kind > UINT32_MAX)
		return rdr_gen_fail(g, s->p, "clock section: clock kind %llu out of range",
				    (unsigned long long)kind);
	rdr_clock_init(&g->clk, tps, ref_ticks, ref_mono);
	g->info.clock_kind = (uint32_t)kind;
	g->info.ticks_per_sec = tps;
	g->info.realtime_offset_ns = (int64_t)(ref_real - ref_mono);
	return 0;
}

static int parse_threads(struct gen *g, const struct section *s)
{
	struct rd d = {g, s->p, s->end, "threads"};
	uint64_t n;
	TRY(rd_count(&d, &n, 4));
	if (VEC_RESERVE(g->threads, g->threads_cap, g->nthreads + n))
		return nomem(g);
	for (uint64_t i = 0; i < n; i++) {
		struct ct_thread_info *t = &g->threads[g->nthreads];
		uint64_t flags;
		const uint8_t *at = d.p;
		TRY(rd_u32(&d, &t->index, "thread index"));
		if (t->index == 0)
			return rdr_gen_fail(g, at, "threads section: thread index 0");
		TRY(rd_u32(&d, &t->tid, "tid"));
		TRY(rd_str(&d, &t->name, "thread name"));
		TRY(rd_uv(&d, &flags, "thread flags"));
		t->exited = flags & 1;
		if (rdr_idmap_add(&g->thread_map, t->index, g->nthreads))
			return nomem(g);
		g->nthreads++;
	}
	return rd_done(&d);
}

static int parse_strings(struct gen *g, const struct section *s)
{
	struct rd d = {g, s->p, s->end, "strings"};
	uint64_t n;
	TRY(rd_count(&d, &n, 2));
	if (VEC_RESERVE(g->strs, g->strs_cap, g->nstrs + n))
		return nomem(g);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t id;
		const uint8_t *at = d.p;
		TRY(rd_uv(&d, &id, "string id"));
		if (id == 0 || id > UINT32_MAX)
			return rdr_gen_fail(g, at, "strings section: string id %llu out of range",
					    (unsigned long long)id);
		TRY(rd_str(&d, &g->strs[g->nstrs], "string"));
		if (rdr_idmap_add(&g->string_map, id, g->nstrs))
			return nomem(g);
		g->nstrs++;
	}
	return rd_done(&d);
}

static int parse_mappings(struct gen *g, const struct section *s)
{
	struct rd d = {g, s->p, s->end, "mappings"};
	uint64_t n;
	TRY(rd_count(&d, &n, 5));
	if (VEC_RESERVE(g->maps, g->maps_cap, g->nmaps + n))
		return nomem(g);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t start, end, off;
		const char *build_id;
		TRY(rd_uv(&d, &start, "start"));
		TRY(rd_uv(&d, &end, "end"));
		TRY(rd_uv(&d, &off, "file offset"));
		TRY(rd_str(&d, &g->maps[g->nmaps], "path"));
		TRY(rd_str(&d, &build_id, "build id"));
		g->nmaps++;
	}
	return rd_done(&d);
}

/* A string reference of a table entry: 0 is "unknown" and reads as "". */
static int table_str(struct rd *d, const char **out, const char *field)
{
	uint64_t id;
	const uint8_t *at = d->p;
	TRY(rd_uv(d, &id, field));
	if (id == 0) {
		*out = "";
		return 0;
	}
	uint32_t slot = idmap_get(&d->g->string_map, id);
	if (!slot)
		return rdr_gen_fail(d->g, at,
				    "%s section: %s references string id %llu not in the "
				    "generation",
				    d->what, field, (unsigned long long)id);
	*out = d->g->strs[slot - 1];
	return 0;
}

static int parse_locations(struct gen *g, const struct section *s)
{
	struct rd d = {g, s->p, s->end, "locations"};
	uint64_t n;
	TRY(rd_count(&d, &n, 3));
	if (VEC_RESERVE(g->locs, g->locs_cap, g->nlocs + n))
		return nomem(g);
	for (uint64_t i = 0; i < n; i++) {
		struct location *l = &g->locs[g->nlocs];
		uint64_t mapping, nframes;
		TRY(rd_uv(&d, &l->pc, "pc"));
		const uint8_t *at = d.p;
		TRY(rd_uv(&d, &mapping, "mapping"));
		if (mapping > g->nmaps)
			return rdr_gen_fail(g, at,
					    "locations section: location %u references mapping "
					    "%llu, the generation has %u",
					    g->nlocs + 1, (unsigned long long)mapping, g->nmaps);
		l->module = mapping ? g->maps[mapping - 1] : "";
		at = d.p;
		TRY(rd_uv(&d, &nframes, "frame count"));
		if (nframes > (uint64_t)(d.end - d.p) / 3)
			return rdr_gen_fail(g, at,
					    "locations section: %llu frames do not fit in the "
					    "section",
					    (unsigned long long)nframes);
		if (VEC_RESERVE(g->lframes, g->lframes_cap, g->nlframes + nframes))
			return nomem(g);
		l->nframes = (uint32_t)nframes;
		l->frame0 = g->nlframes;
		for (uint64_t k = 0; k < nframes; k++) {
			struct locframe *f = &g->lframes[g->nlframes++];
			TRY(table_str(&d, &f->function, "function"));
			TRY(table_str(&d, &f->file, "file"));
			TRY(rd_u32(&d, &f->line, "line"));
		}
		g->nlocs++;
	}
	return rd_done(&d);
}

/* First pass over the stacks: ids and location references. Frames are
 * expanded afterwards, once their total is known and bounded. */
static int parse_stacks(struct gen *g, const struct section *s, uint64_t *total)
{
	struct rd d = {g, s->p, s->end, "stacks"};
	uint64_t n;
	TRY(rd_count(&d, &n, 2));
	if (VEC_RESERVE(g->stacks, g->stacks_cap, g->nstacks + n))
		return nomem(g);
	for (uint64_t i = 0; i < n; i++) {
		struct ct_stack *st = &g->stacks[g->nstacks];
		uint64_t id, depth;
		const uint8_t *at = d.p;
		TRY(rd_uv(&d, &id, "stack id"));
		if (id == 0 || id > UINT32_MAX)
			return rdr_gen_fail(g, at, "stacks section: stack id %llu out of range",
					    (unsigned long long)id);
		at = d.p;
		TRY(rd_uv(&d, &depth, "depth"));
		if (depth > (uint64_t)(d.end - d.p))
			return rdr_gen_fail(g, at,
					    "stacks section: depth %llu does not fit in the "
					    "section",
					    (unsigned long long)depth);
		if (VEC_RESERVE(g->refs, g->refs_cap, g->nrefs + depth))
			return nomem(g);
		/* Until expansion, frames holds the index of the first ref. */
		st->id = (uint32_t)id;
		st->nframes = (uint32_t)depth;
		st->frames = (const struct ct_frame *)(uintptr_t)g->nrefs;
		for (uint64_t k = 0; k < depth; k++) {
			uint64_t loc;
			at = d.p;
			TRY(rd_uv(&d, &loc, "location"));
			if (loc == 0 || loc > g->nlocs)
				return rdr_gen_fail(g, at,
						    "stacks section: stack %llu references "
						    "location %llu, the generation has %u",
						    (unsigned long long)id, (unsigned long long)loc,
						    g->nlocs);
			g->refs[g->nrefs++] = (uint32_t)loc - 1;
			uint32_t nf = g->locs[loc - 1].nframes;
			*total += nf ? nf : 1;
		}
		if (rdr_idmap_add(&g->stack_map, id, g->nstacks))
			return nomem(g);
		g->nstacks++;
	}
	return rd_done(&d);
}

static int expand_stacks(struct gen *g, uint64_t total, const uint8_t *at)
{
	if (total > FRAMES_MAX)
		return rdr_gen_fail(g, at, "stacks expand to %llu frames, more than %u",
				    (unsigned long long)total, FRAMES_MAX);
	if (VEC_RESERVE(g->frames, g->frames_cap, total ? total : 1))
		return nomem(g);
	struct ct_frame *f = g->frames;
	for (uint32_t i = 0; i < g->nstacks; i++) {
		struct ct_stack *st = &g->stacks[i];
		/* refs stays NULL when every stack is empty. */
		const uint32_t *ref = st->nframes ? g->refs + (uintptr_t)st->frames : NULL;
		struct ct_frame *first = f;
		for (uint32_t k = 0; k < st->nframes; k++) {
			const struct location *l = &g->locs[ref[k]];
			if (l->nframes == 0) {
				*f++ = (struct ct_frame){l->pc, "", "", 0, 0, l->module};
				continue;
			}
			for (uint32_t j = 0; j < l->nframes; j++) {
				const struct locframe *lf = &g->lframes[l->frame0 + j];
				*f++ = (struct ct_frame){l->pc,	   lf->function,       lf->file,
							 lf->line, j + 1 < l->nframes, l->module};
			}
		}
		st->frames = first;
		st->nframes = (uint32_t)(f - first);
	}
	return 0;
}

static int parse_loss(struct gen *g, const struct section *s)
{
	struct rd d = {g, s->p, s->end, "loss"};
	uint64_t n;
	TRY(rd_count(&d, &n, 5));
	if (VEC_RESERVE(g->loss, g->loss_cap, g->nloss + n))
		return nomem(g);
	for (uint64_t i = 0; i < n; i++) {
		struct ct_loss *l = &g->loss[g->nloss];
		uint64_t thread, first, last;
		const uint8_t *at = d.p;
		TRY(rd_uv(&d, &thread, "thread"));
		l->thread = NULL;
		if (thread) {
			uint32_t slot = idmap_get(&g->thread_map, thread);
			if (!slot)
				return rdr_gen_fail(
					g, at, "loss section: thread %llu not in the generation",
					(unsigned long long)thread);
			l->thread = &g->threads[slot - 1];
		}
		TRY(rd_uv(&d, &l->count, "count"));
		TRY(rd_uv(&d, &first, "first timestamp"));
		TRY(rd_uv(&d, &last, "last timestamp"));
		TRY(rd_u32(&d, &l->reason, "reason"));
		l->first_ts = clock_ns(&g->clk, first);
		l->last_ts = clock_ns(&g->clk, last);
		g->nloss++;
	}
	return rd_done(&d);
}

static int parse_meta(struct gen *g, const struct section *s)
{
	struct rd d = {g, s->p, s->end, "meta"};
	uint64_t n;
	TRY(rd_count(&d, &n, 2));
	if (VEC_RESERVE(g->meta, g->meta_cap, g->nmeta + 2 * n))
		return nomem(g);
	for (uint64_t i = 0; i < 2 * n; i++)
		TRY(rd_str(&d, &g->meta[g->nmeta++], i & 1 ? "value" : "key"));
	return rd_done(&d);
}

/* ---- batches ------------------------------------------------------------ */

/* Inside a batch, at least this many bytes before the end mean a whole
 * event without its byte string fits: varints are then read without end
 * checks (the "safe zone"), which is most of the validation cost saved. */
#define SAFE CT_EVENT_MAX_FIXED

/* A varint with at least 10 readable bytes at p; NULL when malformed. */
static inline const uint8_t *vfast(const uint8_t *p, uint64_t *v)
{
	uint64_t b = p[0];
	if (__builtin_expect(b < 0x80, 1)) {
		*v = b;
		return p + 1;
	}
	uint64_t x = b & 0x7f;
	b = p[1];
	if (b < 0x80) {
		*v = x | b << 7;
		return p + 2;
	}
	x |= (b & 0x7f) << 7;
	for (unsigned i = 2; i < CT_VARINT_MAX; i++) {
		b = p[i];
		x |= (b & 0x7f) << (7 * i);
		if (b < 0x80) {
			if (i == CT_VARINT_MAX - 1 && b > 1)
				return NULL;
			*v = x;
			return p + i + 1;
		}
	}
	return NULL;
}

#define GETV(v) (safe ? (p = vfast(p, &(v))) != NULL : ct_get_uvarint(&p, end, &(v)) == 0)

static __attribute__((noinline, cold)) int bad_type(struct gen *g, const uint8_t *at,
						    uint32_t thread, uint64_t n)
{
	unsigned type = at[0] & CT_TYPE_MASK;
	if (g->desc[type].flags & DESC_VALID)
		return rdr_gen_fail(g, at,
				    "batch of thread %u: event %llu of type %u has a stack but "
				    "its kind cannot carry one",
				    thread, (unsigned long long)n, type);
	return rdr_gen_fail(g, at,
			    "batch of thread %u: event %llu has type %u, not in the spec table",
			    thread, (unsigned long long)n, type);
}

static __attribute__((noinline, cold)) int bad_ref(struct gen *g, const uint8_t *at,
						   uint32_t thread, unsigned kind, uint64_t v)
{
	return rdr_gen_fail(g, at, "batch of thread %u references %s %llu not in the generation",
			    thread,
			    kind == CT_ARG_STRING   ? "string id"
			    : kind == CT_ARG_THREAD ? "thread index"
						    : "stack id",
			    (unsigned long long)v);
}

/* Checks one event at *pp and advances past it; *t accumulates its
 * timestamp. `safe` is a constant: the compiler makes two copies. */
static inline __attribute__((always_inline)) int check_event(struct gen *g, const uint8_t **pp,
							     const uint8_t *end, uint64_t *t,
							     uint32_t thread, uint64_t n,
							     const int safe)
{
	const uint8_t *p = *pp, *at = p;
	const struct evdesc *d = &g->desc[*p++];
	uint64_t v;
	if (__builtin_expect(!(d->flags & DESC_VALID), 0))
		return bad_type(g, at, thread, n);
	if (!GETV(v))
		goto bad_varint;
	if (__builtin_add_overflow(*t, v, t))
		return rdr_gen_fail(g, at, "batch of thread %u: event %llu timestamp overflows",
				    thread, (unsigned long long)n);
	unsigned argc = d->argc;
	if (__builtin_expect(d->check == 0, 1)) {
		for (unsigned i = 0; i < argc; i++)
			if (!GETV(v))
				goto bad_varint;
	} else {
		for (unsigned i = 0; i < argc; i++) {
			if (!GETV(v))
				goto bad_varint;
			if (!(d->check & (1u << i)) || v == 0)
				continue;
			unsigned kind = d->kinds[i];
			const struct idmap *m = kind == CT_ARG_STRING	? &g->string_map
						: kind == CT_ARG_THREAD ? &g->thread_map
									: &g->stack_map;
			if (!idmap_get(m, v))
				return bad_ref(g, at, thread, kind, v);
		}
	}
	if (__builtin_expect(d->flags & (DESC_STACK | DESC_BYTES), 0)) {
		if (d->flags & DESC_STACK) {
			if (!GETV(v))
				goto bad_varint;
			if (v && !idmap_get(&g->stack_map, v))
				return bad_ref(g, at, thread, CT_ARG_STACK, v);
		}
		if (d->flags & DESC_BYTES) {
			if (!GETV(v) || v > (uint64_t)(end - p))
				return rdr_gen_fail(g, at,
						    "batch of thread %u: byte string of event %llu "
						    "runs past the batch",
						    thread, (unsigned long long)n);
			p += v;
		}
	}
	*pp = p;
	return 0;
bad_varint:
	return rdr_gen_fail(g, at, "batch of thread %u: event %llu is cut or has a bad varint",
			    thread, (unsigned long long)n);
}

/* Event kinds with no stack, no byte string, and no references but string
 * ids, checked with the generation's dense string table: the bulk of a
 * trace (regions, tasks). fast[type] is 1 + argc for those, 0 for the rest
 * and for every kind when string ids are sparse. */
static void fast_kinds(const struct gen *g, uint8_t fast[256])
{
	memset(fast, 0, 256);
	if (!g->nsid)
		return;
	for (unsigned ty = 0; ty < 256; ty++) {
		const struct evdesc *d = &g->desc[ty];
		if ((d->flags & DESC_VALID) && !(d->flags & (DESC_STACK | DESC_BYTES)) &&
		    (d->check & ~d->strs) == 0 && d->argc <= 3)
			fast[ty] = (uint8_t)(1 + d->argc);
	}
}

/* check_event for a fast kind with `argc` a constant, in the safe zone.
 * Returns 0 when the event is bad in any way; the caller then runs
 * check_event on it for the message. */
static inline __attribute__((always_inline)) int check_fast(const struct gen *g, const uint8_t **pp,
							    uint64_t *t, const unsigned argc)
{
	const uint8_t *p = *pp + 1;
	const struct evdesc *d = &g->desc[**pp];
	uint64_t v;
	if (!(p = vfast(p, &v)) || __builtin_add_overflow(*t, v, t))
		return 0;
	for (unsigned i = 0; i < argc; i++) {
		if (!(p = vfast(p, &v)))
			return 0;
		if ((d->strs >> i & 1) && v && (v >= g->nsid || !g->sid[v]))
			return 0;
	}
	*pp = p;
	return 1;
}

/* Decodes and checks every event of one batch: the validation hot loop. */
static int check_batch(struct gen *g, const struct batch *b, uint32_t thread, uint64_t *last,
		       const uint8_t fast[256])
{
	const uint8_t *p = b->p, *end = b->end;
	uint64_t t = b->base, n = 0;
	int rc;
	while (end - p >= SAFE) {
		const uint8_t *at = p;
		uint64_t t0 = t;
		int ok;
		switch (fast[*p]) {
		case 1:
			ok = check_fast(g, &p, &t, 0);
			break;
		case 2:
			ok = check_fast(g, &p, &t, 1);
			break;
		case 3:
			ok = check_fast(g, &p, &t, 2);
			break;
		case 4:
			ok = check_fast(g, &p, &t, 3);
			break;
		default:
			ok = 0;
			break;
		}
		if (__builtin_expect(!ok, 0)) {
			p = at;
			t = t0;
			if ((rc = check_event(g, &p, end, &t, thread, n, 1)))
				return rc;
		}
		n++;
	}
	while (p < end) {
		if ((rc = check_event(g, &p, end, &t, thread, n, 0)))
			return rc;
		n++;
	}
	if (n != b->nevents)
		return rdr_gen_fail(g, b->p,
				    "batch of thread %u: header says %llu events, found %llu",
				    thread, (unsigned long long)b->nevents, (unsigned long long)n);
	*last = t;
	return 0;
}

static int parse_batch(struct gen *g, const struct section *s, const uint8_t fast[256])
{
	struct rd d = {g, s->p, s->end, "batch"};
	uint64_t thread, base, nevents;
	const uint8_t *at = d.p;
	TRY(rd_uv(&d, &thread, "thread"));
	uint32_t slot = idmap_get(&g->thread_map, thread);
	if (!slot)
		return rdr_gen_fail(g, at, "batch of thread %llu: thread not in the generation",
				    (unsigned long long)thread);
	slot--;
	TRY(rd_uv(&d, &base, "base timestamp"));
	TRY(rd_uv(&d, &nevents, "event count"));
	if (VEC_RESERVE(g->batches, g->batches_cap, g->nbatches + 1))
		return nomem(g);
	uint32_t bi = g->nbatches++;
	struct batch *b = &g->batches[bi];
	*b = (struct batch){d.p, d.end, base, nevents, NONE};
	struct tstate *ts = &g->ts[slot];
	uint64_t last = 0;
	TRY(check_batch(g, b, (uint32_t)thread, &last, fast));
	if (nevents == 0)
		return 0;
	/* Timestamps never decrease within a thread, across batches too. */
	const uint8_t *q = b->p + 1;
	uint64_t delta = 0, first;
	ct_get_uvarint(&q, b->end, &delta);
	first = base + delta;
	if (ts->nevents && first < ts->last_t)
		return rdr_gen_fail(g, b->p,
				    "batch of thread %llu: timestamp %llu goes back before "
				    "%llu of its previous batch",
				    (unsigned long long)thread, (unsigned long long)first,
				    (unsigned long long)ts->last_t);
	if (!ts->nevents)
		ts->first_t = first;
	ts->last_t = last;
	ts->nevents += nevents;
	if (ts->first_batch == NONE)
		ts->first_batch = bi;
	else
		g->batches[ts->last_batch].next = bi;
	ts->last_batch = bi;
	return 0;
}

/* ---- the generation ----------------------------------------------------- */

static void gen_reset(struct gen *g)
{
	g->nsecs = 0;
	g->arena_len = 0;
	g->nthreads = g->nstrs = g->nmaps = g->nlocs = g->nlframes = 0;
	g->nrefs = 0;
	g->nstacks = g->nloss = g->nmeta = g->nbatches = 0;
	rdr_idmap_clear(&g->thread_map);
	rdr_idmap_clear(&g->string_map);
	rdr_idmap_clear(&g->stack_map);
	memset(&g->info, 0, sizeof(g->info));
	g->loaded = 0;
	g->fast = 0;
}

void rdr_gen_free(struct gen *g)
{
	free(g->secs);
	free(g->arena);
	free(g->threads);
	rdr_idmap_free(&g->thread_map);
	rdr_idmap_free(&g->string_map);
	rdr_idmap_free(&g->stack_map);
	free(g->strs);
	free(g->sid);
	free(g->maps);
	free(g->locs);
	free(g->lframes);
	free(g->refs);
	free(g->stacks);
	free(g->frames);
	free(g->loss);
	free(g->meta);
	free(g->batches);
	free(g->ts);
	free(g->cur);
	free(g->key);
	free(g->tree);
}

int rdr_gen_load(struct gen *g, const uint8_t *payload, size_t len)
{
	gen_reset(g);
	g->payload = payload;

	/* Pass 1: the list of sections, so tables can be read before the
	 * batches that use them, whatever order the writer chose. */
	const uint8_t *p = payload, *end = payload + len;
	size_t strbytes = 0;
	int nclock = 0;
	while (p < end) {
		const uint8_t *at = p;
		uint8_t kind = *p++;
		uint64_t slen;
		if (ct_get_uvarint(&p, end, &slen))
			return rdr_gen_fail(g, at, "section of kind %u: bad length varint", kind);
		if (slen > (uint64_t)(end - p))
			return rdr_gen_fail(g, at,
					    "section of kind %u: length %llu runs past the "
					    "payload (%td bytes left)",
					    kind, (unsigned long long)slen, end - p);
		if (kind >= CT_SEC_CLOCK && kind <= CT_SEC_META) {
			if (VEC_RESERVE(g->secs, g->secs_cap, g->nsecs + 1))
				return nomem(g);
			g->secs[g->nsecs] = (struct section){kind, p, p + slen};
			if (kind == CT_SEC_CLOCK) {
				if (nclock++)
					return rdr_gen_fail(g, at, "second clock section");
			}
			g->nsecs++;
			/* Strings and entries both cost at least a byte each. */
			if (kind == CT_SEC_THREADS || kind == CT_SEC_STRINGS ||
			    kind == CT_SEC_MAPPINGS || kind == CT_SEC_META)
				strbytes += 2 * slen;
		}
		p += slen;
	}
	if (!nclock)
		return rdr_gen_fail(g, payload, "no clock section");
	if (VEC_RESERVE(g->arena, g->arena_cap, strbytes + 1))
		return nomem(g);

	/* Pass 2: tables in dependency order. */
	static const uint8_t order[] = {CT_SEC_CLOCK,	 CT_SEC_THREADS,   CT_SEC_STRINGS,
					CT_SEC_MAPPINGS, CT_SEC_LOCATIONS, CT_SEC_STACKS,
					CT_SEC_LOSS,	 CT_SEC_META};
	uint64_t total_frames = 0;
	const uint8_t *stacks_at = payload;
	for (size_t o = 0; o < sizeof(order); o++) {
		uint8_t kind = order[o];
		for (size_t i = 0; i < g->nsecs; i++) {
			const struct section *s = &g->secs[i];
			if (s->kind != kind)
				continue;
			switch (kind) {
			case CT_SEC_CLOCK:
				TRY(parse_clock(g, s));
				break;
			case CT_SEC_THREADS:
				TRY(parse_threads(g, s));
				break;
			case CT_SEC_STRINGS:
				TRY(parse_strings(g, s));
				break;
			case CT_SEC_MAPPINGS:
				TRY(parse_mappings(g, s));
				break;
			case CT_SEC_LOCATIONS:
				TRY(parse_locations(g, s));
				break;
			case CT_SEC_STACKS:
				stacks_at = s->p;
				TRY(parse_stacks(g, s, &total_frames));
				break;
			case CT_SEC_LOSS:
				TRY(parse_loss(g, s));
				break;
			case CT_SEC_META:
				TRY(parse_meta(g, s));
				break;
			}
		}
		const uint8_t *at = payload;
		for (size_t i = 0; i < g->nsecs; i++)
			if (g->secs[i].kind == kind) {
				at = g->secs[i].p;
				break;
			}
		if (kind == CT_SEC_THREADS)
			TRY(finish_map(g, &g->thread_map, at, "thread index"));
		else if (kind == CT_SEC_STRINGS) {
			TRY(finish_map(g, &g->string_map, at, "string"));
			TRY(build_sid(g));
		} else if (kind == CT_SEC_STACKS)
			TRY(finish_map(g, &g->stack_map, at, "stack"));
	}
	TRY(expand_stacks(g, total_frames, stacks_at));

	/* Pass 3: every batch, in file order. */
	if (VEC_RESERVE(g->ts, g->ts_cap, g->nthreads ? g->nthreads : 1))
		return nomem(g);
	for (uint32_t i = 0; i < g->nthreads; i++)
		g->ts[i] = (struct tstate){NONE, NONE, 0, 0, 0};
	uint8_t fast[256];
	fast_kinds(g, fast);
	for (size_t i = 0; i < g->nsecs; i++)
		if (g->secs[i].kind == CT_SEC_BATCH)
			TRY(parse_batch(g, &g->secs[i], fast));

	struct ct_generation *gi = &g->info;
	uint64_t min_t = UINT64_MAX, max_t = 0;
	for (uint32_t i = 0; i < g->nthreads; i++) {
		const struct tstate *ts = &g->ts[i];
		if (!ts->nevents)
			continue;
		gi->nevents += ts->nevents;
		if (ts->first_t < min_t)
			min_t = ts->first_t;
		if (ts->last_t > max_t)
			max_t = ts->last_t;
	}
	if (gi->nevents) {
		rdr_clock_specialize(&g->clk, min_t, max_t);
		gi->min_ts = clock_ns(&g->clk, min_t);
		gi->max_ts = clock_ns(&g->clk, max_t);
	}
	gi->nthreads = g->nthreads;
	gi->threads = g->threads;
	gi->nloss = g->nloss;
	gi->loss = g->loss;
	gi->nmeta = g->nmeta;
	gi->meta = g->meta;
	return 0;
}
