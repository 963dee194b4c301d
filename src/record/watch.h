/* Slow-task and SLO triggers: rules set from any thread (ct_flight_slow_task,
 * ct_flight_slo, CTRACE_SLOW_TASK, CTRACE_SLO), checked by the writer thread
 * on the task events it drains; and the notify thread, which runs the
 * program's watch and finished-dump callbacks off the writer thread. */
#ifndef CT_RECORD_WATCH_H
#define CT_RECORD_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ctrace.h"

struct writer;

/* ---- writer thread (writer.c) ---- */

/* Before a drain round: picks up rule changes, sets w->watch_on. */
void watch_round_begin(struct writer *w);
/* The event scan_one just decoded (w->wev: task.begin or task.end, with
 * w->wev_task and w->wev_type) happened at ts (ticks). */
void watch_event(struct writer *w, uint64_t ts);
/* After a drain round: matches task ends drained before their begins,
 * evaluates the SLOs, and asks for at most one dump. */
void watch_round_end(struct writer *w);
/* The writer goes: frees its watch state. */
void watch_free(struct writer *w);

/* CTRACE_SLOW_TASK and CTRACE_SLO (either may be NULL): all their rules are
 * set, or none and err says why (one line). dur parses a duration. */
int watch_from_env(const char *slow, const char *slo, int (*dur)(const char *, uint64_t *),
		   char *err, size_t cap);

/* ---- the notify thread ---- */

/* Starts it when c has a watch or dump callback (and a dump directory);
 * 0, or a negative errno when the thread cannot be created. */
int notify_start(const struct ct_config *c);
/* Delivers the dumps still queued, then joins it. */
void notify_stop(void);
/* Writer thread: a dump was written into the dump directory as path. */
void notify_dump(const char *path, const char *reason);

#endif
