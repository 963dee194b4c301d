/* The flight recorder's window: the capture's most recent generation frames,
 * kept in memory as the writer wrote them, the oldest dropped so that the
 * frames never hold more than a hard number of bytes. Generations are
 * self-contained, so the window plus a file header and an end frame is a
 * valid trace (writer.c writes it). Writer thread only, except the crash
 * handler's functions below. */
#ifndef CT_RECORD_FLIGHT_H
#define CT_RECORD_FLIGHT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct flight;

struct flight *flight_new(uint64_t max_bytes);
void flight_free(struct flight *fl);

/* Keeps a copy of a frame (its parts, concatenated): generation seq with
 * nevents events in [min_ns, max_ns], dropping the oldest frames to stay
 * within the cap (and within max_bytes/1024 frames, at least 1024). The
 * window is one region of max_bytes mapped by flight_new; frames are
 * contiguous in it. -E2BIG when the frame alone exceeds the cap (the window
 * is then empty), -ENOMEM. */
int flight_add(struct flight *fl, uint64_t seq, uint64_t nevents, uint64_t min_ns, uint64_t max_ns,
	       const struct iovec *parts, int nparts);

/* Whether a frame of len bytes added now would leave the window reaching
 * back to since_ns: the frames its room would evict all end before then.
 * Changes nothing. */
int flight_keeps(const struct flight *fl, uint64_t len, uint64_t since_ns);

struct flight_window {
	uint64_t frames, bytes, events;
	uint64_t raw;		   /* frames held uncompressed (writer.c keep_raw) */
	uint64_t min_ns, max_ns;   /* range of the held events (0 when none) */
	uint64_t evicted;	   /* frames dropped for room since the start */
	uint64_t evicted_until_ns; /* the newest event time dropped, 0 if none */
	uint64_t bytes_hwm;	   /* the most bytes ever held (never over the cap) */
	uint64_t mem;		   /* memory resident for the window: region, descriptors */
};
void flight_window(const struct flight *fl, struct flight_window *w);

/* For a crash handler (any thread, async-signal-safe): flight_freeze keeps
 * the writer from changing the ring (its flight_add then drops the frame
 * with -EBUSY) until flight_thaw; -EBUSY when the writer is changing it
 * now. flight_frame gives frame i, oldest first (-1 past the last).
 * flight_window is async-signal-safe too. */
int flight_freeze(struct flight *fl);
void flight_thaw(struct flight *fl);
int flight_frame(const struct flight *fl, size_t i, const void **p, size_t *len);

#endif
