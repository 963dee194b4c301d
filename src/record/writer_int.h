/* The writer's state, shared by writer.c (draining, generations, the
 * thread) and dump.c (flight-recorder dumps and their triggers). Writer
 * thread only unless a field says otherwise. */
#ifndef CT_RECORD_WRITER_INT_H
#define CT_RECORD_WRITER_INT_H

#include <pthread.h>
#include <stdint.h>
#include <zstd.h>

#include "ctrace.h"
#include "format/spec.h"
#include "record/buf.h"
#include "record/clock.h"
#include "record/intern.h"
#include "record/writer.h"

/* Symbol strings (function and file names) get ids above the interned
 * names' range, so both share the generation's string table. */
#define SYM_STR_BASE 0x100000u

struct symstr {
	const char *s; /* owned by the symbolizer */
	uint32_t id;
	uint32_t gen; /* last generation that listed it */
};

struct loc {
	uint64_t pc;
	uint32_t index; /* 1-based position in its generation's locations */
	uint32_t gen;
};

struct writer {
	struct ct_config cfg;
	int fd, own_fd;
	int sink_err; /* first sink error; nothing is written after it */
	pthread_t thread;
	pthread_mutex_t mu; /* only between ct_stop() and the writer thread */
	pthread_cond_t cv;
	int stopping;			/* under mu: ct_stop() asked the writer to finish */
	int final_drain;		/* writer only: the last drain after quiescence */
	uint64_t flush_req, flush_done; /* ct_flush() requests, under mu */
	pthread_cond_t flushed;
	uint32_t epoch;
	int clock_kind;

	struct clock_snapshot start;
	uint32_t seq;	       /* current generation */
	uint64_t gen_start_ns; /* CLOCK_MONOTONIC at its start */
	uint64_t gen_events, gen_lost;
	uint64_t gen_min, gen_max;
	struct buf batches; /* BATCH sections of the current generation */
	struct buf tables, tmp;
	uint8_t *zbuf;
	size_t zcap;
	ZSTD_CCtx *zc;

	/* names and stacks referenced in the current generation */
	uint8_t name_seen[(INTERN_MAX_NAMES + 8) / 8];
	uint32_t names[INTERN_MAX_NAMES];
	size_t nnames;
	uint8_t *stack_seen; /* bitmap over stack ids */
	uint32_t *stacks;
	size_t nstacks, capstacks;

	/* symbolization, cached for the whole capture */
	struct symbolizer *sym;
	struct symstr *syms; /* open addressing keyed by the string pointer */
	size_t nsyms, capsyms;
	uint32_t next_symstr;
	const char **gen_syms; /* symbol strings listed in this generation */
	size_t ngen_syms, capgen_syms;
	struct loc *locs; /* open addressing keyed by pc */
	size_t nlocs, caplocs;
	uint64_t *gen_locs;
	size_t ngen_locs, capgen_locs;

	/* loss the writer reports itself (LOSS section) */
	uint64_t unreg_reported;
	uint64_t encoding_lost;

	uint64_t events, lost, bytes, generations, threads;

	/* flight recorder: the window, and ct_flight_write() requests (under
	 * mu; one at a time, in the writer thread) */
	struct flight *flight;
	int dump_fd, dump_rc, dump_busy;
	int begin_calls;	  /* this round writes the begin of calls still open */
	int cutting;		  /* these rounds drain up to the cut (cut_mark) */
	int cut_full_only;	  /* the cut's first rounds: full chunks only */
	uint64_t cut_ticks;	  /* when the cut was asked */
	char *dump_dir;		  /* triggered dumps go there (a copy of the config's) */
	uint64_t last_trigger_ns; /* when the last triggered dump was written */
	uint64_t dump_serial;	  /* keeps dump names unique */
	uint64_t dump_req, dump_done;
	pthread_cond_t dumped;

	/* outputs attached and detached while the recording runs (writer_ctl):
	 * one request at a time, under mu */
	int ctl_op, ctl_rc;
	const void *ctl_arg;
	uint64_t ctl_req, ctl_done;
	int flight_on;	/* under mu: a flight recorder is attached */
	int sink_only;	/* writer only: frames go to the stream, not the window */
	int stream_end; /* writer only: cutting the stream's last generation */
	uint64_t s_events0, s_lost0, s_gens0; /* counters when the stream began */
	uint64_t sym_refreshed_ns;	      /* CLOCK_MONOTONIC of the last sym_refresh */
	uint64_t base_gen_ns, base_flush_ns;  /* the recording's own settings, */
	size_t base_gen_max;		      /* before a flight recorder's tuning */

	struct buf merge;	   /* a piece re-encoded with source events */
	struct clock_snapshot ref; /* recent, for the sources' conversions */
	uint64_t ref_rate;	   /* ticks per second */

	/* slow-task and SLO triggers (watch.c): on while rules are set and
	 * dumps have a directory; the task event scan_one just decoded */
	struct watch *watch;
	int watch_on;
	unsigned wev; /* CT_EV_TASK_BEGIN or CT_EV_TASK_END, 0: none */
	uint64_t wev_task, wev_type;
};

/* A source event waiting in a thread's side queue: its encoding without the
 * timestamp delta (type byte, arguments, stack id). */
struct side_ev {
	uint64_t ts;
	uint8_t n;
	uint8_t b[CT_EVENT_MAX_FIXED];
};
/* Per thread; beyond it source events are dropped and counted. */
#define SIDE_MAX 65536u

/* writer.c, for watch.c: a timestamp to CLOCK_MONOTONIC ns (the writer's
 * recent clock snapshot). */
uint64_t writer_ticks_to_ns(const struct writer *w, uint64_t t);

/* writer.c, for dump.c */
int build_header(struct writer *w, struct buf *out, const char *const *extra, int nextra);
void frame_header(uint8_t h[CT_GEN_HEADER_SIZE], const char magic[4], uint32_t flags, uint64_t seq,
		  uint32_t stored, uint32_t raw, uint32_t crc);
/* Compresses a then b (zstd, the capture's level) into w->zbuf: the
 * compressed length, or 0 when not compressing, on error, or when it would
 * not be smaller. */
size_t writer_zcompress(struct writer *w, const void *a, size_t na, const void *b, size_t nb);

/* dump.c, for writer.c */
/* Writes the window as a trace to fd (the current generation was just
 * cut); t says why (its reason and details go into the header). */
int write_dump(struct writer *w, int fd, const struct dump_trigger *t);
/* Takes the pending trigger, if any: 1 when a dump is to be written now
 * (into *t), 0 when none is pending or the cooldown dropped it. */
int trigger_take(struct writer *w, struct dump_trigger *t);
/* Writes a triggered dump into the dump directory, then applies retention. */
void triggered_dump(struct writer *w, const struct dump_trigger *t);
/* Start and end of a capture's triggers (writer_start, writer_stop). */
void triggers_enable(int on);

#endif
