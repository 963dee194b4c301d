/* Unit tests of the report's thread states (src/analysis/report_sched.c and
 * report_cpu.c): each rule of docs/REPORT-JSON.md "States" on a synthetic
 * trace whose answer is known by construction. */
#include "report_events.h"

#define MS 1000000ull

/* Both passes, with header metadata and one generation spanning [lo, hi]
 * when hi > 0 (so the time buckets start at lo). */
static struct report *run_meta(const struct ct_event *evs, size_t n, unsigned top,
			       const char *const *meta, uint32_t nmeta, uint64_t lo, uint64_t hi)
{
	struct report_options o = {.top_tasks = top, .top_regions = REPORT_DEFAULT_TOP_REGIONS};
	struct report *r = report_new(&o);
	assert_non_null(r);
	report_trace_meta(r, meta, nmeta);
	struct ct_generation g;
	memset(&g, 0, sizeof(g));
	g.seq = 1;
	g.min_ts = lo;
	g.max_ts = hi;
	g.nevents = n;
	g.nthreads = 5;
	g.threads = thr;
	if (hi)
		report_generation(r, &g);
	for (size_t i = 0; i < n; i++)
		report_event(r, &evs[i]);
	report_pass1_done(r);
	if (hi)
		report_detail_generation(r, &g);
	for (size_t i = 0; i < n; i++)
		report_detail_event(r, &evs[i]);
	report_finish(r);
	return r;
}

static const struct report_thread *thread(const struct report_result *res, uint32_t index)
{
	for (uint32_t i = 0; i < res->nthreads; i++)
		if (res->threads[i].index == index)
			return &res->threads[i];
	fail_msg("no thread %u", index);
	return NULL;
}

static void assert_adds_up(const struct report_states *s, uint64_t span)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < REPORT_STATES; i++)
		sum += s->ns[i];
	assert_int_equal(sum, span);
}

/* perf: preempted -> runnable (also inside a wait, taken out of it);
 * blocked in a wait -> the wait's state; blocked in no wait -> off CPU. */
static void test_perf_rules(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "req"),
		sout(1, 100, CT_SCHED_PREEMPTED),
		sin_(1, 300),
		wbegin(1, 400, CT_WAIT_MUTEX, 0x10, 0, NULL),
		sout(1, 420, CT_SCHED_PREEMPTED),
		sin_(1, 470),
		sout(1, 500, CT_SCHED_BLOCKED),
		sin_(1, 900),
		wend(1, 1000),
		sout(1, 1200, CT_SCHED_BLOCKED),
		sin_(1, 1500),
		tend(1, 2000, 1),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 5);
	const struct report_result *res = report_finish(r);
	const struct report_thread *t = thread(res, 1);
	assert_int_equal(t->sched_source, REPORT_SCHED_PERF);
	assert_int_equal(t->span_ns, 2000);
	assert_int_equal(t->states.ns[REPORT_ST_RUNNABLE], 250);
	assert_int_equal(t->states.ns[REPORT_ST_MUTEX], 550);
	assert_int_equal(t->states.ns[REPORT_ST_OFFCPU], 300);
	assert_int_equal(t->states.ns[REPORT_ST_RUNNING], 900);
	assert_adds_up(&t->states, t->span_ns);
	/* the wait breakdown keeps the wait's wall time */
	assert_int_equal(t->waits.wait_ns[REPORT_WAIT_SYNC], 600);
	assert_int_equal(t->switches, 4);
	assert_int_equal(t->preemptions, 2);
	/* the task covers the whole thread: the same states */
	assert_int_equal(res->nslow, 1);
	const struct report_task *k = &res->slow[0];
	assert_int_equal(k->on_thread_ns, 2000);
	assert_memory_equal(&k->states, &t->states, sizeof(k->states));
	assert_int_equal(res->cpu.source, REPORT_SCHED_PERF);
	assert_true(res->has_states);
	report_free(r);
}

/* A blocked sched.out in no wait is a page fault when a major fault is
 * within 1 ms before it or after the sched.in; not when it is further. */
