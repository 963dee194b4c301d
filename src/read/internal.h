/* Internal state of the trace reader, shared by reader.c (source, framing,
 * errors), generation.c (sections, validation) and merge.c (event order). */
#ifndef CT_READ_INTERNAL_H
#define CT_READ_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <stddef.h>

#include "ctrace_reader.h"
#include "format/spec.h"

#define NONE	   UINT32_MAX
#define NS_PER_SEC 1000000000ull

/* Largest header a reader accepts (FORMAT.md). */
#define HEADER_MAX (1u << 20)
/* Bound on the frames a generation's stacks expand to: stacks are at most
 * 64 deep in practice, so this only stops hostile inputs from turning a
 * small payload into gigabytes of struct ct_frame. */
#define FRAMES_MAX (1u << 22)

/* Grow-only arrays: buffers are reused from generation to generation so
 * steady-state reading does not allocate. */
int rdr_vec_reserve(void **p, size_t *cap, size_t need, size_t elsz);
#define VEC_RESERVE(ptr, cap, need) rdr_vec_reserve((void **)&(ptr), &(cap), (need), sizeof(*(ptr)))

/* Maps the ids of a generation's table (strings, stacks, threads) to slots.
 * Ids are small dense integers in practice, so a direct array is the normal
 * case; sparse ids fall back to binary search over sorted pairs so that a
 * lone huge id cannot make the reader allocate gigabytes. */
struct idpair {
	uint64_t id;
	uint32_t slot;
};
struct idmap {
	uint32_t *dense; /* id -> slot + 1, 0 when absent */
	size_t dense_cap;
	uint64_t dense_n; /* ids below this are looked up in dense */
	struct idpair *pairs;
	size_t npairs, pairs_cap;
	uint64_t max_id;
	int sparse;
};

uint32_t rdr_idmap_sparse_get(const struct idmap *m, uint64_t id);
void rdr_idmap_clear(struct idmap *m);
int rdr_idmap_add(struct idmap *m, uint64_t id, uint32_t slot);
/* Builds the lookup structure: 0, -ENOMEM, or 1 with *dup set when an id
 * is listed twice. */
int rdr_idmap_finish(struct idmap *m, uint64_t *dup);
void rdr_idmap_free(struct idmap *m);

/* Returns slot + 1, or 0 when id is not in the table. */
static inline uint32_t idmap_get(const struct idmap *m, uint64_t id)
{
	if (__builtin_expect(!m->sparse, 1))
		return id < m->dense_n ? m->dense[id] : 0;
	return rdr_idmap_sparse_get(m, id);
}

/* Unsigned 64-bit division by a divisor fixed per generation, done with a
 * multiply and shift (the libdivide method): converting a timestamp must
 * not cost a hardware divide per event. */
struct udiv {
	uint64_t magic;
	uint8_t shift;
	uint8_t add; /* the 65-bit magic case */
	uint8_t pow2;
};
void rdr_udiv_init(struct udiv *u, uint64_t d); /* d > 0 */
static inline __attribute__((always_inline)) uint64_t udiv_do(const struct udiv *u, uint64_t n)
{
	if (u->pow2)
		return n >> u->shift;
	uint64_t q = (uint64_t)(((unsigned __int128)u->magic * n) >> 64);
	if (u->add)
		return ((((n - q) >> 1) + q) >> u->shift);
	return q >> u->shift;
}

/* Tick -> CLOCK_MONOTONIC ns conversion of one generation (FORMAT.md:
 * ref_mono_ns + (t - ref_ticks) * 10^9 / ticks_per_sec, signed, truncated
 * toward zero, computed in 128 bits). */
struct clockconv {
	uint64_t ref_ticks, ref_mono, tps;
	int identity; /* ticks are nanoseconds */
	struct udiv div;
	/* For the generation's events, whose range is known after validation:
	 * the cheapest formula that is still exact over that range. */
	enum { CLK_GENERIC, CLK_IDENT, CLK_BELOW, CLK_ABOVE } mode;
	uint64_t ident_off; /* CLK_IDENT: ns = t + ident_off (mod 2^64) */
};
void rdr_clock_init(struct clockconv *c, uint64_t tps, uint64_t ref_ticks, uint64_t ref_mono);

static inline uint64_t clamp_u64(__int128 v)
{
	if (v < 0)
		return 0;
	if (v > (__int128)UINT64_MAX)
		return UINT64_MAX;
	return (uint64_t)v;
}

