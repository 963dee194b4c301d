/* The admin endpoint's cost. First, on the program while it is idle: the
 * cost of an event with a capture running, with the endpoint serving
 * nothing vs not started, in alternating rounds of the same run. Second,
 * a capture streamed to an HTTP client vs the same capture to a file
 * (/dev/null): events recorded and lost per second, bytes per second,
 * while a thread logs as fast as it can.
 *
 *   bench_http [rounds] [capture seconds]   (default 7 rounds, 3 s) */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "bench_stats.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void quiet(void *arg, const char *line)
{
	(void)arg;
	(void)line;
}

static void start_endpoint(void)
{
	struct ct_http_config h;
	ct_http_config_init(&h);
	h.address = "127.0.0.1:0";
	h.log = quiet;
	h.max_seconds = 60;
	if (ct_http_start(&h) != 0) {
		fprintf(stderr, "bench_http: cannot start the endpoint: %s\n", ct_last_error());
		exit(1);
	}
}

static int devnull;

static void start_capture(void)
{
	struct ct_config c;
	ct_config_init(&c);
	c.fd = devnull;
	c.sched = CT_SCHED_OFF; /* the events themselves, not the scheduler's */
	if (ct_start(&c) != 0) {
		fprintf(stderr, "bench_http: ct_start: %s\n", ct_last_error());
		exit(1);
	}
}

/* ns per region (begin + end: two events) over n of them */
static double event_round(long n)
{
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		CT_REGION_BEGIN("bench");
		CT_REGION_END();
	}
	return (double)(now_ns() - t0) / (double)(2 * n);
}

/* The endpoint thread's context switches so far (each wake-up is one). */
static long server_switches(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long n = -1;
	while (d && (e = readdir(d))) {
		char path[300], buf[4096];
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		int is = fgets(buf, sizeof buf, f) && !strcmp(buf, "ctrace-http\n");
		fclose(f);
		if (!is)
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(buf, sizeof buf, f))
			if (sscanf(buf, "voluntary_ctxt_switches: %ld", &n) == 1)
				break;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* ---- streaming ---- */

static _Atomic int gen_stop;
static void *generator(void *arg)
{
	(void)arg;
	char msg[64];
	unsigned i = 0;
	while (!atomic_load_explicit(&gen_stop, memory_order_relaxed)) {
		snprintf(msg, sizeof msg, "request %u done in %u us", i, i * 2654435761u % 10007);
		ct_log("bench", msg);
		i++;
	}
	return NULL;
}

/* Reads the whole response of a capture of secs from the endpoint;
 * returns the bytes received. */
static uint64_t http_capture(int port, unsigned secs)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		perror("bench_http: connect");
		exit(1);
	}
	char req[128];
	int n = snprintf(req, sizeof req,
			 "GET /debug/ctrace/trace?seconds=%u HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\n\r\n",
			 secs);
	if (write(fd, req, (size_t)n) != n)
		exit(1);
	static char buf[1 << 16];
	uint64_t total = 0;
	ssize_t r;
	int ok = -1;
	while ((r = read(fd, buf, sizeof buf)) > 0) {
		if (ok < 0)
			ok = r >= 12 && !memcmp(buf, "HTTP/1.1 200", 12);
		total += (uint64_t)r;
	}
	close(fd);
	if (ok != 1) {
		fprintf(stderr, "bench_http: the capture was refused\n");
		exit(1);
	}
	return total;
}

struct result {
	double secs, events, lost, bytes;
};

static struct result run_stream(int http, unsigned secs, int port)
{
	atomic_store(&gen_stop, 0);
	pthread_t th;
	struct result r = {0};
	uint64_t t0 = now_ns();
	if (http) {
		pthread_create(&th, NULL, generator, NULL);
		r.bytes = (double)http_capture(port, secs);
	} else {
		start_capture();
		pthread_create(&th, NULL, generator, NULL);
		struct timespec ts = {secs, 0};
		nanosleep(&ts, NULL);
		ct_stop();
	}
	r.secs = (double)(now_ns() - t0) / 1e9;
	atomic_store(&gen_stop, 1);
	pthread_join(th, NULL);
	struct ct_stats st;
	ct_get_stats(&st);
	r.events = (double)st.events;
	r.lost = (double)st.lost;
	if (!http)
		r.bytes = (double)st.bytes;
	return r;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	unsigned secs = argc > 2 ? (unsigned)atoi(argv[2]) : 3;
	if (rounds < 1 || secs < 1) {
		fprintf(stderr, "usage: bench_http [rounds] [capture seconds]\n");
		return 2;
	}
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	setenv("CTRACE_SCHED", "off", 1); /* for the endpoint's captures too */

	/* 1. an idle endpoint: event cost with and without it */
	const long n = 2000000;
	double without[64], with[64];
	if (rounds > 64)
		rounds = 64;
	start_capture();
	event_round(n); /* warm up: registration, chunks */
	for (int i = 0; i < rounds; i++) {
		without[i] = event_round(n);
		start_endpoint();
		usleep(1000);
		with[i] = event_round(n);
		ct_http_stop();
	}
	ct_stop();
	double a = bench_median(without, rounds), b = bench_median(with, rounds);
	printf("idle endpoint: event cost with a capture running, median of %d rounds of %ld "
	       "events\n",
	       rounds, 2 * n);
	printf("  %-28s %10s %10s %8s\n", "", "baseline", "endpoint", "ratio");
	printf("  %-28s %8.2f ns %8.2f ns %7.3fx\n", "ns per event (region edge)", a, b, b / a);

	/* its wake-ups while idle, over a second */
	start_endpoint();
	usleep(100000);
	long sw0 = server_switches();
	sleep(1);
	long sw1 = server_switches();
	printf("  %-28s %10s %10ld\n", "endpoint wake-ups per s", "-", sw1 - sw0);

	/* 2. streaming: the same capture to /dev/null and to an HTTP client */
	int port = ct_http_port();
	struct result f = run_stream(0, secs, port);
	struct result h = run_stream(1, secs, port);
	ct_http_stop();
	printf("\ncapture streaming: one thread logging as fast as it can, %u s captures\n", secs);
	printf("  %-28s %12s %12s %8s\n", "", "file sink", "HTTP client", "ratio");
	printf("  %-28s %12.0f %12.0f %7.3fx\n", "events recorded per s", f.events / f.secs,
	       h.events / h.secs, (h.events / h.secs) / (f.events / f.secs));
	printf("  %-28s %12.0f %12.0f\n", "events lost per s", f.lost / f.secs, h.lost / h.secs);
	printf("  %-28s %12.2f %12.2f %7.3fx\n", "MB per s delivered", f.bytes / f.secs / 1e6,
	       h.bytes / h.secs / 1e6, (h.bytes / h.secs) / (f.bytes / f.secs));
	return 0;
}
