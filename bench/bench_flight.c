/* The flight recorder (issue 4), first figures:
 *
 * 1. Per-event cost with the flight recorder on, beside a streaming capture
 *    (to /dev/null) and beside no capture: region begin/end pairs on one
 *    thread, its CPU time, runs interleaved, medians (target: flight
 *    recorder <= streaming: the recording path is the same).
 * 2. ct_flight_write_fd latency for a full 10 MiB window, to /dev/null and
 *    to a file (no fsync), beside the time to write the same bytes with
 *    write(2) (target <= 10 ms).
 * 3. Retained bytes (the dump's size, the window's high-water) and the
 *    process's RSS high-water under load (2 and 16 threads logging at full
 *    rate for 2 s, each run in a child process), beside the configured
 *    maximum plus the pool, the memory ctrace says it holds (ct_stats
 *    mem_bytes), and the RSS of the same load not traced and streamed.
 * 4. Events lost by a flight recorder alone with pools of 4 to 64 MiB,
 *    under the loads of 1 and 3 (the question: may a flight recorder
 *    default to a smaller pool?).
 *
 *   bench_flight [-r RUNS]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "bench_stats.h"

static int runs = 7;
#define PAIRS  2000000
#define WINDOW (10u << 20)

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum mode { OFF, STREAM, FLIGHT };

static size_t pool_bytes; /* 0: the default */

static void start(enum mode m, size_t window)
{
	struct ct_config c;
	ct_config_init(&c);
	if (pool_bytes)
		c.buffer_bytes = pool_bytes;
	if (m == STREAM)
		c.path = "/dev/null";
	if (m == FLIGHT)
		c.flight_max_bytes = window;
	if (m != OFF && ct_start(&c) != 0) {
		fprintf(stderr, "bench_flight: ct_start: %s\n", ct_last_error());
		exit(1);
	}
}

/* ns per region begin/end pair, the thread's CPU time */
static double pairs(enum mode m)
{
	start(m, WINDOW);
	uint64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	for (int i = 0; i < PAIRS; i++) {
		CT_REGION_BEGIN("step");
		CT_REGION_END();
	}
	uint64_t t1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	if (m != OFF)
		ct_stop();
	return (double)(t1 - t0) / PAIRS;
}

static void fill_window(void)
{
	/* logs that do not compress to nothing: more than the window */
	unsigned long long x = 1;
	for (unsigned long i = 0; i < 1500000; i++) {
		char msg[96];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int n = snprintf(msg, sizeof msg, "step %lu %016llx%016llx", i, x, x * 31);
		ct_log_n(CT_NAME("fill"), msg, (size_t)n);
	}
}

static void *logger(void *arg)
{
	uint64_t end = *(uint64_t *)arg;
	unsigned long long x = (unsigned long long)(uintptr_t)&end;
	unsigned long i = 0;
	while (now_ns(CLOCK_MONOTONIC) < end) {
		for (int k = 0; k < 1000; k++, i++) {
			char msg[96];
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			int n = snprintf(msg, sizeof msg, "load %lu %016llx", i, x);
			ct_log_n(CT_NAME("load"), msg, (size_t)n);
		}
	}
	return NULL;
}

/* What a child reports: its RSS high-water, the dump, what ctrace held. */
struct load {
	long hwm_kb;
	long long dump, window_max, lost, events, mem, mem_window, mem_pool, mem_writer;
};

/* In a child process (so its RSS high-water is its own): nthreads log for
 * 2 s under mode m; writes a struct load to out. */
