/* A program whose threads wait for known causes, for test_waits.c: run
 * through `ctrace run` (unmodified) or linked with libctrace-wrap.a, and
 * built a second time with -O2 -D_FORTIFY_SOURCE=2. It writes what the
 * trace should show (tids, addresses, fds) to the file argv[2] as
 * "key value" lines. Usage: waits_prog MODE FACTS_FILE.
 *
 * Contention is made to happen, not hoped for: a thread that is to find a
 * lock held (or a socket silent) publishes its tid, and the other side
 * waits until the kernel shows it inside the blocking syscall before it
 * lets go. The only sleeps are the behaviour under test (a peer that
 * answers late, a sleep loop). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
/* Keeps a site's call from becoming a tail call, so that the site is the
 * first frame of the wait's stack. */
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

static void ms_sleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* ---- waiting for a thread to be blocked ----
 * /proc/self/task/TID/syscall gives the syscall a sleeping thread is in and
 * its arguments: "202 0xADDR ..." for a futex wait on ADDR. It is read with
 * raw syscalls so that this polling is not traced. Where the file cannot be
 * read, the thread's state 'S' in .../stat stands in (less exact: it does
 * not say which call). */
static long read_proc(pid_t tid, const char *what, char *buf, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, what);
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long n = syscall(SYS_read, fd, buf, cap - 1);
	syscall(SYS_close, fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

static int sleeping(pid_t tid)
{
	char buf[512];
	if (read_proc(tid, "stat", buf, sizeof buf) <= 0)
		return 0;
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* Until `tid` (once published) is in syscall nr1 or nr2; with `lo` set,
 * the first argument (the futex word) must lie in [lo, lo + len). */
static void until_blocked(atomic_int *tidp, long nr1, long nr2, const void *lo, size_t len)
{
	pid_t tid;
	while (!(tid = atomic_load(tidp)))
		sched_yield();
	char buf[512];
	for (;;) {
		long n = read_proc(tid, "syscall", buf, sizeof buf);
		if (n <= 0) {
			if (sleeping(tid))
				return;
		} else {
			long nr = -1;
			unsigned long a0 = 0;
			if (sscanf(buf, "%ld %lx", &nr, &a0) >= 1 && (nr == nr1 || nr == nr2) &&
			    (!lo || (a0 >= (uintptr_t)lo && a0 < (uintptr_t)lo + len)))
				return;
		}
		sched_yield();
	}
}

/* The calls poll and epoll_wait make (aarch64 has only the p- ones). */
#ifdef SYS_poll
#define NR_POLL SYS_poll
#else
#define NR_POLL -1
#endif
#ifdef SYS_epoll_wait
#define NR_EPOLL_WAIT SYS_epoll_wait
#else
#define NR_EPOLL_WAIT -1
#endif

#define UNTIL_FUTEX(tidp, obj) until_blocked((tidp), SYS_futex, -1, (obj), sizeof *(obj))

/* ---- mutex, and a lock held across fsync ---- */

#define HOLD_MS 50
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int held, waiter_tid;

NOINLINE static void contended_lock_site(void)
{
	pthread_mutex_lock(&mu);
	KEEP_FRAME();
}

static void *waiter(void *arg)
{
	(void)arg;
	while (!atomic_load(&held))
		;
	atomic_store(&waiter_tid, gettid());
	contended_lock_site();
	pthread_mutex_unlock(&mu);
	return NULL;
}

NOINLINE static void fsync_site(int fd)
{
	fsync(fd);
	KEEP_FRAME();
}

static void run_holder(int with_fsync)
{
	pthread_t w;
	pthread_create(&w, NULL, waiter, NULL);
	pthread_mutex_lock(&mu);
	atomic_store(&held, 1);
	UNTIL_FUTEX(&waiter_tid, &mu);
	if (!with_fsync)
		ms_sleep(HOLD_MS); /* a slow critical section: the behaviour under test */
	if (with_fsync) {
		char path[4200];
		snprintf(path, sizeof path, "%s/fsync.dat", dir);
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
		static char block[65536];
		if (fd < 0 || write(fd, block, sizeof block) != (ssize_t)sizeof block)
			die("fsync.dat");
		fsync_site(fd);
		close(fd);
		unlink(path);
	}
	pthread_mutex_unlock(&mu);
	pthread_join(w, NULL);
	fact("holder_tid", (uint64_t)gettid());
	fact("waiter_tid", (uint64_t)atomic_load(&waiter_tid));
	fact("mutex", (uintptr_t)&mu);
	fact("hold_ns", with_fsync ? 0 : HOLD_MS * 1000000ull);
}

/* ---- rwlock: two readers find a writer holding it ---- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int reader_tid[2];

NOINLINE static void rdlock_site(void)
{
	pthread_rwlock_rdlock(&rw);
	KEEP_FRAME();
}

NOINLINE static void clockrdlock_site(void)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 600;
	if (pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &dl) != 0)
		abort();
	KEEP_FRAME();
}

static void *reader(void *arg)
{
	int i = (int)(intptr_t)arg;
	while (!atomic_load(&held))
		;
	atomic_store(&reader_tid[i], gettid());
	if (i == 0)
		rdlock_site();
	else
		clockrdlock_site();
	pthread_rwlock_unlock(&rw);
	return NULL;
}

static void run_rwlock(void)
{
	pthread_t r[2];
	pthread_rwlock_wrlock(&rw);
	atomic_store(&held, 1);
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, reader, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		UNTIL_FUTEX(&reader_tid[i], &rw);
	pthread_rwlock_unlock(&rw);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	fact("writer_tid", (uint64_t)gettid());
	fact("rwlock", (uintptr_t)&rw);
}

/* ---- semaphore: the main thread waits twice for a poster ---- */

static sem_t sem;
static atomic_int main_tid, sem_round;

NOINLINE static void sem_site(void)
{
	if (sem_wait(&sem) != 0)
		abort();
	KEEP_FRAME();
}

NOINLINE static void sem_clock_site(void)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 600;
	if (sem_clockwait(&sem, CLOCK_MONOTONIC, &dl) != 0)
		abort();
	KEEP_FRAME();
}

static void *poster(void *arg)
{
	(void)arg;
	for (int round = 1; round <= 2; round++) {
		/* the round number tells this wait from the last one */
		while (atomic_load(&sem_round) != round)
			sched_yield();
		UNTIL_FUTEX(&main_tid, &sem);
		sem_post(&sem);
	}
	return NULL;
}

static void run_sem(void)
{
	sem_init(&sem, 0, 0);
	pthread_t p;
	pthread_create(&p, NULL, poster, NULL);
	atomic_store(&main_tid, gettid());
	atomic_store(&sem_round, 1);
	sem_site();
	atomic_store(&sem_round, 2);
	sem_clock_site();
	pthread_join(p, NULL);
	fact("waiter_tid", (uint64_t)gettid());
	fact("sem", (uintptr_t)&sem);
}

/* ---- barrier: three threads meet three times ---- */

#define BARRIER_THREADS 3
#define BARRIER_ROUNDS	3
static pthread_barrier_t bar;

NOINLINE static void barrier_site(void)
{
	pthread_barrier_wait(&bar);
	KEEP_FRAME();
}

static void *barrier_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < BARRIER_ROUNDS; i++)
		barrier_site();
	return NULL;
}

