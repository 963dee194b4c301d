/* The demo's price service: the second process the demo service calls for
 * each catalog request (plain HTTP/1.1, one request per connection). It can
 * be told to answer late (the downstream incident), and logs the traceparent
 * each request came with, one line per request on stdout.
 *
 *   demo-downstream [--listen ADDR:PORT] [--delay MS]
 *   POST /admin/delay?ms=N   answers every later request N ms late
 *   GET /price?item=N        the item's price */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int delay_ms; /* read and written with __atomic */
static int in_flight;
#define MAX_IN_FLIGHT 128

static void answer(int fd, int status, const char *body)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf,
			 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 status, status == 200 ? "OK" : "Error", strlen(body), body);
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return; /* the caller went away: nothing to do */
}

/* Where the late answers come from: a lookup that takes delay_ms. */
static int lookup_price(int item)
{
	int ms = __atomic_load_n(&delay_ms, __ATOMIC_RELAXED);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
	return 100 + item * 7;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char req[2048];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof req - 1 && (r = recv(fd, req + got, sizeof req - 1 - got, 0)) > 0) {
		got += (size_t)r;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[got] = 0;
	char method[8], path[256], body[64];
	int n;
	const char *tp = strcasestr(req, "\r\ntraceparent:");
	char traceparent[64] = "-";
	if (tp)
		sscanf(tp + 14, " %63[^\r\n]", traceparent);
	if (!strstr(req, "\r\n\r\n") || sscanf(req, "%7s %255s HTTP/1.", method, path) != 2) {
		answer(fd, 400, "bad request\n");
	} else if (!strcmp(method, "POST") && sscanf(path, "/admin/delay?ms=%6d", &n) == 1 &&
		   n >= 0 && n <= 60000) {
		__atomic_store_n(&delay_ms, n, __ATOMIC_RELAXED);
		printf("delay %d ms\n", n);
		answer(fd, 200, "ok\n");
	} else if (!strcmp(method, "GET") && sscanf(path, "/price?item=%6d", &n) == 1 && n >= 0) {
		snprintf(body, sizeof body, "%d\n", lookup_price(n));
		printf("price item=%d traceparent=%s\n", n, traceparent);
		answer(fd, 200, body);
	} else {
		answer(fd, 404, "not found\n");
	}
	fflush(stdout);
	close(fd);
	__atomic_sub_fetch(&in_flight, 1, __ATOMIC_RELAXED);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	const char *listen_at = "127.0.0.1:8081";
	char host[64], extra;
	unsigned port;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen_at = argv[++i];
		else if (!strcmp(argv[i], "--delay") && i + 1 < argc)
			delay_ms = atoi(argv[++i]);
		else {
			fprintf(stderr,
				"usage: demo-downstream [--listen ADDR:PORT] [--delay MS]\n");
			return 2;
		}
	}
	if (sscanf(listen_at, "%63[^:]:%u%c", host, &port, &extra) != 2 || port > 65535 ||
	    inet_pton(AF_INET, host, &a.sin_addr) != 1 || delay_ms < 0) {
		fprintf(stderr, "demo-downstream: bad --listen or --delay\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)port);
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	socklen_t alen = sizeof a;
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 128) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0) {
		perror("demo-downstream: listen");
		return 1;
	}
	printf("demo-downstream: listening on %s:%u\n", host, ntohs(a.sin_port));
	fflush(stdout);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) { /* a thread per connection; SIGTERM ends the process */
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) { /* out of fds: let some connections finish */
			if (errno == EMFILE || errno == ENFILE)
				nanosleep(&(struct timespec){0, 10000000}, NULL);
			continue;
		}
		struct timeval tmo = {5, 0}; /* a silent client is dropped */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo);
		pthread_t t;
		if (__atomic_add_fetch(&in_flight, 1, __ATOMIC_RELAXED) > MAX_IN_FLIGHT ||
		    pthread_create(&t, &attr, serve, (void *)(long)fd) != 0) {
			answer(fd, 503, "busy\n");
			close(fd);
			__atomic_sub_fetch(&in_flight, 1, __ATOMIC_RELAXED);
		}
	}
}
