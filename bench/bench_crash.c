/* Crash dumps (issue 4): how long a crash holds the process up, and what
 * the dump holds.
 *
 * A child starts a capture with a 10 MiB flight recorder and a dump
 * directory, logs 300,000 messages (a window of about 3.4 MiB), lets the
 * writer catch up (ct_flush), logs a little more, notes the time and
 * dereferences a bad pointer; the parent times the crash to the child's
 * end (waitpid). Four ways, runs interleaved, medians:
 *   no crash dumps        the baseline: the same crash, dump_on_crash 0
 *   writer's, cold        dump_on_crash 1, the writer thread writes it, and
 *                         symbolizes its first stack (the crash's: libdw
 *                         reads the program's and libc's debug information)
 *   writer's dump         the same, with a stack recorded before (a wait,
 *                         as most programs have): the usual case
 *   handler's dump        dump_on_crash 1, the writer stuck in its stream's
 *                         sink: the handler waits its 2 s, then writes the
 *                         window itself
 * and the size of each dump beside the window's cap. The dumps are written
 * with fsync into a directory under /tmp.
 *
 *   bench_crash [-r RUNS]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "ctrace_events.h"
#include "bench_stats.h"

static int runs = 5;
#define WINDOW (10u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum mode { NODUMP, WRITER_COLD, WRITER, HANDLER, NMODES };
static const char *const mode_name[] = {"no crash dumps", "writer's, cold", "writer's dump",
					"handler's dump"};

/* A stream sink that stalls for good once asked to (a hung disk or
 * socket): the writer blocks in it. */
static _Atomic int sink_stall, sink_stuck;

static int stalling_sink(void *arg, const void *buf, size_t len)
{
	(void)arg, (void)buf, (void)len;
	if (atomic_load(&sink_stall)) {
		atomic_store(&sink_stuck, 1);
		for (;;)
			pause();
	}
	return 0;
}

static void log_some(uint64_t from, uint64_t n)
{
	uint64_t x = from * 0x9e3779b97f4a7c15ull + 1;
	for (uint64_t i = from; i < from + n; i++) {
		char msg[96];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int len = snprintf(msg, sizeof msg, "step %llu %016llx", (unsigned long long)i,
				   (unsigned long long)x);
		ct_log_n(CT_NAME("work"), msg, (size_t)len);
	}
}

/* The child: its crash time goes to fd t. */
static void child(enum mode m, const char *dir, int t)
{
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);
	signal(SIGSEGV, SIG_DFL);
	alarm(60);
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = WINDOW;
	c.dump_dir = dir;
	c.dump_on_crash = m != NODUMP;
	if (m == HANDLER)
		c.write = stalling_sink;
	if (ct_start(&c) != 0)
		_exit(2);
	/* a window of about 3.4 MiB (12 MiB of logs), written: the writer
	 * has caught up with the burst, then a little more */
	log_some(0, 300000);
	if (m != WRITER_COLD) {
		ct_wait_begin(CT_WAIT_SLEEP, 0, 0); /* a stack through main and libc */
		ct_wait_end(0);
	}
	if (ct_flush() != 0)
		_exit(4);
	log_some(300000, 1000);
	if (m == HANDLER) {
		atomic_store(&sink_stall, 1);
		for (uint64_t s = 300000; !atomic_load(&sink_stuck); s += 100) {
			log_some(s, 100);
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	uint64_t at = now_ns();
	if (write(t, &at, sizeof at) != (ssize_t)sizeof at)
		_exit(5);
	volatile int *volatile bad = (volatile int *)(uintptr_t)0x10;
	*bad = 1;
	_exit(6);
}

/* One crash: its latency in ms and the dump's size (0 when none). */
static int one(enum mode m, const char *dir, double *ms, double *bytes)
{
	int t[2];
	if (pipe(t) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(t[0]);
		child(m, dir, t[1]);
	}
	close(t[1]);
	uint64_t at = 0;
	ssize_t got = read(t[0], &at, sizeof at);
	close(t[0]);
	int st;
	waitpid(pid, &st, 0);
	uint64_t end = now_ns();
	if (got != (ssize_t)sizeof at || !WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV) {
		fprintf(stderr,
			"bench_crash: %s: the child did not crash as planned (status 0x%x)\n",
			mode_name[m], st);
		return -1;
	}
	*ms = (double)(end - at) / 1e6;
	*bytes = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char p[600];
		struct stat sb;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.' && stat(p, &sb) == 0) {
			*bytes = (double)sb.st_size;
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			runs = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: bench_crash [-r RUNS]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > 100) {
		fprintf(stderr, "bench_crash: runs must be 1-100\n");
		return 2;
	}
	char dir[] = "/tmp/bench-crash-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench_crash: mkdtemp");
		return 1;
	}
	double ms[NMODES][100], sz[NMODES][100];
	for (int r = 0; r < runs; r++)
		for (int m = 0; m < NMODES; m++)
			if (one((enum mode)m, dir, &ms[m][r], &sz[m][r]) != 0) {
				rmdir(dir);
				return 1;
			}
	rmdir(dir);
	double base = bench_median(ms[NODUMP], runs);
	printf("Crash to process end, %d runs each, medians (a 10 MiB flight recorder holding "
	       "3.4 MiB)\n\n",
	       runs);
	printf("%-16s %12s %12s %8s %12s\n", "", "crash->end", "baseline", "ratio", "dump bytes");
	for (int m = 0; m < NMODES; m++) {
		double v = bench_median(ms[m], runs), b = bench_median(sz[m], runs);
		char bs[32];
		snprintf(bs, sizeof bs, b ? "%.2f MiB" : "-", b / (1 << 20));
		printf("%-16s %9.1f ms %9.1f ms %7.1fx %12s\n", mode_name[m], v, base, v / base,
		       bs);
	}
	printf("\n(baseline: the same crash without crash dumps; dump bytes beside the "
	       "window's cap of %.0f MiB)\n",
	       (double)WINDOW / (1 << 20));
	return 0;
}
