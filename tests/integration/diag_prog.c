/* Incidents for test_diagnose_run.sh, one per mode, each inside one task whose
 * id goes to the FACTS file ("task N", with what else the test checks):
 *   lock   a "checkout" task waits for a mutex that thread "store-writer"
 *          holds across writes and fsyncs of a file (fsync_site)
 *   cpu    a "render" task spins in hot_function
 *   pool   three times as many CPU-bound "batch" tasks (threads) as CPUs
 *   net    a "quote" task (with a W3C trace context) waits in recv_site for a
 *          peer that answers late
 *   fault  an "index" task maps and touches fresh memory in region
 *          "build_index" (a minor page-fault storm)
 * Linked with libctrace-wrap.a and run through `ctrace run`. Contention is
 * made, not hoped for: the holder starts its I/O only once the kernel shows
 * the waiter blocked on the mutex. With DUMP_DIR, it stays until a flight
 * recorder's dump (a slow-task trigger: the writer sees the task's end a
 * round later) is in that directory. Usage: diag_prog MODE FACTS [DUMP_DIR]. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"

#define NOINLINE     __attribute__((noinline))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static FILE *facts;
static char dir[4096];

static void fact(const char *k, uint64_t v)
{
	fprintf(facts, "%s %llu\n", k, (unsigned long long)v);
}

static void die(const char *what)
{
	perror(what);
	exit(3);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static _Thread_local volatile uint64_t sink;

/* Spins until the thread has used `ns` of CPU time (its own clock: the
 * amount does not depend on how the scheduler interleaves threads). */
NOINLINE static void hot_function(uint64_t ns)
{
	uint64_t start = thread_cpu_ns(), x = 1;
	while (thread_cpu_ns() - start < ns) {
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005u + 1442695040888963407u;
		sink = x;
	}
	KEEP_FRAME();
}

/* ---- lock held across file I/O ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int held, waiter_tid;

/* Until the waiter (once published) sleeps in a futex call: read with raw
 * syscalls so that this polling is not traced. */
static void until_blocked(void)
{
	pid_t tid;
	while (!(tid = atomic_load(&waiter_tid)))
		sched_yield();
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	for (;;) {
		long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
		long n = fd < 0 ? -1 : syscall(SYS_read, fd, buf, sizeof buf - 1);
		if (fd >= 0)
			syscall(SYS_close, fd);
		buf[n > 0 ? n : 0] = 0;
		long nr = -1;
		if (n > 0 && sscanf(buf, "%ld", &nr) == 1 && nr == SYS_futex)
			return;
		sched_yield();
	}
}

NOINLINE static void fsync_site(int fd)
{
	fsync(fd);
	KEEP_FRAME();
}

static void *store_writer(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "store-writer");
	pthread_mutex_lock(&mu);
	fact("holder_tid", (uint64_t)gettid());
	atomic_store(&held, 1);
	until_blocked();
	char path[4200];
	snprintf(path, sizeof path, "%s/diag_store.dat", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0)
		die("diag_store.dat");
	static char block[1 << 16];
	/* many synced writes: the I/O outweighs the polling before it and,
	 * on a fast disk (eight took 2.5 ms on the second development VM,
	 * less than the holder then waited for a CPU under a parallel test
	 * run), the holder's time waiting for a CPU */
	for (int i = 0; i < 48; i++) {
		memset(block, i, sizeof block);
		if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
			die("write");
		fsync_site(fd);
	}
	close(fd);
	unlink(path);
	pthread_mutex_unlock(&mu);
	return NULL;
}

NOINLINE static void lock_site(void)
{
	pthread_mutex_lock(&mu);
	KEEP_FRAME();
}

static void run_lock(void)
{
	pthread_t w;
	pthread_create(&w, NULL, store_writer, NULL);
	while (!atomic_load(&held))
		sched_yield();
	ct_task t = ct_task_begin("checkout", 0);
	fact("task", t);
	atomic_store(&waiter_tid, gettid());
	lock_site();
	pthread_mutex_unlock(&mu);
	ct_task_end(t);
	pthread_join(w, NULL);
}

/* ---- a CPU-bound task ---- */

static void run_cpu(void)
{
	ct_task t = ct_task_begin("render", 0);
	fact("task", t);
	hot_function(200000000);
	ct_task_end(t);
}

/* ---- an oversubscribed pool ---- */

static atomic_int go;

static void *batch_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&go))
		sched_yield();
	ct_task t = ct_task_begin("batch", 0);
	hot_function(60000000);
	ct_task_end(t);
	return NULL;
}

