/* The admin endpoint (ct_http_start) against real clients: curl for the
 * streamed bodies, and this program's own sockets for the rest, some from
 * several threads at once. Every bad request gets its status and a log
 * line with the reason, and the server keeps serving; the token; the
 * non-loopback refusal; one capture at a time; the flight dump holds the
 * recent past and honours the cooldown; clients that leave, stall or read
 * too slowly end what they asked for, and the log says why. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_events.h"
#include "ctrace_reader.h"
#include "flight_helpers.h"

static char tmpdir[] = "/tmp/ctrace-http-XXXXXX";

/* ---- the server's log, kept for the assertions ---- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;
static char logbuf[1 << 16];
static size_t loglen;

static void on_log(void *arg, const char *line)
{
	(void)arg;
	pthread_mutex_lock(&log_mu);
	int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s\n", line);
	if (n > 0 && loglen + (size_t)n < sizeof logbuf)
		loglen += (size_t)n;
	pthread_cond_broadcast(&log_cv);
	pthread_mutex_unlock(&log_mu);
}

static int log_has(const char *s)
{
	pthread_mutex_lock(&log_mu);
	int has = strstr(logbuf, s) != NULL;
	pthread_mutex_unlock(&log_mu);
	return has;
}

/* Waits until the log has s (a line the server writes when it acts), for
 * at most 30 s: a bound against a hang, not a measurement. */
static int log_wait(const char *s)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	pthread_mutex_lock(&log_mu);
	int rc = 0;
	while (!strstr(logbuf, s) && rc == 0)
		rc = pthread_cond_timedwait(&log_cv, &log_mu, &dl);
	int has = strstr(logbuf, s) != NULL;
	pthread_mutex_unlock(&log_mu);
	return has;
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	loglen = 0;
	logbuf[0] = 0;
	pthread_mutex_unlock(&log_mu);
}

static int port;

static void start_server(const char *token, unsigned timeout_s, size_t queue, int alias)
{
	struct ct_http_config c;
	ct_http_config_init(&c);
	c.address = "127.0.0.1:0";
	c.token = token;
	c.log = on_log;
	c.pprof_alias = alias;
	if (timeout_s)
		c.timeout_s = timeout_s;
	if (queue)
		c.queue_bytes = queue;
	assert_int_equal(ct_http_start(&c), 0);
	port = ct_http_port();
	assert_true(port > 0);
	assert_true(log_has("listening on 127.0.0.1:"));
}

/* ---- a client of our own ---- */

static int dial(int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	struct timeval tv = {.tv_sec = 30}; /* against a hang only */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Sends a request (a whole request line and headers, or just a method and
 * path) and reads the response up to the connection's close: its status,
 * and its head and the start of its body in out. */
static int request_raw(const char *req, char *out, size_t cap)
{
	int fd = dial(0);
	send_all(fd, req, strlen(req));
	size_t n = 0;
	ssize_t r;
	char sink[4096];
	while ((r = recv(fd, n + 1 < cap ? out + n : sink, n + 1 < cap ? cap - 1 - n : sizeof sink,
			 0)) > 0)
		if (n + 1 < cap)
			n += (size_t)r;
	out[n] = 0;
	close(fd);
	int status = 0;
	sscanf(out, "HTTP/1.%*d %d", &status);
	return status;
}

static int request(const char *method, const char *path, const char *headers, char *out, size_t cap)
{
	char req[70000];
	snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n",
		 method, path, headers ? headers : "");
	return request_raw(req, out, cap);
}

static int get(const char *path, char *out, size_t cap)
{
	return request("GET", path, NULL, out, cap);
}

/* curl downloads a body to a file; returns the HTTP status (0: no reply). */
static int curl_get(const char *path, const char *file, const char *extra)
{
	char cmd[1024], out[64] = "";
	snprintf(cmd, sizeof cmd, "curl -s %s -o '%s' -w '%%{http_code}' 'http://127.0.0.1:%d%s'",
		 extra ? extra : "", file, port, path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(out, sizeof out, p))
		out[0] = 0;
	pclose(p);
	return atoi(out);
}

