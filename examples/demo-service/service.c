/* The demo service: a small HTTP service (libmicrohttpd) traced with ctrace.
 * Each request is a task named after its operation, stamped with the W3C
 * trace context it came with; a latency middleware ends it and, over the
 * threshold, asks the flight recorder for a dump naming it. See README.md. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
	"usage: demo-service [--listen ADDR:PORT] [--downstream ADDR:PORT] [--workers N]\n"
	"         [--slow DUR] [--incident MODE] [--trace off|flight|stream=FILE]\n"
	"         [--dump-dir DIR] [--cpu-hz N] [--admin ADDR:PORT|off] [--data-dir DIR]\n"
	"  MODE: none lock pool downstream faults cpu; DUR: 100ms, 1s...\n";

static struct {
	struct sockaddr_in listen, downstream;
	unsigned workers;
	uint64_t slow_ns;
	int incident;
	const char *trace; /* "off", "flight" or "stream=FILE" */
	const char *dump_dir, *admin, *data_dir;
	unsigned cpu_hz;
} opt = {.workers = 16,
	 .slow_ns = 50000000,
	 .trace = "flight",
	 .dump_dir = "ctrace-dumps",
	 .admin = "127.0.0.1:6060",
	 .data_dir = "demo-data",
	 .cpu_hz = 100};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
			     size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
				body[0] == '{' ? "application/json" : "text/plain");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

struct route {
	const char *method, *path;
	const char *op;	    /* the task type: "GET /catalog" */
	const char *reason; /* the dump's reason when it is slow */
	int (*handler)(struct request *);
	ct_name type; /* op, interned once */
};
static unsigned long served, slow; /* requests, and those over the threshold */
static struct route routes[] = {
	{"GET", "/catalog", "GET /catalog", "slow-catalog", handle_catalog, 0},
	{"POST", "/checkout", "POST /checkout", "slow-checkout", handle_checkout, 0},
};

/* A request on its way: MHD's thread parses it and suspends its
 * connection, a worker serves it and resumes the connection, and MHD's
 * thread sends the response. */
struct job {
	const struct route *route;
	struct MHD_Connection *conn;
	ct_task task;
	uint64_t begin;
	struct request rq;
	int status; /* 0 until served */
	struct job *next;
};

/* The queue of parsed requests that the workers take from. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t more;
	struct job *head, *tail;
	int closed;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0};

static struct job *queue_pop(void)
{
	pthread_mutex_lock(&queue.mu);
	while (!queue.head && !queue.closed)
		pthread_cond_wait(&queue.more, &queue.mu); /* an idle worker */
	struct job *j = queue.head;
	if (j && !(queue.head = j->next))
		queue.tail = NULL;
	pthread_mutex_unlock(&queue.mu);
	return j;
}

/* The request's headers and query into rq; its traceparent, when valid,
 * stamps the task (a malformed one is logged and ignored: the request is
 * served all the same, outside any distributed trace). */
static void parse(struct MHD_Connection *c, ct_task t, struct request *rq)
{
	CT_REGION("parse");
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-user");
	snprintf(rq->user, sizeof rq->user, "%s", v && *v ? v : "guest");
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "item");
	long item = v ? strtol(v, NULL, 10) : 0;
	rq->item = item >= 0 && item < 1000000 ? (int)item : -1; /* -1: no such item */
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent");
	if (!v)
		return;
	if (ct_traceparent_parse(v, &rq->trace) == 0) {
		rq->traced = 1;
		ct_task_set_trace(t, &rq->trace);
	} else {
		CT_LOGF("trace", "malformed traceparent ignored: \"%.64s\"", v);
	}
}

/* On MHD's thread: the request becomes a task from the moment it is read,
 * so its time in the queue counts; a worker continues it. */
