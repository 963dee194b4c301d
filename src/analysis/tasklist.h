/* Task listing (`ctrace tasks`): follows every task of a trace from its
 * begin to its end, with its W3C trace context, and hands each one over as
 * it ends. Memory holds only the tasks open at a time, whatever the trace's
 * size. */
#ifndef CT_ANALYSIS_TASKLIST_H
#define CT_ANALYSIS_TASKLIST_H

#include <stdint.h>

#include "ctrace_reader.h"

struct tasklist_task {
	uint64_t id, parent;
	const char *type;    /* "" when unknown (the task began before the trace) */
	uint64_t begin_ns;   /* its begin, or the trace's first event when before it */
	uint64_t end_ns;     /* its end, or the trace's end when it did not end */
	uint64_t latency_ns; /* end - begin: at least that when !begin_in_trace or !ended */
	int begin_in_trace, ended;
	uint32_t thread;     /* index of the thread it began on (0: unknown) */
	uint32_t end_thread; /* index of the thread it ended on (0: not ended) */
	int has_trace;	     /* task.trace seen: */
	char trace_id[33], span_id[17], parent_id[17]; /* lowercase hex */
	uint8_t trace_flags;
};

typedef void (*tasklist_fn)(void *arg, const struct tasklist_task *t);

struct tasklist;

/* fn gets each task as its end is fed (pointers valid during the call). */
struct tasklist *tasklist_new(tasklist_fn fn, void *arg);
void tasklist_free(struct tasklist *l);
/* Events in time order (CT_ORDER_TIME): a task's end after its begin. */
void tasklist_event(struct tasklist *l, const struct ct_event *ev);
/* The trace's first event (for tasks that began before it): call once,
 * before the first event. */
void tasklist_set_start(struct tasklist *l, uint64_t first_ns);
/* Hands over the tasks that never ended, as running until end_ns, oldest
 * first. Returns how many. */
uint64_t tasklist_finish(struct tasklist *l, uint64_t end_ns);
/* Tasks open right now (memory in use). */
uint64_t tasklist_open(const struct tasklist *l);

/* Normalizes a trace id given on a command line: 32 hex digits (any case),
 * or a whole traceparent value, into 32 lowercase hex digits. 0 or -1. */
int tasklist_parse_trace_id(const char *s, char out[33]);

#endif
