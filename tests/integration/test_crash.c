/* Crash dumps (ct_config.dump_on_crash): a child process with a flight
 * recorder crashes; its dump is in the dump directory, readable, with the
 * events up to the crash, where it crashed and the thread blocked at that
 * moment; and the child ends exactly as the same child without crash dumps
 * does (the same signal, or under a sanitizer the sanitizer's report and
 * status). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "flight_helpers.h"

static char tmpdir[] = "/tmp/ctrace-crash-XXXXXX";

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ---- the child ---- */

enum crash_kind { CRASH_SEGV, CRASH_ABORT, CRASH_OWN_HANDLER };
enum child_mode {
	BASELINE,     /* a flight recorder and a dump directory, no crash dumps */
	DUMP,	      /* crash dumps on */
	STUCK_WRITER, /* crash dumps on, the writer stuck in its stream's sink */
	WRITER_CRASH, /* crash dumps on, the writer crashes in its stream's sink */
	FORKED	      /* crash dumps on; a child forked from it crashes */
};

#define STEPS 1000

static int stuck_fds[2];
static _Atomic int stuck_ready;

static __attribute__((noinline)) void *stuck_reader(void *arg)
{
	(void)arg;
	char c;
	pthread_setname_np(pthread_self(), "stuck");
	atomic_store(&stuck_ready, (int)gettid());
	ssize_t n = traced_read(stuck_fds[0], &c, 1);
	__asm__ volatile("" ::: "memory");
	return (void *)(intptr_t)n;
}

static void emit_steps(uint64_t from, uint64_t to)
{
	emit_steps_as(CT_NAME("work"), from, to);
}

#define BAD_ADDR 0x10
static __attribute__((noinline)) void crash_here(enum crash_kind k)
{
	if (k == CRASH_ABORT)
		abort();
	/* an unmapped address, but not NULL: UBSan would stop at a NULL
	 * store before it faults */
	volatile int *volatile bad = (volatile int *)(uintptr_t)BAD_ADDR;
	*bad = 1;
	__asm__ volatile("" ::: "memory");
}

static void own_handler(int sig)
{
	(void)sig;
	_exit(42);
}

/* The child's exit codes for setup failures (not a crash status). */
#define CHILD_SETUP_FAILED 90
#define CHILD_INSTALLED	   91 /* ctrace changed a disposition it was not asked to */
#define CHILD_FORK_OK	   94

/* A stream whose sink stalls for good once asked to, as a hung disk or
 * socket would: the writer blocks in it (its signals are blocked, so pause
 * never returns). */
static _Atomic int sink_stall, sink_stuck;

static _Atomic int sink_crash;

static int stalling_sink(void *arg, const void *buf, size_t len)
{
	if (atomic_load(&sink_crash)) {
		volatile int *volatile bad = (volatile int *)(uintptr_t)0x10;
		*bad = 1; /* on the writer thread */
	}
	(void)arg, (void)buf, (void)len;
	if (atomic_load(&sink_stall)) {
		atomic_store(&sink_stuck, 1);
		for (;;)
			pause();
	}
	return 0;
}

