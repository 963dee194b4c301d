/* W3C trace context: traceparent parsing and formatting, tasks stamped with
 * it in a real capture, found again by `ctrace tasks --trace-id` and shown
 * by `ctrace report`; malformed values stamp nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "analysis/tasklist.h"
#include "ctrace.h"
#include "ctrace_reader.h"

#define TP_A "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void test_parse_valid(void **state)
{
	(void)state;
	struct ct_trace_context tc;
	assert_int_equal(ct_traceparent_parse(TP_A, &tc), 0);
	static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
	static const uint8_t pid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
	assert_memory_equal(tc.trace_id, tid, 16);
	assert_memory_equal(tc.parent_id, pid, 8);
	assert_int_equal(tc.flags, 1);
	static const uint8_t zero[8] = {0};
	assert_memory_not_equal(tc.span_id, zero, 8);
	assert_memory_not_equal(tc.span_id, pid, 8);

	/* spaces around it, as HTTP header values may have */
	struct ct_trace_context t2;
	assert_int_equal(ct_traceparent_parse("  " TP_A "\t", &t2), 0);
	assert_memory_equal(t2.trace_id, tid, 16);
	/* two parses of one header give two different spans of our own */
	assert_memory_not_equal(t2.span_id, tc.span_id, 8);

	/* a later version: its first four fields are read, more may follow */
	assert_int_equal(
		ct_traceparent_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-xyz",
				     &t2),
		0);
	assert_int_equal(t2.flags, 0);
	assert_int_equal(ct_traceparent_parse(
				 "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t2),
			 0);
}

static void test_parse_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"00",
		"garbage",
		/* version ff is invalid */
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* all-zero trace id, all-zero parent id */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		/* uppercase hex */
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		/* wrong separators, short and long fields */
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-701",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
		/* version 00 with trailing data */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
		/* a later version whose extra data is not a field */
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
		/* non-hex */
		"00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
		"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ct_trace_context tc;
		memset(&tc, 0xaa, sizeof tc);
		if (ct_traceparent_parse(bad[i], &tc) != CT_ECONFIG)
			fail_msg("accepted '%s'", bad[i]);
		static const struct ct_trace_context zero;
		assert_memory_equal(&tc, &zero, sizeof tc); /* zeroed */
	}
	struct ct_trace_context tc;
	assert_int_equal(ct_traceparent_parse(NULL, &tc), CT_ECONFIG);
	assert_int_equal(ct_traceparent_parse(TP_A, NULL), CT_ECONFIG);
}

static void test_format_and_child(void **state)
{
	(void)state;
	struct ct_trace_context in, child;
	assert_int_equal(ct_traceparent_parse(TP_A, &in), 0);
	ct_trace_context_child(&in, &child);
	assert_memory_equal(child.trace_id, in.trace_id, 16);
	assert_memory_equal(child.parent_id, in.span_id, 8);
	assert_int_equal(child.flags, in.flags);
	assert_memory_not_equal(child.span_id, in.span_id, 8);

	char buf[CT_TRACEPARENT_LEN + 1];
	assert_int_equal(ct_traceparent_format(&in, buf, sizeof buf), CT_TRACEPARENT_LEN);
	assert_int_equal(strlen(buf), CT_TRACEPARENT_LEN);
	assert_memory_equal(buf, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);
	assert_string_equal(buf + 52, "-01");
	/* what we send downstream parses back: the same trace, our span as parent */
	struct ct_trace_context back;
	assert_int_equal(ct_traceparent_parse(buf, &back), 0);
	assert_memory_equal(back.trace_id, in.trace_id, 16);
	assert_memory_equal(back.parent_id, in.span_id, 8);

	assert_int_equal(ct_traceparent_format(&in, buf, CT_TRACEPARENT_LEN), CT_ECONFIG);
	struct ct_trace_context zero;
	memset(&zero, 0, sizeof zero);
	assert_int_equal(ct_traceparent_format(&zero, buf, sizeof buf), CT_ECONFIG);
}

/* ---- a capture ---- */

static char trace_path[] = "/tmp/ctrace-tracectx-XXXXXX";

struct hop {
	ct_task t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready, done;
};

/* A worker that continues and ends a task begun on the main thread. */
static void *worker(void *arg)
{
	struct hop *h = arg;
	pthread_mutex_lock(&h->mu);
	while (!h->ready)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	ct_task_enter(h->t);
	CT_REGION_BEGIN("downstream");
	usleep(1000);
	CT_REGION_END();
	ct_task_end(h->t);
	return NULL;
}

