/* Threads and their buffers: the chunk pool, the thread table, registration
 * on a thread's first event, moving to a new chunk, loss accounting, thread
 * exit, and the quiescence that lets ct_stop() reclaim every buffer. */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "record/rec.h"
#include "record/sources.h"

__thread struct tls ct_tls __attribute__((tls_model("initial-exec")));
_Atomic uint32_t g_epoch = EPOCH_INACTIVE;
struct capture_params g_params;

struct trec g_recs[REC_MAX];
_Atomic uint32_t g_recs_high;
_Atomic uint32_t g_next_index;
_Atomic uint64_t g_unregistered_lost;

/* ---- chunk pool: a Treiber stack of chunk indexes with an ABA tag ----
 *
 * The links live beside the chunks, not in them, so a chunk's memory is
 * first touched when a thread first writes into it: the pool is reserved
 * (MAP_NORESERVE), and only the chunks ever in use at once become
 * resident. The stack starts in index order and is LIFO, so the chunks
 * ever used are always [0, pool_high): the pool's resident part. */

static uint8_t *pool_mem;
/* index + 1 of the chunk below, 0 = bottom; relaxed atomics: a popper may
 * read a link a racing push rewrites (its CAS then fails) */
static _Atomic uint32_t *pool_next;
static size_t pool_len, pool_chunk, pool_n;
static _Atomic uint64_t pool_head; /* tag << 32 | (index + 1), 0 = empty */
static _Atomic size_t pool_nfree;
static _Atomic uint32_t pool_high; /* chunks ever handed out: [0, high) */

static struct chunk *chunk_at(uint32_t i)
{
	return (struct chunk *)(pool_mem + (size_t)i * pool_chunk);
}

static void push(uint32_t i)
{
	uint64_t old = atomic_load_explicit(&pool_head, memory_order_relaxed), nw;
	do {
		atomic_store_explicit(&pool_next[i], (uint32_t)old, memory_order_relaxed);
		nw = ((old >> 32) + 1) << 32 | (i + 1);
	} while (!atomic_compare_exchange_weak_explicit(&pool_head, &old, nw, memory_order_release,
							memory_order_relaxed));
	atomic_fetch_add_explicit(&pool_nfree, 1, memory_order_relaxed);
}

void pool_put(struct chunk *c)
{
	push(c->index);
}

static struct chunk *pool_get(void)
{
	uint64_t old = atomic_load_explicit(&pool_head, memory_order_acquire), nw;
	uint32_t top;
	do {
		top = (uint32_t)old;
		if (!top)
			return NULL;
		/* the link may be stale if another thread popped top meanwhile;
		 * the tag makes the CAS fail in that case. */
		nw = ((old >> 32) + 1) << 32 |
		     atomic_load_explicit(&pool_next[top - 1], memory_order_relaxed);
	} while (!atomic_compare_exchange_weak_explicit(&pool_head, &old, nw, memory_order_acquire,
							memory_order_acquire));
	atomic_fetch_sub_explicit(&pool_nfree, 1, memory_order_relaxed);
	uint32_t i = top - 1, high = atomic_load_explicit(&pool_high, memory_order_relaxed);
	while (i >= high &&
	       !atomic_compare_exchange_weak_explicit(&pool_high, &high, i + 1,
						      memory_order_relaxed, memory_order_relaxed))
		;
	struct chunk *c = chunk_at(i);
	c->index = i;
	c->cap = (uint32_t)(pool_chunk - sizeof(struct chunk));
	atomic_store_explicit(&c->pos, 0, memory_order_relaxed);
	atomic_store_explicit(&c->next, NULL, memory_order_relaxed);
	return c;
}

size_t pool_free_chunks(void)
{
	return atomic_load_explicit(&pool_nfree, memory_order_relaxed);
}

size_t pool_resident_bytes(void)
{
	return (size_t)atomic_load_explicit(&pool_high, memory_order_relaxed) * pool_chunk +
	       pool_n * sizeof *pool_next;
}