static void child(enum child_mode mode, enum crash_kind kind, const char *dir)
{
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore); /* the status still says the signal */
	alarm(60);			 /* never hang the test */
	/* a fresh program's dispositions, not the test runner's handlers */
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (int i = 0; i < 5; i++)
		signal(sigs[i], SIG_DFL);
	if (kind == CRASH_OWN_HANDLER) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = own_handler;
		sigaction(SIGSEGV, &sa, NULL);
	}
	struct sigaction before[5];
	for (int i = 0; i < 5; i++)
		sigaction(sigs[i], NULL, &before[i]);

	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = 1u << 20;
	c.dump_dir = dir;
	c.dump_on_crash = mode != BASELINE;
	c.dump_cooldown_ns = 3600000000000ull;
	if (mode == STUCK_WRITER || mode == WRITER_CRASH)
		c.write = stalling_sink;
	if (ct_start(&c) != 0)
		_exit(CHILD_SETUP_FAILED + 10);
	for (int i = 0; i < 5; i++) {
		struct sigaction now;
		sigaction(sigs[i], NULL, &now);
		int same = now.sa_handler == before[i].sa_handler;
		if (mode == BASELINE && !same)
			_exit(CHILD_INSTALLED);
		if (mode != BASELINE && same)
			_exit(CHILD_SETUP_FAILED + 11);
	}

	if (mode == FORKED) {
		/* the handlers are inherited, the writer is not: the forked
		 * child dies at once, and writes no dump of its parent's window */
		pid_t pid = fork();
		if (pid == 0)
			crash_here(CRASH_SEGV);
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			_exit(CHILD_SETUP_FAILED);
		_exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? CHILD_FORK_OK
								 : CHILD_SETUP_FAILED);
	}
	if (pipe(stuck_fds) != 0)
		_exit(CHILD_SETUP_FAILED);
	pthread_t th;
	if (pthread_create(&th, NULL, stuck_reader, NULL) != 0)
		_exit(CHILD_SETUP_FAILED);
	while (!atomic_load(&stuck_ready))
		sched_yield();
	if (wait_blocked((pid_t)atomic_load(&stuck_ready)) != 0)
		_exit(CHILD_SETUP_FAILED);

	if (mode == STUCK_WRITER) {
		/* steps into the window, then the sink stalls: the writer is
		 * stuck as it writes the generation with the next steps */
		emit_steps(0, STEPS);
		if (ct_flush() != 0)
			_exit(CHILD_SETUP_FAILED + 13);
		atomic_store(&sink_stall, 1);
		for (uint64_t step = STEPS; !atomic_load(&sink_stuck); step += 10) {
			emit_steps(step, step + 10);
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	} else if (mode == WRITER_CRASH) {
		/* steps into the window, then the writer crashes as it writes
		 * the next generation, which this flush asks for */
		emit_steps(0, STEPS);
		if (ct_flush() != 0)
			_exit(CHILD_SETUP_FAILED + 14);
		atomic_store(&sink_crash, 1);
		emit_steps(STEPS, STEPS + 10);
		ct_flush();
		_exit(CHILD_SETUP_FAILED + 15); /* not reached */
	} else {
		/* a triggered dump just written: the crash's comes despite the
		 * cooldown */
		if (ct_flight_trigger("before") != 0 || ct_flush() != 0)
			_exit(CHILD_SETUP_FAILED + 12);
		ct_task t = ct_task_begin("request", 0);
		ct_region_begin("handle");
		emit_steps(0, STEPS);
		(void)t;
	}
	crash_here(kind == CRASH_ABORT ? CRASH_ABORT : CRASH_SEGV);
	_exit(CHILD_SETUP_FAILED); /* not reached */
}

/* Runs the child; returns its wait status. */
static int run_child(enum child_mode mode, enum crash_kind kind, const char *dir)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(mode, kind, dir);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (getenv("TEST_CRASH_VERBOSE"))
		fprintf(stderr, "child mode %d kind %d: status 0x%x\n", mode, kind, st);
	return st;
}

/* ---- the parent's checks ---- */

static char *make_dir(const char *name)
{
	static char dir[4][256];
	static int n;
	char *d = dir[n++ % 4];
	snprintf(d, 256, "%s/%s", tmpdir, name);
	assert_int_equal(mkdir(d, 0700), 0);
	return d;
}

