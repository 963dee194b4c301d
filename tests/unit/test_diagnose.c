/* Unit tests of `ctrace diagnose`'s analysis: pass 3 of the report
 * (src/analysis/report_holder.c: a lock holder's time during a wait, threads
 * wanting a CPU during a task) and the decisions of src/analysis/diagnose.c
 * (category, culprit, cause), on synthetic traces whose answers are known
 * by construction; and the task asked for by id (report_options.task). */
#include "analysis/diagnose.h"
#include "report_events.h"

/* All three passes over the same events (thread order), with header
 * metadata and, when gen is set, one generation around them all. */
static struct report *run3(const struct ct_event *evs, size_t n, const struct report_options *o,
			   const char *const *meta, uint32_t nmeta, int gen)
{
	struct report *r = report_new(o);
	assert_non_null(r);
	report_trace_meta(r, meta, nmeta);
	struct ct_generation g;
	memset(&g, 0, sizeof(g));
	g.seq = 1;
	g.min_ts = evs[0].ts;
	for (size_t i = 0; i < n; i++) {
		g.min_ts = evs[i].ts < g.min_ts ? evs[i].ts : g.min_ts;
		g.max_ts = evs[i].ts > g.max_ts ? evs[i].ts : g.max_ts;
	}
	g.nevents = n;
	g.nthreads = 5;
	g.threads = thr;
	if (gen)
		report_generation(r, &g);
	for (size_t i = 0; i < n; i++)
		report_event(r, &evs[i]);
	report_pass1_done(r);
	if (gen)
		report_detail_generation(r, &g);
	for (size_t i = 0; i < n; i++)
		report_detail_event(r, &evs[i]);
	const struct report_span *spans;
	int64_t ns = report_holder_spans(r, &spans);
	if (ns != 0) {
		if (gen)
			report_holder_generation(r, &g);
		for (size_t i = 0; i < n; i++)
			report_holder_event(r, &evs[i]);
	}
	report_finish(r);
	return r;
}

static struct report *run_top(const struct ct_event *evs, size_t n, unsigned top)
{
	struct report_options o = {.top_tasks = top, .top_regions = 10};
	return run3(evs, n, &o, NULL, 0, 0);
}

static const struct report_task *task_id(const struct report_result *res, uint64_t id)
{
	for (uint32_t i = 0; i < res->nslow; i++)
		if (res->slow[i].id == id)
			return &res->slow[i];
	fail_msg("no slow task %llu", (unsigned long long)id);
	return NULL;
}

static const struct ct_frame f_lock[] = {{1, "lock_site", "/src/cart.c", 41, 0, ""},
					 {2, "checkout", "/src/cart.c", 90, 0, ""}},
			     f_fsync[] = {{3, "fsync_site", "/src/store.c", 88, 0, ""},
					  {4, "store_writer", "/src/store.c", 120, 0, ""}},
			     f_hot[] = {{5, "hot", "/src/render.c", 12, 0, ""},
					{6, "render", "/src/render.c", 30, 0, ""}},
			     f_spin[] = {{7, "spin", "/src/store.c", 200, 0, ""}},
			     f_recv[] = {{8, "recv_site", "/src/quote.c", 7, 0, ""}};
static const struct ct_stack s_lock = {1, 2, f_lock}, s_fsync = {2, 2, f_fsync},
			     s_hot = {3, 2, f_hot}, s_spin = {4, 1, f_spin},
			     s_recv = {5, 1, f_recv};

/* The lock's holder (worker, tid 102) was in an fsync it began before the
 * task's wait, then wrote briefly and ran: the holder's largest state over
 * the waited interval is file, with the longest wait's (the fsync's) site
 * and call, marked as mixed with another call; the task is a lock case
 * whose culprit is the lock site. */
