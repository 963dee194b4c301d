/* Thread start and process end, for the interposers: a thread created with
 * pthread_create joins the running capture as it starts (so the scheduler
 * and CPU-sample sources cover all of its life, not only from its first
 * traced call), and _exit, which skips exit handlers, still ends the trace
 * with its end frame. */
#include <errno.h>
#include <stdlib.h>

#include "intercept/intercept.h"
#include "record/capture.h"

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	/* Registration is the tracer's own work: nothing in it is traced. */
	if (ic_enter()) {
		ct_thread_start();
		ic_leave();
	}
	return s.fn(s.arg);
}

int ic_pthread_create(ic_pthread_create_fn real, pthread_t *th, const pthread_attr_t *attr,
		      void *(*fn)(void *), void *arg)
{
	/* Only while tracing: otherwise the thread starts exactly as asked (a
	 * capture that starts later registers it at its first event). */
	if (ic_guard || atomic_load_explicit(&g_epoch, memory_order_relaxed) == EPOCH_INACTIVE)
		return real(th, attr, fn, arg);
	struct start *s = malloc(sizeof *s);
	if (!s)
		return real(th, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	int rc = real(th, attr, trampoline, s);
	if (rc != 0)
		free(s);
	return rc;
}

void ic_exit(void)
{
	if (!ic_guard && !ct_tls.dead)
		capture_stop_at_exit();
}
