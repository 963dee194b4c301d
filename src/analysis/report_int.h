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
	/* pass 2 and 3: the stack from the call site out, as name ids */
	uint32_t nfr;
	uint32_t fr[REPORT_STACK_FRAMES][3]; /* function, file, line */
};

/* Name ids of a stack's frames from `from` on, at most REPORT_STACK_FRAMES
 * (report_wait.c); n frames written. */
uint32_t report_stack_ids(struct report *r, const struct ct_stack *s, uint32_t from,
			  uint32_t out[][3]);
void report_sites_of(const struct report *r, const uint32_t ids[][3], uint32_t n,
		     struct report_site *out);
/* The first frame of a wait's stack that is the program's call site. */
uint32_t report_site_index(const struct ct_stack *s);

struct wsite {
	uint64_t key;
	uint32_t reason, func, file, line;
	uint64_t count, open, total, max;
	struct {
		uint32_t index, tid;
		uint64_t n;
	} hold[4]; /* Misra-Gries candidates for the most frequent holder */
};

/* A thread's scheduler state in one pass (report_sched.c). */
struct sched_st {
	uint8_t init;  /* `last` and `iv_start` are set */
	uint8_t state; /* SCH_ON, SCH_PREEMPTED, SCH_BLOCKED */
	uint8_t fault; /* the current blocked piece began right after a major fault */
	uint8_t pend;  /* a blocked piece in no wait, until a fault event may claim it */
	int32_t pend_si;
	uint64_t since;	   /* the current off-CPU piece began */
	uint64_t last;	   /* last event the state machine saw */
	uint64_t fault_ts; /* last major fault since the last sched.in, 0: none */
	uint64_t pend_from, pend_to;
	uint64_t iv_start;		 /* schedstat: the current sample interval began */
	uint64_t iv_wait[REPORT_STATES]; /* ...and its wait time so far, by state */
	uint64_t fiv_start;		 /* pass 2: the last fault count read from /proc */
	uint64_t fiv_wait;		 /* ...and the thread's wait time since */
};

/* Pass 2: a slow task's (and region's) time in no wait since the thread's
 * last fault count read from /proc, which the next count is spread over. */
#define FIV_PARTS 8
struct fiv_part {
	int32_t si;
	int32_t node; /* the task's region node, -1: outside its regions */
	uint64_t out;
};

/* Pass 2, schedstat: a slow task's share of the current sample interval. */
#define IV_TASKS 4
struct iv_task {
	int32_t si;
	uint64_t out;		      /* in no wait */
	uint64_t wait[REPORT_STATES]; /* in waits, by state */
};