static void test_holder_in_fsync(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		/* main: task 1 waits 180 us for the mutex */
		tbegin(1, 1000, 1, "checkout"),
		wbegin(1, 2000, CT_WAIT_MUTEX, 0x10, 102, &s_lock),
		wend(1, 182000),
		tend(1, 190000, 1),
		/* worker: in fsync from 1500 to 179500, then runs with the lock */
		rbegin(2, 0, "store"),
		wbegin(2, 1500, CT_WAIT_FILE, 5, CT_CALL_FSYNC, &s_fsync),
		wend(2, 179500),
		wbegin(2, 180000, CT_WAIT_FILE, 5, CT_CALL_WRITE, NULL), /* another call */
		wend(2, 180500),
		rend(2, 182000),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = task_id(res, 1);
	assert_int_equal(t->nwaits, 1);
	const struct report_wait *w = &t->longest[0];
	assert_int_equal(w->nframes, 2);
	assert_string_equal(w->frames[1].function, "checkout");
	const struct report_holding *h = &w->holding;
	assert_true(h->known);
	assert_int_equal(h->from_ns, 2000);
	assert_int_equal(h->to_ns, 182000);
	assert_int_equal(h->state, REPORT_ST_FILE);
	assert_int_equal(h->state_ns, 178000);
	assert_int_equal(h->states.ns[REPORT_ST_RUNNING], 2000);
	assert_true(h->mixed);
	assert_int_equal(h->reason, CT_WAIT_FILE);
	assert_int_equal(h->detail, CT_CALL_FSYNC);
	assert_int_equal(h->object, 5);
	assert_int_equal(h->wait_ns, 177500);
	assert_string_equal(h->site.function, "fsync_site");
	assert_int_equal(h->site.line, 88);
	assert_int_equal(h->nframes, 2);
	assert_string_equal(h->frames[1].function, "store_writer");

	struct diagnosis d;
	diagnose_task(res, t, &d);
	assert_int_equal(d.category, DIAG_LOCK);
	assert_string_equal(diag_cat_name(d.category), "lock");
	assert_int_equal(d.category_ns, 180000);
	assert_int_equal(d.total_ns, 189000);
	assert_ptr_equal(d.wait, w);
	assert_true(d.holder_known);
	assert_int_equal(d.nframes, 2);
	assert_string_equal(d.frames[0].function, "lock_site");
	assert_string_equal(diag_call_name(h->reason, h->detail), "fsync");
	report_free(r);
}

/* A holder that ran through the wait: running, with the function its CPU
 * samples were in; and a holder pass 3 never saw (tid of no thread) stays
 * unknown. */
static void test_holder_running(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "checkout"),
		wbegin(1, 1000, CT_WAIT_MUTEX, 0x10, 102, &s_lock),
		wend(1, 11000),
		wbegin(1, 12000, CT_WAIT_MUTEX, 0x20, 999, &s_lock),
		wend(1, 13000),
		tend(1, 14000, 1),
		rbegin(2, 0, "busy"),
		cpusample(2, 3000, 1000, &s_spin),
		cpusample(2, 6000, 1000, &s_spin),
		cpusample(2, 9000, 1000, &s_hot),
		rend(2, 20000),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = task_id(res, 1);
	assert_int_equal(t->nwaits, 2);
	const struct report_holding *h = &t->longest[0].holding;
	assert_true(h->known);
	assert_int_equal(h->state, REPORT_ST_RUNNING);
	assert_int_equal(h->state_ns, 10000);
	assert_int_equal(h->reason, 0);
	assert_int_equal(h->samples, 3);
	assert_int_equal(h->function_samples, 2);
	assert_string_equal(h->function, "spin");
	/* tid 999 is no thread of the trace: no holder index, nothing read */
	assert_int_equal(t->longest[1].holder, 0);
	assert_false(t->longest[1].holding.known);
	report_free(r);
}

/* CPU-bound: the top function's sample stack is the culprit; without CPU
 * samples in the trace the diagnosis says so. */