static void rss_child(enum mode m, int nthreads, int out)
{
	struct load l = {0};
	start(m, WINDOW);
	uint64_t end = now_ns(CLOCK_MONOTONIC) + 2000000000u;
	pthread_t th[64];
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, logger, &end);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	if (m == FLIGHT) {
		char path[] = "/tmp/bench_flight-XXXXXX";
		int fd = mkstemp(path);
		if (fd >= 0 && ct_flight_write_fd(fd) == 0) {
			struct stat st;
			if (fstat(fd, &st) == 0)
				l.dump = st.st_size;
		}
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
	}
	if (m != OFF) {
		ct_stop();
		struct ct_stats st;
		ct_get_stats(&st);
		l.window_max = (long long)st.flight_bytes_max;
		l.lost = (long long)st.lost;
		l.events = (long long)st.events;
		l.mem = (long long)st.mem_bytes;
		l.mem_window = (long long)st.mem_window;
		l.mem_pool = (long long)st.mem_pool;
		l.mem_writer = (long long)st.mem_writer;
	}
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			l.hwm_kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	if (write(out, &l, sizeof l) != (ssize_t)sizeof l)
		_exit(1);
}

static struct load rss(enum mode m, int nthreads)
{
	struct load l = {0};
	int p[2];
	if (pipe(p) != 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		rss_child(m, nthreads, p[1]);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &l, sizeof l) != (ssize_t)sizeof l)
		memset(&l, 0, sizeof l);
	close(p[0]);
	waitpid(pid, NULL, 0);
	return l;
}

/* Region pairs at full rate on one thread (section 1's load) for 0.5 s in
 * a flight recorder alone: events written and lost. */
static void pairs_loss(long long *events, long long *lost)
{
	start(FLIGHT, WINDOW);
	uint64_t end = now_ns(CLOCK_MONOTONIC) + 500000000u;
	while (now_ns(CLOCK_MONOTONIC) < end)
		for (int i = 0; i < 10000; i++) {
			CT_REGION_BEGIN("step");
			CT_REGION_END();
		}
	ct_stop();
	struct ct_stats st;
	ct_get_stats(&st);
	*events = (long long)st.events;
	*lost = (long long)st.lost;
}

