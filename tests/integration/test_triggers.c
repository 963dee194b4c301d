/* Slow-task and SLO triggers, the watch callback and the finished-dump
 * callback: the dumps they write, what their headers say, and what the
 * window holds. Linked with the wrappers (libctrace-wrap.a), so a contended
 * pthread_mutex_lock is recorded with its holder as in a real program. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "flight_helpers.h"

static char tmpdir[] = "/tmp/ctrace-triggers-XXXXXX";
static char dir[256];

/* ---- what the finished-dump callback got ---- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n;
	char path[8][600];
	char reason[8][32];
	char comm[32]; /* the name of the thread it ran on */
	pid_t tid;
} got = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void thread_comm(pid_t tid, char *out, size_t cap)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/task/%d/comm", (int)tid);
	FILE *f = fopen(p, "r");
	out[0] = 0;
	if (f) {
		if (fgets(out, (int)cap, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
}

static void on_dump(void *arg, const char *path, const char *reason)
{
	assert_ptr_equal(arg, &got);
	pthread_mutex_lock(&got.mu);
	if (got.n < 8) {
		snprintf(got.path[got.n], sizeof got.path[0], "%s", path);
		snprintf(got.reason[got.n], sizeof got.reason[0], "%s", reason);
	}
	got.tid = gettid();
	thread_comm(got.tid, got.comm, sizeof got.comm);
	got.n++;
	pthread_cond_broadcast(&got.cv);
	pthread_mutex_unlock(&got.mu);
}

/* Waits (at most 20 s: a generous bound for sanitized builds) until the
 * callback has seen n dumps; returns how many it has seen. */
static int wait_dumps(int n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&got.mu);
	while (got.n < n && pthread_cond_timedwait(&got.cv, &got.mu, &until) != ETIMEDOUT)
		;
	int have = got.n;
	pthread_mutex_unlock(&got.mu);
	return have;
}

static void reset_got(void)
{
	pthread_mutex_lock(&got.mu);
	got.n = 0;
	pthread_mutex_unlock(&got.mu);
}

/* ---- dumps on disk ---- */

static void clear_dumps(void)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static uint64_t meta_u64(const char *path, const char *key)
{
	char v[64];
	dump_meta(path, key, v, sizeof v);
	assert_true(v[0] != 0);
	return strtoull(v, NULL, 10);
}

static void assert_meta(const char *path, const char *key, const char *want)
{
	char v[256];
	dump_meta(path, key, v, sizeof v);
	if (strcmp(v, want))
		fail_msg("%s: %s is '%s', expected '%s'", path, key, v, want);
}

/* The one dump in dir, which the callback reported: its path. */
static void the_dump(char *path, size_t cap)
{
	static char names[4][256];
	assert_int_equal(list_dumps(dir, names, 4), 1);
	snprintf(path, cap, "%s/%s", dir, names[0]);
}

static void start(uint64_t flush_ns, ct_watch_fn watch, void *watch_arg)
{
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = 4u << 20;
	c.dump_dir = dir;
	c.dump_cooldown_ns = 0;
	c.on_dump = on_dump;
	c.on_dump_arg = &got;
	c.watch = watch;
	c.watch_arg = watch_arg;
	c.watch_ns = 5000000;
	if (flush_ns)
		c.flush_ns = flush_ns;
	reset_got();
	assert_int_equal(ct_start(&c), 0);
}

/* Two flushes: the first drains the task's end (the writer then asks for a
 * dump), the second takes that trigger and writes the dump before it
 * returns. */
static void settle(void)
{
	assert_int_equal(ct_flush(), 0);
	assert_int_equal(ct_flush(), 0);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {0, (long)ms * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void fast_tasks(const char *type, int n)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	for (int i = 0; i < n; i++) {
		ct_task t = ct_task_begin(type, 0);
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		ct_task_end(t);
	}
}

/* ---- a slow task blocked on a mutex ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t holder_tid, requester_tid;

/* Holds the lock until the requester is blocked on it, then 150 ms more:
 * the delay that makes the request slow. */
static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	atomic_store(&holder_tid, gettid());
	while (!atomic_load(&requester_tid))
		sched_yield();
	assert_int_equal(wait_blocked(atomic_load(&requester_tid)), 0);
	sleep_ms(150);
	pthread_mutex_unlock(&lock);
	return NULL;
}

struct task_view {
	uint64_t begin_ts, end_ts;
	uint32_t begin_tid, end_tid;
	int waits;	 /* mutex waits on the requester's thread inside the task */
	uint64_t holder; /* their detail: the holder's tid */
	uint64_t object;
	int wait_ends;
};

static void view_task(const char *path, uint64_t task, pid_t tid, struct task_view *v)
{
	memset(v, 0, sizeof *v);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	int rc, in = 0;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		if ((ev.type == CT_EV_TASK_BEGIN || ev.type == CT_EV_TASK_END) &&
		    ev.args[0] == task) {
			if (ev.type == CT_EV_TASK_BEGIN) {
				v->begin_ts = ev.ts;
				v->begin_tid = ev.thread->tid;
				in = 1;
			} else {
				v->end_ts = ev.ts;
				v->end_tid = ev.thread->tid;
				in = 0;
			}
		}
		if (!in || !ev.thread || ev.thread->tid != (uint32_t)tid)
			continue;
		if (ev.type == CT_EV_WAIT_BEGIN && ev.args[0] == CT_WAIT_MUTEX) {
			v->waits++;
			v->object = ev.args[1];
			v->holder = ev.args[2];
		} else if (ev.type == CT_EV_WAIT_END && v->waits) {
			v->wait_ends++;
		}
	}
	assert_int_equal(rc, 0);
	assert_true(ct_reader_complete(r));
	ct_reader_close(r);
}

