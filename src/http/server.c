/* The admin endpoint: an embedded HTTP server (libmicrohttpd) on a thread
 * of its own that is never traced, serving a fresh capture streamed as it
 * is written, the flight recorder's window, and a status page. The writer
 * hands a capture's bytes over through a bounded queue it never waits on;
 * everything else (libmicrohttpd, ct_stop at the capture's end) runs on the
 * server's thread. README "Admin endpoint", docs/DECISIONS.md. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "http/http.h"
#include "http/parse.h"
#include "http/server.h"
#include "record/capture.h"
#include "record/dumplog.h"
#include "record/rec.h"

struct server srv;
static pthread_mutex_t life_mu = PTHREAD_MUTEX_INITIALIZER; /* start/stop */

uint64_t http_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void log_stderr(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "ctrace: http: %s\n", line);
}

void http_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	srv.log(srv.log_arg, line);
}

/* libmicrohttpd's own messages (a connection over the limit, a request
 * too large...) go to the same log. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[400];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	http_log("libmicrohttpd: %s", line);
}

void http_wake(void)
{
	uint64_t one = 1;
	/* an eventfd never blocks here: it is non-blocking, and its counter
	 * only saturates after 2^64 - 2 wakes */
	ssize_t n = write(srv.evfd, &one, sizeof one);
	(void)n;
}

void ct_http_config_init(struct ct_http_config *c)
{
	memset(c, 0, sizeof *c);
	c->address = "127.0.0.1:6060";
	c->max_seconds = 30;
	c->max_connections = 8;
	c->timeout_s = 10;
	c->queue_bytes = 16u << 20;
}

/* ---- requests ---- */

void http_peer_name(struct MHD_Connection *conn, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)sa;
			inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
			port = ntohs(in->sin_port);
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)sa;
			inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(out, cap, "%s:%u", a, port);
}

enum MHD_Result http_reply(struct MHD_Connection *conn, unsigned status, const char *type,
			   const char *body, const char *hname, const char *hval)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (hname)
		MHD_add_response_header(r, hname, hval);
	enum MHD_Result ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

/* A refusal: logged with its reason, and the reason in the body. */
enum MHD_Result http_refuse(struct MHD_Connection *conn, unsigned status, const char *method,
			    const char *path, const char *why, const char *hname, const char *hval)
{
	char peer[80], body[300];
	http_peer_name(conn, peer, sizeof peer);
	srv.refused++;
	/* the path is cut (a long one is itself the refusal) and never has
	 * its query: nothing a client sent beyond that is logged */
	http_log("refused %u %.8s %.80s%s from %s: %s", status, method, path,
		 strlen(path) > 80 ? "..." : "", peer, why);
	snprintf(body, sizeof body, "ctrace: %s\n", why);
	return http_reply(conn, status, "text/plain; charset=utf-8", body, hname, hval);
}

static enum MHD_Result serve_status(struct MHD_Connection *conn)
{
	char *json = http_status_json();
	if (!json)
		return http_reply(conn, 500, "text/plain", "ctrace: out of memory\n", NULL, NULL);
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(json);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ok = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ok;
}

enum MHD_Result http_trace_headers(struct MHD_Response *r, const char *what)
{
	char disp[160];
	snprintf(disp, sizeof disp, "attachment; filename=\"%s-%d-%s.ctrace\"",
		 program_invocation_short_name, (int)getpid(), what);
	MHD_add_response_header(r, "Content-Type", "application/octet-stream");
	MHD_add_response_header(r, "Content-Disposition", disp);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	return MHD_YES;
}

