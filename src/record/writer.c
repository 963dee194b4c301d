/* The writer thread: drains every thread's chunks without stopping them,
 * scans the events (timestamps, referenced names and stacks), and cuts the
 * stream into self-contained generations (docs/FORMAT.md) that it
 * compresses and hands to the sink. */
#include "record/writer.h"

#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "record/buf.h"
#include "record/crash.h"
#include "record/dumplog.h"
#include "record/flight.h"
#include "record/intern.h"
#include "record/rec.h"
#include "record/sources.h"
#include "record/stacks.h"
#include "record/symbolize.h"
#include "record/watch.h"

#include "record/writer_int.h"

static struct writer *W;
/* For callers from other threads (ct_flush, ct_flight_write): the writer
 * they may use, and how many are inside; writer_stop() clears the first and
 * waits for the second to fall to 0 before it frees the writer. */
static _Atomic(struct writer *) W_pub;
static _Atomic int w_users;

static struct writer *w_enter(void)
{
	atomic_fetch_add(&w_users, 1);
	struct writer *w = atomic_load(&W_pub);
	if (!w)
		atomic_fetch_sub(&w_users, 1);
	return w;
}

static void w_leave(void)
{
	atomic_fetch_sub(&w_users, 1);
}
static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ct_stats stats; /* updated once per generation */

/* Source events waiting in every thread's side queue: each holds at most
 * SIDE_MAX, and all of them together at most side_budget() bytes. */
static uint64_t side_bytes(void)
{
	uint64_t n = 0;
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++)
		n += g_recs[i].capside;
	return n * sizeof(struct side_ev);
}

static uint64_t side_budget(const struct writer *w)
{
	uint64_t b = w->cfg.buffer_bytes / 8;
	return b < (1u << 20) ? 1u << 20 : b;
}

/* What the writer holds besides the window and the pool: the current
 * generation's buffers (bounded by generation_max_bytes and the largest
 * piece), the compressor, the side queues, the capture's tables. */
static uint64_t writer_mem(const struct writer *w)
{
	return sizeof *w + w->batches.cap + w->tables.cap + w->tmp.cap + w->merge.cap + w->zcap +
	       (w->zc ? ZSTD_sizeof_CCtx(w->zc) : 0) + (STACK_MAX_IDS + 8) / 8 +
	       w->capstacks * sizeof *w->stacks + w->capsyms * sizeof *w->syms +
	       w->capgen_syms * sizeof *w->gen_syms + w->caplocs * sizeof *w->locs +
	       w->capgen_locs * sizeof *w->gen_locs + side_bytes();
}

static void publish_stats(struct writer *w)
{
	struct flight_window fw = {0};
	if (w->flight)
		flight_window(w->flight, &fw);
	uint64_t pool = pool_resident_bytes(), wmem = writer_mem(w);
	struct timespec cpu;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu); /* called on the writer thread */
	pthread_mutex_lock(&stats_mu);
	stats.writer_cpu_ns = (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
	stats.events = w->events;
	stats.lost = w->lost;
	stats.bytes = w->bytes;
	stats.generations = w->generations;
	stats.threads = w->threads;
	stats.flight_bytes = fw.bytes;
	stats.flight_bytes_max = fw.bytes_hwm;
	stats.flight_frames = fw.frames;
	stats.flight_frames_raw = fw.raw;
	stats.mem_window = fw.mem;
	stats.mem_pool = pool;
	stats.mem_writer = wmem;
	stats.mem_bytes = fw.mem + pool + wmem;
	pthread_mutex_unlock(&stats_mu);
	struct writer_status ws = {fw.frames, fw.bytes, 0, w->cfg.buffer_bytes,
				   pool_free_chunks() * w->cfg.chunk_bytes};
	ws.flight_window_ns = fw.max_ns > fw.min_ns ? fw.max_ns - fw.min_ns : 0;
	writer_status_set(&ws); /* for the admin endpoint */
}

void writer_stats(struct ct_stats *s)
{
	pthread_mutex_lock(&stats_mu);
	*s = stats;
	pthread_mutex_unlock(&stats_mu);
}

/* ---- sink ---- */

static void sink_write(struct writer *w, const void *p, size_t n)
{
	if (w->sink_err || n == 0 || (w->fd < 0 && !w->cfg.write))
		return; /* (a flight recorder alone has no sink) */
	if (w->cfg.write) {
		int rc = w->cfg.write(w->cfg.write_arg, p, n);
		if (rc < 0)
			w->sink_err = rc;
	} else {
		int rc = fd_write_all(w->fd, p, n);
		if (rc < 0)
			w->sink_err = rc;
	}
	if (!w->sink_err)
		w->bytes += n;
}

/* ---- file header ---- */

static void read_small_file(const char *path, char *out, size_t cap, int nul_to_space)
{
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	if (n <= 0)
		return;
	out[n] = 0;
	if (nul_to_space) {
		for (ssize_t i = 0; i < n; i++)
			if (out[i] == 0)
				out[i] = ' ';
		while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\n'))
			out[--n] = 0;
	}
}

struct meta_list {
	struct buf b;
	uint64_t n;
};

static void meta(void *ctx, const char *k, const char *v)
{
	struct meta_list *m = ctx;
	buf_str(&m->b, k, strlen(k));
	buf_str(&m->b, v, strlen(v));
	m->n++;
}

/* The file header, with extra metadata pairs (a dump's) after the
 * capture's own. */
