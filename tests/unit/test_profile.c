/* Blocking profiles (src/analysis/profile.c) over a synthetic two-generation
 * trace whose waits, scheduler intervals and CPU samples have durations,
 * stacks and labels known by construction. The pprof built is inspected
 * through its in-memory form (export/pprof_int.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/profile.h"
#include "export/pprof_int.h"
#include "profile_trace.h"

/* ---- running a profile ---- */

struct run {
	struct tb b;
	ct_reader *r;
	struct profile *pr;
	struct pprof *p;
	struct profile_stats st;
};

static void run(struct run *x, const struct profile_options *o)
{
	x->b = profile_trace();
	assert_int_equal(ct_reader_open_mem(x->b.out.p, x->b.out.len, &x->r), 0);
	x->pr = profile_new(o);
	assert_non_null(x->pr);
	assert_int_equal(profile_read(x->pr, x->r), 0);
	x->p = profile_finish(x->pr, ct_reader_info(x->r), &x->st);
	assert_non_null(x->p);
	assert_int_equal(x->p->err, 0);
}

static void done(struct run *x)
{
	profile_free(x->pr);
	ct_reader_close(x->r);
	tb_free(&x->b);
}

/* The sample's frames, leaf first, inlined ones first within an address:
 * "spin;main_loop;[thread worker]". */
static const char *stack_of(const struct pprof *p, size_t si, char *buf, size_t n)
{
	const struct psample *s = &p->smp[si];
	size_t len = 0;
	buf[0] = 0;
	for (uint32_t i = 0; i < s->nlocs; i++) {
		const struct ploc *l = &p->loc[p->slocs[s->locs + i] - 1];
		for (uint32_t k = 0; k < l->nlines; k++) {
			const char *f = p->str[p->fn[p->lines[l->lines + k].fn].name];
			len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ";" : "", f);
			assert_true(len < n);
		}
	}
	return buf;
}

static const char *label(const struct pprof *p, size_t si, const char *key)
{
	const struct psample *s = &p->smp[si];
	for (uint32_t k = 0; k < s->nlabels; k++) {
		const struct plabel *l = &p->slabels[s->labels + k];
		if (l->str && strcmp(p->str[l->key], key) == 0)
			return p->str[l->str];
	}
	return NULL;
}

/* The one sample with this stack and, when key is not NULL, that label. */
static size_t find(const struct pprof *p, const char *stack, const char *key, const char *val)
{
	char buf[512];
	size_t found = SIZE_MAX;
	for (size_t i = 0; i < p->nsmp; i++) {
		if (strcmp(stack_of(p, i, buf, sizeof(buf)), stack) != 0)
			continue;
		const char *v = key ? label(p, i, key) : NULL;
		if (key && (!v || strcmp(v, val) != 0))
			continue;
		if (found != SIZE_MAX)
			fail_msg("two samples with stack %s", stack);
		found = i;
	}
	if (found == SIZE_MAX)
		fail_msg("no sample with stack %s%s%s", stack, key ? " and " : "", key ? val : "");
	return found;
}

static int64_t val(const struct pprof *p, size_t si, int k)
{
	return p->values[si * (size_t)p->nvalues + (size_t)k];
}

static void assert_label(const struct pprof *p, size_t si, const char *key, const char *want)
{
	const char *v = label(p, si, key);
	if (!want) {
		if (v)
			fail_msg("label %s=%s, want none", key, v);
		return;
	}
	if (!v)
		fail_msg("no label %s, want %s", key, want);
	assert_string_equal(v, want);
}

static const char *type_name(const struct pprof *p, int k)
{
	return p->str[p->type[k]];
}

/* ---- tests ---- */

