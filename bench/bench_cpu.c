/* Overhead of CPU sampling.
 *
 * 1. Throughput: a CPU-bound loop's CPU time for a fixed amount of work
 *    under a capture with sampling at 100 Hz and 1 kHz, beside the same
 *    loop under a capture without sampling, in the same run (the runs of
 *    the three interleaved; medians). The loop runs 10 frames deep, so each
 *    sample walks a realistic stack. Times are the working thread's CPU
 *    time (user + system: signal delivery and the handler are in it).
 * 2. The cost of one sample, which the ratio above cannot resolve on a
 *    shared VM (its noise is larger than the overhead): the thread sends
 *    itself signals that the handler takes for samples (SI_TIMER and the
 *    timers' cookie, through rt_tgsigqueueinfo), at the same depth, beside
 *    the same signals to an empty handler: delivery + our handler + return,
 *    and our handler alone. A timer's signal costs that plus the timer's
 *    expiry at the tick.
 *
 *   bench_cpu [-n WORK_UNITS] [-r RUNS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "record/src_cpu.h"

static long units = 400; /* one unit: 1e6 iterations of the loop */
static int runs = 7;
#define SIGNALS 50000 /* per run of part 2 */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum mode { LOOP, SELF_SAMPLE, SELF_EMPTY };

struct job {
	enum mode mode;
	uint64_t cpu_ns, signals;
};

static void empty_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
}

__attribute__((noinline)) static uint64_t work(struct job *j)
{
	uint64_t x = 1;
	if (j->mode == LOOP) {
		for (long u = 0; u < units; u++)
			for (int i = 0; i < 1000000; i++) {
				x = x * 6364136223846793005ull + (uint64_t)i;
				__asm__ volatile("" : "+r"(x));
			}
		return x;
	}
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = j->mode == SELF_SAMPLE ? SIGPROF : SIGUSR1;
	si.si_code = SI_TIMER;
	si.si_value.sival_ptr = cpu_sample_cookie();
	pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
	for (int i = 0; i < SIGNALS; i++)
		syscall(SYS_rt_tgsigqueueinfo, pid, tid, si.si_signo, &si);
	return x;
}

__attribute__((noinline)) static uint64_t at_depth(int d, struct job *j)
{
	uint64_t r = d <= 1 ? work(j) : at_depth(d - 1, j);
	__asm__ volatile("" : "+r"(r)); /* not a tail call: keep the frames */
	return r;
}

static void *run_job(void *arg)
{
	struct job *j = arg;
	CT_REGION_BEGIN("bench"); /* registers: the sampling timer starts */
	uint64_t s0 = cpu_samples_taken();
	uint64_t t0 = thread_cpu_ns();
	at_depth(8, j);
	j->cpu_ns = thread_cpu_ns() - t0;
	j->signals = cpu_samples_taken() - s0;
	CT_REGION_END();
	return NULL;
}

static struct job one_run(unsigned hz, enum mode mode)
{
	struct ct_config c;
	ct_config_init(&c);
	c.path = "/dev/null";
	c.cpu_hz = hz;
	c.sched = CT_SCHED_OFF; /* sampling alone */
	c.faults = 0;
	c.cgroup = 0;
	if (ct_start(&c) != 0) {
		fprintf(stderr, "bench_cpu: cannot start: %s\n", ct_last_error());
		exit(1);
	}
	struct job j = {mode, 0, 0};
	pthread_t t;
	if (pthread_create(&t, NULL, run_job, &j) != 0) {
		fprintf(stderr, "bench_cpu: pthread_create failed\n");
		exit(1);
	}
	pthread_join(t, NULL);
	ct_stop();
	return j;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_u64);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n' && atol(optarg) > 0)
			units = atol(optarg);
		else if (opt == 'r' && atoi(optarg) > 0)
			runs = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench_cpu [-n WORK_UNITS] [-r RUNS]\n");
			return 2;
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = empty_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	static const unsigned rates[] = {0, 100, 1000};
	enum { NR = sizeof rates / sizeof rates[0] };
	uint64_t *cpu[NR], *sig[NR], *self_sample, *self_empty, *self_taken;
	for (int k = 0; k < NR; k++) {
		cpu[k] = calloc((size_t)runs, sizeof(uint64_t));
		sig[k] = calloc((size_t)runs, sizeof(uint64_t));
	}
	self_sample = calloc((size_t)runs, sizeof(uint64_t));
	self_empty = calloc((size_t)runs, sizeof(uint64_t));
	self_taken = calloc((size_t)runs, sizeof(uint64_t));
	one_run(0, LOOP); /* warm up: page in, first stack-table insert */
	for (int r = 0; r < runs; r++) {
		for (int k = 0; k < NR; k++) {
			struct job j = one_run(rates[k], LOOP);
			cpu[k][r] = j.cpu_ns;
			sig[k][r] = j.signals;
		}
		/* sampling asked, so that the handler is installed; its own timer
		 * adds a few samples to the 20000 */
		struct job j = one_run(1000, SELF_SAMPLE);
		self_sample[r] = j.cpu_ns;
		self_taken[r] = j.signals;
		self_empty[r] = one_run(1000, SELF_EMPTY).cpu_ns;
	}
	uint64_t base = median(cpu[0], runs);
	printf("CPU sampling overhead (thread CPU time, median of %d runs)\n\n", runs);
	printf("%ld M iterations of a CPU-bound loop at stack depth 10:\n\n", units);
	printf("| sampling | CPU ms | baseline ms (no sampling) | ratio | signals/s of CPU |\n"
	       "|---|---|---|---|---|\n");
	for (int k = 1; k < NR; k++) {
		uint64_t m = median(cpu[k], runs);
		uint64_t s = median(sig[k], runs);
		printf("| %u Hz | %.1f | %.1f | %.4f | %.0f |\n", rates[k], (double)m / 1e6,
		       (double)base / 1e6, (double)m / (double)base, (double)s / ((double)m / 1e9));
	}
	double per = (double)median(self_sample, runs) / SIGNALS;
	double empty = (double)median(self_empty, runs) / SIGNALS;
	printf("\nOne sample, from %d signals the thread sends itself at stack depth 10 "
	       "(%llu taken as samples in the median run):\n\n",
	       SIGNALS, (unsigned long long)median(self_taken, runs));
	printf("| per signal | us | baseline: empty handler, us | ratio | handler alone, us |\n"
	       "|---|---|---|---|---|\n");
	printf("| send + deliver + sample + return | %.2f | %.2f | %.2f | %.2f |\n", per / 1e3,
	       empty / 1e3, per / empty, (per - empty) / 1e3);
	for (int k = 1; k < NR; k++) {
		uint64_t m = median(cpu[k], runs);
		double per_s = (double)median(sig[k], runs) / ((double)m / 1e9);
		printf("\nAt %u Hz (%.0f signals/s of CPU): %.3f%% of CPU time in samples, "
		       "beside the tick's own timer work\n",
		       rates[k], per_s, per * per_s / 1e9 * 100);
	}
	for (int k = 0; k < NR; k++) {
		free(cpu[k]);
		free(sig[k]);
	}
	free(self_sample);
	free(self_empty);
	free(self_taken);
	return 0;
}