int build_header(struct writer *w, struct buf *out, const char *const *extra, int nextra)
{
	struct buf b = {0};
	uint8_t fixed[16];
	memcpy(fixed, CT_FORMAT_MAGIC, CT_FORMAT_MAGIC_LEN);
	fixed[8] = CT_FORMAT_MAJOR;
	fixed[9] = 0;
	fixed[10] = CT_FORMAT_MINOR;
	fixed[11] = 0;
	buf_put(&b, fixed, 16); /* header_size patched below */
	size_t need = ct_spec_encode(NULL, 0);
	if (buf_reserve(&b, need) == 0)
		b.len += ct_spec_encode(b.p + b.len, need);

	char exe[4096], cmd[4096], host[256], num[32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	read_small_file("/proc/self/cmdline", cmd, sizeof cmd, 1);
	if (gethostname(host, sizeof host) != 0)
		host[0] = 0;
	host[sizeof host - 1] = 0;
	struct meta_list m = {{0}, 0};
	meta(&m, "program", exe);
	snprintf(num, sizeof num, "%d", (int)getpid());
	meta(&m, "pid", num);
	meta(&m, "ctrace.version", CT_VERSION_STRING);
	meta(&m, "clock", w->clock_kind == CT_CLOCK_TSC ? "tsc" : "monotonic");
	snprintf(num, sizeof num, "%llu", (unsigned long long)w->start.real_ns);
	meta(&m, "start.realtime_ns", num);
	meta(&m, "cmdline", cmd);
	meta(&m, "hostname", host);
	sources_meta(meta, &m);
	for (int i = 0; i + 1 < nextra; i += 2)
		meta(&m, extra[i], extra[i + 1]);
	buf_uv(&b, m.n);
	buf_put(&b, m.b.p, m.b.len);
	if (m.b.oom)
		b.oom = 1;
	buf_free(&m.b);
	if (!b.oom && buf_reserve(&b, 4) == 0) {
		ct_put_u32le(b.p + 12, (uint32_t)(b.len + 4));
		uint32_t crc = (uint32_t)crc32(0, b.p, (uInt)b.len);
		ct_put_u32le(b.p + b.len, crc);
		b.len += 4;
		*out = b;
		return 0;
	}
	buf_free(&b);
	return -ENOMEM;
}

static void write_header(struct writer *w)
{
	struct buf b = {0};
	if (build_header(w, &b, NULL, 0) == 0)
		sink_write(w, b.p, b.len);
	else
		w->sink_err = -ENOMEM;
	buf_free(&b);
}

/* ---- scanning a thread's events ---- */

static void mark_name(struct writer *w, uint64_t id)
{
	if (id == 0 || id > INTERN_MAX_NAMES)
		return;
	uint8_t bit = (uint8_t)(1u << (id & 7));
	if (!(w->name_seen[id >> 3] & bit)) {
		w->name_seen[id >> 3] |= bit;
		w->names[w->nnames++] = (uint32_t)id;
	}
}

static void mark_stack(struct writer *w, uint64_t id)
{
	if (id == 0 || id > STACK_MAX_IDS)
		return;
	uint8_t bit = (uint8_t)(1u << (id & 7));
	if (w->stack_seen[id >> 3] & bit)
		return;
	if (w->nstacks == w->capstacks) {
		size_t cap = w->capstacks ? w->capstacks * 2 : 1024;
		uint32_t *s = realloc(w->stacks, cap * sizeof *s);
		if (!s)
			return; /* listed as unknown: the reader reports it */
		w->stacks = s;
		w->capstacks = cap;
	}
	w->stack_seen[id >> 3] |= bit;
	w->stacks[w->nstacks++] = (uint32_t)id;
}

/* What scan_one needs of an event type, from the spec table: a per-type
 * word instead of a walk of the spec's argument kinds for every event (the
 * writer decodes every event it drains; the generic walk was about 145
 * instructions an event under callgrind, more than half of the flight
 * writer's draining on the demo service). */
struct scan_type {
	uint8_t ok; /* a type this build writes */
	uint8_t argc;
	uint8_t strings; /* bit a: argument a is a name id */
	uint8_t bytes;	 /* a length-prefixed byte string follows */
};
_Static_assert(CT_EV_TYPE_COUNT <= CT_TYPE_MASK + 1, "a type byte names every type");
static struct scan_type scan_types[CT_TYPE_MASK + 1]; /* any type byte: ok 0 beyond the spec */
static pthread_once_t scan_types_once = PTHREAD_ONCE_INIT;

static void scan_types_init(void)
{
	for (unsigned t = 1; t < CT_EV_TYPE_COUNT; t++) {
		const struct ct_spec *s = &ct_spec_table[t];
		if (!s->name)
			continue;
		struct scan_type *st = &scan_types[t];
		st->ok = 1;
		st->argc = s->argc;
		for (unsigned a = 0; a < s->argc; a++)
			if (s->args[a] == CT_ARG_STRING)
				st->strings |= (uint8_t)(1u << a);
		st->bytes = (s->flags & CT_SPEC_BYTES) != 0;
	}
}

/* A varint at p, with no bound: the caller checked that a whole event's
 * worth of bytes (CT_EVENT_MAX_FIXED) follows. NULL for a malformed one. */
static inline const uint8_t *uv_unbounded(const uint8_t *p, uint64_t *out)
{
	uint64_t b = *p++;
	if (likely(b < 0x80)) {
		*out = b;
		return p;
	}
	uint64_t v = b & 0x7f;
	for (unsigned shift = 7; shift < 64; shift += 7) {
		b = *p++;
		if (shift == 63 && b > 1)
			return NULL;
		v |= (b & 0x7f) << shift;
		if (b < 0x80) {
			*out = v;
			return p;
		}
	}
	return NULL;
}

/* The next varint of an event, bounded by end unless the event is known to
 * fit (fits): NULL when it does not decode. */
static inline __attribute__((always_inline)) const uint8_t *
uv_next(const uint8_t *p, const uint8_t *end, int fits, uint64_t *out)
{
	if (fits)
		return uv_unbounded(p, out);
	return ct_get_uvarint(&p, end, out) ? NULL : p;
}

/* Decodes one event at p (before end): its timestamp delta, and marks what
 * the generation must list. Returns the end of the event, or NULL if the
 * bytes do not decode (a bug, never expected). */
static inline __attribute__((always_inline)) const uint8_t *
scan_one(struct writer *w, const uint8_t *p, const uint8_t *end, uint64_t *delta)
{
	uint64_t v, av[2] = {0, 0};
	uint8_t tb = *p++;
	unsigned type = tb & CT_TYPE_MASK;
	const struct scan_type *st = &scan_types[type];
	if (!st->ok)
		return NULL;
	int fits = end - p >= (ptrdiff_t)CT_EVENT_MAX_FIXED;
	if (!(p = uv_next(p, end, fits, delta)))
		return NULL;
	for (unsigned a = 0; a < st->argc; a++) {
		if (!(p = uv_next(p, end, fits, &v)))
			return NULL;
		if (a < 2)
			av[a] = v;
		if (st->strings >> a & 1)
			mark_name(w, v);
	}
	if (unlikely(type == CT_EV_LOSS))
		w->gen_lost += av[0];
	if (tb & CT_TYPE_STACK_BIT) {
		if (!(p = uv_next(p, end, fits, &v)))
			return NULL;
		mark_stack(w, v);
	}
	if (st->bytes) {
		if (ct_get_uvarint(&p, end, &v) || v > (uint64_t)(end - p))
			return NULL;
		p += v;
	}
	if (w->watch_on && (type == CT_EV_TASK_BEGIN || type == CT_EV_TASK_END)) {
		w->wev = type; /* the caller knows its time: watch_event */
		w->wev_task = av[0];
		w->wev_type = av[1];
	}
	return p;
}

/* Decodes [p, end) (whole events of one thread), counting them, following
 * the timestamps from *last and marking what the generation must list.
 * Returns 0, or -1 if the bytes do not decode. */
static int scan(struct writer *w, const uint8_t *p, const uint8_t *end, uint64_t *last,
		uint64_t *nev, uint64_t *first_ts)
{
	uint64_t ts = *last, n = 0, d;
	while (p < end) {
		if (!(p = scan_one(w, p, end, &d)))
			return -1;
		ts += d;
		if (w->wev)
			watch_event(w, ts);
		if (n == 0)
			*first_ts = ts;
		n++;
	}
	*last = ts;
	*nev = n;
	return 0;
}

static void finish_gen(struct writer *w);

/* Appends a BATCH section of thread r: nev events in [p, p+n), the first
 * relative to base, the last at last. */
static void put_batch(struct writer *w, struct trec *r, uint64_t base, const uint8_t *p, size_t n,
		      uint64_t nev, uint64_t first, uint64_t last)
{
	uint8_t head[4 * CT_VARINT_MAX], *h = head;
	h = ct_put_uvarint(h, r->index);
	h = ct_put_uvarint(h, base);
	h = ct_put_uvarint(h, nev);
	size_t hl = (size_t)(h - head);
	buf_u8(&w->batches, CT_SEC_BATCH);
	buf_uv(&w->batches, hl + n);
	buf_put(&w->batches, head, hl);
	buf_put(&w->batches, p, n);
	r->w_last = last;
	r->w_events += nev;
	r->w_gen_seen = w->seq;
	w->gen_events += nev;
	if (!w->gen_min || first < w->gen_min)
		w->gen_min = first;
	if (last > w->gen_max)
		w->gen_max = last;
	if (w->batches.len >= w->cfg.generation_max_bytes)
		finish_gen(w);
}

/* Writes side event e into the merge buffer after the event at *out_last;
 * an event that would go back in time is moved up to *out_last. */
static void merge_side(struct writer *w, const struct side_ev *e, uint64_t *out_last)
{
	uint64_t ts = e->ts > *out_last ? e->ts : *out_last;
	uint8_t tmp[CT_VARINT_MAX + 1], *q = tmp;
	*q++ = e->b[0];
	q = ct_put_uvarint(q, ts - *out_last);
	buf_put(&w->merge, tmp, (size_t)(q - tmp));
	buf_put(&w->merge, e->b + 1, e->n - 1u);
	if (e->b[0] & CT_TYPE_STACK_BIT) {
		/* the stack id is the event's last varint */
		const uint8_t *sp = e->b + e->n - 1;
		while (sp > e->b + 1 && (sp[-1] & 0x80))
			sp--;
		uint64_t id;
		if (ct_get_uvarint(&sp, e->b + e->n, &id) == 0)
			mark_stack(w, id);
	}
	*out_last = ts;
}

static void add_piece(struct writer *w, struct trec *r, const uint8_t *p, size_t n)
{
	uint64_t base = r->w_last, last = r->w_user_last, nev = 0, first = 0;
	if (r->nside == 0 && last == base) {
		/* The common case: the thread's bytes go out as they are. */
		if (scan(w, p, p + n, &last, &nev, &first) != 0) {
			/* Cannot happen with this writer's own encoder; if it
			 * does, the bytes are dropped and the trace says so. */
			w->encoding_lost++;
			return;
		}
		if (nev == 0)
			return;
		r->w_user_last = last;
		put_batch(w, r, base, p, n, nev, first, last);
		return;
	}
	/* Source events are waiting, or were emitted after the thread's last
	 * event: merge the two in time order. An event whose delta from the
	 * one before it in the merge is unchanged goes as it is, in a run
	 * copied at once; the first after a source event is re-encoded. */
	const uint8_t *end = p + n, *run = NULL;
	uint64_t out_last = base, user = r->w_user_last, d;
	uint32_t i = 0;
	w->merge.len = 0;
	while (p < end) {
		const uint8_t *e = scan_one(w, p, end, &d);
		if (!e) {
			w->encoding_lost++;
			break;
		}
		user += d;
		if (w->wev)
			watch_event(w, user);
		for (; i < r->nside && r->side[i].ts <= user; i++, nev++) {
			if (run) {
				buf_put(&w->merge, run, (size_t)(p - run));
				run = NULL;
			}
			merge_side(w, &r->side[i], &out_last);
			if (nev == 0)
				first = out_last;
		}
		uint64_t ts = user > out_last ? user : out_last;
		if (ts - out_last == d) {
			if (!run)
				run = p;
		} else {
			if (run)
				buf_put(&w->merge, run, (size_t)(p - run));
			run = NULL;
			const uint8_t *body = p + 1;
			ct_get_uvarint(&body, e, &d); /* skip the old delta */
			uint8_t tmp[CT_VARINT_MAX + 1], *q = tmp;
			*q++ = *p;
			q = ct_put_uvarint(q, ts - out_last);
			buf_put(&w->merge, tmp, (size_t)(q - tmp));
			buf_put(&w->merge, body, (size_t)(e - body));
		}
		out_last = ts;
		if (nev++ == 0)
			first = ts;
		p = e;
	}
	if (run)
		buf_put(&w->merge, run, (size_t)(p - run));
	r->w_user_last = user;
	if (i) {
		memmove(r->side, r->side + i, (r->nside - i) * sizeof *r->side);
		r->nside -= i;
	}
	if (nev)
		put_batch(w, r, base, w->merge.p, w->merge.len, nev, first, out_last);
}

/* Emits the source events queued for r up to time upto: the thread's
 * events up to then are all written (drain_thread), so none can come
 * before them any more. Later ones wait for the thread's next events or
 * the next round. drop: discard them all instead (the thread has ended,
 * and nothing may follow its thread.end). */
static void side_flush(struct writer *w, struct trec *r, int drop, uint64_t upto)
{
	if (!r->nside)
		return;
	if (drop) {
		r->nside = 0;
		return;
	}
	uint64_t base = r->w_last, out_last = base, first = 0;
	uint32_t n = 0;
	w->merge.len = 0;
	for (; n < r->nside && r->side[n].ts <= upto; n++) {
		merge_side(w, &r->side[n], &out_last);
		if (n == 0)
			first = out_last;
	}
	if (!n)
		return;
	memmove(r->side, r->side + n, (r->nside - n) * sizeof *r->side);
	r->nside -= n;
	put_batch(w, r, base, w->merge.p, w->merge.len, n, first, out_last);
}

int side_try_push(struct trec *r, uint64_t ts, uint8_t type, const uint64_t *args, uint32_t stack)
{
	if (r->nside == r->capside) {
		uint32_t cap = r->capside ? r->capside * 2 : 64;
		int room = cap <= SIDE_MAX &&
			   side_bytes() + (cap - r->capside) * sizeof *r->side <= side_budget(W);
		struct side_ev *n = room ? realloc(r->side, cap * sizeof *n) : NULL;
		if (!n)
			return -1;
		r->side = n;
		r->capside = cap;
	}
	const struct ct_spec *s = &ct_spec_table[type];
	struct side_ev e;
	uint8_t *q = e.b;
	*q++ = (uint8_t)(type | (stack && (s->flags & CT_SPEC_STACK_ABLE) ? CT_TYPE_STACK_BIT : 0));
	for (unsigned a = 0; a < s->argc; a++)
		q = ct_put_uvarint(q, args[a]);
	if (e.b[0] & CT_TYPE_STACK_BIT)
		q = ct_put_uvarint(q, stack);
	e.n = (uint8_t)(q - e.b);
	e.ts = ts;
	/* sources push in time order each; keep the queue sorted across them */
	uint32_t at = r->nside;
	while (at > 0 && r->side[at - 1].ts > ts)
		at--;
	memmove(r->side + at + 1, r->side + at, (r->nside - at) * sizeof e);
	r->side[at] = e;
	r->nside++;
	return 0;
}

void side_push(struct trec *r, uint64_t ts, uint8_t type, const uint64_t *args, uint32_t stack)
{
	if (side_try_push(r, ts, type, args, stack) != 0)
		r->w_side_lost++; /* said in the generation's loss table */
}

uint64_t writer_flush_ns(void)
{
	return W ? W->cfg.flush_ns : 0;
}

uint64_t writer_cut_ticks(void)
{
	struct writer *w = W;
	return w && w->cutting && !w->final_drain ? w->cut_ticks : 0;
}

uint64_t writer_ns_to_ticks(uint64_t ns)
{
	struct writer *w = W;
	if (w->clock_kind == CT_CLOCK_MONOTONIC)
		return ns;
	__int128 d =
		(__int128)((int64_t)(ns - w->ref.mono_ns)) * (__int128)w->ref_rate / 1000000000;
	return (uint64_t)((__int128)w->ref.ticks + d);
}

uint64_t writer_dur_to_ticks(uint64_t ns)
{
	struct writer *w = W;
	if (w->clock_kind == CT_CLOCK_MONOTONIC)
		return ns;
	return (uint64_t)((unsigned __int128)ns * w->ref_rate / 1000000000u);
}

struct trec *writer_pseudo_thread(const char *name)
{
	struct writer *w = W;
	struct trec *r = rec_pseudo(name, w->epoch);
	if (r) {
		r->w_last = r->w_user_last = clock_ticks();
	}
	return r;
}

/* The thread is blocked in an interposed call as the capture ends: its
 * wait.begin goes into the stream at the call's start, with the stack the
 * thread walked as it began the call (rec.h call_begin) or else its call
 * site alone. */
static void open_call(struct trec *r, uint64_t t0, uint64_t pc, uint32_t walked,
		      const uint64_t args[3])
{
	uint32_t stack = walked ? walked : pc ? stack_id(&pc, 1, stack_hash(&pc, 1)) : 0;
	side_push(r, t0, CT_EV_WAIT_BEGIN, args, stack);
}

/* Chunks taken from one thread per round: a thread that writes faster than
 * the writer drains must not keep it from the others or from cutting
 * generations on time. */
#define DRAIN_BATCH 32

/* Returns 1 when the thread has more to drain than this round took. */
static int drain_thread(struct writer *w, struct trec *r)
{
	/* Read the state first: if the thread had exited by then, everything it
	 * wrote is visible to the drain below. */
	uint32_t state = atomic_load_explicit(&r->state, memory_order_acquire);
	int exited = state == REC_EXITED;
	if (!r->rd) {
		r->rd = atomic_load_explicit(&r->first, memory_order_acquire);
		r->rd_off = 0;
	}
	/* Where the thread's events end now, before the sources are collected:
	 * a kernel record (a switch) older than an event the thread committed
	 * is in the source's buffer by then, so it is merged before that event
	 * rather than found next round, older than what was already written.
	 * Events committed after this point wait for the next round. */
	/* An interposed call the thread is in (rec.h call_begin) may still be
	 * recorded as a wait starting at call_t0: source events after it wait
	 * for that (read before the snapshot, so that a call that ended and
	 * wrote its events before the snapshot is seen as ended). When the
	 * capture ends or a dump is cut while the call is open, the writer
	 * writes its wait.begin here, at its start with its stack (or call
	 * site), so the thread shows blocked where it is; the thread then writes only
	 * the wait.end (CALL_BEGUN). */
	uint64_t call_t0 = atomic_load_explicit(&r->call_t0, memory_order_acquire);
	if (call_t0 && !(call_t0 & CALL_FLAGS) && !exited && (w->final_drain || w->begin_calls)) {
		/* The call's details before claiming it: once claimed, the thread
		 * may end it and begin another call, rewriting them. */
		uint64_t pc = __atomic_load_n(&r->call_site, __ATOMIC_RELAXED);
		uint32_t walked = __atomic_load_n(&r->call_stack, __ATOMIC_RELAXED);
		uint64_t args[3] = {__atomic_load_n(&r->call_reason, __ATOMIC_RELAXED),
				    __atomic_load_n(&r->call_object, __ATOMIC_RELAXED),
				    __atomic_load_n(&r->call_detail, __ATOMIC_RELAXED)};
		if (atomic_compare_exchange_strong(&r->call_t0, &call_t0, call_t0 | CALL_BEGUN)) {
			open_call(r, call_t0, pc, walked, args);
			call_t0 |= CALL_BEGUN;
		}
	}
	int held = call_t0 && !(call_t0 & CALL_BEGUN);
	call_t0 &= ~CALL_FLAGS;
	/* A cut (flush, dump) takes what the thread had committed when it was
	 * asked, not what it wrote since: under load that could be the whole
	 * pool again, and the dump would wait for it and lose its own end. */
	int cut = w->cutting && !exited;
	uint64_t snap = w->final_drain ? UINT64_MAX : cut ? w->cut_ticks : clock_ticks();
	if (held && !w->final_drain && call_t0 <= snap)
		snap = call_t0 - 1;
	struct chunk *stop = r->rd;
	uint32_t stop_pos = 0;
	int limited = 0; /* the thread has more than this round takes */
	/* The cut's first rounds take the threads' full chunks before the
	 * cut, its last round what each had in its current one: the newest
	 * events of every thread go into the cut's last generation, which a
	 * window too small for a large backlog evicts last. */
	int full_only = cut && w->cut_full_only;
	if (cut && (!r->w_cut || (full_only && r->rd == r->w_cut)))
		return 0; /* nothing (more) before the cut in this phase */
	for (int k = 1; stop; k++) {
		struct chunk *next = atomic_load_explicit(&stop->next, memory_order_acquire);
		if (cut && stop == r->w_cut) {
			stop_pos = r->w_cut_pos;
			break;
		}
		if (full_only && next == r->w_cut) {
			stop_pos = atomic_load_explicit(&stop->pos, memory_order_acquire);
			break;
		}
		limited = next && k == DRAIN_BATCH && !exited;
		if (!next || limited) {
			stop_pos = atomic_load_explicit(&stop->pos, memory_order_acquire);
			break;
		}
		stop = next;
	}
	sources_collect(r, exited);
	while (r->rd) {
		struct chunk *c = r->rd;
		int last = c == stop;
		struct chunk *next =
			last ? NULL : atomic_load_explicit(&c->next, memory_order_acquire);
		uint32_t pos =
			last ? stop_pos : atomic_load_explicit(&c->pos, memory_order_acquire);
		if (pos > r->rd_off) {
			add_piece(w, r, c->data + r->rd_off, pos - r->rd_off);
			r->rd_off = pos;
		}
		if (!next) {
			if (limited)
				return 1;
			break;
		}
		pool_put(c); /* the thread moved on and will not touch it again */
		r->rd = next;
		r->rd_off = 0;
	}
	if (full_only)
		return 0; /* its source events wait for its newest events */
	side_flush(w, r, exited, snap);
	if (state == REC_EXITED) {
		if (r->rd)
			pool_put(r->rd);
		r->rd = NULL;
		r->w_done = 1;
		r->w_gen_seen = w->seq;
	}
	return 0;
}

/* The cut of a flush or a dump: where each thread's events end now. */
static void cut_mark(struct writer *w)
{
	w->cut_ticks = clock_ticks();
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		r->w_cut = NULL;
		if (atomic_load_explicit(&r->epoch, memory_order_acquire) != w->epoch || r->w_done)
			continue;
		struct chunk *c =
			r->rd ? r->rd : atomic_load_explicit(&r->first, memory_order_acquire);
		for (struct chunk *n;
		     c && (n = atomic_load_explicit(&c->next, memory_order_acquire));)
			c = n;
		r->w_cut = c;
		r->w_cut_pos = c ? atomic_load_explicit(&c->pos, memory_order_acquire) : 0;
	}
}