static void test_cpu(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "render"),
		cpusample(1, 2000, 1000, &s_spin),
		cpusample(1, 4000, 1000, &s_hot),
		cpusample(1, 6000, 1000, &s_hot),
		tend(1, 10000, 1),
		tbegin(2, 0, 2, "plain"),
		tend(2, 5000, 2),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	struct diagnosis d;
	diagnose_task(res, task_id(res, 1), &d);
	assert_int_equal(d.category, DIAG_CPU);
	assert_true(d.trace_samples);
	assert_int_equal(d.samples, 3);
	assert_int_equal(d.nframes, 2);
	assert_string_equal(d.frames[0].function, "hot");
	assert_string_equal(d.frames[1].function, "render");
	assert_null(d.wait);
	assert_true(d.share > 0.99);
	report_free(r);

	struct ct_event bare[] = {tbegin(1, 0, 1, "render"), tend(1, 10000, 1)};
	r = run_top(bare, 2, 3);
	res = report_finish(r);
	diagnose_task(res, &res->slow[0], &d);
	assert_int_equal(d.category, DIAG_CPU);
	assert_false(d.trace_samples);
	assert_int_equal(d.nframes, 0);
	report_free(r);
}

/* Oversubscribed: three threads want a CPU all through the task, which is
 * preempted most of it; with two CPUs online, the task's peak and typical
 * level are 3 and it is runnable. */
static void test_runnable(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "batch"), sout(1, 1000, CT_SCHED_PREEMPTED), sin_(1, 9000),
		tend(1, 10000, 1),	  sout(2, 0, CT_SCHED_PREEMPTED),    sin_(2, 500),
		rbegin(2, 10000, "x"),	  sout(3, 0, CT_SCHED_PREEMPTED),    sin_(3, 700),
		rbegin(3, 10000, "y"),
	};
	const char *meta[] = {"cpus.online", "2", "sched.source", "perf"};
	struct report_options o = {.top_tasks = 1, .top_regions = 10};
	struct report *r = run3(evs, sizeof(evs) / sizeof(evs[0]), &o, meta, 4, 1);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = task_id(res, 1);
	assert_int_equal(t->states.ns[REPORT_ST_RUNNABLE], 8000);
	assert_true(t->conc_measured);
	assert_int_equal(t->conc_peak, 3);
	assert_int_equal(t->conc_p50, 3);
	assert_int_equal(t->conc_ns, 10000);
	assert_int_equal(t->conc_over_ns, 10000);
	struct diagnosis d;
	diagnose_task(res, t, &d);
	assert_int_equal(d.category, DIAG_RUNNABLE);
	assert_true(d.conc && d.conc_task);
	assert_int_equal(d.peak, 3);
	assert_int_equal(d.typical, 3);
	assert_true(d.cpus == 2.0);
	report_free(r);
}

/* Throttled: the cgroup's quota (0.5 CPUs) ran out while the task was
 * preempted, for all of that time: throttled, with the quota and periods. */
static void test_throttled(void **state)
{
	(void)state;
	static const char *const meta[] = {
		"sched.source",		"perf",	  "cgroup.cpu.quota_us", "50000",
		"cgroup.cpu.period_us", "100000", "cpus.online",	 "2"};
	struct ct_event evs[] = {
		tbegin(2, 0, 9, "job"), sout(2, 1000000, CT_SCHED_PREEMPTED), sin_(2, 9000000),
		tend(2, 10000000, 9),	throttle(10000000, 8, 8000000, 10),
	};
	struct report_options o = {.top_tasks = 1, .top_regions = 10};
	struct report *r = run3(evs, sizeof(evs) / sizeof(evs[0]), &o, meta, 8, 1);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = task_id(res, 9);
	assert_int_equal(t->states.ns[REPORT_ST_THROTTLED], 8000000);
	struct diagnosis d;
	diagnose_task(res, t, &d);
	assert_int_equal(d.category, DIAG_THROTTLED);
	assert_string_equal(diag_cat_name(d.category), "throttled");
	assert_true(d.quota_cpus > 0.49 && d.quota_cpus < 0.51);
	assert_int_equal(d.periods, 10);
	assert_int_equal(d.periods_throttled, 8);
	assert_true(d.conc_task);
	assert_int_equal(d.peak, 1);
	report_free(r);
}

/* The network: the longest socket wait, its fd and call; a file wait too
 * (shorter) does not change the category. */
