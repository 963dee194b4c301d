/* Recorder internals shared by the hot path (api.c), thread and buffer
 * management (threads.c) and the writer (writer.c).
 *
 * Memory model. Each thread appends events to a chain of chunks it owns; a
 * chunk's `pos` is published with a release store after every event, and
 * `next` is set once, after the final `pos`, when the thread moves on. The
 * writer thread reads any thread's chain concurrently up to the published
 * `pos`, so idle threads are drained without their help, and gives finished
 * chunks back to a lock-free pool. An application thread never waits: with
 * no free chunk it drops events and counts them, and writes a loss event as
 * soon as it gets memory again. */
#ifndef CT_RECORD_REC_H
#define CT_RECORD_REC_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctrace.h"
#include "format/spec.h"
#include "format/varint.h"
#include "record/clock.h"
#include "record/lftable.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Room an event may need besides its byte string; the hot path checks it
 * once per event against `lim`. */
#define EVENT_RESERVE 96

struct chunk {
	_Atomic uint32_t pos;	      /* bytes written; release-stored per event */
	uint32_t cap;		      /* bytes of data[] */
	_Atomic(struct chunk *) next; /* set once, after the final pos */
	uint32_t index;		      /* position in the pool */
	uint8_t pad[64 - 20];
	uint8_t data[];
};

enum rec_state { REC_FREE = 0, REC_LIVE = 1, REC_EXITED = 2 };

/* What a thread's /proc files said at one reading (src_sched.c). */
struct sched_reading {
	uint64_t run_ns, delay_ns, slices, minflt, majflt;
	uint64_t kernel_ns;  /* stime, in ns */
	uint8_t sched, stat; /* what was read */
};

/* A thread's scheduler and page-fault sources (src_sched.c). Set up by the
 * thread when it registers, before its record is published; then used by
 * the writer only, except the exit reading, which the thread takes as it
 * exits and publishes with exit_ready. */
struct sched_rec {
	int fd;		    /* its perf event, -1 without */
	uint8_t on;	    /* set up in this capture */
	uint8_t schedstat;  /* samples schedstat (no perf event) */
	uint8_t stat;	    /* samples fault counts from /proc/.../stat */
	uint8_t final_done; /* the capture's last sample is taken */
	uint8_t pcheck;	    /* perf: schedstat's switch-in count is read */
	uint8_t exit_done;  /* the exit reading is pushed */
	uint8_t perf;	    /* gets switch records: its own event, or the CPUs' */
	void *ring;	    /* its own event's mmap: control page, then data */
	uint64_t perf_id;   /* PERF_EVENT_IOC_ID: the fd is still ours */
	uint64_t ino, dev;  /* the fd's inode when opened */
	int pfd[2];	    /* kept /proc fds (schedstat, stat), when pkept */
	uint8_t pkept[2];
	uint64_t pino[2], pdev[2]; /* their inodes when opened */
	uint64_t in_ns;		   /* perf: CLOCK_MONOTONIC of the last switch-in, 0 off CPU */
	uint64_t ran_ns;	   /* perf: CPU time the switch records show */
	uint64_t out_ns;	   /* perf: CLOCK_MONOTONIC of the last switch-out */
	uint64_t cpu_at_stat;	   /* CPU ns (perf or schedstat) at the last stat reading */
	uint64_t stat_ns;	   /* CLOCK_MONOTONIC of the last stat reading */
	uint64_t cut_at;	   /* the writer's cut this thread was read for */
	uint64_t run_ns, delay_ns, slices; /* schedstat at the last sample */
	uint64_t minflt, majflt;	   /* stat at the last sample */
	uint64_t kernel_ns;		   /* and its stime, in ns */
	uint64_t last_ns;		   /* CLOCK_MONOTONIC of the last sample */
	uint64_t seen_user;		   /* w_user_last then: activity test */
	uint64_t last_rec;		   /* ticks of the last perf record */
	uint64_t last_drain;		   /* CLOCK_MONOTONIC of the last ring drain */
	uint64_t slices0;		   /* perf: switch-ins when it registered */
	uint64_t ins, outs, lost_recs;	   /* perf: switch-ins and -outs read, records lost */
	uint64_t reg_ns;		   /* CLOCK_MONOTONIC just before its baseline reading */
	uint64_t cpu_recs;		   /* CPU-wide records given it since the last collect */
	_Atomic uint32_t exit_ready;
	uint64_t exit_ticks;
	uint64_t exit_ns;	   /* CLOCK_MONOTONIC after the exit reading */
	struct sched_reading exit; /* the exit reading */
};