/* |d| * 10^9 / tps for the magnitude of a tick difference. */
static inline unsigned __int128 ticks_to_ns_mag(const struct clockconv *c, uint64_t d)
{
	if (__builtin_expect(d <= UINT64_MAX / NS_PER_SEC, 1))
		return udiv_do(&c->div, d * NS_PER_SEC);
	return (unsigned __int128)d * NS_PER_SEC / c->tps;
}

static inline uint64_t clock_ns(const struct clockconv *c, uint64_t t)
{
	if (c->identity)
		return clamp_u64((__int128)c->ref_mono + ((__int128)t - (__int128)c->ref_ticks));
	if (t >= c->ref_ticks)
		return clamp_u64((__int128)c->ref_mono +
				 (__int128)ticks_to_ns_mag(c, t - c->ref_ticks));
	return clamp_u64((__int128)c->ref_mono - (__int128)ticks_to_ns_mag(c, c->ref_ticks - t));
}

void rdr_clock_specialize(struct clockconv *c, uint64_t min_t, uint64_t max_t);

/* clock_ns for a timestamp inside the range given to rdr_clock_specialize. */
static inline __attribute__((always_inline)) uint64_t clock_event_ns(const struct clockconv *c,
								     uint64_t t)
{
	switch (c->mode) {
	case CLK_IDENT:
		return t + c->ident_off;
	case CLK_BELOW:
		return c->ref_mono - udiv_do(&c->div, (c->ref_ticks - t) * NS_PER_SEC);
	case CLK_ABOVE:
		return c->ref_mono + udiv_do(&c->div, (t - c->ref_ticks) * NS_PER_SEC);
	default:
		return clock_ns(c, t);
	}
}

static inline uint64_t clock_dur_ns(const struct clockconv *c, uint64_t d)
{
	if (c->identity)
		return d;
	return clamp_u64((__int128)ticks_to_ns_mag(c, d));
}

/* How to decode and check an event, indexed by the full type byte (bit 7
 * included), built from the file's spec table: one load tells whether the
 * byte is legal, so the hot loops have no separate stack-bit test. */
enum {
	DESC_VALID = 1,
	DESC_STACK = 2, /* a stack id follows the arguments */
	DESC_BYTES = 4, /* a str follows */
	DESC_DUR = 8,	/* some argument is a duration */
	DESC_INT = 16,	/* some argument is signed (zigzag) */
};
struct evdesc {
	uint8_t flags;
	uint8_t argc;
	uint8_t check;	 /* args that reference a table (string, thread, stack) */
	uint8_t strs; /* string arguments */
	uint8_t durs; /* duration arguments */
	uint8_t ints; /* signed arguments, decoded to two's complement */
	uint8_t kinds[CT_MAX_ARGS];
	const char *name;
};

/* A table section or batch inside the payload. */
struct section {
	uint8_t kind;
	const uint8_t *p, *end;
};

struct batch {
	const uint8_t *p, *end; /* events */
	uint64_t base;
	uint64_t nevents;
	uint32_t next; /* next batch of the same thread, NONE at the last */
};

/* Per thread slot: its chain of batches and what validation learnt. */
struct tstate {
	uint32_t first_batch, last_batch;
	uint64_t nevents;
	uint64_t first_t, last_t;
};

struct location {
	uint64_t pc;
	const char *module;
	uint32_t nframes; /* symbolized frames, 0 when unknown */
	uint32_t frame0;  /* first entry in gen.lframes */
};
struct locframe {
	const char *function, *file;
	uint32_t line;
};

/* Iteration state of one thread in the current generation. */
struct cursor {
	const uint8_t *p;
	uint64_t t;    /* ticks of the last event decoded (or the batch base) */
	uint64_t left; /* events left in the current batch */
	uint32_t next_batch;
	uint32_t index; /* thread index, the tie-breaker */
	const struct ct_thread_info *thread;
};

/* An error and its one-line message. */
struct rerr {
	int err;
	char msg[384];
};

/* A loaded generation: the frame's payload, its tables and validation
 * results, and the iteration state over it. A reader has two, so that the
 * prefetch thread can load one while the caller iterates the other. */
struct gen {
	/* The load: 1 a generation, 0 the clean end (complete: with its end
	 * frame), or a negative error described in e. */
	int status, complete;
	struct rerr e;
	uint32_t nbefore;    /* complete generations before this one */
	uint64_t end_off;    /* source offset after the frame */
	int ready, busy;     /* prefetch handoff (under ct_reader.lock) */
	const struct evdesc *desc; /* the reader's, fixed after the header */
	uint8_t *buf;	     /* the payload when it had to be copied or decompressed */
	size_t buf_cap;