static void test_network(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "quote"),
		wbegin(1, 1000, CT_WAIT_FILE, 3, CT_CALL_READ, NULL),
		wend(1, 2000),
		wbegin(1, 3000, CT_WAIT_NET, 9, CT_CALL_RECV, &s_recv),
		wend(1, 153000),
		tend(1, 154000, 1),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	struct diagnosis d;
	diagnose_task(res, &res->slow[0], &d);
	assert_int_equal(d.category, DIAG_NETWORK);
	assert_string_equal(diag_cat_name(d.category), "network");
	assert_non_null(d.wait);
	assert_int_equal(d.wait->object, 9);
	assert_string_equal(diag_call_name(d.wait->reason, d.wait->detail), "recv");
	assert_string_equal(d.frames[0].function, "recv_site");
	assert_int_equal(d.ns[DIAG_FILE], 1000);
	report_free(r);
}

/* Minor faults have no time: their estimated cost comes out of running.
 * Enough of them in a region make it a page-fault case named by the
 * region; a few do not. A count covers the time since the thread's last
 * one and is spread over it: the 2 read at 100 us cover 5 us in the region
 * and 5 us after it. */
static void test_page_faults(void **state)
{
	(void)state;
	/* worth 70% of the task's 100 us whatever a fault costs */
	const uint64_t storm = 70000 / DIAG_MINOR_FAULT_NS;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "index"),
		rbegin(1, 0, "build_index"),
		faultev(1, 90000, CT_FAULT_MINOR, storm, 0, NULL),
		rend(1, 95000),
		faultev(1, 100000, CT_FAULT_MINOR, 2, 0, NULL),
		tend(1, 100000, 1),
		tbegin(2, 0, 2, "light"),
		faultev(2, 50000, CT_FAULT_MINOR, 4, 0, NULL),
		tend(2, 99000, 2),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = task_id(res, 1);
	assert_int_equal(t->faults_minor, storm + 2);
	assert_int_equal(t->faults_outside, 1);
	struct diagnosis d;
	diagnose_task(res, t, &d);
	assert_int_equal(d.minor_fault_est_ns, (storm + 2) * DIAG_MINOR_FAULT_NS);
	assert_int_equal(d.category, DIAG_PAGE_FAULT);
	assert_string_equal(d.region, "build_index");
	assert_int_equal(d.region_faults, storm + 1);
	assert_int_equal(d.ns[DIAG_CPU] + d.ns[DIAG_PAGE_FAULT], 100000);
	diagnose_task(res, task_id(res, 2), &d);
	assert_int_equal(d.category, DIAG_CPU);
	assert_int_equal(d.minor, 4);
	assert_int_equal(d.ns[DIAG_PAGE_FAULT], 4 * DIAG_MINOR_FAULT_NS);
	report_free(r);
}

/* Where the trace has the kernel time of the fault counts' intervals
 * (kernel.time, format 1.4), faults that cost more than the typical 2.5 us
 * (a hypervisor backing fresh pages) are still the cause: 30000 faults in a
 * 300 ms task whose interval spent 280 ms in the kernel. A task with a few
 * faults and much kernel time (system calls) gets at most 10 us a fault.
 * The kernel time is shared like the count: the thread's 20 ms in no wait
 * after the storm task are the light task's. */
static void test_fault_kernel_time(void **state)
{
	(void)state;
	const uint64_t ms = 1000000;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "storm"),
		kernelev(1, 300 * ms, 280 * ms),
		faultev(1, 300 * ms, CT_FAULT_MINOR, 30000, 0, NULL),
		tend(1, 300 * ms, 1),
		tbegin(1, 300 * ms, 2, "light"),
		kernelev(1, 320 * ms, 15 * ms),
		faultev(1, 320 * ms, CT_FAULT_MINOR, 10, 0, NULL),
		tend(1, 320 * ms, 2),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = task_id(res, 1);
	assert_int_equal(t->faults_minor, 30000);
	assert_int_equal(t->fault_kernel_ns, 280 * ms);
	struct diagnosis d;
	diagnose_task(res, t, &d);
	/* 30000 x 2.5 us would be 75 ms: cpu would win */
	assert_true(d.minor_fault_measured);
	assert_int_equal(d.minor_fault_est_ns, 280 * ms);
	assert_int_equal(d.category, DIAG_PAGE_FAULT);
	assert_int_equal(d.ns[DIAG_CPU] + d.ns[DIAG_PAGE_FAULT], 300 * ms);

	t = task_id(res, 2);
	assert_int_equal(t->faults_minor, 10);
	assert_int_equal(t->fault_kernel_ns, 15 * ms);
	diagnose_task(res, t, &d);
	assert_int_equal(d.minor_fault_est_ns, 10 * DIAG_MINOR_FAULT_MAX_NS);
	assert_int_equal(d.category, DIAG_CPU);
	report_free(r);
}

