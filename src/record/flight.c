/* The flight recorder's window (flight.h): the most recent generation
 * frames, as written, in one region of max_bytes reserved at the start and
 * used as a ring of contiguous frames, so that the window's memory is the
 * cap, fixed, and never fragments. */
#include "record/flight.h"

#include "format/varint.h"
#include "record/buf.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Where a frame is in the region, and what it holds (for the window's
 * figures: a dump's metadata). */
struct frame {
	uint64_t off;		 /* in the region; the frame is contiguous */
	uint64_t min_ns, max_ns; /* CLOCK_MONOTONIC range of its events */
	uint32_t len, nevents;
};

struct flight {
	uint64_t max_bytes;
	uint8_t *mem;	    /* the region: max_bytes, mapped at the start */
	uint64_t bytes;	    /* held: the frames' lengths */
	uint64_t bytes_hwm; /* the most ever held */
	uint64_t touched;   /* the region's bytes ever written: its resident part */
	uint64_t page;
	struct frame *f;     /* descriptors, a ring: f[(head + i) % cap], oldest first */
	size_t head, n, cap; /* cap grows by doubling up to max_frames */
	size_t max_frames;
	uint64_t evicted; /* frames dropped for room, since the start */
	uint64_t last_evicted_max_ns;
	/* 1 while flight_add changes the ring, 2 while a crash handler reads
	 * it (flight_freeze): each side takes it only from 0, so neither waits
	 * and the handler never reads a ring half changed. */
	_Atomic int busy;
};

struct flight *flight_new(uint64_t max_bytes)
{
	if (!max_bytes || max_bytes > SIZE_MAX / 2)
		return NULL;
	struct flight *fl = calloc(1, sizeof *fl);
	if (!fl)
		return NULL;
	/* Reserved, not touched: pages become resident as frames first reach
	 * them, then stay (a full window is max_bytes, and only that). */
	void *m = mmap(NULL, max_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		free(fl);
		return NULL;
	}
	fl->mem = m;
	fl->max_bytes = max_bytes;
	long page = sysconf(_SC_PAGESIZE);
	fl->page = page > 0 ? (uint64_t)page : 4096;
	/* Frames are rarely under a few KiB (a generation lists its clock,
	 * threads, strings, stacks); the descriptors stay a small fraction
	 * of the region whatever happens: at most one per KiB of it. */
	fl->max_frames = max_bytes / 1024 < 1024 ? 1024 : max_bytes / 1024;
	return fl;
}

void flight_free(struct flight *fl)
{
	if (!fl)
		return;
	munmap(fl->mem, fl->max_bytes);
	free(fl->f);
	free(fl);
}

static void evict_oldest(struct flight *fl)
{
	struct frame *o = &fl->f[fl->head];
	fl->bytes -= o->len;
	if (o->max_ns > fl->last_evicted_max_ns)
		fl->last_evicted_max_ns = o->max_ns;
	fl->head = (fl->head + 1) % fl->cap;
	fl->n--;
	fl->evicted++;
}

/* Where a frame of len bytes fits now without evicting, or -1. Frames are
 * contiguous: one that does not fit before the region's end goes to its
 * start, past which the oldest frame must already have gone. */
static int64_t place(const struct flight *fl, uint64_t len)
{
	if (!fl->n)
		return 0;
	uint64_t head = fl->f[fl->head].off;
	const struct frame *nw = &fl->f[(fl->head + fl->n - 1) % fl->cap];
	uint64_t tail = nw->off + nw->len;
	if (tail > head) { /* in order: free room after the newest and before the oldest */
		if (fl->max_bytes - tail >= len)
			return (int64_t)tail;
		return head >= len ? 0 : -1;
	}
	return head - tail >= len ? (int64_t)tail : -1; /* wrapped: the room between */
}

/* Evicts the oldest frames until one more frame of len bytes has a slot
 * and room, but none whose newest event is at or after keep_ns: 0 when it
 * fits, -1 when it would take such a frame. */