static void run_barrier(void)
{
	pthread_barrier_init(&bar, NULL, BARRIER_THREADS);
	pthread_t t[BARRIER_THREADS - 1];
	for (int i = 0; i < BARRIER_THREADS - 1; i++)
		pthread_create(&t[i], NULL, barrier_thread, NULL);
	barrier_thread(NULL);
	for (int i = 0; i < BARRIER_THREADS - 1; i++)
		pthread_join(t[i], NULL);
	fact("barrier", (uintptr_t)&bar);
	fact("waits", BARRIER_THREADS * BARRIER_ROUNDS);
	fact("rounds", BARRIER_ROUNDS);
}

/* ---- poll and epoll: an event loop waits for a pipe ---- */

static int pfd[2];
static atomic_int loop_tid, loop_round;

NOINLINE static int poll_site(void)
{
	struct pollfd p = {.fd = pfd[0], .events = POLLIN};
	int r = poll(&p, 1, -1);
	KEEP_FRAME();
	return r;
}

NOINLINE static int epoll_site(int ep)
{
	struct epoll_event ev;
	int r = epoll_wait(ep, &ev, 1, -1);
	KEEP_FRAME();
	return r;
}

static void *event_loop(void *arg)
{
	int ep = (int)(intptr_t)arg;
	char c;
	atomic_store(&loop_tid, gettid());
	atomic_store(&loop_round, 1);
	if (poll_site() != 1 || read(pfd[0], &c, 1) != 1)
		abort();
	atomic_store(&loop_round, 2);
	if (epoll_site(ep) != 1 || read(pfd[0], &c, 1) != 1)
		abort();
	return NULL;
}

