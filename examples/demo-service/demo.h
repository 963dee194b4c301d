/* The demo service's handlers and incidents (handlers.c), shared with the
 * HTTP side and the latency middleware (service.c). */
#ifndef DEMO_H
#define DEMO_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "ctrace.h"

/* The incident switches: each makes requests slow for one known reason. */
enum incident {
	INCIDENT_NONE,
	INCIDENT_LOCK,	     /* the snapshotter writes the order book with orders_lock held */
	INCIDENT_POOL,	     /* every request needs CPU, 16 workers share 2 CPUs: runnable */
	INCIDENT_DOWNSTREAM, /* the price service answers late */
	INCIDENT_FAULTS,     /* catalog maps and touches a fresh 256 MiB buffer per request */
	INCIDENT_CPU,	     /* catalog ranks recommendations in a CPU-bound hot loop */
};
/* "none", "lock", ... to the enum (-1 when unknown), and back. */
int incident_parse(const char *name);
const char *incident_name(int incident);
/* Turns an incident on (INCIDENT_NONE: off). Returns 0, or -1 when the
 * price service could not be told (the downstream incident). */
int incident_set(int incident);
int incident_get(void);

/* One request as the handlers see it. */
struct request {
	char user[32]; /* the x-user header, "guest" without one */
	int item;      /* ?item=N */
	int traced;    /* trace holds the request's W3C trace context */
	struct ct_trace_context trace;
	char body[512]; /* the response */
	size_t len;
};

/* Where the price service listens, and where checkout keeps its files. */
int handlers_init(const struct sockaddr_in *downstream, const char *data_dir);
void handlers_fini(void);

/* The operations: fill rq->body and return an HTTP status. */
int handle_catalog(struct request *rq);
int handle_checkout(struct request *rq);

#endif
