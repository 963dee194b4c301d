/* Recording end to end: programs traced with libctrace, read back with the
 * reader, checked against what they did. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_reader.h"

static char tmpdir[] = "/tmp/ctrace-test-XXXXXX";

static void tmp_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* Totals of a trace, read through the public reader. */
struct totals {
	uint64_t events, by_type[CT_EV_TYPE_COUNT];
	uint64_t lost; /* in-band loss events + loss sections */
	uint64_t per_thread[256];
	uint32_t threads_seen, exited_threads;
	int complete, rc;
};

static void read_totals(const char *path, struct totals *t)
{
	memset(t, 0, sizeof *t);
	ct_reader *r = NULL;
	int rc = ct_reader_open(path, &r);
	assert_int_equal(rc, 0);
	const struct ct_generation *g;
	uint8_t seen[256] = {0}, exited[256] = {0};
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		for (uint32_t i = 0; i < g->nloss; i++)
			t->lost += g->loss[i].count;
		for (uint32_t i = 0; i < g->nthreads; i++)
			if (g->threads[i].exited && g->threads[i].index < 256)
				exited[g->threads[i].index] = 1;
		struct ct_event ev;
		while ((rc = ct_reader_next_in_generation(r, &ev)) == 1) {
			t->events++;
			if (ev.type < CT_EV_TYPE_COUNT)
				t->by_type[ev.type]++;
			if (ev.type == CT_EV_LOSS)
				t->lost += ev.args[0];
			else if (ev.thread->index < 256 && ev.type < CT_EV_SCHED_OUT)
				t->per_thread[ev.thread->index]++; /* the thread's own events */
			if (ev.thread->index < 256)
				seen[ev.thread->index] = 1;
		}
		if (rc)
			break;
	}
	if (rc)
		fprintf(stderr, "%s: %s\n", path, ct_reader_error(r));
	t->rc = rc;
	t->complete = ct_reader_complete(r);
	for (int i = 0; i < 256; i++) {
		t->threads_seen += seen[i];
		t->exited_threads += exited[i];
	}
	ct_reader_close(r);
}

static int start_to(const char *path, size_t buffer, size_t chunk)
{
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	if (buffer)
		c.buffer_bytes = buffer;
	if (chunk)
		c.chunk_bytes = chunk;
	return ct_start(&c);
}

/* ---- threads that exit early lose nothing ---- */

#define EARLY_THREADS 24
#define EARLY_EVENTS  1000

static void *early_thread(void *arg)
{
	(void)arg;
	ct_task t = CT_TASK_BEGIN("short-lived", 0);
	for (int i = 0; i < EARLY_EVENTS; i++) {
		CT_REGION_BEGIN("step");
		CT_REGION_END();
	}
	ct_task_end(t);
	return NULL; /* exits right away, long before the writer's next drain */
}

static void test_exited_threads_lose_nothing(void **state)
{
	(void)state;
	char path[256];
	tmp_path(path, sizeof path, "early.ct");
	assert_int_equal(start_to(path, 0, 0), 0);
	pthread_t th[EARLY_THREADS];
	for (int i = 0; i < EARLY_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, early_thread, NULL), 0);
	for (int i = 0; i < EARLY_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(ct_stop(), 0);

	struct totals t;
	read_totals(path, &t);
	assert_int_equal(t.rc, 0);
	assert_true(t.complete);
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.threads_seen, EARLY_THREADS);
	assert_int_equal(t.exited_threads, EARLY_THREADS);
	assert_int_equal(t.by_type[CT_EV_THREAD_END], EARLY_THREADS);
	assert_int_equal(t.by_type[CT_EV_REGION_BEGIN], EARLY_THREADS * EARLY_EVENTS);
	assert_int_equal(t.by_type[CT_EV_REGION_END], EARLY_THREADS * EARLY_EVENTS);
	assert_int_equal(t.by_type[CT_EV_TASK_BEGIN], EARLY_THREADS);
	assert_int_equal(t.by_type[CT_EV_TASK_END], EARLY_THREADS);
	/* every thread: 1 task begin + 2000 region events + 1 task end + thread end */
	for (uint32_t i = 1; i <= EARLY_THREADS; i++)
		assert_int_equal(t.per_thread[i], 2 * EARLY_EVENTS + 3);
}

/* ---- a tiny buffer under a high rate records loss, exactly ---- */

#define FLOOD_THREADS 4
#define FLOOD_EVENTS  200000

static void *flood_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < FLOOD_EVENTS; i += 2) {
		CT_REGION_BEGIN("flood");
		CT_REGION_END();
	}
	return NULL;
}