int pool_create(size_t total, size_t chunk_bytes)
{
	size_t n = total / chunk_bytes;
	if (n < 2)
		n = 2;
	size_t len = n * chunk_bytes;
	_Atomic uint32_t *next = malloc(n * sizeof *next);
	if (!next)
		return -ENOMEM;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		free(next);
		return -errno;
	}
	pool_mem = m;
	pool_next = next;
	pool_len = len;
	pool_chunk = chunk_bytes;
	pool_n = n;
	/* index 0 on top, each above the next: nothing in the chunks is
	 * touched */
	for (size_t i = 0; i < n; i++)
		atomic_init(&next[i], i + 1 < n ? (uint32_t)(i + 2) : 0);
	atomic_store(&pool_head, 1);
	atomic_store(&pool_nfree, n);
	atomic_store(&pool_high, 0);
	return 0;
}

void pool_destroy(void)
{
	if (pool_mem)
		munmap(pool_mem, pool_len);
	pool_mem = NULL;
	free((void *)pool_next);
	pool_next = NULL;
}

/* ---- thread registration and exit ---- */

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static void on_thread_exit(void *arg);

static void make_exit_key(void)
{
	pthread_key_create(&exit_key, on_thread_exit);
}

static uint8_t no_room[1]; /* cursor and limit of a thread without a chunk */

static void set_chunk(struct tls *t, struct chunk *c)
{
	t->ck = c;
	if (c) {
		t->p = c->data;
		t->lim = c->data + c->cap - EVENT_RESERVE;
	} else {
		/* cursor past the limit: every event goes to thread_refill() */
		t->lim = no_room;
		t->p = no_room + 1;
	}
}

static struct trec *rec_alloc(void)
{
	/* Scan for a free record; registration is once per thread and capture,
	 * and the table is compact because freed records are reused first. */
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < REC_MAX; i++) {
		struct trec *r = &g_recs[i];
		uint32_t expect = REC_FREE;
		if (i >= high) {
			/* claim a never-used record */
			uint32_t h = atomic_fetch_add(&g_recs_high, 1);
			if (h >= REC_MAX) {
				atomic_fetch_sub(&g_recs_high, 1);
				return NULL;
			}
			r = &g_recs[h];
			expect = REC_FREE;
			if (atomic_compare_exchange_strong(&r->state, &expect, REC_LIVE))
				return r;
			continue;
		}
		if (atomic_load_explicit(&r->state, memory_order_relaxed) == REC_FREE &&
		    atomic_compare_exchange_strong(&r->state, &expect, REC_LIVE))
			return r;
	}
	return NULL;
}

/* Resets what a record carries from an earlier capture (or thread), for a
 * new registration: by its owner, after the writer of that capture is done
 * with it. */
static void rec_reset(struct trec *r, int pseudo)
{
	atomic_store(&r->lost, 0);
	atomic_store(&r->reentered, 0);
	atomic_store(&r->call_t0, 0);
	r->w_reentered_reported = 0;
	r->rd = NULL;
	r->rd_off = 0;
	r->w_events = 0;
	r->w_gen_seen = 0;
	r->w_done = 0;
	r->w_active = 0;
	r->pseudo = (uint32_t)pseudo;
	r->exit_name[0] = 0;
	r->nside = 0;
	r->w_side_lost = 0;
	memset(r->stack_cache, 0, sizeof r->stack_cache);
	r->index = atomic_fetch_add(&g_next_index, 1) + 1;
}

struct trec *rec_pseudo(const char *name, uint32_t epoch)
{
	struct trec *r = rec_alloc();
	if (!r)
		return NULL;
	r->tid = 0;
	memset(r->name, 0, sizeof r->name);
	strncpy(r->name, name, sizeof r->name - 1);
	rec_reset(r, 1);
	atomic_store(&r->busy, 0);
	atomic_store_explicit(&r->first, NULL, memory_order_relaxed);
	atomic_store_explicit(&r->epoch, epoch, memory_order_release);
	return r;
}