/* One per registered thread, in a process-wide table so that its memory
 * outlives the thread (the writer may still be draining it). */
/* Entries of a thread's stack cache (struct trec). */
#define STACK_CACHE_BITS 6

struct trec {
	/* written by the owning thread */
	_Atomic uint32_t busy; /* inside an event: see threads.c, stop */
	/* events dropped because a signal handler emitted one while this
	 * thread was inside another (only handlers add to it) */
	_Atomic uint64_t reentered;
	/* An interposed call in progress, not recorded yet: it is recorded
	 * when it returns, if it lasted long enough (call_end). The writer
	 * holds back source events after call_t0 until then, and writes the
	 * call's wait.begin itself when the capture ends with it still open.
	 * call_t0 is stored last (release) and cleared after the events. */
	_Atomic uint64_t call_t0; /* ticks; 0: none */
	uint32_t call_reason;
	uint32_t call_stack; /* its stack id when walked at the start, else 0 */
	uint64_t call_object, call_detail, call_site;
	/* Call sites (a bit per hash of the return address) whose last call
	 * was recorded (call_slow) and whose call before that was too
	 * (call_slow2): a site with both walks its next call's stack at the
	 * start (call_begin). One call that returns at once clears both, so a
	 * loop of a blocking call and one that finds the end (recv until 0)
	 * does not walk for nothing. */
	uint64_t call_slow, call_slow2;
	_Atomic uint32_t state;	       /* enum rec_state */
	_Atomic(struct chunk *) first; /* first chunk of this capture */
	_Atomic uint32_t epoch;	       /* capture this registration belongs to */
	uint32_t index;		       /* thread index in the trace */
	pid_t tid;
	char name[16];
	char exit_name[16];	      /* the name as it exited, written before state EXITED */
	uint64_t base_ticks;	      /* delta base of the first event */
	uintptr_t stack_lo, stack_hi; /* bounds for frame-pointer walks */
	/* The thread's CPU-sample timer (src_cpu.c): kernel timer id + 1, 0
	 * for none. Whoever exchanges it to 0 deletes the timer. */
	_Atomic int cpu_timer;
	/* The thread's CPU clock (ns) when its last CPU sample was written, or
	 * when its timer was made: the next sample stands for the CPU time
	 * since. The thread's own (its registration and its handler). */
	uint64_t cpu_sampled_ns;
	/* Events dropped for want of a chunk and not yet written as a loss
	 * event: the thread writes one as soon as it gets a chunk; the writer
	 * reports what is left when the thread exits or the capture stops. */
	_Atomic uint64_t lost, lost_first, lost_last;
	/* recently seen stacks of this thread: hash -> id, so that a repeated
	 * stack costs a walk and a hash, not a probe of the shared table */
	struct lft_cache_ent stack_cache[1u << STACK_CACHE_BITS];

	/* owned by the writer */
	struct chunk *rd;
	uint32_t rd_off;
	uint64_t w_last; /* last timestamp decoded */
	uint64_t w_events;
	uint32_t w_gen_seen; /* generation in which it last had events */
	uint32_t w_done;     /* exited and fully drained */
	/* Where its events ended when a flush or a dump was asked (writer.c
	 * cut_mark): the cut drains up to there, not what came after. */
	struct chunk *w_cut;
	uint32_t w_cut_pos;
	uint64_t w_reentered_reported;
	uint32_t w_active; /* listed in the current generation */
	uint32_t pseudo;   /* a writer-made record with no thread behind it */
	/* Source events waiting to be merged into the stream (sources.h), in
	 * time order, and the timestamp of the thread's own last event (the
	 * base its next delta is relative to; w_last is the last emitted). */
	struct side_ev *side;
	uint32_t nside, capside;
	uint64_t w_user_last;
	uint64_t w_side_lost; /* source events dropped: the queue was full */
	struct sched_rec sched;
};

/* Per-thread hot state, initial-exec TLS: no allocation, no __tls_get_addr. */
struct tls {
	uint8_t *p;    /* write cursor in ck */
	uint8_t *lim;  /* ck->data + cap - EVENT_RESERVE */
	uint64_t last; /* timestamp of the last written event */
	struct chunk *ck;
	struct trec *rec;
	uint32_t epoch;	      /* == g_epoch when registered in the running capture */
	uint32_t dead;	      /* the thread has exited: ignore its events */
	uint32_t registering; /* in thread_register(): a nested call drops */
	/* task ids are handed out in blocks to avoid a shared counter */
	uint64_t task_next, task_end;
	/* the thread's task stack (FORMAT.md "current task") */
	uint32_t ntasks;
	ct_task tasks[16];
	unsigned stack_mask; /* copy of the capture's stack_events */
	int stack_depth;
};

