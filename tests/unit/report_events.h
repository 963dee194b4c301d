/* Synthetic events and small lookups shared by the report's unit tests
 * (test_report*.c): a handful of threads, constructors for every event kind,
 * and a driver that feeds events to pass 1 and pass 2. */
#ifndef CT_TESTS_REPORT_EVENTS_H
#define CT_TESTS_REPORT_EVENTS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/hist.h"
#include "analysis/report.h"
#include "tracebuilder.h"

__attribute__((unused)) static struct ct_thread_info thr[5] = {
	{0, 0, "", 0},	     {1, 101, "main", 0},   {2, 102, "worker", 0},
	{3, 103, "pool", 0}, {4, 0, "[cgroup]", 0}, /* the writer's pseudo-thread for throttle
						       events */
};

/* ---- event constructors ---- */

static inline struct ct_event ev0(uint8_t type, uint32_t th, uint64_t ts)
{
	struct ct_event e;
	memset(&e, 0, sizeof(e));
	e.type = type;
	e.ts = ts;
	e.thread = &thr[th];
	return e;
}

static inline struct ct_event tbegin(uint32_t th, uint64_t ts, uint64_t id, const char *type)
{
	struct ct_event e = ev0(CT_EV_TASK_BEGIN, th, ts);
	e.nargs = 3;
	e.args[0] = id;
	e.strs[1] = type;
	return e;
}

static inline struct ct_event tid_ev(uint8_t type, uint32_t th, uint64_t ts, uint64_t id)
{
	struct ct_event e = ev0(type, th, ts);
	e.nargs = 1;
	e.args[0] = id;
	return e;
}

#define tend(th, ts, id)   tid_ev(CT_EV_TASK_END, th, ts, id)
#define tenter(th, ts, id) tid_ev(CT_EV_TASK_ENTER, th, ts, id)
#define tleave(th, ts, id) tid_ev(CT_EV_TASK_LEAVE, th, ts, id)

static inline struct ct_event rbegin(uint32_t th, uint64_t ts, const char *name)
{
	struct ct_event e = ev0(CT_EV_REGION_BEGIN, th, ts);
	e.nargs = 1;
	e.strs[0] = name;
	return e;
}

#define rend(th, ts) ev0(CT_EV_REGION_END, th, ts)

static inline struct ct_event logev(uint32_t th, uint64_t ts, const char *cat, const char *msg)
{
	struct ct_event e = ev0(CT_EV_LOG, th, ts);
	e.nargs = 1;
	e.strs[0] = cat;
	e.bytes = msg;
	e.nbytes = strlen(msg);
	return e;
}

static inline struct ct_event lossev(uint32_t th, uint64_t ts, uint64_t count, uint64_t span,
				     uint32_t reason)
{
	struct ct_event e = ev0(CT_EV_LOSS, th, ts);
	e.nargs = 3;
	e.args[0] = count;
	e.args[1] = span;
	e.args[2] = reason;
	return e;
}

static inline struct ct_event wbegin(uint32_t th, uint64_t ts, uint32_t reason, uint64_t object,
				     uint64_t detail, const struct ct_stack *stack)
{
	struct ct_event e = ev0(CT_EV_WAIT_BEGIN, th, ts);
	e.nargs = 3;
	e.args[0] = reason;
	e.args[1] = object;
	e.args[2] = detail;
	e.stack = stack;
	return e;
}

static inline struct ct_event wend(uint32_t th, uint64_t ts)
{
	struct ct_event e = ev0(CT_EV_WAIT_END, th, ts);
	e.nargs = 1;
	return e;
}

/* Kernel and sampled sources (format 1.2). */
static inline struct ct_event ev3(uint8_t type, uint32_t th, uint64_t ts, uint64_t a0, uint64_t a1,
				  uint64_t a2)
{
	struct ct_event e = ev0(type, th, ts);
	e.nargs = 3;
	e.args[0] = a0;
	e.args[1] = a1;
	e.args[2] = a2;
	return e;
}

#define sout(th, ts, state)		       ev3(CT_EV_SCHED_OUT, th, ts, state, 0, 0)
#define sin_(th, ts)			       ev3(CT_EV_SCHED_IN, th, ts, 0, 0, 0)
#define ssample(th, ts, runnable, running)     ev3(CT_EV_SCHED_SAMPLE, th, ts, runnable, running, 1)
#define throttle(ts, periods_thr, ns, periods) ev3(CT_EV_THROTTLE, 4, ts, periods_thr, ns, periods)

static inline struct ct_event faultev(uint32_t th, uint64_t ts, uint64_t kind, uint64_t count,
				      uint64_t addr, const struct ct_stack *stack)
{
	struct ct_event e = ev3(CT_EV_FAULT, th, ts, kind, count, addr);
	e.stack = stack;
	return e;
}

static inline struct ct_event kernelev(uint32_t th, uint64_t ts, uint64_t ns)
{
	struct ct_event e = ev3(CT_EV_KERNEL_TIME, th, ts, ns, 0, 0);
	e.nargs = 1;
	return e;
}

static inline struct ct_event cpusample(uint32_t th, uint64_t ts, uint64_t weight,
					const struct ct_stack *stack)
{
	struct ct_event e = ev3(CT_EV_CPU_SAMPLE, th, ts, weight, 0, 0);
	e.nargs = 1;
	e.stack = stack;
	return e;
}

/* Both passes over the same events, in the given (thread) order. */
static inline struct report *run(const struct ct_event *evs, size_t n, unsigned top)
{
	struct report_options o = {.top_tasks = top, .top_regions = REPORT_DEFAULT_TOP_REGIONS};
	struct report *r = report_new(&o);
	assert_non_null(r);
	for (size_t i = 0; i < n; i++)
		report_event(r, &evs[i]);
	report_pass1_done(r);
	for (size_t i = 0; i < n; i++)
		report_detail_event(r, &evs[i]);
	report_finish(r);
	return r;
}

static inline const struct report_type *type_named(const struct report_result *res,
						   const char *name)
{
	for (uint32_t i = 0; i < res->ntypes; i++)
		if (strcmp(res->types[i].name, name) == 0)
			return &res->types[i];
	fail_msg("no task type %s", name);
	return NULL;
}

static inline const struct report_region_node *node_named(const struct report_task *t,
							  const char *name)
{
	for (uint32_t i = 0; i < t->nregions; i++)
		if (strcmp(t->regions[i].name, name) == 0)
			return &t->regions[i];
	fail_msg("task %llu has no region %s", (unsigned long long)t->id, name);
	return NULL;
}

static inline const struct report_region_stat *stat_named(const struct report_result *res,
							  const char *name)
{
	for (uint32_t i = 0; i < res->ntop_regions; i++)
		if (strcmp(res->top_regions[i].name, name) == 0)
			return &res->top_regions[i];
	fail_msg("no region %s", name);
	return NULL;
}

static inline void assert_within_1pct(uint64_t got, uint64_t want)
{
	double err = got > want ? (double)(got - want) : (double)(want - got);
	if (err > 0.01 * (double)want)
		fail_msg("got %llu, want %llu within 1%%", (unsigned long long)got,
			 (unsigned long long)want);
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Exact percentile by the definition the report uses: rank ceil(q*n). */
static inline uint64_t exact_pct(const uint64_t *sorted, size_t n, unsigned per10k)
{
	size_t rank = (n * per10k + 9999) / 10000;
	return sorted[rank ? rank - 1 : 0];
}

/* ---- tests ---- */

#endif