static enum MHD_Result dispatch(struct MHD_Connection *c, const struct route *r, struct job *j)
{
	j->route = r;
	j->conn = c;
	j->begin = now_ns();
	j->task = ct_task_begin_n(r->type, 0);
	parse(c, j->task, &j->rq);
	ct_task_leave(j->task);
	pthread_mutex_lock(&queue.mu);
	if (queue.closed) { /* shutting down */
		pthread_mutex_unlock(&queue.mu);
		ct_task_end(j->task);
		return reply(c, 503, "shutting down\n", 14);
	}
	MHD_suspend_connection(c); /* until a worker resumes it */
	*(queue.tail ? &queue.tail->next : &queue.head) = j;
	queue.tail = j;
	pthread_cond_signal(&queue.more);
	pthread_mutex_unlock(&queue.mu);
	return MHD_YES;
}

/* On a worker, with the task entered: the handler, then the latency
 * middleware: it ends the task and, over the threshold, asks the flight
 * recorder for a dump that names it (the place a distributed tracer would
 * mark its span slow). */
static void serve(struct job *j)
{
	const struct route *r = j->route;
	int status = r->handler(&j->rq);
	uint64_t latency = now_ns() - j->begin;
	CT_LOGF("http", "%s item=%d -> %d in %.1f ms", r->op, j->rq.item, status, latency / 1e6);
	ct_task_end(j->task);
	__atomic_add_fetch(&served, 1, __ATOMIC_RELAXED);
	if (latency > opt.slow_ns) {
		__atomic_add_fetch(&slow, 1, __ATOMIC_RELAXED);
		ct_flight_trigger_task(r->reason, j->task, latency, opt.slow_ns);
	}
	j->status = status;
}

static void *worker(void *arg)
{
	char name[16];
	snprintf(name, sizeof name, "worker-%d", (int)(long)arg);
	pthread_setname_np(pthread_self(), name);
	for (struct job *j; (j = queue_pop());) {
		ct_task_enter(j->task);
		serve(j);
		MHD_resume_connection(j->conn); /* MHD's thread sends the response */
	}
	return NULL;
}

/* From loopback only: /admin/incident?mode=MODE turns an incident on (none:
 * off); /admin/stats says which is on and how many requests were slow. */
static enum MHD_Result admin(struct MHD_Connection *c, const char *url)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *from = ci ? (const struct sockaddr_in *)ci->client_addr : NULL;
	if (!from || from->sin_family != AF_INET || (ntohl(from->sin_addr.s_addr) >> 24) != 127)
		return reply(c, 403, "admin: loopback only\n", 21);
	char msg[128];
	if (strcmp(url, "/admin/stats") == 0) {
		int n = snprintf(
			msg, sizeof msg, "{\"incident\":\"%s\",\"requests\":%lu,\"slow\":%lu}\n",
			incident_name(incident_get()), __atomic_load_n(&served, __ATOMIC_RELAXED),
			__atomic_load_n(&slow, __ATOMIC_RELAXED));
		return reply(c, 200, msg, (size_t)n);
	}
	if (strcmp(url, "/admin/incident") != 0)
		return reply(c, 404, "not found\n", 10);
	const char *mode = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "mode");
	if (mode) {
		int i = incident_parse(mode);
		if (i < 0)
			return reply(c, 400, "admin: unknown incident\n", 24);
		if (incident_set(i) != 0) /* on MHD's thread: a rare admin call */
			return reply(c, 502, "admin: the price service did not answer\n", 40);
	}
	int n = snprintf(msg, sizeof msg, "incident %s\n", incident_name(incident_get()));
	return reply(c, 200, msg, (size_t)n);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	static __thread int named; /* the thread of MHD's that runs this */
	(void)cls, (void)version, (void)upload;
	if (!named) {
		named = 1;
		pthread_setname_np(pthread_self(), "http");
	}
	struct job *j = *state;
	if (!j) { /* first call: headers only; the body (ignored) and the end follow */
		if (!(*state = calloc(1, sizeof *j)))
			return MHD_NO;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (j->status) /* resumed: a worker served it */
		return reply(c, (unsigned)j->status, j->rq.body, j->rq.len);
	if (strncmp(url, "/admin/", 7) == 0)
		return admin(c, url);
	for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
		if (strcmp(url, routes[i].path) == 0 && strcmp(method, routes[i].method) == 0)
			return dispatch(c, &routes[i], j);
	return reply(c, 404, "not found\n", 10);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
			 enum MHD_RequestTerminationCode how)
{
	(void)cls, (void)c, (void)how;
	free(*state);
	*state = NULL;
}

