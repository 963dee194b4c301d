/* Kernel and sampled sources of a capture (docs/FORMAT.md, "Kernel and
 * sampled sources"): the scheduler (perf context switches, or schedstat
 * samples), page faults, CPU samples and the cgroup's CPU quota.
 *
 * Application threads never wait for a source: a source's per-thread state
 * is set up once, at registration, and its records are collected by the
 * writer thread, which merges them into the thread's stream in time order
 * (side_push). CPU samples are the exception: a signal handler in the
 * sampled thread writes them as ordinary events. */
#ifndef CT_RECORD_SOURCES_H
#define CT_RECORD_SOURCES_H

#include <stdint.h>

#include "ctrace.h"
#include "record/rec.h"

/* ---- called by the capture (capture.c, threads.c, writer.c) ---- */

/* At ct_start, before the file header is written: probes what the kernel
 * allows and reads the facts the header lists. */
void sources_start(const struct ct_config *cfg);
/* The writer's round once the sources started: the configuration's, or
 * their default when it says 0. */
uint64_t sources_flush_ns(void);
/* The header's metadata keys of the sources (FORMAT.md). */
void sources_meta(void (*put)(void *ctx, const char *key, const char *value), void *ctx);
/* In a thread that registers, before its record is published. */
void sources_thread_start(struct trec *r);
/* In a thread that exits, just before its thread.end is written (whatever
 * the source publishes here is visible to the writer once thread.end is). */
void sources_thread_exit(struct trec *r);
/* Writer thread, once per drain round, before any thread is drained. */
void sources_round(uint64_t now_ns);
/* Writer thread, before it drains thread r's chunks: moves r's pending
 * source records into r's side queue (side_push). exited: r has exited and
 * this is its last drain. */
void sources_collect(struct trec *r, int exited);
/* When the writer is done with r (it exited and is drained, or the
 * capture ended): releases r's source state. Writer or ct_stop's thread. */
void sources_thread_end(struct trec *r);
/* At ct_stop, after the final drain. */
void sources_stop(void);
/* Writer thread, before it waits for its next round: how soon (ns) the
 * sources want it, 0 for no preference (a perf ring filling up fast). */
uint64_t sources_wait_ns(void);
/* Source records lost that no thread can be named for (a CPU-wide perf
 * ring's), since the last call. Writer thread. */
uint64_t sources_take_lost(void);

/* ---- provided by the writer for the sources (writer.c) ---- */

/* Queues an event for thread r at ts (ticks of the capture's clock),
 * arguments as its spec says (durations in ticks), stack id or 0. The
 * writer puts it into r's stream in time order. Writer thread only. When
 * r's queue has no room the event is dropped and counted in r's loss. */
void side_push(struct trec *r, uint64_t ts, uint8_t type, const uint64_t *args, uint32_t stack);
/* The same, but a drop is the caller's to count: 0, or -1 when dropped. */
int side_try_push(struct trec *r, uint64_t ts, uint8_t type, const uint64_t *args, uint32_t stack);
/* CLOCK_MONOTONIC nanoseconds to the capture's ticks, and a duration in
 * nanoseconds to ticks. Writer thread only. */
uint64_t writer_ns_to_ticks(uint64_t mono_ns);
uint64_t writer_dur_to_ticks(uint64_t ns);
/* While a dump or a flush is being cut: the cut's time (ticks), which its
 * events end at; 0 otherwise. Writer thread only. */
uint64_t writer_cut_ticks(void);
/* A record for a pseudo-thread (no events of its own, tid 0) that carries
 * source events not tied to one thread, e.g. "[cgroup]". NULL if the thread
 * table is full. Writer thread only. */
struct trec *writer_pseudo_thread(const char *name);

#endif