/* ---- a program with something to trace ---- */

static _Atomic int busy_stop;
static _Atomic unsigned mark;
static unsigned log_size = 16; /* bytes of each log message */

static void *busy(void *arg)
{
	(void)arg;
	char msg[1024];
	unsigned i = 0;
	while (!atomic_load(&busy_stop)) {
		ct_task t = ct_task_begin("req", 0);
		int n = snprintf(msg, sizeof msg, "mark %u", atomic_load(&mark));
		/* incompressible filler when asked: a capture with volume */
		for (unsigned k = (unsigned)n; k < log_size && k < sizeof msg - 1; k++)
			msg[k] = (char)('a' + (i * 7919u + k * 104729u) % 26), msg[k + 1] = 0;
		ct_log("app", msg);
		ct_task_end(t);
		if (log_size <= 16 || (++i & 63) == 0)
			usleep(log_size <= 16 ? 1000 : 0);
	}
	return NULL;
}

static pthread_t busy_th;

static void busy_start(unsigned size)
{
	log_size = size;
	atomic_store(&busy_stop, 0);
	assert_int_equal(pthread_create(&busy_th, NULL, busy, NULL), 0);
}

static void busy_end(void)
{
	atomic_store(&busy_stop, 1);
	pthread_join(busy_th, NULL);
}

/* What a trace file holds. */
struct seen {
	int rc, complete;
	uint64_t events, logs;
	unsigned marks;	   /* bit N: a "mark N" log */
	int server_thread; /* events of the endpoint's own thread (never) */
	char reason[32];
};

static void read_trace(const char *path, struct seen *s)
{
	memset(s, 0, sizeof *s);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	int rc;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		s->events++;
		if (!strcmp(ev.thread->name, "ctrace-http"))
			s->server_thread = 1;
		if (ev.type == CT_EV_LOG) {
			s->logs++;
			long m = log_number(&ev, "mark ");
			if (m >= 0)
				s->marks |= 1u << (m & 31);
		}
	}
	s->rc = rc;
	s->complete = ct_reader_complete(r);
	const struct ct_trace_info *ti = ct_reader_info(r);
	for (uint32_t i = 0; i + 1 < ti->nmeta; i += 2) /* key, value, ... */
		if (!strcmp(ti->meta[i], "dump.reason"))
			snprintf(s->reason, sizeof s->reason, "%s", ti->meta[i + 1]);
	ct_reader_close(r);
}

static int setup(void **state)
{
	(void)state;
	log_clear();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ct_http_stop();
	if (ct_active())
		ct_stop();
	return 0;
}

/* ---- the tests ---- */