static char *run(const char *fmt, ...)
{
	char args[1024], cmd[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "%s %s 2>&1", CTRACE_CLI, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0, k;
	char *out = malloc(cap);
	while ((k = fread(out + n, 1, cap - n - 1, p)) > 0) {
		n += k;
		if (n + 1 == cap)
			out = realloc(out, cap *= 2);
	}
	out[n] = 0;
	int st = pclose(p);
	/* the exit status rides in front of the output: "<status>\n<output>" */
	char *res = malloc(n + 16);
	snprintf(res, n + 16, "%d\n%s", WEXITSTATUS(st), out);
	free(out);
	return res;
}

static ct_task stamped[3];

static int setup_capture(void **state)
{
	(void)state;
	int fd = mkstemp(trace_path);
	if (fd < 0)
		return -1;
	close(fd);
	struct ct_config c;
	ct_config_init(&c);
	c.path = trace_path;
	if (ct_start(&c) != 0)
		return -1;
	/* not tracing a task: stamping the current one with none fails */
	struct ct_trace_context tc;
	if (ct_traceparent_parse(TP_A, &tc) || ct_task_set_trace(0, &tc) != CT_ECONFIG)
		return -1;
	/* three stamped tasks: by id, as the current task, and one that hops
	 * to another thread and ends there */
	stamped[0] = ct_task_begin("GET /a", 0);
	if (ct_task_set_traceparent(stamped[0], TP_A, NULL))
		return -1;
	usleep(3000);
	ct_task_end(stamped[0]);

	stamped[1] = ct_task_begin("GET /b", 0);
	if (ct_task_set_traceparent(0, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
				    NULL))
		return -1;
	ct_task_end(stamped[1]);

	struct hop h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	pthread_t th;
	if (pthread_create(&th, NULL, worker, &h))
		return -1;
	stamped[2] = h.t = ct_task_begin("POST /c", 0);
	if (ct_task_set_traceparent(h.t, "00-11111111111111111111111111111111-2222222222222222-01",
				    NULL))
		return -1;
	ct_task_leave(h.t);
	pthread_mutex_lock(&h.mu);
	h.ready = 1;
	pthread_cond_signal(&h.cv);
	pthread_mutex_unlock(&h.mu);
	pthread_join(th, NULL);

	/* a malformed header: served (the task runs), not stamped */
	ct_task bad = ct_task_begin("GET /bad", 0);
	struct ct_trace_context out;
	if (ct_task_set_traceparent(bad, "00-zz-yy-01", &out) != CT_ECONFIG)
		return -1;
	ct_task_end(bad);
	/* and a task with no context at all */
	ct_task_end(ct_task_begin("GET /plain", 0));
	if (ct_stop() != 0)
		return -1;
	return 0;
}

static int teardown_capture(void **state)
{
	(void)state;
	if (!getenv("KEEP_TRACE"))
		unlink(trace_path);
	return 0;
}

static void test_reader_sees_context(void **state)
{
	(void)state;
	ct_reader *r;
	assert_int_equal(ct_reader_open(trace_path, &r), 0);
	struct ct_event ev;
	int n = 0, rc;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		if (ev.type != CT_EV_TASK_TRACE)
			continue;
		assert_int_equal(ev.nargs, 6);
		assert_string_equal(ev.type_name, "task.trace");
		if (ev.args[0] == stamped[0]) {
			assert_int_equal(ev.args[1], 0x4bf92f3577b34da6ull);
			assert_int_equal(ev.args[2], 0xa3ce929d0e0e4736ull);
			assert_int_equal(ev.args[4], 0x00f067aa0ba902b7ull); /* the caller's span */
			assert_int_equal(ev.args[5], 1);
		}
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 3); /* the malformed one stamped nothing */
	ct_reader_close(r);
}

static void test_tasks_by_trace_id(void **state)
{
	(void)state;
	char *out = run("tasks --trace-id 4BF92F3577B34DA6A3CE929D0E0E4736 %s", trace_path);
	assert_memory_equal(out, "0\n", 2);
	assert_non_null(strstr(out, "GET /a"));
	assert_non_null(strstr(out, "4bf92f3577b34da6a3ce929d0e0e4736"));
	assert_null(strstr(out, "GET /b"));
	assert_null(strstr(out, "GET /plain"));
	free(out);

	/* a whole traceparent works as the id; JSON names the task and its spans */
	out = run("tasks --json --trace-id 00-11111111111111111111111111111111-2222222222222222-01 "
		  "%s",
		  trace_path);
	assert_memory_equal(out, "0\n", 2);
	char id[64];
	snprintf(id, sizeof id, "\"id\": %llu,", (unsigned long long)stamped[2]);
	assert_non_null(strstr(out, id));
	assert_non_null(strstr(out, "\"type\": \"POST /c\""));
	assert_non_null(strstr(out, "\"parent_span_id\": \"2222222222222222\""));
	assert_non_null(strstr(out, "\"matched\": 1"));
	free(out);

	/* a trace id that is not there: said, exit 0 */
	out = run("tasks --trace-id 99999999999999999999999999999999 %s", trace_path);
	assert_memory_equal(out, "0\n", 2);
	assert_non_null(strstr(out, "no task of distributed trace 9999"));
	free(out);
}