/* The latency the writer measured and the one the trace shows agree to
 * within clock conversion noise. */
static void assert_close(uint64_t a, uint64_t b)
{
	uint64_t d = a > b ? a - b : b - a;
	if (d > 100000 + a / 1000)
		fail_msg("%llu and %llu differ by %llu ns", (unsigned long long)a,
			 (unsigned long long)b, (unsigned long long)d);
}

/* A request blocked 150 ms on a mutex among fast requests gives one dump
 * (cooldown 0, so the fast ones would have given theirs): it names the task,
 * its type, the threshold and its latency, and holds the task's begin and
 * end and its wait on the mutex, with the holder. The callback gets the
 * dump's path and reason on ctrace's notify thread. */
static void test_slow_task_dump_holds_its_blocking(void **state)
{
	(void)state;
	char path[600], v[64];
	assert_int_equal(ct_flight_slow_task("request", 100000000), 0);
	start(0, NULL, NULL);
	fast_tasks("request", 50);
	atomic_store(&requester_tid, 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, holder, NULL), 0);
	while (!atomic_load(&holder_tid))
		sched_yield();
	ct_task slow = ct_task_begin("request", 0);
	atomic_store(&requester_tid, gettid());
	pthread_mutex_lock(&lock);
	pthread_mutex_unlock(&lock);
	ct_task_end(slow);
	assert_int_equal(pthread_join(th, NULL), 0);
	fast_tasks("request", 50);
	settle();
	assert_int_equal(wait_dumps(1), 1);
	assert_int_equal(ct_stop(), 0);
	assert_int_equal(ct_flight_slow_task("request", 0), 0);

	the_dump(path, sizeof path);
	assert_non_null(strstr(path, "-slow-request.ctrace"));
	assert_int_equal(got.n, 1);
	assert_string_equal(got.path[0], path);
	assert_string_equal(got.reason[0], "slow-request");
	assert_string_equal(got.comm, "ctrace-notify");
	assert_int_not_equal(got.tid, gettid());

	assert_meta(path, "dump.reason", "slow-request");
	assert_meta(path, "trigger.kind", "slow-task");
	assert_meta(path, "trigger.task_type", "request");
	assert_meta(path, "trigger.task_begin_in_window", "1");
	assert_int_equal(meta_u64(path, "trigger.task"), slow);
	assert_int_equal(meta_u64(path, "trigger.threshold_ns"), 100000000);
	uint64_t observed = meta_u64(path, "trigger.observed_ns");
	assert_true(observed >= 150000000);
	dump_meta(path, "trigger.percentile", v, sizeof v);
	assert_string_equal(v, "");

	struct task_view tv;
	view_task(path, slow, gettid(), &tv);
	assert_true(tv.begin_ts && tv.end_ts > tv.begin_ts);
	assert_close(meta_u64(path, "trigger.task_begin_ns"), tv.begin_ts);
	assert_close(observed, tv.end_ts - tv.begin_ts);
	assert_int_equal(tv.waits, 1);
	assert_int_equal(tv.wait_ends, 1);
	assert_int_equal(tv.object, (uint64_t)(uintptr_t)&lock);
	assert_int_equal(tv.holder, (uint64_t)atomic_load(&holder_tid));
	clear_dumps();
}

