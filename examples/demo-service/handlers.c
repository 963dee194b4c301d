/* The demo service's operations (GET /catalog, POST /checkout), their phases
 * as ctrace regions, and the incidents that make them slow for known reasons. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

static int incident;		      /* enum incident, read with __atomic loads */
static struct sockaddr_in price_addr; /* the price service (downstream.c) */

/* Checkout's state: the order book in memory and its journal on disk,
 * guarded by orders_lock; a snapshotter thread saves the book to disk twice
 * a second when it changed (the lock incident does that with the lock
 * held). */
static pthread_mutex_t orders_lock = PTHREAD_MUTEX_INITIALIZER;
static int journal_fd = -1, dir_fd = -1;
static unsigned long orders, saved_orders;
#define BOOK_BYTES  (48u << 20)
#define BOOK_RECORD 64
static char *book, *book_copy;
static pthread_t snapshotter;
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static int stopping, snapshotter_started;

static const char *const incident_names[] = {"none", "lock", "pool", "downstream", "faults", "cpu"};

int incident_parse(const char *name)
{
	for (size_t i = 0; i < sizeof incident_names / sizeof *incident_names; i++)
		if (strcmp(name, incident_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *incident_name(int i)
{
	return i >= 0 && i <= INCIDENT_CPU ? incident_names[i] : "?";
}

int incident_get(void)
{
	return __atomic_load_n(&incident, __ATOMIC_RELAXED);
}

/* ---- the downstream call ---- */

/* One HTTP/1.1 exchange with the price service over a fresh connection:
 * the request's own thread sends and blocks in recv, so the trace shows the
 * wait for the answer as this request's network wait. Returns the status
 * (0 when unreachable) and the body in out. */
static int price_call(const char *method, const char *path, const char *traceparent, char *out,
		      size_t outlen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct timeval tmo = {5, 0}; /* a dead price service fails the request, never hangs it */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof tmo);
	char req[256], resp[1024];
	int n = snprintf(req, sizeof req,
			 "%s %s HTTP/1.1\r\nHost: price\r\n%s%s%sConnection: close\r\n\r\n", method,
			 path, traceparent ? "traceparent: " : "", traceparent ? traceparent : "",
			 traceparent ? "\r\n" : "");
	size_t got = 0;
	if (connect(fd, (struct sockaddr *)&price_addr, sizeof price_addr) != 0 ||
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return 0;
	}
	for (ssize_t r; got < sizeof resp - 1; got += (size_t)r) /* until it closes */
		if ((r = recv(fd, resp + got, sizeof resp - 1 - got, 0)) <= 0)
			break;
	close(fd);
	resp[got] = 0;
	int status = 0;
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	const char *body = strstr(resp, "\r\n\r\n");
	snprintf(out, outlen, "%s", body ? body + 4 : "");
	return status;
}

int incident_set(int i)
{
	/* The price service is slow on its own (it sleeps before answering):
	 * the switch only tells it so. */
	char body[64];
	int delay_ms = i == INCIDENT_DOWNSTREAM ? 300 : 0;
	char path[64];
	snprintf(path, sizeof path, "/admin/delay?ms=%d", delay_ms);
	if (price_call("POST", path, NULL, body, sizeof body) != 200 && i == INCIDENT_DOWNSTREAM)
		return -1;
	__atomic_store_n(&incident, i, __ATOMIC_RELAXED);
	CT_LOGF("incident", "incident %s", incident_name(i));
	return 0;
}

/* ---- CPU, faults ---- */

/* The CPU time this thread has used since *t0, in ms: the CPU-bound
 * functions below stop after a fixed amount of CPU, whatever the machine. */
static long cpu_ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The CPU incident's hot function: 200 ms of CPU per catalog request. */
__attribute__((noinline)) static uint64_t rank_recommendations(int item)
{
	struct timespec t0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	uint64_t x = (uint64_t)item | 1;
	do {
		for (int i = 0; i < 200000; i++) /* xorshift: a score the optimizer keeps */
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	} while (cpu_ms_since(&t0) < 200);
	return x;
}

/* The pool incident: 35 ms of CPU per request, fast alone (under the
 * demo's 50 ms threshold), but 16 workers doing it at once on 2 CPUs wait
 * in the run queue most of the time. (With 25 ms a request had one or two
 * CPU samples at 100 Hz, too few to name the function every time; with
 * 50 ms a request alone was slow by its own CPU.) */
__attribute__((noinline)) static uint64_t apply_pricing_rules(int item)
{
	struct timespec t0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	uint64_t x = (uint64_t)item;
	do {
		for (int i = 0; i < 200000; i++) /* a linear congruential "rule" */
			x = x * 6364136223846793005u + 1442695040888963407u;
	} while (cpu_ms_since(&t0) < 35);
	return x;
}

/* The faults incident: a fresh 256 MiB buffer per request, touched page by
 * page, so every page is a page fault (and munmap gives them back). Not
 * instrumented by TSan: the buffer is this thread's alone, and a call into
 * TSan's runtime per touch would take the CPU samples' innermost frame
 * (and hide this one from their frame-pointer stacks). */
__attribute__((noinline, no_sanitize("thread"))) static uint64_t load_catalog_snapshot(void)
{
	size_t len = 256u << 20;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 0;
	madvise(buf, len, MADV_NOHUGEPAGE); /* 4 KiB pages, whatever the THP setting */
	uint64_t sum = 0;
	for (size_t off = 0; off < len; off += 4096) {
		buf[off] = (char)off;
		sum += (unsigned char)buf[off];
	}
	munmap(buf, len);
	return sum;
}

/* ---- the operations ---- */

static const char *const products[] = {"kettle", "teapot", "mug", "grinder", "scale",
				       "filter", "press",  "cup", "tray",    "jar"};
#define NPRODUCTS (int)(sizeof products / sizeof *products)

static unsigned authenticate(const struct request *rq)
{
	CT_REGION("auth");
	unsigned h = 2166136261u; /* FNV-1a of the user: stands in for a session lookup */
	for (const char *p = rq->user; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

int handle_catalog(struct request *rq)
{
	unsigned session = authenticate(rq);
	int inc = incident_get();
	const char *name;
	{
		CT_REGION("lookup");
		if (rq->item < 0 || rq->item >= NPRODUCTS) {
			CT_LOGF("catalog", "no item %d", rq->item);
			rq->len = (size_t)snprintf(rq->body, sizeof rq->body, "no such item\n");
			return 404;
		}
		name = products[rq->item];
		if (inc == INCIDENT_FAULTS)
			session ^= (unsigned)load_catalog_snapshot();
	}
	char price[128] = "";
	int status;
	{
		CT_REGION("downstream");
		char path[64], tp[CT_TRACEPARENT_LEN + 1];
		snprintf(path, sizeof path, "/price?item=%d", rq->item);
		struct ct_trace_context child; /* the call is a child span of this request */
		if (rq->traced) {
			ct_trace_context_child(&rq->trace, &child);
			ct_traceparent_format(&child, tp, sizeof tp);
			CT_LOGF("downstream", "GET %s traceparent %s", path, tp);
		}
		status = price_call("GET", path, rq->traced ? tp : NULL, price, sizeof price);
		CT_LOGF("downstream", "price service: %d", status);
	}
	if (status != 200) {
		rq->len =
			(size_t)snprintf(rq->body, sizeof rq->body, "price service unavailable\n");
		return 502;
	}
	CT_REGION("render");
	uint64_t score = 0;
	if (inc == INCIDENT_CPU)
		score = rank_recommendations(rq->item);
	if (inc == INCIDENT_POOL)
		score = apply_pricing_rules(rq->item);
	price[strcspn(price, "\r\n")] = 0;
	rq->len = (size_t)snprintf(rq->body, sizeof rq->body,
				   "{\"item\":%d,\"name\":\"%s\",\"price\":%s,\"session\":%u,"
				   "\"score\":%u}\n",
				   rq->item, name, price[0] ? price : "null", session,
				   (unsigned)(score & 0xff));
	return 200;
}

/* Saves the order book the safe way (a new file, fsync, rename over the
 * old one, fsync of the directory), as the service's copy and then the
 * standby's: twice 48 MiB, 80-180 ms of disk I/O on the development VM. */
__attribute__((noinline)) static int save_orders_snapshot(const char *data)
{
	static const char *const names[][2] = {{"orders.snapshot.tmp", "orders.snapshot"},
					       {"orders.standby.tmp", "orders.standby"}};
	for (int i = 0; i < 2; i++) {
		int fd =
			openat(dir_fd, names[i][0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		int ok = write(fd, data, BOOK_BYTES) == (ssize_t)BOOK_BYTES && fsync(fd) == 0;
		close(fd);
		ok = ok && renameat(dir_fd, names[i][0], dir_fd, names[i][1]) == 0;
		if (!ok || fsync(dir_fd) != 0)
			return -1;
	}
	return 0;
}

/* One snapshot, when there were orders since the last. Healthy: a copy of
 * the book under the lock (a few ms), the disk I/O outside it. */
static void snapshot_orders(void)
{
	ct_task t = CT_TASK_BEGIN("snapshot", 0);
	/* Background work takes the lock when it is free rather than queue
	 * among the requests (then each waiter's holder is the one it waits
	 * for: the diagnosis names holders as a wait begins). */
	while (pthread_mutex_trylock(&orders_lock) != 0)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	if (orders == saved_orders) {
		pthread_mutex_unlock(&orders_lock);
		ct_task_end(t);
		return;
	}
	saved_orders = orders;
	int ok;
	if (incident_get() == INCIDENT_LOCK) {
		ok = save_orders_snapshot(book) == 0; /* the bug: disk I/O with the lock held */
		pthread_mutex_unlock(&orders_lock);
	} else {
		memcpy(book_copy, book, BOOK_BYTES);
		pthread_mutex_unlock(&orders_lock);
		ok = save_orders_snapshot(book_copy) == 0;
	}
	if (!ok)
		CT_LOGF("snapshot", "not saved: %s", strerror(errno));
	ct_task_end(t);
}

static void *snapshot_loop(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "snapshotter");
	pthread_mutex_lock(&stop_lock);
	while (!stopping) {
		struct timespec at;
		clock_gettime(CLOCK_REALTIME, &at);
		at.tv_nsec += 500000000;
		at.tv_sec += at.tv_nsec / 1000000000;
		at.tv_nsec %= 1000000000;
		if (pthread_cond_timedwait(&stop_cond, &stop_lock, &at) == 0 || stopping)
			continue;
		pthread_mutex_unlock(&stop_lock);
		snapshot_orders();
		pthread_mutex_lock(&stop_lock);
	}
	pthread_mutex_unlock(&stop_lock);
	return NULL;
}

int handle_checkout(struct request *rq)
{
	authenticate(rq);
	unsigned long id;
	int inc = incident_get();
	{
		CT_REGION("store");
		char line[128];
		pthread_mutex_lock(&orders_lock); /* held for the book's update only */
		id = ++orders;
		int n = snprintf(line, sizeof line, "order %lu user %s item %d\n", id, rq->user,
				 rq->item);
		memcpy(book + id % (BOOK_BYTES / BOOK_RECORD) * BOOK_RECORD, line,
		       (size_t)n < BOOK_RECORD ? (size_t)n : BOOK_RECORD);
		pthread_mutex_unlock(&orders_lock);
		/* The journal: one write per order (O_APPEND: whole lines, each
		 * with its id, not necessarily in order). */
		int ok = write(journal_fd, line, (size_t)n) == n;
		if (!ok) {
			CT_LOGF("checkout", "order %lu not stored: %s", id, strerror(errno));
			rq->len = (size_t)snprintf(rq->body, sizeof rq->body, "not stored\n");
			return 500;
		}
	}
	CT_LOGF("checkout", "order %lu stored", id);
	CT_REGION("render");
	if (inc == INCIDENT_POOL)
		apply_pricing_rules(rq->item);
	rq->len = (size_t)snprintf(rq->body, sizeof rq->body, "{\"order\":%lu}\n", id);
	return 200;
}

int handlers_init(const struct sockaddr_in *downstream, const char *data_dir)
{
	price_addr = *downstream;
	char path[4096];
	snprintf(path, sizeof path, "%s/orders.log", data_dir);
	journal_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	dir_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	book = malloc(BOOK_BYTES);
	book_copy = malloc(BOOK_BYTES);
	if (journal_fd < 0 || dir_fd < 0 || !book || !book_copy) {
		handlers_fini();
		return -1;
	}
	memset(book, ' ', BOOK_BYTES);
	if (pthread_create(&snapshotter, NULL, snapshot_loop, NULL) != 0) {
		handlers_fini();
		return -1;
	}
	snapshotter_started = 1;
	return 0;
}

void handlers_fini(void)
{
	if (snapshotter_started) {
		pthread_mutex_lock(&stop_lock);
		stopping = 1;
		pthread_cond_signal(&stop_cond);
		pthread_mutex_unlock(&stop_lock);
		pthread_join(snapshotter, NULL);
		snapshotter_started = 0;
	}
	if (journal_fd >= 0)
		close(journal_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	journal_fd = dir_fd = -1;
	free(book);
	free(book_copy);
	book = book_copy = NULL;
}