static void run_poll(void)
{
	if (pipe(pfd) != 0)
		die("pipe");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) != 0)
		die("epoll");
	pthread_t t;
	pthread_create(&t, NULL, event_loop, (void *)(intptr_t)ep);
	while (atomic_load(&loop_round) != 1)
		sched_yield();
	until_blocked(&loop_tid, NR_POLL, SYS_ppoll, NULL, 0);
	if (write(pfd[1], "x", 1) != 1)
		die("write");
	while (atomic_load(&loop_round) != 2)
		sched_yield();
	until_blocked(&loop_tid, NR_EPOLL_WAIT, SYS_epoll_pwait, NULL, 0);
	if (write(pfd[1], "y", 1) != 1)
		die("write");
	pthread_join(t, NULL);
	fact("loop_tid", (uint64_t)atomic_load(&loop_tid));
	fact("epfd", (uint64_t)ep);
}

/* ---- a socket peer that answers late ----
 * "net": a socketpair (AF_UNIX); "tcp": a loopback server thread. The peer
 * answers 100 ms after the caller is blocked in recv: that delay is the
 * behaviour under test. */

#define PEER_DELAY_MS 100
static int sv[2];
static atomic_int client_tid;

static void answer_late(int fd)
{
	char b[8];
	if (recv(fd, b, sizeof b, 0) != 4)
		abort();
	until_blocked(&client_tid, SYS_recvfrom, -1, NULL, 0);
	ms_sleep(PEER_DELAY_MS);
	if (send(fd, "pong", 4, 0) != 4)
		abort();
}

static void *late_peer(void *arg)
{
	(void)arg;
	answer_late(sv[1]);
	return NULL;
}

NOINLINE static ssize_t recv_site(int fd, char *b, size_t n)
{
	ssize_t r = recv(fd, b, n, 0);
	KEEP_FRAME();
	return r;
}

static void run_net(void)
{
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_t p;
	atomic_store(&client_tid, gettid());
	pthread_create(&p, NULL, late_peer, NULL);
	send(sv[0], "ping", 4, 0);
	char b[8];
	recv_site(sv[0], b, sizeof b);
	pthread_join(p, NULL);
	char c;
	if (read(1000, &c, 1) != -1) /* EBADF: wait.end carries -errno */
		abort();
	fact("fd", (uint64_t)sv[0]);
	fact("delay_ns", PEER_DELAY_MS * 1000000ull);
}

static int listener;
static atomic_int server_tid;

NOINLINE static int accept_site(void)
{
	int c = accept(listener, NULL, NULL);
	KEEP_FRAME();
	return c;
}

static void *tcp_server(void *arg)
{
	(void)arg;
	atomic_store(&server_tid, gettid());
	int c = accept_site();
	if (c < 0)
		die("accept");
	answer_late(c);
	close(c);
	return NULL;
}

