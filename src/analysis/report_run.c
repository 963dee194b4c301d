/* Drives the report analysis over a trace file: pass 1 over every
 * generation, pass 2 (a second reader) over only the generations that
 * overlap the slowest tasks. Both read in CT_ORDER_THREAD: nothing in the
 * report needs the threads merged by time, and it is the faster order. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/meta.h"
#include "analysis/report_int.h"

static void set_error(struct report_file *f, const ct_reader *rd, int rc)
{
	const char *msg = rd ? ct_reader_error(rd) : NULL;
	if (msg)
		snprintf(f->error, sizeof(f->error), "%s", msg);
	else if (rc < 0 && rc > -4096)
		snprintf(f->error, sizeof(f->error), "%s", strerror(-rc));
	else
		snprintf(f->error, sizeof(f->error), "unreadable trace (error %d)", rc);
}

/* ct_trace_info.nmeta counts strings, two per key/value pair. */
static void copy_meta(struct report_file *f, const struct ct_trace_info *info)
{
	uint32_t pairs = info->nmeta / 2;
	f->version_major = info->version_major;
	f->version_minor = info->version_minor;
	f->meta = calloc(2 * (size_t)pairs + 1, sizeof(*f->meta));
	if (!f->meta)
		return;
	for (uint32_t i = 0; i < 2 * pairs; i++) {
		f->meta[i] = strdup(info->meta[i] ? info->meta[i] : "");
		if (!f->meta[i])
			return;
	}
	f->nmeta = pairs;
}

/* Progress once per generation: cheap, and generations are a few MiB. */
static int pass1(struct report *r, ct_reader *rd, struct report_file *f,
		 report_progress_fn progress, void *arg)
{
	const struct ct_generation *g;
	uint64_t events = 0;
	int rc;
	/* A flight recorder's dump says when it was cut: the trace runs to
	 * then, and so do the waits of threads blocked at that moment. */
	const struct ct_trace_info *info = ct_reader_info(rd);
	if (info && meta_find(info->meta, info->nmeta, "dump.time_ns"))
		report_set_end(r, meta_u64(info->meta, info->nmeta, "dump.time_ns"));
	while ((rc = ct_reader_next_generation(rd, &g)) == 1) {
		if (f->generations == 0)
			f->header_bytes = g->offset; /* the header ends where it begins */
		report_generation(r, g);
		rc = report_read_generation(r, rd);
		events += g->nevents;
		if (rc < 0)
			return rc;
		f->generations++;
		if (progress)
			progress(arg, 1, ct_reader_offset(rd), f->file_size, events);
	}
	return rc;
}

/* A pass over only the generations it needs: each is read from the file
 * and handed to an in-memory reader behind a copy of the file header, so a
 * skipped generation is never decompressed or parsed. Returns -1 when the
 * file cannot be read this way (then the caller reads it sequentially). */
struct pass_fns {
	int pass;
	void (*generation)(struct report *r, const struct ct_generation *g);
	void (*event)(struct report *r, const struct ct_event *ev);
	int (*wanted)(struct report *r, const struct ct_generation *g);
};

static const struct pass_fns pass2_fns = {2, report_detail_generation, report_detail_event,
					  report_detail_wanted};
static const struct pass_fns pass3_fns = {3, report_holder_generation, report_holder_event,
					  report_holder_wanted};

static int read_spans(struct report *r, const char *path, struct report_file *f,
		      const struct pass_fns *fns, const struct report_span *spans, int64_t n,
		      uint64_t *read, report_progress_fn progress, void *arg)
{
	if (n < 0 || f->header_bytes == 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uint64_t hdr = f->header_bytes, max = 0;
	for (int64_t i = 0; i < n; i++)
		if (spans[i].size > max)
			max = spans[i].size;
	uint8_t *buf = malloc(hdr + max);
	int rc = 0;
	if (!buf || pread(fd, buf, hdr, 0) != (ssize_t)hdr)
		rc = -1;
	struct ct_event ev;
	uint64_t events = 0;
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		const struct ct_generation *g;
		ct_reader *rd = NULL;
		if (pread(fd, buf + hdr, spans[i].size, (off_t)spans[i].offset) !=
			    (ssize_t)spans[i].size ||
		    ct_reader_open_mem(buf, hdr + spans[i].size, &rd) < 0 ||
		    (ct_reader_set_order(rd, CT_ORDER_THREAD), ct_reader_next_generation(rd, &g)) !=
			    1) {
			/* The file changed under us: keep what the pass has. */
			ct_reader_close(rd);
			break;
		}
		fns->generation(r, g);
		while (ct_reader_next_in_generation(rd, &ev) == 1)
			fns->event(r, &ev);
		events += g->nevents;
		(*read)++;
		ct_reader_close(rd);
		if (progress)
			progress(arg, fns->pass, spans[i].offset + spans[i].size, f->file_size,
				 events);
	}
	free(buf);
	close(fd);
	return rc;
}

