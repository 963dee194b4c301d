/* Cost of the interposers on their fast paths, beside the raw libc call
 * measured in the same process and run: an uncontended pthread_mutex_lock +
 * unlock, a read() of a pipe with data ready (the call does not block), and
 * a read() that blocks (a ping-pong between two threads). Both ways in: the
 * preload library (this program re-run under LD_PRELOAD) and the link-time
 * wrappers (bench_intercept_wrap, the same source linked with
 * libctrace-wrap.a), each with a capture running (to /dev/null) and without.
 *
 * Lock and non-blocking read times are the calling thread's CPU time (time
 * lost to other processes on this 2-core machine does not count); the
 * blocking read is wall time. The raw and traced runs alternate and each
 * figure is the median over the runs (-k picks the cases: l lock, r read,
 * b blocking read). The traced calls are made 10 frames
 * deep, as in bench_events, so that the stack a read records is realistic.
 *
 *   bench_intercept [-r RUNS] [-n LOCKS_PER_RUN] [-k lrb] [-p PRELOAD_SO] [-w WRAP_BENCH]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "ctrace.h"

typedef int (*lock_fn)(pthread_mutex_t *);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);

static int runs = 31;
static long nlocks = 1000000;	   /* lock+unlock pairs per run */
static long nreads_target = 32768; /* non-blocking reads per run */
static const long nrounds = 5000;  /* blocking round trips per run */
#define DEPTH 5			   /* with the frames below, a 10-frame stack (checked) */

/* The calls compared: the traced one as the program reaches it (through
 * the interposer), and libc's own. */
static lock_fn traced_lock, raw_lock;
static read_fn traced_read, raw_read;
static write_fn raw_write;

/* The capture API: linked (wrappers) or the preload library's (dlsym). */
static void (*api_config_init)(struct ct_config *);
static int (*api_config_from_env)(struct ct_config *);
static int (*api_start)(const struct ct_config *);
static int (*api_stop)(void);
static void (*api_get_stats)(struct ct_stats *);
static const char *(*api_last_error)(void);

static const char *way;		 /* "preload" or "wrap" */
static const char *only = "lrb"; /* -k: lock, read, blocking read */

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_intercept (%s): %s: %s\n", way, what, strerror(errno));
	exit(1);
}

/* ---- the timed bodies ---- */

static pthread_mutex_t bench_mutex = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static uint64_t locks_body(lock_fn lock, long n)
{
	lock_fn volatile f = lock; /* an indirect call for both, as a PLT call is */
	uint64_t t0 = cpu_ns();
	for (long i = 0; i < n; i++) {
		f(&bench_mutex);
		pthread_mutex_unlock(&bench_mutex);
	}
	return cpu_ns() - t0;
}

/* Fills the pipe (its write end is non-blocking), then reads it dry 16
 * bytes per call: each read finds data ready. Returns the CPU ns of n reads;
 * the fills are not timed. */
__attribute__((noinline)) static uint64_t reads_body(read_fn rd, int fds[2], long n)
{
	read_fn volatile f = rd;
	static char fill[65536];
	char buf[16];
	uint64_t total = 0;
	for (long done = 0; done < n;) {
		size_t in = 0;
		for (;;) {
			ssize_t w = raw_write(fds[1], fill, sizeof fill);
			if (w < 0 && errno == EAGAIN)
				break;
			if (w <= 0)
				die("write");
			in += (size_t)w;
		}
		long batch = (long)(in / sizeof buf);
		if (batch > n - done)
			batch = n - done;
		uint64_t t0 = cpu_ns();
		for (long i = 0; i < batch; i++)
			if (f(fds[0], buf, sizeof buf) != (ssize_t)sizeof buf)
				die("read");
		total += cpu_ns() - t0;
		done += batch;
		for (size_t left = in - (size_t)batch * sizeof buf; left > 0;) {
			ssize_t r = raw_read(fds[0], fill, left < sizeof fill ? left : sizeof fill);
			if (r <= 0)
				die("drain");
			left -= (size_t)r;
		}
	}
	return total;
}

