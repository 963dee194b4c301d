/* pprof profile writer: builds a perftools.profiles.Profile (profile.proto)
 * in memory, deduplicated, and writes it gzip-compressed or as a text table. */
#ifndef CT_EXPORT_PPROF_H
#define CT_EXPORT_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Usage: pprof_new() with the value types, pprof_mapping() for each module,
 * pprof_location() for each distinct (pc, frames), pprof_add_sample() for
 * each observation, then pprof_write() and pprof_free().
 *
 * Ids returned by pprof_mapping() and pprof_location() are small dense
 * integers starting at 1; 0 means "none" (as in profile.proto) and is also
 * what those functions return on failure. Strings are copied: the caller's
 * buffers may be reused right after each call.
 *
 * Errors: functions returning int give 0 or a negative errno. Setters that
 * return nothing remember an allocation failure; pprof_write() reports it,
 * so a profile is never written silently incomplete.
 *
 * Not thread-safe: one profile is built by one thread.
 */

struct pprof;

/* One frame of a location. Frames are given innermost first: the inlined
 * callees, then the function the code was inlined into (the order of
 * ctrace's reader and of profile.proto's Location.line). */
struct pprof_line {
	const char *function; /* NULL or "" skips the frame (unknown) */
	const char *file;     /* NULL or "" when unknown */
	int64_t line;	      /* 0 when unknown */
};

/* A sample label: a string label when str is not NULL, else numeric. Note
 * that pprof itself drops a label whose value is "" (string) or 0 without
 * a unit (numeric): profile.proto cannot tell those from absent. */
struct pprof_label {
	const char *key;
	const char *str;
	int64_t num;
	const char *unit; /* numeric labels only, e.g. "bytes"; NULL for none */
};

/* A profile whose samples carry nvalues values each, of the given types and
 * units (e.g. {"contentions", "delay"}, {"count", "nanoseconds"}; pprof's
 * convention puts a "count" first). Returns NULL on ENOMEM or EINVAL. */
struct pprof *pprof_new(const char *const *sample_types, const char *const *units, int nvalues);
void pprof_free(struct pprof *p);

/* What one unit of sampling stands for: e.g. ("cpu", "nanoseconds", 1e7)
 * for a 100 Hz sampler. Optional. */
void pprof_set_period(struct pprof *p, const char *type, const char *unit, int64_t period);
/* Wall clock start (ns since the epoch) and length of the profiled span. */
void pprof_set_time(struct pprof *p, int64_t time_nanos, int64_t duration_nanos);
void pprof_add_comment(struct pprof *p, const char *comment);
/* The value type pprof shows by default (it shows the last one otherwise);
 * must name one of the sample types. */
void pprof_set_default_sample_type(struct pprof *p, const char *type);

/* A loaded module [start, limit) mapped from file at offset. build_id is raw
 * bytes (written as lowercase hex, as pprof and debuginfod expect); it may be
 * NULL. Deduplicated: the same arguments give the same id. Returns 0 on
 * failure. */
uint64_t pprof_mapping(struct pprof *p, uint64_t start, uint64_t limit, uint64_t offset,
		       const char *file, const uint8_t *build_id, size_t build_id_len);

/* A code address (mapping_id 0 when unknown) and its frames, innermost
 * first. Functions are deduplicated by (name, file); locations by (address,
 * mapping, frames). Returns the location id, or 0 on failure (ENOMEM, or a
 * mapping id that pprof_mapping() did not return). */
uint64_t pprof_location(struct pprof *p, uint64_t address, uint64_t mapping_id,
			const struct pprof_line *lines, int nlines);

/* Adds values (nvalues of them) to the sample with this stack (location ids,
 * leaf first) and label set. Samples with the same stack and the same labels
 * (in any order) are one sample whose values accumulate. Returns 0, -EINVAL
 * (unknown location id, bad count) or -ENOMEM. */
int pprof_add_sample(struct pprof *p, const uint64_t *locations, int nlocations,
		     const int64_t *values, const struct pprof_label *labels, int nlabels);

/* Number of distinct samples so far (after deduplication). */
size_t pprof_sample_count(const struct pprof *p);

/* Writes the gzip-compressed protobuf to fd. Memory stays bounded: the
 * encoding is streamed through zlib, one message at a time. Returns 0 or a
 * negative errno (the first failure recorded while building, or a write
 * error). */
int pprof_write(struct pprof *p, int fd);

/* A `pprof -top`-like table of the default sample type: flat, flat%, sum%,
 * cum, cum% per function, sorted by flat, values scaled and formatted as
 * pprof does. Shows the first `top` rows (all when top <= 0). Returns 0 or
 * a negative errno. */
int pprof_write_text(struct pprof *p, FILE *f, int top);

#endif
