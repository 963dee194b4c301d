/* Reader round trips: header, every event kind, tables, stacks, clock
 * conversion, event order, compression, forward compatibility, sources. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "reader_sample.h"
#include "tracebuilder.h"

static ct_reader *open_ok(const struct tb *b)
{
	ct_reader *r;
	int rc = ct_reader_open_mem(b->out.p, b->out.len, &r);
	if (rc)
		fail_msg("open: %d %s", rc, r ? ct_reader_error(r) : "");
	return r;
}

static void test_info(void **state)
{
	(void)state;
	struct tb b;
	sample_trace(&b, 1, 0, 0, 1, NULL);
	ct_reader *r = open_ok(&b);
	const struct ct_trace_info *info = ct_reader_info(r);
	assert_int_equal(info->version_major, 1);
	assert_int_equal(info->version_minor, CT_FORMAT_MINOR);
	assert_int_equal(info->nmeta, 4);
	assert_string_equal(info->meta[0], "program");
	assert_string_equal(info->meta[1], "/usr/bin/test");
	assert_string_equal(info->meta[3], "monotonic");
	assert_int_equal(info->nspecs, CT_EV_TYPE_COUNT - 1);
	for (uint32_t i = 0; i < info->nspecs; i++) {
		const struct ct_event_spec *s = &info->specs[i];
		assert_string_equal(s->name, ct_spec_table[s->type].name);
		assert_int_equal(s->argc, ct_spec_table[s->type].argc);
		assert_memory_equal(s->arg_kinds, ct_spec_table[s->type].args, s->argc);
	}
	assert_int_equal(ct_reader_file_size(r), b.out.len);
	assert_null(ct_reader_error(r));
	ct_reader_close(r);
	tb_free(&b);
}

static uint64_t sample_ns(int tsc, uint64_t t0, uint64_t t)
{
	if (!tsc)
		return t;
	int64_t d = (int64_t)t - (int64_t)(t0 + 5000);
	return (uint64_t)(7000000000ll + (int64_t)t0 + d * 2 / 5);
}

/* Walks the sample's first generation in time order and checks every field. */
static void check_sample_gen(ct_reader *r, uint64_t seq, int tsc)
{
	const struct ct_generation *g;
	assert_int_equal(ct_reader_next_generation(r, &g), 1);
	uint64_t t0 = 1000000 * seq;
	/* ns = mono(ref) + (t - ref_ticks) / 2.5 for tsc, identity otherwise. */
#define NS(t) sample_ns(tsc, t0, (t))
	assert_int_equal(g->seq, seq);
	assert_int_equal(g->nevents, SAMPLE_EVENTS_PER_GEN);
	assert_int_equal(g->clock_kind, tsc ? CT_CLOCK_TSC : CT_CLOCK_MONOTONIC);
	assert_int_equal(g->min_ts, NS(t0));
	assert_int_equal(g->max_ts, NS(t0 + 400));
	assert_int_equal(g->nthreads, 3);
	assert_string_equal(g->threads[1].name, "worker-1");
	assert_int_equal(g->threads[1].tid, 101);
	assert_int_equal(g->threads[2].exited, seq > 1);
	assert_int_equal(g->nloss, 2);
	assert_ptr_equal(g->loss[0].thread, &g->threads[1]);
	assert_int_equal(g->loss[0].count, 5);
	assert_int_equal(g->loss[0].first_ts, NS(t0 + 10));
	assert_int_equal(g->loss[0].last_ts, NS(t0 + 20));
	assert_null(g->loss[1].thread);
	assert_int_equal(g->loss[1].reason, CT_LOSS_SINK);
	assert_int_equal(g->nmeta, 2);
	assert_string_equal(g->meta[0], "note");
	assert_string_equal(g->meta[1], "sample");
	if (tsc) {
		assert_int_equal(g->ticks_per_sec, 2500000000ull);
		assert_int_equal(g->realtime_offset_ns,
				 1700000000000000000ll - 7000000000ll - (int64_t)t0);
	}

	static const struct {
		uint8_t type;
		uint32_t thread;
		uint64_t dt;
	} want[] = {
		{CT_EV_TASK_BEGIN, 1, 0},    {CT_EV_REGION_BEGIN, 3, 2}, {CT_EV_TASK_ENTER, 2, 5},
		{CT_EV_REGION_BEGIN, 1, 10}, {CT_EV_LOG, 1, 20},	 {CT_EV_LOSS, 2, 20},
		{CT_EV_TASK_LEAVE, 2, 25},   {CT_EV_REGION_END, 2, 26},	 {CT_EV_REGION_END, 1, 30},
		{CT_EV_TASK_END, 1, 40},     {CT_EV_THREAD_END, 1, 50},	 {CT_EV_REGION_END, 3, 102},
		{CT_EV_THREAD_END, 3, 400},
	};
	struct ct_event ev;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(ct_reader_next_in_generation(r, &ev), 1);
		assert_int_equal(ev.type, want[i].type);
		assert_string_equal(ev.type_name, ct_spec_table[want[i].type].name);
		assert_int_equal(ev.thread->index, want[i].thread);
		assert_int_equal(ev.ts, NS(t0 + want[i].dt));
		assert_int_equal(ev.nargs, ct_spec_table[want[i].type].argc);
		switch (ev.type) {
		case CT_EV_TASK_BEGIN:
			assert_int_equal(ev.args[0], 7 + seq);
			assert_int_equal(ev.args[1], 1);
			assert_string_equal(ev.strs[1], "request");
			assert_null(ev.strs[0]);
			assert_non_null(ev.stack);
			assert_int_equal(ev.stack->id, 1);
			/* Location 1 has an inlined frame: 2 + 1 frames. */
			assert_int_equal(ev.stack->nframes, 3);
			assert_string_equal(ev.stack->frames[0].function, "inlined_helper");
			assert_string_equal(ev.stack->frames[0].file, "helper.h");
			assert_int_equal(ev.stack->frames[0].line, 10);
			assert_int_equal(ev.stack->frames[0].inlined, 1);
			assert_int_equal(ev.stack->frames[0].pc, 0x401000);
			assert_string_equal(ev.stack->frames[1].function, "handle_request");
			assert_int_equal(ev.stack->frames[1].inlined, 0);
			assert_int_equal(ev.stack->frames[1].pc, 0x401000);
			assert_string_equal(ev.stack->frames[2].function, "main");
			assert_string_equal(ev.stack->frames[2].module, "/usr/bin/server");
			break;
		case CT_EV_REGION_BEGIN:
			if (ev.thread->index == 1) {
				assert_string_equal(ev.strs[0], "db.query");
				assert_int_equal(ev.stack->nframes, 2);
				assert_string_equal(ev.stack->frames[0].function, "");
				assert_string_equal(ev.stack->frames[0].file, "");
				assert_int_equal(ev.stack->frames[0].line, 0);
				assert_string_equal(ev.stack->frames[0].module, "/lib/libc.so.6");
				assert_int_equal(ev.stack->frames[0].pc, 0x7f1234);
			} else {
				assert_string_equal(ev.strs[0], "http");
				assert_null(ev.stack);
			}
			break;
		case CT_EV_LOG:
			assert_string_equal(ev.strs[0], "net");
			assert_int_equal(ev.nbytes, 12);
			assert_memory_equal(ev.bytes, "hello, world", 12);
			break;
		case CT_EV_LOSS:
			assert_int_equal(ev.args[0], 3);
			/* Durations come back in nanoseconds. */
			assert_int_equal(ev.args[1], tsc ? 40 : 100);
			assert_null(ev.bytes);
			break;
		default:
			break;
		}
	}
	assert_int_equal(ct_reader_next_in_generation(r, &ev), 0);