static void test_tiny_buffer_records_loss(void **state)
{
	(void)state;
	char path[256];
	tmp_path(path, sizeof path, "flood.ct");
	/* 3 chunks of 4 KiB for 4 threads: at least one thread starts with no
	 * chunk at all, and all of them run out. */
	assert_int_equal(start_to(path, 12 << 10, 4 << 10), 0);
	pthread_t th[FLOOD_THREADS];
	for (int i = 0; i < FLOOD_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, flood_thread, NULL), 0);
	for (int i = 0; i < FLOOD_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(ct_stop(), 0);
	struct ct_stats st;
	ct_get_stats(&st);

	struct totals t;
	read_totals(path, &t);
	assert_int_equal(t.rc, 0);
	assert_true(t.complete);
	uint64_t emitted = (uint64_t)FLOOD_THREADS * FLOOD_EVENTS + FLOOD_THREADS /* thread.end */;
	uint64_t recorded = t.by_type[CT_EV_REGION_BEGIN] + t.by_type[CT_EV_REGION_END] +
			    t.by_type[CT_EV_THREAD_END];
	assert_true(t.lost > 0);
	/* Every event is either in the trace or counted as lost in it. */
	assert_int_equal(recorded + t.lost, emitted);
	assert_int_equal(st.lost, t.lost);
	assert_int_equal(st.events, t.events);
}

/* ---- the pipeline example: tasks hopping across 9 threads ---- */

struct task_seen {
	uint64_t id, begin, end;
	uint32_t threads_mask; /* bit per thread index (< 32) */
	int regions, database, logs;
	char order[64]; /* first letters of region names, in order */
};

static void test_pipeline_example(void **state)
{
	(void)state;
	char path[256], cmd[1024];
	tmp_path(path, sizeof path, "pipeline.ct");
	snprintf(cmd, sizeof cmd, "%s/pipeline -q -n 200 -w 6 -o %s", CTRACE_EXAMPLES_DIR, path);
	assert_int_equal(system(cmd), 0);

	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	static struct task_seen tasks[200];
	int ntasks = 0;
	/* per thread: its current task (the pipeline never nests tasks) */
	uint64_t current[64] = {0};
	int depth[64] = {0};
	char names[64][16] = {{0}};
	struct ct_event ev;
	int rc;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		uint32_t ti = ev.thread->index;
		assert_true(ti < 64);
		snprintf(names[ti], sizeof names[ti], "%s", ev.thread->name);
		struct task_seen *ts = NULL;
		uint64_t id = ev.type <= CT_EV_TASK_LEAVE ? ev.args[0] : current[ti];
		for (int i = 0; i < ntasks && id; i++)
			if (tasks[i].id == id)
				ts = &tasks[i];
		switch (ev.type) {
		case CT_EV_TASK_BEGIN:
			assert_null(ts);
			assert_true(ntasks < 200);
			assert_string_equal(ev.strs[1], "request");
			ts = &tasks[ntasks++];
			ts->id = id;
			ts->begin = ev.ts;
			current[ti] = id;
			break;
		case CT_EV_TASK_ENTER:
			assert_non_null(ts);
			current[ti] = id;
			break;
		case CT_EV_TASK_LEAVE:
			assert_int_equal(current[ti], id);
			current[ti] = 0;
			break;
		case CT_EV_TASK_END:
			assert_non_null(ts);
			ts->end = ev.ts;
			current[ti] = 0;
			break;
		case CT_EV_REGION_BEGIN:
			assert_non_null(ts); /* every region is inside a request */
			depth[ti]++;
			ts->regions++;
			ts->database += strcmp(ev.strs[0], "database") == 0;
			if (ts->regions < 63)
				ts->order[ts->regions - 1] = ev.strs[0][0];
			break;
		case CT_EV_REGION_END:
			assert_true(depth[ti] > 0);
			depth[ti]--;
			break;
		case CT_EV_LOG:
			assert_non_null(ts);
			ts->logs++;
			break;
		}
		if (ts)
			ts->threads_mask |= 1u << ti;
	}
	assert_int_equal(rc, 0);
	assert_true(ct_reader_complete(r));
	ct_reader_close(r);

	assert_int_equal(ntasks, 200);
	int slow = 0;
	for (int i = 0; i < ntasks; i++) {
		struct task_seen *ts = &tasks[i];
		assert_true(ts->end > ts->begin);
		/* 3 threads: an acceptor, a worker, the responder */
		assert_int_equal(__builtin_popcount(ts->threads_mask), 3);
		if (ts->database) {
			slow++;
			assert_string_equal(
				ts->order,
				"aplcdrs"); /* accept parse lookup cache database render send */
			assert_int_equal(ts->logs, 2);
			assert_true(ts->end - ts->begin >= 20000000); /* the 20 ms database pause */
		} else {
			assert_string_equal(ts->order, "aplcrs");
			assert_int_equal(ts->logs, 1);
			/* the pauses add up to 430 us */
			assert_true(ts->end - ts->begin >= 430000);
		}
	}
	assert_int_equal(slow, 200 / 25);
	for (int i = 0; i < 64; i++)
		assert_int_equal(depth[i], 0);
	int workers = 0, acceptors = 0, responders = 0;
	for (int i = 0; i < 64; i++) {
		workers += strncmp(names[i], "worker-", 7) == 0;
		acceptors += strncmp(names[i], "acceptor-", 9) == 0;
		responders += strcmp(names[i], "responder") == 0;
	}
	assert_int_equal(workers, 6);
	assert_int_equal(acceptors, 2);
	assert_int_equal(responders, 1);
}