static void run_tcp(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(listener, 1) != 0 || getsockname(listener, (struct sockaddr *)&a, &alen) != 0)
		die("listen");
	pthread_t s;
	pthread_create(&s, NULL, tcp_server, NULL);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	atomic_store(&client_tid, gettid());
	if (send(fd, "ping", 4, 0) != 4)
		die("send");
	char b[8];
	if (recv_site(fd, b, sizeof b) != 4)
		die("recv");
	pthread_join(s, NULL);
	close(fd);
	close(listener);
	fact("client_tid", (uint64_t)gettid());
	fact("server_tid", (uint64_t)atomic_load(&server_tid));
	fact("fd", (uint64_t)fd);
	fact("listener", (uint64_t)listener);
	fact("delay_ns", PEER_DELAY_MS * 1000000ull);
}

/* ---- a sleep loop ---- */

NOINLINE static void sleep_loop_site(int i)
{
	struct timespec ts = {0, 15000000};
	if (i & 1)
		nanosleep(&ts, NULL);
	else
		usleep(10000);
	KEEP_FRAME();
}

static void run_sleep(void)
{
	for (int i = 0; i < 8; i++)
		sleep_loop_site(i);
	fact("slept_ns", 100000000);
	fact("sleeps", 8);
	fact("tid", (uint64_t)gettid());
}

/* ---- a condvar worker pool idling ----
 * Each item is queued once both workers sit in pthread_cond_wait (a futex
 * wait on the condvar) and the last item has been taken, so that every
 * wait counted is a fresh one. */

#define POOL  2
#define ITEMS 4
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int queue, quit;
static atomic_int taken, worker_tid[POOL];

NOINLINE static void worker_wait_site(void)
{
	pthread_cond_wait(&cv, &mu);
	KEEP_FRAME();
}

static void *worker(void *arg)
{
	atomic_store(&worker_tid[(intptr_t)arg], gettid());
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!queue && !quit)
			worker_wait_site();
		if (!queue)
			break;
		queue--;
		atomic_fetch_add(&taken, 1);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void pool_idle(void)
{
	for (int i = 0; i < POOL; i++)
		UNTIL_FUTEX(&worker_tid[i], &cv);
}

static void run_condvar(void)
{
	pthread_t w[POOL];
	for (intptr_t i = 0; i < POOL; i++)
		pthread_create(&w[i], NULL, worker, (void *)i);
	for (int i = 0; i < ITEMS; i++) {
		pool_idle();
		pthread_mutex_lock(&mu);
		queue++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
		while (atomic_load(&taken) != i + 1)
			sched_yield();
	}
	pool_idle();
	pthread_mutex_lock(&mu);
	quit = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < POOL; i++)
		pthread_join(w[i], NULL);
	fact("mutex", (uintptr_t)&mu);
	fact("cond", (uintptr_t)&cv);
	fact("waits", POOL + ITEMS);
	for (int i = 0; i < POOL; i++)
		fact(i ? "worker1" : "worker0", (uint64_t)atomic_load(&worker_tid[i]));
}

/* ---- threads blocked when the trace ends ----
 * One thread reads a pipe nobody writes, one waits for the mutex the main
 * thread holds; main returns (the trace stops at exit) with both inside
 * their calls. */

static atomic_int stuck_tid[2];

NOINLINE static void stuck_read_site(void)
{
	char c;
	if (read(pfd[0], &c, 1) < 0)
		abort();
	KEEP_FRAME();
}

static void *stuck_reader(void *arg)
{
	(void)arg;
	atomic_store(&stuck_tid[0], gettid());
	stuck_read_site();
	return NULL;
}

static void *stuck_locker(void *arg)
{
	(void)arg;
	atomic_store(&waiter_tid, gettid());
	atomic_store(&stuck_tid[1], gettid());
	contended_lock_site();
	return NULL;
}