/* latency_ns of the task of this type in a `ctrace tasks --json` output */
static uint64_t latency_of(const char *out, const char *type)
{
	char key[128];
	snprintf(key, sizeof key, "\"type\": \"%s\", \"parent\": 0, \"latency_ns\": ", type);
	const char *p = strstr(out, key);
	assert_non_null(p);
	return strtoull(p + strlen(key), NULL, 10);
}

static void test_tasks_filters(void **state)
{
	(void)state;
	char *out = run("tasks --json %s", trace_path);
	assert_memory_equal(out, "0\n", 2);
	assert_non_null(strstr(out, "\"matched\": 5"));
	const char *types[] = {"GET /a", "GET /b", "POST /c", "GET /bad", "GET /plain"};
	uint64_t lat[5], max = 0;
	unsigned slowest = 0;
	for (unsigned i = 0; i < 5; i++) {
		lat[i] = latency_of(out, types[i]);
		if (lat[i] > max) {
			max = lat[i];
			slowest = i;
		}
	}
	free(out);
	out = run("tasks --type 'GET /plain' --json %s", trace_path);
	assert_non_null(strstr(out, "\"matched\": 1"));
	assert_non_null(strstr(out, "\"trace_id\": null"));
	free(out);
	/* the slowest, whichever it was on this machine */
	out = run("tasks --slowest 1 --json %s", trace_path);
	assert_non_null(strstr(out, "\"listed\": 1"));
	assert_int_equal(latency_of(out, types[slowest]), max);
	free(out);
	/* --min keeps exactly the tasks at least that slow (GET /a slept 3 ms) */
	uint64_t min = lat[0];
	unsigned want = 0;
	for (unsigned i = 0; i < 5; i++)
		want += lat[i] >= min;
	out = run("tasks --min %lluns --json %s", (unsigned long long)min, trace_path);
	char m[32];
	snprintf(m, sizeof m, "\"matched\": %u,", want);
	assert_non_null(strstr(out, m));
	assert_non_null(strstr(out, "GET /a"));
	free(out);
}

static void test_tasks_bad_input(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"--trace-id 123", "--trace-id zz", "--trace-id 00000000000000000000000000000000",
		"--slowest 0",	  "--slowest x",   "--min 5",
		"--bogus",	  "--type"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *out = run("tasks %s %s", bad[i], trace_path);
		if (strncmp(out, "2\nctrace tasks: ", 16) != 0)
			fail_msg("'%s': %s", bad[i], out);
		assert_null(strchr(out + 2, '\n') == out + strlen(out) - 1 ? NULL : "two lines");
		free(out);
	}
	char *out = run("tasks /nonexistent.ctrace");
	assert_memory_equal(out, "1\nctrace: /nonexistent.ctrace: ", 30);
	free(out);
}

/* The slow tasks of `ctrace report` carry their context too. */
static void test_report_shows_context(void **state)
{
	(void)state;
	char *out = run("report --json %s", trace_path);
	assert_memory_equal(out, "0\n", 2);
	assert_non_null(strstr(out, "\"trace_id\": \"4bf92f3577b34da6a3ce929d0e0e4736\""));
	assert_non_null(strstr(out, "\"trace_id\": null"));
	free(out);
	out = run("report %s", trace_path);
	assert_non_null(strstr(out, "distributed trace 4bf92f3577b34da6a3ce929d0e0e4736"));
	free(out);
}

/* The listing keeps only open tasks: a million tasks in and out leave none. */
static void collect(void *arg, const struct tasklist_task *t)
{
	uint64_t *n = arg;
	(*n)++;
	assert_true(t->ended);
}

static void test_tasklist_bounded(void **state)
{
	(void)state;
	uint64_t n = 0;
	struct tasklist *l = tasklist_new(collect, &n);
	struct ct_event ev;
	memset(&ev, 0, sizeof ev);
	ev.nargs = 3;
	const char *strs[6] = {NULL, "t", NULL};
	memcpy(ev.strs, strs, sizeof strs);
	for (uint64_t i = 1; i <= 1000000; i++) {
		ev.type = CT_EV_TASK_BEGIN;
		ev.args[0] = i;
		ev.ts = i * 10;
		tasklist_event(l, &ev);
		if (i > 100) { /* 100 in flight at a time */
			ev.type = CT_EV_TASK_END;
			ev.args[0] = i - 100;
			tasklist_event(l, &ev);
		}
		assert_true(tasklist_open(l) <= 101);
	}
	assert_int_equal(n, 1000000 - 100);
	assert_int_equal(tasklist_open(l), 100);
	tasklist_free(l);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_format_and_child),
		cmocka_unit_test(test_tasklist_bounded),
	};
	const struct CMUnitTest capture[] = {
		cmocka_unit_test(test_reader_sees_context),
		cmocka_unit_test(test_tasks_by_trace_id),
		cmocka_unit_test(test_tasks_filters),
		cmocka_unit_test(test_tasks_bad_input),
		cmocka_unit_test(test_report_shows_context),
	};
	int rc = cmocka_run_group_tests(unit, NULL, NULL);
	return rc | cmocka_run_group_tests(capture, setup_capture, teardown_capture);
}