#undef NS
}

static void test_round_trip(void **state)
{
	(void)state;
	for (int tsc = 0; tsc < 2; tsc++) {
		for (int z = 0; z < 2; z++) {
			struct tb b;
			sample_trace(&b, 3, tsc, z, 1, NULL);
			ct_reader *r = open_ok(&b);
			for (uint64_t s = 1; s <= 3; s++)
				check_sample_gen(r, s, tsc);
			const struct ct_generation *g;
			assert_int_equal(ct_reader_next_generation(r, &g), 0);
			assert_int_equal(ct_reader_complete(r), 1);
			assert_int_equal(ct_reader_offset(r), b.out.len);
			assert_null(ct_reader_error(r));
			ct_reader_close(r);
			tb_free(&b);
		}
	}
}

static uint64_t digest_all(const struct tb *b, enum ct_order order, uint64_t *nev)
{
	ct_reader *r = open_ok(b);
	ct_reader_set_order(r, order);
	struct ct_event ev;
	uint64_t h = 14695981039346656037ull;
	int rc;
	*nev = 0;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		h = digest_event(h, &ev);
		++*nev;
	}
	assert_int_equal(rc, 0);
	ct_reader_close(r);
	return h;
}

/* Closing while the prefetch thread waits on a pipe for data that never
 * comes: close must wake it and return. */
