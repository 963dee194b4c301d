/* Unit tests of the report analysis (src/analysis/report.c), fed synthetic
 * events directly: expected latencies, self times and attributions are known
 * by construction. Waits: test_report_waits.c; the lean pass: test_report_lean.c. */
#include "report_events.h"

static void test_hist_error_bound(void **state)
{
	(void)state;
	struct hist h;
	hist_init(&h);
	enum { N = 20000 };
	uint64_t *v = malloc(N * sizeof(*v));
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		v[i] = (x % 1000000007ull) >> (x % 24); /* spans many decades */
		hist_add(&h, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	for (unsigned q = 100; q <= 10000; q += 100)
		assert_within_1pct(hist_quantile(&h, q), exact_pct(v, N, q));
	assert_int_equal(hist_quantile(&h, 10000), v[N - 1]);
	assert_int_equal(h.min, v[0]);
	free(v);
	hist_free(&h);
}

static void test_latency_percentiles(void **state)
{
	(void)state;
	enum { N = 10000 };
	struct ct_event *evs = calloc(4 * N, sizeof(*evs));
	uint64_t *sq = malloc(N * sizeof(*sq));
	size_t n = 0;
	for (uint64_t i = 1; i <= N; i++) {
		uint64_t t0 = i * 100000000ull;
		evs[n++] = tbegin(1, t0, i, "req");
		evs[n++] = tend(1, t0 + i * 1000, i); /* 1 µs .. 10 ms */
		sq[i - 1] = 50 + i * i * 7;	      /* skewed: 57 ns .. 700 ms */
		evs[n++] = tbegin(2, t0, N + i, "skewed");
		evs[n++] = tend(2, t0 + sq[i - 1], N + i);
	}
	struct report *r = run(evs, n, 5);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->tasks_finished, 2 * N);
	assert_int_equal(res->tasks_unfinished, 0);
	const struct report_type *t = type_named(res, "req");
	assert_int_equal(t->count, N);
	assert_within_1pct(t->p50_ns, 5000 * 1000);
	assert_within_1pct(t->p90_ns, 9000 * 1000);
	assert_within_1pct(t->p99_ns, 9900 * 1000);
	assert_int_equal(t->max_ns, 10000 * 1000);
	assert_int_equal(t->min_ns, 1000);
	assert_int_equal(t->total_ns, 1000ull * N * (N + 1) / 2);

	const struct report_type *s = type_named(res, "skewed");
	assert_within_1pct(s->p50_ns, exact_pct(sq, N, 5000));
	assert_within_1pct(s->p90_ns, exact_pct(sq, N, 9000));
	assert_within_1pct(s->p99_ns, exact_pct(sq, N, 9900));
	assert_within_1pct(s->p999_ns, exact_pct(sq, N, 9990));
	assert_int_equal(s->max_ns, sq[N - 1]);

	/* The 5 slowest overall are the last 5 skewed tasks, slowest first. */
	assert_int_equal(res->nslow, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(res->slow[i].id, 2 * N - i);
		assert_int_equal(res->slow[i].latency_ns, sq[N - 1 - i]);
		assert_string_equal(res->slow[i].type, "skewed");
	}
	report_free(r);
	free(evs);
	free(sq);
}