/* One round over every thread; returns 1 when some thread has more. */
static int drain_all(struct writer *w)
{
	int more = 0;
	clock_snapshot(&w->ref);
	w->ref_rate = clock_rate(&w->start, &w->ref);
	sources_round(w->ref.mono_ns);
	watch_round_begin(w);
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		if (atomic_load_explicit(&r->epoch, memory_order_acquire) != w->epoch || r->w_done)
			continue;
		if (!r->w_active) {
			r->w_active = 1;
			w->threads++;
		}
		more |= drain_thread(w, r);
	}
	watch_round_end(w);
	return more;
}

/* ---- generation tables ---- */

static struct symstr *symstr(struct writer *w, const char *s)
{
	if (!s || !*s)
		return NULL;
	if (w->nsyms * 2 >= w->capsyms) {
		size_t cap = w->capsyms ? w->capsyms * 2 : 1024;
		struct symstr *t = calloc(cap, sizeof *t);
		if (!t)
			return NULL;
		for (size_t i = 0; i < w->capsyms; i++) {
			if (!w->syms[i].s)
				continue;
			size_t j = ((uintptr_t)w->syms[i].s >> 3) & (cap - 1);
			while (t[j].s)
				j = (j + 1) & (cap - 1);
			t[j] = w->syms[i];
		}
		free(w->syms);
		w->syms = t;
		w->capsyms = cap;
	}
	/* The symbolizer interns its strings, so the pointer is the key. */
	size_t j = ((uintptr_t)s >> 3) & (w->capsyms - 1);
	while (w->syms[j].s && w->syms[j].s != s)
		j = (j + 1) & (w->capsyms - 1);
	struct symstr *e = &w->syms[j];
	if (!e->s) {
		e->s = s;
		e->id = SYM_STR_BASE + ++w->next_symstr;
		w->nsyms++;
	}
	if (e->gen != w->seq) {
		e->gen = w->seq;
		if (w->ngen_syms == w->capgen_syms) {
			size_t cap = w->capgen_syms ? w->capgen_syms * 2 : 256;
			const char **g = realloc(w->gen_syms, cap * sizeof *g);
			if (!g)
				return NULL;
			w->gen_syms = g;
			w->capgen_syms = cap;
		}
		w->gen_syms[w->ngen_syms++] = s; /* the key: syms may move */
	}
	return e;
}

