/* A flight recorder with a life of its own (ct_flight_new/start/stop/free):
 * it runs before, after and beside a streaming capture on one recording,
 * and either can end while the other goes on. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_events.h"
#include "ctrace_reader.h"
#include "flight_helpers.h"

static char tmpdir[] = "/tmp/ctrace-flife-XXXXXX";

/* What a trace holds: the "mark N" logs seen (bit N), waits begun and
 * ended on objects 7000+, and whether it is complete. */
struct seen {
	int rc, complete;
	unsigned marks;
	unsigned wait_begun, wait_ended;
};

static void read_trace(const char *path, struct seen *s)
{
	memset(s, 0, sizeof *s);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	int rc;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		long m = log_number(&ev, "mark ");
		if (m >= 0 && m < 32)
			s->marks |= 1u << m;
		if (ev.type == CT_EV_WAIT_BEGIN && ev.args[1] >= 7000 && ev.args[1] < 7032)
			s->wait_begun |= 1u << (ev.args[1] - 7000);
		if (ev.type == CT_EV_WAIT_END)
			s->wait_ended++;
	}
	s->rc = rc;
	s->complete = ct_reader_complete(r);
	ct_reader_close(r);
}

static void mark(int n)
{
	char m[32];
	snprintf(m, sizeof m, "mark %d", n);
	ct_log("life", m);
}

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static struct ct_flight *new_flight(void)
{
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = 4u << 20;
	struct ct_flight *f = ct_flight_new(&c);
	assert_non_null(f);
	return f;
}

static void start_stream(const char *path)
{
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	assert_int_equal(ct_start(&c), 0);
}

/* Flight recorder first; a stream joins and leaves; the flight recorder's
 * window holds everything, the stream what happened while it ran. */
static void test_stream_inside_flight(void **state)
{
	(void)state;
	char sp[256], dp[256];
	path_of(sp, sizeof sp, "stream1.ctrace");
	path_of(dp, sizeof dp, "dump1.ctrace");
	struct ct_flight *f = new_flight();
	assert_int_equal(ct_flight_start(f), 0);
	assert_true(ct_active());
	mark(0); /* before the stream: the flight recorder's only */
	start_stream(sp);
	mark(1);
	assert_int_equal(ct_stop(), 0); /* the stream ends, the recording does not */
	assert_true(ct_active());
	mark(2);
	assert_int_equal(ct_flight_write(dp), 0);
	assert_int_equal(ct_flight_stop(f), 0);
	assert_false(ct_active());
	ct_flight_free(f);

	struct seen s;
	read_trace(sp, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.complete);
	assert_int_equal(s.marks, 1u << 1);
	read_trace(dp, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.complete);
	assert_int_equal(s.marks, 7u);
}

/* A stream first; a flight recorder joins and leaves; the stream is whole
 * and the flight recorder cannot be dumped once stopped. */
static void test_flight_inside_stream(void **state)
{
	(void)state;
	char sp[256], dp[256];
	path_of(sp, sizeof sp, "stream2.ctrace");
	path_of(dp, sizeof dp, "dump2.ctrace");
	start_stream(sp);
	mark(0);
	struct ct_flight *f = new_flight();
	assert_int_equal(ct_flight_start(f), 0);
	mark(1);
	assert_int_equal(ct_flight_write(dp), 0);
	assert_int_equal(ct_flight_stop(f), 0);
	assert_true(ct_active());
	assert_int_equal(ct_flight_write(dp), CT_ENOTRUNNING);
	mark(2);
	/* and again: a flight recorder can be started anew */
	assert_int_equal(ct_flight_start(f), 0);
	mark(3);
	assert_int_equal(ct_flight_stop(f), 0);
	assert_int_equal(ct_stop(), 0);
	assert_false(ct_active());
	ct_flight_free(f);

	struct seen s;
	read_trace(sp, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.complete);
	assert_int_equal(s.marks, 15u);
	read_trace(dp, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.complete);
	assert_true(s.marks & 2u); /* (mark 0 too when the generation had not been cut) */
	assert_false(s.marks & 4u);
}