static void test_close_while_prefetch_waits(void **state)
{
	(void)state;
	struct tb b;
	sample_trace(&b, 5, 1, 1, 1, NULL);
	assert_true(b.out.len < 60000); /* fits in the pipe buffer */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	/* Everything but the end of the end frame; the write end stays open. */
	assert_int_equal(write(pfd[1], b.out.p, b.out.len - 10), (ssize_t)(b.out.len - 10));
	ct_reader *r;
	assert_int_equal(ct_reader_open_fd(pfd[0], &r), 0);
	const struct ct_generation *g;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ct_reader_next_generation(r, &g), 1);
	alarm(20); /* a hang fails the test instead of stalling it */
	ct_reader_close(r);
	alarm(0);
	close(pfd[0]);
	close(pfd[1]);
	tb_free(&b);
}

/* Batches of any size yield the same events as one call each, in both
 * orders, with and without the prefetch thread. */
static void test_batches(void **state)
{
	(void)state;
	struct tb b;
	sample_trace(&b, 5, 1, 1, 1, NULL);
	for (int order = 0; order < 2; order++) {
		uint64_t want_n, want = digest_all(&b, (enum ct_order)order, &want_n);
		for (int pf = 0; pf < 2; pf++) {
			for (int bn = 1; bn <= 64; bn = bn * 3 + 1) {
				ct_reader *r = open_ok(&b);
				ct_reader_set_order(r, (enum ct_order)order);
				assert_int_equal(ct_reader_set_prefetch(r, pf), 0);
				struct ct_event evs[64];
				const struct ct_generation *g;
				uint64_t h = 14695981039346656037ull, n = 0;
				int rc;
				while ((rc = ct_reader_next_generation(r, &g)) == 1) {
					uint64_t in_gen = 0;
					while ((rc = ct_reader_next_batch(r, evs, bn)) > 0) {
						for (int i = 0; i < rc; i++)
							h = digest_event(h, &evs[i]);
						in_gen += (uint64_t)rc;
					}
					assert_int_equal(rc, 0);
					assert_int_equal(in_gen, g->nevents);
					n += in_gen;
				}
				assert_int_equal(rc, 0);
				assert_int_equal(ct_reader_set_prefetch(r, 1), -EBUSY);
				assert_int_equal(n, want_n);
				assert_int_equal(h, want);
				ct_reader_close(r);
			}
		}
	}
	tb_free(&b);
}

static void test_compressed_equals_plain(void **state)
{
	(void)state;
	struct tb a, z;
	sample_trace(&a, 4, 1, 0, 1, NULL);
	sample_trace(&z, 4, 1, 1, 1, NULL);
	assert_true(z.out.len != a.out.len);
	uint64_t na, nz;
	assert_int_equal(digest_all(&a, CT_ORDER_TIME, &na), digest_all(&z, CT_ORDER_TIME, &nz));
	assert_int_equal(na, 4 * SAMPLE_EVENTS_PER_GEN);
	assert_int_equal(nz, na);
	assert_int_equal(digest_all(&a, CT_ORDER_THREAD, &na),
			 digest_all(&z, CT_ORDER_THREAD, &nz));
	tb_free(&a);
	tb_free(&z);
}

