/* A mutex-heavy program for bench_run.sh: THREADS threads each take their
 * own mutex N times around a short critical section (uncontended, as per-object
 * locks mostly are), and every 64th time a mutex shared by all, held a little
 * longer, so that some locks wait. Prints a checksum (the sum of the
 * counters) so that every run is checked.
 *
 *   mutex_heavy [THREADS [N]]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* one cache line each: the contention is on the shared lock only */
static struct slot {
	pthread_mutex_t m;
	unsigned long count;
} __attribute__((aligned(64))) own[64], shared;
static long n = 2000000;

static void *worker(void *arg)
{
	struct slot *mine = &own[(uintptr_t)arg];
	for (long i = 0; i < n; i++) {
		struct slot *s = i % 64 == 63 ? &shared : mine;
		pthread_mutex_lock(&s->m);
		s->count++;
		if (s == &shared)
			for (volatile int k = 0; k < 50; k++) /* a longer hold */
				;
		pthread_mutex_unlock(&s->m);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 2;
	if (argc > 2)
		n = atol(argv[2]);
	if (threads < 1 || threads > 64 || n < 1) {
		fprintf(stderr, "usage: mutex_heavy [THREADS [N]]\n");
		return 2;
	}
	for (int i = 0; i < threads; i++)
		pthread_mutex_init(&own[i].m, NULL);
	pthread_mutex_init(&shared.m, NULL);
	pthread_t th[64];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i)) {
			perror("mutex_heavy: pthread_create");
			return 1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	unsigned long sum = shared.count;
	for (int i = 0; i < threads; i++)
		sum += own[i].count;
	printf("%lu\n", sum);
	return sum == (unsigned long)threads * (unsigned long)n ? 0 : 1;
}