static uint32_t loc_index(struct writer *w, uint64_t pc)
{
	if (w->nlocs * 2 >= w->caplocs) {
		size_t cap = w->caplocs ? w->caplocs * 2 : 1024;
		struct loc *t = calloc(cap, sizeof *t);
		if (!t)
			return 0;
		for (size_t i = 0; i < w->caplocs; i++) {
			if (!w->locs[i].pc)
				continue;
			size_t j = (w->locs[i].pc * 0x9e3779b97f4a7c15ull >> 40) & (cap - 1);
			while (t[j].pc)
				j = (j + 1) & (cap - 1);
			t[j] = w->locs[i];
		}
		free(w->locs);
		w->locs = t;
		w->caplocs = cap;
	}
	size_t j = (pc * 0x9e3779b97f4a7c15ull >> 40) & (w->caplocs - 1);
	while (w->locs[j].pc && w->locs[j].pc != pc)
		j = (j + 1) & (w->caplocs - 1);
	struct loc *l = &w->locs[j];
	if (!l->pc) {
		l->pc = pc;
		w->nlocs++;
	}
	if (l->gen != w->seq) {
		if (w->ngen_locs == w->capgen_locs) {
			size_t cap = w->capgen_locs ? w->capgen_locs * 2 : 1024;
			uint64_t *g = realloc(w->gen_locs, cap * sizeof *g);
			if (!g)
				return 0;
			w->gen_locs = g;
			w->capgen_locs = cap;
		}
		l->gen = w->seq;
		w->gen_locs[w->ngen_locs++] = pc;
		l->index = (uint32_t)w->ngen_locs;
	}
	return l->index;
}

static void put_clock(struct writer *w, const struct clock_snapshot *now)
{
	struct buf *b = &w->tmp;
	b->len = 0;
	buf_uv(b, (uint64_t)w->clock_kind);
	buf_uv(b, clock_rate(&w->start, now));
	buf_uv(b, now->ticks);
	buf_uv(b, now->mono_ns);
	buf_uv(b, now->real_ns);
	buf_uv(b, w->gen_min);
	buf_uv(b, w->gen_max);
	buf_section(&w->tables, CT_SEC_CLOCK, b);
}

static void thread_name(struct trec *r)
{
	/* Names change after registration (pthread_setname_np): re-read. */
	char path[64], name[32];
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)r->tid);
	read_small_file(path, name, sizeof name, 0);
	size_t n = strcspn(name, "\n");
	if (n > 0 && n < sizeof r->name) {
		memcpy(r->name, name, n);
		r->name[n] = 0;
	}
}

/* Whether thread r is listed in the current generation. */
static int listed(const struct writer *w, struct trec *r)
{
	/* the epoch first: a thread registering writes the other fields
	 * before it publishes its epoch */
	return atomic_load_explicit(&r->epoch, memory_order_acquire) == w->epoch && r->w_active &&
	       r->w_gen_seen == w->seq;
}

