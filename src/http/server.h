/* The admin endpoint's state, shared by server.c (the server, its
 * requests, the capture's queue) and status.c (the status page). Server
 * thread only unless a field says otherwise. */
#ifndef CT_HTTP_SERVER_H
#define CT_HTTP_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "ctrace.h"

/* A capture streamed to one client. The writer's callback fills the queue
 * (under mu, a copy and nothing else); the server's thread empties it into
 * the connection, and ends the capture. */
struct capture {
	pthread_mutex_t mu;
	uint8_t *buf; /* the queue: a ring of cap bytes */
	size_t cap, head, len, len_max;
	int overflow;	  /* under mu: a write found it full */
	uint64_t written; /* under mu: bytes the writer queued */

	struct MHD_Connection *conn; /* NULL once the request ended */
	int suspended;		     /* waiting for the writer */
	int stopped, stop_rc;	     /* ct_stop done, and what it said */
	int resp_freed;		     /* libmicrohttpd let go of it */
	const char *gone_why;	     /* the client left or was timed out */
	unsigned seconds;
	uint64_t start_ns, deadline_ns, end_ns;
	uint64_t sent; /* bytes handed to libmicrohttpd */
	char peer[80];
};

struct server {
	struct MHD_Daemon *d;
	pthread_t thread;
	_Atomic int stop;
	int evfd; /* wakes the server's thread (the writer queued bytes) */
	unsigned port;
	char address[80];
	char *token;
	unsigned max_seconds;
	int pprof_alias;
	size_t queue_bytes;
	struct ct_config rec_cfg; /* a capture's settings: defaults and CTRACE_*, no output */
	ct_log_fn log;
	void *log_arg;
	struct capture *cap; /* the capture being streamed, if any */
	uint64_t requests, refused, captures, dumps;
	int last_capture_ok;
};
extern struct server srv;

void http_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void http_wake(void);
uint64_t http_mono_ns(void);
/* Replies (server.c): a body of text; a refusal, logged with its reason;
 * the client's address; a trace's headers. */
enum MHD_Result http_reply(struct MHD_Connection *conn, unsigned status, const char *type,
			   const char *body, const char *hname, const char *hval);
enum MHD_Result http_refuse(struct MHD_Connection *conn, unsigned status, const char *method,
			    const char *path, const char *why, const char *hname, const char *hval);
void http_peer_name(struct MHD_Connection *conn, char *out, size_t cap);
enum MHD_Result http_trace_headers(struct MHD_Response *r, const char *what);
/* The capture (stream.c): GET /debug/ctrace/trace; each turn of the
 * server's loop (its end, its connection resumed); its end, once (why:
 * NULL at its seconds); freed once stopped and let go by libmicrohttpd; a
 * request's end (libmicrohttpd's completion callback). */
enum MHD_Result http_serve_trace(struct MHD_Connection *conn, const char *method, const char *path,
				 int head);
void http_cap_tick(void);
void http_cap_stop(struct capture *c, const char *why);
void http_cap_free_if_done(struct capture *c);
void http_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		       enum MHD_RequestTerminationCode toe);
/* The status page (status.c), malloc'd; NULL when out of memory. */
char *http_status_json(void);

#endif