/* The one file in dir whose name ends with suffix, into path; how many. */
static int find_dump(const char *dir, const char *suffix, char *path, size_t cap)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	size_t sl = strlen(suffix);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > sl && !strcmp(e->d_name + l - sl, suffix)) {
			snprintf(path, cap, "%s/%s", dir, e->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

struct crash_view {
	int rc, complete;
	char reason[64], kind[32], signal[16], detail[160], path[16];
	uint64_t steps, last_step;
	int crash_events; /* ctrace.crash logs on the crashing thread */
	char crash_msg[160], crash_site[128];
	int stuck_begins, stuck_open;
	char stuck_site[128];
};

static void read_crash(const char *path, pid_t pid, struct crash_view *v)
{
	memset(v, 0, sizeof *v);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_trace_info *info = ct_reader_info(r);
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2) {
		const char *k = info->meta[i], *val = info->meta[i + 1];
		if (!strcmp(k, "dump.reason"))
			snprintf(v->reason, sizeof v->reason, "%s", val);
		else if (!strcmp(k, "trigger.kind"))
			snprintf(v->kind, sizeof v->kind, "%s", val);
		else if (!strcmp(k, "trigger.signal"))
			snprintf(v->signal, sizeof v->signal, "%s", val);
		else if (!strcmp(k, "trigger.detail"))
			snprintf(v->detail, sizeof v->detail, "%s", val);
		else if (!strcmp(k, "dump.crash_path"))
			snprintf(v->path, sizeof v->path, "%s", val);
	}
	struct ct_event ev;
	int rc, open = 0;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		if (!ev.thread)
			continue;
		if (log_number(&ev, "step ") >= 0) {
			uint64_t n = (uint64_t)log_number(&ev, "step ");
			v->steps++;
			if (n > v->last_step)
				v->last_step = n;
		}
		if (ev.type == CT_EV_LOG && ev.strs[0] && !strcmp(ev.strs[0], "ctrace.crash") &&
		    ev.thread->tid == (uint32_t)pid) {
			v->crash_events++;
			snprintf(v->crash_msg, sizeof v->crash_msg, "%.*s", (int)ev.nbytes,
				 ev.bytes);
			if (ev.stack && ev.stack->nframes)
				snprintf(v->crash_site, sizeof v->crash_site, "%s",
					 ev.stack->frames[0].function);
		}
		if (ev.thread->name && !strcmp(ev.thread->name, "stuck")) {
			if (ev.type == CT_EV_WAIT_BEGIN && ev.args[0] == CT_WAIT_PIPE) {
				v->stuck_begins++;
				open = 1;
				if (ev.stack && ev.stack->nframes)
					snprintf(v->stuck_site, sizeof v->stuck_site, "%s",
						 ev.stack->frames[0].function);
			} else if (ev.type == CT_EV_WAIT_END) {
				open = 0;
			}
		}
	}
	v->stuck_open = open;
	v->rc = rc;
	v->complete = ct_reader_complete(r);
	ct_reader_close(r);
}

static void assert_same_end(int with, int without, int sig)
{
	/* exactly as without crash dumps */
	assert_int_equal(with, without);
	if (!SANITIZED) {
		/* (a sanitizer reports the fault and exits in both) */
		assert_true(WIFSIGNALED(with));
		assert_int_equal(WTERMSIG(with), sig);
	}
}

static void check_crash(const char *dir, pid_t pid, const char *signame, int sig)
{
	char path[600], suffix[64];
	snprintf(suffix, sizeof suffix, "-crash-%s.ctrace", signame);
	assert_int_equal(find_dump(dir, suffix, path, sizeof path), 1);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct crash_view v;
	read_crash(path, pid, &v);
	assert_int_equal(v.rc, 0);
	assert_true(v.complete);
	char want[32];
	snprintf(want, sizeof want, "crash-%s", signame);
	assert_string_equal(v.reason, want);
	assert_string_equal(v.kind, "crash");
	assert_int_equal(atoi(v.signal), sig);
	assert_non_null(strstr(v.detail, signame));
	assert_string_equal(v.path, "writer");
	/* every step up to the crash, the crash itself where it happened, and
	 * the thread blocked in its read */
	assert_int_equal(v.last_step, STEPS - 1);
	assert_int_equal(v.crash_events, 1);
	assert_string_equal(v.crash_msg, v.detail);
	if (sig == SIGSEGV)
		assert_string_equal(v.crash_site, "crash_here");
	assert_int_equal(v.stuck_begins, 1);
	assert_true(v.stuck_open);
	assert_string_equal(v.stuck_site, "stuck_reader");
}