static int pass2_spans(struct report *r, const char *path, struct report_file *f,
		       report_progress_fn progress, void *arg)
{
	const struct report_span *spans;
	int64_t n = report_detail_spans(r, &spans);
	int rc =
		read_spans(r, path, f, &pass2_fns, spans, n, &f->detail_generations, progress, arg);
	if (rc == 0)
		f->detail_skipped = f->generations - f->detail_generations;
	return rc;
}

static void pass_all(struct report *r, const char *path, struct report_file *f,
		     const struct pass_fns *fns, uint64_t *read, uint64_t *skipped,
		     report_progress_fn progress, void *arg)
{
	ct_reader *rd = NULL;
	if (ct_reader_open(path, &rd) < 0) {
		ct_reader_close(rd);
		return;
	}
	ct_reader_set_order(rd, CT_ORDER_THREAD);
	const struct ct_generation *g;
	struct ct_event ev;
	uint64_t events = 0;
	/* Never past the generations pass 1 read intact. */
	for (uint64_t i = 0; i < f->generations && ct_reader_next_generation(rd, &g) == 1; i++) {
		int want = fns->wanted(r, g);
		if (want < 0)
			break;
		if (want == 0) {
			(*skipped)++;
			continue;
		}
		fns->generation(r, g);
		while (ct_reader_next_in_generation(rd, &ev) == 1)
			fns->event(r, &ev);
		events += g->nevents;
		(*read)++;
		if (progress)
			progress(arg, fns->pass, ct_reader_offset(rd), f->file_size, events);
	}
	ct_reader_close(rd);
}

int report_run(struct report *r, const char *path, struct report_file *f,
	       report_progress_fn progress, void *arg)
{
	memset(f, 0, sizeof(*f));
	ct_reader *rd = NULL;
	int rc = ct_reader_open(path, &rd);
	if (rc < 0) {
		set_error(f, rd, rc);
		ct_reader_close(rd);
		return -1;
	}
	f->file_size = ct_reader_file_size(rd);
	copy_meta(f, ct_reader_info(rd));
	report_trace_meta(r, ct_reader_info(rd)->meta, ct_reader_info(rd)->nmeta);
	ct_reader_set_order(rd, CT_ORDER_THREAD);
	rc = pass1(r, rd, f, progress, arg);
	if (rc < 0) {
		set_error(f, rd, rc);
		f->damaged = 1;
	}
	f->complete = ct_reader_complete(rd);
	ct_reader_close(rd);
	if (report_pass1_done(r) > 0 && f->generations > 0 &&
	    pass2_spans(r, path, f, progress, arg) < 0)
		pass_all(r, path, f, &pass2_fns, &f->detail_generations, &f->detail_skipped,
			 progress, arg);
	if (r->opt.holders && r->nslow > 0 && f->generations > 0) {
		const struct report_span *spans;
		int64_t n = report_holder_spans(r, &spans);
		uint64_t skipped = 0;
		if (n != 0 && read_spans(r, path, f, &pass3_fns, spans, n, &f->holder_generations,
					 progress, arg) < 0)
			pass_all(r, path, f, &pass3_fns, &f->holder_generations, &skipped, progress,
				 arg);
	}
	report_finish(r);
	if (!f->damaged)
		return 0;
	return f->generations > 0 ? 1 : -1;
}

void report_file_free(struct report_file *f)
{
	/* The array is NULL-terminated even when a copy failed part way. */
	for (uint32_t i = 0; f->meta && f->meta[i]; i++)
		free(f->meta[i]);
	free(f->meta);
	f->meta = NULL;
	f->nmeta = 0;
}