static void test_fault_rule(void **state)
{
	(void)state;
	static const struct ct_frame f_fault = {1, "load_page", "/src/f.c", 7, 0, ""};
	static const struct ct_stack s_fault = {1, 1, &f_fault};
	struct ct_event evs[] = {
		rbegin(1, 0, "x"),
		faultev(1, 100, CT_FAULT_MAJOR, 1, 0x1000, &s_fault),
		sout(1, 150, CT_SCHED_BLOCKED),
		sin_(1, 650),
		sout(1, 1000, CT_SCHED_BLOCKED),
		sin_(1, 1400),
		faultev(1, 1405, CT_FAULT_MAJOR, 1, 0x2000, &s_fault),
		sout(1, 2000, CT_SCHED_BLOCKED),
		sin_(1, 2100),
		faultev(1, 2100 + 2 * MS, CT_FAULT_MAJOR, 1, 0x3000, NULL),
		/* counts sampled from /proc: counted, never a blocking fault */
		faultev(1, 2200 + 2 * MS, CT_FAULT_MINOR, 7, 0, NULL),
		faultev(1, 4 * MS - 10, CT_FAULT_MINOR, 1, 0x4000, NULL),
		sout(1, 4 * MS, CT_SCHED_BLOCKED),
		sin_(1, 4 * MS + 100),
		rend(1, 5 * MS),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 5);
	const struct report_result *res = report_finish(r);
	const struct report_thread *t = thread(res, 1);
	assert_int_equal(t->states.ns[REPORT_ST_FAULT], 900);
	assert_int_equal(t->states.ns[REPORT_ST_OFFCPU], 200);
	assert_adds_up(&t->states, t->span_ns);
	assert_int_equal(t->faults_major, 3);
	assert_int_equal(t->faults_minor, 8);
	assert_int_equal(res->cpu.faults_major, 3);
	assert_int_equal(res->cpu.faults_minor, 8);
	assert_int_equal(res->cpu.fault_blocked_ns, 900);
	assert_int_equal(res->cpu.nfault_sites, 1);
	assert_string_equal(res->cpu.fault_sites[0].site.function, "load_page");
	assert_int_equal(res->cpu.fault_sites[0].major, 2);
	report_free(r);
}

/* A condvar wait is "waiting for work", apart from every sync primitive;
 * blocked inside it counts to it. */
static void test_condvar_apart(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		rbegin(2, 0, "x"),
		wbegin(2, 100, CT_WAIT_CONDVAR, 0x20, 0, NULL),
		sout(2, 110, CT_SCHED_BLOCKED),
		sin_(2, 900),
		wend(2, 1000),
		wbegin(2, 1100, CT_WAIT_RWLOCK_WRITE, 0x30, 0, NULL),
		wend(2, 1300),
		wbegin(2, 1400, CT_WAIT_SEMAPHORE, 0x40, 0, NULL),
		wend(2, 1500),
		rend(2, 2000),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 0);
	const struct report_thread *t = thread(report_finish(r), 2);
	assert_int_equal(t->states.ns[REPORT_ST_CONDVAR], 900);
	assert_int_equal(t->states.ns[REPORT_ST_MUTEX], 0);
	assert_int_equal(t->states.ns[REPORT_ST_RWLOCK], 200);
	assert_int_equal(t->states.ns[REPORT_ST_SEMAPHORE], 100);
	assert_int_equal(t->states.ns[REPORT_ST_OFFCPU], 0);
	assert_int_equal(t->states.ns[REPORT_ST_RUNNING], 800);
	report_free(r);
}

/* Capture edges: a first scheduler event that is a sched.in; own events
 * after a sched.out with no sched.in; a thread off CPU at the end in a wait
 * and in no wait; a lost sched.in followed by another sched.out. */