static void test_nested_self_time(void **state)
{
	(void)state;
	const struct ct_event evs[] = {
		tbegin(1, 1000, 1, "job"), rbegin(1, 1010, "A"), rbegin(1, 1020, "B"),
		rbegin(1, 1030, "C"),	   rend(1, 1040),	 rend(1, 1050),
		rbegin(1, 1060, "B"),	   rend(1, 1070),	 rend(1, 1100),
		tend(1, 1200, 1),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 10);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->nslow, 1);
	const struct report_task *t = &res->slow[0];
	assert_int_equal(t->latency_ns, 200);
	assert_int_equal(t->nregions, 3);
	/* Pre-order: A, B under A, C under B. */
	assert_string_equal(t->regions[0].name, "A");
	assert_int_equal(t->regions[0].parent, -1);
	assert_string_equal(t->regions[1].name, "B");
	assert_int_equal(t->regions[1].parent, 0);
	assert_int_equal(t->regions[1].depth, 1);
	assert_string_equal(t->regions[2].name, "C");
	assert_int_equal(t->regions[2].parent, 1);
	assert_int_equal(t->regions[2].depth, 2);

	const struct report_region_node *a = node_named(t, "A"), *b = node_named(t, "B"),
					*c = node_named(t, "C");
	assert_int_equal(a->count, 1);
	assert_int_equal(a->total_ns, 90);
	assert_int_equal(a->self_ns, 50);
	assert_int_equal(b->count, 2);
	assert_int_equal(b->total_ns, 40);
	assert_int_equal(b->self_ns, 30);
	assert_int_equal(c->total_ns, 10);
	assert_int_equal(c->self_ns, 10);
	assert_int_equal(t->outside_ns, 110);
	assert_int_equal(t->on_thread_ns, 200);
	assert_int_equal(t->nthreads, 1);
	assert_int_equal(t->threads[0], 1);

	/* Whole-trace region totals agree. */
	assert_int_equal(res->regions_total, 4);
	assert_string_equal(res->top_regions[0].name, "A");
	const struct report_region_stat *sb = stat_named(res, "B");
	assert_int_equal(sb->count, 2);
	assert_int_equal(sb->total_ns, 40);
	assert_int_equal(sb->self_ns, 30);
	assert_int_equal(sb->max_ns, 30);
	assert_int_equal(stat_named(res, "A")->self_ns, 50);
	report_free(r);
}

/* Task 7 begins on thread 1, continues on thread 2 and ends there. Thread 2
 * is read first, as CT_ORDER_THREAD may do: the end precedes the begin. */
static void test_task_hops_threads(void **state)
{
	(void)state;
	const struct ct_event evs[] = {
		tenter(2, 300, 7),
		rbegin(2, 310, "db"),
		logev(2, 350, "db", "slow query"),
		rend(2, 400),
		tend(2, 500, 7),
		rbegin(2, 510, "idle"), /* after the task: not its region */
		rend(2, 520),
		tbegin(1, 100, 7, "request"),
		rbegin(1, 110, "parse"),
		logev(1, 120, "http", "GET /"),
		rend(1, 150),
		tleave(1, 160, 7),
		rbegin(1, 170, "next"),
		rend(1, 180),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 10);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->tasks_finished, 1);
	assert_int_equal(res->tasks_before_trace, 0);
	assert_int_equal(res->nslow, 1);
	const struct report_task *t = &res->slow[0];
	assert_int_equal(t->id, 7);
	assert_string_equal(t->type, "request");
	assert_int_equal(t->begin_ns, 100);
	assert_int_equal(t->latency_ns, 400);
	assert_int_equal(t->nthreads, 2);
	assert_int_equal(t->threads[0], 1);
	assert_int_equal(t->threads[1], 2);
	assert_int_equal(t->nregions, 2);
	assert_int_equal(node_named(t, "parse")->total_ns, 40);
	assert_int_equal(node_named(t, "db")->total_ns, 90);
	assert_int_equal(node_named(t, "db")->depth, 0);
	/* Listed by when they began, not in the order pass 2 met them. */
	assert_string_equal(t->regions[0].name, "parse");
	assert_string_equal(t->regions[1].name, "db");
	/* Outside regions: [100,110)+[150,160) on 1, [300,310)+[400,500) on 2. */
	assert_int_equal(t->outside_ns, 130);
	assert_int_equal(t->on_thread_ns, 60 + 200);
	assert_int_equal(t->nlogs, 2);
	assert_int_equal(t->logs[0].offset_ns, 20);
	assert_int_equal(t->logs[0].thread, 1);
	assert_string_equal(t->logs[0].category, "http");
	assert_string_equal(t->logs[0].message, "GET /");
	assert_int_equal(t->logs[1].offset_ns, 250);
	assert_int_equal(t->logs[1].thread, 2);
	assert_string_equal(t->logs[1].message, "slow query");
	report_free(r);
}

/* Siblings are ordered by their first begin even when a later-read thread
 * holds the earlier ones; a node seen on two threads takes the earliest. */