/* ---- setup ---- */

static void stop_workers(pthread_t *workers, unsigned n)
{
	pthread_mutex_lock(&queue.mu);
	queue.closed = 1;
	pthread_cond_broadcast(&queue.more);
	pthread_mutex_unlock(&queue.mu);
	for (unsigned i = 0; i < n; i++)
		pthread_join(workers[i], NULL);
}

static void on_dump(void *arg, const char *path, const char *reason)
{
	(void)arg;
	printf("demo-service: dump %s (%s)\n", path, reason);
	fflush(stdout);
}

static struct ct_flight *flight;

/* off: nothing recorded; flight: a 10 s, 16 MiB flight recorder dumping into
 * dump_dir; stream=FILE: everything, to FILE. */
static int start_tracing(void)
{
	struct ct_config c;
	ct_config_init(&c);
	c.cpu_hz = opt.cpu_hz;
	if (strcmp(opt.trace, "off") == 0)
		return 0;
	/* CTRACE_* variables (README) tune it further: CTRACE_SCHED=schedstat,
	 * CTRACE_STACKS=none... as an operator would without a rebuild */
	if (ct_config_from_env(&c) != 0) {
		fprintf(stderr, "demo-service: %s\n", ct_last_error());
		return CT_ECONFIG;
	}
	if (strncmp(opt.trace, "stream=", 7) == 0) {
		c.path = opt.trace + 7;
		return ct_start(&c);
	}
	c.flight_max_bytes = 16u << 20;
	c.flight_min_age_ns = 10000000000u;
	c.dump_dir = opt.dump_dir;
	c.on_dump = on_dump;
	flight = ct_flight_new(&c);
	return flight ? ct_flight_start(flight) : CT_ECONFIG;
}

static void stop_tracing(void)
{
	if (flight)
		ct_flight_free(flight);
	else if (strncmp(opt.trace, "stream=", 7) == 0)
		ct_stop();
}

static int parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	unsigned port;
	char extra;
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	if (sscanf(s, "%63[^:]:%u%c", host, &port, &extra) != 2 || port > 65535 ||
	    inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a->sin_addr) != 1)
		return -1;
	a->sin_port = htons((uint16_t)port);
	return 0;
}

static int parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	double unit = !strcmp(end, "s")	   ? 1e9
		      : !strcmp(end, "ms") ? 1e6
		      : !strcmp(end, "us") ? 1e3
					   : 0;
	if (end == s || unit == 0 || !(v > 0) || v * unit > 3600e9)
		return -1;
	*ns = (uint64_t)(v * unit);
	return 0;
}