static enum MHD_Result serve_flight(struct MHD_Connection *conn, const char *method,
				    const char *path, int head)
{
	if (head)
		return http_reply(conn, 200, "application/octet-stream", "", NULL, NULL);
	uint64_t now = http_mono_ns(), prev = 0, left = 0;
	char ra[32];
	if (!dump_cooldown_take(now, &prev, &left)) {
		snprintf(ra, sizeof ra, "%llu", (unsigned long long)(left / 1000000000u + 1));
		return http_refuse(conn, 429, method, path,
				   "a dump was written less than the dump cooldown ago",
				   "Retry-After", ra);
	}
	/* In memory, not on disk (a trace is sensitive), and at memory speed:
	 * the writer never waits for the client. */
	int fd = memfd_create("ctrace-flight", MFD_CLOEXEC);
	if (fd < 0) {
		dump_cooldown_undo(now, prev);
		return http_refuse(conn, 503, method, path, "cannot make a buffer for the dump",
				   NULL, NULL);
	}
	int rc = ct_flight_write_fd(fd);
	if (rc) {
		dump_cooldown_undo(now, prev);
		close(fd);
		if (rc == CT_ENOTRUNNING)
			return http_refuse(conn, 404, method, path,
					   "no flight recorder is running (start one with "
					   "ct_flight_start, CTRACE_FLIGHT or ctrace run --flight)",
					   NULL, NULL);
		char why[160];
		snprintf(why, sizeof why, "the dump failed: %s", ct_strerror(rc));
		return http_refuse(conn, 500, method, path, why, NULL, NULL);
	}
	off_t size = lseek(fd, 0, SEEK_END);
	struct MHD_Response *r =
		size > 0 ? MHD_create_response_from_fd_at_offset64((uint64_t)size, fd, 0) : NULL;
	if (!r) {
		close(fd);
		return http_reply(conn, 500, "text/plain", "ctrace: cannot send the dump\n", NULL,
				  NULL);
	}
	http_trace_headers(r, "flight");
	char peer[80];
	http_peer_name(conn, peer, sizeof peer);
	srv.dumps++;
	http_log("flight dump for %s: %lld bytes", peer, (long long)size);
	enum MHD_Result ok = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	(void)cls;
	(void)version;
	(void)upload;
	static int seen;
	if (!*req_cls) { /* headers are in: the body (none for GET) comes next */
		*req_cls = &seen;
		return MHD_YES;
	}
	if (*upload_size) { /* a body: not for any of these endpoints */
		*upload_size = 0;
		return MHD_YES;
	}
	srv.requests++;
	int head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET"))
		return http_refuse(conn, 405, method, url, "only GET and HEAD", "Allow",
				   "GET, HEAD");
	if (strlen(url) > HTTP_MAX_PATH)
		return http_refuse(conn, 414, method, url, "the path is too long", NULL, NULL);
	if (srv.token &&
	    !http_token_ok(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
			   srv.token))
		return http_refuse(conn, 401, method, url, "missing or wrong bearer token",
				   "WWW-Authenticate", "Bearer realm=\"ctrace\"");
	switch (http_route(url, srv.pprof_alias)) {
	case HTTP_ROUTE_STATUS:
		return serve_status(conn);
	case HTTP_ROUTE_FLIGHT:
		return serve_flight(conn, method, url, head);
	case HTTP_ROUTE_TRACE:
		return http_serve_trace(conn, method, url, head);
	default:
		return http_refuse(conn, 404, method, url,
				   "no such endpoint (/debug/ctrace/trace?seconds=N, "
				   "/debug/ctrace/flight, /debug/ctrace/status)",
				   NULL, NULL);
	}
}

/* ---- the server's thread ---- */

