/* Internal state of the report analysis, shared by its pass-1 (report.c)
 * and pass-2 (report_detail.c) halves. */
#ifndef CT_ANALYSIS_REPORT_INT_H
#define CT_ANALYSIS_REPORT_INT_H

#include "analysis/hist.h"
#include "analysis/report.h"
#include "analysis/table.h"

/* Deeper region or task nesting than this is a program bug or a damaged
 * trace; the excess is counted, not stored, so memory stays bounded. */
#define REGION_DEPTH_MAX 1024
#define TASK_STACK_MAX	 64
/* Distinct strings (region names, task types, log categories). */
#define NAMES_MAX (1u << 20)

struct open_region { /* pass 1 */
	uint64_t begin;
	uint64_t child_ns; /* time in closed child regions */
	uint32_t name;
};

struct dtask { /* pass 2: an entry of a thread's task stack */
	uint64_t id;
	int32_t slow; /* index into r->slow, -1 when not a slow task */
};

struct dregion { /* pass 2: an open region */
	uint64_t begin;
	int32_t slow; /* the slow task current when it began, or -1 */
	int32_t node; /* its node in that task's tree */
};

/* A thread's open wait, in either pass. Site strings are name ids. */
struct wopen {
	uint64_t begin, object, detail;
	uint32_t reason, func, file, line;
	uint32_t holder, holder_tid;
	int32_t site; /* pass 1: slot in r->sites, -1 past the cap */
	int open;
};

struct wsite {
	uint64_t key;
	uint32_t reason, func, file, line;
	uint64_t count, open, total, max;
	struct {
		uint32_t index, tid;
		uint64_t n;
	} hold[4]; /* Misra-Gries candidates for the most frequent holder */
};

struct rthread {
	struct report_thread pub;
	/* pass 1 */
	uint64_t first_ts, last_ts1; /* first_ts UINT64_MAX before its first event */
	struct wopen w1;
	struct open_region *regions;
	uint32_t nregions, cap, overflow;
	/* pass 2 */
	struct dtask tasks[TASK_STACK_MAX];
	uint32_t ntasks;
	struct dregion *dregions;
	uint32_t ndregions, dcap, doverflow;
	struct wopen w2;
	uint64_t last_ts; /* of its previous event in pass 2 */
	int has_last;	  /* last_ts is set */
};

struct rtype {
	uint32_t name;
	uint64_t unfinished, oldest_unfinished;
	struct hist h;
};

struct rstat {
	uint64_t count, total, self, max;
};

struct slow_ent {
	uint64_t latency, id, begin, end, parent;
	uint32_t type;
};

/* Pass-2 state of one slow task. */
struct slow_task {
	struct report_task pub;
	uint32_t cap_regions;
	int32_t *first_child, *next_sibling; /* per node */
	uint32_t *node_name;
	uint64_t *first_begin; /* per node: the earliest begin, to order siblings */
	int32_t first_root;
	uint32_t cap_logs;
};

struct gen_range {
	uint64_t min, max;
	uint64_t offset, size; /* the generation's frame in the file */
	uint64_t nevents;
};

struct report {
	struct report_options opt;
	struct report_result res;
	int finished;

	struct strtab names;
	struct ptrcache pc;

	/* threads: index -> slot */
	struct rthread *threads;
	uint32_t nthreads, cap_threads;
	struct u64map thread_slot;
	const struct ct_generation *gen; /* current generation, may be NULL */
	uint32_t *gen_slots;		 /* slot of gen->threads[i] */
	uint32_t cap_gen_slots;
	const struct ct_thread_info *last_ti;
	uint32_t last_slot;
	uint64_t counted; /* events credited to threads so far */

	/* tasks */
	struct taskmap open;
	struct rtype *types;
	uint32_t ntypes, cap_types;
	uint32_t *name_type; /* name id -> type slot + 1, 0 = none */
	uint32_t cap_name_type;
	struct slow_ent *heap;
	uint32_t nheap;

	/* regions, by name id */
	struct rstat *rstats;
	uint32_t cap_rstats;

	/* generations seen in pass 1, for skipping in pass 2 */
	struct gen_range *gens;
	uint64_t ngens, cap_gens;
	uint64_t detail_gen;  /* index of the next generation in pass 2 */
	uint64_t last_wanted; /* last generation index pass 2 needs + 1 */
	struct report_span *spans;
	int detail_fed; /* pass 2 saw events */

	/* the lean path: what to do per type byte, and the current
	 * generation's string id -> name id + 1 (0: not resolved yet) */
	uint8_t lk[256];
	uint32_t *sname;
	uint64_t cap_sname;

	/* waits: sites by (reason, function, file, line) */
	struct wsite *sites;
	uint32_t nsites;
	struct u64map site_slot;

	/* pass 2 */
	struct slow_task *slow;
	uint32_t nslow;
	uint64_t *slow_ids; /* sorted, with slow_idx */
	int32_t *slow_idx;
};

struct rthread *report_thread_of(struct report *r, const struct ct_thread_info *ti);
void report_detail_free(struct report *r);
void report_detail_close(struct report *r); /* end of pass 2: close open regions */

/* Waits (report_wait.c). */
void wait_begin1(struct report *r, struct rthread *t, const struct ct_event *ev);
void wait_end1(struct report *r, struct rthread *t, uint64_t ts);
void waits_pass1_done(struct report *r);
void wait_begin2(struct report *r, struct rthread *t, int32_t si, const struct ct_event *ev);
void wait_end2(struct report *r, struct rthread *t, int32_t si, uint64_t ts, int open);
void wait_slice(struct slow_task *s, const struct rthread *t, uint64_t d);
void waits_detail_close(struct report *r);
void waits_finish(struct report *r);
void waits_free(struct report *r);

#endif