static void test_capture_edges(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		/* main: sched.in first, then out with later events of its own */
		rbegin(1, 0, "x"),
		sin_(1, 500),
		sout(1, 1000, CT_SCHED_BLOCKED),
		rend(1, 3000),
		/* worker: preempted inside a wait open at the trace's end */
		rbegin(2, 0, "y"),
		wbegin(2, 1000, CT_WAIT_NET, 5, CT_CALL_READ, NULL),
		sout(2, 2000, CT_SCHED_PREEMPTED),
		/* pool: blocked, its in lost, blocked again, then the end */
		rbegin(3, 0, "z"),
		sout(3, 100, CT_SCHED_BLOCKED),
		sout(3, 400, CT_SCHED_BLOCKED),
		sin_(3, 600),
		sout(3, 700, CT_SCHED_PREEMPTED),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 0);
	const struct report_result *res = report_finish(r);
	const struct report_thread *m = thread(res, 1), *w = thread(res, 2), *p = thread(res, 3);
	assert_int_equal(m->span_ns, 3000);
	assert_int_equal(m->states.ns[REPORT_ST_UNKNOWN], 500 + 2000);
	assert_int_equal(m->states.ns[REPORT_ST_RUNNING], 500);
	assert_int_equal(m->states.ns[REPORT_ST_OFFCPU], 0);
	/* the trace ends at 3000: the wait runs to it, preempted from 2000 */
	assert_int_equal(w->span_ns, 3000);
	assert_int_equal(w->states.ns[REPORT_ST_NET], 1000);
	assert_int_equal(w->states.ns[REPORT_ST_RUNNABLE], 1000);
	assert_int_equal(w->states.ns[REPORT_ST_RUNNING], 1000);
	assert_adds_up(&w->states, w->span_ns);
	/* pool ends at its last event, the preemption: nothing after it */
	assert_int_equal(p->span_ns, 700);
	assert_int_equal(p->states.ns[REPORT_ST_UNKNOWN], 300);
	assert_int_equal(p->states.ns[REPORT_ST_OFFCPU], 200);
	assert_int_equal(p->states.ns[REPORT_ST_RUNNING], 200);
	assert_int_equal(p->states.ns[REPORT_ST_RUNNABLE], 0);
	report_free(r);
}

/* schedstat: runnable comes out of the time in no wait first, the excess
 * out of the waits; exact per thread, and per task when one task covers
 * the intervals. */
static void test_schedstat_spread(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "req"),
		wbegin(1, 200, CT_WAIT_SLEEP, 0, 400, NULL),
		wend(1, 600),
		ssample(1, 1000, 300, 500),
		wbegin(1, 1000, CT_WAIT_FILE, 3, CT_CALL_READ, NULL),
		wend(1, 1900),
		ssample(1, 2000, 250, 100),
		tend(1, 2000, 1),
		/* worker: two tasks in one interval share it by their time */
		tbegin(2, 0, 2, "a"),
		tend(2, 300, 2),
		tbegin(2, 300, 3, "b"),
		tend(2, 1000, 3),
		ssample(2, 1000, 500, 500),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 5);
	const struct report_result *res = report_finish(r);
	const struct report_thread *t = thread(res, 1);
	assert_int_equal(t->sched_source, REPORT_SCHED_SCHEDSTAT);
	assert_int_equal(t->states.ns[REPORT_ST_RUNNABLE], 550);
	assert_int_equal(t->states.ns[REPORT_ST_SLEEP], 400);
	assert_int_equal(t->states.ns[REPORT_ST_FILE], 750);
	assert_int_equal(t->states.ns[REPORT_ST_RUNNING], 300);
	assert_adds_up(&t->states, t->span_ns);
	const struct report_task *k = NULL, *a = NULL, *b = NULL;
	for (uint32_t i = 0; i < res->nslow; i++) {
		const struct report_task *x = &res->slow[i];
		if (x->id == 1)
			k = x;
		else if (x->id == 2)
			a = x;
		else if (x->id == 3)
			b = x;
	}
	assert_non_null(k);
	assert_non_null(a);
	assert_non_null(b);
	assert_memory_equal(&k->states, &t->states, sizeof(k->states));
	assert_int_equal(a->states.ns[REPORT_ST_RUNNABLE], 150);
	assert_int_equal(b->states.ns[REPORT_ST_RUNNABLE], 350);
	assert_int_equal(thread(res, 2)->states.ns[REPORT_ST_RUNNABLE], 500);
	report_free(r);
}

/* Throttling: within a throttle interval, the threads' runnable time is
 * reclassified up to the throttled time, the same share for each; the
 * [cgroup] pseudo-thread is not listed. */