static void test_bad_requests_refused_and_logged(void **state)
{
	(void)state;
	start_server(NULL, 0, 0, 0);
	static char out[1 << 16];
	static const struct {
		const char *method, *path;
		int status;
		const char *why;
	} cases[] = {
		{"POST", "/debug/ctrace/status", 405, "only GET and HEAD"},
		{"DELETE", "/debug/ctrace/trace", 405, "only GET and HEAD"},
		{"GET", "/debug/ctrace/nope", 404, "no such endpoint"},
		{"GET", "/", 404, "no such endpoint"},
		{"GET", "/debug/pprof/trace", 404, "no such endpoint"}, /* alias off */
		{"GET", "/debug/ctrace/trace?seconds=0", 400, "at least 1"},
		{"GET", "/debug/ctrace/trace?seconds=-1", 400, "whole positive number"},
		{"GET", "/debug/ctrace/trace?seconds=abc", 400, "whole positive number"},
		{"GET", "/debug/ctrace/trace?seconds=1.5", 400, "whole positive number"},
		{"GET", "/debug/ctrace/trace?seconds=31", 400, "above the maximum"},
		{"GET", "/debug/ctrace/trace?seconds=18446744073709551617", 400,
		 "above the maximum"},
		{"GET", "/debug/ctrace/trace?seconds=", 400, "empty"},
		{"GET", "/debug/ctrace/trace?seconds", 400, "empty"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		log_clear();
		int st = request(cases[i].method, cases[i].path, NULL, out, sizeof out);
		if (st != cases[i].status)
			fail_msg("%s %s: %d, want %d", cases[i].method, cases[i].path, st,
				 cases[i].status);
		assert_non_null(strstr(out, cases[i].why)); /* the reason, in the body */
		char line[64];
		snprintf(line, sizeof line, "refused %d %s", cases[i].status, cases[i].method);
		assert_true(log_has(line));
		assert_true(log_has(cases[i].why));
	}
	assert_non_null(strstr(out, "(1 to 30)"));
	/* 405 says what is allowed */
	assert_int_equal(request("PUT", "/debug/ctrace/status", NULL, out, sizeof out), 405);
	assert_non_null(strstr(out, "Allow: GET, HEAD"));
	/* a long path; a long header; both refused, the server unharmed */
	static char path[2048], hdr[40000];
	memset(path, 'a', sizeof path - 1);
	path[0] = '/';
	log_clear();
	assert_int_equal(get(path, out, sizeof out), 414);
	assert_true(log_has("refused 414 GET /aaaa"));
	assert_true(log_has("...")); /* the logged path is cut */
	memcpy(hdr, "X-Big: ", 7);
	memset(hdr + 7, 'b', sizeof hdr - 10);
	memcpy(hdr + sizeof hdr - 3, "\r\n", 3);
	int st = request("GET", "/debug/ctrace/status", hdr, out, sizeof out);
	assert_true(st == 431 || st == 413 || st == 400); /* libmicrohttpd's refusal */
	/* a query is never logged */
	log_clear();
	assert_int_equal(get("/nope?secret=hunter2", out, sizeof out), 404);
	assert_false(log_has("hunter2"));
	/* and it still serves */
	assert_int_equal(get("/debug/ctrace/status", out, sizeof out), 200);
	assert_non_null(strstr(out, "\"recording\": false"));
	assert_non_null(strstr(out, "application/json"));
	/* HEAD: headers only, and no capture started */
	assert_int_equal(request("HEAD", "/debug/ctrace/trace?seconds=1", NULL, out, sizeof out),
			 200);
	assert_false(ct_active());
}

static void test_token(void **state)
{
	(void)state;
	start_server("s3cret-token", 0, 0, 0);
	static char out[1 << 16];
	assert_int_equal(get("/debug/ctrace/status", out, sizeof out), 401);
	assert_non_null(strstr(out, "WWW-Authenticate: Bearer"));
	assert_int_equal(request("GET", "/debug/ctrace/status", "Authorization: Bearer s3cret\r\n",
				 out, sizeof out),
			 401);
	assert_int_equal(request("GET", "/debug/ctrace/status",
				 "Authorization: Bearer s3cret-token-and-more\r\n", out,
				 sizeof out),
			 401);
	assert_int_equal(request("GET", "/debug/ctrace/status",
				 "Authorization: Basic s3cret-token\r\n", out, sizeof out),
			 401);
	/* unknown paths are not told apart without the token */
	assert_int_equal(get("/nope", out, sizeof out), 401);
	assert_true(log_has("refused 401 GET /debug/ctrace/status"));
	assert_true(log_has("missing or wrong bearer token"));
	assert_false(log_has("s3cret")); /* never the token, even a wrong one */
	assert_int_equal(request("GET", "/debug/ctrace/status",
				 "Authorization: Bearer s3cret-token\r\n", out, sizeof out),
			 200);
	assert_non_null(strstr(out, "\"token\": true"));
	/* curl, with the token: a capture */
	char file[256];
	snprintf(file, sizeof file, "%s/tok.ctrace", tmpdir);
	assert_int_equal(curl_get("/debug/ctrace/trace?seconds=1", file,
				  "-H 'Authorization: Bearer s3cret-token'"),
			 200);
	struct seen s;
	read_trace(file, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.complete);
}

static void test_addresses(void **state)
{
	(void)state;
	struct ct_http_config c;
	ct_http_config_init(&c);
	c.log = on_log;
	const char *bad[] = {"0.0.0.0:0",	"[::]:0",   "10.1.2.3:6060",  "localhost:x",
			     "127.0.0.1:70000", "::1:6060", "example.com:80", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c.address = bad[i];
		assert_int_equal(ct_http_start(&c), CT_ECONFIG);
		assert_non_null(ct_last_error());
		assert_int_equal(ct_http_port(), 0);
	}
	c.address = "0.0.0.0:0";
	assert_int_equal(ct_http_start(&c), CT_ECONFIG);
	assert_non_null(strstr(ct_last_error(), "without a token"));
	/* with a token it may listen everywhere */
	c.token = "t";
	assert_int_equal(ct_http_start(&c), 0);
	assert_true(ct_http_port() > 0);
	assert_int_equal(ct_http_start(&c), CT_EALREADY);
	assert_int_equal(ct_http_stop(), 0);
	assert_int_equal(ct_http_stop(), CT_ENOTRUNNING);
	/* loopback forms need none */
	c.token = NULL;
	const char *good[] = {"127.0.0.1:0", "localhost:0", "0", "[::1]:0", "127.3.4.5:0"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		c.address = good[i];
		int rc = ct_http_start(&c);
		if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT ||
		    (rc < 0 && rc != CT_ECONFIG && good[i][0] == '[')) { /* no IPv6 here */
			print_message("skipped %s: no such local address here\n", good[i]);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(ct_http_stop(), 0);
	}
	/* a port in use */
	c.address = "127.0.0.1:0";
	assert_int_equal(ct_http_start(&c), 0);
	char busy_addr[64];
	snprintf(busy_addr, sizeof busy_addr, "127.0.0.1:%d", ct_http_port());
	ct_http_stop();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 1), 0);
	socklen_t al = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &al);
	snprintf(busy_addr, sizeof busy_addr, "127.0.0.1:%d", ntohs(a.sin_port));
	c.address = busy_addr;
	assert_true(ct_http_start(&c) < 0);
	assert_non_null(strstr(ct_last_error(), "cannot listen"));
	close(fd);
}