/* ---- configuration from the environment ---- */

static void test_env_autostart_and_bad_values(void **state)
{
	(void)state;
	char path[256], cmd[1024];
	tmp_path(path, sizeof path, "env.ct");
	/* No setup code: CTRACE_OUTPUT starts the capture at load. */
	snprintf(
		cmd, sizeof cmd,
		"CTRACE_OUTPUT=%s CTRACE_GENERATION=50ms CTRACE_STACKS=region %s/pipeline -q -n 40",
		path, CTRACE_EXAMPLES_DIR);
	assert_int_equal(system(cmd), 0);
	struct totals t;
	read_totals(path, &t);
	assert_int_equal(t.rc, 0);
	assert_true(t.complete);
	assert_int_equal(t.by_type[CT_EV_TASK_BEGIN], 40);

	/* A bad value: one clear line, the program runs untraced. */
	char err[256];
	tmp_path(err, sizeof err, "env.err");
	unlink(path);
	snprintf(cmd, sizeof cmd, "CTRACE_OUTPUT=%s CTRACE_BUFFER=lots %s/pipeline -q -n 4 2>%s",
		 path, CTRACE_EXAMPLES_DIR, err);
	assert_int_equal(system(cmd), 0);
	FILE *f = fopen(err, "r");
	assert_non_null(f);
	char line[512] = {0};
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_non_null(strstr(line, "CTRACE_BUFFER"));
	assert_non_null(strstr(line, "lots"));
	struct stat sb;
	assert_int_equal(stat(path, &sb), -1);
}

static void test_config_errors(void **state)
{
	(void)state;
	struct ct_config c;
	ct_config_init(&c);
	assert_int_equal(ct_start(&c), CT_ECONFIG); /* no sink */
	assert_non_null(strstr(ct_last_error(), "sink"));
	c.path = "/nonexistent-dir/x.ct";
	assert_true(ct_start(&c) < 0);
	assert_non_null(ct_last_error());
	assert_int_equal(ct_stop(), CT_ENOTRUNNING);
	char path[256];
	tmp_path(path, sizeof path, "twice.ct");
	assert_int_equal(start_to(path, 0, 0), 0);
	assert_int_equal(start_to(path, 0, 0), CT_EALREADY);
	assert_int_equal(ct_stop(), 0);
}

/* ---- a callback sink and restarting captures ---- */

struct mem_sink {
	uint8_t *p;
	size_t len, cap;
};