static void *server_main(void *arg)
{
	(void)arg;
	/* ctrace's own thread, like the writer: never traced (its interposed
	 * calls see a dead thread and pass straight through) */
	ct_tls.dead = 1;
	ct_tls.epoch = EPOCH_DEAD;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_EPOLL_FD);
	int epfd = di ? di->epoll_fd : -1;
	while (!atomic_load(&srv.stop)) {
		struct pollfd pf[3] = {{.fd = epfd, .events = POLLIN},
				       {.fd = srv.evfd, .events = POLLIN}};
		int n = 2;
		struct capture *c = srv.cap;
		/* a suspended capture's client is watched for leaving */
		if (c && c->suspended && c->conn && !c->stopped) {
			const union MHD_ConnectionInfo *ci =
				MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
			if (ci) {
				pf[2].fd = ci->connect_fd;
				pf[2].events = POLLRDHUP;
				n = 3;
			}
		}
		MHD_UNSIGNED_LONG_LONG to = 0;
		/* Idle, it sleeps until a client comes (no periodic wake-up);
		 * during a capture, its deadline is checked at least this often. */
		int timeout = c && !c->stopped ? 250 : -1;
		if (MHD_get_timeout(srv.d, &to) == MHD_YES &&
		    (timeout < 0 || to < (MHD_UNSIGNED_LONG_LONG)timeout))
			timeout = to > 3600000 ? 3600000 : (int)to;
		if (c && !c->stopped) {
			uint64_t now = http_mono_ns();
			uint64_t left = c->deadline_ns > now ? c->deadline_ns - now : 0;
			if (left / 1000000u < (uint64_t)timeout)
				timeout = (int)(left / 1000000u) + 1;
		}
		if (poll(pf, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (pf[1].revents & POLLIN) {
			uint64_t v;
			ssize_t r = read(srv.evfd, &v, sizeof v);
			(void)r;
		}
		if (n == 3 && (pf[2].revents & (POLLRDHUP | POLLHUP | POLLERR)) && c && !c->stopped)
			http_cap_stop(c, "the client went away");
		http_cap_tick();
		MHD_run(srv.d);
		/* A connection closed in that turn frees a place, but the listening
		 * socket (left out at the connection limit) is watched again only
		 * from the next turn: take it now, or a client waiting beyond the
		 * limit would wait for some other event. */
		MHD_run(srv.d);
		http_cap_tick();
	}
	/* Stopping: the capture ends, its connection is resumed so that
	 * libmicrohttpd can close it (a suspended one must not be left). */
	struct capture *c = srv.cap;
	if (c) {
		http_cap_stop(c, "the endpoint is stopping");
		if (c->suspended && c->conn) {
			c->suspended = 0;
			MHD_resume_connection(c->conn);
		}
		MHD_run(srv.d);
	}
	MHD_stop_daemon(srv.d);
	srv.d = NULL;
	if (srv.cap) { /* the response was freed with the daemon */
		c = srv.cap;
		c->resp_freed = 1;
		http_cap_free_if_done(c);
	}
	return NULL;
}

/* A sanitizer's runtime must see every thread start: in its builds the
 * thread goes through the usual pthread_create (and may be registered in a
 * capture running at that moment). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define HTTP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define HTTP_SANITIZED 1
#endif
#endif

/* Created through libc's pthread_create, not ctrace's interposer (which
 * would register it in a running capture before it could say no). */
static int create_thread(pthread_t *th)
{
	typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	create_fn real = pthread_create;
#ifndef HTTP_SANITIZED
	create_fn next = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
	if (next)
		real = next;
#endif
	sigset_t all, old;
	sigfillset(&all); /* the program's signals are not for this thread */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = real(th, NULL, server_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void forget_in_child(void)
{
	/* The child has no server thread, and the listening socket is the
	 * parent's: forget both without touching them. */
	memset(&srv, 0, sizeof srv);
	srv.evfd = -1;
}

static int config_error(const char *fmt, const char *a, const char *b)
{
	char msg[256];
	snprintf(msg, sizeof msg, fmt, a, b);
	return capture_set_error(CT_ECONFIG, msg);
}

int ct_http_start(const struct ct_http_config *cin)
{
	struct ct_http_config c;
	if (cin)
		c = *cin;
	else
		ct_http_config_init(&c);
	char host[64];
	unsigned port;
	int v6;
	const char *why = NULL;
	if (!c.address)
		c.address = "127.0.0.1:6060";
	if (http_parse_address(c.address, host, sizeof host, &port, &v6, &why))
		return config_error("admin endpoint: bad address '%s': %s", c.address, why);
	const char *token = c.token && *c.token ? c.token : NULL;
	if (!token && !http_is_loopback(host, v6))
		return config_error("admin endpoint: refusing to listen on %s without a token "
				    "(set one: CTRACE_HTTP_TOKEN_FILE, or ct_http_config.token)%s",
				    c.address, "");
	if (c.max_seconds > 3600)
		return config_error("admin endpoint: max_seconds %s%s is above 3600", "", "");
	if (c.max_connections < 2 || c.max_connections > 1024)
		return config_error("admin endpoint: max_connections must be 2 to 1024%s%s", "",
				    "");
	if (c.timeout_s < 1 || c.timeout_s > 3600)
		return config_error("admin endpoint: timeout_s must be 1 to 3600%s%s", "", "");
	if (c.queue_bytes < (1u << 20) || c.queue_bytes > (1ull << 32))
		return config_error("admin endpoint: queue_bytes must be 1 MiB to 4 GiB%s%s", "",
				    "");
	pthread_mutex_lock(&life_mu);
	if (srv.d) {
		pthread_mutex_unlock(&life_mu);
		return capture_set_error(CT_EALREADY, "the admin endpoint is already running");
	}
	static int atfork_done;
	if (!atfork_done) {
		pthread_atfork(NULL, NULL, forget_in_child);
		atfork_done = 1;
	}
	memset(&srv, 0, sizeof srv);
	srv.token = token ? strdup(token) : NULL;
	srv.max_seconds = c.max_seconds;
	srv.pprof_alias = c.pprof_alias;
	srv.queue_bytes = c.queue_bytes;
	/* Read once: CTRACE_* also sets process-wide trigger rules, which a
	 * capture must not reset. Bad values were reported at the program's
	 * start; the defaults stand in for them. */
	ct_config_init(&srv.rec_cfg);
	if (ct_config_from_env(&srv.rec_cfg) != 0)
		ct_config_init(&srv.rec_cfg);
	struct ct_config d;
	ct_config_init(&d);
	srv.rec_cfg.path = NULL;
	srv.rec_cfg.fd = -1;
	srv.rec_cfg.flight_max_bytes = 0;
	srv.rec_cfg.flight_min_age_ns = d.flight_min_age_ns;
	srv.rec_cfg.dump_dir = NULL;
	srv.rec_cfg.dump_signal = 0;
	srv.rec_cfg.dump_on_crash = 0;
	srv.log = c.log ? c.log : log_stderr;
	srv.log_arg = c.log ? c.log_arg : NULL;
	snprintf(srv.address, sizeof srv.address, "%s", c.address);
	srv.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc = 0;
	if (srv.evfd < 0 || (token && !srv.token)) {
		rc = -errno;
		goto fail;
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (v6) {
		struct sockaddr_in6 *a = (void *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (void *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &a->sin_addr);
	}
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			 (v6 ? MHD_USE_IPv6 : 0);
	errno = 0;
	srv.d = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_logger, NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_CONNECTION_LIMIT,
		c.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, c.timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16u << 10),
		MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, NULL, MHD_OPTION_END);
	if (!srv.d) {
		rc = errno ? -errno : -EADDRINUSE;
		char msg[300];
		snprintf(msg, sizeof msg, "admin endpoint: cannot listen on %s: %s", c.address,
			 strerror(-rc));
		capture_set_error(rc, msg);
		goto fail_quiet;
	}
	const union MHD_DaemonInfo *pi = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	srv.port = pi ? pi->port : port;
	rc = -create_thread(&srv.thread);
	if (rc) {
		MHD_stop_daemon(srv.d);
		srv.d = NULL;
		goto fail;
	}
	pthread_setname_np(srv.thread, "ctrace-http");
	http_log("listening on %s%s%s:%u%s", v6 ? "[" : "", host, v6 ? "]" : "", srv.port,
		 token ? " (token required)" : "");
	pthread_mutex_unlock(&life_mu);
	return 0;
fail:
	capture_set_error(rc, "admin endpoint: cannot start");
fail_quiet:
	if (srv.evfd >= 0)
		close(srv.evfd);
	free(srv.token);
	memset(&srv, 0, sizeof srv);
	srv.evfd = -1;
	pthread_mutex_unlock(&life_mu);
	return rc;
}

int ct_http_stop(void)
{
	pthread_mutex_lock(&life_mu);
	if (!srv.d) {
		pthread_mutex_unlock(&life_mu);
		return CT_ENOTRUNNING;
	}
	atomic_store(&srv.stop, 1);
	http_wake();
	pthread_join(srv.thread, NULL);
	close(srv.evfd);
	free(srv.token);
	memset(&srv, 0, sizeof srv);
	srv.evfd = -1;
	pthread_mutex_unlock(&life_mu);
	return 0;
}

int ct_http_port(void)
{
	pthread_mutex_lock(&life_mu);
	int p = srv.d ? (int)srv.port : 0;
	pthread_mutex_unlock(&life_mu);
	return p;
}

/* ---- CTRACE_HTTP ---- */

static void stop_at_exit(void)
{
	ct_http_stop();
}

void http_auto_start(void)
{
	const char *addr = getenv("CTRACE_HTTP"), *v;
	if (!addr || !*addr)
		return;
	struct ct_http_config c;
	ct_http_config_init(&c);
	c.address = addr;
	char token[512] = "";
	if ((v = getenv("CTRACE_HTTP_TOKEN")) && *v)
		snprintf(token, sizeof token, "%s", v);
	if ((v = getenv("CTRACE_HTTP_TOKEN_FILE")) && *v) {
		int fd = open(v, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, token, sizeof token - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0) {
			fprintf(stderr,
				"ctrace: http: not serving: cannot read the token file %s\n", v);
			return;
		}
		token[n] = 0;
		token[strcspn(token, "\r\n")] = 0;
	}
	c.token = token;
	char *end;
	if ((v = getenv("CTRACE_HTTP_MAX_SECONDS"))) {
		unsigned long s = strtoul(v, &end, 10);
		if (!*v || *end || s > 3600) {
			fprintf(stderr,
				"ctrace: http: not serving: CTRACE_HTTP_MAX_SECONDS: bad value "
				"'%s' (0 to 3600)\n",
				v);
			return;
		}
		c.max_seconds = (unsigned)s;
	}
	if ((v = getenv("CTRACE_HTTP_PPROF")))
		c.pprof_alias = !strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "yes");
	int rc = ct_http_start(&c);
	memset(token, 0, sizeof token);
	if (rc) {
		const char *msg = ct_last_error();
		fprintf(stderr, "ctrace: http: not serving: %s\n", msg ? msg : ct_strerror(rc));
		return;
	}
	atexit(stop_at_exit);
}
