/* The writer thread of a capture (writer.c). */
#ifndef CT_RECORD_WRITER_H
#define CT_RECORD_WRITER_H

#include <stdint.h>

#include "ctrace.h"

/* Opens the sink, writes the file header and starts the thread. */
int writer_start(const struct ct_config *cfg, uint32_t epoch, int clock_kind);
/* Final drain, last generation, end frame; joins the thread. Returns the
 * first sink error or 0. The caller has already quiesced the threads. */
int writer_stop(void);
/* For a process that is ending: asks the writer to finish and waits at most
 * timeout_ns for it; frees nothing. */
int writer_stop_bounded(uint64_t timeout_ns);
/* The writer's round (ns), once started; 0 when it is not running. */
uint64_t writer_flush_ns(void);
void writer_stats(struct ct_stats *s);

/* Outputs attached to, or detached from, the running recording; each
 * returns once the writer thread has applied it. */
struct writer_sink {
	int fd, own_fd; /* own_fd: the writer closes it when the stream ends */
	ct_write_fn write;
	void *write_arg;
};
/* A streaming output from now on: the file header, then every generation. */
int writer_sink_on(const struct writer_sink *s);
/* Ends the stream: what threads committed so far, a last generation that
 * says when it ended, the end frame; returns the stream's first error. */
int writer_sink_off(void);
/* A flight recorder with c's flight_* and dump_* settings. */
int writer_flight_on(const struct ct_config *c);
int writer_flight_off(void);
/* Whether the recording has a stream / a flight recorder (under the
 * caller's control lock, which serializes all of these). */
int writer_has_sink(void);
int writer_has_flight(void);
/* Drains every thread and writes a generation now; returns when written. */
int writer_flush(void);
/* Cuts the current generation and writes the flight recorder's window to
 * fd as a trace; one dump at a time. CT_ENOTRUNNING without a flight
 * recorder. */
int writer_dump(int fd);
/* Why a dump is written, and the trigger's details; they go into the
 * dump's header metadata (dump.reason, trigger.*, docs/FORMAT.md). Fields
 * left 0 or empty are not written. */
struct dump_trigger {
	char reason[32];	/* letters, digits, '-', '_': it names the file */
	char kind[16];		/* manual, signal, api, slow-task, slo, watch, crash */
	char task_type[64];	/* the triggering task's type */
	char detail[128];	/* free text (a watch callback's words) */
	uint64_t task;		/* the triggering task's id */
	uint64_t task_begin_ns; /* its begin, CLOCK_MONOTONIC */
	uint64_t threshold_ns;	/* the latency that was crossed */
	uint64_t observed_ns;	/* the latency seen */
	uint64_t count;		/* SLO: task latencies in the window */
	uint32_t percentile;	/* SLO: e.g. 99 */
	int signal;		/* crash: the signal */
};
/* A triggered dump into the dump directory (ct_flight_trigger): the reason
 * is cleaned to the file-name alphabet ("manual" when empty), the kind is
 * "api". Async-signal-safe. */
int writer_trigger(const char *reason);
/* The same with details: t is copied into the one pending slot (a trigger
 * finding it taken is dropped and counted). Async-signal-safe. */
int writer_trigger_ex(const struct dump_trigger *t);

#endif
