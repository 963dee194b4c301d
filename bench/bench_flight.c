/* The flight recorder (issue 4), first figures:
 *
 * 1. Per-event cost with the flight recorder on, beside a streaming capture
 *    (to /dev/null) and beside no capture: region begin/end pairs on one
 *    thread, its CPU time, runs interleaved, medians (target: flight
 *    recorder <= streaming: the recording path is the same).
 * 2. ct_flight_write_fd latency for a full 10 MiB window, to /dev/null and
 *    to a file (no fsync), beside the time to write the same bytes with
 *    write(2) (target <= 10 ms).
 * 3. Retained bytes (the dump's size) and the process's RSS high-water under
 *    load (two threads logging at full rate for 2 s), beside the
 *    configured maximum and the RSS of the same load streamed to /dev/null.
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

static int runs = 7;
#define PAIRS  2000000
#define WINDOW (10u << 20)

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum mode { OFF, STREAM, FLIGHT };

static void start(enum mode m, size_t window)
{
	struct ct_config c;
	ct_config_init(&c);
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

/* In a child process (so its RSS high-water is its own): two threads log
 * for 2 s under mode m; prints "rss_kb dump_bytes". */
static void rss_child(enum mode m, int out)
{
	start(m, WINDOW);
	uint64_t end = now_ns(CLOCK_MONOTONIC) + 2000000000u;
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, logger, &end);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	long long dump = 0;
	if (m == FLIGHT) {
		char path[] = "/tmp/bench_flight-XXXXXX";
		int fd = mkstemp(path);
		if (fd >= 0 && ct_flight_write_fd(fd) == 0) {
			struct stat st;
			if (fstat(fd, &st) == 0)
				dump = st.st_size;
		}
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
	}
	ct_stop();
	long hwm = 0;
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			hwm = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	dprintf(out, "%ld %lld\n", hwm, dump);
}

static void rss(enum mode m, long *kb, long long *dump)
{
	int p[2];
	if (pipe(p) != 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		rss_child(m, p[1]);
		_exit(0);
	}
	close(p[1]);
	char buf[64] = {0};
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	waitpid(pid, NULL, 0);
	*kb = 0;
	*dump = 0;
	if (n > 0)
		sscanf(buf, "%ld %lld", kb, dump);
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
	double moff = median(off, runs), mst = median(st, runs), mfl = median(fl, runs);
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
	double mw = median(ww, runs);
	printf("2. ct_flight_write_fd of a full 10 MiB window (%lld bytes written), ms, median "
	       "of %d (after the window is refilled each time)\n",
	       bytes, runs);
	printf("| to | ms | baseline: write(2) of the same bytes, ms | ratio "
	       "|\n|---|---|---|---|\n");
	printf("| /dev/null, right after 1.5 M events were logged (the cut first drains and "
	       "compresses them) | %.2f | | |\n",
	       median(wn, runs));
	printf("| a file (page cache, no fsync), nothing pending: the window alone | %.2f | %.2f | "
	       "%.2f |\n\n",
	       median(wf, runs), mw, median(wf, runs) / mw);

	/* 3 */
	long kst, kfl;
	long long dst, dfl;
	rss(STREAM, &kst, &dst);
	rss(FLIGHT, &kfl, &dfl);
	printf("3. two threads logging at full rate for 2 s: retained and resident memory\n");
	printf("| case | retained (dump) bytes | max bytes | RSS high-water KiB | baseline: "
	       "streaming KiB | ratio |\n|---|---|---|---|---|---|\n");
	printf("| flight recorder | %lld | %u | %ld | %ld | %.2f |\n", dfl, WINDOW, kfl, kst,
	       kst ? (double)kfl / (double)kst : 0.0);
	printf("\ntargets: flight/streaming ratio <= 1.0 (noise aside); write_fd <= 10 ms; "
	       "retained <= max bytes\n");
	return 0;
}