static void put_threads(struct writer *w)
{
	struct buf *b = &w->tmp;
	b->len = 0;
	uint32_t high = atomic_load(&g_recs_high), n = 0;
	for (uint32_t i = 0; i < high; i++)
		n += listed(w, &g_recs[i]);
	buf_uv(b, n);
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		if (!listed(w, r))
			continue;
		if (!r->w_done)
			thread_name(r);
		buf_uv(b, r->index);
		buf_uv(b, (uint64_t)r->tid);
		const char *nm = r->w_done && r->exit_name[0] ? r->exit_name : r->name;
		buf_str(b, nm, strnlen(nm, sizeof r->name));
		buf_uv(b, r->w_done ? 1 : 0);
	}
	buf_section(&w->tables, CT_SEC_THREADS, b);
}

#define SYM_REFRESH_NS 10000000000ull

static void put_stacks(struct writer *w)
{
	if (!w->nstacks)
		return;
	struct buf *b = &w->tmp;
	/* STACKS first (into tables) while collecting locations... */
	size_t known = w->nlocs;
	b->len = 0;
	buf_uv(b, w->nstacks);
	for (size_t i = 0; i < w->nstacks; i++) {
		uint32_t depth = 0;
		const uint64_t *pcs = stack_lookup(w->stacks[i], &depth);
		buf_uv(b, w->stacks[i]);
		buf_uv(b, pcs ? depth : 0);
		for (uint32_t k = 0; pcs && k < depth; k++)
			buf_uv(b, loc_index(w, pcs[k]));
	}
	struct buf stacks = *b;
	w->tmp = (struct buf){0};
	/* The mappings are read again (/proc/self/maps: 300 us for the demo's
	 * 400 lines, most of an idle writer's generation) when a return
	 * address is new, and at least every SYM_REFRESH_NS: a library loaded
	 * since brings new addresses; one unloaded and another loaded at the
	 * same addresses, with none new, is named anew within that time. */
	if (!w->sym)
		w->sym = sym_open();
	uint64_t t = mono_ns();
	if (w->sym && (w->nlocs != known || t - w->sym_refreshed_ns >= SYM_REFRESH_NS)) {
		sym_refresh(w->sym);
		w->sym_refreshed_ns = t;
	}

	/* ...then LOCATIONS, which also decides the symbol strings. */
	struct buf *lb = &w->tmp;
	buf_uv(lb, w->ngen_locs);
	for (size_t i = 0; i < w->ngen_locs; i++) {
		struct sym_frame fr[SYM_MAX_FRAMES];
		uint32_t mapping = 0;
		int nf = w->sym ? sym_lookup(w->sym, w->gen_locs[i] - 1, fr, SYM_MAX_FRAMES,
					     &mapping)
				: 0;
		buf_uv(lb, w->gen_locs[i]);
		buf_uv(lb, mapping);
		buf_uv(lb, (uint64_t)(nf > 0 ? nf : 0));
		for (int k = 0; k < nf; k++) {
			struct symstr *fn = symstr(w, fr[k].function);
			struct symstr *fl = symstr(w, fr[k].file);
			buf_uv(lb, fn ? fn->id : 0);
			buf_uv(lb, fl ? fl->id : 0);
			buf_uv(lb, fr[k].line);
		}
	}
	buf_section(&w->tables, CT_SEC_LOCATIONS, lb);
	buf_section(&w->tables, CT_SEC_STACKS, &stacks);
	buf_free(&stacks);

	if (w->sym) {
		const struct sym_mapping *m;
		size_t nm = sym_mappings(w->sym, &m);
		lb->len = 0;
		buf_uv(lb, nm);
		for (size_t i = 0; i < nm; i++) {
			buf_uv(lb, m[i].start);
			buf_uv(lb, m[i].end);
			buf_uv(lb, m[i].offset);
			buf_str(lb, m[i].path, strlen(m[i].path));
			buf_str(lb, (const char *)m[i].build_id, m[i].build_id_len);
		}
		buf_section(&w->tables, CT_SEC_MAPPINGS, lb);
	}
}

static struct symstr *symstr_find(struct writer *w, const char *s)
{
	size_t j = ((uintptr_t)s >> 3) & (w->capsyms - 1);
	while (w->syms[j].s && w->syms[j].s != s)
		j = (j + 1) & (w->capsyms - 1);
	return &w->syms[j];
}

static void put_strings(struct writer *w)
{
	struct buf *b = &w->tmp;
	b->len = 0;
	buf_uv(b, w->nnames + w->ngen_syms);
	for (size_t i = 0; i < w->nnames; i++) {
		size_t len = 0;
		const char *s = intern_lookup(w->names[i], &len);
		buf_uv(b, w->names[i]);
		buf_str(b, s ? s : "", s ? len : 0);
	}
	for (size_t i = 0; i < w->ngen_syms; i++) {
		const char *s = w->gen_syms[i];
		buf_uv(b, symstr_find(w, s)->id);
		buf_str(b, s, strlen(s));
	}
	buf_section(&w->tables, CT_SEC_STRINGS, b);
}

/* A loss table's entries, with their count and total. */
struct loss_list {
	struct buf b;
	uint64_t n, total;
};

/* One entry: count events of thread index (0: none can be named) lost
 * between first and last (ticks), for reason. */
static void loss_add(struct loss_list *l, uint64_t index, uint64_t count, uint64_t first,
		     uint64_t last, unsigned reason)
{
	buf_uv(&l->b, index);
	buf_uv(&l->b, count);
	buf_uv(&l->b, first);
	buf_uv(&l->b, last);
	buf_uv(&l->b, reason);
	l->total += count;
	l->n++;
}

/* Loss the threads could not write in-band: what an exited thread (or, at
 * the end, any thread) still had pending, events dropped because a signal
 * handler interrupted an event, events of threads that got no record, bytes
 * that did not decode. Returns the events counted. */
static uint64_t put_loss(struct writer *w, uint64_t now_ticks)
{
	struct buf *b = &w->tmp;
	struct loss_list l = {0};
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		if (atomic_load(&r->epoch) != w->epoch || !r->w_active)
			continue;
		uint64_t re = atomic_load_explicit(&r->reentered, memory_order_relaxed);
		if (re > r->w_reentered_reported) {
			loss_add(&l, r->index, re - r->w_reentered_reported, now_ticks, now_ticks,
				 CT_LOSS_REENTRANT);
			r->w_reentered_reported = re;
			r->w_gen_seen = w->seq;
		}
		if (r->w_side_lost) {
			loss_add(&l, r->index, r->w_side_lost, now_ticks, now_ticks,
				 CT_LOSS_BUFFER_FULL);
			r->w_side_lost = 0;
			r->w_gen_seen = w->seq;
		}
		if (!(r->w_done == 1 || w->final_drain || w->stream_end))
			continue; /* the thread itself will write it */
		uint64_t lost = atomic_load_explicit(&r->lost, memory_order_acquire);
		if (!lost)
			continue;
		loss_add(&l, r->index, lost, atomic_load(&r->lost_first),
			 atomic_load(&r->lost_last), CT_LOSS_BUFFER_FULL);
		/* A stream ending while the thread runs on: the stream says what
		 * the thread lost so far; the thread still reports it itself in
		 * the recording that goes on (this generation is the stream's
		 * only, not the flight recorder's). */
		if (r->w_done == 1 || w->final_drain)
			atomic_store(&r->lost, 0);
		r->w_gen_seen = w->seq; /* list the thread */
	}
	uint64_t unreg = atomic_load(&g_unregistered_lost);
	if (unreg > w->unreg_reported) {
		loss_add(&l, 0, unreg - w->unreg_reported, now_ticks, now_ticks, CT_LOSS_NO_BUFFER);
		w->unreg_reported = unreg;
	}
	/* switch records a CPU's perf ring had no room for, whoever's they
	 * were (each thread's own count of switches says which of its went
	 * missing, at its end: perf_check_lost) */
	uint64_t src_lost = sources_take_lost();
	if (src_lost)
		loss_add(&l, 0, src_lost, now_ticks, now_ticks, CT_LOSS_BUFFER_FULL);
	if (w->encoding_lost) {
		loss_add(&l, 0, w->encoding_lost, now_ticks, now_ticks, CT_LOSS_ENCODING);
		w->encoding_lost = 0;
	}
	if (l.n) {
		b->len = 0;
		buf_uv(b, l.n);
		buf_put(b, l.b.p, l.b.len);
		buf_section(&w->tables, CT_SEC_LOSS, b);
	}
	buf_free(&l.b);
	return l.total;
}