/* The blocking case: a round trip through two pipes between this thread and
 * an echo thread; both sides read with the function compared (so each round
 * trip has two blocking reads) and write raw. Wall ns of n round trips. */
struct echo {
	read_fn rd;
	int in, out;
	long n;
};

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	read_fn volatile f = e->rd;
	char c;
	for (long i = 0; i < e->n; i++) {
		if (f(e->in, &c, 1) != 1)
			die("echo read");
		if (raw_write(e->out, &c, 1) != 1)
			die("echo write");
	}
	return NULL;
}

__attribute__((noinline)) static uint64_t pingpong_body(read_fn rd, long n)
{
	int a[2], b[2];
	if (pipe(a) || pipe(b))
		die("pipe");
	struct echo e = {rd, a[0], b[1], n};
	pthread_t th;
	if (pthread_create(&th, NULL, echo_main, &e))
		die("pthread_create");
	read_fn volatile f = rd;
	char c = 'x';
	uint64_t t0 = wall_ns();
	for (long i = 0; i < n; i++) {
		if (raw_write(a[1], &c, 1) != 1)
			die("ping write");
		if (f(b[0], &c, 1) != 1)
			die("ping read");
	}
	uint64_t t = wall_ns() - t0;
	pthread_join(th, NULL);
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
	return t;
}

enum kind { LOCK, READ, PINGPONG };

struct call {
	enum kind k;
	int traced;
	int fds[2];
	uint64_t ns;
};

/* Makes the call DEPTH frames deep (no tail calls: the frames stay). */
__attribute__((noinline)) static void at_depth(int d, struct call *c)
{
	if (d > 1) {
		at_depth(d - 1, c);
		__asm__ volatile("" ::: "memory");
		return;
	}
	switch (c->k) {
	case LOCK:
		c->ns = locks_body(c->traced ? traced_lock : raw_lock, nlocks);
		break;
	case READ:
		c->ns = reads_body(c->traced ? traced_read : raw_read, c->fds, nreads_target);
		break;
	case PINGPONG:
		c->ns = pingpong_body(c->traced ? traced_read : raw_read, nrounds);
		break;
	}
}

static const char *const kind_name[] = {"mutex lock+unlock, uncontended",
					"read() of a pipe, data ready",
					"read() that blocks (pipe)"};
static const long *const kind_calls[] = {&nlocks, &nreads_target, &nrounds};

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof v[0], bench_cmp_double);
	return v[n / 2];
}

/* One table row. A run is a raw batch and a traced batch back to back (the
 * order alternates), so that both see the same load; the figures are the
 * medians over the runs of each and of the paired differences. */
__attribute__((noinline)) static void row(enum kind k, int capture, int fds[2])
{
	double raw[128], tr[128], diff[128];
	struct ct_stats s0 = {0}, s1 = {0};
	if (capture) {
		struct ct_config c;
		api_config_init(&c);
		if (api_config_from_env(&c) != 0) {
			fprintf(stderr, "bench_intercept: %s\n", api_last_error());
			exit(2);
		}
		c.path = "/dev/null";
		c.fd = -1;
		c.write = NULL;
		if (api_start(&c) != 0) {
			fprintf(stderr, "bench_intercept (%s): %s\n", way, api_last_error());
			exit(1);
		}
		api_get_stats(&s0);
	}
	for (int run = 0; run < runs; run++) {
		for (int i = 0; i < 2; i++) {
			int traced = (run + i) & 1;
			struct call c = {k, traced, {fds[0], fds[1]}, 0};
			at_depth(DEPTH, &c);
			double per = (double)c.ns / (double)*kind_calls[k];
			if (k == PINGPONG)
				per /= 2; /* two blocking reads per round trip */
			(traced ? tr : raw)[run] = per;
		}
		diff[run] = tr[run] - raw[run];
	}
	char extra[64] = "–";
	if (capture) {
		api_stop();
		api_get_stats(&s1);
		double calls = (double)*kind_calls[k] * (k == PINGPONG ? 2 : 1) * runs;
		snprintf(extra, sizeof extra, "%.1f ev, %.0f writer ns", (double)s1.events / calls,
			 (double)s1.writer_cpu_ns / calls);
		if (s1.lost)
			fprintf(stderr, "bench_intercept: %llu events lost (%s): a lower bound\n",
				(unsigned long long)s1.lost, kind_name[k]);
	}
	double r = median(raw, runs), t = median(tr, runs), d = median(diff, runs);
	printf("| %s | %s | %s | %.2f | %.2f | %+.2f | %.3f | %s |\n", kind_name[k], way,
	       capture ? "running" : "none", t, r, d, (r + d) / r, extra);
	fflush(stdout);
}

