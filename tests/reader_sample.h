/* A sample trace for reader tests: generations that use every event kind,
 * every table and section, inlined frames and several threads, built with
 * tracebuilder.h; and a digest of what a reader returns for it. */
#ifndef CT_TESTS_READER_SAMPLE_H
#define CT_TESTS_READER_SAMPLE_H

#include <stdint.h>
#include <string.h>

#include "ctrace_reader.h"
#include "tracebuilder.h"

#define SAMPLE_EVENTS_PER_GEN 13

/* Appends generation `seq` (1-based): 3 threads, events of every kind.
 * With tsc, ticks run at 2.5 GHz; otherwise ticks are monotonic ns. */
static inline void sample_gen(struct tb *b, uint64_t seq, int tsc, int compress)
{
	uint64_t t0 = 1000000 * seq;
	tb_gen_begin(b, seq);
	if (tsc)
		tb_clock(b, CT_CLOCK_TSC, 2500000000ull, t0 + 5000, 7000000000ull + t0,
			 1700000000000000000ull, t0, t0 + 400);
	else
		tb_clock(b, CT_CLOCK_MONOTONIC, 1000000000, t0 + 5000, t0 + 5000,
			 1700000000000000000ull, t0, t0 + 400);
	tb_thread(b, 1, 100, "main", 0);
	tb_thread(b, 2, 101, "worker-1", 0);
	tb_thread(b, 3, 102, "worker-2", seq > 1);
	const char *strs[] = {"request",  "db.query",	    "http",	"main", "handle_request",
			      "server.c", "inlined_helper", "helper.h", "net"};
	for (unsigned i = 0; i < 9; i++)
		tb_string(b, i + 1, strs[i]);
	uint64_t m1 = tb_mapping(b, 0x400000, 0x500000, 0, "/usr/bin/server", "\x12\x34", 2);
	uint64_t m2 = tb_mapping(b, 0x7f0000, 0x7f8000, 0x1000, "/lib/libc.so.6", "", 0);
	struct tb_frame inl[] = {{7, 8, 10}, {5, 6, 42}};
	struct tb_frame mainf[] = {{4, 6, 7}};
	uint64_t l1 = tb_location(b, 0x401000, m1, 2, inl);
	uint64_t l2 = tb_location(b, 0x402000, m1, 1, mainf);
	uint64_t l3 = tb_location(b, 0x7f1234, m2, 0, NULL);
	tb_stack(b, 1, 2, (uint64_t[]){l1, l2});
	tb_stack(b, 2, 2, (uint64_t[]){l3, l2});
	tb_loss(b, 2, 5, t0 + 10, t0 + 20, CT_LOSS_BUFFER_FULL);
	tb_loss(b, 0, 1, t0, t0 + 400, CT_LOSS_SINK);
	tb_gen_meta(b, "note", "sample");

	/* Thread 1: t0+0, +10 (stack), +20 (tie with thread 2), +30, +40, +50. */
	tb_batch_begin(b, 1, t0);
	TB_EVS(b, CT_EV_TASK_BEGIN, 0, 1, 7 + seq, 1, 0);
	TB_EVS(b, CT_EV_REGION_BEGIN, 10, 2, 2);
	TB_LOG(b, 10, 9, "hello, world");
	tb_batch_end(b);
	/* Thread 2, first batch: t0+5, +20, +25. */
	tb_batch_begin(b, 2, t0 + 5);
	TB_EV(b, CT_EV_TASK_ENTER, 0, 7 + seq);
	TB_EV(b, CT_EV_LOSS, 15, 3, 100, 0);
	TB_EV(b, CT_EV_TASK_LEAVE, 5, 7 + seq);
	tb_batch_end(b);
	/* Thread 3: an empty batch, then events. */
	tb_batch_begin(b, 3, t0 + 1);
	tb_batch_end(b);
	tb_batch_begin(b, 3, t0 + 2);
	TB_EV(b, CT_EV_REGION_BEGIN, 0, 3);
	TB_EV0(b, CT_EV_REGION_END, 100);
	tb_batch_end(b);
	/* Thread 1, second batch. */
	tb_batch_begin(b, 1, t0 + 25);
	TB_EV0(b, CT_EV_REGION_END, 5);
	TB_EV(b, CT_EV_TASK_END, 10, 7 + seq);
	TB_EV0(b, CT_EV_THREAD_END, 10);
	tb_batch_end(b);
	/* Thread 3, second batch, and thread 2 again. */
	tb_batch_begin(b, 3, t0 + 200);
	TB_EV0(b, CT_EV_THREAD_END, 200);
	tb_batch_end(b);
	tb_batch_begin(b, 2, t0 + 26);
	TB_EV0(b, CT_EV_REGION_END, 0);
	tb_batch_end(b);
	tb_gen_end(b, compress);
}

/* A file of n generations; bounds[i] receives the offset where generation
 * i starts, bounds[n] where the end frame (if any) starts. */
static inline void sample_trace(struct tb *b, unsigned n, int tsc, int compress, int end_frame,
				size_t *bounds)
{
	tb_init(b);
	tb_header(b);
	for (unsigned i = 0; i < n; i++) {
		if (bounds)
			bounds[i] = b->out.len;
		sample_gen(b, i + 1, tsc, compress && (i % 2 == 0));
	}
	if (bounds)
		bounds[n] = b->out.len;
	if (end_frame)
		tb_end(b, (uint64_t)n * SAMPLE_EVENTS_PER_GEN, 0, n);
}

/* FNV-1a over what an event says, so readers' outputs can be compared. */
static inline uint64_t digest_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ull;
	return h;
}
static inline uint64_t digest_str(uint64_t h, const char *s)
{
	return s ? digest_bytes(h, s, strlen(s) + 1) : digest_bytes(h, "\xff", 1);
}
static inline uint64_t digest_event(uint64_t h, const struct ct_event *ev)
{
	h = digest_bytes(h, &ev->type, 1);
	h = digest_str(h, ev->type_name);
	h = digest_bytes(h, &ev->ts, 8);
	h = digest_bytes(h, &ev->thread->index, 4);
	h = digest_str(h, ev->thread->name);
	h = digest_bytes(h, ev->args, sizeof(ev->args));
	for (int i = 0; i < 6; i++)
		h = digest_str(h, ev->strs[i]);
	h = digest_bytes(h, &ev->nbytes, sizeof(ev->nbytes));
	if (ev->bytes)
		h = digest_bytes(h, ev->bytes, ev->nbytes);
	if (ev->stack) {
		for (uint32_t i = 0; i < ev->stack->nframes; i++) {
			const struct ct_frame *f = &ev->stack->frames[i];
			h = digest_bytes(h, &f->pc, 8);
			h = digest_str(h, f->function);
			h = digest_str(h, f->file);
			h = digest_str(h, f->module);
			h = digest_bytes(h, &f->line, 4);
			h = digest_bytes(h, &f->inlined, 4);
		}
	}
	return h;
}

#endif