/* A count read after the task that faulted ended (the writer reads them
 * every few tens of ms) is not the next task's: it is spread over the
 * thread's time in no wait since its previous count, 60 us of the first
 * task and 10 us of the second (whose other 10 us are in a recv). */
static void test_fault_count_spread(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "storm"),
		tend(1, 60000, 1),
		tbegin(1, 60000, 2, "next"),
		wbegin(1, 60000, CT_WAIT_NET, 9, CT_CALL_RECV, NULL),
		wend(1, 70000),
		faultev(1, 80000, CT_FAULT_MINOR, 800, 0, NULL),
		tend(1, 100000, 2),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	/* 800 * 60/70 = 685.7 and 800 * 10/70 = 114.3: the larger remainder
	 * takes the unit left over, so none is lost */
	assert_int_equal(task_id(res, 1)->faults_minor, 686);
	assert_int_equal(task_id(res, 2)->faults_minor, 114);
	assert_int_equal(task_id(res, 1)->faults_outside, 686);
	report_free(r);
}

/* The site is in the program's code: samples that land in libc (a clock
 * read a CPU-bound loop makes) or in the vDSO name the program's function
 * that called there; the libc function still counts as the top function. */
static void test_cpu_site_past_system_frames(void **state)
{
	(void)state;
	static const struct ct_frame f_libc[] = {
		{20, "__clock_gettime", "../sysdeps/unix/sysv/linux/clock_gettime.c", 42, 0,
		 "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{21, "apply_rules", "/src/price.c", 140, 0, "/srv/bin/price"},
		{22, "handle", "/src/price.c", 220, 0, "/srv/bin/price"}};
	static const struct ct_frame f_vdso[] = {
		{23, "__vdso_clock_gettime", "", 0, 0, "[vdso]"},
		{20, "__clock_gettime", "../sysdeps/unix/sysv/linux/clock_gettime.c", 42, 0,
		 "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{21, "apply_rules", "/src/price.c", 140, 0, "/srv/bin/price"}};
	static const struct ct_stack s_libc = {20, 3, f_libc}, s_vdso = {21, 3, f_vdso};
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "price"),
		cpusample(1, 2000, 1000, &s_libc),
		cpusample(1, 4000, 1000, &s_vdso),
		cpusample(1, 6000, 1000, &s_libc),
		tend(1, 10000, 1),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = task_id(res, 1);
	assert_string_equal(t->funcs[0].function, "__clock_gettime");
	assert_int_equal(t->funcs[0].self, 3);
	struct diagnosis d;
	diagnose_task(res, t, &d);
	assert_int_equal(d.category, DIAG_CPU);
	assert_string_equal(d.frames[0].function, "apply_rules");
	assert_string_equal(d.frames[1].function, "handle");
	report_free(r);
}

/* Without perf events, how many threads wanted a CPU comes from the
 * schedstat samples: each thread's running + runnable time, spread over its
 * sample's interval, the part inside the task, over the task's latency.
 * Thread 1 (the task's) 100 us of 100; thread 2 150 us over 200, half of
 * it inside; thread 3 50 us, all inside: 2.25 threads on average. */
static void test_runnable_sampled_average(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "req"),
		logev(2, 0, "app", "two"),
		logev(3, 50000, "app", "three"),
		ssample(3, 100000, 25000, 25000),
		ssample(1, 100000, 60000, 40000),
		tend(1, 100000, 1),
		ssample(2, 200000, 100000, 50000),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = task_id(res, 1);
	assert_true(t->want_sampled);
	assert_int_equal(t->want_ns, 225000);
	struct diagnosis d;
	diagnose_task(res, t, &d);
	assert_int_equal(d.category, DIAG_RUNNABLE);
	assert_false(d.conc);
	assert_true(d.conc_avg_set);
	assert_true(d.conc_avg > 2.249 && d.conc_avg < 2.251);
	assert_false(d.others); /* the CPUs are not known */
	report_free(r);

	/* Against the CPUs: 2.25 threads on average on 4 CPUs did not take
	 * them all, so other work had them; on 2 they may have. */
	static const char *const cpus4[] = {"cpus.online", "4", "sched.source", "schedstat"};
	static const char *const cpus2[] = {"cpus.online", "2", "sched.source", "schedstat"};
	const char *const *metas[] = {cpus4, cpus2};
	struct report_options o = {.top_tasks = 3, .top_regions = 10};
	for (int i = 0; i < 2; i++) {
		r = run3(evs, sizeof(evs) / sizeof(evs[0]), &o, metas[i], 4, 0);
		res = report_finish(r);
		diagnose_task(res, task_id(res, 1), &d);
		assert_int_equal(d.category, DIAG_RUNNABLE);
		assert_true(d.cpus == (i == 0 ? 4.0 : 2.0));
		assert_true(d.conc_avg_set && !d.conc);
		assert_int_equal(d.others, i == 0);
		report_free(r);
	}
}

/* Queued: the task waited between two threads with none working for it. */
static void test_queued(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "job"),
		tleave(1, 100, 1),
		tenter(2, 9000, 1),
		tend(2, 10000, 1),
	};
	struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 3);
	const struct report_result *res = report_finish(r);
	struct diagnosis d;
	diagnose_task(res, &res->slow[0], &d);
	assert_int_equal(d.category, DIAG_QUEUED);
	assert_int_equal(d.category_ns, 8900);
	assert_int_equal(d.total_ns, 10000);
	report_free(r);
}