static unsigned recorded_depth(void);

static void measure_all(void)
{
	int fds[2];
	if (pipe2(fds, 0) || fcntl(fds[1], F_SETFL, O_NONBLOCK))
		die("pipe");
	fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* fewer untimed refills; the default is fine too */
	for (int capture = 1; capture >= 0; capture--)
		for (enum kind k = LOCK; k <= PINGPONG; k++)
			if (strchr(only, "lrb"[k]))
				row(k, capture, fds);
	close(fds[0]);
	close(fds[1]);
	/* called from here, the stack is as deep as in row() */
	unsigned depth = recorded_depth();
	if (depth)
		printf("\n(%s: a traced read records a %u-frame stack here)\n", way, depth);
}

#ifdef BENCH_WRAP
#include "ctrace_reader.h"

/* The depth of the stack a traced read records here, read back from a
 * trace (the preload run calls from the same frames). */
__attribute__((noinline)) static unsigned recorded_depth(void)
{
	char path[] = "/tmp/bench_intercept-XXXXXX";
	int fd = mkstemp(path), fds[2];
	if (fd < 0 || pipe(fds))
		return 0;
	close(fd);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	if (ct_start(&c) != 0)
		return 0;
	struct call one = {READ, 1, {fds[0], fds[1]}, 0};
	long keep = nreads_target;
	nreads_target = 1;
	at_depth(DEPTH, &one);
	nreads_target = keep;
	ct_stop();
	close(fds[0]);
	close(fds[1]);
	unsigned n = 0;
	ct_reader *r;
	if (ct_reader_open(path, &r) == 0) {
		struct ct_event ev;
		while (ct_reader_next(r, &ev) == 1)
			if (ev.type == CT_EV_WAIT_BEGIN && ev.stack && ev.stack->nframes > n)
				n = ev.stack->nframes;
		ct_reader_close(r);
	}
	unlink(path);
	return n;
}

/* Linked with libctrace-wrap.a and -Wl,--wrap: the program's references to
 * pthread_mutex_lock and read go to the wrappers, __real_* to libc. */
extern __typeof__(pthread_mutex_lock) __real_pthread_mutex_lock;
extern __typeof__(read) __real_read;
extern __typeof__(write) __real_write;

static void setup(void)
{
	way = "wrap";
	traced_lock = pthread_mutex_lock;
	raw_lock = __real_pthread_mutex_lock;
	traced_read = read;
	raw_read = __real_read;
	raw_write = __real_write;
	api_config_init = ct_config_init;
	api_config_from_env = ct_config_from_env;
	api_start = ct_start;
	api_stop = ct_stop;
	api_get_stats = ct_get_stats;
	api_last_error = ct_last_error;
}
#else
__attribute__((noinline)) static unsigned recorded_depth(void)
{
	return 0; /* no reader here: the wrapper run prints it */
}