static void test_thread_order(void **state)
{
	(void)state;
	struct tb b;
	sample_trace(&b, 2, 0, 0, 1, NULL);
	ct_reader *r = open_ok(&b);
	ct_reader_set_order(r, CT_ORDER_THREAD);
	struct ct_event ev;
	uint32_t last_index = 0;
	uint64_t last_ts = 0, n = 0, per[4] = {0};
	int gens = 0;
	const struct ct_generation *g;
	while (ct_reader_next_generation(r, &g) == 1) {
		gens++;
		last_index = 0;
		while (ct_reader_next_in_generation(r, &ev) == 1) {
			assert_true(ev.thread->index >= last_index);
			if (ev.thread->index == last_index)
				assert_true(ev.ts >= last_ts);
			last_index = ev.thread->index;
			last_ts = ev.ts;
			per[ev.thread->index]++;
			n++;
		}
	}
	assert_int_equal(gens, 2);
	assert_int_equal(n, 2 * SAMPLE_EVENTS_PER_GEN);
	assert_int_equal(per[1], 12);
	assert_int_equal(per[2], 8);
	assert_int_equal(per[3], 6);
	ct_reader_close(r);
	tb_free(&b);
}

/* Many threads with random interleaving: the merge yields non-decreasing
 * timestamps, equal ones by thread index, each thread in its own order. */
static void test_time_merge_many_threads(void **state)
{
	(void)state;
	struct tb b;
	tb_init(&b);
	tb_gen_begin(&b, 1);
	enum { T = 37, N = 300 };
	uint64_t seed = 12345;
	for (unsigned t = 1; t <= T; t++)
		tb_thread(&b, t, 1000 + t, "w", 0);
	for (unsigned t = 1; t <= T; t++) {
		uint64_t ts = 1000;
		for (unsigned k = 0; k < 3; k++) {
			tb_batch_begin(&b, t, ts);
			for (unsigned i = 0; i < N / 3; i++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				uint64_t d = (seed >> 33) % 4; /* many ties */
				/* The task arg carries thread and sequence to check order. */
				TB_EV(&b, CT_EV_TASK_ENTER, d, t * 100000 + k * 1000 + i);
				ts += d;
			}
			tb_batch_end(&b);
		}
	}
	tb_gen_end(&b, 1);
	ct_reader *r = open_ok(&b);
	struct ct_event ev, prev = {0};
	uint64_t last_seq[T + 1] = {0};
	unsigned n = 0;
	while (ct_reader_next(r, &ev) == 1) {
		if (n) {
			assert_true(ev.ts >= prev.ts);
			if (ev.ts == prev.ts)
				assert_true(ev.thread->index >= prev.thread->index);
		}
		uint32_t t = ev.thread->index;
		assert_int_equal(ev.args[0] / 100000, t);
		assert_true(ev.args[0] % 100000 + 1 > last_seq[t]);
		last_seq[t] = ev.args[0] % 100000 + 1;
		prev = ev;
		n++;
	}
	assert_int_equal(n, T * N);
	ct_reader_close(r);
	tb_free(&b);
}

/* A newer writer's event kind, present in the file's spec table only. */
static void test_unknown_event_kind(void **state)
{
	(void)state;
	struct tb b;
	tb_init(&b);
	static const uint8_t kinds[] = {CT_ARG_STRING, CT_ARG_UINT, CT_ARG_DURATION, 77};
	tb_add_spec(&b, 42, 4, CT_SPEC_BYTES | CT_SPEC_STACK_ABLE, "future.thing", kinds);
	tb_gen_begin(&b, 1);
	tb_thread(&b, 1, 1, "t", 0);
	tb_string(&b, 5, "five");
	tb_location(&b, 0x10, 0, 0, NULL);
	tb_stack(&b, 9, 1, (uint64_t[]){1});
	tb_batch_begin(&b, 1, 100);
	TB_EV(&b, CT_EV_REGION_BEGIN, 1, 5);
	tb_event(&b, 42, 2, TB_ARGS(5, 6, 7, 8), 4, 9, "xyz", 3);
	TB_EV0(&b, CT_EV_REGION_END, 3);
	tb_batch_end(&b);
	/* An unknown section kind is skipped. */
	tb_raw_section(&b, 200, "\x01\x02\x03", 3);
	tb_gen_end(&b, 0);
	tb_end(&b, 3, 0, 1);
	ct_reader *r = open_ok(&b);
	const struct ct_trace_info *info = ct_reader_info(r);
	assert_int_equal(info->nspecs, CT_EV_TYPE_COUNT);
	assert_string_equal(info->specs[info->nspecs - 1].name, "future.thing");
	struct ct_event ev;
	assert_int_equal(ct_reader_next(r, &ev), 1);
	assert_int_equal(ev.type, CT_EV_REGION_BEGIN);
	assert_int_equal(ct_reader_next(r, &ev), 1);
	assert_int_equal(ev.type, 42);
	assert_string_equal(ev.type_name, "future.thing");
	assert_int_equal(ev.ts, 103);
	assert_int_equal(ev.nargs, 4);
	assert_string_equal(ev.strs[0], "five");
	assert_null(ev.strs[1]);
	assert_int_equal(ev.args[1], 6);
	assert_int_equal(ev.args[2], 7);
	assert_int_equal(ev.args[3], 8);
	assert_int_equal(ev.nbytes, 3);
	assert_memory_equal(ev.bytes, "xyz", 3);
	assert_int_equal(ev.stack->id, 9);
	assert_int_equal(ev.stack->nframes, 1);
	assert_int_equal(ct_reader_next(r, &ev), 1);
	assert_int_equal(ev.type, CT_EV_REGION_END);
	assert_int_equal(ev.ts, 106);
	assert_int_equal(ct_reader_next(r, &ev), 0);
	assert_int_equal(ct_reader_complete(r), 1);
	ct_reader_close(r);
	tb_free(&b);
}

