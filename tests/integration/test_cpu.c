/* CPU samples end to end: threads that spin, block or stay unregistered
 * under a capture with per-thread CPU-time timers, read back with the
 * reader; loss accounting, the signal's owner, `ctrace run --cpu-hz`. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "record/rec.h"
#include "record/src_cpu.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN 1
#endif
#endif

static char tmpdir[] = "/tmp/ctrace-cpu-XXXXXX";

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Burns `ns` of this thread's CPU time in its own frame: the samples that
 * land here must name it. */
static __attribute__((noinline)) uint64_t spin_here(uint64_t ns)
{
	/* Register arithmetic only: a store would be a call into TSan's
	 * runtime in a TSan build, a leaf without a frame that hides its
	 * caller from a frame-pointer walk. */
	uint64_t x = 0;
	uint64_t end = thread_cpu_ns() + ns;
	while (thread_cpu_ns() < end)
		for (int i = 0; i < 20000; i++) {
			x = x * 6364136223846793005ull + (uint64_t)i;
			__asm__ volatile("" : "+r"(x));
		}
	return x;
}

static int start_cpu(const char *path, unsigned hz, int signo, unsigned stacks)
{
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	c.cpu_hz = hz;
	c.cpu_signal = signo;
	c.stack_events = stacks;
	c.buffer_bytes = 256u << 20;
	/* the other sources are not under test here */
	c.sched = CT_SCHED_OFF;
	c.faults = 0;
	c.cgroup = 0;
	return ct_start(&c);
}

/* What a trace says about the samples of one thread (by tid), and in all. */
struct samples {
	uint64_t n, weight_ns, named; /* of the thread asked for */
	uint64_t total, reentrant, other_loss, regions;
	int tid_seen;
	char hz[32];
};

static void read_samples(const char *path, pid_t tid, const char *fn, pid_t absent,
			 struct samples *s)
{
	memset(s, 0, sizeof *s);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_trace_info *info = ct_reader_info(r);
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2)
		if (!strcmp(info->meta[i], "cpu.sample_hz"))
			snprintf(s->hz, sizeof s->hz, "%s", info->meta[i + 1]);
	const struct ct_generation *g;
	int rc;
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		for (uint32_t i = 0; i < g->nloss; i++) {
			if (g->loss[i].reason == CT_LOSS_REENTRANT)
				s->reentrant += g->loss[i].count;
			else
				s->other_loss += g->loss[i].count;
		}
		for (uint32_t i = 0; i < g->nthreads; i++)
			if (absent && (pid_t)g->threads[i].tid == absent)
				s->tid_seen = 1;
		struct ct_event ev;
		while ((rc = ct_reader_next_in_generation(r, &ev)) == 1) {
			if (ev.type == CT_EV_LOSS)
				s->other_loss += ev.args[0];
			if (ev.type == CT_EV_REGION_BEGIN)
				s->regions++;
			if (ev.type != CT_EV_CPU_SAMPLE)
				continue;
			s->total++;
			if ((pid_t)ev.thread->tid != tid)
				continue;
			s->n++;
			s->weight_ns += ev.args[0];
			assert_non_null(ev.stack);
			for (uint32_t k = 0; fn && k < ev.stack->nframes; k++)
				if (!strcmp(ev.stack->frames[k].function, fn)) {
					s->named++;
					break;
				}
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(rc, 0);
	assert_true(ct_reader_complete(r));
	ct_reader_close(r);
}

/* ---- samples follow CPU time, at the rate asked, with the right stack ---- */

#define SPIN_NS 400000000ull /* 0.4 s of CPU */

static int pipefd[2];
static _Atomic int spinner_done;
static _Atomic pid_t spinner_tid, blocked_tid, stranger_tid;
static uint64_t spinner_cpu, blocked_cpu;
static ssize_t blocked_read;

static void *spinner(void *arg)
{
	(void)arg;
	spinner_tid = gettid_();
	CT_REGION_BEGIN("spin"); /* registers: the timer starts here */
	uint64_t c0 = thread_cpu_ns();
	spin_here(SPIN_NS);
	spinner_cpu = thread_cpu_ns() - c0;
	CT_REGION_END();
	return NULL;
}

static void *blocked(void *arg)
{
	(void)arg;
	blocked_tid = gettid_();
	CT_REGION_BEGIN("blocked");
	char b;
	blocked_read = read(pipefd[0], &b, 1); /* no CPU while it waits */
	CT_REGION_END();
	blocked_cpu = thread_cpu_ns();
	return NULL;
}