static void reset_gen(struct writer *w)
{
	for (size_t i = 0; i < w->nnames; i++)
		w->name_seen[w->names[i] >> 3] = 0;
	for (size_t i = 0; i < w->nstacks; i++)
		w->stack_seen[w->stacks[i] >> 3] = 0;
	w->nnames = w->nstacks = w->ngen_syms = w->ngen_locs = 0;
	w->batches.len = 0;
	w->gen_events = w->gen_lost = 0;
	w->gen_min = w->gen_max = 0;
	w->gen_start_ns = mono_ns();
	w->seq++;
}

void frame_header(uint8_t h[CT_GEN_HEADER_SIZE], const char magic[4], uint32_t flags, uint64_t seq,
		  uint32_t stored, uint32_t raw, uint32_t crc)
{
	memcpy(h, magic, 4);
	ct_put_u32le(h + 4, flags);
	ct_put_u64le(h + 8, seq);
	ct_put_u32le(h + 16, stored);
	ct_put_u32le(h + 20, raw);
	ct_put_u32le(h + 24, crc);
	ct_put_u32le(h + 28, (uint32_t)crc32(0, h, 28));
}

/* A timestamp to CLOCK_MONOTONIC ns with the writer's recent snapshot. */
static uint64_t ticks_to_ns(const struct writer *w, uint64_t t)
{
	if (!t)
		return 0;
	if (w->clock_kind == CT_CLOCK_MONOTONIC || !w->ref_rate)
		return t;
	__int128 d = (__int128)((int64_t)(t - w->ref.ticks)) * 1000000000 / (__int128)w->ref_rate;
	return (uint64_t)((__int128)w->ref.mono_ns + d);
}

uint64_t writer_ticks_to_ns(const struct writer *w, uint64_t t)
{
	return ticks_to_ns(w, t);
}

static void emit_frame(struct writer *w, const char magic[4], uint32_t flags, uint64_t seq,
		       const struct buf *a, const struct buf *b, uint32_t stored, uint32_t raw,
		       uint32_t crc)
{
	uint8_t h[CT_GEN_HEADER_SIZE];
	frame_header(h, magic, flags, seq, stored, raw, crc);
	sink_write(w, h, sizeof h);
	if (a)
		sink_write(w, a->p, a->len);
	if (b)
		sink_write(w, b->p, b->len);
	if (w->flight && !w->sink_only && !memcmp(magic, CT_GEN_MAGIC, 4)) {
		struct iovec parts[3] = {{h, sizeof h},
					 {a ? a->p : NULL, a ? a->len : 0},
					 {b ? b->p : NULL, b ? b->len : 0}};
		flight_add(w->flight, seq, w->gen_events, ticks_to_ns(w, w->gen_min),
			   ticks_to_ns(w, w->gen_max), parts, 3);
	}
}

/* The writer is done with r's thread: it exited and is fully written. */
static void rec_done(struct trec *r)
{
	sources_thread_end(r);
	free(r->side);
	r->side = NULL;
	r->nside = r->capside = 0;
	r->w_done = 2;
	atomic_store(&r->epoch, 0);
	rec_free(r);
}

size_t writer_zcompress(struct writer *w, const void *a, size_t na, const void *b, size_t nb)
{
	size_t raw = na + nb;
	if (!w->cfg.compress || !w->zc || !raw)
		return 0;
	size_t bound = ZSTD_compressBound(raw);
	if (bound > w->zcap) {
		uint8_t *z = realloc(w->zbuf, bound);
		if (!z)
			return 0;
		w->zbuf = z;
		w->zcap = bound;
	}
	ZSTD_CCtx_reset(w->zc, ZSTD_reset_session_only);
	ZSTD_CCtx_setPledgedSrcSize(w->zc, raw);
	ZSTD_outBuffer out = {w->zbuf, w->zcap, 0};
	ZSTD_inBuffer in1 = {a, na, 0};
	ZSTD_inBuffer in2 = {b, nb, 0};
	size_t rc = 0;
	while (in1.pos < in1.size && !ZSTD_isError(rc))
		rc = ZSTD_compressStream2(w->zc, &out, &in1, ZSTD_e_continue);
	do
		rc = ZSTD_compressStream2(w->zc, &out, &in2, ZSTD_e_end);
	while (rc != 0 && !ZSTD_isError(rc));
	return !ZSTD_isError(rc) && out.pos < raw ? out.pos : 0;
}

/* A flight recorder alone keeps a generation uncompressed while the window
 * has room for it: when adding it as it is still leaves the window holding
 * half as much again as the history asked for (min_age). Otherwise, or
 * with a stream (whose file wants it small), or with no age asked for
 * (the window is then as much as the bytes hold), it is compressed. A dump
 * compresses the uncompressed frames it writes (dump.c). */
static int keep_raw(struct writer *w, size_t raw)
{
	if (!w->flight || w->sink_only || w->fd >= 0 || w->cfg.write || !w->cfg.flight_min_age_ns)
		return 0;
	uint64_t age = w->cfg.flight_min_age_ns + w->cfg.flight_min_age_ns / 2;
	uint64_t now = mono_ns();
	return flight_keeps(w->flight, raw + CT_GEN_HEADER_SIZE, now > age ? now - age : 0);
}

static void finish_gen(struct writer *w)
{
	struct clock_snapshot now;
	clock_snapshot(&now);
	uint64_t writer_lost = put_loss(w, now.ticks);
	/* The capture's last generation is written even when empty: it says
	 * when the capture ended (its META section), which is where waits still
	 * open at the end run to, however long after the last event. */
	if (w->gen_events == 0 && writer_lost == 0 && !w->final_drain && !w->stream_end) {
		/* nothing happened: no generation, but exited threads are done */
		uint32_t high = atomic_load(&g_recs_high);
		for (uint32_t i = 0; i < high; i++)
			if (atomic_load(&g_recs[i].epoch) == w->epoch && g_recs[i].w_done == 1) {
				rec_done(&g_recs[i]);
			}
		w->tables.len = 0;
		w->batches.len = 0;
		w->gen_start_ns = mono_ns();
		return;
	}
	struct buf loss = w->tables; /* put_loss wrote into tables: keep it last */
	w->tables = (struct buf){0};
	put_clock(w, &now);
	put_threads(w);
	put_stacks(w); /* before strings: it decides the symbol strings */
	put_strings(w);
	buf_put(&w->tables, loss.p, loss.len);
	buf_free(&loss);
	if (w->final_drain || w->stream_end) {
		char v[32];
		snprintf(v, sizeof v, "%llu", (unsigned long long)now.mono_ns);
		struct buf *m = &w->tmp;
		m->len = 0;
		buf_uv(m, 1);
		buf_str(m, "capture.end_ns", strlen("capture.end_ns"));
		buf_str(m, v, strlen(v));
		buf_section(&w->tables, CT_SEC_META, m);
	}

	if (w->tables.oom || w->batches.oom) {
		/* Out of memory on the writer side: say so rather than write a
		 * generation that lies. */
		w->lost += w->gen_events;
		w->tables.oom = w->batches.oom = 0;
	} else {
		size_t raw = w->tables.len + w->batches.len;
		uint32_t flags = 0, crc;
		struct buf zb = {0};
		if (!keep_raw(w, raw)) {
			size_t zn = writer_zcompress(w, w->tables.p, w->tables.len, w->batches.p,
						     w->batches.len);
			if (zn) {
				zb = (struct buf){w->zbuf, zn, w->zcap, 0};
				flags = CT_GEN_FLAG_ZSTD;
			}
		}
		if (flags) {
			crc = (uint32_t)crc32(0, zb.p, (uInt)zb.len);
			emit_frame(w, CT_GEN_MAGIC, flags, w->seq, &zb, NULL, (uint32_t)zb.len,
				   (uint32_t)raw, crc);
		} else {
			crc = (uint32_t)crc32(0, w->tables.p, (uInt)w->tables.len);
			if (w->batches.len) /* zlib's crc32 of a NULL buffer is 0, not crc */
				crc = (uint32_t)crc32(crc, w->batches.p, (uInt)w->batches.len);
			emit_frame(w, CT_GEN_MAGIC, 0, w->seq, &w->tables, &w->batches,
				   (uint32_t)raw, (uint32_t)raw, crc);
		}
		if (w->sink_err) {
			w->lost += w->gen_events;
		} else {
			w->events += w->gen_events;
			w->generations++;
		}
	}
	w->lost += w->gen_lost + writer_lost;
	w->tables.len = 0;

	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		if (atomic_load(&r->epoch) == w->epoch && r->w_done == 1)
			rec_done(r);
	}
	publish_stats(w);
	reset_gen(w);
}

