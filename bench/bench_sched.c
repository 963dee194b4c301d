/* Cost per context switch recorded: two threads pinned to one CPU ping-pong
 * a byte through two pipes, so every round trip is two context switches
 * (each thread blocks once and is woken once). Timed per round trip (wall
 * clock: the cost is in the kernel's switch path and in blocking), with a
 * capture running and its scheduler source off (the baseline), perf
 * context-switch records (an event per thread, and one per CPU where this
 * process may open those: it says which it got), and schedstat sampling,
 * in the same run; the median
 * of the runs. Each traced run is read back to say how many switches the
 * trace holds and how many records were lost. Without a capture, the
 * kernel's part: the source's perf event opened by each thread and never
 * read, the same event without switch records, and opened disabled.
 *
 *   bench_sched [-n ROUND_TRIPS] [-r RUNS]
 */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "bench_stats.h"

static long trips = 100000;
static int runs = 5;
static char trace_path[] = "/tmp/bench_sched-XXXXXX";

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The kernel's share: the threads open the same perf event as the sched
 * source (context switches, no capture) with a ring nobody reads (1); the
 * same event without switch records: what a perf context alone costs (2);
 * the event opened disabled (3). */
static int raw_perf;

static void open_raw_perf(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_DUMMY;
	a.context_switch = raw_perf != 2;
	a.disabled = raw_perf == 3;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.sample_id_all = 1;
	a.sample_type = PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 || mmap(NULL, 9 * (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0) == MAP_FAILED) {
		perror("bench_sched: perf_event_open");
		exit(1);
	}
	/* left open and mapped: the thread exits right after the run */
}

struct side {
	int in, out, first;
	cpu_set_t *cpu;
	pthread_barrier_t *go;
};

static void *pinger(void *arg)
{
	struct side *s = arg;
	sched_setaffinity(0, sizeof *s->cpu, s->cpu);
	/* an event registers the thread, which starts its sources */
	ct_region_begin("pingpong");
	if (raw_perf)
		open_raw_perf();
	pthread_barrier_wait(s->go);
	char c = 'x';
	for (long i = 0; i < trips; i++) {
		if ((s->first || i > 0) && write(s->out, &c, 1) != 1)
			abort();
		if (read(s->in, &c, 1) != 1)
			abort();
	}
	if (!s->first && write(s->out, &c, 1) != 1)
		abort();
	ct_region_end();
	return NULL;
}

/* The kernel's part with events per CPU: the perf-cpu source's events, for
 * every task on each CPU, opened here (not by the threads) and never read;
 * what any task switching on those CPUs pays while such a capture runs.
 * Returns how many were opened, 0 when refused. */
static int open_cpu_events(int *fds, int max)
{
	int n = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	for (long c = 0; c < ncpu && n < max; c++) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof a);
		a.size = sizeof a;
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_DUMMY;
		a.context_switch = 1;
		a.exclude_kernel = 1;
		a.exclude_hv = 1;
		a.use_clockid = 1;
		a.clockid = CLOCK_MONOTONIC;
		a.sample_id_all = 1;
		a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
		int fd =
			(int)syscall(SYS_perf_event_open, &a, -1, (int)c, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0)
			continue; /* offline, or refused */
		if (mmap(NULL, 129 * (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0) == MAP_FAILED) {
			close(fd);
			continue;
		}
		fds[n++] = fd;
	}
	return n;
}

/* One run: ns per round trip. */
static double run_once(void)
{
	int a[2], b[2];
	if (pipe(a) || pipe(b))
		abort();
	cpu_set_t one, mine;
	CPU_ZERO(&one);
	sched_getaffinity(0, sizeof mine, &mine);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &mine)) {
			CPU_SET(c, &one);
			break;
		}
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 3);
	struct side s1 = {a[0], b[1], 1, &one, &go}, s2 = {b[0], a[1], 0, &one, &go};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, pinger, &s1);
	pthread_create(&t2, NULL, pinger, &s2);
	pthread_barrier_wait(&go);
	uint64_t t0 = now_ns();
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	uint64_t t = now_ns() - t0;
	pthread_barrier_destroy(&go);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	return (double)t / (double)trips;
}

struct result {
	double ns; /* per round trip, median */
	uint64_t outs, samples, lost;
	char source[32], scope[16];
};

static void read_back(struct result *res)
{
	ct_reader *r = NULL;
	if (ct_reader_open(trace_path, &r) != 0) {
		fprintf(stderr, "bench_sched: cannot read %s\n", trace_path);
		exit(1);
	}
	const struct ct_trace_info *info = ct_reader_info(r);
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2)
		if (!strcmp(info->meta[i], "sched.source"))
			snprintf(res->source, sizeof res->source, "%s", info->meta[i + 1]);
		else if (!strcmp(info->meta[i], "sched.scope"))
			snprintf(res->scope, sizeof res->scope, "%s", info->meta[i + 1]);
	const struct ct_generation *g;
	struct ct_event ev;
	int rc;
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		for (uint32_t i = 0; i < g->nloss; i++)
			res->lost += g->loss[i].count;
		while ((rc = ct_reader_next_in_generation(r, &ev)) == 1) {
			if (ev.type == CT_EV_SCHED_OUT)
				res->outs++;
			else if (ev.type == CT_EV_SCHED_SAMPLE)
				res->samples++;
			else if (ev.type == CT_EV_LOSS)
				res->lost += ev.args[0];
		}
		if (rc)
			break;
	}
	if (rc) {
		fprintf(stderr, "bench_sched: %s\n", ct_reader_error(r));
		exit(1);
	}
	ct_reader_close(r);
}