#define EPOCH_INACTIVE 0xffffffffu
#define EPOCH_DEAD     0xfffffffeu

/* Hidden (internal to libctrace): the hot path reaches them directly rather
 * than through the GOT. */
#define CT_INTERNAL __attribute__((visibility("hidden")))
extern __thread struct tls ct_tls __attribute__((tls_model("initial-exec"))) CT_INTERNAL;
extern _Atomic uint32_t g_epoch CT_INTERNAL;

/* Slow paths (threads.c). */
/* Registers the calling thread in the running capture; 0 when it may emit. */
int thread_register(struct tls *t);
/* Moves to a new chunk (or counts a loss); returns the new cursor or NULL. */
uint8_t *thread_refill(struct tls *t, uint64_t now);
/* Called when an event needs more room than fits in the current chunk. */

/* The calling thread's TLS, registered in the running capture (registering
 * it now if it is not yet), or NULL when not tracing. */
static inline struct tls *tls_in_capture(void)
{
	struct tls *t = &ct_tls;
	uint32_t e = atomic_load_explicit(&g_epoch, memory_order_relaxed);
	if (unlikely(t->epoch != e)) {
		if (e == EPOCH_INACTIVE || thread_register(t) != 0)
			return NULL;
	}
	return t;
}

/* Starts an event: returns the TLS with busy set, or NULL when not tracing. */
static inline struct tls *ev_begin(void)
{
	struct tls *t = tls_in_capture();
	if (!t)
		return NULL;
	struct trec *r = t->rec;
	if (unlikely(atomic_load_explicit(&r->busy, memory_order_relaxed))) {
		/* A signal handler interrupted an event of this thread: writing
		 * now would interleave the two. Drop it, and say so. */
		atomic_fetch_add_explicit(&r->reentered, 1, memory_order_relaxed);
		return NULL;
	}
	atomic_store_explicit(&r->busy, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	/* Re-check after announcing busy: ct_stop() flips g_epoch, forces a
	 * barrier on every thread (membarrier) and then waits for busy == 0. */
	if (unlikely(t->epoch != atomic_load_explicit(&g_epoch, memory_order_relaxed))) {
		atomic_store_explicit(&r->busy, 0, memory_order_relaxed);
		return NULL;
	}
	return t;
}

/* Reserves room for an event of `extra` bytes beyond EVENT_RESERVE and
 * writes its type and timestamp delta (*type_at, if asked, points at the
 * type byte). Returns NULL when no memory is available: the event is
 * counted as lost and the busy section is already left. */
static inline uint8_t *ev_head(struct tls *t, uint8_t type, size_t extra, uint8_t **type_at)
{
	uint64_t now = clock_ticks();
	uint8_t *p = t->p;
	if (unlikely(p + extra > t->lim)) {
		p = thread_refill(t, now);
		if (!p)
			return NULL;
	}
	uint64_t d = now - t->last;
	if (unlikely((int64_t)d < 0)) { /* never let a thread's time go back */
		d = 0;
		now = t->last;
	}
	t->last = now;
	if (type_at)
		*type_at = p;
	*p++ = type;
	if (likely(d < 128)) {
		*p++ = (uint8_t)d;
		return p;
	}
	return ct_put_uvarint(p, d);
}

/* ev_head with a given timestamp (an interposed call's start, taken
 * before the event): never earlier than the thread's last one. */
static inline uint8_t *ev_head_at(struct tls *t, uint8_t type, uint64_t ts, uint8_t **type_at)
{
	uint8_t *p = t->p;
	if (unlikely(p > t->lim)) {
		p = thread_refill(t, ts);
		if (!p)
			return NULL;
	}
	if (ts < t->last)
		ts = t->last;
	uint64_t d = ts - t->last;
	t->last = ts;
	if (type_at)
		*type_at = p;
	*p++ = type;
	return ct_put_uvarint(p, d);
}

/* The fast path of a small event, which calls nothing (so that its caller
 * needs no frame beyond the frame pointer): returns the cursor after the type
 * and delta with busy set, or NULL when the caller must take its full path
 * instead: not registered or not tracing, a re-entered event, a full chunk,
 * a stack wanted (stack_kind in the thread's mask), time going back. */
static inline uint8_t *ev_fast(struct tls **tp, uint8_t type, unsigned stack_kind)
{
	struct tls *t = &ct_tls;
	if (unlikely(t->epoch != atomic_load_explicit(&g_epoch, memory_order_relaxed)))
		return NULL;
	struct trec *r = t->rec;
	if (unlikely(atomic_load_explicit(&r->busy, memory_order_relaxed) |
		     !!(t->stack_mask & stack_kind)))
		return NULL;
	atomic_store_explicit(&r->busy, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	/* The cursor and the last timestamp are read only now: a signal handler
	 * may have written an event between the busy test and the store. */
	uint8_t *p = t->p;
	if (unlikely((t->epoch != atomic_load_explicit(&g_epoch, memory_order_relaxed)) |
		     (p > t->lim))) {
		atomic_store_explicit(&r->busy, 0, memory_order_relaxed);
		return NULL;
	}
#if CT_HAVE_TSC
	uint64_t now = __rdtsc();
#else
	uint64_t now = 0;
#endif
	uint64_t d = now - t->last;
	/* the vDSO clock is a call: the monotonic fallback takes the full path */
	if (unlikely(((int64_t)d < 0) | !ct_clock_is_tsc)) {
		atomic_store_explicit(&r->busy, 0, memory_order_relaxed);
		return NULL;
	}
	t->last = now;
	*p++ = type;
	*tp = t;
	if (likely(d < 128)) {
		*p++ = (uint8_t)d;
		return p;
	}
	return ct_put_uvarint(p, d);
}

/* Publishes the event ending at p, staying in the busy section: another
 * event of the same section follows (a signal handler's two events). */
static inline void ev_publish(struct tls *t, uint8_t *p)
{
	t->p = p;
	atomic_store_explicit(&t->ck->pos, (uint32_t)(p - t->ck->data), memory_order_release);
}

/* Publishes the event ending at p and leaves the busy section. */
static inline void ev_commit(struct tls *t, uint8_t *p)
{
	t->p = p;
	atomic_store_explicit(&t->ck->pos, (uint32_t)(p - t->ck->data), memory_order_release);
	atomic_store_explicit(&t->rec->busy, 0, memory_order_release);
}

static inline void ev_abort(struct tls *t)
{
	atomic_store_explicit(&t->rec->busy, 0, memory_order_release);
}

/* A signal handler about to write an event on the thread it interrupted
 * (CPU samples, the crash event): only on a thread registered in the
 * running capture (registering takes locks and allocates), never inside
 * one of the thread's own events. Returns the thread's record with busy set
 * (ev_head and ev_commit follow), or NULL; *reentered says it interrupted
 * an event, which is counted as lost. */
static inline struct trec *signal_event_enter(struct tls *t, int *reentered)
{
	*reentered = 0;
	uint32_t e = atomic_load_explicit(&g_epoch, memory_order_relaxed);
	if (e == EPOCH_INACTIVE || t->epoch != e || !t->rec)
		return NULL;
	struct trec *r = t->rec;
	if (atomic_load_explicit(&r->busy, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&r->reentered, 1, memory_order_relaxed);
		*reentered = 1;
		return NULL;
	}
	atomic_store_explicit(&r->busy, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (t->epoch != atomic_load_explicit(&g_epoch, memory_order_relaxed)) {
		atomic_store_explicit(&r->busy, 0, memory_order_relaxed);
		return NULL; /* the capture ended meanwhile */
	}
	return r;
}

/* Records a wait.begin whose stack starts at frame (api.c): for the
 * interposers, which pass their own frame. */
void wait_begin_at(unsigned reason, uint64_t object, uint64_t detail, void *frame);

/* Capture-wide state (threads.c / writer.c). */
struct capture_params {
	size_t chunk_bytes;
	unsigned stack_mask;
	int stack_depth;
	uint64_t call_min_ticks; /* shorter interposed syscalls are not waits */
};
extern struct capture_params g_params CT_INTERNAL;

/* A call site's bit in trec.call_slow. */
static inline uint64_t call_site_bit(uint64_t site)
{
	return 1ull << ((site * 0x9e3779b97f4a7c15ull) >> 58);
}

/* The stack id of the calling thread's stack from frame, for a wait
 * (api.c); 0 when stacks of waits are off or none could be taken. */
uint32_t call_stack_now(struct tls *t, void *frame);

/* An interposed system call (an fd call, poll, a sleep) that may or may not
 * block: call_begin notes it (a few stores, no event) and returns the
 * thread's record, or NULL when not tracing; call_end records it as a wait
 * (wait.begin at its start, wait.end now) if it took call_min_ticks or
 * more. So a call that returns at once costs two clock reads, not two
 * events with a stack. site_frame: the interposer's frame (its return
 * address is the call site). */
static inline struct trec *call_begin(unsigned reason, uint64_t object, uint64_t detail,
				      void *site_frame, uint64_t *t0)
{
	struct tls *t = tls_in_capture();
	if (!t)
		return NULL;
	struct trec *r = t->rec;
	/* relaxed atomics (plain stores): the writer may read them (drain_thread) */
	__atomic_store_n(&r->call_reason, reason, __ATOMIC_RELAXED);
	__atomic_store_n(&r->call_object, object, __ATOMIC_RELAXED);
	__atomic_store_n(&r->call_detail, detail, __ATOMIC_RELAXED);
	uint64_t site = ((const uint64_t *)site_frame)[1];
	__atomic_store_n(&r->call_site, site, __ATOMIC_RELAXED);
	uint32_t stack = 0;
	if (r->call_slow & r->call_slow2 & call_site_bit(site))
		stack = call_stack_now(t, site_frame);
	__atomic_store_n(&r->call_stack, stack, __ATOMIC_RELAXED);
	*t0 = clock_ticks();
	atomic_store_explicit(&r->call_t0, *t0, memory_order_release);
	return r;
}

/* Records the call's wait with its timestamps (api.c); begin: 0 when the
 * writer already wrote its wait.begin (CALL_BEGUN), so only the end is. */
void call_record(struct trec *r, uint64_t t0, uint64_t t1, int64_t result, void *frame, int begin);

/* Flags in call_t0. RECORDING: the ended call's events are being written;
 * the writer still holds source events back, but must not write the call.
 * BEGUN: the writer wrote the call's wait.begin itself (a dump or the end of
 * the capture came while it was open, writer.c); the thread writes only its
 * wait.end, whatever the call's length. Both sides change call_t0 with
 * atomic read-modify-writes, so exactly one of them writes the begin. */
#define CALL_RECORDING (1ull << 63)
#define CALL_BEGUN     (1ull << 62)
#define CALL_FLAGS     (CALL_RECORDING | CALL_BEGUN)

static inline void call_end(struct trec *r, uint64_t t0, int64_t result, void *frame)
{
	uint64_t t1 = clock_ticks();
	if (likely(t1 - t0 < g_params.call_min_ticks)) {
		uint64_t old = atomic_exchange_explicit(&r->call_t0, 0, memory_order_acq_rel);
		uint64_t bit = call_site_bit(r->call_site);
		if (unlikely(r->call_slow & bit)) { /* returned at once this time */
			r->call_slow &= ~bit;
			r->call_slow2 &= ~bit;
		}
		if (likely(!(old & CALL_BEGUN)))
			return; /* returned at once: not a wait */
		call_record(r, t0, t1, result, frame, 0);
		return;
	}
	uint64_t bit = call_site_bit(r->call_site);
	r->call_slow2 |= r->call_slow & bit;
	r->call_slow |= bit;
	uint64_t old =
		atomic_exchange_explicit(&r->call_t0, t0 | CALL_RECORDING, memory_order_acq_rel);
	call_record(r, t0, t1, result, frame, !(old & CALL_BEGUN));
	atomic_store_explicit(&r->call_t0, 0, memory_order_release);
}

/* Buffer pool and thread table (threads.c). */
int pool_create(size_t total, size_t chunk_bytes);
void pool_destroy(void);
void pool_put(struct chunk *c);
size_t pool_free_chunks(void);
/* Pool memory ever touched: the chunks ever handed out, and the links. */
size_t pool_resident_bytes(void);
#define REC_MAX 16384
extern struct trec g_recs[REC_MAX] CT_INTERNAL;
extern _Atomic uint32_t g_recs_high CT_INTERNAL; /* records [0, high) may be in use */
extern _Atomic uint32_t g_next_index CT_INTERNAL;
extern _Atomic uint64_t g_unregistered_lost CT_INTERNAL; /* events of threads with no record */
void threads_begin_capture(void);
/* Waits until no thread is inside an event of the finished capture. */
void threads_quiesce(void);
void threads_release_all(void);
void rec_free(struct trec *r);
/* A record with no thread behind it, for source events (sources.h). */
struct trec *rec_pseudo(const char *name, uint32_t epoch);

#endif
