/* The flight recorder's window (flight.h): the most recent generation
 * frames, as written, in a ring bounded by bytes. */
#include "record/flight.h"

#include "record/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct frame {
	uint64_t seq, nevents;
	uint64_t min_ns, max_ns; /* CLOCK_MONOTONIC range of its events */
	size_t len;
	uint8_t *bytes; /* the whole frame: header and payload */
};

struct flight {
	uint64_t max_bytes;
	uint64_t bytes; /* held: the frames' lengths */
	struct frame *f;
	size_t head, n, cap; /* a ring: f[(head + i) % cap], oldest first */
	uint64_t evicted;    /* frames dropped for room, since the start */
	uint64_t last_evicted_max_ns;
};

struct flight *flight_new(uint64_t max_bytes)
{
	struct flight *fl = calloc(1, sizeof *fl);
	if (!fl)
		return NULL;
	fl->max_bytes = max_bytes;
	return fl;
}

void flight_free(struct flight *fl)
{
	if (!fl)
		return;
	for (size_t i = 0; i < fl->n; i++)
		free(fl->f[(fl->head + i) % fl->cap].bytes);
	free(fl->f);
	free(fl);
}

static void evict_oldest(struct flight *fl)
{
	struct frame *o = &fl->f[fl->head];
	fl->bytes -= o->len;
	if (o->max_ns > fl->last_evicted_max_ns)
		fl->last_evicted_max_ns = o->max_ns;
	free(o->bytes);
	fl->head = (fl->head + 1) % fl->cap;
	fl->n--;
	fl->evicted++;
}

int flight_add(struct flight *fl, uint64_t seq, uint64_t nevents, uint64_t min_ns, uint64_t max_ns,
	       const struct iovec *parts, int nparts)
{
	size_t len = 0;
	for (int i = 0; i < nparts; i++)
		len += parts[i].iov_len;
	if (len > fl->max_bytes) {
		/* a frame larger than the whole window: the window is only it,
		 * which does not fit; keep the cap, lose the history */
		while (fl->n)
			evict_oldest(fl);
		fl->evicted++;
		if (max_ns > fl->last_evicted_max_ns)
			fl->last_evicted_max_ns = max_ns;
		return -E2BIG;
	}
	while (fl->n && fl->bytes + len > fl->max_bytes)
		evict_oldest(fl);
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 16;
		struct frame *nf = malloc(cap * sizeof *nf);
		if (!nf)
			return -ENOMEM;
		for (size_t i = 0; i < fl->n; i++)
			nf[i] = fl->f[(fl->head + i) % fl->cap];
		free(fl->f);
		fl->f = nf;
		fl->cap = cap;
		fl->head = 0;
	}
	uint8_t *b = malloc(len ? len : 1);
	if (!b)
		return -ENOMEM;
	size_t at = 0;
	for (int i = 0; i < nparts; i++) {
		if (parts[i].iov_len) /* (an empty part may have no buffer) */
			memcpy(b + at, parts[i].iov_base, parts[i].iov_len);
		at += parts[i].iov_len;
	}
	fl->f[(fl->head + fl->n) % fl->cap] = (struct frame){seq, nevents, min_ns, max_ns, len, b};
	fl->n++;
	fl->bytes += len;
	return 0;
}

void flight_window(const struct flight *fl, struct flight_window *w)
{
	memset(w, 0, sizeof *w);
	w->frames = fl->n;
	w->bytes = fl->bytes;
	w->evicted = fl->evicted;
	int first = 1;
	for (size_t i = 0; i < fl->n; i++) {
		const struct frame *f = &fl->f[(fl->head + i) % fl->cap];
		w->events += f->nevents;
		if (!f->nevents)
			continue;
		if (first || f->min_ns < w->min_ns)
			w->min_ns = f->min_ns;
		if (f->max_ns > w->max_ns)
			w->max_ns = f->max_ns;
		first = 0;
	}
	w->evicted_until_ns = fl->last_evicted_max_ns;
}

int flight_write_frames(const struct flight *fl, int fd)
{
	for (size_t i = 0; i < fl->n; i++) {
		const struct frame *f = &fl->f[(fl->head + i) % fl->cap];
		int rc = fd_write_all(fd, f->bytes, f->len);
		if (rc)
			return rc;
	}
	return 0;
}
