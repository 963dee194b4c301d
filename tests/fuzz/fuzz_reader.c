/* libFuzzer target for the trace reader: any input must give events or a
 * clean error, never a crash, a hang or an out-of-bounds read. Seeds are in
 * tests/fuzz/corpus/ (regenerate with tests/fuzz/make_corpus.c). libFuzzer
 * writes new inputs into its first directory, so run it on a scratch copy:
 *   cmake -S . -B /tmp/fz -DCTRACE_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   cmake --build /tmp/fz --target fuzz_reader
 *   mkdir -p /tmp/fz/c && cp -r tests/fuzz/corpus/. /tmp/fz/c
 *   /tmp/fz/tests/fuzz_reader -max_total_time=120 /tmp/fz/c */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "analysis/diagnose.h"
#include "analysis/profile.h"
#include "analysis/report.h"
#include "ctrace_reader.h"
#include "format/varint.h"

/* Touches everything an event points to, so ASan checks it. */
static size_t touch(const struct ct_event *ev)
{
	size_t n = strlen(ev->type_name) + strlen(ev->thread->name);
	for (uint32_t i = 0; i < ev->nargs; i++)
		if (ev->strs[i])
			n += strlen(ev->strs[i]);
	if (ev->bytes && ev->nbytes)
		n += (uint8_t)ev->bytes[ev->nbytes - 1];
	if (ev->stack)
		for (uint32_t i = 0; i < ev->stack->nframes; i++) {
			const struct ct_frame *f = &ev->stack->frames[i];
			n += strlen(f->function) + strlen(f->file) + strlen(f->module) + f->line;
		}
	return n;
}

static void run(const uint8_t *data, size_t size, enum ct_order order)
{
	ct_reader *r;
	if (ct_reader_open_mem(data, size, &r) != 0) {
		if (r)
			(void)strlen(ct_reader_error(r));
		ct_reader_close(r);
		return;
	}
	const struct ct_trace_info *info = ct_reader_info(r);
	for (uint32_t i = 0; i < info->nmeta; i++)
		(void)strlen(info->meta[i]);
	ct_reader_set_order(r, order);
	const struct ct_generation *g;
	volatile size_t sink = 0;
	int rc;
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		for (uint32_t i = 0; i < g->nthreads; i++)
			sink += strlen(g->threads[i].name);
		for (uint32_t i = 0; i < g->nloss; i++)
			sink += g->loss[i].thread ? g->loss[i].thread->index : 0;
		for (uint32_t i = 0; i < g->nmeta; i++)
			sink += strlen(g->meta[i]);
		struct ct_event evs[8];
		uint64_t n = 0, last = 0;
		/* One event per call, or batches (the report's way). */
		int bn = size & 1 ? 8 : 0, k;
		while ((k = bn ? ct_reader_next_batch(r, evs, bn)
			       : ct_reader_next_in_generation(r, &evs[0])) > 0) {
			for (int i = 0; i < k; i++) {
				sink += touch(&evs[i]);
				/* Time order must really be ordered. */
				if (order == CT_ORDER_TIME && evs[i].ts < last)
					__builtin_trap();
				last = evs[i].ts;
				n++;
			}
		}
		if (n != g->nevents)
			__builtin_trap();
	}
	if (rc < 0 && !ct_reader_error(r))
		__builtin_trap();
	(void)sink;
	ct_reader_close(r);
}

/* Rewrites every checksum so that mutations reach the section and event
 * validation, which a CRC mismatch would otherwise stop first. */
static void fix_crcs(uint8_t *d, size_t size)
{
	if (size < 16)
		return;
	size_t hs = ct_get_u32le(d + 12);
	if (hs < 20 || hs > size)
		return;
	ct_put_u32le(d + hs - 4, (uint32_t)crc32(0, d, (uInt)(hs - 4)));
	for (size_t off = hs; off + 32 <= size;) {
		uint8_t *h = d + off;
		size_t stored = ct_get_u32le(h + 16);
		if (stored <= size - off - 32)
			ct_put_u32le(h + 24, (uint32_t)crc32(0, h + 32, (uInt)stored));
		ct_put_u32le(h + 28, (uint32_t)crc32(0, h, 28));
		if (stored > size - off - 32)
			break;
		off += 32 + stored;
	}
}

/* The report's first pass decodes validated events itself (read/lean.h):
 * it must read exactly the events the reader counted. */
