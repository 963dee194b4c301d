/* The admin endpoint's capture: a stream the writer fills through a bounded
 * queue it never waits on, sent to one client as it is written, and ended
 * at its seconds, or when the client reads too slowly, leaves or stalls
 * (README "Admin endpoint", docs/DECISIONS.md). */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctrace.h"
#include "http/parse.h"
#include "http/server.h"

/* ---- the capture's hand-off queue (writer -> server) ---- */

/* The sink callback, on the writer's thread: copies into the queue or, when
 * it is full, refuses (the writer then writes nothing more to this stream,
 * and the server ends the capture). Never waits for the client. */
static int cap_write(void *arg, const void *p, size_t n)
{
	struct capture *c = arg;
	int rc = 0;
	pthread_mutex_lock(&c->mu);
	if (c->overflow || c->cap - c->len < n) {
		c->overflow = 1;
		rc = -ENOBUFS;
	} else {
		size_t tail = (c->head + c->len) % c->cap;
		size_t first = n < c->cap - tail ? n : c->cap - tail;
		memcpy(c->buf + tail, p, first);
		memcpy(c->buf, (const uint8_t *)p + first, n - first);
		c->len += n;
		if (c->len > c->len_max)
			c->len_max = c->len;
		c->written += n;
	}
	pthread_mutex_unlock(&c->mu);
	http_wake();
	return rc;
}

static size_t cap_take(struct capture *c, char *out, size_t max, int *overflow)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->len < max ? c->len : max;
	size_t first = n < c->cap - c->head ? n : c->cap - c->head;
	memcpy(out, c->buf + c->head, first);
	memcpy(out + first, c->buf, n - first);
	c->head = (c->head + n) % c->cap;
	c->len -= n;
	*overflow = c->overflow;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static size_t cap_pending(struct capture *c, int *overflow)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->len;
	*overflow = c->overflow;
	pthread_mutex_unlock(&c->mu);
	return n;
}

void http_cap_free_if_done(struct capture *c)
{
	if (!c->stopped || !c->resp_freed)
		return;
	if (srv.cap == c)
		srv.cap = NULL;
	pthread_mutex_destroy(&c->mu);
	munmap(c->buf, c->cap);
	free(c);
}

/* libmicrohttpd asks for the body: what the writer queued, then the end
 * once the capture has stopped and the queue is empty. With nothing to
 * send yet, the connection is suspended until the writer queues more. */
static ssize_t cap_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct capture *c = cls;
	int overflow;
	size_t n = cap_take(c, out, max, &overflow);
	if (n) {
		c->sent += n;
		return (ssize_t)n;
	}
	if (overflow || (c->stopped && c->stop_rc))
		return MHD_CONTENT_READER_END_WITH_ERROR; /* the client sees a cut transfer */
	if (c->stopped)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!c->suspended && c->conn) {
		MHD_suspend_connection(c->conn);
		c->suspended = 1;
	}
	return 0;
}

static void cap_resp_free(void *cls)
{
	struct capture *c = cls;
	c->resp_freed = 1;
	c->conn = NULL;
	http_cap_free_if_done(c);
}

/* Ends the capture (server thread): ct_stop, once. why: NULL for the end
 * of its seconds. */
void http_cap_stop(struct capture *c, const char *why)
{
	if (c->stopped)
		return;
	c->stop_rc = ct_stop();
	c->stopped = 1;
	c->end_ns = http_mono_ns();
	int overflow;
	cap_pending(c, &overflow);
	double secs = (double)(c->end_ns - c->start_ns) / 1e9;
	if (overflow)
		why = "the client read too slowly: the queue between the writer and it filled";
	if (overflow || (!why && c->stop_rc == -ENOBUFS)) {
		c->stop_rc = -ENOBUFS;
		http_log("capture for %s ended after %.1f s of %u: %s (%zu bytes); the trace it "
			 "received is cut short",
			 c->peer, secs, c->seconds, why, c->cap);
	} else if (why) {
		http_log("capture for %s ended after %.1f s of %u: %s", c->peer, secs, c->seconds,
			 why);
	} else if (c->stop_rc && c->stop_rc != CT_ENOTRUNNING) {
		http_log("capture for %s ended after %.1f s: %s", c->peer, secs,
			 ct_strerror(c->stop_rc));
	} else {
		c->stop_rc = 0; /* (a program's ct_stop may have ended it already) */
		http_log("capture for %s: %u s, %llu bytes written", c->peer, c->seconds,
			 (unsigned long long)c->written);
	}
	srv.last_capture_ok = c->stop_rc == 0;
}

