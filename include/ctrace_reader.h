/* ctrace reading API: streams a trace one generation at a time, validates it,
 * and yields events with strings, threads and symbolized stacks resolved.
 * Memory stays bounded by the largest generation, whatever the file size. */
#ifndef CTRACE_READER_H
#define CTRACE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "ctrace_events.h"

#ifndef CT_API
#define CT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_reader ct_reader;

/* One logical frame. An address that the compiler inlined into others
 * expands to several frames: the innermost first, `inlined` set on all but
 * the last of that address. */
struct ct_frame {
	uint64_t pc;
	const char *function; /* "" when unknown */
	const char *file;     /* "" when unknown */
	uint32_t line;	      /* 0 when unknown */
	uint32_t inlined;     /* 1 when this frame was inlined into the next */
	const char *module;   /* path of the mapping holding pc, "" when unknown */
};

struct ct_stack {
	uint32_t id;
	uint32_t nframes;
	const struct ct_frame *frames; /* innermost first */
};

struct ct_thread_info {
	uint32_t index; /* stable within a trace (tids can be reused) */
	uint32_t tid;
	const char *name;
	uint32_t exited; /* the thread ended during this generation or before */
};

struct ct_event {
	uint8_t type;	       /* enum ct_event_type (src/format/spec.h, docs/FORMAT.md) */
	const char *type_name; /* from the file's spec table */
	uint64_t ts;	       /* CLOCK_MONOTONIC nanoseconds */
	const struct ct_thread_info *thread;
	uint32_t nargs;
	uint64_t args[6];    /* as recorded, except durations: converted to ns,
			      * and signed ones: two's complement int64 */
	const char *strs[6]; /* resolved string for string arguments, else NULL */
	const char *bytes;   /* byte-string payload (log message) or NULL; not
			      * NUL-terminated, nbytes long */
	size_t nbytes;
	const struct ct_stack *stack; /* NULL when the event has none */
};

struct ct_loss {
	const struct ct_thread_info *thread; /* NULL when not attributable */
	uint64_t count;
	uint64_t first_ts, last_ts; /* ns, CLOCK_MONOTONIC */
	uint32_t reason;	    /* enum ct_loss_reason */
};

struct ct_generation {
	uint64_t seq;
	uint64_t offset;	 /* byte offset of the generation in the file */
	uint64_t size;		 /* bytes it takes in the file */
	uint64_t raw_size;	 /* decoded payload size */
	uint64_t min_ts, max_ts; /* ns, range of its events (0,0 when empty) */
	uint64_t nevents;
	uint32_t clock_kind; /* enum ct_clock_kind */
	uint64_t ticks_per_sec;
	int64_t realtime_offset_ns; /* CLOCK_REALTIME = monotonic ts + this */
	uint32_t nthreads;
	const struct ct_thread_info *threads;
	uint32_t nloss; /* loss entries of the generation's LOSS section */
	const struct ct_loss *loss;
	uint32_t nmeta;
	const char *const *meta; /* key, value, key, value... */
};

struct ct_trace_info {
	uint32_t version_major, version_minor;
	uint32_t nmeta;
	const char *const *meta; /* header metadata: key, value, ... */
	uint32_t nspecs;
	struct ct_event_spec {
		uint8_t type, argc, flags;
		const char *name;
		const uint8_t *arg_kinds;
	} const *specs;
};

/* Event order within a generation. */
enum ct_order {
	CT_ORDER_TIME = 0,   /* all threads merged by timestamp (default) */
	CT_ORDER_THREAD = 1, /* thread after thread, each in its own order: faster */
};

/* Opens a trace and reads its header. Returns 0 or a negative error; on
 * error *out may still hold a reader whose ct_reader_error() says why (close
 * it). */
CT_API int ct_reader_open(const char *path, ct_reader **out);
CT_API int ct_reader_open_fd(int fd, ct_reader **out); /* fd is not closed */
CT_API int ct_reader_open_mem(const void *buf, size_t len, ct_reader **out);
CT_API void ct_reader_close(ct_reader *r);

CT_API void ct_reader_set_order(ct_reader *r, enum ct_order order);

CT_API const struct ct_trace_info *ct_reader_info(const ct_reader *r);

/* Loads the next generation. Returns 1 and sets *g, 0 at the clean end of
 * the trace, or a negative error (ct_reader_error() names the byte offset
 * and what was wrong; every generation before it was returned intact). */
CT_API int ct_reader_next_generation(ct_reader *r, const struct ct_generation **g);

/* Yields the next event of the current generation, loading generations as
 * needed. Returns 1, 0 at the end, or a negative error. Pointers in *ev stay
 * valid until the next generation is loaded. */
CT_API int ct_reader_next(ct_reader *r, struct ct_event *ev);

/* Like ct_reader_next but stops at the end of the current generation
 * (returns 0 there) instead of loading the next one. */
CT_API int ct_reader_next_in_generation(ct_reader *r, struct ct_event *ev);

/* After the last generation: 1 when the trace ended with its end frame,
 * 0 when it was cut short (the writer died or the copy is incomplete). */
CT_API int ct_reader_complete(const ct_reader *r);

/* Bytes of the file consumed so far (for progress lines) and its size when
 * known (0 otherwise). */
CT_API uint64_t ct_reader_offset(const ct_reader *r);
CT_API uint64_t ct_reader_file_size(const ct_reader *r);

/* The last error as one line, e.g. "truncated generation 7 at byte 1048576:
 * 6 complete generations read". NULL when there was none. */
CT_API const char *ct_reader_error(const ct_reader *r);

/* Reading ahead. By default, from the second generation on, a thread of the
 * reader loads the next generation (reads it, checks its CRCs, decompresses
 * and validates it) while the caller iterates the current one: at most two
 * generations are in memory, and errors still arrive in order, after every
 * generation before the damage. on = 0 loads in the caller's thread
 * instead, as does CTRACE_READER_THREADS=0 in the environment. Call before
 * the first ct_reader_next_generation or ct_reader_next; returns 0, or
 * -EBUSY after that. With an fd source, the thread may have read past the
 * generation the caller is at when the reader is closed. */
CT_API int ct_reader_set_prefetch(ct_reader *r, int on);

/* Up to n events of the current generation into evs[0..n), in the order
 * ct_reader_next_in_generation would yield them. Returns how many (0 at
 * the end of the generation, less than n only there) or a negative error.
 * Cheaper per event than one call each. */
CT_API int ct_reader_next_batch(ct_reader *r, struct ct_event *evs, int n);

#ifdef __cplusplus
}
#endif
#endif