static void test_segv(void **state)
{
	(void)state;
	char *base = make_dir("segv-base"), *dir = make_dir("segv");
	int without = run_child(BASELINE, CRASH_SEGV, base);
	int with = run_child(DUMP, CRASH_SEGV, dir);
	assert_same_end(with, without, SIGSEGV);
	/* without crash dumps: only the triggered dump */
	char path[600];
	assert_int_equal(find_dump(base, "-before.ctrace", path, sizeof path), 1);
	assert_int_equal(count_files(base), 1);
	/* with: the triggered dump and the crash's, despite the cooldown */
	assert_int_equal(find_dump(dir, "-before.ctrace", path, sizeof path), 1);
	assert_int_equal(count_files(dir), 2);
	char crash[600];
	assert_int_equal(find_dump(dir, "-crash-SIGSEGV.ctrace", crash, sizeof crash), 1);
	/* the child's pid is in the name: <program>-<pid>-... */
	const char *b = strrchr(crash, '/') + 1;
	pid_t pid = (pid_t)atoi(strchr(b, '-') + 1);
	check_crash(dir, pid, "SIGSEGV", SIGSEGV);
	struct crash_view v;
	read_crash(crash, pid, &v);
	assert_non_null(strstr(v.detail, "SIGSEGV at 0x10 (SEGV_MAPERR)"));
}

static void test_abort(void **state)
{
	(void)state;
	char *base = make_dir("abort-base"), *dir = make_dir("abort");
	int without = run_child(BASELINE, CRASH_ABORT, base);
	int with = run_child(DUMP, CRASH_ABORT, dir);
	assert_same_end(with, without, SIGABRT);
	char crash[600];
	assert_int_equal(find_dump(dir, "-crash-SIGABRT.ctrace", crash, sizeof crash), 1);
	const char *b = strrchr(crash, '/') + 1;
	pid_t pid = (pid_t)atoi(strchr(b, '-') + 1);
	check_crash(dir, pid, "SIGABRT", SIGABRT);
	struct crash_view v;
	read_crash(crash, pid, &v);
	assert_non_null(strstr(v.detail, "SIGABRT (raised)"));
}

/* A handler the program installed before the capture still runs. */
static void test_program_handler_runs(void **state)
{
	(void)state;
	char *dir = make_dir("own");
	int st = run_child(DUMP, CRASH_OWN_HANDLER, dir);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 42);
	char crash[600];
	assert_int_equal(find_dump(dir, "-crash-SIGSEGV.ctrace", crash, sizeof crash), 1);
}

/* The writer is stuck (in its stream's sink): the handler writes the window
 * it holds by itself, after its bounded wait. */