static int parse_flags(int argc, char **argv)
{
	parse_addr("127.0.0.1:8080", &opt.listen);
	parse_addr("127.0.0.1:8081", &opt.downstream);
	for (int i = 1; i < argc; i += 2) { /* every flag takes a value */
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		char *end;
		int bad = i + 1 >= argc;
		if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
			fputs(usage, stdout);
			exit(0);
		} else if (!strcmp(f, "--listen")) {
			bad = parse_addr(v, &opt.listen);
		} else if (!strcmp(f, "--downstream")) {
			bad = parse_addr(v, &opt.downstream);
		} else if (!strcmp(f, "--workers")) {
			unsigned long n = strtoul(v, &end, 10);
			bad = *end || n < 1 || n > 256;
			opt.workers = (unsigned)n;
		} else if (!strcmp(f, "--slow")) {
			bad = parse_duration(v, &opt.slow_ns);
		} else if (!strcmp(f, "--incident")) {
			bad = (opt.incident = incident_parse(v)) < 0;
		} else if (!strcmp(f, "--trace")) {
			opt.trace = v;
			bad = strcmp(v, "off") && strcmp(v, "flight") &&
			      (strncmp(v, "stream=", 7) || !v[7]);
		} else if (!strcmp(f, "--dump-dir")) {
			opt.dump_dir = v;
		} else if (!strcmp(f, "--cpu-hz")) {
			unsigned long n = strtoul(v, &end, 10);
			bad = *end || n > 10000;
			opt.cpu_hz = (unsigned)n;
		} else if (!strcmp(f, "--admin")) {
			opt.admin = v;
		} else if (!strcmp(f, "--data-dir")) {
			opt.data_dir = v;
		} else {
			fprintf(stderr, "demo-service: unknown flag %s (see --help)\n", f);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "demo-service: bad value for %s (see --help)\n", f);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (parse_flags(argc, argv) != 0)
		return 2;
	/* SIGINT and SIGTERM end the service: blocked in every thread (MHD's
	 * inherit the mask) and taken by sigwait below. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	const char *dirs[] = {opt.data_dir, strcmp(opt.trace, "flight") ? NULL : opt.dump_dir};
	for (int i = 0; i < 2; i++)
		if (dirs[i] && mkdir(dirs[i], 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "demo-service: %s: %s\n", dirs[i], strerror(errno));
			return 1;
		}
	int err = start_tracing(); /* first: the threads started next are traced from their start */
	if (err == CT_EALREADY)	   /* e.g. under `ctrace run`: that recording goes on */
		fprintf(stderr, "demo-service: a recording already runs; --trace ignored\n");
	else if (err != 0) {
		fprintf(stderr, "demo-service: cannot trace: %s\n", ct_last_error());
		return 1;
	}
	if (handlers_init(&opt.downstream, opt.data_dir) != 0) {
		fprintf(stderr, "demo-service: cannot open the order files in %s\n", opt.data_dir);
		stop_tracing();
		return 1;
	}
	for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
		routes[i].type = ct_intern(routes[i].op);
	struct ct_http_config hc;
	ct_http_config_init(&hc);
	hc.address = opt.admin;
	if (strcmp(opt.admin, "off") != 0 && (err = ct_http_start(&hc)) != 0) {
		fprintf(stderr, "demo-service: admin endpoint %s: %s\n", opt.admin,
			err == CT_ECONFIG ? ct_last_error() : ct_strerror(err));
		handlers_fini();
		stop_tracing();
		return 1;
	}
	if (opt.incident != INCIDENT_NONE && incident_set(opt.incident) != 0) {
		fprintf(stderr, "demo-service: the price service did not answer\n");
		ct_http_stop();
		handlers_fini();
		stop_tracing();
		return 1;
	}

	pthread_t workers[256];
	unsigned nworkers = 0;
	while (nworkers < opt.workers &&
	       pthread_create(&workers[nworkers], NULL, worker, (void *)(long)(nworkers + 1)) == 0)
		nworkers++;
	/* One thread of MHD's reads and writes every connection; the workers
	 * serve the requests it parses. */
	struct MHD_Daemon *d =
		nworkers < opt.workers
			? NULL
			: MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
						   MHD_ALLOW_SUSPEND_RESUME,
					   0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
					   &opt.listen, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
					   NULL, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
					   MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "demo-service: cannot listen on %s:%u\n",
			inet_ntoa(opt.listen.sin_addr), ntohs(opt.listen.sin_port));
		stop_workers(workers, nworkers);
		ct_http_stop();
		handlers_fini();
		stop_tracing();
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char admin_at[32] = "off";
	if (ct_http_port())
		snprintf(admin_at, sizeof admin_at, "port %d", ct_http_port());
	printf("demo-service: listening on %s:%u (admin endpoint %s, trace %s, incident %s)\n",
	       inet_ntoa(opt.listen.sin_addr), di ? di->port : 0, admin_at, opt.trace,
	       incident_name(opt.incident));
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);
	/* No new connections; the requests queued are served and their
	 * connections resumed (MHD cannot stop with one suspended). */
	MHD_socket lfd = MHD_quiesce_daemon(d);
	stop_workers(workers, nworkers);
	MHD_stop_daemon(d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	ct_http_stop();
	handlers_fini();
	stop_tracing();
	printf("demo-service: stopped\n");
	return 0;
}