static void run_stuck(void)
{
	if (pipe(pfd) != 0)
		die("pipe");
	pthread_mutex_lock(&mu);
	pthread_t t[2];
	pthread_create(&t[0], NULL, stuck_reader, NULL);
	pthread_create(&t[1], NULL, stuck_locker, NULL);
	until_blocked(&stuck_tid[0], SYS_read, -1, NULL, 0);
	UNTIL_FUTEX(&stuck_tid[1], &mu);
	fact("reader_tid", (uint64_t)atomic_load(&stuck_tid[0]));
	fact("locker_tid", (uint64_t)atomic_load(&stuck_tid[1]));
	fact("holder_tid", (uint64_t)gettid());
	fact("fd", (uint64_t)pfd[0]);
	fact("mutex", (uintptr_t)&mu);
	/* The main thread goes on a while before it exits, so that the trace
	 * (which ends with its last event) ends 20 ms after both threads
	 * blocked. It idles on a condition variable nobody signals: no file,
	 * socket or sleep wait beside the two under test. */
	static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
	static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += 20000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&idle_mu);
	while (pthread_cond_timedwait(&idle, &idle_mu, &dl) == 0)
		;
	pthread_mutex_unlock(&idle_mu);
	fact("after_ns", 20000000);
}

/* ---- the other entry points, once each ----
 * The clock variants and timed joins, the vectored and 64-bit-offset I/O
 * names, batched socket calls, creat, epoll_pwait2: each at its own site. */

static atomic_int clock_waiter_tid;

#define SITE(name, type, call)                                                                     \
	NOINLINE static type name(void)                                                            \
	{                                                                                          \
		type r_ = (call);                                                                  \
		KEEP_FRAME();                                                                      \
		return r_;                                                                         \
	}

static int cfile, csock[2], cep;
static char cbuf[8];
static struct iovec ciov = {cbuf, 1};
static struct mmsghdr cmsg = {.msg_hdr = {.msg_iov = &ciov, .msg_iovlen = 1}};
static char cpath[4200];
static pthread_t cthread;
static pthread_cond_t ccv = PTHREAD_COND_INITIALIZER;

