/* A mutex-heavy program for bench_run.sh: THREADS threads each take one of
 * four shared mutexes N times around a short critical section, with a little
 * work outside it, so that most locks are uncontended and some wait. Prints
 * a checksum (the sum of the counters) so that every run is checked.
 *
 *   mutex_heavy [THREADS [N]]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NLOCKS 4

/* one cache line each: the contention is on the locks, not false sharing */
static struct slot {
	pthread_mutex_t m;
	unsigned long count;
} __attribute__((aligned(64))) slots[NLOCKS];
static long n = 2000000;

static void *worker(void *arg)
{
	unsigned x = (unsigned)(uintptr_t)arg * 2654435761u + 1;
	for (long i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u; /* the work outside the lock */
		struct slot *s = &slots[(x >> 16) % NLOCKS];
		pthread_mutex_lock(&s->m);
		s->count++;
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
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_init(&slots[i].m, NULL);
	pthread_t th[64];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i)) {
			perror("mutex_heavy: pthread_create");
			return 1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	unsigned long sum = 0;
	for (int i = 0; i < NLOCKS; i++)
		sum += slots[i].count;
	printf("%lu\n", sum);
	return sum == (unsigned long)threads * (unsigned long)n ? 0 : 1;
}