static void test_capture_streams_and_reads_back(void **state)
{
	(void)state;
	start_server(NULL, 0, 0, 1);
	busy_start(16);
	char file[256], cmd[600];
	snprintf(file, sizeof file, "%s/cap.ctrace", tmpdir);
	atomic_store(&mark, 3);
	/* through the pprof alias, as Go's tools would ask */
	assert_int_equal(curl_get("/debug/pprof/trace?seconds=1", file, NULL), 200);
	assert_false(ct_active()); /* the capture it started has ended */
	struct seen s;
	read_trace(file, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.complete);
	assert_true(s.logs > 10);
	assert_true(s.marks & (1u << 3));
	assert_false(s.server_thread);
	snprintf(cmd, sizeof cmd, "%s report '%s' >/dev/null", CTRACE_CLI, file);
	assert_int_equal(system(cmd), 0);
	assert_true(log_has("capture for 127.0.0.1:"));
	assert_true(log_has("bytes written"));
	/* the default is one second */
	assert_int_equal(curl_get("/debug/ctrace/trace", file, NULL), 200);
	read_trace(file, &s);
	assert_true(s.complete);
	busy_end();
}

/* Several clients at once: two captures (one gets 429 with Retry-After)
 * and status requests all along. */
struct client {
	const char *path;
	int status;
	char out[4096];
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	c->status = get(c->path, c->out, sizeof c->out);
	return NULL;
}