static struct timespec in_ms(clockid_t clk, long ms)
{
	struct timespec t;
	clock_gettime(clk, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/* TSan (clang 14) intercepts neither pthread_mutex_clocklock nor the timed
 * joins: it would not see the lock taken (and report the unlock) or the
 * threads joined (and report a leak). Under TSan the timed lock and the
 * plain join stand in, at the same sites. */
#if defined(__SANITIZE_THREAD__)
#define TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_BUILD 1
#endif
#endif

static int clocklock_call(void)
{
#ifdef TSAN_BUILD
	struct timespec t = in_ms(CLOCK_REALTIME, 600000);
	return pthread_mutex_timedlock(&mu, &t);
#else
	struct timespec t = in_ms(CLOCK_MONOTONIC, 600000);
	return pthread_mutex_clocklock(&mu, CLOCK_MONOTONIC, &t);
#endif
}

static int cond_clockwait_call(void)
{
	struct timespec t = in_ms(CLOCK_MONOTONIC, 1);
	pthread_mutex_lock(&mu);
	int r;
	while ((r = pthread_cond_clockwait(&ccv, &mu, CLOCK_MONOTONIC, &t)) == 0)
		;
	pthread_mutex_unlock(&mu);
	return r;
}

static int timedjoin_call(void)
{
#ifdef TSAN_BUILD
	return pthread_join(cthread, NULL);
#else
	struct timespec t = in_ms(CLOCK_REALTIME, 600000);
	return pthread_timedjoin_np(cthread, NULL, &t);
#endif
}

static int clockjoin_call(void)
{
#ifdef TSAN_BUILD
	return pthread_join(cthread, NULL);
#else
	struct timespec t = in_ms(CLOCK_MONOTONIC, 600000);
	return pthread_clockjoin_np(cthread, NULL, CLOCK_MONOTONIC, &t);
#endif
}

SITE(clocklock_site, int, clocklock_call())
SITE(cond_clockwait_site, int, cond_clockwait_call())
SITE(timedjoin_site, int, timedjoin_call())
SITE(clockjoin_site, int, clockjoin_call())
SITE(pwrite64_site, ssize_t, pwrite64(cfile, "abcd", 4, 0))
SITE(pread64_site, ssize_t, pread64(cfile, cbuf, 1, 0))
SITE(pwritev_site, ssize_t, pwritev(cfile, &ciov, 1, 4))
SITE(preadv_site, ssize_t, preadv(cfile, &ciov, 1, 0))
SITE(pwritev64_site, ssize_t, pwritev64(cfile, &ciov, 1, 5))
SITE(preadv64_site, ssize_t, preadv64(cfile, &ciov, 1, 0))
SITE(pwritev2_site, ssize_t, pwritev2(cfile, &ciov, 1, 6, 0))
SITE(preadv2_site, ssize_t, preadv2(cfile, &ciov, 1, 0, 0))
SITE(pwritev64v2_site, ssize_t, pwritev64v2(cfile, &ciov, 1, 7, 0))
SITE(preadv64v2_site, ssize_t, preadv64v2(cfile, &ciov, 1, 0, 0))
SITE(creat_site, int, creat(cpath, 0600))
SITE(creat64_site, int, creat64(cpath, 0600))
SITE(sendmmsg_site, int, sendmmsg(csock[1], &cmsg, 1, 0))
SITE(recvmmsg_site, int, recvmmsg(csock[0], &cmsg, 1, 0, NULL))
SITE(epoll_pwait2_site, int, epoll_pwait2(cep, &(struct epoll_event){0}, 1, NULL, NULL))

static void *clock_locker(void *arg)
{
	(void)arg;
	atomic_store(&clock_waiter_tid, gettid());
	if (clocklock_site() != 0)
		abort();
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *quick(void *arg)
{
	return arg;
}

static void run_calls(void)
{
	/* a contended clocklock, named holder */
	pthread_t t;
	pthread_mutex_lock(&mu);
	pthread_create(&t, NULL, clock_locker, NULL);
	UNTIL_FUTEX(&clock_waiter_tid, &mu);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	if (cond_clockwait_site() != ETIMEDOUT)
		die("pthread_cond_clockwait");
	pthread_create(&cthread, NULL, quick, NULL);
	if (timedjoin_site() != 0)
		die("pthread_timedjoin_np");
	pthread_create(&cthread, NULL, quick, NULL);
	if (clockjoin_site() != 0)
		die("pthread_clockjoin_np");

	snprintf(cpath, sizeof cpath, "%s/calls.dat", dir);
	cfile = open(cpath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (cfile < 0)
		die(cpath);
	if (pwrite64_site() != 4 || pread64_site() != 1 || pwritev_site() != 1 ||
	    preadv_site() != 1 || pwritev64_site() != 1 || preadv64_site() != 1 ||
	    pwritev2_site() != 1 || preadv2_site() != 1 || pwritev64v2_site() != 1 ||
	    preadv64v2_site() != 1)
		die("pread/pwrite");
	close(cfile);
	int c1 = creat_site(), c2 = creat64_site();
	if (c1 < 0 || c2 < 0)
		die("creat");
	close(c1);
	close(c2);
	unlink(cpath);

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, csock) != 0)
		die("socketpair");
	/* a dup's kind is learnt on its first use: the duplicate is a socket */
	int d = dup(csock[0]);
	if (d < 0)
		die("dup");
	close(csock[0]);
	csock[0] = d;
	if (sendmmsg_site() != 1 || recvmmsg_site() != 1)
		die("sendmmsg/recvmmsg");
	cep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLOUT};
	if (cep < 0 || epoll_ctl(cep, EPOLL_CTL_ADD, csock[1], &ev) != 0)
		die("epoll");
	if (epoll_pwait2_site() != 1)
		die("epoll_pwait2");
	fact("holder_tid", (uint64_t)gettid());
	fact("mutex", (uintptr_t)&mu);
	fact("cond", (uintptr_t)&ccv);
	fact("file", (uint64_t)cfile);
	fact("sock", (uint64_t)csock[0]);
	fact("sock_peer", (uint64_t)csock[1]);
	fact("epfd", (uint64_t)cep);
}

/* ---- the fortified calls ----
 * Built with -O2 -D_FORTIFY_SOURCE=2, each of these calls, with a buffer
 * of known size and a length the compiler cannot check, goes to glibc's
 * __X_chk (test_waits checks the binary imports them). */

static volatile size_t one = 1;
static volatile int rdonly = O_RDONLY;

NOINLINE static ssize_t fortified_read_site(int fd)
{
	char b[16];
	ssize_t r = read(fd, b, one);
	KEEP_FRAME();
	return r;
}

NOINLINE static ssize_t fortified_pread_site(int fd)
{
	char b[16];
	ssize_t r = pread(fd, b, one, 0);
	KEEP_FRAME();
	return r;
}

NOINLINE static ssize_t fortified_recv_site(int fd)
{
	char b[16];
	ssize_t r = recv(fd, b, one, 0);
	KEEP_FRAME();
	return r;
}

NOINLINE static ssize_t fortified_recvfrom_site(int fd)
{
	char b[16];
	ssize_t r = recvfrom(fd, b, one, 0, NULL, NULL);
	KEEP_FRAME();
	return r;
}

NOINLINE static int fortified_poll_site(int fd)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = -1}};
	int r = poll(p, one, -1);
	KEEP_FRAME();
	return r;
}