static void test_sync(void **state)
{
	(void)state;
	struct run x;
	run(&x, &(struct profile_options){.type = PROFILE_SYNC});
	const struct pprof *p = x.p;
	assert_string_equal(type_name(p, 0), "contentions");
	assert_string_equal(type_name(p, 1), "delay");
	assert_int_equal(pprof_default_index(p), 1);
	assert_int_equal(p->nsmp, 3);
	assert_int_equal(x.st.samples, 3);
	assert_int_equal(x.st.total_ns, 3000 + 2000 + 10000);
	assert_int_equal(x.st.idle, 1);	     /* the condvar wait */
	assert_int_equal(x.st.unmatched, 1); /* pool's wait across a loss */
	assert_int_equal(x.st.unfinished, 1);
	assert_int_equal(x.st.generations, 2);

	size_t s = find(p, "lock_site;main_loop", "holder", "worker (102)");
	assert_int_equal(val(p, s, 0), 1);
	assert_int_equal(val(p, s, 1), 3000);
	assert_label(p, s, "reason", "mutex");
	assert_label(p, s, "thread", "main (101)");
	assert_label(p, s, "task", "request");
	assert_label(p, s, "region", "handle");
	assert_label(p, s, "unfinished", NULL);
	assert_label(p, s, "call", NULL);

	/* The holder's tid was in no thread table until generation 2. */
	s = find(p, "lock_site;main_loop", "holder", "late (104)");
	assert_int_equal(val(p, s, 1), 2000);
	assert_label(p, s, "task", NULL);
	assert_label(p, s, "region", NULL);

	/* Still waiting at the end: up to the trace's pt_last event (40000). */
	s = find(p, "lock_site;main_loop", "holder", "tid 999");
	assert_int_equal(val(p, s, 1), 10000);
	assert_label(p, s, "reason", "rwlock_write");
	assert_label(p, s, "unfinished", "true");

	/* Inlined frames are one location with two lines; a mapping per module. */
	assert_int_equal(p->nmap, 1);
	assert_string_equal(p->str[p->map[0].file], "/usr/bin/test");
	done(&x);
}

static void test_sync_include_idle(void **state)
{
	(void)state;
	struct run x;
	run(&x, &(struct profile_options){.type = PROFILE_SYNC, .include_idle = 1});
	assert_int_equal(x.p->nsmp, 4);
	assert_int_equal(x.st.idle, 0);
	size_t s = find(x.p, "cv_site;main_loop", NULL, NULL);
	assert_int_equal(val(x.p, s, 1), 2000);
	assert_label(x.p, s, "reason", "condvar");
	assert_label(x.p, s, "holder", NULL);
	done(&x);
}

static void test_syscall(void **state)
{
	(void)state;
	struct run x;
	run(&x, &(struct profile_options){.type = PROFILE_SYSCALL});
	const struct pprof *p = x.p;
	assert_string_equal(type_name(p, 0), "waits");
	assert_string_equal(type_name(p, 1), "delay");
	assert_int_equal(p->nsmp, 3);
	assert_int_equal(x.st.total_ns, 3000 + 500 + 1000);

	size_t s = find(p, "read_site;main_loop", NULL, NULL);
	assert_int_equal(val(p, s, 0), 1);
	assert_int_equal(val(p, s, 1), 3000);
	assert_label(p, s, "reason", "net");
	assert_label(p, s, "call", "recv");
	assert_label(p, s, "fd_kind", "socket");
	assert_label(p, s, "holder", NULL);

	/* No stack: the thread's regions, task and name stand in. */
	s = find(p, "[region handle];[task request];[thread main]", NULL, NULL);
	assert_int_equal(val(p, s, 1), 500);
	assert_label(p, s, "reason", "file");
	assert_label(p, s, "call", "fsync");
	assert_label(p, s, "fd_kind", "file");

	s = find(p, "spin;main_loop", NULL, NULL);
	assert_int_equal(val(p, s, 1), 1000);
	assert_label(p, s, "reason", "sleep");
	assert_label(p, s, "call", NULL);
	const struct ploc *l = &p->loc[p->slocs[p->smp[s].locs] - 1];
	assert_int_equal(p->smp[s].nlocs, 1);
	assert_int_equal(l->nlines, 2);
	assert_int_equal(l->address, 0x1300);
	done(&x);
}