struct rthread {
	struct report_thread pub;
	/* states (report_sched.c): accumulated signed, pieces are taken out
	 * of waits after the waits are counted */
	struct sched_st s1, s2;
	int64_t st1[REPORT_STATES];
	uint8_t pseudo;			 /* the [cgroup] pseudo-thread */
	uint8_t used_perf, used_samples; /* which scheduler data it had */
	uint8_t want, seen, gone;	 /* concurrency: wants a CPU; has events; ended */
	uint32_t gen_stamp;		 /* concurrency: generation of its last event */
	uint64_t *rq;			 /* runnable ns per time bucket (throttle) */
	struct iv_task iv2[IV_TASKS];
	uint32_t niv2;
	struct fiv_part fiv[FIV_PARTS];
	uint32_t nfiv;
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
#define TASK_FUNCS 32
struct slow_task {
	struct report_task pub;
	int64_t st[REPORT_STATES];
	struct {
		uint32_t name;
		uint64_t self, cum, self_ns, cum_ns;
		uint32_t nfr; /* the stack of its first sample as the innermost frame */
		uint32_t fr[REPORT_STACK_FRAMES][3];
	} fn[TASK_FUNCS]; /* functions in its CPU samples, first seen */
	uint32_t nfault_fr;
	uint32_t fault_fr[REPORT_STACK_FRAMES][3];
	uint32_t nfn;
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

/* Concurrency, throttling, faults and CPU samples (report_cpu.c). */
#define TB_BUCKETS	256	   /* time buckets for throttle reclassification */
#define LEVEL_MAX	1023	   /* threads wanting a CPU at once, counted exactly up to */
#define DELTAS_MAX	(1u << 20) /* per generation; beyond, it is left out of the sweep */
#define FAULT_SITES_MAX 1024

struct delta {
	uint64_t ts;
	int64_t d;
};

struct tiv { /* a throttle event's interval and throttled time */
	uint64_t from, to, ns;
};
#define TIV_MAX (1u << 16) /* beyond, neighbours are merged */

struct fsite {
	uint32_t func, file, line;
	uint64_t minor, major;
};

struct fstat {
	uint64_t self, cum, self_ns, cum_ns;
	uint32_t stamp; /* the last sample it was counted in (cumulative once per stack) */
};

struct rcpu {
	char *source_meta;
	char *scope_meta;
	double quota_cpus;
	uint32_t cgroup_cpus, affinity_cpus, online_cpus;
	/* throttle: time buckets from tb_origin, tb_width ns each */
	int tb_on, tb_origin_set;
	uint64_t tb_origin, tb_width;
	struct tiv *tiv;
	uint32_t ntiv;
	double tb_frac[TB_BUCKETS]; /* runnable share reclassified, after pass 1 */
	double frac_all;	    /* without buckets: one share for the whole trace */
	uint64_t rq_total;
	uint64_t thr_prev;
	/* concurrency: +1/-1 per generation, swept at its end */
	struct delta *deltas;
	uint64_t ndeltas, cap_deltas, gens_skipped;
	uint32_t gen_serial;
	uint64_t gmin, gmax;
	int have_gen;
	uint64_t lvl_ns[LEVEL_MAX + 1];
	/* faults */
	struct fsite *fsites;
	uint32_t nfsites;
	struct u64map fsite_slot;
	/* CPU samples, by name id */
	struct fstat *fn;
	uint32_t cap_fn, fn_stamp;
	/* pass 2 */
	uint64_t dseq;
	int dseq_set;
};

struct report {
	struct report_options opt;
	struct rcpu cpu;
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
	/* a dump's triggering task (trigger.task, 0: none), or the task asked
	 * for (opt.task): listed first */
	uint64_t pin_id, trigger_id;
	char *pin_type; /* trigger.task_type */
	struct slow_ent pin;
	int pin_done; /* it ended in the trace: pin is set */

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
	int detail_closed;
	struct hpass *h3;   /* pass 3 (report_holder.c) */
	uint64_t *slow_ids; /* sorted, with slow_idx */
	int32_t *slow_idx;
};

/* Makes room for n entries in r->gen_slots (a generation's threads). */
void report_gen_slots(struct report *r, uint32_t n);
struct rthread *report_thread_of(struct report *r, const struct ct_thread_info *ti);
void report_detail_free(struct report *r);
void report_detail_close(struct report *r); /* end of pass 2: close open regions */

/* Pass 3 (report_holder.c): from report_finish, after cpu_finish. */
void holder_finish(struct report *r);
void holder_free(struct report *r);

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

static inline int32_t report_cur_slow(const struct rthread *t)
{
	return t->ntasks ? t->tasks[t->ntasks - 1].slow : -1;
}

/* States (report_sched.c). pass: 1 or 2. */
void sched_event(struct report *r, struct rthread *t, int pass, const struct ct_event *ev);
void sched_wait_edge(struct report *r, struct rthread *t, int pass, uint64_t ts);
void sched_thread_end(struct report *r, struct rthread *t, int pass, uint64_t ts);
void sched_wait_time1(struct rthread *t, uint32_t reason, uint64_t d);
void sched_slice2(struct report *r, struct rthread *t, int32_t si, int32_t node, uint64_t d);
void sched_task_enter2(struct report *r, struct rthread *t, uint64_t ts);
void sched_detail_gap(struct report *r, uint64_t seq);
void sched_first2(struct rthread *t, uint64_t ts);
void sched_close1(struct report *r);
void sched_pass1_done(struct report *r);
void sched_detail_close(struct report *r);
void sched_finish(struct report *r);

/* CPU limits, concurrency, faults, samples (report_cpu.c). */
int cpu_init(struct report *r);
void cpu_free(struct report *r);
void cpu_generation(struct report *r, const struct ct_generation *g);
void cpu_gen_first(struct report *r, struct rthread *t, uint64_t ts);
void cpu_want(struct report *r, struct rthread *t, uint64_t ts, int want);
void cpu_runnable1(struct report *r, struct rthread *t, uint64_t from, uint64_t to,
		   uint64_t amount);
uint64_t cpu_throttled_part(const struct report *r, uint64_t from, uint64_t to, uint64_t amount);
void cpu_throttle1(struct report *r, const struct ct_event *ev);
void cpu_fault1(struct report *r, const struct ct_event *ev);
void cpu_sample(struct report *r, struct slow_task *s, const struct ct_event *ev);
void cpu_pass1_done(struct report *r);
uint64_t cpu_thread_throttled(const struct report *r, const struct rthread *t, uint64_t runnable);
void cpu_finish(struct report *r);

#endif