NOINLINE static int fortified_open_site(const char *path)
{
	int r = open(path, rdonly);
	KEEP_FRAME();
	return r;
}

static void run_fortify(void)
{
#if !defined(__USE_FORTIFY_LEVEL) || __USE_FORTIFY_LEVEL < 2
	fprintf(stderr, "waits_prog: the fortify mode needs -O2 -D_FORTIFY_SOURCE=2\n");
	exit(2);
#endif
	int p[2], s[2];
	if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
		die("pipe");
	if (write(p[1], "a", 1) != 1 || send(s[1], "bc", 2, 0) != 2)
		die("write");
	char path[4200];
	snprintf(path, sizeof path, "%s/fortify.dat", dir);
	int f = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (f < 0 || write(f, "d", 1) != 1 || close(f) != 0)
		die(path);
	if (fortified_poll_site(p[0]) != 1 || fortified_read_site(p[0]) != 1)
		die("read");
	if (fortified_recv_site(s[0]) != 1 || fortified_recvfrom_site(s[0]) != 1)
		die("recv");
	f = fortified_open_site(path);
	if (f < 0 || fortified_pread_site(f) != 1)
		die("pread");
	close(f);
	unlink(path);
	fact("pipe", (uint64_t)p[0]);
	fact("sock", (uint64_t)s[0]);
	fact("file", (uint64_t)f);
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
			if (write(1, "", 0) < 0)
				_exit(1);
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
		fprintf(stderr, "usage: waits_prog mutex|fsync|rwlock|sem|barrier|poll|net|tcp|"
				"sleep|condvar|stuck|calls|fortify|fork FACTS\n");
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
	} modes[] = {
		{"rwlock", run_rwlock},	  {"sem", run_sem},	    {"barrier", run_barrier},
		{"poll", run_poll},	  {"net", run_net},	    {"tcp", run_tcp},
		{"sleep", run_sleep},	  {"condvar", run_condvar}, {"stuck", run_stuck},
		{"fortify", run_fortify}, {"fork", run_fork},	    {"calls", run_calls},
	};
	const char *m = argv[1];
	if (!strcmp(m, "mutex") || !strcmp(m, "fsync")) {
		run_holder(!strcmp(m, "fsync"));
	} else {
		size_t i = 0;
		while (i < sizeof modes / sizeof modes[0] && strcmp(m, modes[i].name))
			i++;
		if (i == sizeof modes / sizeof modes[0])
			return 2;
		modes[i].run();
	}
	fclose(facts);
	/* "stuck": leave with the other threads inside their calls */
	return 0;
}