/* Tables after batches, sparse ids, an empty generation, no end frame. */
static void test_layout_variants(void **state)
{
	(void)state;
	struct tb b;
	tb_init(&b);
	tb_gen_begin(&b, 7);
	tb_thread(&b, 1u << 30, 1, "far", 0);
	tb_string(&b, 3000000000ull, "sparse");
	tb_string(&b, 2, "dense");
	tb_batch_begin(&b, 1u << 30, 10);
	TB_EV(&b, CT_EV_REGION_BEGIN, 1, 3000000000ull);
	TB_EV(&b, CT_EV_REGION_BEGIN, 1, 2);
	TB_EV(&b, CT_EV_REGION_BEGIN, 1, 0);
	tb_batch_end(&b);
	b.tables_last = 1;
	tb_gen_end(&b, 0);
	tb_gen_begin(&b, 8); /* no threads, no events */
	tb_gen_end(&b, 1);
	tb_gen_begin(&b, 9);
	tb_thread(&b, 1, 1, "t", 0);
	tb_stack(&b, 5, 0, NULL); /* an empty stack, and no locations at all */
	tb_batch_begin(&b, 1, 50);
	tb_event(&b, CT_EV_REGION_END, 0, NULL, 0, 5, NULL, 0);
	tb_batch_end(&b);
	tb_gen_end(&b, 0);

	ct_reader *r = open_ok(&b);
	struct ct_event ev;
	assert_int_equal(ct_reader_next(r, &ev), 1);
	assert_string_equal(ev.strs[0], "sparse");
	assert_int_equal(ev.thread->index, 1u << 30);
	assert_int_equal(ct_reader_next(r, &ev), 1);
	assert_string_equal(ev.strs[0], "dense");
	assert_int_equal(ct_reader_next(r, &ev), 1);
	assert_null(ev.strs[0]);
	assert_int_equal(ct_reader_next(r, &ev), 1); /* skips the empty generation */
	assert_int_equal(ev.ts, 50);
	assert_int_equal(ev.stack->id, 5);
	assert_int_equal(ev.stack->nframes, 0);
	assert_int_equal(ct_reader_next(r, &ev), 0);
	assert_int_equal(ct_reader_complete(r), 0);
	assert_null(ct_reader_error(r));
	ct_reader_close(r);
	tb_free(&b);
}