static void test_throttle(void **state)
{
	(void)state;
	static const char *const meta[] = {
		"sched.source",	       "perf",	"sched.scope",		"cpu",
		"cgroup.cpu.quota_us", "50000", "cgroup.cpu.period_us", "100000",
		"cpus.online",	       "2"};
	struct ct_event evs[] = {
		rbegin(1, 0, "x"),
		sout(1, 1 * MS, CT_SCHED_PREEMPTED),
		sin_(1, 5 * MS),
		rend(1, 10 * MS),
		tbegin(2, 0, 9, "job"),
		sout(2, 1 * MS, CT_SCHED_PREEMPTED),
		sin_(2, 5 * MS),
		tend(2, 10 * MS, 9),
		throttle(10 * MS, 2, 2 * MS, 10),
		/* after it: not throttled */
		sout(2, 10 * MS + 100, CT_SCHED_PREEMPTED),
		sin_(2, 10 * MS + 300),
		rend(2, 11 * MS),
	};
	struct report *r = run_meta(evs, sizeof(evs) / sizeof(evs[0]), 5, meta, 10, 0, 11 * MS);
	const struct report_result *res = report_finish(r);
	for (uint32_t i = 0; i < res->nthreads; i++) /* [cgroup] is not a thread */
		assert_int_not_equal(res->threads[i].index, 4);
	const struct report_thread *m = thread(res, 1), *w = thread(res, 2);
	assert_int_equal(m->states.ns[REPORT_ST_THROTTLED], 1 * MS);
	assert_int_equal(m->states.ns[REPORT_ST_RUNNABLE], 3 * MS);
	assert_int_equal(w->states.ns[REPORT_ST_THROTTLED], 1 * MS);
	assert_int_equal(w->states.ns[REPORT_ST_RUNNABLE], 3 * MS + 200);
	assert_adds_up(&w->states, w->span_ns);
	assert_int_equal(res->slow[0].states.ns[REPORT_ST_THROTTLED], 1 * MS);
	assert_int_equal(res->slow[0].states.ns[REPORT_ST_RUNNABLE], 3 * MS);
	assert_int_equal(res->cpu.throttle_events, 1);
	assert_int_equal(res->cpu.periods_throttled, 2);
	assert_int_equal(res->cpu.periods, 10);
	assert_int_equal(res->cpu.throttled_ns, 2 * MS);
	assert_int_equal(res->cpu.reclassified_ns, 2 * MS);
	assert_true(res->cpu.quota_cpus > 0.49 && res->cpu.quota_cpus < 0.51);
	assert_true(res->cpu.cpus_allowed > 0.49 && res->cpu.cpus_allowed < 0.51);
	assert_string_equal(res->cpu.source_meta, "perf");
	assert_string_equal(res->cpu.scope_meta, "cpu");
	report_free(r);
}

/* Threads that wanted a CPU at once: running or runnable, from
 * sched.out/in; the finding when the peak exceeds the CPUs allowed. */
static void test_concurrency(void **state)
{
	(void)state;
	static const char *const meta[] = {"cpus.online", "2"};
	struct ct_event evs[] = {
		rbegin(1, 0, "x"),
		rend(1, 10 * MS),
		rbegin(2, 0, "y"),
		sout(2, 5 * MS, CT_SCHED_BLOCKED),
		sin_(2, 7 * MS),
		rend(2, 10 * MS),
		rbegin(3, 0, "z"),
		sout(3, 2 * MS, CT_SCHED_PREEMPTED), /* runnable: still wants one */
		sin_(3, 4 * MS),
		sout(3, 9 * MS, CT_SCHED_BLOCKED),
		sin_(3, 9 * MS + 50000), /* 2 wanted for 0.05 ms */
		rend(3, 10 * MS),
	};
	struct report *r = run_meta(evs, sizeof(evs) / sizeof(evs[0]), 0, meta, 2, 0, 10 * MS);
	const struct report_result *res = report_finish(r);
	const struct report_cpu *c = &res->cpu;
	assert_true(c->concurrency);
	assert_int_equal(c->measured_ns, 10 * MS);
	assert_int_equal(c->peak, 3);
	assert_int_equal(c->p50, 3);
	assert_int_equal(c->p99, 3);
	assert_int_equal(c->over_ns, 10 * MS - 2 * MS - 50000);
	assert_true(c->cpus_allowed > 1.99 && c->cpus_allowed < 2.01);
	assert_true(c->finding);
	report_free(r);

	/* a brief peak: p99 stays below it; two CPUs are enough */
	struct ct_event brief[] = {
		rbegin(1, 0, "x"), sout(1, 1 * MS, CT_SCHED_BLOCKED), rend(1, 1 * MS),
		rbegin(2, 0, "y"), sout(2, 5000, CT_SCHED_BLOCKED),   sin_(2, 10 * MS),
		rend(2, 10 * MS),
	};
	r = run_meta(brief, sizeof(brief) / sizeof(brief[0]), 0, meta, 2, 0, 10 * MS);
	c = &report_finish(r)->cpu;
	assert_int_equal(c->peak, 2);
	assert_int_equal(c->measured_ns, 10 * MS); /* idle time counts: level 0 */
	assert_int_equal(c->p99, 1);
	assert_int_equal(c->p50, 0);
	assert_int_equal(c->over_ns, 0);
	assert_false(c->finding);
	report_free(r);
}

