/* `ctrace report` on a flight recorder's dump (synthetic traces from
 * tests/tracebuilder.h): the triggering task (header trigger.task) is
 * listed first among the slow tasks, marked, with its waits, even when it
 * is not among the N slowest, also when it began before the window or was
 * still running; the text report opens with a "Dump" section naming the
 * reason and the trigger's details, and --json has them under "dump". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis/report.h"
#include "ctrace_events.h"
#include "tracebuilder.h"

#define MS	    1000000ull
#define TRIGGER	    7 /* the triggering task's id */
#define NTASKS	    12
#define HOLDER_TID  2002
#define WAIT_NS	    (60 * MS)
#define TRIGGER_LAT (80 * MS)

enum shape {
	NOT_A_DUMP,
	WHOLE,	       /* the triggering task's begin and end are in the trace */
	BEGAN_BEFORE,  /* only its end */
	STILL_RUNNING, /* only its begin */
};

/* Tasks 1..12 of type "request" one after another on thread 1: task i
 * lasts 100+i ms, except task 7 (80 ms), which waits 60 ms for a mutex
 * held by thread 2. Returns the trace's path (a temporary file). */
static char *make_trace(enum shape shape, uint64_t *end_ns)
{
	struct tb b;
	tb_init(&b);
	uint64_t t = 1 * MS, events = 0;
	if (shape != NOT_A_DUMP) {
		tb_meta(&b, "flight.min_age_ns", "10000000000");
		tb_meta(&b, "flight.max_bytes", "1048576");
		tb_meta(&b, "dump.window_ns", "1500000000");
		tb_meta(&b, "dump.size_capped", "1");
		tb_meta(&b, "dump.time_ns", "2000000000");
		tb_meta(&b, "dump.reason", "slow-request");
		tb_meta(&b, "dump.triggers_dropped", "3");
		tb_meta(&b, "trigger.kind", "slow-task");
		tb_meta(&b, "trigger.task", "7");
		tb_meta(&b, "trigger.task_type", "request");
		tb_meta(&b, "trigger.task_begin_in_window", shape == BEGAN_BEFORE ? "0" : "1");
		tb_meta(&b, "trigger.threshold_ns", "50000000");
		tb_meta(&b, "trigger.observed_ns", "80000000");
	}
	tb_gen_begin(&b, 5);
	tb_thread(&b, 1, 1001, "worker", 0);
	tb_thread(&b, 2, HOLDER_TID, "holder", 0);
	tb_string(&b, 1, "request");
	tb_batch_begin(&b, 1, t);
	uint64_t delta = 0;
	for (uint64_t id = 1; id <= NTASKS; id++) {
		uint64_t lat = id == TRIGGER ? TRIGGER_LAT : (100 + id) * MS;
		if (id == TRIGGER && shape == BEGAN_BEFORE) {
			delta += lat;
		} else {
			TB_EV(&b, CT_EV_TASK_BEGIN, delta, id, 1, 0);
			events++;
			delta = 0;
		}
		if (id == TRIGGER && shape != BEGAN_BEFORE) {
			TB_EV(&b, CT_EV_WAIT_BEGIN, 10 * MS, CT_WAIT_MUTEX, 0x1000, HOLDER_TID);
			TB_EV(&b, CT_EV_WAIT_END, WAIT_NS, 0);
			events += 2;
			delta = lat - 10 * MS - WAIT_NS;
			if (shape == STILL_RUNNING)
				break; /* never ends */
		} else if (id != TRIGGER || shape != BEGAN_BEFORE) {
			delta += lat;
		}
		TB_EV(&b, CT_EV_TASK_END, delta, id);
		events++;
		delta = 0;
		t += lat;
	}
	tb_batch_end(&b);
	tb_gen_end(&b, 0);
	tb_end(&b, events, 0, 1);
	char *path = strdup("/tmp/ct-report-dump-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.out.p, b.out.len), (ssize_t)b.out.len);
	close(fd);
	tb_free(&b);
	if (end_ns)
		*end_ns = t;
	return path;
}

struct run {
	struct report *r;
	struct report_file f;
	const struct report_result *res;
	char *path;
};

static void run_report(struct run *x, enum shape shape, unsigned top)
{
	struct report_options o = {.top_tasks = top, .top_regions = 20};
	x->path = make_trace(shape, NULL);
	x->r = report_new(&o);
	assert_non_null(x->r);
	assert_int_equal(report_run(x->r, x->path, &x->f, NULL, NULL), 0);
	x->res = report_finish(x->r);
}

static void run_free(struct run *x)
{
	report_file_free(&x->f);
	report_free(x->r);
	unlink(x->path);
	free(x->path);
}

static void test_trigger_first_even_when_not_slowest(void **state)
{
	(void)state;
	struct run x;
	run_report(&x, WHOLE, 3);
	const struct report_result *res = x.res;
	/* the 3 slowest (12, 11, 10) after it */
	assert_int_equal(res->nslow, 4);
	const struct report_task *tk = &res->slow[0];
	assert_int_equal(tk->id, TRIGGER);
	assert_true(tk->trigger && tk->begin_in_trace && tk->ended);
	assert_string_equal(tk->type, "request");
	assert_int_equal(tk->latency_ns, TRIGGER_LAT);
	for (uint32_t i = 1; i < 4; i++) {
		assert_false(res->slow[i].trigger);
		assert_int_equal(res->slow[i].id, NTASKS + 1 - i);
	}
	/* its detail: the mutex wait, and who held the lock */
	assert_true(res->detail_done);
	assert_int_equal(tk->waits.wait_ns[REPORT_WAIT_SYNC], WAIT_NS);
	assert_true(tk->nwaits >= 1);
	assert_int_equal(tk->longest[0].reason, CT_WAIT_MUTEX);
	assert_int_equal(tk->longest[0].holder_tid, HOLDER_TID);
	run_free(&x);
}

static void test_trigger_not_listed_twice(void **state)
{
	(void)state;
	struct run x;
	run_report(&x, WHOLE, 20);
	const struct report_result *res = x.res;
	assert_int_equal(res->nslow, NTASKS);
	assert_int_equal(res->slow[0].id, TRIGGER);
	assert_true(res->slow[0].trigger);
	for (uint32_t i = 1; i < res->nslow; i++) {
		assert_int_not_equal(res->slow[i].id, TRIGGER);
		assert_false(res->slow[i].trigger);
		if (i > 1)
			assert_true(res->slow[i].latency_ns <= res->slow[i - 1].latency_ns);
	}
	run_free(&x);
}

static void test_trigger_with_top_zero(void **state)
{
	(void)state;
	struct run x;
	run_report(&x, WHOLE, 0);
	assert_int_equal(x.res->nslow, 1);
	assert_int_equal(x.res->slow[0].id, TRIGGER);
	run_free(&x);
}

static void test_trigger_began_before_window(void **state)
{
	(void)state;
	struct run x;
	run_report(&x, BEGAN_BEFORE, 3);
	const struct report_task *tk = &x.res->slow[0];
	assert_int_equal(tk->id, TRIGGER);
	assert_true(tk->trigger && tk->ended);
	assert_false(tk->begin_in_trace);
	assert_string_equal(tk->type, "request"); /* from trigger.task_type */
	assert_int_equal(tk->begin_ns, x.res->first_ns);
	assert_true(tk->latency_ns > 0 && tk->latency_ns == tk->end_ns - tk->begin_ns);
	run_free(&x);
}

static void test_trigger_still_running(void **state)
{
	(void)state;
	struct run x;
	run_report(&x, STILL_RUNNING, 3);
	const struct report_task *tk = &x.res->slow[0];
	assert_int_equal(tk->id, TRIGGER);
	assert_true(tk->trigger && tk->begin_in_trace);
	assert_false(tk->ended);
	/* it runs to the dump's cut (dump.time_ns), the trace's end */
	assert_int_equal(tk->end_ns, 2000000000ull);
	assert_int_equal(tk->end_ns, x.res->last_ns);
	assert_int_equal(tk->waits.wait_ns[REPORT_WAIT_SYNC], WAIT_NS);
	run_free(&x);
}

static void test_not_a_dump(void **state)
{
	(void)state;
	struct run x;
	run_report(&x, NOT_A_DUMP, 3);
	assert_int_equal(x.res->nslow, 3);
	for (uint32_t i = 0; i < 3; i++)
		assert_false(x.res->slow[i].trigger);
	run_free(&x);
}

/* Runs the ctrace command; its stdout in a malloc'd string. */
static char *cli(const char *args, const char *path)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s report %s %s 2>&1", CTRACE_CLI, args, path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	size_t k;
	while ((k = fread(out + n, 1, cap - n - 1, p)) > 0) {
		n += k;
		if (n + 1 == cap)
			out = realloc(out, cap *= 2);
	}
	out[n] = 0;
	assert_int_equal(pclose(p), 0);
	return out;
}