/* Fast tasks give no dump, nor a slow task of a type without a rule, nor
 * one whose rule was removed. (100 ms is far above what a fast task takes
 * even when preempted on a loaded machine.) */
static void test_no_dump_under_threshold(void **state)
{
	(void)state;
	static char names[4][256];
	assert_int_equal(ct_flight_slow_task("request", 100000000), 0);
	start(0, NULL, NULL);
	fast_tasks("request", 500);
	ct_task b = ct_task_begin("batch", 0);
	sleep_ms(150);
	ct_task_end(b);
	settle();
	assert_int_equal(list_dumps(dir, names, 4), 0);
	assert_int_equal(ct_flight_slow_task("request", 0), 0);
	ct_task r = ct_task_begin("request", 0);
	sleep_ms(150);
	ct_task_end(r);
	settle();
	assert_int_equal(list_dumps(dir, names, 4), 0);
	/* the trigger machinery works: an explicit one is written */
	assert_int_equal(ct_flight_trigger("check"), 0);
	settle();
	assert_int_equal(wait_dumps(1), 1);
	assert_string_equal(got.reason[0], "check");
	assert_int_equal(ct_stop(), 0);
	assert_int_equal(list_dumps(dir, names, 4), 1);
	clear_dumps();
}

/* ---- a task that ends on another thread ---- */

static pthread_mutex_t hand_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hand_cv = PTHREAD_COND_INITIALIZER;
static ct_task handed;
static _Atomic pid_t ender_tid, beginner_tid;

static void *ender(void *arg)
{
	(void)arg;
	ct_log("ender", "ready"); /* registers this thread before the task begins */
	atomic_store(&ender_tid, gettid());
	pthread_mutex_lock(&hand_mu);
	while (!handed)
		pthread_cond_wait(&hand_cv, &hand_mu);
	ct_task t = handed;
	pthread_mutex_unlock(&hand_mu);
	sleep_ms(30);
	ct_task_end(t);
	return NULL;
}

static void *beginner(void *arg)
{
	atomic_store(&beginner_tid, gettid());
	ct_task t = ct_task_begin("handoff", 0);
	*(ct_task *)arg = t;
	pthread_mutex_lock(&hand_mu);
	handed = t;
	pthread_cond_signal(&hand_cv);
	pthread_mutex_unlock(&hand_mu);
	return NULL;
}

/* The rule comes from CTRACE_SLOW_TASK ("*": any type). The task begins on
 * one thread and ends on another, registered before it: with rounds 1 s
 * apart, the writer usually drains the end before the begin (threads in
 * registration order); either way the task is matched. */
static void test_task_ended_on_another_thread(void **state)
{
	(void)state;
	char path[600];
	struct ct_config c;
	ct_config_init(&c);
	setenv("CTRACE_SLOW_TASK", "*=20ms", 1);
	assert_int_equal(ct_config_from_env(&c), 0);
	unsetenv("CTRACE_SLOW_TASK");
	start(1000000000u, NULL, NULL);
	handed = 0;
	pthread_t te, tb;
	ct_task t = 0;
	assert_int_equal(pthread_create(&te, NULL, ender, NULL), 0);
	while (!atomic_load(&ender_tid))
		sched_yield();
	assert_int_equal(pthread_create(&tb, NULL, beginner, &t), 0);
	assert_int_equal(pthread_join(tb, NULL), 0);
	assert_int_equal(pthread_join(te, NULL), 0);
	settle();
	assert_int_equal(wait_dumps(1), 1);
	assert_int_equal(ct_stop(), 0);
	assert_int_equal(ct_flight_slow_task("*", 0), 0);

	the_dump(path, sizeof path);
	assert_non_null(strstr(path, "-slow-handoff.ctrace"));
	assert_meta(path, "trigger.kind", "slow-task");
	assert_meta(path, "trigger.task_type", "handoff");
	assert_int_equal(meta_u64(path, "trigger.task"), t);
	assert_int_equal(meta_u64(path, "trigger.threshold_ns"), 20000000);
	uint64_t observed = meta_u64(path, "trigger.observed_ns");
	assert_true(observed >= 30000000);
	struct task_view tv;
	view_task(path, t, gettid(), &tv);
	assert_int_equal(tv.begin_tid, (uint32_t)atomic_load(&beginner_tid));
	assert_int_equal(tv.end_tid, (uint32_t)atomic_load(&ender_tid));
	assert_close(observed, tv.end_ts - tv.begin_ts);
	clear_dumps();
}