/* CPU samples: self is the innermost function, cumulative counts each
 * function once per sample; a slow task keeps its own. */
static void test_cpu_samples(void **state)
{
	(void)state;
#define F_A                                                                                        \
	{                                                                                          \
		1, "a", "", 0, 0, ""                                                               \
	}
#define F_B                                                                                        \
	{                                                                                          \
		2, "b", "", 0, 0, ""                                                               \
	}
#define F_C                                                                                        \
	{                                                                                          \
		3, "c", "", 0, 0, ""                                                               \
	}
#define F_MAIN                                                                                     \
	{                                                                                          \
		4, "main", "", 0, 0, ""                                                            \
	}
#define F_VDSO                                                                                     \
	{                                                                                          \
		5, "__vdso_clock_gettime", "", 0, 0, "[vdso]"                                      \
	}
	/* (macros, not constants: C11 initializers cannot name other objects) */
	static const struct ct_frame k1[] = {F_A, F_B, F_MAIN}, k2[] = {F_A, F_MAIN},
				     k3[] = {F_C, F_MAIN}, k4[] = {F_B, F_B, F_MAIN},
				     k5[] = {F_VDSO, F_A, F_MAIN};
#undef F_VDSO
#undef F_A
#undef F_B
#undef F_C
#undef F_MAIN
	static const struct ct_stack s1 = {1, 3, k1}, s2 = {2, 2, k2}, s3 = {3, 2, k3},
				     s4 = {4, 3, k4}, s5 = {5, 3, k5};
	/* a sample in the vDSO (a clock read) is its caller's: "a" */
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "req"),
		cpusample(1, 10, 1000, &s1),
		cpusample(1, 15, 1000, &s5),
		cpusample(1, 20, 1000, &s2),
		tend(1, 25, 1),
		cpusample(1, 30, 1000, &s3),
		cpusample(1, 40, 1000, &s4),
		cpusample(1, 50, 1000, NULL),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 5);
	const struct report_result *res = report_finish(r);
	const struct report_cpu *c = &res->cpu;
	assert_int_equal(c->cpu_samples, 6);
	assert_int_equal(c->cpu_sample_ns, 6000);
	assert_int_equal(thread(res, 1)->cpu_samples, 6);
	assert_int_equal(c->nself, 3);
	assert_string_equal(c->self[0].function, "a");
	assert_int_equal(c->self[0].self, 3);
	assert_int_equal(c->self[0].self_ns, 3000);
	assert_int_equal(c->ncum, 4); /* no __vdso_clock_gettime */
	assert_string_equal(c->cum[0].function, "main");
	assert_int_equal(c->cum[0].cum, 5);
	for (uint32_t i = 0; i < c->ncum; i++)
		if (strcmp(c->cum[i].function, "b") == 0)
			assert_int_equal(c->cum[i].cum, 2); /* once for the recursive one */
	/* res->has_states: samples alone show the section */
	assert_true(res->has_states);
	const struct report_task *k = &res->slow[0];
	assert_int_equal(k->cpu_samples, 3);
	assert_int_equal(k->nfuncs, 1);
	assert_string_equal(k->funcs[0].function, "a");
	assert_int_equal(k->funcs[0].self, 3);
	report_free(r);
}

/* Without scheduler events the states are waits and "running" (running or
 * unknown), as before, and the trace says no source. */
static void test_no_source(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		rbegin(1, 0, "x"),
		wbegin(1, 100, CT_WAIT_POLL, 4, 0, NULL),
		wend(1, 400),
		rend(1, 1000),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 0);
	const struct report_result *res = report_finish(r);
	const struct report_thread *t = thread(res, 1);
	assert_int_equal(t->sched_source, REPORT_SCHED_NONE);
	assert_int_equal(t->states.ns[REPORT_ST_POLL], 300);
	assert_int_equal(t->states.ns[REPORT_ST_RUNNING], 700);
	assert_int_equal(t->states.ns[REPORT_ST_RUNNING], t->waits.other_ns);
	assert_false(res->has_states);
	assert_false(res->cpu.concurrency);
	report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perf_rules),	 cmocka_unit_test(test_fault_rule),
		cmocka_unit_test(test_condvar_apart),	 cmocka_unit_test(test_capture_edges),
		cmocka_unit_test(test_schedstat_spread), cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_concurrency),	 cmocka_unit_test(test_cpu_samples),
		cmocka_unit_test(test_no_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