static void write_end(struct writer *w)
{
	struct buf b = {0};
	buf_uv(&b, w->events - w->s_events0);
	buf_uv(&b, w->lost - w->s_lost0);
	buf_uv(&b, w->generations - w->s_gens0);
	emit_frame(w, "CTEN", 0, w->generations - w->s_gens0, &b, NULL, (uint32_t)b.len,
		   (uint32_t)b.len, (uint32_t)crc32(0, b.p, (uInt)b.len));
	buf_free(&b);
}

/* ---- outputs attached while recording ---- */

enum { CTL_SINK_ON = 1, CTL_SINK_OFF, CTL_FLIGHT_ON, CTL_FLIGHT_OFF };

/* The generation settings: the recording's own, or with a flight recorder a
 * fine window: generations of at most a tenth of the history wanted (but
 * not under 10 ms), and small enough in bytes that the window holds
 * several. */
static void tune_generations(struct writer *w)
{
	w->cfg.generation_ns = w->base_gen_ns;
	w->cfg.flush_ns = w->base_flush_ns;
	w->cfg.generation_max_bytes = w->base_gen_max;
	if (!w->flight)
		return;
	uint64_t g = w->cfg.flight_min_age_ns / 10;
	if (g < 10000000u)
		g = 10000000u;
	if (g < w->cfg.generation_ns)
		w->cfg.generation_ns = g;
	if (w->cfg.flush_ns > w->cfg.generation_ns)
		w->cfg.flush_ns = w->cfg.generation_ns;
	size_t gb = w->cfg.flight_max_bytes / 8;
	if (gb < (64u << 10))
		gb = 64u << 10;
	if (gb < w->cfg.generation_max_bytes)
		w->cfg.generation_max_bytes = gb;
}

/* The flight recorder's settings of c into the writer: its window, and the
 * dump settings. */
static int flight_setup(struct writer *w, const struct ct_config *c)
{
	struct flight *fl = flight_new(c->flight_max_bytes);
	char *dir = c->dump_dir ? strdup(c->dump_dir) : NULL;
	if (!fl || (c->dump_dir && !dir)) {
		flight_free(fl);
		free(dir);
		return -ENOMEM;
	}
	w->flight = fl;
	free(w->dump_dir);
	w->dump_dir = dir;
	w->cfg.flight_max_bytes = c->flight_max_bytes;
	w->cfg.flight_min_age_ns = c->flight_min_age_ns;
	w->cfg.dump_dir = NULL; /* (dump_dir is the writer's copy) */
	w->cfg.dump_cooldown_ns = c->dump_cooldown_ns;
	w->cfg.dump_max_files = c->dump_max_files;
	w->cfg.dump_max_bytes = c->dump_max_bytes;
	w->cfg.dump_signal = c->dump_signal;
	w->last_trigger_ns = 0;
	dump_cooldown_set(c->dump_cooldown_ns); /* shared with the admin endpoint */
	dump_cooldown_reset();
	tune_generations(w);
	return 0;
}

/* Applies an output change on the writer thread, after this round's drain,
 * generation cut and dumps. */
static int apply_ctl(struct writer *w, int op, const void *arg)
{
	switch (op) {
	case CTL_SINK_ON: {
		const struct writer_sink *sk = arg;
		w->fd = sk->fd;
		w->own_fd = sk->own_fd;
		w->cfg.write = sk->write;
		w->cfg.write_arg = sk->write_arg;
		w->sink_err = 0;
		w->s_events0 = w->events;
		w->s_lost0 = w->lost;
		w->s_gens0 = w->generations;
		write_header(w);
		return w->sink_err;
	}
	case CTL_SINK_OFF: {
		/* This round cut what the threads had committed (into the
		 * window too); the stream's own last generation says when it
		 * ended, and what threads lost and have not said yet. */
		w->stream_end = 1;
		w->sink_only = 1;
		finish_gen(w);
		write_end(w);
		w->stream_end = 0;
		w->sink_only = 0;
		int rc = w->sink_err;
		if (w->own_fd && close(w->fd) != 0 && !rc)
			rc = -errno;
		w->fd = -1;
		w->own_fd = 0;
		w->cfg.write = NULL;
		w->cfg.write_arg = NULL;
		w->sink_err = 0;
		return rc;
	}
	case CTL_FLIGHT_ON: {
		int rc = flight_setup(w, arg);
		if (rc == 0 && w->dump_dir)
			triggers_enable(1);
		return rc;
	}
	case CTL_FLIGHT_OFF:
		triggers_enable(0);
		flight_free(w->flight);
		w->flight = NULL;
		free(w->dump_dir);
		w->dump_dir = NULL;
		w->cfg.flight_max_bytes = 0;
		tune_generations(w);
		return 0;
	}
	return -EINVAL;
}

/* ---- the thread ---- */

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	/* The writer must never record itself. */
	ct_tls.dead = 1;
	ct_tls.epoch = EPOCH_DEAD;
	pthread_mutex_lock(&w->mu);
	int more = 0;
	while (!w->stopping) {
		/* Drain sooner when the pool runs low, so threads do not drop. */
		size_t nfree = pool_free_chunks();
		uint64_t wait = more ? 0 : w->cfg.flush_ns;
		if (nfree < w->cfg.buffer_bytes / w->cfg.chunk_bytes / 2)
			wait = 1000000;
		if (nfree < w->cfg.buffer_bytes / w->cfg.chunk_bytes / 4)
			wait = 0;
		uint64_t soon = sources_wait_ns();
		if (soon && soon < wait)
			wait = soon;
		if (wait && w->flush_req == w->flush_done && w->dump_req == w->dump_done &&
		    w->ctl_req == w->ctl_done) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t t = (uint64_t)ts.tv_nsec + wait;
			ts.tv_sec += (time_t)(t / 1000000000u);
			ts.tv_nsec = (long)(t % 1000000000u);
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
			if (w->stopping)
				break;
		}
		uint64_t req = w->flush_req, dreq = w->dump_req, creq = w->ctl_req;
		int dfd = w->dump_fd, cop = creq != w->ctl_done ? w->ctl_op : 0;
		const void *carg = w->ctl_arg;
		/* a trigger, unless a triggered dump was written too recently */
		struct dump_trigger trig;
		int triggered = trigger_take(w, &trig);
		/* a dump cuts the generation like a flush; so does a stream's end */
		int cut = dreq != w->dump_done || triggered || cop == CTL_SINK_OFF;
		/* and a stream's start, so that it starts now (a thread blocked
		 * then writes its wait.begin itself, into the stream) */
		if (cut || cop == CTL_SINK_ON)
			req = ++w->flush_req;
		pthread_mutex_unlock(&w->mu);
		w->begin_calls = cut; /* dumps and a stream's end show blocked threads */
		if (req != w->flush_done) {
			cut_mark(w);
			w->cutting = 1;
			w->cut_full_only = 1;
		}
		more = drain_all(w);
		w->begin_calls = 0;
		/* A flush wants everything committed before it, and only that
		 * (cut_mark). That is at most the whole pool, so this many
		 * bounded rounds reach it. */
		size_t rounds = w->cfg.buffer_bytes / w->cfg.chunk_bytes / DRAIN_BATCH + 1;
		while (req != w->flush_done && more && rounds--)
			more = drain_all(w);
		if (w->cutting) {
			w->cut_full_only = 0;
			rounds = w->cfg.buffer_bytes / w->cfg.chunk_bytes / DRAIN_BATCH + 1;
			while ((more = drain_all(w)) && rounds--)
				;
		}
		w->cutting = 0;
		if (req != w->flush_done || mono_ns() - w->gen_start_ns >= w->cfg.generation_ns)
			finish_gen(w);
		int drc = 0;
		if (dreq != w->dump_done) {
			struct dump_trigger manual = {.reason = "manual", .kind = "manual"};
			drc = write_dump(w, dfd, &manual);
		}
		if (triggered)
			triggered_dump(w, &trig);
		int crc = cop ? apply_ctl(w, cop, carg) : 0;
		pthread_mutex_lock(&w->mu);
		if (cop) {
			w->ctl_rc = crc;
			w->ctl_done = creq;
			pthread_cond_broadcast(&w->flushed);
		}
		if (dreq != w->dump_done) {
			w->dump_rc = drc;
			w->dump_done = dreq;
			pthread_cond_broadcast(&w->dumped);
		}
		if (req != w->flush_done) {
			w->flush_done = req;
			pthread_cond_broadcast(&w->flushed);
		}
	}
	pthread_mutex_unlock(&w->mu);
	/* ct_stop() quiesced every thread: this drain is the last. */
	w->final_drain = 1;
	while (drain_all(w))
		;
	finish_gen(w);
	write_end(w);
	/* Threads still alive keep their records for the next capture; their
	 * sources end with this one. */
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		if (atomic_load(&r->epoch) != w->epoch || r->w_done == 2)
			continue;
		sources_thread_end(r);
		free(r->side);
		r->side = NULL;
		r->nside = r->capside = 0;
		if (r->pseudo)
			atomic_store(&r->state, REC_EXITED);
	}
	sources_stop();
	publish_stats(w);
	return NULL;
}