/* report_options.task: the task asked for is detailed first whatever its
 * latency, in place of the dump's trigger, and marked as the trigger only
 * when it is the trigger; an id the trace lacks gives nothing. */
static void test_task_option(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(1, 0, 1, "slow"), tend(1, 90000, 1),	 tbegin(1, 100000, 2, "fast"),
		tend(1, 100500, 2),	 tbegin(2, 0, 3, "mid"), tend(2, 50000, 3),
	};
	size_t n = sizeof(evs) / sizeof(evs[0]);
	const char *meta[] = {"trigger.task", "3"};
	struct report_options o = {.top_tasks = 0, .top_regions = 10, .task = 2};
	struct report *r = run3(evs, n, &o, meta, 2, 0);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->nslow, 1);
	assert_int_equal(res->slow[0].id, 2);
	assert_string_equal(res->slow[0].type, "fast");
	assert_false(res->slow[0].trigger);
	report_free(r);

	o.task = 3; /* the trigger itself */
	r = run3(evs, n, &o, meta, 2, 0);
	res = report_finish(r);
	assert_int_equal(res->nslow, 1);
	assert_int_equal(res->slow[0].id, 3);
	assert_true(res->slow[0].trigger);
	report_free(r);

	o.task = 0; /* no task asked for: the trigger, then the slowest */
	o.top_tasks = 1;
	r = run3(evs, n, &o, meta, 2, 0);
	res = report_finish(r);
	assert_int_equal(res->nslow, 2);
	assert_int_equal(res->slow[0].id, 3);
	assert_true(res->slow[0].trigger);
	assert_int_equal(res->slow[1].id, 1);
	report_free(r);

	o.task = 77; /* not in the trace */
	o.top_tasks = 0;
	r = run3(evs, n, &o, meta, 2, 0);
	res = report_finish(r);
	assert_int_equal(res->nslow, 0);
	report_free(r);
}

/* A task that mostly waited in one kind of wait: the category of that wait,
 * with the wait as the culprit and its stack; a blocked piece in no wait
 * (perf) is off-cpu, with no site. */