/* sched < 0: no capture at all. */
static void measure(int sched, struct result *res)
{
	double v[64];
	memset(res, 0, sizeof *res);
	for (int i = 0; i < runs; i++) {
		if (sched >= 0) {
			struct ct_config c;
			ct_config_init(&c);
			c.path = trace_path;
			c.sched = sched;
			c.faults = 0;
			c.cgroup = 0;
			if (ct_start(&c) != 0) {
				fprintf(stderr, "bench_sched: %s\n", ct_last_error());
				exit(1);
			}
		}
		v[i] = run_once();
		if (sched >= 0) {
			ct_stop();
			if (i == runs - 1) /* the last run's trace */
				read_back(res);
		}
	}
	qsort(v, (size_t)runs, sizeof v[0], bench_cmp_double);
	res->ns = v[runs / 2];
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			trips = atol(optarg);
		else if (opt == 'r')
			runs = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench_sched [-n ROUND_TRIPS] [-r RUNS]\n");
			return 2;
		}
	}
	if (trips <= 0 || runs <= 0 || runs > 64) {
		fprintf(stderr, "bench_sched: bad -n or -r\n");
		return 2;
	}
	int fd = mkstemp(trace_path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);

	struct result plain, off, perf, pcpu, ss, kern, kctx, kdis, kcpu;
	measure(-1, &plain);
	raw_perf = 1;
	measure(-1, &kern);
	raw_perf = 2;
	measure(-1, &kctx);
	raw_perf = 3;
	measure(-1, &kdis);
	raw_perf = 0;
	int cfds[1024], ncfd = open_cpu_events(cfds, 1024);
	if (ncfd)
		measure(-1, &kcpu);
	for (int i = 0; i < ncfd; i++)
		close(cfds[i]); /* the rings go with the process */
	measure(CT_SCHED_OFF, &off);
	measure(CT_SCHED_PERF, &perf);
	measure(CT_SCHED_PERF_CPU, &pcpu);
	measure(CT_SCHED_SCHEDSTAT, &ss);
	unlink(trace_path);

	printf("pipe ping-pong, 2 threads on one CPU, %ld round trips (2 switches each), "
	       "median of %d runs\n\n",
	       trips, runs);
	printf("%-34s %12s %8s %14s  %s\n", "case", "round trip", "ratio", "per switch",
	       "in the trace");
	printf("%-34s %9.2f us %8s %14s\n", "no capture", plain.ns / 1000, "", "");
	printf("%-34s %9.2f us %8.2f %+11.0f ns  (the kernel's part)\n",
	       "no capture, perf events unread", kern.ns / 1000, kern.ns / plain.ns,
	       (kern.ns - plain.ns) / 2);
	printf("%-34s %9.2f us %8.2f %+11.0f ns  (a perf context alone)\n",
	       "  the same, no switch records", kctx.ns / 1000, kctx.ns / plain.ns,
	       (kctx.ns - plain.ns) / 2);
	printf("%-34s %9.2f us %8.2f %+11.0f ns\n", "  the same, opened disabled", kdis.ns / 1000,
	       kdis.ns / plain.ns, (kdis.ns - plain.ns) / 2);
	if (ncfd)
		printf("%-34s %9.2f us %8.2f %+11.0f ns  (any task's part with perf-cpu)\n",
		       "no capture, CPU-wide events unread", kcpu.ns / 1000, kcpu.ns / plain.ns,
		       (kcpu.ns - plain.ns) / 2);
	else
		printf("%-34s %12s\n", "no capture, CPU-wide events", "refused here");
	printf("%-34s %9.2f us %8s %14s  (baseline)\n", "capture, sched off", off.ns / 1000, "1.00",
	       "");
	struct {
		const char *name;
		const struct result *r;
	} rows[] = {{"capture, sched perf", &perf},
		    {"capture, sched perf-cpu", &pcpu},
		    {"capture, sched schedstat", &ss}};
	for (int i = 0; i < 3; i++) {
		const struct result *r = rows[i].r;
		char what[128];
		if (!strcmp(r->source, "perf"))
			snprintf(
				what, sizeof what, "%llu switch-outs, %llu records lost (scope %s)",
				(unsigned long long)r->outs, (unsigned long long)r->lost, r->scope);
		else
			snprintf(what, sizeof what, "%llu samples (source %s)",
				 (unsigned long long)r->samples, r->source);
		printf("%-34s %9.2f us %8.2f %+11.0f ns  %s\n", rows[i].name, r->ns / 1000,
		       r->ns / off.ns, (r->ns - off.ns) / 2, what);
	}
	return 0;
}
