/* Waits end to end: waits_prog's threads block for known causes, traced
 * through `ctrace run` (LD_PRELOAD) and through the link-time wrappers, and
 * the trace read back must name the cause, the site and the holder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace_reader.h"

static char tmpdir[] = "/tmp/ctrace-waits-XXXXXX";

struct wait {
	uint32_t tid, reason;
	uint64_t object, detail, begin, end;
	int64_t result;
	char func[128]; /* innermost frame's function */
};

struct run {
	struct wait w[4096];
	int n;
	int complete;
	uint64_t facts[8];
	char keys[8][32];
	int nfacts;
};

static uint64_t fact(const struct run *r, const char *key)
{
	for (int i = 0; i < r->nfacts; i++)
		if (!strcmp(r->keys[i], key))
			return r->facts[i];
	fail_msg("fact %s missing", key);
	return 0;
}

static void read_waits(const char *path, struct run *out)
{
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	int open_at[65536];
	memset(open_at, -1, sizeof open_at);
	int rc;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		uint32_t ti = ev.thread->index & 0xffff;
		if (ev.type == CT_EV_WAIT_BEGIN && out->n < 4096) {
			struct wait *w = &out->w[out->n];
			memset(w, 0, sizeof *w);
			w->tid = ev.thread->tid;
			w->reason = (uint32_t)ev.args[0];
			w->object = ev.args[1];
			w->detail = ev.args[2];
			w->begin = ev.ts;
			if (ev.stack && ev.stack->nframes)
				snprintf(w->func, sizeof w->func, "%s",
					 ev.stack->frames[0].function);
			open_at[ti] = out->n++;
		} else if (ev.type == CT_EV_WAIT_END && open_at[ti] >= 0) {
			out->w[open_at[ti]].end = ev.ts;
			out->w[open_at[ti]].result = (int64_t)ev.args[0];
			open_at[ti] = -1;
		}
	}
	assert_int_equal(rc, 0);
	out->complete = ct_reader_complete(r);
	ct_reader_close(r);
}

/* Runs waits_prog MODE, traced one way or the other, and reads it back. */
static void run_mode(const char *mode, int wrapped, struct run *out)
{
	char trace[256], facts[256], cmd[2048];
	snprintf(trace, sizeof trace, "%s/%s-%d.ctrace", tmpdir, mode, wrapped);
	snprintf(facts, sizeof facts, "%s/%s-%d.facts", tmpdir, mode, wrapped);
	if (wrapped)
		snprintf(cmd, sizeof cmd, "CTRACE_OUTPUT=%s %s %s %s", trace, WAITS_PROG_WRAP, mode,
			 facts);
	else
		snprintf(cmd, sizeof cmd, "%s run -o %s -- %s %s %s", CTRACE_CLI, trace, WAITS_PROG,
			 mode, facts);
	int st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	memset(out, 0, sizeof *out);
	read_waits(trace, out);
	assert_true(out->complete);
	FILE *f = fopen(facts, "r");
	assert_non_null(f);
	unsigned long long v;
	while (out->nfacts < 8 && fscanf(f, "%31s %llu", out->keys[out->nfacts], &v) == 2)
		out->facts[out->nfacts++] = v;
	fclose(f);
}

static int variants(void)
{
#ifdef CTRACE_SANITIZED
	return 1; /* a sanitized preload library cannot go into a plain program */
#else
	return 2;
#endif
}

static void check_mutex(int wrapped, int with_fsync)
{
	static struct run r;
	run_mode(with_fsync ? "fsync" : "mutex", wrapped, &r);
	uint64_t holder = fact(&r, "holder_tid"), mu = fact(&r, "mutex");
	int found = 0, fsyncs = 0;
	for (int i = 0; i < r.n; i++) {
		struct wait *w = &r.w[i];
		if (w->reason == CT_WAIT_MUTEX && w->object == mu) {
			found++;
			assert_int_equal(w->detail, holder);
			assert_int_not_equal(w->tid, holder);
			assert_string_equal(w->func, "contended_lock_site");
			assert_true(w->end > w->begin);
			assert_int_equal(w->result, 0);
		}
		if (w->reason == CT_WAIT_FILE && w->detail == CT_CALL_FSYNC) {
			fsyncs++;
			assert_int_equal(w->tid, holder);
			assert_string_equal(w->func, "fsync_site");
		}
	}
	assert_int_equal(found, 1);
	assert_int_equal(fsyncs, with_fsync);
}

static void test_contended_mutex(void **state)
{
	(void)state;
	for (int v = 2 - variants(); v < 2; v++)
		check_mutex(v == 1 ? 1 : 0, 0);
}

static void test_lock_held_across_fsync(void **state)
{
	(void)state;
	for (int v = 2 - variants(); v < 2; v++)
		check_mutex(v, 1);
}

