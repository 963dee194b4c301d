/* Blocking profiles (`ctrace profile`): turns a trace's waits, scheduler
 * intervals and CPU samples into a pprof profile (src/export/pprof.h), one
 * kind of time per profile. Fed events directly, so it can be tested
 * without a file; profile_read() drives it over a reader.
 *
 * What each type holds (docs/DECISIONS.md, "Blocking profiles"):
 *   sync     contended mutex, rwlock, semaphore, join and barrier waits:
 *            contentions (count) and delay (ns) at the wait's call site,
 *            labelled reason, holder (or joined), thread, task, region.
 *            Condition-variable waits (waiting for work) only with
 *            include_idle.
 *   syscall  waits in interposed calls: file, pipe, other fd, network,
 *            poll/event loop, sleep: waits (count) and delay (ns),
 *            labelled reason, call, fd_kind, thread, task, region.
 *   net      the network (socket) waits of syscall only.
 *   sched    runnable time: preempted intervals (sched.out preempted to
 *            the next sched.in) and schedstat samples' runnable time:
 *            delays (count) and runnable (ns).
 *   cpu      cpu.sample events: samples (count) and cpu (ns, the weights).
 * A wait still open when the trace ends counts up to the trace's last
 * event, labelled unfinished=true. */
#ifndef CT_ANALYSIS_PROFILE_H
#define CT_ANALYSIS_PROFILE_H

#include <stdint.h>

#include "ctrace_reader.h"
#include "export/pprof.h"

enum profile_type {
	PROFILE_SYNC,
	PROFILE_SYSCALL,
	PROFILE_NET,
	PROFILE_SCHED,
	PROFILE_CPU,
	PROFILE_NTYPES
};

/* "sync", "syscall", ...; parse returns 0 or -1 for an unknown name. */
const char *profile_type_name(enum profile_type t);
int profile_type_parse(const char *s, enum profile_type *t);

/* The profile's two sample types, count first: e.g. {"contentions",
 * "delay"} in {"count", "nanoseconds"}. */
void profile_sample_types(enum profile_type t, const char *types[2], const char *units[2]);

struct profile_options {
	enum profile_type type;
	int include_idle;      /* sync: condition-variable waits too */
	const char *task_type; /* only what happened in a task of this type; NULL: all */
	const char *thread;    /* only threads of this name (or this tid); NULL: all */
	/* Time window, as offsets from the trace's first event: what overlaps
	 * [from_ns, to_ns) counts, clipped to it. has_to = 0: to the end. */
	uint64_t from_ns, to_ns;
	int has_to;
};

struct profile_stats {
	uint64_t generations;	   /* generations read */
	uint64_t events;	   /* events seen */
	uint64_t samples;	   /* observations added: waits, intervals, samples */
	uint64_t total_ns;	   /* their time value (delay, runnable, cpu) */
	uint64_t unfinished;	   /* of them, still open at the trace's end */
	uint64_t unmatched;	   /* begins whose end was lost (loss, nesting): left out */
	uint64_t idle;		   /* sync: condition-variable waits left out */
	uint64_t filtered;	   /* left out by the thread, task or time filters */
	uint64_t perf, schedstat;  /* sched: of the samples, preempted intervals and
				    * schedstat samples */
	uint64_t start_ns, end_ns; /* first and last event of the trace */
};

struct profile;

/* NULL on ENOMEM. The options' strings must outlive the profile. */
struct profile *profile_new(const struct profile_options *o);
void profile_free(struct profile *pr);

/* Call at each generation, before its events: its thread table names lock
 * holders and its time range bounds the trace. */
int profile_generation(struct profile *pr, const struct ct_generation *g);
/* One event of the current generation. Returns 0 or -ENOMEM. */
int profile_event(struct profile *pr, const struct ct_event *ev);

/* Reads every generation of r into pr (thread order). Returns 0, or the
 * reader's negative error after everything before the damage was fed. */
int profile_read(struct profile *pr, ct_reader *r);

/* Ends what is still open at the trace's last event, names late-resolved
 * holders, and returns the pprof profile (owned by pr, valid until
 * profile_free), or NULL on ENOMEM. info (may be NULL) gives the CPU
 * sampling period. Call once. */
struct pprof *profile_finish(struct profile *pr, const struct ct_trace_info *info,
			     struct profile_stats *st);

#endif
