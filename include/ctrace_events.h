/* Event kinds, loss reasons and clock kinds of the ctrace trace format
 * (docs/FORMAT.md), shared by the reading API and the implementation. */
#ifndef CTRACE_EVENTS_H
#define CTRACE_EVENTS_H

/* Event kinds. Values are stable across versions; new kinds get new values. */
enum ct_event_type {
	CT_EV_TASK_BEGIN = 1,	/* task, type(string), parent(task) */
	CT_EV_TASK_END = 2,	/* task */
	CT_EV_TASK_ENTER = 3,	/* task: this thread now works for task */
	CT_EV_TASK_LEAVE = 4,	/* task: this thread stops working for task */
	CT_EV_REGION_BEGIN = 5, /* name(string) */
	CT_EV_REGION_END = 6,	/* (closes the innermost open region) */
	CT_EV_LOG = 7,		/* category(string) + message bytes */
	CT_EV_LOSS = 8,		/* count, span(duration), reason */
	CT_EV_THREAD_END = 9,	/* the thread exited */
	CT_EV_TYPE_COUNT
};

enum ct_clock_kind {
	CT_CLOCK_TSC = 0,	/* invariant TSC ticks */
	CT_CLOCK_MONOTONIC = 1, /* clock_gettime(CLOCK_MONOTONIC) nanoseconds */
};

enum ct_loss_reason {
	CT_LOSS_BUFFER_FULL = 0, /* the thread found no free buffer memory */
	CT_LOSS_NO_BUFFER = 1,	 /* the thread could not be given a buffer at all */
	CT_LOSS_SINK = 2,	 /* the sink failed; generations were not written */
	CT_LOSS_ENCODING = 3,	 /* the writer found a thread's bytes undecodable */
};

#endif