static void test_text_dump_section_first(void **state)
{
	(void)state;
	char *path = make_trace(WHOLE, NULL);
	char *out = cli("--top 3", path);
	/* the first section, naming the reason and the trigger's details */
	assert_int_equal(strncmp(out, "Dump  slow-request", 18), 0);
	char *trace = strstr(out, "\nTrace ");
	assert_non_null(trace);
	*trace = 0; /* the Dump section alone */
	assert_non_null(strstr(out, "slow-task"));
	assert_non_null(strstr(out, "threshold  50.0ms"));
	assert_non_null(strstr(out, "observed   80.0ms"));
	assert_non_null(strstr(out, "CUT SHORT"));
	assert_non_null(strstr(out, "7 (request), began inside the window"));
	assert_non_null(strstr(out, "dropped    3"));
	*trace = '\n';
	/* the triggering task, first and marked, though 80 ms is not in the top 3 */
	char *first = strstr(trace, "\n  #1  task ");
	assert_non_null(first);
	assert_int_equal(strncmp(first, "\n  #1  task 7  request  80.0ms", 30), 0);
	char *eol = strchr(first + 1, '\n');
	assert_non_null(eol);
	*eol = 0;
	assert_non_null(strstr(first, "<== trigger"));
	*eol = '\n';
	assert_null(strstr(eol, "<== trigger"));
	assert_non_null(strstr(eol, "\n  #2  task 12 "));
	free(out);
	unlink(path);
	free(path);
}