/* The exact 128-bit formula against the reader's fast path. */
static void test_clock_conversion(void **state)
{
	(void)state;
	static const uint64_t tps[] = {1000000000ull, 2500000000ull, 2994374000ull,	3, 1,
				       1u << 20,      1000000007ull, 123456789012345ull};
	for (size_t k = 0; k < sizeof(tps) / sizeof(tps[0]); k++) {
		uint64_t ref_ticks = 5000000000000ull, ref_mono = 90000000000000ull;
		struct tb b;
		tb_init(&b);
		tb_gen_begin(&b, 1);
		tb_clock(&b, CT_CLOCK_TSC, tps[k], ref_ticks, ref_mono, 0, 0, 0);
		tb_thread(&b, 1, 1, "t", 0);
		uint64_t seed = 99, ts = ref_ticks - 4000000000000ull;
		uint64_t want[64];
		tb_batch_begin(&b, 1, ts);
		for (int i = 0; i < 64; i++) {
			seed = seed * 6364136223846793005ull + 1;
			uint64_t d = (seed >> 20) % 200000000000ull;
			if (i == 40)
				d = 0xfffffffffffull; /* past the 64-bit fast path */
			ts += d;
			__int128 ns = (__int128)ref_mono + ((__int128)ts - (__int128)ref_ticks) *
								   1000000000 / (__int128)tps[k];
			want[i] = ns < 0		      ? 0
				  : ns > (__int128)UINT64_MAX ? UINT64_MAX
							      : (uint64_t)ns;
			TB_EV0(&b, CT_EV_REGION_END, d);
		}
		tb_batch_end(&b);
		tb_gen_end(&b, 0);
		ct_reader *r = open_ok(&b);
		struct ct_event ev;
		for (int i = 0; i < 64; i++) {
			assert_int_equal(ct_reader_next(r, &ev), 1);
			assert_int_equal(ev.ts, want[i]);
		}
		ct_reader_close(r);
		tb_free(&b);
	}
}