void rec_free(struct trec *r)
{
	atomic_store_explicit(&r->state, REC_FREE, memory_order_release);
}

static void thread_bounds(struct trec *r)
{
	/* Frame-pointer walks stay inside this thread's stack. */
	pthread_attr_t a;
	void *addr;
	size_t size;
	r->stack_lo = r->stack_hi = 0;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		if (pthread_attr_getstack(&a, &addr, &size) == 0) {
			r->stack_lo = (uintptr_t)addr;
			r->stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&a);
	}
	if (!r->stack_hi) {
		uintptr_t here = (uintptr_t)&a;
		r->stack_lo = here - 4096;
		r->stack_hi = here + (8u << 20);
	}
}

static int register_in(struct tls *t, uint32_t epoch)
{
	pthread_once(&exit_key_once, make_exit_key);

	struct trec *r = t->rec;
	if (!r || atomic_load(&r->state) != REC_LIVE) {
		r = rec_alloc();
		if (!r) {
			atomic_fetch_add_explicit(&g_unregistered_lost, 1, memory_order_relaxed);
			return -1;
		}
		r->tid = (pid_t)syscall(SYS_gettid);
		thread_bounds(r);
	}
	t->rec = r;
	/* Registering is a busy section: threads_quiesce() waits for it, so
	 * a capture never ends (its sources never stop, its records are never
	 * released) while a thread is resetting its record or starting its
	 * sources. Busy, then the epoch again (seq_cst, against ct_stop()'s
	 * epoch store and its reads of busy). */
	atomic_store(&r->busy, 1);
	if (atomic_load(&g_epoch) != epoch) {
		atomic_store_explicit(&r->busy, 0, memory_order_release);
		return -1;
	}
	/* A record kept from an earlier capture is reset here, by its owner: the
	 * writer of that capture finished with it in ct_stop(). */
	memset(r->name, 0, sizeof r->name);
	prctl(PR_GET_NAME, r->name);
	rec_reset(r, 0);
	t->last = clock_ticks();
	r->base_ticks = t->last;
	r->w_last = t->last;
	r->w_user_last = t->last;
	t->ntasks = 0;
	t->stack_mask = g_params.stack_mask;
	t->stack_depth = g_params.stack_depth;
	struct chunk *c = pool_get();
	set_chunk(t, c);
	atomic_store_explicit(&r->first, c, memory_order_relaxed);
	pthread_setspecific(exit_key, r);
	sources_thread_start(r);
	/* Publish: the writer lists records whose epoch matches (acquire) and
	 * only then reads the fields above. */
	atomic_store_explicit(&r->epoch, epoch, memory_order_release);
	t->epoch = epoch;
	atomic_store_explicit(&r->busy, 0, memory_order_release);
	if (atomic_load(&g_epoch) != epoch) {
		t->epoch = 0;
		return -1;
	}
	return 0;
}

int thread_register(struct tls *t)
{
	uint32_t epoch = atomic_load_explicit(&g_epoch, memory_order_acquire);
	if (epoch == EPOCH_INACTIVE || t->dead)
		return -1;
	if (t->registering) {
		/* a signal handler's event, in the middle of this thread's
		 * registration: it has no record to go to yet */
		atomic_fetch_add_explicit(&g_unregistered_lost, 1, memory_order_relaxed);
		return -1;
	}
	t->registering = 1;
	atomic_signal_fence(memory_order_seq_cst);
	int rc = register_in(t, epoch);
	atomic_signal_fence(memory_order_seq_cst);
	t->registering = 0;
	return rc;
}