static void test_late_socket_peer(void **state)
{
	(void)state;
	static struct run r;
	for (int v = 2 - variants(); v < 2; v++) {
		run_mode("net", v, &r);
		int found = 0;
		for (int i = 0; i < r.n; i++) {
			struct wait *w = &r.w[i];
			if (w->reason == CT_WAIT_NET && w->detail == CT_CALL_RECV &&
			    !strcmp(w->func, "recv_site")) {
				found++;
				assert_int_equal(w->object, fact(&r, "fd"));
				assert_true(w->end - w->begin >= fact(&r, "delay_ns") * 9 / 10);
				assert_int_equal(w->result, 4); /* "pong" */
			}
			if (w->object == 1000) { /* a signed result: -EBADF */
				assert_int_equal(w->reason, CT_WAIT_OTHER_FD);
				assert_int_equal(w->result, -EBADF);
			}
		}
		assert_int_equal(found, 1);
	}
}

static void test_sleep_loop(void **state)
{
	(void)state;
	static struct run r;
	for (int v = 2 - variants(); v < 2; v++) {
		run_mode("sleep", v, &r);
		uint64_t asked = 0, took = 0;
		int n = 0;
		for (int i = 0; i < r.n; i++)
			if (r.w[i].reason == CT_WAIT_SLEEP) {
				n++;
				asked += r.w[i].detail;
				took += r.w[i].end - r.w[i].begin;
			}
		assert_int_equal(n, (int)fact(&r, "sleeps"));
		assert_int_equal(asked, fact(&r, "slept_ns"));
		assert_true(took >= asked * 9 / 10 && took < asked * 4);
	}
}

static void test_condvar_pool(void **state)
{
	(void)state;
	static struct run r;
	for (int v = 2 - variants(); v < 2; v++) {
		run_mode("condvar", v, &r);
		int cond = 0;
		for (int i = 0; i < r.n; i++) {
			if (r.w[i].reason == CT_WAIT_CONDVAR) {
				cond++;
				assert_int_equal(r.w[i].object, fact(&r, "cond"));
			}
			/* the pool's mutex is only ever held for an instant */
			if (r.w[i].reason == CT_WAIT_MUTEX)
				assert_true(r.w[i].end - r.w[i].begin < 5000000);
		}
		assert_true(cond >= 4);
	}
}

static void test_fork_child_stays_out(void **state)
{
	(void)state;
	static struct run r;
	for (int v = 2 - variants(); v < 2; v++) {
		run_mode("fork", v, &r);
		int sleeps = 0;
		for (int i = 0; i < r.n; i++)
			if (r.w[i].reason == CT_WAIT_SLEEP &&
			    r.w[i].detail == fact(&r, "after_fork_sleep_ns"))
				sleeps++;
		assert_int_equal(sleeps, 1);
		/* 2 sleeps of the parent, none of the child's 200 */
		int all = 0;
		for (int i = 0; i < r.n; i++)
			all += r.w[i].reason == CT_WAIT_SLEEP;
		assert_int_equal(all, 2);
	}
}

/* `ctrace report --json` over a contended mutex: the waiter's time is
 * sync, the top mutex site is the lock's caller, the holder is named. */
static void test_report_waits(void **state)
{
	(void)state;
	static struct run r;
	int wrapped = variants() == 2 ? 0 : 1;
	run_mode("mutex", wrapped, &r);
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "%s report --json %s/mutex-%d.ctrace | jq -e --argjson h %llu '"
		 "([.threads[] | select(.tid != $h and .waits.sync_ns > 0)][0] as $w "
		 "| $w.waits.sync_ns > 0.8 * $w.span_ns and $w.waits.sync_ns >= 40000000) "
		 "and ([.waits.top_sites[] | select(.reason == \"mutex\")][0] as $s "
		 "| $s.function == \"contended_lock_site\" and $s.holder.tid == $h "
		 "and $s.holder.thread == ([.threads[] | select(.tid == $h)][0].index) "
		 "and ($s.holder.name | startswith(\"waits_prog\")))' "
		 ">/dev/null",
		 CTRACE_CLI, tmpdir, wrapped, (unsigned long long)fact(&r, "holder_tid"));
	int st = system(cmd);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(cmd, sizeof cmd, "%s report %s/mutex-%d.ctrace >&2", CTRACE_CLI, tmpdir,
			 wrapped);
		(void)system(cmd);
		fail_msg("the report does not show the contended mutex");
	}
}

static void test_unmodified_program(void **state)
{
	(void)state;
#ifdef CTRACE_SANITIZED
	skip();
#endif
	char trace[256], cmd[1024];
	snprintf(trace, sizeof trace, "%s/sleep.ctrace", tmpdir);
	snprintf(cmd, sizeof cmd, "%s run -o %s -- /bin/sleep 0.2", CTRACE_CLI, trace);
	assert_int_equal(system(cmd), 0);
	static struct run r;
	memset(&r, 0, sizeof r);
	read_waits(trace, &r);
	assert_true(r.complete);
	uint64_t asked = 0;
	for (int i = 0; i < r.n; i++)
		if (r.w[i].reason == CT_WAIT_SLEEP)
			asked += r.w[i].detail;
	assert_int_equal(asked, 200000000);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contended_mutex),
		cmocka_unit_test(test_lock_held_across_fsync),
		cmocka_unit_test(test_late_socket_peer),
		cmocka_unit_test(test_sleep_loop),
		cmocka_unit_test(test_condvar_pool),
		cmocka_unit_test(test_fork_child_stays_out),
		cmocka_unit_test(test_unmodified_program),
		cmocka_unit_test(test_report_waits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