int writer_start(const struct ct_config *cfg, uint32_t epoch, int clock_kind)
{
	pthread_once(&scan_types_once, scan_types_init);
	struct writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->cfg = *cfg;
	w->epoch = epoch;
	w->clock_kind = clock_kind;
	w->fd = -1;
	w->stack_seen = calloc((STACK_MAX_IDS + 8) / 8, 1);
	if (!w->stack_seen) {
		free(w);
		return -ENOMEM;
	}
	w->base_gen_ns = cfg->generation_ns;
	w->base_flush_ns = cfg->flush_ns;
	w->base_gen_max = cfg->generation_max_bytes;
	if (cfg->flight_max_bytes && flight_setup(w, cfg) != 0) {
		free(w->stack_seen);
		free(w);
		return -ENOMEM;
	}
	w->flight_on = w->flight != NULL;
	if (cfg->write) {
		/* callback sink */
	} else if (cfg->path) {
		w->fd = open(cfg->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (w->fd < 0) {
			int e = -errno;
			flight_free(w->flight);
			free(w->dump_dir);
			free(w->stack_seen);
			free(w);
			return e;
		}
		w->own_fd = 1;
	} else {
		w->fd = cfg->fd;
	}
	if (cfg->compress) {
		w->zc = ZSTD_createCCtx();
		if (w->zc)
			ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, cfg->compress_level);
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_cond_init(&w->flushed, NULL);
	pthread_cond_init(&w->dumped, NULL);
	pthread_condattr_destroy(&ca);
	clock_snapshot(&w->start);
	w->ref = w->start;
	w->ref_rate = clock_rate(&w->start, &w->start);
	w->seq = 1;
	w->gen_start_ns = mono_ns();
	memset(&stats, 0, sizeof stats);
	g_params.call_min_ticks =
		(uint64_t)((unsigned __int128)cfg->syscall_min_ns * w->ref_rate / 1000000000u);
	W = w; /* the sources convert clocks and make pseudo-threads through it */
	sources_start(cfg);
	if (!w->base_flush_ns) {
		w->base_flush_ns = sources_flush_ns();
		tune_generations(w);
	}
	write_header(w);
	int rc = w->sink_err;
	if (rc == 0) {
		/* The writer thread must not inherit the caller's signal mask
		 * surprises: it blocks everything so signals go to the program. */
		sigset_t all, old;
		sigfillset(&all);
		crash_sigs_unblock(&all); /* but its own faults reach crash.c */
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = -pthread_create(&w->thread, NULL, writer_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc) {
		sources_stop();
		W = NULL;
		if (w->own_fd)
			close(w->fd);
		ZSTD_freeCCtx(w->zc);
		free(w->stack_seen);
		free(w);
		return rc;
	}
	pthread_setname_np(w->thread, "ctrace-writer");
	atomic_store(&W_pub, w);
	if (w->flight && w->dump_dir)
		triggers_enable(1);
	return 0;
}

int writer_flush(void)
{
	struct writer *w = w_enter();
	if (!w)
		return CT_ENOTRUNNING;
	pthread_mutex_lock(&w->mu);
	uint64_t mine = ++w->flush_req;
	pthread_cond_signal(&w->cv);
	while (w->flush_done < mine && !w->stopping)
		pthread_cond_wait(&w->flushed, &w->mu);
	int rc = w->sink_err;
	pthread_mutex_unlock(&w->mu);
	w_leave();
	return rc;
}

/* An output change, applied by the writer thread; the caller holds the
 * capture's control lock, so there is one at a time. */
static int writer_ctl(int op, const void *arg)
{
	struct writer *w = W;
	if (!w)
		return CT_ENOTRUNNING;
	pthread_mutex_lock(&w->mu);
	w->ctl_op = op;
	w->ctl_arg = arg;
	uint64_t mine = ++w->ctl_req;
	if (op == CTL_FLIGHT_OFF)
		w->flight_on = 0; /* dumps asked from now on are refused */
	pthread_cond_signal(&w->cv);
	while (w->ctl_done < mine && !w->stopping)
		pthread_cond_wait(&w->flushed, &w->mu);
	int rc = w->ctl_done >= mine ? w->ctl_rc : CT_ENOTRUNNING;
	if (op == CTL_FLIGHT_ON && rc == 0)
		w->flight_on = 1;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int writer_sink_on(const struct writer_sink *s)
{
	return writer_ctl(CTL_SINK_ON, s);
}

int writer_sink_off(void)
{
	return writer_ctl(CTL_SINK_OFF, NULL);
}

int writer_flight_on(const struct ct_config *c)
{
	return writer_ctl(CTL_FLIGHT_ON, c);
}

int writer_flight_off(void)
{
	return writer_ctl(CTL_FLIGHT_OFF, NULL);
}

int writer_has_sink(void)
{
	struct writer *w = W;
	return w && (w->fd >= 0 || w->cfg.write);
}

int writer_has_flight(void)
{
	struct writer *w = W;
	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	int on = w->flight_on;
	pthread_mutex_unlock(&w->mu);
	return on;
}

/* Asks the writer thread to finish: final drain, last generation, end frame. */
static void ask_stop(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_cond_broadcast(&w->dumped); /* dumps waiting get CT_ENOTRUNNING */
	pthread_cond_broadcast(&w->flushed);
	pthread_mutex_unlock(&w->mu);
}

int writer_dump(int fd)
{
	struct writer *w = w_enter();
	if (!w)
		return CT_ENOTRUNNING;
	pthread_mutex_lock(&w->mu);
	while (w->dump_busy && !w->stopping)
		pthread_cond_wait(&w->dumped, &w->mu);
	if (w->stopping || !w->flight_on) {
		pthread_mutex_unlock(&w->mu);
		w_leave();
		return CT_ENOTRUNNING;
	}
	w->dump_busy = 1;
	w->dump_fd = fd;
	uint64_t mine = ++w->dump_req;
	pthread_cond_signal(&w->cv);
	while (w->dump_done < mine && !w->stopping)
		pthread_cond_wait(&w->dumped, &w->mu);
	int rc = w->dump_done >= mine ? w->dump_rc : CT_ENOTRUNNING;
	w->dump_busy = 0;
	pthread_cond_broadcast(&w->dumped);
	pthread_mutex_unlock(&w->mu);
	w_leave();
	return rc;
}

int writer_stop_bounded(uint64_t timeout_ns)
{
	struct writer *w = W;
	if (!w)
		return CT_ENOTRUNNING;
	ask_stop(w);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t t = (uint64_t)ts.tv_nsec + timeout_ns;
	ts.tv_sec += (time_t)(t / 1000000000u);
	ts.tv_nsec = (long)(t % 1000000000u);
	/* the writer's memory is left to the process's end */
	return -pthread_timedjoin_np(w->thread, NULL, &ts);
}

int writer_stop(void)
{
	struct writer *w = W;
	if (!w)
		return CT_ENOTRUNNING;
	triggers_enable(0);
	ask_stop(w);
	pthread_join(w->thread, NULL);
	triggers_enable(0); /* a trigger that raced the stop */
	/* Callers still inside writer_flush/writer_dump leave before the
	 * writer goes (they see stopping once woken). */
	atomic_store(&W_pub, NULL);
	while (atomic_load(&w_users)) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_broadcast(&w->flushed);
		pthread_cond_broadcast(&w->dumped);
		pthread_mutex_unlock(&w->mu);
		sched_yield();
	}
	int rc = w->sink_err;
	if (w->own_fd && close(w->fd) != 0 && !rc)
		rc = -errno;
	if (w->sym)
		sym_close(w->sym);
	ZSTD_freeCCtx(w->zc);
	buf_free(&w->batches);
	buf_free(&w->tables);
	buf_free(&w->tmp);
	buf_free(&w->merge);
	free(w->zbuf);
	free(w->stack_seen);
	free(w->stacks);
	free(w->syms);
	free(w->gen_syms);
	free(w->locs);
	free(w->gen_locs);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->flushed);
	pthread_cond_destroy(&w->dumped);
	flight_free(w->flight);
	free(w->dump_dir);
	watch_free(w);
	W = NULL;
	free(w);
	return rc;
}
