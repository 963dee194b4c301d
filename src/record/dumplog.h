/* What the admin endpoint (src/http) needs from the dumps: the one cooldown
 * that triggered dumps and HTTP dumps share, and the recent dumps with
 * their reasons. Any thread; never on the recording hot path. */
#ifndef CT_RECORD_DUMPLOG_H
#define CT_RECORD_DUMPLOG_H

#include <stddef.h>
#include <stdint.h>

/* The running flight recorder's dump_cooldown_ns (the writer sets it with
 * the flight recorder's settings). */
void dump_cooldown_set(uint64_t ns);
uint64_t dump_cooldown_get(void);
/* Takes the cooldown at now (CLOCK_MONOTONIC ns): 1 when no dump was taken
 * less than the cooldown ago (now becomes the last dump's time, and *prev
 * the one before, for dump_cooldown_undo); 0 otherwise, with the time left
 * in *left_ns. */
int dump_cooldown_take(uint64_t now, uint64_t *prev, uint64_t *left_ns);
/* The time left before a dump may be taken at now; 0: it may. */
uint64_t dump_cooldown_left(uint64_t now);
/* Gives back a take whose dump could not be written (only if no other
 * dump took the cooldown since). */
void dump_cooldown_undo(uint64_t now, uint64_t prev);
/* A dump that is written whatever the cooldown (a crash) still starts it. */
void dump_cooldown_note(uint64_t now);
/* Forgets the last dump (a new flight recorder). */
void dump_cooldown_reset(void);

/* What the writer says of the recording with each generation (for the
 * status page): its flight window, and its event buffers in use. */
struct writer_status {
	uint64_t flight_frames, flight_bytes, flight_window_ns;
	uint64_t buffer_bytes, buffer_free_bytes;
};
void writer_status_set(const struct writer_status *s);
void writer_status_get(struct writer_status *s);

/* The most recent dumps, newest last. */
#define DUMPLOG_MAX 8
struct dumplog_entry {
	uint64_t seq;	    /* 1, 2, ... since the process started */
	uint64_t time_ns;   /* CLOCK_REALTIME when written */
	uint64_t bytes;	    /* the dump's size */
	uint64_t window_ns; /* the span of time it holds */
	int rc;		    /* 0, or the error that cut it short */
	char reason[32];    /* dump.reason */
	char kind[16];	    /* trigger.kind */
	char file[128];	    /* the file's name in dump_dir, "" if written to an fd */
};
/* Called by the writer thread for each dump it writes. Returns its seq. */
uint64_t dumplog_add(const char *reason, const char *kind, uint64_t bytes, uint64_t window_ns,
		     int rc);
/* Names the file of the dump seq (a triggered dump, once renamed). */
void dumplog_set_file(uint64_t seq, const char *path);
/* Copies up to max entries, oldest first; returns how many, and the total
 * count of dumps so far in *total. */
size_t dumplog_get(struct dumplog_entry *out, size_t max, uint64_t *total);

#endif
