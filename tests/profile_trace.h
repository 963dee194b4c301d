/* The synthetic trace of the profile tests: waits, scheduler intervals and
 * CPU samples with durations, stacks and labels known by construction, over
 * two generations. Shared by test_profile.c and the program profile_trace.c
 * whose trace test_profile_cli.sh profiles with the CLI and go tool pprof.
 *
 * Expected (ns): sync 3 contentions, 15000 (lock_site: 3000 held by
 * "worker (102)", 2000 by "late (104)", 10000 unfinished by "tid 999");
 * syscall 3 waits, 4500 (read_site 3000, the synthetic file wait 500,
 * spin 1000); net read_site 3000; sched 4 delays, 1900 ([thread pool] 700,
 * [thread worker] 600, spin 500, [region compute] 100); cpu one 10 ms sample
 * in spin. */
#ifndef CT_TESTS_PROFILE_TRACE_H
#define CT_TESTS_PROFILE_TRACE_H

#include <stdint.h>

#include "tracebuilder.h"

enum { PT_LOCK = 1, PT_FILE, PT_LOOP, PT_READ, PT_SPIN, PT_REQUEST, PT_HANDLE, PT_COMPUTE, PT_CV };

/* Strings, locations and stacks, declared again in each generation:
 *   stack 1  lock_site <- main_loop
 *   stack 2  read_site <- main_loop
 *   stack 3  spin inlined into main_loop (one address, two frames)
 *   stack 4  cv_site <- main_loop */
static inline void profile_trace_tables(struct tb *b)
{
	const char *s[] = {NULL,   "lock_site", "a.c",	  "main_loop", "read_site",
			   "spin", "request",	"handle", "compute",   "cv_site"};
	for (uint64_t i = 1; i < sizeof(s) / sizeof(s[0]); i++)
		tb_string(b, i, s[i]);
	uint64_t m = tb_mapping(b, 0x1000, 0x2000, 0, "/usr/bin/test", NULL, 0);
	tb_location(b, 0x1010, m, 1, (struct tb_frame[]){{PT_LOCK, PT_FILE, 10}});
	tb_location(b, 0x1100, m, 1, (struct tb_frame[]){{PT_LOOP, PT_FILE, 50}});
	tb_location(b, 0x1200, m, 1, (struct tb_frame[]){{PT_READ, PT_FILE, 30}});
	tb_location(b, 0x1300, m, 2,
		    (struct tb_frame[]){{PT_SPIN, PT_FILE, 70}, {PT_LOOP, PT_FILE, 55}});
	tb_location(b, 0x1400, m, 1, (struct tb_frame[]){{PT_CV, PT_FILE, 90}});
	tb_stack(b, 1, 2, (uint64_t[]){1, 2});
	tb_stack(b, 2, 2, (uint64_t[]){3, 2});
	tb_stack(b, 3, 1, (uint64_t[]){4});
	tb_stack(b, 4, 2, (uint64_t[]){5, 2});
}

static uint64_t pt_last __attribute__((unused)); /* the batch's previous timestamp */

static inline void pt_at(struct tb *b, uint8_t type, uint64_t ts, uint64_t stack,
			 const uint64_t *args, size_t nargs)
{
	tb_event(b, type, ts - pt_last, args, nargs, stack, NULL, 0);
	pt_last = ts;
}
#define PT_AT(b, type, ts, stack, ...)                                                             \
	pt_at((b), (type), (ts), (stack), TB_ARGS(__VA_ARGS__), TB_NARGS(__VA_ARGS__))
#define PT_AT0(b, type, ts) pt_at((b), (type), (ts), 0, NULL, 0)

static inline void pt_batch(struct tb *b, uint64_t thread)
{
	tb_batch_begin(b, thread, 0);
	pt_last = 0;
}

/* Generation 1 (threads main 101, worker 102, pool 103) and generation 2
 * (main, and "late" 104, which holds a lock main waited on in generation 1). */