static void *stranger(void *arg)
{
	(void)arg;
	stranger_tid = gettid_();
	/* Spins without ever calling ctrace: no record, so no timer, and no
	 * sample may register it. */
	while (!spinner_done)
		spin_here(1000000);
	return NULL;
}

static void test_samples_follow_cpu_time(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/spin.ct", tmpdir);
	struct sigaction before, after;
	assert_int_equal(sigaction(SIGPROF, NULL, &before), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(start_cpu(path, 1000, 0, 0u), 0);
	pthread_t a, b, c;
	assert_int_equal(pthread_create(&b, NULL, blocked, NULL), 0);
	assert_int_equal(pthread_create(&c, NULL, stranger, NULL), 0);
	assert_int_equal(pthread_create(&a, NULL, spinner, NULL), 0);
	pthread_join(a, NULL);
	spinner_done = 1;
	pthread_join(c, NULL);
	assert_int_equal(write(pipefd[1], "x", 1), 1);
	pthread_join(b, NULL);
	assert_int_equal(ct_stop(), 0);
	close(pipefd[0]);
	close(pipefd[1]);

	struct samples s;
	read_samples(path, spinner_tid, "spin_here", stranger_tid, &s);
	assert_string_equal(s.hz, "1000");
	double cpu_s = (double)spinner_cpu / 1e9;
	/* Each sample weighs the thread's CPU time since the one before
	 * (its CPU clock), so the weights add up to its CPU time from its
	 * timer's start (registering, just before c0) to its last sample:
	 * the spin but what came after its last sample, and no more than the
	 * spin and what the thread ran around it (a sample during the region's
	 * end). Broad bounds: not a timing test. */
	assert_true(s.weight_ns >= spinner_cpu * 3 / 4);
	assert_true(s.weight_ns <= spinner_cpu + 5000000);
	/* One signal per expiry up to the kernel's tick rate (at least 100
	 * Hz), so some 100 samples a second of CPU or more; a machine loaded
	 * beyond its CPUs gets fewer from the kernel (50 a second beside two
	 * spinners on two CPUs, docs/DECISIONS.md), so a quarter of that. */
	assert_true((double)s.n >= cpu_s * 100 / 4);
	/* The interrupted code's stack, symbolized: spin_here nearly always
	 * (it spends a little time in clock_gettime, whose frames may hide
	 * it). */
	assert_true(s.named * 10 >= s.n * 8);
	assert_int_equal(s.other_loss, 0);
	assert_false(s.tid_seen); /* the unregistered thread */

	/* The blocked thread: samples only for the CPU it used (registering,
	 * a few syscalls), none for the time it sat in read(), which SA_RESTART
	 * and the CPU-time clock left alone. */
	assert_int_equal(blocked_read, 1);
	read_samples(path, blocked_tid, NULL, 0, &s);
	assert_true(s.weight_ns <= blocked_cpu + 100000); /* + rounding, < 1 period */

	/* The program's SIGPROF disposition is back. */
	assert_int_equal(sigaction(SIGPROF, NULL, &after), 0);
	assert_ptr_equal((void *)after.sa_handler, (void *)before.sa_handler);
}

static void *spin_registered(void *arg)
{
	spinner_tid = gettid_();
	CT_REGION_BEGIN("spin");
	spin_here(*(uint64_t *)arg);
	CT_REGION_END();
	return NULL;
}

static void test_off_means_no_samples(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/off.ct", tmpdir);
	struct sigaction before, after;
	assert_int_equal(sigaction(SIGPROF, NULL, &before), 0);
	assert_int_equal(start_cpu(path, 0, 0, 0u), 0);
	uint64_t ns = 100000000;
	pthread_t a;
	assert_int_equal(pthread_create(&a, NULL, spin_registered, &ns), 0);
	pthread_join(a, NULL);
	assert_int_equal(ct_stop(), 0);
	struct samples s;
	read_samples(path, spinner_tid, NULL, 0, &s);
	assert_string_equal(s.hz, "0");
	assert_int_equal(s.total, 0);
	assert_int_equal(s.regions, 1);
	assert_int_equal(sigaction(SIGPROF, NULL, &after), 0);
	assert_ptr_equal((void *)after.sa_handler, (void *)before.sa_handler);
}

/* ---- a sample inside an interposed call keeps the call's wait whole ---- */

/* An interposer's shape (rec.h call_begin/call_end) around CPU time of
 * the call's own, as a large write's copy or an fsync's work in the
 * kernel: a CPU timer's signal lands inside it (or as it returns). */
static __attribute__((noinline)) void long_call(uint64_t ns)
{
	uint64_t t0;
	struct trec *r =
		call_begin(CT_WAIT_FILE, 7, CT_CALL_FSYNC, __builtin_frame_address(0), &t0);
	spin_here(ns);
	if (r)
		call_end(r, t0, 0, __builtin_frame_address(0));
}

static void *call_thread(void *arg)
{
	spinner_tid = gettid_();
	CT_REGION_BEGIN("registered");
	CT_REGION_END();
	long_call(*(uint64_t *)arg);
	return NULL;
}

static void test_sample_inside_call_keeps_wait(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/call.ct", tmpdir);
	assert_int_equal(start_cpu(path, 1000, 0, CT_STACK_WAIT), 0);
	uint64_t ns = 60000000;
	pthread_t a;
	assert_int_equal(pthread_create(&a, NULL, call_thread, &ns), 0);
	pthread_join(a, NULL);
	assert_int_equal(ct_stop(), 0);

	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	uint64_t begin = 0, end = 0, inside = 0;
	int rc, site_ok = 0;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		if ((pid_t)ev.thread->tid != spinner_tid)
			continue;
		if (ev.type == CT_EV_WAIT_BEGIN && ev.args[1] == 7) {
			assert_int_equal(begin, 0); /* one begin: the handler's or the thread's */
			begin = ev.ts;
			site_ok = ev.stack && ev.stack->nframes &&
				  !strcmp(ev.stack->frames[0].function, "call_thread");
		} else if (ev.type == CT_EV_WAIT_END && begin && !end) {
			end = ev.ts;
		} else if (ev.type == CT_EV_CPU_SAMPLE && begin && !end) {
			inside++;
		}
	}
	assert_int_equal(rc, 0);
	ct_reader_close(r);
	print_message("wait %.1f ms with %llu samples inside\n", (end - begin) / 1e6,
		      (unsigned long long)inside);
	assert_true(begin && end);
	/* the wait spans the call's CPU time (wall time is at least that) */
	assert_true(end - begin >= ns * 9 / 10);
	assert_true(inside >= 1);
	assert_true(site_ok); /* its stack starts at the call site */
}