static void test_net(void **state)
{
	(void)state;
	struct run x;
	run(&x, &(struct profile_options){.type = PROFILE_NET});
	assert_int_equal(x.p->nsmp, 1);
	size_t s = find(x.p, "read_site;main_loop", "call", "recv");
	assert_int_equal(val(x.p, s, 1), 3000);
	done(&x);
}

static void test_sched(void **state)
{
	(void)state;
	struct run x;
	run(&x, &(struct profile_options){.type = PROFILE_SCHED});
	const struct pprof *p = x.p;
	assert_string_equal(type_name(p, 0), "delays");
	assert_string_equal(type_name(p, 1), "runnable");
	assert_int_equal(p->nsmp, 4);
	assert_int_equal(x.st.total_ns, 600 + 500 + 100 + 700);
	assert_int_equal(x.st.perf, 3);
	assert_int_equal(x.st.schedstat, 1);

	/* Preempted to the next sched.in; the blocked switch counts nothing. */
	size_t s = find(p, "[thread worker]", NULL, NULL);
	assert_int_equal(val(p, s, 0), 1);
	assert_int_equal(val(p, s, 1), 600);
	assert_label(p, s, "source", "perf");
	assert_label(p, s, "thread", "worker (102)");
	/* Preempted in the code of the latest CPU sample. */
	s = find(p, "spin;main_loop;[thread worker]", NULL, NULL);
	assert_int_equal(val(p, s, 1), 500);
	/* The thread moved on (a region began) since the sample. */
	s = find(p, "[region compute];[thread worker]", NULL, NULL);
	assert_int_equal(val(p, s, 1), 100);
	assert_label(p, s, "region", "compute");
	/* schedstat: the sample's runnable time. */
	s = find(p, "[thread pool]", NULL, NULL);
	assert_int_equal(val(p, s, 1), 700);
	assert_label(p, s, "source", "schedstat");
	done(&x);
}

static void test_cpu(void **state)
{
	(void)state;
	struct run x;
	run(&x, &(struct profile_options){.type = PROFILE_CPU});
	const struct pprof *p = x.p;
	assert_string_equal(type_name(p, 0), "samples");
	assert_string_equal(type_name(p, 1), "cpu");
	assert_int_equal(p->nsmp, 1);
	size_t s = find(p, "spin;main_loop", "thread", "worker (102)");
	assert_int_equal(val(p, s, 0), 1);
	assert_int_equal(val(p, s, 1), 10000000);
	/* 100 Hz (the trace's cpu.sample_hz): a sample stands for 10 ms. */
	assert_string_equal(p->str[p->period_type], "cpu");
	assert_int_equal(p->period, 10000000);
	done(&x);
}

static void test_filters(void **state)
{
	(void)state;
	struct run x;
	/* By name: the worker's three intervals, not the pool's sample. */
	run(&x, &(struct profile_options){.type = PROFILE_SCHED, .thread = "worker"});
	assert_int_equal(x.p->nsmp, 3);
	assert_int_equal(x.st.total_ns, 1200);
	assert_int_equal(x.st.filtered, 1);
	done(&x);

	/* By tid. */
	run(&x, &(struct profile_options){.type = PROFILE_SYNC, .thread = "101"});
	assert_int_equal(x.p->nsmp, 3);
	done(&x);
	run(&x, &(struct profile_options){.type = PROFILE_SYNC, .thread = "nobody"});
	assert_int_equal(x.p->nsmp, 0);
	assert_int_equal(x.st.filtered, 3);
	done(&x);

	/* By the task the thread worked for when the wait began. */
	run(&x, &(struct profile_options){.type = PROFILE_SYNC, .task_type = "request"});
	assert_int_equal(x.p->nsmp, 1);
	find(x.p, "lock_site;main_loop", "holder", "worker (102)");
	done(&x);

	/* A window, from the trace's first event (100): [2500, 4000) cuts the
	 * first lock wait [2000, 5000) to 1500 ns and leaves the rest out. */
	run(&x, &(struct profile_options){
			.type = PROFILE_SYNC, .from_ns = 2400, .to_ns = 3900, .has_to = 1});
	assert_int_equal(x.p->nsmp, 1);
	size_t s = find(x.p, "lock_site;main_loop", "holder", "worker (102)");
	assert_int_equal(val(x.p, s, 0), 1);
	assert_int_equal(val(x.p, s, 1), 1500);
	assert_int_equal(x.p->duration_nanos, 1500);
	done(&x);

	/* An open-ended window: from 30000 (abs 30100) the unfinished wait. */
	run(&x, &(struct profile_options){.type = PROFILE_SYNC, .from_ns = 30000});
	assert_int_equal(x.p->nsmp, 1);
	s = find(x.p, "lock_site;main_loop", "holder", "tid 999");
	assert_int_equal(val(x.p, s, 1), 40000 - 30100);
	done(&x);
}

