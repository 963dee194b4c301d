/* Internals of the blocking profiles shared by profile.c (threads and the
 * event state machine) and profile_sample.c (stacks, labels, samples). */
#ifndef CT_ANALYSIS_PROFILE_INT_H
#define CT_ANALYSIS_PROFILE_INT_H

#include <stdint.h>
#include <stdlib.h>

#include "analysis/profile.h"
#include "analysis/table.h"

#define NAMES_MAX   (1u << 20) /* distinct strings kept (names, labels) */
#define REGIONS_MAX 64u	       /* open regions remembered per thread, outermost first */
#define PENDING_MAX (1u << 20) /* samples held back for a holder named later */

/* Where a wait or an interval began: its stack (pprof location ids, leaf
 * first) and the labels of that moment. */
struct origin {
	uint64_t *locs;
	uint32_t nlocs, cap;
	uint32_t task;	 /* task type (name id), 0: none or unknown */
	uint32_t region; /* innermost open region (name id), 0: none */
	int keep;	 /* passed the thread and task filters */
};

struct task_ref {
	uint64_t id;
	uint32_t type;
};

struct pthr {
	uint32_t index, tid;
	uint32_t name, label; /* name ids: "name", "name (tid)" */
	int exited, match;    /* match: passes the thread filter */
	struct task_ref *tasks;
	uint32_t ntasks, tasks_cap;
	uint32_t regions[REGIONS_MAX];
	uint32_t depth; /* open regions, may exceed REGIONS_MAX */
	/* The open wait. */
	int wopen;
	uint64_t wbegin, wdetail;
	uint32_t wreason;
	uint32_t wholder; /* thread slot + 1 of the holder/joined thread, 0 unknown */
	struct origin w;
	/* The open preempted interval (sched). */
	int oopen;
	uint64_t obegin;
	struct origin o;
	/* The latest CPU sample's stack, while the thread has neither blocked
	 * nor recorded an event of its own since (sched attribution). */
	struct origin c;
	int cfresh;
};

/* A sync sample whose holder tid named no thread yet: added at the end. */
struct pending {
	uint64_t holder_tid;
	int64_t values[2];
	uint32_t reason, thread_label, task, region;
	int unfinished;
	size_t locs;
	uint32_t nlocs;
};

struct profile {
	struct profile_options o;
	struct pprof *pp;
	struct profile_stats st;
	int have_start;
	int64_t realtime_offset;

	struct strtab names;
	struct pthr *th;
	uint32_t nth, th_cap;
	struct u64map th_slot;	/* thread index + 1 -> slot */
	struct u64map tid_slot; /* tid + 1 -> slot: the live thread with that tid */
	struct taskmap tasks;	/* task id -> type, while open */

	/* This generation's stacks as location ids: stack id -> offset + 1 in
	 * gpool, where [n, loc...] is stored. */
	struct u64map gstacks;
	uint64_t *gpool;
	size_t ngpool, gpool_cap;
	struct u64map synth; /* (kind << 32 | name id) + 1 -> location id */

	struct pending *pend;
	size_t npend, pend_cap;
	uint64_t *ppool;
	size_t nppool, ppool_cap;
	int finished;
};

static inline int pf_grow(void **p, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elsz);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}
#define GROW(p, cap, need) pf_grow((void **)&(p), &(cap), (need), sizeof(*(p)))

static inline int pf_grow32(void **p, uint32_t *cap, uint32_t need, size_t elsz)
{
	size_t c = *cap;
	int rc = pf_grow(p, &c, need, elsz);
	*cap = (uint32_t)c;
	return rc;
}
#define GROW32(p, cap, need) pf_grow32((void **)&(p), &(cap), (need), sizeof(*(p)))

/* profile.c */
struct pthr *pf_thread_by_tid(const struct profile *pr, uint64_t tid);

/* profile_sample.c */
const uint64_t *pf_stack_locs(struct profile *pr, const struct ct_stack *s, uint32_t *n);
int pf_synth_chain(struct profile *pr, const struct pthr *t, struct origin *o);
void pf_origin_here(const struct profile *pr, const struct pthr *t, struct origin *o);
int pf_origin_stack(struct profile *pr, const struct pthr *t, const struct ct_stack *s,
		    struct origin *o);
int pf_is_fd_wait(uint32_t reason);
int pf_holder_reason(uint32_t reason);
int pf_wait_sample(struct profile *pr, struct pthr *t, uint64_t end, int unfinished);
int pf_interval_sample(struct profile *pr, struct pthr *t, uint64_t end, int unfinished);
int pf_sched_sample(struct profile *pr, struct pthr *t, const struct ct_event *ev);
int pf_cpu_sample(struct profile *pr, struct pthr *t, const struct ct_event *ev);
int pf_add_pending(struct profile *pr, uint64_t pid);

#endif