/* Server thread, each turn: the capture's end (its seconds, a client gone
 * or too slow), and its connection resumed when there is more to send. */
void http_cap_tick(void)
{
	struct capture *c = srv.cap;
	if (!c)
		return;
	int overflow;
	size_t pending = cap_pending(c, &overflow);
	if (!c->stopped) {
		if (overflow)
			http_cap_stop(c, NULL);
		else if (c->gone_why)
			http_cap_stop(c, c->gone_why);
		else if (http_mono_ns() >= c->deadline_ns)
			http_cap_stop(c, NULL);
	}
	if (c->suspended && c->conn && (pending || overflow || c->stopped)) {
		c->suspended = 0;
		MHD_resume_connection(c->conn);
	}
	http_cap_free_if_done(c);
}

enum MHD_Result http_serve_trace(struct MHD_Connection *conn, const char *method, const char *path,
				 int head)
{
	const char *v = NULL, *why = NULL;
	MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "seconds", 7, &v, NULL);
	/* "?seconds" with no value is present but empty */
	if (!v && MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "seconds", 7, NULL,
						NULL) == MHD_YES)
		v = "";
	unsigned secs;
	if (http_parse_seconds(v, srv.max_seconds, &secs, &why)) {
		char msg[160];
		snprintf(msg, sizeof msg, "%s (1 to %u)", why, srv.max_seconds);
		return http_refuse(conn, 400, method, path, msg, NULL, NULL);
	}
	if (srv.cap) {
		char ra[32];
		uint64_t now = http_mono_ns(), end = srv.cap->deadline_ns;
		snprintf(ra, sizeof ra, "%llu",
			 (unsigned long long)((end > now ? end - now : 0) / 1000000000u + 1));
		return http_refuse(conn, 429, method, path, "a capture is already being streamed",
				   "Retry-After", ra);
	}
	if (head)
		return http_reply(conn, 200, "application/octet-stream", "", NULL, NULL);
	struct capture *c = calloc(1, sizeof *c);
	void *buf = c ? mmap(NULL, srv.queue_bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
		      : MAP_FAILED;
	if (buf == MAP_FAILED) {
		free(c);
		return http_refuse(conn, 503, method, path, "out of memory for the capture's queue",
				   NULL, NULL);
	}
	c->buf = buf;
	c->cap = srv.queue_bytes;
	pthread_mutex_init(&c->mu, NULL);
	c->seconds = secs;
	c->conn = conn;
	http_peer_name(conn, c->peer, sizeof c->peer);
	/* The recording's settings (read at the start), with this stream as
	 * its only output; a running flight recorder is joined. */
	struct ct_config cfg = srv.rec_cfg;
	cfg.write = cap_write;
	cfg.write_arg = c;
	c->start_ns = http_mono_ns();
	c->deadline_ns = c->start_ns + (uint64_t)secs * 1000000000u;
	int rc = ct_start(&cfg);
	if (rc) {
		pthread_mutex_destroy(&c->mu);
		munmap(c->buf, c->cap);
		free(c);
		if (rc == CT_EALREADY)
			return http_refuse(
				conn, 409, method, path,
				"the program is recording a capture of its own (a stream, or "
				"a flight recorder started with ct_start), which an endpoint "
				"capture cannot join",
				NULL, NULL);
		char msg[300];
		const char *le = ct_last_error();
		snprintf(msg, sizeof msg, "cannot start a capture: %s", le ? le : ct_strerror(rc));
		return http_refuse(conn, 503, method, path, msg, NULL, NULL);
	}
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64u << 10,
								   cap_read, c, cap_resp_free);
	if (!r) {
		c->resp_freed = 1;
		srv.cap = c;
		http_cap_stop(c, "out of memory for the response");
		http_cap_free_if_done(c);
		return MHD_NO;
	}
	srv.cap = c;
	srv.captures++;
	http_trace_headers(r, "trace");
	http_log("capture for %s: %u s", c->peer, secs);
	enum MHD_Result ok = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ok;
}

/* A request ends: a capture's client that left (or was timed out) ends it. */
void http_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		       enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)req_cls;
	struct capture *c = srv.cap;
	if (!c || c->conn != conn)
		return;
	c->conn = NULL;
	if (c->stopped)
		return;
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		break;
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		c->gone_why = "the client read nothing for the connection timeout";
		break;
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		c->gone_why = "the endpoint is stopping";
		break;
	default:
		c->gone_why = "the client went away";
		break;
	}
	if (c->gone_why)
		http_cap_stop(c, c->gone_why);
}
