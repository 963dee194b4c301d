/* Run by test_run_threads.sh under `ctrace run` and linked with the
 * wrappers: a thread that makes no traced call spins on the CPU (only
 * the capture's own sources can see it, if pthread_create registered it),
 * then the process ends with _exit, which runs no exit handlers. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

static __attribute__((noinline)) void *silent_spinner(void *arg)
{
	(void)arg;
	dprintf(1, "spinner_tid=%ld\n", (long)gettid());
	uint64_t end = cpu_ns() + 100000000u; /* 100 ms of CPU */
	while (cpu_ns() < end)
		for (int i = 0; i < 1000; i++)
			sink += (uint64_t)i * 2654435761u;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "_exit";
	pthread_t th;
	pthread_setname_np(pthread_self(), "tp-main");
	if (pthread_create(&th, NULL, silent_spinner, NULL) != 0)
		return 1;
	pthread_join(th, NULL);
	if (!strcmp(mode, "_Exit"))
		_Exit(3);
	_exit(3);
}
