/* Cost of recording one event, beside the floor measured in the same run: a
 * bare TSC read plus a 16-byte thread-local store. Each case runs on 1 and 2
 * threads, without and with a 10-frame stack, while a real capture streams to
 * /dev/null through the writer thread (scan, compression, write included on
 * the writer's side). Times are the recording thread's CPU time; beside them,
 * the writer thread's CPU time per event of the timed pass (its share of
 * each event, paid on another thread). Prints a table and checks that
 * nothing was lost, since a dropped event is cheaper than a recorded one.
 *
 *   bench_events [-n EVENTS_PER_RUN] [-r RUNS]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "bench_stats.h"

static long nevents = 2000000; /* per thread per run */
/* at_depth(9) gives 10 recorded frames: body, 7 at_depth frames, run_job,
 * and glibc's start_thread, where the frame-pointer chain ends */
#define STACK_DEPTH_ARG 9
static int runs = 7;

/* CPU time of the calling thread: the cost of recording on that thread,
 * not the time it lost to the writer or to other processes on 2 cores. */
static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time (ns) of the thread named ctrace-writer, from its schedstat; 0
 * if there is none. */
static uint64_t writer_cpu_ns(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	uint64_t v = 0;
	for (struct dirent *e; (e = readdir(d));) {
		char path[300], name[32] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		int is_writer = fgets(name, sizeof name, f) && !strncmp(name, "ctrace-writer", 13);
		fclose(f);
		if (!is_writer)
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
		if ((f = fopen(path, "r"))) {
			unsigned long long ns;
			if (fscanf(f, "%llu", &ns) == 1)
				v = ns;
			fclose(f);
		}
	}
	closedir(d);
	return v;
}

/* The writer's CPU time when the timed pass starts (run_job's first). */
static uint64_t writer_t0;

static __thread struct {
	uint64_t a, b;
} slot __attribute__((tls_model("initial-exec")));

enum kind { FLOOR, OFF_REGION, REGION, LOG, TASK };
static const char *kind_name[] = {"floor: rdtsc + 16-byte TLS store",
				  "region begin/end, not tracing", "region begin/end",
				  "log (16-byte message)", "task begin/end"};

/* The body of one run; n events. Called at a chosen stack depth. */
__attribute__((noinline)) static void body(enum kind k, long n)
{
	switch (k) {
	case FLOOR:
		for (long i = 0; i < n; i++) {
			slot.a = __rdtsc();
			slot.b = (uint64_t)i;
			__asm__ volatile("" ::: "memory");
		}
		break;
	case OFF_REGION:
	case REGION:
		for (long i = 0; i < n; i += 2) {
			CT_REGION_BEGIN("bench");
			CT_REGION_END();
		}
		break;
	case LOG:
		for (long i = 0; i < n; i++)
			CT_LOG("bench", "sixteen bytes!!!");
		break;
	case TASK:
		for (long i = 0; i < n; i += 2)
			ct_task_end(CT_TASK_BEGIN("bench", 0));
		break;
	}
}

/* Recurse so that the events' stacks have `depth` frames of this program. */
__attribute__((noinline)) static void at_depth(int depth, enum kind k, long n)
{
	if (depth <= 2) {
		body(k, n);
		return;
	}
	at_depth(depth - 1, k, n);
	__asm__ volatile("" ::: "memory"); /* no tail call: keep the frame */
}

struct job {
	enum kind k;
	int depth;
	pthread_barrier_t *bar;
	int first;
	uint64_t ns;
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	/* Register the thread and touch as much buffer memory as the timed
	 * pass will: first-touch page faults are a one-time cost per chunk
	 * (chunks are reused), not a per-event one. */
	at_depth(j->depth, j->k, nevents);
	pthread_barrier_wait(j->bar);
	if (j->first) {
		ct_flush(); /* give the chunks back to the pool */
		writer_t0 = writer_cpu_ns();
	}
	pthread_barrier_wait(j->bar);
	uint64_t t0 = now_ns();
	at_depth(j->depth, j->k, nevents);
	j->ns = now_ns() - t0;
	return NULL;
}

/* Median over runs of the per-event cost, each run on `threads` threads;
 * the writer's CPU per event of the timed pass (median) in *writer_ns. */