/* Bad rules in the environment: one line naming the variable, nothing set. */
static void test_env_rules_rejected(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
		{"CTRACE_SLOW_TASK", "request"}, {"CTRACE_SLOW_TASK", "request=fast"},
		{"CTRACE_SLOW_TASK", "=10ms"},	 {"CTRACE_SLOW_TASK", "request=0"},
		{"CTRACE_SLO", "rpc:p99"},	 {"CTRACE_SLO", "rpc:p100>10ms"},
		{"CTRACE_SLO", "rpc:99>10ms"},	 {"CTRACE_SLO", "rpc:p99>10ms/1ms"},
		{"CTRACE_SLO", "rpc>10ms"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ct_config c;
		ct_config_init(&c);
		setenv(bad[i][0], bad[i][1], 1);
		assert_int_equal(ct_config_from_env(&c), CT_ECONFIG);
		unsetenv(bad[i][0]);
		const char *msg = ct_last_error();
		assert_non_null(msg);
		assert_non_null(strstr(msg, bad[i][0]));
		assert_null(strchr(msg, '\n'));
	}
	assert_int_equal(ct_flight_slo("rpc", 0, 1000, 0), CT_ECONFIG);
	assert_int_equal(ct_flight_slow_task("", 1000), CT_ECONFIG);
	/* callbacks need a dump directory */
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = 1u << 20;
	c.on_dump = on_dump;
	assert_int_equal(ct_start(&c), CT_ECONFIG);
}

/* ---- SLO ---- */

struct lat {
	uint64_t task, begin, end;
};

/* The latencies of the dump's tasks of this type, in the order they ended. */
static int task_latencies(const char *path, const char *type, struct lat *l, int max)
{
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	int n = 0;
	while (ct_reader_next(r, &ev) == 1) {
		if (ev.type == CT_EV_TASK_BEGIN && ev.strs[1] && !strcmp(ev.strs[1], type) &&
		    n < max) {
			l[n++] = (struct lat){ev.args[0], ev.ts, 0};
		} else if (ev.type == CT_EV_TASK_END) {
			for (int i = 0; i < n; i++)
				if (l[i].task == ev.args[0])
					l[i].end = ev.ts;
		}
	}
	ct_reader_close(r);
	/* those that ended, in end order */
	int k = 0;
	for (int i = 0; i < n; i++)
		if (l[i].end)
			l[k++] = l[i];
	n = k;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && l[j - 1].end > l[j].end; j--) {
			struct lat t = l[j];
			l[j] = l[j - 1];
			l[j - 1] = t;
		}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void slow_rpcs(int n, unsigned ms)
{
	for (int i = 0; i < n; i++) {
		ct_task t = ct_task_begin("rpc", 0);
		sleep_ms(ms);
		ct_task_end(t);
	}
}

/* p90 over 20 ms: fast rpcs alone give no dump; slow ones push the p90
 * over and give one, naming the percentile's value (checked against the
 * nearest-rank p90 of the first trigger.count latencies in the dump) and
 * the count; more slow ones during the same breach give no other. */
