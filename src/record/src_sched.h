/* The scheduler and page-fault source (src_sched.c): the hooks sources.c
 * calls, and the /proc parsers behind the fallback, visible to tests. */
#ifndef CT_RECORD_SRC_SCHED_H
#define CT_RECORD_SRC_SCHED_H

#include <stdint.h>

#include "ctrace.h"
#include "record/rec.h"

/* ---- hooks (sources.h says when each runs) ---- */

void src_sched_start(const struct ct_config *cfg);
/* The writer's round for the source started (the configuration's, or the
 * source's default when it says 0). */
uint64_t src_sched_flush_ns(void);
void src_sched_meta(void (*put)(void *ctx, const char *key, const char *value), void *ctx);
void src_sched_thread_start(struct trec *r);
void src_sched_thread_exit(struct trec *r);
void src_sched_collect(struct trec *r, int exited);
void src_sched_thread_end(struct trec *r);
void src_sched_stop(void);
/* How soon the writer should come back (ns), 0 for no preference: a perf
 * ring that filled up fast asks for an early round. Writer thread. */
uint64_t src_sched_wait_ns(void);
/* Records the CPUs' rings lost since the last call (any task's: the kernel
 * does not say whose). Writer thread. */
uint64_t src_sched_take_lost(void);

/* ---- parsing (exposed for tests) ---- */

/* /proc/.../schedstat: "run_ns delay_ns timeslices". 0, or -1 if malformed. */
int src_sched_parse_schedstat(const char *s, uint64_t *run_ns, uint64_t *delay_ns,
			      uint64_t *slices);
/* /proc/.../stat: the minflt, majflt and stime fields (10, 12 and 15; stime
 * in clock ticks), counted after the ')' that closes the command name
 * (which may hold spaces and parens). 0, or -1 if malformed. */
int src_sched_parse_stat(const char *s, uint64_t *minflt, uint64_t *majflt, uint64_t *stime);

#endif