static void run_pool(void)
{
	cpu_set_t set;
	int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 2;
	int n = 3 * cpus < 6 ? 6 : 3 * cpus;
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	if (!th)
		die("calloc");
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, batch_worker, NULL);
	atomic_store(&go, 1);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	fact("threads", (uint64_t)n);
	fact("cpus", (uint64_t)cpus);
}

/* ---- a slow downstream ---- */

static int listen_fd;

static void *slow_peer(void *arg)
{
	(void)arg;
	int c = accept(listen_fd, NULL, NULL);
	if (c < 0)
		die("accept");
	char req[16];
	if (read(c, req, sizeof req) <= 0)
		die("peer read");
	struct timespec ts = {0, 150000000}; /* the peer is slow: the behaviour under test */
	while (nanosleep(&ts, &ts) != 0)
		;
	if (write(c, "quote 42", 8) != 8)
		die("peer write");
	close(c);
	return NULL;
}

NOINLINE static ssize_t recv_site(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, 0);
	KEEP_FRAME();
	return n;
}

static void run_net(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(listen_fd, 1) != 0 || getsockname(listen_fd, (struct sockaddr *)&a, &alen) != 0)
		die("listen");
	pthread_t p;
	pthread_create(&p, NULL, slow_peer, NULL);
	ct_task t = ct_task_begin("quote", 0);
	fact("task", t);
	/* the request came with a W3C trace context (the test knows its ids) */
	if (ct_task_set_traceparent(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				    NULL) != 0)
		die("traceparent");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	fact("fd", (uint64_t)fd);
	if (write(fd, "price?", 6) != 6)
		die("write");
	char buf[16];
	if (recv_site(fd, buf, sizeof buf) <= 0)
		die("recv");
	close(fd);
	ct_task_end(t);
	pthread_join(p, NULL);
	close(listen_fd);
}

/* ---- a page-fault storm ---- */

NOINLINE static void touch_pages(volatile char *p, size_t len)
{
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	KEEP_FRAME();
}

static void run_fault(void)
{
	size_t len = 32u << 20;
	ct_task t = ct_task_begin("index", 0);
	fact("task", t);
	ct_region_begin("build_index");
	for (int i = 0; i < 16; i++) {
		char *p =
			mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		madvise(p, len, MADV_NOHUGEPAGE); /* one fault per page, as a heap's */
		touch_pages(p, len);
		munmap(p, len);
	}
	ct_region_end();
	ct_task_end(t);
}

/* Until DIR holds a dump (renamed into place when complete), at most 30 s.
 * Raw syscalls: this polling is not the program's behaviour (not traced),
 * and its fds are not the library's business. */
static void until_dump(const char *path)
{
	struct timespec pause = {0, 1000000};
	for (int i = 0; i < 30000; i++) {
		long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char buf[4096];
		long n;
		int found = 0;
		while (fd >= 0 && !found && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
			for (long off = 0; off < n;) {
				/* struct linux_dirent64: ino, off, reclen, type, name */
				unsigned short reclen;
				memcpy(&reclen, buf + off + 16, sizeof reclen);
				const char *name = buf + off + 19;
				size_t len = strlen(name);
				if (len > 7 && !strcmp(name + len - 7, ".ctrace"))
					found = 1;
				off += reclen;
			}
		if (fd >= 0)
			syscall(SYS_close, fd);
		if (found)
			return;
		syscall(SYS_nanosleep, &pause, NULL);
	}
	fprintf(stderr, "diag_prog: no dump in %s\n", path);
	exit(4);
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4 || !(facts = fopen(argv[2], "w"))) {
		fprintf(stderr, "usage: diag_prog lock|cpu|pool|net|fault FACTS [DUMP_DIR]\n");
		return 2;
	}
	setvbuf(facts, NULL, _IOLBF, 0);
	snprintf(dir, sizeof dir, "%s", argv[2]);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	static const struct {
		const char *name;
		void (*run)(void);
	} modes[] = {{"lock", run_lock},
		     {"cpu", run_cpu},
		     {"pool", run_pool},
		     {"net", run_net},
		     {"fault", run_fault}};
	size_t i = 0;
	while (i < sizeof modes / sizeof modes[0] && strcmp(argv[1], modes[i].name))
		i++;
	if (i == sizeof modes / sizeof modes[0])
		return 2;
	modes[i].run();
	if (argc == 4)
		until_dump(argv[3]);
	fclose(facts);
	return 0;
}