static void test_region_order_by_time(void **state)
{
	(void)state;
	const struct ct_event evs[] = {
		tbegin(1, 100, 9, "request"),
		rbegin(1, 110, "handle"),
		rbegin(1, 120, "parse"),
		rend(1, 130),
		rend(1, 140),
		tleave(1, 150, 9),
		tenter(2, 200, 9),
		rbegin(2, 210, "handle"),
		rbegin(2, 220, "send"),
		rend(2, 230),
		rbegin(2, 232, "encode"),
		rend(2, 234),
		rend(2, 240),
		rbegin(2, 250, "audit"),
		rend(2, 260),
		tend(2, 300, 9),
	};
	/* Pass 2 reads thread 2 first: send, encode and audit are met first. */
	const size_t n = sizeof(evs) / sizeof(evs[0]);
	struct ct_event order[sizeof(evs) / sizeof(evs[0])];
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (evs[i].thread->index == 2)
			order[k++] = evs[i];
	for (size_t i = 0; i < n; i++)
		if (evs[i].thread->index == 1)
			order[k++] = evs[i];
	struct report *r = run(order, n, 10);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->nslow, 1);
	const struct report_task *t = &res->slow[0];
	const char *want[] = {"handle", "parse", "send", "encode", "audit"};
	const uint32_t depth[] = {0, 1, 1, 1, 0};
	assert_int_equal(t->nregions, 5);
	for (uint32_t i = 0; i < 5; i++) {
		assert_string_equal(t->regions[i].name, want[i]);
		assert_int_equal(t->regions[i].depth, depth[i]);
	}
	assert_int_equal(t->regions[1].parent, 0);
	assert_int_equal(t->regions[4].parent, -1);
	report_free(r);
}

/* Logs and regions belong to the thread's current task: the top of its
 * task stack, which enter/leave and end change. */
static void test_logs_follow_current_task(void **state)
{
	(void)state;
	const struct ct_event evs[] = {
		logev(1, 5, "x", "before any task"),
		tbegin(1, 10, 1, "outer"),
		logev(1, 20, "a", "outer-1"),
		tenter(1, 30, 2), /* task 2 began on thread 2, works here now */
		logev(1, 40, "b", "inner-1"),
		rbegin(1, 45, "inner.work"),
		rend(1, 55),
		tleave(1, 60, 2),
		logev(1, 70, "a", "outer-2"),
		tend(1, 1000, 1),
		logev(1, 1010, "a", "after end"),
		tbegin(2, 25, 2, "inner"),
		tleave(2, 26, 2),
		logev(2, 40, "c", "thread 2 has no task"),
		tend(2, 100, 2),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 10);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->nslow, 2);
	const struct report_task *outer = &res->slow[0], *inner = &res->slow[1];
	assert_int_equal(outer->id, 1);
	assert_int_equal(inner->id, 2);
	assert_int_equal(outer->nlogs, 2);
	assert_string_equal(outer->logs[0].message, "outer-1");
	assert_int_equal(outer->logs[0].offset_ns, 10);
	assert_string_equal(outer->logs[1].message, "outer-2");
	assert_int_equal(outer->nregions, 0);
	assert_int_equal(inner->nlogs, 1);
	assert_string_equal(inner->logs[0].message, "inner-1");
	assert_string_equal(inner->logs[0].category, "b");
	assert_int_equal(inner->logs[0].offset_ns, 15);
	assert_int_equal(inner->nregions, 1);
	assert_int_equal(node_named(inner, "inner.work")->total_ns, 10);
	assert_int_equal(inner->nthreads, 2);
	/* outer was current on thread 1 for [10,30) and [60,1000). */
	assert_int_equal(outer->on_thread_ns, 20 + 940);
	report_free(r);
}