	struct section *secs;
	size_t nsecs, secs_cap;
	char *arena; /* NUL-terminated copies of strings; sized once per generation */
	size_t arena_len, arena_cap;

	struct ct_thread_info *threads;
	size_t threads_cap;
	uint32_t nthreads;
	struct idmap thread_map, string_map, stack_map;

	const char **strs;
	size_t strs_cap;
	uint32_t nstrs;
	/* String id -> string, NULL at 0 and at unlisted ids, when the ids are
	 * dense (the normal case): one load per string argument. NULL when
	 * sparse; iteration then goes through string_map. */
	const char **sid;
	size_t sid_cap;
	uint64_t nsid;
	const char **maps; /* mapping paths */
	size_t maps_cap;
	uint32_t nmaps;
	struct location *locs;
	size_t locs_cap;
	uint32_t nlocs;
	struct locframe *lframes;
	size_t lframes_cap;
	uint32_t nlframes;
	uint32_t *refs; /* location indexes of all stacks, concatenated */
	size_t refs_cap;
	size_t nrefs;
	struct ct_stack *stacks;
	size_t stacks_cap;
	uint32_t nstacks;
	struct ct_frame *frames;
	size_t frames_cap;
	struct ct_loss *loss;
	size_t loss_cap;
	uint32_t nloss;
	const char **meta;
	size_t meta_cap;
	uint32_t nmeta; /* pointers: 2 per pair */

	struct batch *batches;
	size_t batches_cap;
	uint32_t nbatches;
	struct tstate *ts;
	size_t ts_cap;

	struct clockconv clk;
	struct ct_generation info;

	/* Where the payload is, for error offsets. */
	const uint8_t *payload;
	uint64_t frame_off;
	int compressed;

	/* Iteration. */
	int loaded, iter_ready;
	/* next_event's fast paths: 1 thread order with cur[pos] valid, 2 time
	 * order ready; 0 sends it to next_slow. */
	int fast;
	enum ct_order iter_order;
	struct cursor *cur;
	size_t cur_cap;
	uint32_t ncur, pos; /* thread order: current cursor */
	/* Time order: a loser tree over cursors padded to a power of two;
	 * key = ticks << 32 | thread index, all ones once a cursor is done. */
	unsigned __int128 *key;
	size_t key_cap;
	uint32_t *tree; /* [0] the winner, [1..K) the losers, then scratch */
	size_t tree_cap;
	uint32_t nleaves; /* K */
};

struct ct_reader {
	/* The source; off and everything down to `loaded` belong to the
	 * loader (the prefetch thread while it runs). */
	int fd, own_fd;
	const uint8_t *mem;
	size_t mem_len;
	int is_mem;
	int is_file; /* fd is a regular file: reads never wait for a writer */
	uint64_t off, file_size;

	uint8_t *hdr; /* header bytes (fd source) */
	char *hdr_arena;
	const char **hdr_meta;
	struct ct_event_spec specs[128];
	uint8_t spec_kinds[128][CT_MAX_ARGS];
	struct ct_trace_info info;
	struct evdesc desc[256];

	uint8_t *stored; /* compressed payload as read (fd source) */
	size_t stored_cap;
	void *zstd;
	uint32_t nloaded; /* complete generations loaded */
	int in_end_frame; /* for messages: the frame being read is the end frame */

	/* The caller's side. */
	uint32_t ngens; /* complete generations returned */
	struct rerr e;
	int ended, complete;
	uint64_t cur_off; /* source offset after the current generation */
	enum ct_order order;
	struct gen *g; /* the current generation, NULL before the first */
	struct gen slot[2];
	unsigned next_slot; /* the slot the next generation arrives in */

	/* Prefetch: the thread loads slot[wslot] while the caller holds the
	 * other. -1 until decided (CTRACE_READER_THREADS), then 0 or 1. */
	int prefetch;
	int running; /* the thread was started (and is to be joined) */
	int stop;
	unsigned wslot;
	int wake[2]; /* closing wakes a thread waiting on a pipe */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t to_loader, to_caller;
};

/* Records a content error of the generation being loaded, at payload
 * position `at`, and returns CT_EFORMAT. */
int rdr_gen_fail(struct gen *g, const uint8_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses and validates a whole payload into g. 0 or negative. */
int rdr_gen_load(struct gen *g, const uint8_t *payload, size_t len);
void rdr_gen_free(struct gen *g);

void rdr_iter_reset(ct_reader *r);

#endif
