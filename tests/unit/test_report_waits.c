/* Unit tests of the report's wait analysis (src/analysis/report_wait.c): per
 * thread and per task breakdowns, longest waits, wait sites and holders, with
 * durations known by construction. */
#include "report_events.h"

static const struct report_wait_site *site_of(const struct report_result *res, uint32_t reason,
					      const char *func)
{
	for (uint32_t i = 0; i < res->nwait_sites; i++)
		if (res->wait_sites[i].reason == reason &&
		    strcmp(res->wait_sites[i].site.function, func) == 0)
			return &res->wait_sites[i];
	fail_msg("no %u wait site in %s", reason, func);
	return NULL;
}

static void test_wait_breakdown(void **state)
{
	(void)state;
	/* Two stacks with equal frames through different pointers and ids (as
	 * in two generations) are one site. */
	static char fn2[] = "lock_site", file2[] = "/src/a.c";
	static const struct ct_frame f_lock = {1, "lock_site", "/src/a.c", 10, 0, ""},
				     f_lock2 = {2, fn2, file2, 10, 0, ""},
				     f_sleep = {3, "nap", "/src/b.c", 20, 0, ""},
				     f_cv = {4, "get_work", "/src/c.c", 30, 0, ""},
				     f_net = {5, "read_req", "/src/d.c", 40, 0, ""};
	static const struct ct_stack s_lock = {1, 1, &f_lock}, s_lock2 = {9, 1, &f_lock2},
				     s_sleep = {2, 1, &f_sleep}, s_cv = {3, 1, &f_cv},
				     s_net = {4, 1, &f_net};
	struct ct_event evs[] = {
		/* main: a task with a contended lock (held by worker, tid 102),
		 * a sleep and a condvar wait, then stuck in a read at the end */
		tbegin(1, 1000, 1, "req"),
		wbegin(1, 2000, CT_WAIT_MUTEX, 0x10, 102, &s_lock),
		wend(1, 5000),
		wbegin(1, 6000, CT_WAIT_SLEEP, 0, 1000, &s_sleep),
		wend(1, 7000),
		wbegin(1, 8000, CT_WAIT_CONDVAR, 0x20, 0, &s_cv),
		wend(1, 10000),
		tend(1, 11000, 1),
		wbegin(1, 12000, CT_WAIT_NET, 5, CT_CALL_READ, &s_net),
		/* worker: no waits; one wait.end from before the trace */
		rbegin(2, 0, "x"),
		wend(2, 50),
		rend(2, 20000),
		/* pool: the same lock site, the same holder */
		wbegin(3, 100, CT_WAIT_MUTEX, 0x10, 102, &s_lock2),
		wend(3, 600),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 5);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->waits, 5);
	assert_int_equal(res->waits_open, 1);
	assert_int_equal(res->waits_unmatched, 1);
	assert_int_equal(res->nthreads, 3);

	const struct report_thread *m = &res->threads[0], *w = &res->threads[1],
				   *p = &res->threads[2];
	assert_int_equal(m->span_ns, 19000); /* to the trace's end: a wait is open */
	assert_int_equal(m->waits.wait_ns[REPORT_WAIT_SYNC], 3000);
	assert_int_equal(m->waits.wait_ns[REPORT_WAIT_SLEEP], 1000);
	assert_int_equal(m->waits.wait_ns[REPORT_WAIT_CONDVAR], 2000);
	assert_int_equal(m->waits.wait_ns[REPORT_WAIT_NET], 8000);
	assert_int_equal(m->waits.wait_ns[REPORT_WAIT_FILE], 0);
	assert_int_equal(m->waits.other_ns, 5000);
	assert_int_equal(m->waits.waits, 4);
	assert_true(m->waiting);
	assert_int_equal(m->open.reason, CT_WAIT_NET);
	assert_int_equal(m->open.begin_ns, 12000);
	assert_int_equal(m->open.duration_ns, 8000);
	assert_string_equal(m->open.site.function, "read_req");
	assert_int_equal(m->open.site.line, 40);
	assert_int_equal(w->span_ns, 20000);
	assert_int_equal(w->waits.other_ns, 20000);
	assert_int_equal(w->waits.waits, 0);
	assert_false(w->waiting);
	assert_int_equal(p->span_ns, 500);
	assert_int_equal(p->waits.wait_ns[REPORT_WAIT_SYNC], 500);
	assert_int_equal(p->waits.other_ns, 0);

	/* sites: by total time; the lock site is one across stack ids */
	assert_int_equal(res->nwait_sites, 4);
	assert_int_equal(res->ntop_wait_sites, 4);
	assert_int_equal(res->wait_sites[0].reason, CT_WAIT_NET);
	assert_int_equal(res->wait_sites[0].open, 1);
	assert_int_equal(res->wait_sites[0].total_ns, 8000);
	const struct report_wait_site *lk = site_of(res, CT_WAIT_MUTEX, "lock_site");
	assert_ptr_equal(lk, &res->wait_sites[1]);
	assert_int_equal(lk->count, 2);
	assert_int_equal(lk->total_ns, 3500);
	assert_int_equal(lk->max_ns, 3000);
	assert_string_equal(lk->site.file, "/src/a.c");
	assert_int_equal(lk->holder, 2);
	assert_int_equal(lk->holder_tid, 102);
	assert_string_equal(lk->holder_name, "worker");
	assert_int_equal(lk->holder_waits, 2);
	assert_int_equal(site_of(res, CT_WAIT_CONDVAR, "get_work")->total_ns, 2000);
	assert_int_equal(site_of(res, CT_WAIT_SLEEP, "nap")->total_ns, 1000);
	assert_int_equal(site_of(res, CT_WAIT_SLEEP, "nap")->holder_tid, 0);

	/* the task: its time on main, by wait, and its longest waits */
	assert_int_equal(res->nslow, 1);
	const struct report_task *t = &res->slow[0];
	assert_int_equal(t->on_thread_ns, 10000);
	assert_int_equal(t->waits.wait_ns[REPORT_WAIT_SYNC], 3000);
	assert_int_equal(t->waits.wait_ns[REPORT_WAIT_SLEEP], 1000);
	assert_int_equal(t->waits.wait_ns[REPORT_WAIT_CONDVAR], 2000);
	assert_int_equal(t->waits.wait_ns[REPORT_WAIT_NET], 0);
	assert_int_equal(t->waits.other_ns, 4000);
	assert_int_equal(t->waits.waits, 3);
	assert_int_equal(t->nwaits, 3);
	assert_int_equal(t->longest[0].reason, CT_WAIT_MUTEX);
	assert_int_equal(t->longest[0].duration_ns, 3000);
	assert_int_equal(t->longest[0].begin_ns, 2000);
	assert_int_equal(t->longest[0].thread, 1);
	assert_string_equal(t->longest[0].site.function, "lock_site");
	assert_int_equal(t->longest[0].site.line, 10);
	assert_int_equal(t->longest[0].holder, 2);
	assert_string_equal(t->longest[0].holder_name, "worker");
	assert_false(t->longest[0].open);
	assert_int_equal(t->longest[1].reason, CT_WAIT_CONDVAR);
	assert_int_equal(t->longest[2].reason, CT_WAIT_SLEEP);
	assert_int_equal(t->longest[2].holder_tid, 0);
	report_free(r);
}