static void test_unfinished_tasks(void **state)
{
	(void)state;
	const struct ct_event evs[] = {
		tend(1, 50, 99), /* began before the trace */
		tbegin(1, 100, 1, "req"),
		tend(1, 200, 1),
		tbegin(1, 300, 2, "req"),   /* never ends */
		tbegin(2, 250, 3, "req"),   /* never ends, older */
		tbegin(2, 400, 4, "batch"), /* never ends */
		tleave(2, 410, 12345),	    /* unknown task: a capture edge */
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 10);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->tasks_begun, 4);
	assert_int_equal(res->tasks_finished, 1);
	assert_int_equal(res->tasks_unfinished, 3);
	assert_int_equal(res->tasks_before_trace, 1);
	const struct report_type *req = type_named(res, "req");
	assert_int_equal(req->count, 1);
	assert_int_equal(req->unfinished, 2);
	assert_int_equal(req->oldest_unfinished_begin_ns, 250);
	assert_int_equal(req->max_ns, 100);
	const struct report_type *batch = type_named(res, "batch");
	assert_int_equal(batch->count, 0);
	assert_int_equal(batch->unfinished, 1);
	assert_int_equal(batch->p99_ns, 0);
	assert_int_equal(res->nslow, 1); /* only finished tasks have a latency */
	assert_int_equal(res->slow[0].id, 1);
	report_free(r);
}

static void test_loss_counted(void **state)
{
	(void)state;
	struct ct_loss sec[] = {
		{&thr[3], 7, 1000, 2000, CT_LOSS_NO_BUFFER},
		{NULL, 100, 5000, 6000, CT_LOSS_SINK},
	};
	struct ct_thread_info gthreads[] = {thr[1], thr[2], thr[3]};
	struct ct_generation g = {
		.seq = 1,
		.size = 4096,
		.min_ts = 0,
		.max_ts = 10000,
		.nevents = 3,
		.clock_kind = CT_CLOCK_TSC,
		.ticks_per_sec = 2000000000ull,
		.nthreads = 3,
		.threads = gthreads,
		.nloss = 2,
		.loss = sec,
	};
	sec[0].thread = &gthreads[2];
	struct report_options o = {.top_tasks = 10, .top_regions = 10};
	struct report *r = report_new(&o);
	report_generation(r, &g);
	struct ct_event evs[] = {
		lossev(1, 100, 40, 300, CT_LOSS_BUFFER_FULL), /* span in ns */
		lossev(1, 900, 2, 0, CT_LOSS_BUFFER_FULL),
		lossev(2, 500, 3, 20, CT_LOSS_BUFFER_FULL),
	};
	evs[0].thread = evs[1].thread = &gthreads[0];
	evs[2].thread = &gthreads[1];
	for (size_t i = 0; i < 3; i++)
		report_event(r, &evs[i]);
	const struct report_result *res = report_finish(r);
	const struct report_loss *l = &res->loss;
	assert_int_equal(l->events, 40 + 2 + 3 + 7 + 100);
	assert_int_equal(l->in_band_records, 3);
	assert_int_equal(l->in_band_events, 45);
	assert_int_equal(l->section_records, 2);
	assert_int_equal(l->section_events, 107);
	assert_int_equal(l->by_reason[CT_LOSS_BUFFER_FULL], 45);
	assert_int_equal(l->by_reason[CT_LOSS_NO_BUFFER], 7);
	assert_int_equal(l->by_reason[CT_LOSS_SINK], 100);
	assert_int_equal(l->nranges, 5);
	/* Listed by start time: in-band at 100, 500, 900; sections at 1000, 5000. */
	assert_int_equal(l->ranges[0].start_ns, 100);
	assert_int_equal(l->ranges[0].end_ns, 400);
	assert_int_equal(l->ranges[0].in_band, 1);
	assert_int_equal(l->ranges[1].thread, 2);
	assert_int_equal(l->ranges[3].thread, 3);
	assert_int_equal(l->ranges[3].in_band, 0);
	assert_int_equal(l->ranges[4].thread, 0);
	assert_int_equal(l->ranges[4].events, 100);
	assert_int_equal(res->nthreads, 3);
	assert_int_equal(res->threads[0].index, 1);
	assert_int_equal(res->threads[0].lost_events, 42);
	assert_int_equal(res->threads[0].loss_records, 2);
	assert_int_equal(res->threads[1].lost_events, 3);
	assert_int_equal(res->threads[2].lost_events, 7);
	assert_string_equal(res->threads[2].name, "pool");
	assert_int_equal(res->events, 3);
	assert_int_equal(res->generations, 1);
	report_free(r);
}