static double measure(enum kind k, int threads, int depth, unsigned stacks, uint64_t *lost,
		      double *writer_ns)
{
	double r[64], wr[64];
	*lost = 0;
	for (int run = 0; run < runs; run++) {
		int tracing = k != FLOOR && k != OFF_REGION;
		if (tracing) {
			struct ct_config c;
			ct_config_init(&c);
			c.path = "/dev/null";
			c.buffer_bytes = 1024u << 20; /* holds a run: measure recording, not loss */
			c.stack_events = stacks;
			if (ct_start(&c) != 0) {
				fprintf(stderr, "bench_events: %s\n", ct_last_error());
				exit(1);
			}
		}
		pthread_barrier_t bar;
		pthread_barrier_init(&bar, NULL, (unsigned)threads);
		pthread_t th[2];
		struct job jobs[2];
		for (int i = 0; i < threads; i++) {
			jobs[i] = (struct job){k, depth, &bar, i == 0, 0};
			pthread_create(&th[i], NULL, run_job, &jobs[i]);
		}
		uint64_t worst = 0;
		for (int i = 0; i < threads; i++) {
			pthread_join(th[i], NULL);
			if (jobs[i].ns > worst)
				worst = jobs[i].ns;
		}
		pthread_barrier_destroy(&bar);
		r[run] = (double)worst / (double)nevents;
		wr[run] = 0;
		if (tracing) {
			ct_flush(); /* everything written: the writer's share is in */
			wr[run] = (double)(writer_cpu_ns() - writer_t0) / (double)nevents / threads;
			ct_stop();
			struct ct_stats s;
			ct_get_stats(&s);
			*lost += s.lost;
		}
	}
	qsort(r, (size_t)runs, sizeof r[0], bench_cmp_double);
	qsort(wr, (size_t)runs, sizeof wr[0], bench_cmp_double);
	*writer_ns = wr[runs / 2];
	return r[runs / 2];
}

static void *one_log_at_depth(void *arg)
{
	at_depth(*(int *)arg, LOG, 1);
	return NULL;
}

/* The depth of the stacks the "10" rows record, read back from a trace. */
static unsigned recorded_depth(int depth)
{
	char path[] = "/tmp/bench_events-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	close(fd);
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	c.stack_events = CT_STACK_ALL;
	c.stack_depth = 64;
	if (ct_start(&c) != 0)
		return 0;
	pthread_t th;
	pthread_create(&th, NULL, one_log_at_depth, &depth);
	pthread_join(th, NULL);
	ct_stop();
	unsigned n = 0;
	ct_reader *r;
	if (ct_reader_open(path, &r) == 0) {
		struct ct_event ev;
		while (ct_reader_next(r, &ev) == 1)
			if (ev.type == CT_EV_LOG && ev.stack)
				n = ev.stack->nframes;
		ct_reader_close(r);
	}
	unlink(path);
	return n;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			nevents = atol(optarg);
		else if (opt == 'r')
			runs = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench_events [-n EVENTS_PER_RUN] [-r RUNS]\n");
			return 2;
		}
	}
	if (nevents < 1000 || runs < 1 || runs > 64) {
		fprintf(stderr, "bench_events: bad -n or -r\n");
		return 2;
	}
	printf("ns per event (recording thread's CPU time), median of %d runs of %ld events per "
	       "thread\n",
	       runs, nevents);
	printf("the stack rows record %u frames per stack (read back from a trace)\n\n",
	       recorded_depth(STACK_DEPTH_ARG));
	printf("%-34s %7s %6s %9s %9s %8s %10s %s\n", "case", "threads", "stack", "ns/event",
	       "floor ns", "ratio", "writer ns", "lost");
	uint64_t lost;
	double wns;
	for (int threads = 1; threads <= 2; threads++) {
		double floor_ns = measure(FLOOR, threads, 2, 0, &lost, &wns);
		printf("%-34s %7d %6s %9.2f %9.2f %8.2f %10s\n", kind_name[FLOOR], threads, "-",
		       floor_ns, floor_ns, 1.0, "-");
		for (int k = OFF_REGION; k <= TASK; k++) {
			for (int st = 0; st <= 1; st++) {
				if (k == OFF_REGION && st)
					continue;
				unsigned mask = st ? CT_STACK_ALL : 0;
				double ns = measure((enum kind)k, threads, st ? STACK_DEPTH_ARG : 2,
						    mask, &lost, &wns);
				char w[32] = "-";
				if (k != OFF_REGION)
					snprintf(w, sizeof w, "%.2f", wns);
				printf("%-34s %7d %6s %9.2f %9.2f %8.2f %10s %llu\n", kind_name[k],
				       threads, st ? "10" : "-", ns, floor_ns, ns / floor_ns, w,
				       (unsigned long long)lost);
			}
		}
	}
	printf("\ntargets: region begin/end without stack <= 1.25x floor; with a 10-frame stack "
	       "<= 50 ns\n");
	printf("writer ns: the writer thread's CPU time per event recorded (drain, scan, "
	       "compress, write to /dev/null), paid on its own thread\n");
	return 0;
}
