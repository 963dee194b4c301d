/* A program whose threads wait for known causes, for test_waits.c: run
 * through `ctrace run` (unmodified) or linked with libctrace-wrap.a. It
 * writes what the trace should show (tids, addresses) to the file argv[2]
 * as "key value" lines. Usage: waits_prog MODE FACTS_FILE. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static FILE *facts;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int held;
static atomic_long holder_tid;

static void fact(const char *k, uint64_t v)
{
	fprintf(facts, "%s %llu\n", k, (unsigned long long)v);
}

static void ms_sleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

NOINLINE static void contended_lock_site(void)
{
	pthread_mutex_lock(&mu);
	__asm__ volatile("");
}

/* The waiter tries only once the holder has the lock. */
static void *waiter(void *arg)
{
	(void)arg;
	while (!atomic_load(&held))
		;
	contended_lock_site();
	pthread_mutex_unlock(&mu);
	return NULL;
}

NOINLINE static void fsync_site(int fd)
{
	fsync(fd);
	__asm__ volatile("");
}

static void run_holder(int with_fsync, const char *dir)
{
	pthread_t w;
	pthread_create(&w, NULL, waiter, NULL);
	pthread_mutex_lock(&mu);
	atomic_store(&holder_tid, gettid());
	atomic_store(&held, 1);
	ms_sleep(50); /* time for the waiter to block: it may only be late */
	if (with_fsync) {
		char path[4096];
		snprintf(path, sizeof path, "%s/fsync.dat", dir);
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
		static char block[65536];
		write(fd, block, sizeof block);
		fsync_site(fd);
		close(fd);
		unlink(path);
	}
	pthread_mutex_unlock(&mu);
	pthread_join(w, NULL);
	fact("holder_tid", (uint64_t)atomic_load(&holder_tid));
	fact("mutex", (uintptr_t)&mu);
}

static int sv[2];
static void *late_peer(void *arg)
{
	(void)arg;
	char b[8];
	recv(sv[1], b, sizeof b, 0);
	ms_sleep(100);
	send(sv[1], "pong", 4, 0);
	return NULL;
}

NOINLINE static ssize_t recv_site(int fd, char *b, size_t n)
{
	ssize_t r = recv(fd, b, n, 0);
	__asm__ volatile("");
	return r;
}

static void run_net(void)
{
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_t p;
	pthread_create(&p, NULL, late_peer, NULL);
	send(sv[0], "ping", 4, 0);
	char b[8];
	recv_site(sv[0], b, sizeof b);
	pthread_join(p, NULL);
	char c;
	if (read(1000, &c, 1) != -1) /* EBADF: wait.end carries -errno */
		abort();
	fact("fd", (uint64_t)sv[0]);
	fact("delay_ns", 100000000);
}

static void run_sleep(void)
{
	for (int i = 0; i < 4; i++) {
		usleep(10000);
		ms_sleep(15);
	}
	fact("slept_ns", 100000000);
	fact("sleeps", 8);
}

/* A pool idling on a condition variable: the work comes slowly, nobody
 * holds the mutex for long. */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int queue, quit;
static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!queue && !quit)
			pthread_cond_wait(&cv, &mu);
		if (queue)
			queue--;
		else
			break;
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void run_condvar(void)
{
	pthread_t w[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	for (int i = 0; i < 4; i++) {
		ms_sleep(20);
		pthread_mutex_lock(&mu);
		queue++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
	ms_sleep(20);
	pthread_mutex_lock(&mu);
	quit = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	fact("mutex", (uintptr_t)&mu);
	fact("cond", (uintptr_t)&cv);
}

/* The child does traced calls of its own; the parent's trace must stay
 * whole, with the parent's sleep after the fork in it. */
static void run_fork(void)
{
	usleep(1000);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 200; i++) {
			usleep(100);
			write(1, "", 0);
		}
		exit(0);
	}
	waitpid(pid, NULL, 0);
	usleep(30000);
	fact("after_fork_sleep_ns", 30000000);
}

int main(int argc, char **argv)
{
	if (argc != 3 || !(facts = fopen(argv[2], "w"))) {
		fprintf(stderr, "usage: waits_prog mutex|fsync|net|sleep|condvar|fork FACTS\n");
		return 2;
	}
	setvbuf(facts, NULL, _IOLBF, 0);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", argv[2]);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	const char *m = argv[1];
	if (!strcmp(m, "mutex"))
		run_holder(0, dir);
	else if (!strcmp(m, "fsync"))
		run_holder(1, dir);
	else if (!strcmp(m, "net"))
		run_net();
	else if (!strcmp(m, "sleep"))
		run_sleep();
	else if (!strcmp(m, "condvar"))
		run_condvar();
	else if (!strcmp(m, "fork"))
		run_fork();
	else
		return 2;
	fclose(facts);
	return 0;
}