static void test_concurrent_clients(void **state)
{
	(void)state;
	start_server(NULL, 0, 0, 0);
	busy_start(16);
	struct client cl[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		cl[i].path = i < 2 ? "/debug/ctrace/trace?seconds=2" : "/debug/ctrace/status";
		cl[i].status = 0;
	}
	/* the captures first: one of them wins, the other is refused at once */
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, client_main, &cl[i]), 0);
	assert_true(log_wait("capture for 127.0.0.1:"));
	for (int i = 2; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, client_main, &cl[i]), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	int ok = 0, busy429 = 0;
	for (int i = 0; i < 2; i++) {
		ok += cl[i].status == 200;
		if (cl[i].status == 429) {
			busy429++;
			assert_non_null(strstr(cl[i].out, "Retry-After: "));
		}
	}
	assert_int_equal(ok, 1);
	assert_int_equal(busy429, 1);
	assert_true(log_has("refused 429 GET /debug/ctrace/trace"));
	for (int i = 2; i < 8; i++)
		assert_int_equal(cl[i].status, 200);
	/* a program's own capture: the endpoint's is refused (409) */
	struct ct_config c;
	ct_config_init(&c);
	char file[256];
	snprintf(file, sizeof file, "%s/own.ctrace", tmpdir);
	c.path = file;
	assert_int_equal(ct_start(&c), 0);
	static char out[4096];
	assert_int_equal(get("/debug/ctrace/trace?seconds=1", out, sizeof out), 409);
	assert_int_equal(get("/debug/ctrace/status", out, sizeof out), 200);
	assert_non_null(strstr(out, "\"stream_owner\": \"program\""));
	assert_int_equal(ct_stop(), 0);
	busy_end();
}

static void test_flight_dump(void **state)
{
	(void)state;
	start_server(NULL, 0, 0, 0);
	static char out[1 << 16];
	log_clear();
	assert_int_equal(get("/debug/ctrace/flight", out, sizeof out), 404);
	assert_non_null(strstr(out, "no flight recorder is running"));
	assert_true(log_has("refused 404 GET /debug/ctrace/flight"));

	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = 1u << 20;
	c.flight_min_age_ns = 2000000000ull;
	c.dump_cooldown_ns = 600000000000ull; /* no second dump in this test */
	struct ct_flight *f = ct_flight_new(&c);
	assert_non_null(f);
	assert_int_equal(ct_flight_start(f), 0);
	busy_start(16);
	atomic_store(&mark, 5);
	usleep(300000); /* the past the dump is to hold: marks of 5 */
	ct_flush();
	atomic_store(&mark, 6);
	char file[256];
	snprintf(file, sizeof file, "%s/flight.ctrace", tmpdir);
	assert_int_equal(curl_get("/debug/ctrace/flight", file, NULL), 200);
	struct seen s;
	read_trace(file, &s);
	assert_int_equal(s.rc, 0);
	assert_true(s.complete);
	assert_true(s.marks & (1u << 5)); /* the recent past */
	assert_string_equal(s.reason, "manual");
	assert_true(log_has("flight dump for 127.0.0.1:"));
	/* the cooldown: refused, with when to come back */
	assert_int_equal(get("/debug/ctrace/flight", out, sizeof out), 429);
	assert_non_null(strstr(out, "Retry-After: "));
	assert_true(log_has("less than the dump cooldown ago"));
	/* the status page: the window, the dump and its reason */
	assert_int_equal(get("/debug/ctrace/status", out, sizeof out), 200);
	assert_non_null(strstr(out, "\"flight\": {\"running\": true"));
	assert_non_null(strstr(out, "\"reason\": \"manual\""));
	assert_null(strstr(out, "mark "));	       /* never a log message */
	assert_null(strstr(out, "\"window_ns\": 0}")); /* the window holds time */
	/* a capture while the flight recorder runs: joins it, and leaves it */
	atomic_store(&mark, 7);
	snprintf(file, sizeof file, "%s/joined.ctrace", tmpdir);
	assert_int_equal(curl_get("/debug/ctrace/trace?seconds=1", file, NULL), 200);
	read_trace(file, &s);
	assert_true(s.complete);
	assert_true(s.marks & (1u << 7));
	assert_false(s.server_thread);
	assert_true(ct_active()); /* the flight recorder goes on */
	busy_end();
	ct_flight_free(f);
}

