/* Run by test_run_flight.sh under `ctrace run --flight` and, linked with the
 * wrappers, with CTRACE_FLIGHT: a program that knows nothing of ctrace. Two
 * threads contend for a mutex, then the program asks for a dump with the
 * dump signal ("self": raises it; "wait": prints "ready" and lets the test
 * send it) and waits until a dump of its own is in DIR, or 10 s; "none"
 * ends at once.
 *
 *   flight_prog DIR self|wait|none [SIGNAL-NUMBER]   exit 0: a dump appeared */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	struct timespec ts = {0, 20000000};
	nanosleep(&ts, NULL);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* A dump of this process: <program>-<pid>-...ctrace */
static int has_dump(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char mid[32];
	snprintf(mid, sizeof mid, "-%ld-", (long)getpid());
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		found = n > 7 && !strcmp(e->d_name + n - 7, ".ctrace") && strstr(e->d_name, mid);
	}
	closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int sig = argc > 3 ? atoi(argv[3]) : SIGUSR2;
	pthread_t th;
	pthread_mutex_lock(&mu);
	if (pthread_create(&th, NULL, waiter, NULL) != 0)
		return 2;
	struct timespec ts = {0, 5000000};
	nanosleep(&ts, NULL);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	if (!strcmp(argv[2], "none"))
		return 0;
	if (!strcmp(argv[2], "self")) {
		raise(sig);
	} else {
		printf("ready\n");
		fflush(stdout);
	}
	/* The writer thread writes the dump within a round (20 ms): wait for
	 * the file, not for a guessed time. */
	for (int i = 0; i < 1000; i++) {
		if (has_dump(argv[1]))
			return 0;
		struct timespec poll = {0, 10000000};
		nanosleep(&poll, NULL);
	}
	fprintf(stderr, "flight_prog: no dump in %s after 10 s\n", argv[1]);
	return 1;
}
