/* Run by test_http_run.sh under `ctrace run --http`: a program that knows
 * nothing of ctrace, two threads taking turns on a mutex (waits to see in
 * a capture) until SECONDS have passed.
 *
 *   http_prog SECONDS */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int done;

static void *worker(void *arg)
{
	(void)arg;
	while (!done) {
		pthread_mutex_lock(&mu);
		usleep(2000);
		pthread_mutex_unlock(&mu);
		usleep(500);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 5;
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	struct timespec ts = {secs, 0};
	while (nanosleep(&ts, &ts) != 0)
		;
	done = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return 0;
}