/* A profile with no data is a valid, empty profile. */
static void test_empty(void **state)
{
	(void)state;
	struct tb b;
	tb_init(&b);
	tb_gen_begin(&b, 1);
	tb_thread(&b, 1, 7, "t", 0);
	pt_batch(&b, 1);
	PT_AT0(&b, CT_EV_REGION_END, 10);
	tb_batch_end(&b);
	tb_gen_end(&b, 0);
	tb_end(&b, 1, 0, 1);
	for (int t = 0; t < PROFILE_NTYPES; t++) {
		ct_reader *r;
		assert_int_equal(ct_reader_open_mem(b.out.p, b.out.len, &r), 0);
		struct profile *pr = profile_new(&(struct profile_options){.type = t});
		assert_int_equal(profile_read(pr, r), 0);
		struct profile_stats st;
		struct pprof *p = profile_finish(pr, ct_reader_info(r), &st);
		assert_non_null(p);
		assert_int_equal(p->nsmp, 0);
		assert_int_equal(st.samples, 0);
		assert_int_equal(st.events, 1);
		profile_free(pr);
		ct_reader_close(r);
	}
	tb_free(&b);
}

/* A holder that recorded nothing is in no thread table: named by its tid,
 * and as the main thread when that tid is the process id. */
static void test_holder_main_thread(void **state)
{
	(void)state;
	struct tb b;
	tb_init(&b);
	tb_meta(&b, "pid", "500");
	tb_gen_begin(&b, 1);
	tb_thread(&b, 1, 501, "w", 0);
	pt_batch(&b, 1);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 10, 0, CT_WAIT_MUTEX, 0x10, 500);
	PT_AT(&b, CT_EV_WAIT_END, 30, 0, 0);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 40, 0, CT_WAIT_MUTEX, 0x10, 502);
	PT_AT(&b, CT_EV_WAIT_END, 100, 0, 0);
	tb_batch_end(&b);
	tb_gen_end(&b, 0);
	tb_end(&b, 4, 0, 1);
	ct_reader *r;
	assert_int_equal(ct_reader_open_mem(b.out.p, b.out.len, &r), 0);
	struct profile *pr = profile_new(&(struct profile_options){.type = PROFILE_SYNC});
	assert_int_equal(profile_read(pr, r), 0);
	struct pprof *p = profile_finish(pr, ct_reader_info(r), NULL);
	assert_int_equal(p->nsmp, 2);
	size_t s = find(p, "[thread w]", "holder", "main thread (500)");
	assert_int_equal(val(p, s, 1), 20);
	s = find(p, "[thread w]", "holder", "tid 502");
	assert_int_equal(val(p, s, 1), 60);
	profile_free(pr);
	ct_reader_close(r);
	tb_free(&b);
}

static void test_type_names(void **state)
{
	(void)state;
	enum profile_type t;
	for (int i = 0; i < PROFILE_NTYPES; i++) {
		assert_int_equal(profile_type_parse(profile_type_name(i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_int_equal(profile_type_parse("mutex", &t), -1);
	assert_int_equal(profile_type_parse(NULL, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_sync_include_idle),
		cmocka_unit_test(test_syscall),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_sched),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_holder_main_thread),
		cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