static void run_report(const uint8_t *data, size_t size)
{
	ct_reader *r;
	if (ct_reader_open_mem(data, size, &r) != 0) {
		ct_reader_close(r);
		return;
	}
	ct_reader_set_order(r, CT_ORDER_THREAD);
	struct report_options o = {.top_tasks = 3, .top_regions = 5};
	struct report *rep = report_new(&o);
	const struct ct_generation *g;
	uint64_t n = 0;
	while (ct_reader_next_generation(r, &g) == 1) {
		report_generation(rep, g);
		if (report_read_generation(rep, r) < 0)
			__builtin_trap();
		n += g->nevents;
	}
	if (report_finish(rep)->events != n)
		__builtin_trap();
	report_free(rep);
	ct_reader_close(r);
}

/* Passes 2 and 3 of the report over every generation the reader gives,
 * as `ctrace diagnose` runs them when it cannot read by spans. */
static void feed_pass(const uint8_t *data, size_t size, struct report *rep, int pass)
{
	ct_reader *r;
	if (ct_reader_open_mem(data, size, &r) != 0) {
		ct_reader_close(r);
		return;
	}
	ct_reader_set_order(r, CT_ORDER_THREAD);
	const struct ct_generation *g;
	struct ct_event ev;
	while (ct_reader_next_generation(r, &g) == 1) {
		int want = pass == 2 ? report_detail_wanted(rep, g) : report_holder_wanted(rep, g);
		if (want < 0)
			break;
		if (!want)
			continue;
		if (pass == 2)
			report_detail_generation(rep, g);
		else
			report_holder_generation(rep, g);
		while (ct_reader_next_in_generation(r, &ev) == 1) {
			if (pass == 2)
				report_detail_event(rep, &ev);
			else
				report_holder_event(rep, &ev);
		}
	}
	ct_reader_close(r);
}

/* All three passes and the diagnosis of each task, on whatever the reader
 * accepts; a task id from the input's size is asked for by --task. */
static void run_diagnose(const uint8_t *data, size_t size)
{
	ct_reader *r;
	if (ct_reader_open_mem(data, size, &r) != 0) {
		ct_reader_close(r);
		return;
	}
	ct_reader_set_order(r, CT_ORDER_THREAD);
	struct report_options o = {.top_tasks = 3, .task = size & 1 ? size % 7 : 0, .holders = 1};
	struct report *rep = report_new(&o);
	const struct ct_trace_info *info = ct_reader_info(r);
	report_trace_meta(rep, info->meta, info->nmeta);
	const struct ct_generation *g;
	while (ct_reader_next_generation(r, &g) == 1) {
		report_generation(rep, g);
		if (report_read_generation(rep, r) < 0)
			break;
	}
	ct_reader_close(r);
	if (report_pass1_done(rep) > 0) {
		feed_pass(data, size, rep, 2);
		const struct report_span *spans;
		if (report_holder_spans(rep, &spans) != 0)
			feed_pass(data, size, rep, 3);
	}
	const struct report_result *res = report_finish(rep);
	for (uint32_t i = 0; i < res->nslow; i++) {
		struct diagnosis d;
		diagnose_task(res, &res->slow[i], &d);
		if (d.category >= DIAG_CATS || d.share < 0 || d.share > 1)
			__builtin_trap();
	}
	report_free(rep);
}

/* The blocking profiles (one type per input, filters on some) over
 * whatever the reader accepts, down to the text table. */
static void run_profile(const uint8_t *data, size_t size)
{
	ct_reader *r;
	if (ct_reader_open_mem(data, size, &r) != 0) {
		ct_reader_close(r);
		return;
	}
	struct profile_options o = {.type = (enum profile_type)(size % PROFILE_NTYPES),
				    .include_idle = (int)(size >> 3 & 1)};
	if (size & 16) {
		o.thread = "main";
		o.from_ns = 1000;
		o.to_ns = 1000000;
		o.has_to = 1;
	}
	struct profile *pr = profile_new(&o);
	if (pr)
		(void)profile_read(pr, r); /* up to the damage, if any */
	struct pprof *p = pr ? profile_finish(pr, ct_reader_info(r), NULL) : NULL;
	FILE *devnull = fopen("/dev/null", "w");
	if (p && devnull)
		(void)pprof_write_text(p, devnull, 5);
	if (devnull)
		fclose(devnull);
	profile_free(pr);
	ct_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, CT_ORDER_TIME);
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fix_crcs(copy, size);
	run(copy, size, CT_ORDER_TIME);
	run(copy, size, CT_ORDER_THREAD);
	run_report(copy, size);
	run_diagnose(copy, size);
	run_profile(copy, size);
	free(copy);
	return 0;
}