int main(int argc, char **argv)
{
	int o;
	while ((o = getopt(argc, argv, "r:")) != -1) {
		if (o == 'r' && atoi(optarg) > 0) {
			runs = atoi(optarg);
		} else {
			fprintf(stderr, "usage: bench_flight [-r RUNS]\n");
			return 2;
		}
	}
	/* 1 */
	double off[64], st[64], fl[64];
	if (runs > 64)
		runs = 64;
	for (int i = 0; i < runs; i++) {
		off[i] = pairs(OFF);
		st[i] = pairs(STREAM);
		fl[i] = pairs(FLIGHT);
	}
	double moff = bench_median(off, runs), mst = bench_median(st, runs),
	       mfl = bench_median(fl, runs);
	printf("1. region begin/end pair, ns (thread CPU time, median of %d runs of %d pairs)\n",
	       runs, PAIRS);
	printf("| case | ns/pair | baseline | ratio |\n|---|---|---|---|\n");
	printf("| not tracing | %.2f | | |\n", moff);
	printf("| streaming to /dev/null | %.2f | | |\n", mst);
	printf("| flight recorder, 10 MiB | %.2f | %.2f (streaming) | %.3f |\n\n", mfl, mst,
	       mfl / mst);

	/* 2 */
	start(FLIGHT, WINDOW);
	fill_window();
	double wn[64], wf[64], ww[64];
	long long bytes = 0;
	char path[] = "/tmp/bench_flight-XXXXXX";
	int tfd = mkstemp(path);
	if (tfd < 0)
		return 1;
	unlink(path);
	int null = open("/dev/null", O_WRONLY);
	(void)ct_flight_write_fd(null); /* the first cut drains the backlog */
	for (int i = 0; i < runs; i++) {
		fill_window();
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);
		ct_flight_write_fd(null);
		uint64_t t1 = now_ns(CLOCK_MONOTONIC);
		if (ftruncate(tfd, 0) != 0 || lseek(tfd, 0, SEEK_SET) != 0)
			return 1;
		uint64_t t2 = now_ns(CLOCK_MONOTONIC);
		ct_flight_write_fd(tfd);
		uint64_t t3 = now_ns(CLOCK_MONOTONIC);
		bytes = lseek(tfd, 0, SEEK_END);
		/* baseline: the same bytes with write(2) to the same kind of file */
		char *b = malloc((size_t)bytes);
		if (!b || pread(tfd, b, (size_t)bytes, 0) != bytes)
			return 1;
		if (ftruncate(tfd, 0) != 0)
			return 1;
		uint64_t t4 = now_ns(CLOCK_MONOTONIC);
		if (pwrite(tfd, b, (size_t)bytes, 0) != bytes)
			return 1;
		uint64_t t5 = now_ns(CLOCK_MONOTONIC);
		free(b);
		wn[i] = (double)(t1 - t0) / 1e6;
		wf[i] = (double)(t3 - t2) / 1e6;
		ww[i] = (double)(t5 - t4) / 1e6;
	}
	ct_stop();
	close(tfd);
	close(null);
	double mw = bench_median(ww, runs);
	printf("2. ct_flight_write_fd of a full 10 MiB window (%lld bytes written), ms, median "
	       "of %d (after the window is refilled each time)\n",
	       bytes, runs);
	printf("| to | ms | baseline: write(2) of the same bytes, ms | ratio "
	       "|\n|---|---|---|---|\n");
	printf("| /dev/null, right after 1.5 M events were logged (the cut first drains and "
	       "compresses them) | %.2f | | |\n",
	       bench_median(wn, runs));
	printf("| a file (page cache, no fsync), nothing pending: the window alone | %.2f | %.2f | "
	       "%.2f |\n\n",
	       bench_median(wf, runs), mw, bench_median(wf, runs) / mw);

	/* 3 */
	printf("3. threads logging at full rate for 2 s: retained and resident memory (each "
	       "case in a child process; pool = buffer_bytes, %zu MiB)\n",
	       (pool_bytes ? pool_bytes : (size_t)64 << 20) >> 20);
	printf("| threads | retained: dump bytes | window high-water | max bytes | RSS high-water "
	       "KiB | baseline: not traced KiB | traced - not traced KiB | ctrace's mem_bytes KiB "
	       "(window + pool in use + writer) | max bytes + pool KiB | streaming RSS KiB | "
	       "flight / streaming |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
	int nts[2] = {2, 16};
	for (int k = 0; k < 2; k++) {
		struct load off = rss(OFF, nts[k]), stl = rss(STREAM, nts[k]),
			    fll = rss(FLIGHT, nts[k]);
		size_t pool = pool_bytes ? pool_bytes : (size_t)64 << 20;
		printf("| %d | %lld | %lld | %u | %ld | %ld | %ld | %lld (%lld + %lld + %lld) | "
		       "%zu | "
		       "%ld | %.2f |\n",
		       nts[k], fll.dump, fll.window_max, WINDOW, fll.hwm_kb, off.hwm_kb,
		       fll.hwm_kb - off.hwm_kb, fll.mem >> 10, fll.mem_window >> 10,
		       fll.mem_pool >> 10, fll.mem_writer >> 10, (WINDOW + pool) >> 10, stl.hwm_kb,
		       stl.hwm_kb ? (double)fll.hwm_kb / (double)stl.hwm_kb : 0.0);
	}

	/* 4 */
	printf("\n4. a flight recorder alone (10 MiB) with smaller pools: events lost\n");
	printf("| pool MiB | region pairs, 1 thread, 0.5 s: lost / written | logs, 2 threads, 2 s: "
	       "lost / written | logs, 16 threads, 2 s: lost / written | RSS KiB, 16 threads "
	       "|\n|---|---|---|---|---|\n");
	size_t pools[4] = {4, 8, 16, 64};
	for (int k = 0; k < 4; k++) {
		pool_bytes = pools[k] << 20;
		long long pe, pl;
		pairs_loss(&pe, &pl);
		struct load two = rss(FLIGHT, 2), many = rss(FLIGHT, 16);
		printf("| %zu | %lld / %lld | %lld / %lld | %lld / %lld | %ld |\n", pools[k], pl,
		       pe, two.lost, two.events, many.lost, many.events, many.hwm_kb);
	}
	pool_bytes = 0;
	printf("\ntargets: flight/streaming ratio <= 1.0 (noise aside); write_fd <= 10 ms; "
	       "retained <= max bytes\n");
	return 0;
}