/* ---- samples that land inside ctrace events are counted ---- */

static void *busy_events(void *arg)
{
	spinner_tid = gettid_();
	CT_REGION_BEGIN("registered");
	CT_REGION_END();
	uint64_t end = thread_cpu_ns() + *(uint64_t *)arg;
	while (thread_cpu_ns() < end)
		for (int i = 0; i < 1000; i++) {
			CT_REGION_BEGIN("busy"); /* with a stack: mostly inside events */
			CT_REGION_END();
		}
	return NULL;
}

static void test_samples_inside_events_are_counted(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/busy.ct", tmpdir);
	uint64_t taken = cpu_samples_taken();
	assert_int_equal(start_cpu(path, 1000, 0, CT_STACK_REGION), 0);
	uint64_t ns = 300000000;
	pthread_t a;
	assert_int_equal(pthread_create(&a, NULL, busy_events, &ns), 0);
	pthread_join(a, NULL);
	assert_int_equal(ct_stop(), 0);
	taken = cpu_samples_taken() - taken;
	struct samples s;
	read_samples(path, spinner_tid, NULL, 0, &s);
	/* Each sample the handler took is in the trace or counted as lost
	 * (reentrant); nothing else was lost. */
	assert_true(taken > 0);
	assert_int_equal(s.n + s.reentrant, taken);
	assert_int_equal(s.other_loss, 0);
#ifndef TSAN
	/* TSan delivers signals at its interceptors, never inside an event. */
	assert_true(s.reentrant > 0);
#endif
}

/* ---- another signal, shared with the program's own handler ---- */

static _Atomic int usr2_calls;

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == SI_TKILL || si->si_code == SI_USER)
		usr2_calls++;
}

static void *spin_and_raise(void *arg)
{
	spinner_tid = gettid_();
	CT_REGION_BEGIN("spin");
	for (int i = 0; i < 5; i++) {
		spin_here(*(uint64_t *)arg / 5);
		pthread_kill(pthread_self(), SIGUSR2);
	}
	CT_REGION_END();
	return NULL;
}

