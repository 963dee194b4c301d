/* More CPU-bound threads than CPUs, for test_profile_sched.sh: its sched and cpu
 * profiles: each thread works for a task of type "batch" inside a region
 * "crunch" and spins in burn_site() until it has used its share of CPU
 * time (measured on its own CPU clock, so the amount does not depend on
 * how the scheduler interleaves them). Traces itself into TRACE, with the
 * sources CTRACE_SCHED and CTRACE_CPU_HZ choose. Writes "cpu_ns N" (all
 * threads' CPU time in burn_site's loop) and "threads N" to FACTS.
 * Usage: cpu_prog THREADS MS_EACH TRACE FACTS. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ctrace.h"

static uint64_t ms_each;
static atomic_uint_fast64_t cpu_total;
static _Thread_local volatile uint64_t sink; /* keeps the loop */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static uint64_t burn_site(uint64_t ns)
{
	uint64_t start = thread_cpu_ns(), now = start, x = 1;
	while (now - start < ns) {
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005u + 1442695040888963407u;
		sink = x;
		now = thread_cpu_ns();
	}
	return now - start;
}

static void *worker(void *arg)
{
	(void)arg;
	ct_task t = CT_TASK_BEGIN("batch", 0);
	CT_REGION_BEGIN("crunch");
	uint64_t used = burn_site(ms_each * 1000000u);
	CT_REGION_END();
	ct_task_end(t);
	atomic_fetch_add(&cpu_total, used);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: cpu_prog THREADS MS_EACH TRACE FACTS\n");
		return 2;
	}
	int n = atoi(argv[1]);
	ms_each = strtoull(argv[2], NULL, 10);
	if (n < 1 || n > 256 || ms_each < 1) {
		fprintf(stderr, "cpu_prog: bad THREADS or MS_EACH\n");
		return 2;
	}
	struct ct_config c;
	ct_config_init(&c);
	int rc = ct_config_from_env(&c);
	c.path = argv[3];
	if (rc || (rc = ct_start(&c))) {
		fprintf(stderr, "cpu_prog: not tracing: %s\n", ct_last_error());
		return 3;
	}
	pthread_t th[256];
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			return 3;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (ct_stop() != 0)
		return 3;
	FILE *f = fopen(argv[4], "w");
	if (!f)
		return 3;
	fprintf(f, "cpu_ns %llu\nthreads %d\n", (unsigned long long)atomic_load(&cpu_total), n);
	return fclose(f) == 0 ? 0 : 3;
}
