/* CPU samples (src_cpu.c): per-thread CPU-time timers whose signal records a
 * cpu.sample with the interrupted code's stack. Called through sources.c. */
#ifndef CT_RECORD_SRC_CPU_H
#define CT_RECORD_SRC_CPU_H

#include <stdint.h>
#include <ucontext.h>

#include "ctrace.h"
#include "record/rec.h"

void cpu_start(const struct ct_config *cfg);
void cpu_meta(void (*put)(void *ctx, const char *key, const char *value), void *ctx);
/* In the registering thread (maybe inside a signal handler): syscalls only. */
void cpu_thread_start(struct trec *r);
/* Deletes r's timer, if it has one; any thread. */
void cpu_thread_end(struct trec *r);
void cpu_stop(void);

/* CTRACE_CPU_SIGNAL: "PROF", "SIGPROF", "VTALRM", "ALRM", "USR1", "USR2",
 * "RTMIN+N", "RTMAX-N" or a number. Returns the signal, or -1 for a bad or
 * unusable value. */
int cpu_parse_signal(const char *s);
/* 1 when signo may carry samples: a signal whose default action is to end
 * the process and that nothing else needs (see cpu_parse_signal). */
int cpu_signal_ok(int signo);

/* Samples the handler took since the process started: each one is either
 * a cpu.sample event or counted as lost. For tests and benchmarks. */
uint64_t cpu_samples_taken(void);
/* The si_value our timers' signals carry, which makes a signal a sample:
 * for a benchmark that sends itself samples (rt_tgsigqueueinfo). */
void *cpu_sample_cookie(void);

/* The stack of the code a signal interrupted (its context uc): the pc, then
 * the frame-pointer chain within the thread's stack [lo, hi). Async-signal-
 * safe; also used by the crash handler (crash.c). */
int interrupted_stack(const ucontext_t *uc, uintptr_t lo, uintptr_t hi, uint64_t *pcs, int max);

#endif