static void test_region_edges(void **state)
{
	(void)state;
	const struct ct_event evs[] = {
		rend(1, 10),	       /* opened before the trace */
		rbegin(1, 20, "open"), /* never closed */
		rbegin(1, 30, "x"),    rend(1, 40),
		rbegin(2, 50, "dies"), ev0(CT_EV_THREAD_END, 2, 60),
	};
	struct report *r = run(evs, sizeof(evs) / sizeof(evs[0]), 10);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->regions_unmatched, 1);
	assert_int_equal(res->regions_unclosed, 2);
	assert_int_equal(res->regions_total, 1);
	assert_int_equal(res->ntop_regions, 1);
	assert_int_equal(res->first_ns, 10);
	assert_int_equal(res->last_ns, 60);
	assert_int_equal(res->threads[1].exited, 1);
	report_free(r);
}

/* Pass 2 reads only generations overlapping a slow task, and stops after
 * the last one. */
static void test_generation_skipping(void **state)
{
	(void)state;
	struct ct_generation g[4];
	memset(g, 0, sizeof(g));
	uint64_t ranges[4][2] = {{1, 100}, {101, 200}, {201, 300}, {301, 400}};
	for (int i = 0; i < 4; i++) {
		g[i].seq = (uint64_t)i + 1;
		g[i].min_ts = ranges[i][0];
		g[i].max_ts = ranges[i][1];
		g[i].nevents = 1;
		g[i].threads = &thr[1];
		g[i].nthreads = 1;
	}
	g[3].seq = 6; /* two generations missing */
	struct report_options o = {.top_tasks = 1, .top_regions = 10};
	struct report *r = report_new(&o);
	struct ct_event b = tbegin(1, 150, 1, "t"), e = tend(1, 210, 1), f = tbegin(1, 1, 2, "t");
	report_generation(r, &g[0]);
	report_event(r, &f);
	report_generation(r, &g[1]);
	report_event(r, &b);
	report_generation(r, &g[2]);
	report_event(r, &e);
	report_generation(r, &g[3]);
	assert_int_equal(report_pass1_done(r), 1);
	assert_int_equal(report_detail_wanted(r, &g[0]), 0);
	assert_int_equal(report_detail_wanted(r, &g[1]), 1);
	assert_int_equal(report_detail_wanted(r, &g[2]), 1);
	assert_int_equal(report_detail_wanted(r, &g[3]), -1);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->generations, 4);
	assert_int_equal(res->missing_generations, 2);
	assert_int_equal(res->tasks_unfinished, 1);
	report_free(r);
}

/* Arbitrary sequences (timestamps non-decreasing per thread, as the reader
 * guarantees) never crash, and the accounting invariants hold: a slow
 * task's slices add up, self time never exceeds total, and the tree is in
 * pre-order. */