uint8_t *thread_refill(struct tls *t, uint64_t now)
{
	struct trec *r = t->rec;
	struct chunk *c = pool_get();
	uint64_t lost = atomic_load_explicit(&r->lost, memory_order_relaxed);
	if (!c) {
		/* Drop, count, remember when: the loss goes into the trace as soon
		 * as memory comes back, or via the writer if it never does. */
		if (lost == 0)
			atomic_store_explicit(&r->lost_first, now, memory_order_relaxed);
		atomic_store_explicit(&r->lost_last, now, memory_order_relaxed);
		atomic_store_explicit(&r->lost, lost + 1, memory_order_relaxed);
		atomic_store_explicit(&r->busy, 0, memory_order_release);
		return NULL;
	}
	struct chunk *old = t->ck;
	set_chunk(t, c);
	if (old)
		atomic_store_explicit(&old->next, c, memory_order_release);
	else
		atomic_store_explicit(&r->first, c, memory_order_release);
	uint8_t *p = t->p;
	if (lost) {
		uint64_t first = atomic_load_explicit(&r->lost_first, memory_order_relaxed);
		uint64_t last = atomic_load_explicit(&r->lost_last, memory_order_relaxed);
		if (first < t->last)
			first = t->last;
		*p++ = CT_EV_LOSS;
		p = ct_put_uvarint(p, first - t->last);
		p = ct_put_uvarint(p, lost);
		p = ct_put_uvarint(p, last > first ? last - first : 0);
		p = ct_put_uvarint(p, CT_LOSS_BUFFER_FULL);
		t->last = first;
		atomic_store_explicit(&r->lost, 0, memory_order_relaxed);
	}
	return p;
}

static void on_thread_exit(void *arg)
{
	struct trec *r = arg;
	struct tls *t = &ct_tls;
	/* Before thread.end: what the sources take last (a /proc reading that
	 * goes away with the thread) must come before it in the stream. */
	if (t->rec == r)
		sources_thread_exit(r);
	if (t->rec == r && t->epoch == atomic_load(&g_epoch)) {
		struct tls *e = ev_begin();
		if (e) {
			uint8_t *p = ev_head(e, CT_EV_THREAD_END, 0, NULL);
			if (p)
				ev_commit(e, p);
		}
	}
	/* Its name as it ends (threads often name themselves after they start,
	 * and may end before a generation lists them by their new name);
	 * published with the state, which the writer reads first. */
	memset(r->exit_name, 0, sizeof r->exit_name);
	prctl(PR_GET_NAME, r->exit_name);
	/* Events from destructors that run after this one are ignored. */
	t->dead = 1;
	t->epoch = EPOCH_DEAD;
	atomic_store_explicit(&r->state, REC_EXITED, memory_order_release);
}

/* ---- capture boundaries ---- */

static int membarrier_ok;

void threads_begin_capture(void)
{
	atomic_store(&g_next_index, 0);
	atomic_store(&g_unregistered_lost, 0);
	membarrier_ok =
		syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
	/* Records of threads that exited while no capture ran are free again. */
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++)
		if (atomic_load(&g_recs[i].state) == REC_EXITED)
			rec_free(&g_recs[i]);
}

void threads_quiesce(void)
{
	/* g_epoch is already INACTIVE. A thread that read the old epoch before
	 * its busy store became visible would slip through the re-check in
	 * ev_begin(); membarrier orders every running thread's store before we
	 * look (a thread not running has passed a context switch, a barrier). */
	if (membarrier_ok)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	else
		usleep(2000); /* store buffers drain in nanoseconds */
	atomic_thread_fence(memory_order_seq_cst);
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		while (atomic_load_explicit(&r->busy, memory_order_acquire))
			sched_yield();
	}
}

void threads_release_all(void)
{
	/* After quiescence and the final drain: nothing references the pool.
	 * Live threads re-register (and reset their record) in the next
	 * capture; exited ones free their record. */
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		r->rd = NULL;
		r->w_active = 0;
		r->w_gen_seen = 0;
		atomic_store(&r->first, NULL);
		if (atomic_load(&r->state) == REC_EXITED)
			rec_free(r);
	}
}
