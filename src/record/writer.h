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
void writer_stats(struct ct_stats *s);
/* Drains every thread and writes a generation now; returns when written. */
int writer_flush(void);
/* Cuts the current generation and writes the flight recorder's window to
 * fd as a trace; one dump at a time. CT_ENOTRUNNING without a flight
 * recorder. */
int writer_dump(int fd);
/* A triggered dump into the dump directory (ct_flight_trigger);
 * async-signal-safe. */
int writer_trigger(const char *reason);

#endif