static int make_room(struct flight *fl, uint64_t len, uint64_t keep_ns)
{
	if (fl->n == fl->max_frames) {
		if (fl->f[fl->head].max_ns >= keep_ns)
			return -1;
		evict_oldest(fl);
	}
	while (place(fl, len) < 0) {
		if (fl->f[fl->head].max_ns >= keep_ns)
			return -1;
		evict_oldest(fl);
	}
	return 0;
}

static int add(struct flight *fl, uint64_t nevents, uint64_t min_ns, uint64_t max_ns,
	       const struct iovec *parts, int nparts)
{
	uint64_t len = 0;
	for (int i = 0; i < nparts; i++)
		len += parts[i].iov_len;
	if (len > fl->max_bytes || len > UINT32_MAX) {
		/* a frame larger than the whole window: the window is only it,
		 * which does not fit; keep the cap, lose the history */
		while (fl->n)
			evict_oldest(fl);
		fl->evicted++;
		if (max_ns > fl->last_evicted_max_ns)
			fl->last_evicted_max_ns = max_ns;
		return -E2BIG;
	}
	make_room(fl, len, UINT64_MAX);
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 16;
		if (cap > fl->max_frames)
			cap = fl->max_frames;
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
	int64_t at = place(fl, len);
	uint8_t *b = fl->mem + at;
	for (int i = 0; i < nparts; i++) {
		if (parts[i].iov_len) /* (an empty part may have no buffer) */
			memcpy(b, parts[i].iov_base, parts[i].iov_len);
		b += parts[i].iov_len;
	}
	fl->f[(fl->head + fl->n) % fl->cap] =
		(struct frame){(uint64_t)at, min_ns, max_ns, (uint32_t)len,
			       nevents > UINT32_MAX ? UINT32_MAX : (uint32_t)nevents};
	fl->n++;
	fl->bytes += len;
	if (fl->bytes > fl->bytes_hwm)
		fl->bytes_hwm = fl->bytes;
	if ((uint64_t)at + len > fl->touched)
		fl->touched = (uint64_t)at + len;
	return 0;
}

int flight_keeps(const struct flight *fl, uint64_t len, uint64_t since_ns)
{
	if (len > fl->max_bytes || len > UINT32_MAX)
		return 0;
	/* add()'s evictions, on a copy of the ring's indices */
	struct flight sim = *fl;
	return make_room(&sim, len, since_ns) == 0;
}

int flight_add(struct flight *fl, uint64_t seq, uint64_t nevents, uint64_t min_ns, uint64_t max_ns,
	       const struct iovec *parts, int nparts)
{
	(void)seq; /* (each frame's header has it) */
	int expect = 0;
	if (!atomic_compare_exchange_strong(&fl->busy, &expect, 1))
		return -EBUSY; /* a crash handler is writing the window out */
	int rc = add(fl, nevents, min_ns, max_ns, parts, nparts);
	atomic_store_explicit(&fl->busy, 0, memory_order_release);
	return rc;
}

int flight_freeze(struct flight *fl)
{
	int expect = 0;
	return atomic_compare_exchange_strong(&fl->busy, &expect, 2) ? 0 : -EBUSY;
}

void flight_thaw(struct flight *fl)
{
	int expect = 2;
	atomic_compare_exchange_strong(&fl->busy, &expect, 0);
}

int flight_frame(const struct flight *fl, size_t i, const void **p, size_t *len)
{
	if (i >= fl->n)
		return -1;
	const struct frame *f = &fl->f[(fl->head + i) % fl->cap];
	*p = fl->mem + f->off;
	*len = f->len;
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
		if (f->len >= 8 && ct_get_u32le(fl->mem + f->off + 4) == 0)
			w->raw++; /* its header's flags: not compressed */
		if (!f->nevents)
			continue;
		if (first || f->min_ns < w->min_ns)
			w->min_ns = f->min_ns;
		if (f->max_ns > w->max_ns)
			w->max_ns = f->max_ns;
		first = 0;
	}
	w->evicted_until_ns = fl->last_evicted_max_ns;
	w->bytes_hwm = fl->bytes_hwm;
	w->mem =
		(fl->touched + fl->page - 1) / fl->page * fl->page + fl->cap * sizeof(struct frame);
}