static inline struct tb profile_trace(void)
{
	struct tb b;
	tb_init(&b);
	tb_meta(&b, "cpu.sample_hz", "100");
	tb_meta(&b, "sched.source", "perf");
	tb_gen_begin(&b, 1);
	tb_thread(&b, 1, 101, "main", 0);
	tb_thread(&b, 2, 102, "worker", 0);
	tb_thread(&b, 3, 103, "pool", 0);
	profile_trace_tables(&b);

	pt_batch(&b, 1);
	PT_AT(&b, CT_EV_TASK_BEGIN, 1000, 0, 1, PT_REQUEST, 0);
	PT_AT(&b, CT_EV_REGION_BEGIN, 1000, 0, PT_HANDLE);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 2000, 1, CT_WAIT_MUTEX, 0x10, 102);
	PT_AT(&b, CT_EV_WAIT_END, 5000, 0, 0);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 6000, 4, CT_WAIT_CONDVAR, 0x20, 0);
	PT_AT(&b, CT_EV_WAIT_END, 8000, 0, 0);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 9000, 2, CT_WAIT_NET, 5, CT_CALL_RECV);
	PT_AT(&b, CT_EV_WAIT_END, 12000, 0, 4);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 13000, 0, CT_WAIT_FILE, 7, CT_CALL_FSYNC); /* no stack */
	PT_AT(&b, CT_EV_WAIT_END, 13500, 0, 0);
	PT_AT0(&b, CT_EV_REGION_END, 14000);
	PT_AT(&b, CT_EV_TASK_END, 14000, 0, 1);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 15000, 3, CT_WAIT_SLEEP, 0, 1000);
	PT_AT(&b, CT_EV_WAIT_END, 16000, 0, 0);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 17000, 1, CT_WAIT_MUTEX, 0x10, 104); /* 104: unknown yet */
	PT_AT(&b, CT_EV_WAIT_END, 19000, 0, 0);
	tb_batch_end(&b);

	pt_batch(&b, 2);
	PT_AT(&b, CT_EV_SCHED_OUT, 1500, 0, CT_SCHED_PREEMPTED);
	PT_AT(&b, CT_EV_SCHED_IN, 2100, 0, 1);
	PT_AT(&b, CT_EV_SCHED_OUT, 3000, 0, CT_SCHED_BLOCKED);
	PT_AT(&b, CT_EV_SCHED_IN, 5000, 0, 0);
	PT_AT(&b, CT_EV_CPU_SAMPLE, 6000, 3, 10000000);
	PT_AT(&b, CT_EV_SCHED_OUT, 6500, 0, CT_SCHED_PREEMPTED); /* in the sampled code */
	PT_AT(&b, CT_EV_SCHED_IN, 7000, 0, 1);
	PT_AT(&b, CT_EV_REGION_BEGIN, 7100, 0, PT_COMPUTE); /* moved on: not the sample's code */
	PT_AT(&b, CT_EV_SCHED_OUT, 7200, 0, CT_SCHED_PREEMPTED);
	PT_AT(&b, CT_EV_SCHED_IN, 7300, 0, 0);
	PT_AT0(&b, CT_EV_REGION_END, 7400);
	tb_batch_end(&b);

	pt_batch(&b, 3);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 100, 1, CT_WAIT_MUTEX, 0x10, 101);
	PT_AT(&b, CT_EV_LOSS, 200, 0, 5, 50, 0); /* its end may be lost: left out */
	PT_AT(&b, CT_EV_WAIT_END, 300, 0, 0);
	PT_AT(&b, CT_EV_SCHED_SAMPLE, 9000, 0, 700, 300, 2);
	PT_AT(&b, CT_EV_SCHED_SAMPLE, 9500, 0, 0, 500, 1);
	tb_batch_end(&b);
	tb_gen_end(&b, 0);

	tb_gen_begin(&b, 2);
	tb_thread(&b, 1, 101, "main", 0);
	tb_thread(&b, 4, 104, "late", 0);
	profile_trace_tables(&b);
	pt_batch(&b, 1);
	PT_AT(&b, CT_EV_WAIT_BEGIN, 30000, 1, CT_WAIT_RWLOCK_WRITE, 0x30, 999); /* never ends */
	tb_batch_end(&b);
	pt_batch(&b, 4);
	PT_AT(&b, CT_EV_TASK_LEAVE, 40000, 0, 77); /* the trace's last event */
	tb_batch_end(&b);
	tb_gen_end(&b, 1);
	tb_end(&b, 40, 0, 2);
	return b;
}

#endif