static int mem_write(void *arg, const void *buf, size_t len)
{
	struct mem_sink *m = arg;
	if (m->len + len > m->cap) {
		size_t cap = (m->len + len) * 2;
		uint8_t *p = realloc(m->p, cap);
		if (!p)
			return -ENOMEM;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

static void test_callback_sink_and_restart(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		struct mem_sink m = {0};
		struct ct_config c;
		ct_config_init(&c);
		c.write = mem_write;
		c.write_arg = &m;
		c.compress = round != 1;
		assert_int_equal(ct_start(&c), 0);
		ct_task t = CT_TASK_BEGIN("round", 0);
		for (int i = 0; i < 100 * (round + 1); i++)
			ct_logf("n", "event %d of round %d", i, round);
		ct_task_end(t);
		assert_int_equal(ct_flush(), 0);
		ct_log("after-flush", "still recording");
		assert_int_equal(ct_stop(), 0);

		ct_reader *r = NULL;
		assert_int_equal(ct_reader_open_mem(m.p, m.len, &r), 0);
		struct ct_event ev;
		int logs = 0, rc, gens = 0;
		const struct ct_generation *g;
		while ((rc = ct_reader_next_generation(r, &g)) == 1) {
			gens++;
			while ((rc = ct_reader_next_in_generation(r, &ev)) == 1)
				logs += ev.type == CT_EV_LOG;
			if (rc)
				break;
		}
		if (rc) {
			char path[256];
			tmp_path(path, sizeof path, "callback.ct");
			FILE *f = fopen(path, "w");
			if (f) {
				fwrite(m.p, 1, m.len, f);
				fclose(f);
			}
			fprintf(stderr, "round %d: %s\n", round, ct_reader_error(r));
		}
		assert_int_equal(rc, 0);
		assert_true(gens >= 2); /* ct_flush cut one */
		assert_int_equal(logs, 100 * (round + 1) + 1);
		assert_true(ct_reader_complete(r));
		ct_reader_close(r);
		free(m.p);
	}
}

/* ---- logs are cut with a marker; stacks are symbolized; the clock ---- */

__attribute__((noinline)) static void traced_site(void)
{
	CT_REGION_BEGIN("site");
	CT_REGION_END();
	__asm__ volatile("" ::: "memory"); /* keep the frame */
}

static const char *meta_value(const struct ct_trace_info *info, const char *key)
{
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2)
		if (strcmp(info->meta[i], key) == 0)
			return info->meta[i + 1];
	return NULL;
}

static void test_logs_stacks_clock(void **state)
{
	(void)state;
	for (int mono = 0; mono <= 1; mono++) {
		char path[256];
		tmp_path(path, sizeof path, mono ? "mono.ct" : "tsc.ct");
		struct ct_config c;
		ct_config_init(&c);
		c.path = path;
		c.stack_events = CT_STACK_REGION;
		c.clock = mono ? CT_CLOCK_CHOICE_MONOTONIC : CT_CLOCK_CHOICE_AUTO;
		assert_int_equal(ct_start(&c), 0);
		static char big[2000];
		memset(big, 'x', sizeof big - 1);
		ct_log("big", big);
		ct_logf("fmt", "%s", big);
		ct_log("small", "fits");
		CT_LOGF("lit", "%d %s", 42, "fits"); /* ct_logf_n: the category interned once */
		traced_site();
		assert_int_equal(ct_stop(), 0);

		ct_reader *r = NULL;
		assert_int_equal(ct_reader_open(path, &r), 0);
		const char *clock = meta_value(ct_reader_info(r), "clock");
		assert_non_null(clock);
		assert_string_equal(clock, mono ? "monotonic" : "tsc");
		struct ct_event ev;
		int logs = 0, sites = 0, rc;
		uint64_t prev = 0;
		while ((rc = ct_reader_next(r, &ev)) == 1) {
			assert_true(ev.ts >= prev);
			prev = ev.ts;
			if (ev.type == CT_EV_LOG) {
				logs++;
				if (strcmp(ev.strs[0], "small") == 0) {
					assert_int_equal(ev.nbytes, 4);
					assert_memory_equal(ev.bytes, "fits", 4);
				} else if (strcmp(ev.strs[0], "lit") == 0) {
					assert_int_equal(ev.nbytes, 7);
					assert_memory_equal(ev.bytes, "42 fits", 7);
				} else {
					assert_int_equal(ev.nbytes, CT_LOG_MAX);
					assert_memory_equal(ev.bytes + CT_LOG_MAX - 3, "...", 3);
					assert_int_equal(ev.bytes[0], 'x');
				}
			} else if (ev.type == CT_EV_REGION_BEGIN) {
				sites++;
				assert_non_null(ev.stack);
				assert_true(ev.stack->nframes >= 2);
				const struct ct_frame *f = &ev.stack->frames[0];
				assert_string_equal(f->function, "traced_site");
				assert_non_null(strstr(f->file, "test_record.c"));
				assert_true(f->line > 0);
				assert_non_null(strstr(f->module, "test_record"));
				assert_string_equal(ev.stack->frames[1].function,
						    "test_logs_stacks_clock");
			}
		}
		assert_int_equal(rc, 0);
		assert_int_equal(logs, 4);
		assert_int_equal(sites, 1);
		/* the monotonic clock's timestamps are its own nanoseconds */
		const struct ct_generation *g;
		ct_reader_close(r);
		assert_int_equal(ct_reader_open(path, &r), 0);
		assert_int_equal(ct_reader_next_generation(r, &g), 1);
		assert_int_equal(g->clock_kind, mono ? CT_CLOCK_MONOTONIC : CT_CLOCK_TSC);
		if (mono)
			assert_int_equal(g->ticks_per_sec, 1000000000u);
		ct_reader_close(r);
	}
}