/* Under LD_PRELOAD: the program's symbols are the preload library's, libc's
 * own come from libc's handle, the capture API from the preload library. */
static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);
	if (!p) {
		fprintf(stderr, "bench_intercept: no %s: %s\n", name, dlerror());
		exit(1);
	}
	return p;
}

static void setup(void)
{
	way = "preload";
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!libc) {
		fprintf(stderr, "bench_intercept: %s\n", dlerror());
		exit(1);
	}
	traced_lock = pthread_mutex_lock;
	traced_read = read;
	raw_lock = (lock_fn)sym(libc, "pthread_mutex_lock");
	raw_read = (read_fn)sym(libc, "read");
	raw_write = (write_fn)sym(libc, "write");
	if (raw_lock == traced_lock || raw_read == traced_read) {
		fprintf(stderr, "bench_intercept: the preload library is not interposing\n");
		exit(1);
	}
	api_config_init = (void (*)(struct ct_config *))sym(RTLD_DEFAULT, "ct_config_init");
	api_config_from_env = (int (*)(struct ct_config *))sym(RTLD_DEFAULT, "ct_config_from_env");
	api_start = (int (*)(const struct ct_config *))sym(RTLD_DEFAULT, "ct_start");
	api_stop = (int (*)(void))sym(RTLD_DEFAULT, "ct_stop");
	api_get_stats = (void (*)(struct ct_stats *))sym(RTLD_DEFAULT, "ct_get_stats");
	api_last_error = (const char *(*)(void))sym(RTLD_DEFAULT, "ct_last_error");
}

/* Runs argv[0] again as `prog` with LD_PRELOAD=preload (NULL: none). */
static int run_child(const char *prog, const char *preload, char **argv)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		unsetenv("CTRACE_OUTPUT"); /* no auto-started capture */
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		setenv("BENCH_INTERCEPT_CHILD", "1", 1);
		execv(prog, argv);
		fprintf(stderr, "bench_intercept: %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}
#endif

static void usage(void)
{
	fputs("usage: bench_intercept [-r RUNS] [-n LOCKS_PER_RUN] [-k lrb] [-p PRELOAD_SO] [-w "
	      "WRAP_BENCH]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
#ifndef BENCH_WRAP
	const char *preload = CTRACE_PRELOAD_SO, *wrap_bench = BENCH_INTERCEPT_WRAP;
#endif
	int opt;
	while ((opt = getopt(argc, argv, "r:n:k:p:w:")) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg);
			if (runs < 1 || runs > 128)
				usage();
			break;
		case 'k':
			only = optarg;
			break;
		case 'n':
			nlocks = atol(optarg);
			if (nlocks < 1)
				usage();
			break;
#ifndef BENCH_WRAP
		case 'p':
			preload = optarg;
			break;
		case 'w':
			wrap_bench = optarg;
			break;
#endif
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
#ifdef BENCH_WRAP
	setup();
	measure_all();
	return 0;
#else
	if (getenv("BENCH_INTERCEPT_CHILD")) {
		setup();
		measure_all();
		return 0;
	}
	printf("interposer cost vs the raw libc call, same process and run, median of %d "
	       "runs\n(lock and non-blocking read: CPU time of the calling thread; blocking "
	       "read: wall time per read)\n\n",
	       runs);
	printf("| call | way in | capture | ns/call | raw ns | delta ns | ratio | per traced "
	       "call |\n|---|---|---|---|---|---|---|---|\n");
	int bad = 0;
	if (run_child("/proc/self/exe", preload, argv) != 0) {
		fprintf(stderr, "bench_intercept: the preload run failed\n");
		bad = 1;
	}
	if (run_child(wrap_bench, NULL, argv) != 0) {
		fprintf(stderr, "bench_intercept: the wrapper run failed\n");
		bad = 1;
	}
	printf("\ntargets: mutex delta <= +3 ns; non-blocking read ratio <= 1.10\n");
	return bad;
#endif
}