static void test_stuck_writer_fallback(void **state)
{
	(void)state;
	char *base = make_dir("stuck-base"), *dir = make_dir("stuck");
	int without = run_child(BASELINE, CRASH_SEGV, base);
	int with = run_child(STUCK_WRITER, CRASH_SEGV, dir);
	assert_same_end(with, without, SIGSEGV);
	char crash[600];
	assert_int_equal(find_dump(dir, "-crash-SIGSEGV.ctrace", crash, sizeof crash), 1);
	assert_non_null(strstr(crash, "Z-0-crash-SIGSEGV.ctrace")); /* the handler's serial */
	struct stat st;
	assert_int_equal(stat(crash, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	const char *b = strrchr(crash, '/') + 1;
	pid_t pid = (pid_t)atoi(strchr(b, '-') + 1);
	struct crash_view v;
	read_crash(crash, pid, &v);
	assert_int_equal(v.rc, 0);
	assert_true(v.complete);
	assert_string_equal(v.reason, "crash-SIGSEGV");
	assert_string_equal(v.kind, "crash");
	assert_int_equal(atoi(v.signal), SIGSEGV);
	assert_string_equal(v.path, "handler");
	assert_non_null(strstr(v.detail, "SIGSEGV at 0x10 (SEGV_MAPERR)"));
	/* what the window held: every generation written before the writer
	 * got stuck, and none of the one it was stuck writing */
	assert_int_equal(v.steps, STEPS);
	assert_int_equal(v.last_step, STEPS - 1);
}

/* The writer itself crashes (in a stream callback): the handler, on the
 * writer thread, writes the window at once. */
static void test_writer_crash(void **state)
{
	(void)state;
	char *base = make_dir("wcrash-base"), *dir = make_dir("wcrash");
	int without = run_child(BASELINE, CRASH_SEGV, base);
	int with = run_child(WRITER_CRASH, CRASH_SEGV, dir);
	assert_same_end(with, without, SIGSEGV);
	char crash[600];
	assert_int_equal(find_dump(dir, "-crash-SIGSEGV.ctrace", crash, sizeof crash), 1);
	assert_non_null(strstr(crash, "Z-0-crash-SIGSEGV.ctrace"));
	const char *b = strrchr(crash, '/') + 1;
	pid_t pid = (pid_t)atoi(strchr(b, '-') + 1);
	struct crash_view v;
	read_crash(crash, pid, &v);
	assert_int_equal(v.rc, 0);
	assert_true(v.complete);
	assert_string_equal(v.path, "handler");
	assert_non_null(strstr(v.detail, "SIGSEGV at 0x10 (SEGV_MAPERR)"));
	/* not the program's thread: the writer's */
	char main_tid[32];
	snprintf(main_tid, sizeof main_tid, "thread %d", (int)pid);
	assert_null(strstr(v.detail, main_tid));
	assert_int_equal(v.steps, STEPS);
	assert_int_equal(v.last_step, STEPS - 1);
}

/* A child forked from a program with crash dumps, crashing: it ends as
 * it would have, at once, with no dump. */
static void test_forked_child(void **state)
{
	(void)state;
#if defined(__SANITIZE_THREAD__)
	skip(); /* TSan stops a child forked from a threaded process */
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	skip();
#endif
#endif
	char *dir = make_dir("forked");
	int st = run_child(FORKED, CRASH_SEGV, dir);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), CHILD_FORK_OK);
	assert_int_equal(count_files(dir), 0);
}

/* Handlers are installed only when asked for, and the program's are back
 * after the capture; the configuration is checked. */
static void test_install_and_config(void **state)
{
	(void)state;
	char *dir = make_dir("cfg");
	struct sigaction before, now;
	assert_int_equal(sigaction(SIGBUS, NULL, &before), 0);
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = 1u << 20;
	c.dump_dir = dir;
	assert_int_equal(ct_start(&c), 0);
	assert_int_equal(sigaction(SIGBUS, NULL, &now), 0);
	assert_true(now.sa_handler == before.sa_handler);
	assert_int_equal(ct_stop(), 0);

	c.dump_on_crash = 1;
	assert_int_equal(ct_start(&c), 0);
	assert_int_equal(sigaction(SIGBUS, NULL, &now), 0);
	assert_true(now.sa_handler != before.sa_handler);
	assert_int_equal(ct_stop(), 0);
	assert_int_equal(sigaction(SIGBUS, NULL, &now), 0);
	assert_true(now.sa_handler == before.sa_handler);
	assert_int_equal(count_files(dir), 0);

	c.dump_dir = NULL;
	assert_int_equal(ct_start(&c), CT_ECONFIG);
	c.dump_dir = dir;
	c.flight_max_bytes = 0;
	c.path = "/dev/null";
	assert_int_equal(ct_start(&c), CT_ECONFIG);

	ct_config_init(&c);
	setenv("CTRACE_DUMP_ON_CRASH", "1", 1);
	assert_int_equal(ct_config_from_env(&c), 0);
	assert_int_equal(c.dump_on_crash, 1);
	setenv("CTRACE_DUMP_ON_CRASH", "maybe", 1);
	assert_int_equal(ct_config_from_env(&c), CT_ECONFIG);
	unsetenv("CTRACE_DUMP_ON_CRASH");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_and_config),
		cmocka_unit_test(test_segv),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_program_handler_runs),
		cmocka_unit_test(test_stuck_writer_fallback),
		cmocka_unit_test(test_writer_crash),
		cmocka_unit_test(test_forked_child),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (getenv("TEST_CRASH_VERBOSE")) {
		fprintf(stderr, "kept %s\n", tmpdir);
		return rc;
	}
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