static void test_other_signal_chains(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/usr2.ct", tmpdir);
	struct sigaction sa, old, now;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr2;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR2, &sa, &old), 0);

	setenv("CTRACE_CPU_SIGNAL", "USR2", 1);
	struct ct_config c;
	ct_config_init(&c);
	assert_int_equal(ct_config_from_env(&c), 0);
	assert_int_equal(c.cpu_signal, SIGUSR2);
	unsetenv("CTRACE_CPU_SIGNAL");

	assert_int_equal(start_cpu(path, 1000, c.cpu_signal, 0u), 0);
	uint64_t ns = 200000000;
	pthread_t a;
	assert_int_equal(pthread_create(&a, NULL, spin_and_raise, &ns), 0);
	pthread_join(a, NULL);
	assert_int_equal(ct_stop(), 0);
	/* The program's handler saw its own five signals and none of ours. */
	assert_int_equal(usr2_calls, 5);
	struct samples s;
	read_samples(path, spinner_tid, "spin_here", 0, &s);
	assert_true(s.n > 0);
	assert_true(s.named > 0);
	/* and has the signal back */
	assert_int_equal(sigaction(SIGUSR2, NULL, &now), 0);
	assert_ptr_equal((void *)now.sa_sigaction, (void *)on_usr2);
	sigaction(SIGUSR2, &old, NULL);
}

static void test_signal_config(void **state)
{
	(void)state;
	assert_int_equal(cpu_parse_signal("PROF"), SIGPROF);
	assert_int_equal(cpu_parse_signal("SIGVTALRM"), SIGVTALRM);
	assert_int_equal(cpu_parse_signal("RTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(cpu_parse_signal("SIGRTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(cpu_parse_signal("12"), SIGUSR2);
	const char *bad[] = {"KILL", "SEGV", "9", "CHLD", "", "RTMIN+99", "RTMIN-1", "PROFX"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(cpu_parse_signal(bad[i]), -1);
		setenv("CTRACE_CPU_SIGNAL", bad[i], 1);
		struct ct_config c;
		ct_config_init(&c);
		assert_int_equal(ct_config_from_env(&c), CT_ECONFIG);
		assert_non_null(strstr(ct_last_error(), "CTRACE_CPU_SIGNAL"));
	}
	unsetenv("CTRACE_CPU_SIGNAL");
	setenv("CTRACE_CPU_HZ", "20000", 1);
	struct ct_config c;
	ct_config_init(&c);
	assert_int_equal(ct_config_from_env(&c), CT_ECONFIG);
	unsetenv("CTRACE_CPU_HZ");
	ct_config_init(&c);
	c.path = "/dev/null";
	c.cpu_signal = SIGSEGV;
	assert_int_equal(ct_start(&c), CT_ECONFIG);
}

/* ---- `ctrace run --cpu-hz` ---- */

static void test_run_cpu_hz(void **state)
{
	(void)state;
#ifdef SANITIZED
	/* A sanitized preload library cannot go into a plain program. */
	skip();
#else
	char path[256], cmd[1024];
	snprintf(path, sizeof path, "%s/run.ct", tmpdir);
	/* bash registers its thread at the echo (a write), then its loop burns
	 * CPU. Not dash: it ends with _exit, so its trace has no end frame. */
	snprintf(cmd, sizeof cmd,
		 "%s run --cpu-hz 1000 -o %s -- bash -c 'echo go; i=0; while [ $i -lt 100000 ]; do "
		 "i=$((i+1)); done' >/dev/null",
		 CTRACE_CLI, path);
	int st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct samples s;
	read_samples(path, 0, NULL, 0, &s);
	assert_string_equal(s.hz, "1000");
	assert_true(s.total > 0);
	snprintf(cmd, sizeof cmd, "%s run --cpu-hz 20000 -- true 2>/dev/null", CTRACE_CLI);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
#endif
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_follow_cpu_time),
		cmocka_unit_test(test_off_means_no_samples),
		cmocka_unit_test(test_samples_inside_events_are_counted),
		cmocka_unit_test(test_sample_inside_call_keeps_wait),
		cmocka_unit_test(test_other_signal_chains),
		cmocka_unit_test(test_signal_config),
		cmocka_unit_test(test_run_cpu_hz),
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
