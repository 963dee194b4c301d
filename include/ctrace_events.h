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
	CT_EV_WAIT_BEGIN = 10,	/* reason, object, detail: the thread waits (format 1.1) */
	CT_EV_WAIT_END = 11,	/* result (signed): the thread's open wait ended */
	/* Kernel and sampled sources (format 1.2): written by the capture's
	 * writer into the thread's stream, in time order with its own events. */
	CT_EV_SCHED_OUT = 12,	 /* state (enum ct_sched_state): the thread left its CPU */
	CT_EV_SCHED_IN = 13,	 /* cpu: the thread got a CPU again */
	CT_EV_SCHED_SAMPLE = 14, /* runnable, running (durations), timeslices: since the
				  * thread's previous sample (the schedstat source) */
	CT_EV_FAULT = 15,	 /* kind (enum ct_fault_kind), count, address */
	CT_EV_CPU_SAMPLE = 16,	 /* weight (duration of CPU time it stands for); stack */
	CT_EV_THROTTLE = 17,	 /* periods throttled, throttled time, periods: since the
				  * previous one (the cgroup's cpu.stat) */
	/* Format 1.3 */
	CT_EV_TASK_TRACE = 18, /* task, trace id (high, low 64 bits), span id, parent span id,
				* flags: the task's W3C trace context (ids big-endian, as in
				* the traceparent's hex) */
	/* Format 1.4 */
	CT_EV_KERNEL_TIME = 19, /* duration: the thread's CPU time in the kernel since its
				 * previous reading, read with the fault counts that follow */
	CT_EV_TYPE_COUNT
};

/* Why a thread waits (wait.begin's reason). The object is the lock's
 * address or the file descriptor; the detail says more, per reason. */
enum ct_wait_reason {
	CT_WAIT_MUTEX = 1,	  /* detail: holder's tid, 0 if unknown */
	CT_WAIT_RWLOCK_READ = 2,  /* detail: writer's tid, 0 if unknown */
	CT_WAIT_RWLOCK_WRITE = 3, /* detail: writer's tid, 0 if unknown (readers) */
	CT_WAIT_CONDVAR = 4,	  /* waiting for work, not contention; object: the condvar */
	CT_WAIT_SEMAPHORE = 5,
	CT_WAIT_JOIN = 6, /* detail: the joined thread's tid, 0 if unknown */
	CT_WAIT_BARRIER = 7,
	CT_WAIT_SLEEP = 8,     /* detail: requested ns */
	CT_WAIT_NET = 9,       /* a socket; detail: enum ct_wait_call */
	CT_WAIT_FILE = 10,     /* a regular file or block device; detail: enum ct_wait_call */
	CT_WAIT_PIPE = 11,     /* a pipe or FIFO; detail: enum ct_wait_call */
	CT_WAIT_POLL = 12,     /* poll/select/epoll: event-loop wait; object: nfds or epfd */
	CT_WAIT_OTHER_FD = 13, /* another kind of fd (tty, eventfd...); detail: call */
};

/* The call behind an fd wait (detail of NET, FILE, PIPE, OTHER_FD). */
enum ct_wait_call {
	CT_CALL_READ = 1,
	CT_CALL_WRITE = 2,
	CT_CALL_RECV = 3,
	CT_CALL_SEND = 4,
	CT_CALL_ACCEPT = 5,
	CT_CALL_CONNECT = 6,
	CT_CALL_FSYNC = 7,
	CT_CALL_OPEN = 8,
	CT_CALL_CLOSE = 9,
};

/* sched.out's state. */
enum ct_sched_state {
	CT_SCHED_PREEMPTED = 1, /* still runnable: waits for a CPU */
	CT_SCHED_BLOCKED = 2,	/* gave up the CPU: sleeps until woken */
};

/* fault's kind. */
enum ct_fault_kind {
	CT_FAULT_MINOR = 1,
	CT_FAULT_MAJOR = 2, /* needed I/O: the thread blocked on it */
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
	CT_LOSS_REENTRANT =
		4, /* an event from a signal handler interrupted one of the same thread */
};

#endif