/* ---- an event from a signal handler never corrupts the interrupted one ---- */

static volatile sig_atomic_t handler_events;

static void on_prof(int sig)
{
	(void)sig;
	CT_LOG("signal", "from a handler");
	handler_events++;
}

static void test_signal_handler_events(void **state)
{
	(void)state;
	char path[256];
	tmp_path(path, sizeof path, "signal.ct");
	assert_int_equal(start_to(path, 256u << 20, 0), 0);
	CT_REGION_BEGIN("registered"); /* register outside any handler */
	CT_REGION_END();
	struct sigaction sa = {0}, old;
	sa.sa_handler = on_prof;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGPROF, &sa, &old), 0);
	struct itimerval it = {{0, 50}, {0, 50}}; /* every 50 us of CPU time */
	assert_int_equal(setitimer(ITIMER_PROF, &it, NULL), 0);
	const long pairs = 1000000;
	for (long i = 0; i < pairs; i++) {
		CT_REGION_BEGIN("busy");
		CT_REGION_END();
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_PROF, &off, NULL);
	sigaction(SIGPROF, &old, NULL);
	assert_int_equal(ct_stop(), 0);

	struct totals t;
	read_totals(path, &t);
	assert_int_equal(t.rc, 0);
	assert_true(handler_events > 0);
	/* the interrupted events are all there, and each handler event is
	 * either recorded or counted as lost */
	assert_int_equal(t.by_type[CT_EV_REGION_BEGIN], pairs + 1);
	assert_int_equal(t.by_type[CT_EV_REGION_END], pairs + 1);
	assert_int_equal(t.by_type[CT_EV_LOG] + t.lost, (uint64_t)handler_events);
}

/* ---- the capture's end: waits still open run to it ---- */

static void *blocked_reader(void *arg)
{
	int fd = *(int *)arg;
	char c;
	ct_wait_begin(CT_WAIT_PIPE, (uint64_t)fd, 1);
	ssize_t n = read(fd, &c, 1); /* until the pipe is closed after the stop */
	ct_wait_end(n);
	return NULL;
}

static void test_open_wait_runs_to_capture_end(void **state)
{
	(void)state;
	char path[256], cmd[1024];
	tmp_path(path, sizeof path, "end.ct");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(start_to(path, 0, 0), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, blocked_reader, &fds[0]), 0);
	/* Nothing is recorded for 200 ms (the sleep is not interposed here),
	 * then the capture stops with the reader still blocked. The deliberate
	 * sleep is what is measured, not a stand-in for synchronisation. */
	struct timespec ts = {0, 200000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	assert_int_equal(ct_stop(), 0);
	close(fds[1]);
	pthread_join(th, NULL);
	close(fds[0]);

	/* the last generation says when the capture ended... */
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_generation *g;
	uint64_t end = 0, last_ev = 0;
	int rc;
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		for (uint32_t i = 0; i + 1 < g->nmeta; i += 2)
			if (!strcmp(g->meta[i], "capture.end_ns"))
				end = strtoull(g->meta[i + 1], NULL, 10);
		struct ct_event ev;
		while (ct_reader_next_in_generation(r, &ev) == 1)
			last_ev = ev.ts;
	}
	assert_int_equal(rc, 0);
	ct_reader_close(r);
	assert_true(end >= last_ev + 150000000ull);
	/* ...and the report counts the open wait up to it */
	snprintf(cmd, sizeof cmd,
		 "%s report --json %s | jq -e '[.threads[] | select(.blocked_at_end != null)"
		 " | .blocked_at_end.duration_ns] | length == 1 and .[0] >= 150000000' >/dev/null",
		 CTRACE_CLI, path);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exited_threads_lose_nothing),
		cmocka_unit_test(test_tiny_buffer_records_loss),
		cmocka_unit_test(test_pipeline_example),
		cmocka_unit_test(test_env_autostart_and_bad_values),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_callback_sink_and_restart),
		cmocka_unit_test(test_logs_stacks_clock),
		cmocka_unit_test(test_signal_handler_events),
		cmocka_unit_test(test_open_wait_runs_to_capture_end),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (rc) {
		fprintf(stderr, "traces kept in %s\n", tmpdir);
		return rc;
	}
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