static void test_wait_categories(void **state)
{
	(void)state;
	static const struct {
		uint32_t reason;
		unsigned cat;
	} cases[] = {
		{CT_WAIT_SLEEP, DIAG_SLEEP},	 {CT_WAIT_CONDVAR, DIAG_CONDVAR},
		{CT_WAIT_POLL, DIAG_EVENT_LOOP}, {CT_WAIT_PIPE, DIAG_FD},
		{CT_WAIT_FILE, DIAG_FILE},	 {CT_WAIT_SEMAPHORE, DIAG_LOCK},
		{CT_WAIT_JOIN, DIAG_LOCK},	 {CT_WAIT_RWLOCK_WRITE, DIAG_LOCK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_event evs[] = {
			tbegin(1, 0, 1, "t"),
			wbegin(1, 1000, cases[i].reason, 3, CT_CALL_READ, &s_recv),
			wend(1, 9000),
			tend(1, 10000, 1),
		};
		struct report *r = run_top(evs, sizeof(evs) / sizeof(evs[0]), 1);
		const struct report_result *res = report_finish(r);
		struct diagnosis d;
		diagnose_task(res, &res->slow[0], &d);
		if (d.category != cases[i].cat)
			fail_msg("reason %u: category %s", cases[i].reason,
				 diag_cat_name(d.category));
		assert_int_equal(d.category_ns, 8000);
		assert_non_null(d.wait);
		assert_int_equal(d.wait->reason, cases[i].reason);
		assert_string_equal(d.frames[0].function, "recv_site");
		report_free(r);
	}
	struct ct_event off[] = {
		tbegin(1, 0, 1, "t"),
		sout(1, 1000, CT_SCHED_BLOCKED),
		sin_(1, 9000),
		tend(1, 10000, 1),
	};
	struct report *r = run_top(off, sizeof(off) / sizeof(off[0]), 1);
	const struct report_result *res = report_finish(r);
	struct diagnosis d;
	diagnose_task(res, &res->slow[0], &d);
	assert_int_equal(d.category, DIAG_OFFCPU);
	assert_int_equal(d.category_ns, 8000);
	assert_null(d.wait);
	assert_int_equal(d.nframes, 0);
	report_free(r);
}

/* Every state has a category, and the names are the JSON's. */
static void test_names(void **state)
{
	(void)state;
	static const char *want[DIAG_CATS] = {
		"cpu",	 "runnable",   "throttled", "lock", "file",   "network", "page-fault",
		"sleep", "event-loop", "condvar",   "fd",   "queued", "off-cpu", "unknown"};
	for (unsigned c = 0; c < DIAG_CATS; c++)
		assert_string_equal(diag_cat_name(c), want[c]);
	assert_int_equal(diag_cat_of_state(REPORT_ST_RWLOCK), DIAG_LOCK);
	assert_int_equal(diag_cat_of_state(REPORT_ST_JOIN), DIAG_LOCK);
	assert_int_equal(diag_cat_of_state(REPORT_ST_POLL), DIAG_EVENT_LOOP);
	assert_int_equal(diag_cat_of_state(REPORT_ST_FAULT), DIAG_PAGE_FAULT);
	assert_int_equal(diag_cat_of_state(REPORT_ST_OFFCPU), DIAG_OFFCPU);
	assert_int_equal(diag_cat_of_state(REPORT_ST_UNKNOWN), DIAG_UNKNOWN);
	assert_null(diag_call_name(CT_WAIT_MUTEX, CT_CALL_READ));
	assert_string_equal(diag_call_name(CT_WAIT_PIPE, CT_CALL_WRITE), "write");
	assert_null(diag_call_name(CT_WAIT_NET, 99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holder_in_fsync),
		cmocka_unit_test(test_holder_running),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_runnable),
		cmocka_unit_test(test_throttled),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_page_faults),
		cmocka_unit_test(test_fault_kernel_time),
		cmocka_unit_test(test_fault_count_spread),
		cmocka_unit_test(test_cpu_site_past_system_frames),
		cmocka_unit_test(test_runnable_sampled_average),
		cmocka_unit_test(test_queued),
		cmocka_unit_test(test_task_option),
		cmocka_unit_test(test_wait_categories),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