/* A task still running at the end, its thread blocked: the open wait is
 * the task's (clipped to it) and marked open; an unknown holder tid keeps
 * its tid with no thread. */
static void test_wait_open_in_task(void **state)
{
	(void)state;
	struct ct_event evs[] = {
		tbegin(2, 0, 7, "job"),
		wbegin(1, 100, CT_WAIT_MUTEX, 0x10, 999, NULL),
		tbegin(1, 200, 8, "short"),
		tend(1, 300, 8),
		wbegin(2, 1000, CT_WAIT_FILE, 3, CT_CALL_FSYNC, NULL),
		tend(3, 5000, 7),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 5);
	const struct report_result *res = report_finish(r);
	/* thread 1: wait.begin twice without an end: the first ends at the second */
	assert_int_equal(res->waits, 2);
	assert_int_equal(res->waits_open, 2);
	assert_int_equal(res->threads[0].waits.wait_ns[REPORT_WAIT_SYNC], 4900);
	assert_int_equal(res->threads[0].open.holder_tid, 999);
	assert_int_equal(res->threads[0].open.holder, 0);
	assert_null(res->threads[0].open.holder_name);
	assert_int_equal(res->threads[1].span_ns, 5000);
	assert_int_equal(res->threads[1].waits.wait_ns[REPORT_WAIT_FILE], 4000);
	assert_string_equal(res->wait_sites[0].site.function, "");
	const struct report_task *t = &res->slow[0];
	assert_int_equal(t->id, 7);
	assert_int_equal(t->waits.wait_ns[REPORT_WAIT_FILE], 4000);
	assert_int_equal(t->nwaits, 1);
	assert_int_equal(t->longest[0].duration_ns, 4000);
	assert_true(t->longest[0].open);
	report_free(r);
}

/* ---- the lean path over a reader equals the public events ---- */

/* A random trace: 3 generations, 3 threads, every kind pass 1 handles,
 * stacks on regions, strings with sparse ids when `sparse`, and
 * region.begin given a second argument when `odd_spec` (so it takes the
 * full decode). */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_breakdown),
		cmocka_unit_test(test_wait_open_in_task),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