static void test_random_sequences(void **state)
{
	(void)state;
	static const char *names[] = {"a", "b", "c", NULL, ""};
	uint64_t x = 0x9E3779B97F4A7C15ull;
	enum { N = 3000 };
	struct ct_event *evs = calloc(N, sizeof(*evs));
	for (int iter = 0; iter < 200; iter++) {
		uint64_t ts[4] = {0, 0, 0, 0};
		for (size_t i = 0; i < N; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			uint32_t th = 1 + (uint32_t)(x % 3);
			ts[th] += (x >> 8) % 50;
			uint64_t id = 1 + (x >> 20) % 12;
			const char *nm = names[(x >> 32) % 5];
			switch ((x >> 40) % 9) {
			case 0:
				evs[i] = tbegin(th, ts[th], id, nm);
				break;
			case 1:
				evs[i] = tend(th, ts[th], id);
				break;
			case 2:
				evs[i] = tenter(th, ts[th], id);
				break;
			case 3:
				evs[i] = tleave(th, ts[th], id);
				break;
			case 4:
			case 5:
				evs[i] = rbegin(th, ts[th], nm);
				break;
			case 6:
				evs[i] = rend(th, ts[th]);
				break;
			case 7:
				evs[i] = logev(th, ts[th], nm ? nm : "x", "m");
				break;
			default:
				evs[i] = ev0((x >> 48) % 2 ? CT_EV_THREAD_END : 99, th, ts[th]);
			}
		}
		struct report *r = run(evs, N, 5);
		const struct report_result *res = report_finish(r);
		assert_true(res->tasks_finished <= res->tasks_begun);
		for (uint32_t k = 0; k < res->nslow; k++) {
			const struct report_task *t = &res->slow[k];
			uint64_t self = 0;
			for (uint32_t j = 0; j < t->nregions; j++) {
				const struct report_region_node *n = &t->regions[j];
				self += n->self_ns;
				assert_true(n->self_ns <= n->total_ns);
				assert_true(n->parent < (int32_t)j);
				assert_int_equal(n->depth,
						 n->parent < 0 ? 0
							       : t->regions[n->parent].depth + 1);
			}
			assert_int_equal(self + t->outside_ns, t->on_thread_ns);
			assert_true(t->nlogs <= REPORT_MAX_TASK_LOGS);
			for (uint32_t j = 0; j < t->nlogs; j++)
				assert_true(t->logs[j].offset_ns <= t->latency_ns);
			if (k > 0)
				assert_true(res->slow[k - 1].latency_ns >= t->latency_ns);
		}
		report_free(r);
	}
	free(evs);
}

/* A task with more distinct regions than REPORT_MAX_TASK_REGIONS keeps the
 * first ones and folds the rest into one "(more regions)" node. */
static void test_region_node_cap(void **state)
{
	(void)state;
	enum { K = REPORT_MAX_TASK_REGIONS + 50 };
	static char names[K][16];
	struct ct_event *evs = calloc(2 * K + 2, sizeof(*evs));
	size_t n = 0;
	evs[n++] = tbegin(1, 0, 1, "big");
	for (int i = 0; i < K; i++) {
		snprintf(names[i], sizeof(names[i]), "r%d", i);
		evs[n++] = rbegin(1, 10 + 10 * (uint64_t)i, names[i]);
		evs[n++] = rend(1, 15 + 10 * (uint64_t)i);
	}
	evs[n++] = tend(1, 10 + 10 * (uint64_t)K, 1);
	struct report *r = run(evs, n, 1);
	const struct report_result *res = report_finish(r);
	const struct report_task *t = &res->slow[0];
	assert_int_equal(t->nregions, REPORT_MAX_TASK_REGIONS);
	const struct report_region_node *more = node_named(t, "(more regions)");
	assert_int_equal(more->count, K - (REPORT_MAX_TASK_REGIONS - 1));
	assert_int_equal(more->total_ns, 5 * more->count);
	assert_int_equal(node_named(t, "r0")->total_ns, 5);
	uint64_t self = 0;
	for (uint32_t j = 0; j < t->nregions; j++)
		self += t->regions[j].self_ns;
	assert_int_equal(self, 5 * K);
	assert_int_equal(self + t->outside_ns, t->latency_ns);
	report_free(r);
	free(evs);
}

static void test_empty(void **state)
{
	(void)state;
	struct report *r = run(NULL, 0, 10);
	const struct report_result *res = report_finish(r);
	assert_int_equal(res->events, 0);
	assert_int_equal(res->first_ns, 0);
	assert_int_equal(res->nslow, 0);
	assert_int_equal(res->ntypes, 0);
	assert_int_equal(res->nthreads, 0);
	report_free(r);
}

/* ---- waits ---- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_error_bound),
		cmocka_unit_test(test_latency_percentiles),
		cmocka_unit_test(test_nested_self_time),
		cmocka_unit_test(test_task_hops_threads),
		cmocka_unit_test(test_logs_follow_current_task),
		cmocka_unit_test(test_unfinished_tasks),
		cmocka_unit_test(test_loss_counted),
		cmocka_unit_test(test_region_edges),
		cmocka_unit_test(test_generation_skipping),
		cmocka_unit_test(test_random_sequences),
		cmocka_unit_test(test_region_node_cap),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_region_order_by_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