static void test_json_dump(void **state)
{
	(void)state;
	char *path = make_trace(WHOLE, NULL);
	char *out = cli("--json --top 3", path);
	char *dump = strstr(out, "\"dump\": {");
	char *file = strstr(out, "\"file\": {");
	assert_non_null(dump);
	assert_non_null(file);
	assert_true(dump < file);
	assert_non_null(strstr(dump, "\"reason\": \"slow-request\""));
	assert_non_null(strstr(dump, "\"kind\": \"slow-task\""));
	assert_non_null(strstr(dump, "\"size_capped\": true"));
	assert_non_null(strstr(dump, "\"task\": 7,"));
	assert_non_null(strstr(dump, "\"task_listed\": true"));
	assert_non_null(strstr(dump, "\"threshold_ns\": 50000000"));
	assert_non_null(strstr(dump, "\"observed_ns\": 80000000"));
	char *slow = strstr(out, "\"slowest_tasks\": [");
	assert_non_null(slow);
	char *id = strstr(slow, "\"id\": ");
	assert_non_null(id);
	assert_int_equal(strncmp(id, "\"id\": 7,", 8), 0);
	char *trig = strstr(slow, "\"trigger\": true");
	assert_non_null(trig);
	assert_null(strstr(trig + 1, "\"trigger\": true")); /* once */
	free(out);
	unlink(path);
	free(path);
	/* not a dump: "dump" is null */
	path = make_trace(NOT_A_DUMP, NULL);
	out = cli("--json", path);
	assert_non_null(strstr(out, "\"dump\": null"));
	assert_null(strstr(out, "\"trigger\": true"));
	free(out);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trigger_first_even_when_not_slowest),
		cmocka_unit_test(test_trigger_not_listed_twice),
		cmocka_unit_test(test_trigger_with_top_zero),
		cmocka_unit_test(test_trigger_began_before_window),
		cmocka_unit_test(test_trigger_still_running),
		cmocka_unit_test(test_not_a_dump),
		cmocka_unit_test(test_text_dump_section_first),
		cmocka_unit_test(test_json_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