/* A thread in a wait when the stream ends: the stream shows it begun and
 * says when it ended; the wait's end, later, is in the flight recorder's
 * window. */
static int wait_pipe[2];

static void *waiter(void *arg)
{
	(void)arg;
	ct_wait_begin(CT_WAIT_PIPE, 7003, 0);
	char c;
	ssize_t n = read(wait_pipe[0], &c, 1);
	ct_wait_end(n);
	return NULL;
}

static void test_stream_ends_during_a_wait(void **state)
{
	(void)state;
	char sp[256], dp[256];
	path_of(sp, sizeof sp, "stream3.ctrace");
	path_of(dp, sizeof dp, "dump3.ctrace");
	assert_int_equal(pipe(wait_pipe), 0);
	struct ct_flight *f = new_flight();
	assert_int_equal(ct_flight_start(f), 0);
	start_stream(sp);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, waiter, NULL), 0);
	/* the wait has begun once a dump of the window shows it */
	struct seen s;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(ct_flight_write(dp), 0);
		read_trace(dp, &s);
		if (s.wait_begun & (1u << 3))
			break;
	}
	assert_true(s.wait_begun & (1u << 3));
	assert_int_equal(ct_stop(), 0);
	assert_int_equal(write(wait_pipe[1], "x", 1), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(ct_flight_write(dp), 0);
	assert_int_equal(ct_flight_stop(f), 0);
	ct_flight_free(f);
	close(wait_pipe[0]);
	close(wait_pipe[1]);

	read_trace(sp, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.complete);
	assert_true(s.wait_begun & (1u << 3));
	assert_int_equal(s.wait_ended, 0);
	read_trace(dp, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.wait_ended >= 1);
}

/* What cannot be done says so. */
static void test_refusals(void **state)
{
	(void)state;
	char sp[256];
	path_of(sp, sizeof sp, "stream4.ctrace");
	struct ct_config c;
	ct_config_init(&c);
	c.path = sp;
	assert_null(ct_flight_new(&c)); /* a flight recorder has no sink */
	assert_non_null(ct_last_error());
	ct_config_init(&c);
	c.flight_max_bytes = 1000; /* under 256 KiB */
	assert_null(ct_flight_new(&c));

	struct ct_flight *f = new_flight(), *g = new_flight();
	assert_int_equal(ct_flight_stop(f), CT_ENOTRUNNING);
	assert_int_equal(ct_flight_start(f), 0);
	assert_int_equal(ct_flight_start(g), CT_EALREADY);
	assert_int_equal(ct_flight_start(f), CT_EALREADY);
	assert_int_equal(ct_stop(), CT_ENOTRUNNING); /* no stream to stop */
	ct_config_init(&c);
	c.flight_max_bytes = 1u << 20;
	assert_int_equal(ct_start(&c), CT_EALREADY); /* a second flight recorder */
	start_stream(sp);
	ct_config_init(&c);
	c.path = sp;
	assert_int_equal(ct_start(&c), CT_EALREADY); /* a second stream */
	assert_int_equal(ct_flight_stop(g), CT_ENOTRUNNING);
	ct_flight_free(f); /* stops it; the stream goes on */
	assert_true(ct_active());
	assert_int_equal(ct_stop(), 0);
	assert_false(ct_active());
	ct_flight_free(g);
	ct_flight_free(NULL);
}

static int teardown(void **state)
{
	(void)state;
	if (ct_active())
		ct_stop();
	return 0;
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stream_inside_flight, teardown),
		cmocka_unit_test_teardown(test_flight_inside_stream, teardown),
		cmocka_unit_test_teardown(test_stream_ends_during_a_wait, teardown),
		cmocka_unit_test_teardown(test_refusals, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
