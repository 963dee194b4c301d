/* Test trace builder: produces trace bytes per docs/FORMAT.md without the
 * recorder, so reader and analysis tests can describe exactly the trace
 * they need (including broken ones). Header-only; aborts on OOM.
 *
 *   struct tb b;
 *   tb_init(&b);                         // our spec table, a little metadata
 *   tb_gen_begin(&b, 1);                 // generation with sequence number 1
 *   tb_thread(&b, 1, 4242, "main", 0);   // index, tid, name, flags
 *   tb_string(&b, 1, "handler");         // id, value
 *   tb_batch_begin(&b, 1, 1000);         // thread index, base ticks
 *   TB_EV(&b, CT_EV_REGION_BEGIN, 10, 1);// type, delta ticks, args...
 *   TB_EV0(&b, CT_EV_REGION_END, 5);     // an event without arguments
 *   tb_batch_end(&b);
 *   tb_gen_end(&b, 0);                   // 1 = zstd-compress the payload
 *   tb_end(&b, 2, 0, 1);                 // end frame: events, lost, generations
 *   use b.out.p, b.out.len; tb_free(&b);
 *
 * The clock defaults to CLOCK_MONOTONIC ticks (1e9/s) with ref_ticks =
 * ref_mono = 0, so ticks read back as the same nanoseconds; tb_clock()
 * replaces it. Tables (threads, strings, mappings, locations, stacks, loss,
 * meta) are written at tb_gen_end, before the batches unless
 * b.tables_last is set. Nothing is validated: tests may build bad traces.
 * tb_add_spec() adds event kinds a "newer writer" knows, tb_raw_section()
 * adds arbitrary sections, b.force_nevents overrides a batch's count. */
#ifndef CT_TESTS_TRACEBUILDER_H
#define CT_TESTS_TRACEBUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "format/spec.h"

struct tb_buf {
	uint8_t *p;
	size_t len, cap;
};