static void test_stalled_client_timed_out(void **state)
{
	(void)state;
	start_server(NULL, 1, 0, 0);
	/* half a request, then nothing: the server hangs up */
	int fd = dial(0);
	const char *half = "GET /debug/ctrace/status HTTP/1.1\r\nHost: x\r\n";
	send_all(fd, half, strlen(half));
	char b[256];
	ssize_t r = recv(fd, b, sizeof b, 0);
	assert_true(r == 0 || (r < 0 && errno == ECONNRESET)); /* closed, not our 30 s guard */
	close(fd);
	static char out[4096];
	assert_int_equal(get("/debug/ctrace/status", out, sizeof out), 200);
}

static void test_client_leaving_ends_capture(void **state)
{
	(void)state;
	start_server(NULL, 0, 0, 0);
	busy_start(16);
	int fd = dial(0);
	const char *req = "GET /debug/ctrace/trace?seconds=30 HTTP/1.1\r\nHost: x\r\n\r\n";
	send_all(fd, req, strlen(req));
	char b[512];
	assert_true(recv(fd, b, sizeof b, 0) > 0); /* the response has begun */
	assert_true(ct_active());
	close(fd);
	assert_true(log_wait("the client went away"));
	static char out[4096];
	/* the capture has ended: a new one may start */
	assert_false(ct_active());
	char file[256];
	snprintf(file, sizeof file, "%s/after.ctrace", tmpdir);
	assert_int_equal(curl_get("/debug/ctrace/trace?seconds=1", file, NULL), 200);
	assert_int_equal(get("/debug/ctrace/status", out, sizeof out), 200);
	busy_end();
}

static void test_slow_reader_ends_capture(void **state)
{
	(void)state;
	/* a 1 MiB queue, uncompressed volume, and a client that reads nothing */
	setenv("CTRACE_COMPRESS", "none", 1);
	start_server(NULL, 30, 1u << 20, 0);
	busy_start(900);
	int fd = dial(4096);
	const char *req = "GET /debug/ctrace/trace?seconds=20 HTTP/1.1\r\nHost: x\r\n\r\n";
	send_all(fd, req, strlen(req));
	assert_true(log_wait("the client read too slowly"));
	assert_true(log_has("is cut short"));
	busy_end();
	close(fd);
	unsetenv("CTRACE_COMPRESS");
	assert_false(ct_active());
	/* the endpoint is free again */
	static char out[4096];
	assert_int_equal(get("/debug/ctrace/status", out, sizeof out), 200);
	assert_non_null(strstr(out, "\"recording\": false"));
}

static void test_connection_limit(void **state)
{
	(void)state;
	struct ct_http_config c;
	ct_http_config_init(&c);
	c.address = "127.0.0.1:0";
	c.log = on_log;
	c.max_connections = 2;
	c.timeout_s = 30;
	assert_int_equal(ct_http_start(&c), 0);
	port = ct_http_port();
	/* two clients hold their connections with half a request each */
	const char *half = "GET /debug/ctrace/status HTTP/1.1\r\n";
	int a = dial(0), b = dial(0);
	send_all(a, half, strlen(half));
	send_all(b, half, strlen(half));
	/* a third waits in the kernel's backlog, unanswered, while they hold
	 * (libmicrohttpd accepts no more) */
	int x = dial(0);
	const char *req = "GET /debug/ctrace/status HTTP/1.1\r\nHost: x\r\n"
			  "Connection: close\r\n\r\n";
	send_all(x, req, strlen(req));
	struct pollfd pf = {.fd = x, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 500), 0); /* (a wrong answer cannot come late) */
	/* once one of them leaves, it is served */
	close(a);
	char buf[512];
	ssize_t r = recv(x, buf, sizeof buf - 1, 0);
	assert_true(r > 12);
	buf[r] = 0;
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	close(x);
	close(b);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	if (system("curl --version >/dev/null 2>&1") != 0) {
		printf("test_http: curl is not installed (scripts/deps installs it)\n");
		return 1;
	}
	setenv("CTRACE_SCHED", "off", 1); /* none of this is about the scheduler */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_requests_refused_and_logged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_streams_and_reads_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flight_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_client_timed_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_leaving_ends_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader_ends_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