static void test_header_errors(void **state)
{
	(void)state;
	struct tb b;
	sample_trace(&b, 1, 0, 0, 1, NULL);
	uint8_t *buf = malloc(b.out.len);
	ct_reader *r;
	struct {
		size_t off;
		uint8_t val;
		int err;
		const char *msg;
	} cases[] = {
		{0, 'x', CT_EFORMAT, "bad magic"},	   {8, 2, CT_EVERSION, "format version 2."},
		{14, 0x7f, CT_EFORMAT, "header size"},	   {15, 0x10, CT_EFORMAT, "header size"},
		{20, 0x55, CT_EFORMAT, "header checksum"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(buf, b.out.p, b.out.len);
		buf[cases[i].off] = cases[i].val;
		assert_int_equal(ct_reader_open_mem(buf, b.out.len, &r), cases[i].err);
		if (!strstr(ct_reader_error(r), cases[i].msg))
			fail_msg("case %zu: %s", i, ct_reader_error(r));
		ct_reader_close(r);
	}
	assert_int_equal(ct_reader_open_mem(buf, 0, &r), CT_ETRUNCATED);
	assert_non_null(strstr(ct_reader_error(r), "empty"));
	ct_reader_close(r);
	assert_int_equal(ct_reader_open_mem(b.out.p, 30, &r), CT_ETRUNCATED);
	assert_non_null(strstr(ct_reader_error(r), "truncated header"));
	ct_reader_close(r);
	assert_int_equal(ct_reader_open("/nonexistent/trace.ct", &r), -2);
	assert_non_null(strstr(ct_reader_error(r), "/nonexistent/trace.ct"));
	ct_reader_close(r);

	/* A spec table entry with a bad flag, CRC fixed up. */
	struct tb c;
	tb_init_empty(&c);
	tb_add_spec(&c, 5, 1, 0x4, "bad", (const uint8_t[]){0});
	tb_header(&c);
	assert_int_equal(ct_reader_open_mem(c.out.p, c.out.len, &r), CT_EFORMAT);
	assert_non_null(strstr(ct_reader_error(r), "bad spec entry"));
	ct_reader_close(r);
	tb_free(&c);
	/* A header-only file is a valid, empty, incomplete trace. */
	tb_init(&c);
	tb_header(&c);
	r = open_ok(&c);
	struct ct_event ev;
	assert_int_equal(ct_reader_next(r, &ev), 0);
	assert_int_equal(ct_reader_complete(r), 0);
	ct_reader_close(r);
	tb_free(&c);
	free(buf);
	tb_free(&b);
}

static void test_varint(void **state)
{
	(void)state;
	static const uint64_t vals[] = {0,
					1,
					127,
					128,
					16383,
					16384,
					(1ull << 35) - 1,
					1ull << 56,
					(1ull << 63) - 1,
					1ull << 63,
					UINT64_MAX};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[CT_VARINT_MAX];
		uint8_t *e = ct_put_uvarint(buf, vals[i]);
		assert_int_equal((size_t)(e - buf), ct_uvarint_len(vals[i]));
		const uint8_t *p = buf;
		uint64_t v;
		assert_int_equal(ct_get_uvarint(&p, e, &v), 0);
		assert_true(p == e);
		assert_true(v == vals[i]);
		p = buf; /* every strict prefix is an error */
		for (const uint8_t *end = buf; end < e; end++) {
			p = buf;
			assert_int_equal(ct_get_uvarint(&p, end, &v), -1);
		}
	}
	/* 10th byte > 1 overflows; 11 bytes are too long; 0x80 padding ok. */
	uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	const uint8_t *p = over;
	uint64_t v;
	assert_int_equal(ct_get_uvarint(&p, over + 10, &v), -1);
	uint8_t eleven[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
	p = eleven;
	assert_int_equal(ct_get_uvarint(&p, eleven + 11, &v), -1);
	uint8_t padded[3] = {0x81, 0x80, 0x00};
	p = padded;
	assert_int_equal(ct_get_uvarint(&p, padded + 3, &v), 0);
	assert_int_equal(v, 1);
}

/* Files and pipes go through read(2): same events as memory. */
static void test_fd_and_pipe(void **state)
{
	(void)state;
	struct tb b;
	sample_trace(&b, 5, 1, 1, 1, NULL);
	uint64_t n0, h0 = digest_all(&b, CT_ORDER_TIME, &n0);
	char path[] = "/tmp/reader-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tb_write_file(&b, path), 0);

	for (int mode = 0; mode < 2; mode++) {
		ct_reader *r;
		int pfd[2] = {-1, -1};
		pid_t pid = -1;
		if (mode == 0) {
			assert_int_equal(ct_reader_open(path, &r), 0);
			assert_int_equal(ct_reader_file_size(r), b.out.len);
		} else {
			assert_int_equal(pipe(pfd), 0);
			pid = fork();
			if (pid == 0) {
				close(pfd[0]);
				/* Dribble in small writes to exercise short reads. */
				for (size_t o = 0; o < b.out.len; o += 7) {
					size_t n = b.out.len - o < 7 ? b.out.len - o : 7;
					if (write(pfd[1], b.out.p + o, n) != (ssize_t)n)
						_exit(1);
				}
				_exit(0);
			}
			close(pfd[1]);
			assert_int_equal(ct_reader_open_fd(pfd[0], &r), 0);
			assert_int_equal(ct_reader_file_size(r), 0);
		}
		struct ct_event ev;
		uint64_t h = 14695981039346656037ull, n = 0;
		while (ct_reader_next(r, &ev) == 1) {
			h = digest_event(h, &ev);
			n++;
		}
		assert_null(ct_reader_error(r));
		assert_int_equal(ct_reader_complete(r), 1);
		assert_int_equal(n, n0);
		assert_int_equal(h, h0);
		ct_reader_close(r);
		if (mode == 1) {
			close(pfd[0]);
			int st;
			waitpid(pid, &st, 0);
		}
	}
	/* A truncated file read through an fd names the offset. */
	assert_int_equal(truncate(path, (off_t)b.out.len - 50), 0);
	ct_reader *r;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	int rc;
	while ((rc = ct_reader_next(r, &ev)) == 1)
		;
	assert_int_equal(rc, CT_ETRUNCATED);
	assert_non_null(strstr(ct_reader_error(r), "truncated generation 5 at byte"));
	assert_non_null(strstr(ct_reader_error(r), "4 complete generations read"));
	ct_reader_close(r);
	unlink(path);
	tb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_compressed_equals_plain),
		cmocka_unit_test(test_thread_order),
		cmocka_unit_test(test_time_merge_many_threads),
		cmocka_unit_test(test_unknown_event_kind),
		cmocka_unit_test(test_layout_variants),
		cmocka_unit_test(test_clock_conversion),
		cmocka_unit_test(test_fd_and_pipe),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_close_while_prefetch_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