static inline void tb_need(struct tb_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t nc = b->cap ? b->cap : 256;
	while (nc < b->len + n)
		nc *= 2;
	b->p = realloc(b->p, nc);
	if (!b->p)
		abort();
	b->cap = nc;
}
static inline void tb_bytes(struct tb_buf *b, const void *p, size_t n)
{
	tb_need(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}
static inline void tb_u8(struct tb_buf *b, uint8_t v)
{
	tb_bytes(b, &v, 1);
}
static inline void tb_uv(struct tb_buf *b, uint64_t v)
{
	tb_need(b, CT_VARINT_MAX);
	b->len = (size_t)(ct_put_uvarint(b->p + b->len, v) - b->p);
}
static inline void tb_str(struct tb_buf *b, const void *s, size_t n)
{
	tb_uv(b, n);
	tb_bytes(b, s, n);
}
static inline void tb_cstr(struct tb_buf *b, const char *s)
{
	tb_str(b, s, strlen(s));
}
static inline void tb_u32le(struct tb_buf *b, uint32_t v)
{
	tb_need(b, 4);
	ct_put_u32le(b->p + b->len, v);
	b->len += 4;
}
static inline void tb_section(struct tb_buf *out, uint8_t kind, const void *body, size_t n)
{
	tb_u8(out, kind);
	tb_uv(out, n);
	tb_bytes(out, body, n);
}

/* A table: a count and its entries. */
struct tb_table {
	struct tb_buf e;
	uint64_t n;
};

struct tb_frame {
	uint64_t function, file, line; /* string ids */
};

struct tb {
	struct tb_buf out; /* the trace so far */

	/* Header, written by the first tb_gen_begin (or tb_header). */
	int header_done;
	uint16_t major, minor;
	struct tb_buf spec;
	uint64_t nspec;
	struct tb_buf meta;
	uint64_t nmeta;

	/* The generation being built. */
	uint64_t seq;
	int no_clock;	   /* leave the clock section out */
	int tables_last;   /* write tables after the batches */
	uint64_t clock[7]; /* kind, tps, ref_ticks, ref_mono, ref_real, min, max */
	struct tb_table threads, strings, locations, stacks, mappings, loss, gmeta;
	struct tb_buf batches, extra;

	/* The batch being built. */
	struct tb_buf ev;
	uint64_t batch_thread, batch_base, batch_n;
	int64_t force_nevents; /* >= 0: write this count instead of the real one */
};

/* Appends one spec entry (type, argc, flags, name, arg kinds). */
static inline void tb_add_spec(struct tb *b, uint8_t type, uint8_t argc, uint8_t flags,
			       const char *name, const uint8_t *kinds)
{
	tb_u8(&b->spec, type);
	tb_u8(&b->spec, argc);
	tb_u8(&b->spec, flags);
	tb_u8(&b->spec, (uint8_t)strlen(name));
	tb_bytes(&b->spec, name, strlen(name));
	tb_bytes(&b->spec, kinds, argc);
	b->nspec++;
}

static inline void tb_meta(struct tb *b, const char *key, const char *value)
{
	tb_cstr(&b->meta, key);
	tb_cstr(&b->meta, value);
	b->nmeta++;
}

/* A builder with no spec entries and no metadata. */
static inline void tb_init_empty(struct tb *b)
{
	memset(b, 0, sizeof(*b));
	b->major = CT_FORMAT_MAJOR;
	b->minor = CT_FORMAT_MINOR;
	b->force_nevents = -1;
	b->clock[0] = CT_CLOCK_MONOTONIC;
	b->clock[1] = 1000000000;
}

/* A builder with this library's spec table and a little metadata. */
static inline void tb_init(struct tb *b)
{
	tb_init_empty(b);
	for (unsigned t = 0; t < CT_EV_TYPE_COUNT; t++) {
		const struct ct_spec *s = &ct_spec_table[t];
		if (s->name)
			tb_add_spec(b, s->type, s->argc, s->flags, s->name, s->args);
	}
	tb_meta(b, "program", "/usr/bin/test");
	tb_meta(b, "clock", "monotonic");
}

static inline void tb_header(struct tb *b)
{
	if (b->header_done)
		return;
	b->header_done = 1;
	struct tb_buf body = {0};
	tb_uv(&body, b->nspec);
	tb_bytes(&body, b->spec.p, b->spec.len);
	tb_uv(&body, b->nmeta);
	tb_bytes(&body, b->meta.p, b->meta.len);
	size_t start = b->out.len;
	tb_bytes(&b->out, CT_FORMAT_MAGIC, CT_FORMAT_MAGIC_LEN);
	uint8_t v[4] = {(uint8_t)b->major, (uint8_t)(b->major >> 8), (uint8_t)b->minor,
			(uint8_t)(b->minor >> 8)};
	tb_bytes(&b->out, v, 4);
	tb_u32le(&b->out, (uint32_t)(16 + body.len + 4));
	tb_bytes(&b->out, body.p, body.len);
	tb_u32le(&b->out, (uint32_t)crc32(0, b->out.p + start, (uInt)(b->out.len - start)));
	free(body.p);
}

static inline void tb_table_reset(struct tb_table *t)
{
	t->e.len = 0;
	t->n = 0;
}

static inline void tb_gen_begin(struct tb *b, uint64_t seq)
{
	tb_header(b);
	b->seq = seq;
	struct tb_table *tabs[] = {&b->threads,	 &b->strings, &b->locations, &b->stacks,
				   &b->mappings, &b->loss,    &b->gmeta};
	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
		tb_table_reset(tabs[i]);
	b->batches.len = 0;
	b->extra.len = 0;
}

static inline void tb_clock(struct tb *b, uint64_t kind, uint64_t tps, uint64_t ref_ticks,
			    uint64_t ref_mono, uint64_t ref_real, uint64_t min_ticks,
			    uint64_t max_ticks)
{
	uint64_t c[7] = {kind, tps, ref_ticks, ref_mono, ref_real, min_ticks, max_ticks};
	memcpy(b->clock, c, sizeof(c));
}

static inline void tb_thread(struct tb *b, uint64_t index, uint64_t tid, const char *name,
			     uint64_t flags)
{
	tb_uv(&b->threads.e, index);
	tb_uv(&b->threads.e, tid);
	tb_cstr(&b->threads.e, name);
	tb_uv(&b->threads.e, flags);
	b->threads.n++;
}

static inline void tb_string(struct tb *b, uint64_t id, const char *value)
{
	tb_uv(&b->strings.e, id);
	tb_cstr(&b->strings.e, value);
	b->strings.n++;
}

/* Returns the mapping's 1-based index. */
static inline uint64_t tb_mapping(struct tb *b, uint64_t start, uint64_t end, uint64_t off,
				  const char *path, const void *build_id, size_t build_id_len)
{
	tb_uv(&b->mappings.e, start);
	tb_uv(&b->mappings.e, end);
	tb_uv(&b->mappings.e, off);
	tb_cstr(&b->mappings.e, path);
	tb_str(&b->mappings.e, build_id, build_id_len);
	return ++b->mappings.n;
}

/* Frames innermost first. Returns the location's 1-based index. */
static inline uint64_t tb_location(struct tb *b, uint64_t pc, uint64_t mapping, size_t nframes,
				   const struct tb_frame *frames)
{
	tb_uv(&b->locations.e, pc);
	tb_uv(&b->locations.e, mapping);
	tb_uv(&b->locations.e, nframes);
	for (size_t i = 0; i < nframes; i++) {
		tb_uv(&b->locations.e, frames[i].function);
		tb_uv(&b->locations.e, frames[i].file);
		tb_uv(&b->locations.e, frames[i].line);
	}
	return ++b->locations.n;
}

static inline void tb_stack(struct tb *b, uint64_t id, size_t depth, const uint64_t *locs)
{
	tb_uv(&b->stacks.e, id);
	tb_uv(&b->stacks.e, depth);
	for (size_t i = 0; i < depth; i++)
		tb_uv(&b->stacks.e, locs[i]);
	b->stacks.n++;
}

static inline void tb_loss(struct tb *b, uint64_t thread, uint64_t count, uint64_t first,
			   uint64_t last, uint64_t reason)
{
	uint64_t v[5] = {thread, count, first, last, reason};
	for (int i = 0; i < 5; i++)
		tb_uv(&b->loss.e, v[i]);
	b->loss.n++;
}

static inline void tb_gen_meta(struct tb *b, const char *key, const char *value)
{
	tb_cstr(&b->gmeta.e, key);
	tb_cstr(&b->gmeta.e, value);
	b->gmeta.n++;
}

/* A section of any kind with the given body, written after the tables. */
static inline void tb_raw_section(struct tb *b, uint8_t kind, const void *body, size_t n)
{
	tb_section(&b->extra, kind, body, n);
}

static inline void tb_batch_begin(struct tb *b, uint64_t thread, uint64_t base_ticks)
{
	b->ev.len = 0;
	b->batch_thread = thread;
	b->batch_base = base_ticks;
	b->batch_n = 0;
}

/* One event: type (bit 7 is added when stack != 0), delta ticks, args,
 * stack id, and the byte string when bytes != NULL. */
static inline void tb_event(struct tb *b, uint8_t type, uint64_t delta, const uint64_t *args,
			    size_t nargs, uint64_t stack, const void *bytes, size_t nbytes)
{
	tb_u8(&b->ev, (uint8_t)(type | (stack ? CT_TYPE_STACK_BIT : 0)));
	tb_uv(&b->ev, delta);
	for (size_t i = 0; i < nargs; i++)
		tb_uv(&b->ev, args[i]);
	if (stack)
		tb_uv(&b->ev, stack);
	if (bytes)
		tb_str(&b->ev, bytes, nbytes);
	b->batch_n++;
}

#define TB_ARGS(...)  ((const uint64_t[]){__VA_ARGS__})
#define TB_NARGS(...) (sizeof(TB_ARGS(__VA_ARGS__)) / sizeof(uint64_t))
#define TB_EV(b, type, delta, ...)                                                                 \
	tb_event((b), (type), (delta), TB_ARGS(__VA_ARGS__), TB_NARGS(__VA_ARGS__), 0, NULL, 0)
#define TB_EV0(b, type, delta) tb_event((b), (type), (delta), NULL, 0, 0, NULL, 0)
/* An event with a stack id. */
#define TB_EVS(b, type, delta, stack, ...)                                                         \
	tb_event((b), (type), (delta), TB_ARGS(__VA_ARGS__), TB_NARGS(__VA_ARGS__), (stack), NULL, \
		 0)
/* A log: category string id and message. */
#define TB_LOG(b, delta, category, msg)                                                            \
	tb_event((b), CT_EV_LOG, (delta), TB_ARGS(category), 1, 0, (msg), strlen(msg))

static inline void tb_batch_end(struct tb *b)
{
	struct tb_buf body = {0};
	tb_uv(&body, b->batch_thread);
	tb_uv(&body, b->batch_base);
	tb_uv(&body, b->force_nevents >= 0 ? (uint64_t)b->force_nevents : b->batch_n);
	tb_bytes(&body, b->ev.p, b->ev.len);
	tb_section(&b->batches, CT_SEC_BATCH, body.p, body.len);
	free(body.p);
	b->force_nevents = -1;
}

static inline void tb_table_write(struct tb_buf *out, uint8_t kind, const struct tb_table *t)
{
	if (!t->n)
		return;
	struct tb_buf body = {0};
	tb_uv(&body, t->n);
	tb_bytes(&body, t->e.p, t->e.len);
	tb_section(out, kind, body.p, body.len);
	free(body.p);
}

static inline void tb_tables(struct tb *b, struct tb_buf *pl)
{
	if (!b->no_clock) {
		struct tb_buf c = {0};
		for (int i = 0; i < 7; i++)
			tb_uv(&c, b->clock[i]);
		tb_section(pl, CT_SEC_CLOCK, c.p, c.len);
		free(c.p);
	}
	tb_table_write(pl, CT_SEC_THREADS, &b->threads);
	tb_table_write(pl, CT_SEC_STRINGS, &b->strings);
	tb_table_write(pl, CT_SEC_MAPPINGS, &b->mappings);
	tb_table_write(pl, CT_SEC_LOCATIONS, &b->locations);
	tb_table_write(pl, CT_SEC_STACKS, &b->stacks);
	tb_table_write(pl, CT_SEC_LOSS, &b->loss);
	tb_table_write(pl, CT_SEC_META, &b->gmeta);
	tb_bytes(pl, b->extra.p, b->extra.len);
}

static inline void tb_frame(struct tb *b, const char *magic, uint32_t flags, uint64_t seq,
			    const void *stored, size_t nstored, size_t raw)
{
	uint8_t h[CT_GEN_HEADER_SIZE];
	memcpy(h, magic, 4);
	ct_put_u32le(h + 4, flags);
	ct_put_u64le(h + 8, seq);
	ct_put_u32le(h + 16, (uint32_t)nstored);
	ct_put_u32le(h + 20, (uint32_t)raw);
	ct_put_u32le(h + 24, (uint32_t)crc32(0, stored, (uInt)nstored));
	ct_put_u32le(h + 28, (uint32_t)crc32(0, h, 28));
	tb_bytes(&b->out, h, sizeof(h));
	tb_bytes(&b->out, stored, nstored);
}

/* Writes the generation's frame; compress = 1 stores the payload as zstd. */
static inline void tb_gen_end(struct tb *b, int compress)
{
	struct tb_buf pl = {0};
	if (!b->tables_last)
		tb_tables(b, &pl);
	tb_bytes(&pl, b->batches.p, b->batches.len);
	if (b->tables_last)
		tb_tables(b, &pl);
	if (compress) {
		size_t cap = ZSTD_compressBound(pl.len);
		void *z = malloc(cap ? cap : 1);
		size_t n = ZSTD_compress(z, cap, pl.p, pl.len, 1);
		if (!z || ZSTD_isError(n))
			abort();
		tb_frame(b, CT_GEN_MAGIC, CT_GEN_FLAG_ZSTD, b->seq, z, n, pl.len);
		free(z);
	} else {
		tb_frame(b, CT_GEN_MAGIC, 0, b->seq, pl.p, pl.len, pl.len);
	}
	free(pl.p);
}

static inline void tb_end(struct tb *b, uint64_t events, uint64_t lost, uint64_t generations)
{
	tb_header(b);
	struct tb_buf pl = {0};
	tb_uv(&pl, events);
	tb_uv(&pl, lost);
	tb_uv(&pl, generations);
	tb_frame(b, "CTEN", 0, generations, pl.p, pl.len, pl.len);
	free(pl.p);
}

static inline void tb_free(struct tb *b)
{
	struct tb_buf *bufs[] = {&b->out,	&b->spec,	 &b->meta,     &b->threads.e,
				 &b->strings.e, &b->locations.e, &b->stacks.e, &b->mappings.e,
				 &b->loss.e,	&b->gmeta.e,	 &b->batches,  &b->extra,
				 &b->ev};
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		free(bufs[i]->p);
	memset(b, 0, sizeof(*b));
}

/* Writes the trace so far to a file; returns 0 or -1. */
static inline int tb_write_file(const struct tb *b, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t n = fwrite(b->out.p, 1, b->out.len, f);
	return fclose(f) == 0 && n == b->out.len ? 0 : -1;
}

#endif