static void test_slo_breach(void **state)
{
	(void)state;
	static char names[4][256];
	char path[600];
	assert_int_equal(ct_flight_slo("rpc", 90, 20000000, 0), 0);
	start(0, NULL, NULL);
	fast_tasks("rpc", 40);
	settle();
	assert_int_equal(list_dumps(dir, names, 4), 0);
	slow_rpcs(10, 30);
	settle();
	assert_int_equal(wait_dumps(1), 1);
	slow_rpcs(5, 30);
	settle();
	assert_int_equal(list_dumps(dir, names, 4), 1);
	assert_int_equal(ct_stop(), 0);
	assert_int_equal(ct_flight_slo("rpc", 90, 0, 0), 0);
	assert_int_equal(got.n, 1);

	the_dump(path, sizeof path);
	assert_string_equal(got.path[0], path);
	assert_string_equal(got.reason[0], "slo-rpc");
	assert_meta(path, "trigger.kind", "slo");
	assert_meta(path, "trigger.task_type", "rpc");
	assert_int_equal(meta_u64(path, "trigger.percentile"), 90);
	assert_int_equal(meta_u64(path, "trigger.threshold_ns"), 20000000);
	uint64_t count = meta_u64(path, "trigger.count");
	uint64_t observed = meta_u64(path, "trigger.observed_ns");
	char v[32];
	dump_meta(path, "trigger.task", v, sizeof v);
	assert_string_equal(v, "");

	static struct lat l[128];
	int n = task_latencies(path, "rpc", l, 128);
	assert_true(count >= 20 && count <= (uint64_t)n);
	uint64_t lat[128];
	for (uint64_t i = 0; i < count; i++) {
		assert_true(l[i].end > l[i].begin);
		lat[i] = l[i].end - l[i].begin;
	}
	qsort(lat, count, sizeof lat[0], cmp_u64);
	uint64_t p90 = lat[(90 * count + 99) / 100 - 1];
	assert_true(p90 > 20000000);
	/* one bucket's width (1/16) above at most, and never below */
	assert_true(observed + 100000 >= p90);
	assert_true(observed <= p90 + p90 / 16 + 100000);
	clear_dumps();
}

/* ---- the watch callback ---- */

static _Atomic int errors_high, watch_calls;
static _Atomic pid_t watch_tid;

static int watch(void *arg, struct ct_watch_verdict *v)
{
	assert_ptr_equal(arg, &errors_high);
	atomic_store(&watch_tid, gettid());
	atomic_fetch_add(&watch_calls, 1);
	if (!atomic_exchange(&errors_high, 0))
		return 0;
	snprintf(v->reason, sizeof v->reason, "errors");
	snprintf(v->detail, sizeof v->detail, "error rate 12%% > 5%%");
	return 1;
}

/* The watch callback runs periodically on the notify thread and its "dump
 * now" gives a dump with its reason and detail; the dump callback gets it,
 * and a ct_flight_trigger dump too. */
static void test_watch_callback(void **state)
{
	(void)state;
	char path[600];
	atomic_store(&errors_high, 0);
	start(0, watch, &errors_high);
	fast_tasks("job", 10);
	while (atomic_load(&watch_calls) < 3)
		sched_yield(); /* it runs with nothing to say: no dump */
	settle();
	static char names[4][256];
	assert_int_equal(list_dumps(dir, names, 4), 0);
	char comm[32];
	thread_comm(atomic_load(&watch_tid), comm, sizeof comm);
	assert_string_equal(comm, "ctrace-notify");
	atomic_store(&errors_high, 1);
	assert_int_equal(wait_dumps(1), 1);
	assert_string_equal(got.reason[0], "errors");
	snprintf(path, sizeof path, "%s", got.path[0]);
	assert_non_null(strstr(path, "-errors.ctrace"));
	assert_int_equal(strncmp(path, dir, strlen(dir)), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_meta(path, "trigger.kind", "watch");
	assert_meta(path, "dump.reason", "errors");
	assert_meta(path, "trigger.detail", "error rate 12% > 5%");
	assert_int_equal(ct_flight_trigger("by-api"), 0);
	assert_int_equal(wait_dumps(2), 2);
	assert_string_equal(got.reason[1], "by-api");
	assert_non_null(strstr(got.path[1], "-by-api.ctrace"));
	assert_int_equal(stat(got.path[1], &st), 0);
	assert_int_equal(ct_stop(), 0);
	/* the notify thread is gone with the capture */
	int calls = atomic_load(&watch_calls);
	char p[64];
	snprintf(p, sizeof p, "/proc/self/task/%d", (int)atomic_load(&watch_tid));
	assert_int_not_equal(access(p, F_OK), 0);
	assert_int_equal(atomic_load(&watch_calls), calls);
	clear_dumps();
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof dir, "%s/dumps", tmpdir);
	if (mkdir(dir, 0700) != 0) {
		perror(dir);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_task_dump_holds_its_blocking),
		cmocka_unit_test(test_no_dump_under_threshold),
		cmocka_unit_test(test_task_ended_on_another_thread),
		cmocka_unit_test(test_env_rules_rejected),
		cmocka_unit_test(test_slo_breach),
		cmocka_unit_test(test_watch_callback),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
