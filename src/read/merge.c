/* Event iteration over a validated generation: one cursor per thread, merged
 * by timestamp through a loser tree (CT_ORDER_TIME) or taken thread after
 * thread (CT_ORDER_THREAD). Nothing here allocates per event or checks
 * bounds again: generation.c has already decoded every byte once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lean.h"

#define KEY_DONE (~(unsigned __int128)0)

/* Decodes the cursor's next event into *ev. The byte-sized type is stored
 * last: a store through a char type may alias anything, and would make the
 * compiler reload the generation's tables after it. `dense` is a constant:
 * with the generation's string ids dense, a string argument is one load
 * from g->sid, and the index of any other argument is masked to 0 (NULL)
 * instead of branching on its kind. Stacks, byte strings and durations are
 * rare and share one branch. */
static inline __attribute__((always_inline)) void decode(const ct_reader *r, const struct gen *g,
							 struct cursor *c, struct ct_event *ev,
							 const int dense)
{
	const uint8_t *p = c->p;
	unsigned type = *p++;
	const struct evdesc *d = &r->desc[type];
	uint64_t t = c->t + lean_uv(&p);
	unsigned argc = d->argc, flags = d->flags, smask = d->strs;
	memset(ev->args, 0, sizeof(ev->args));
	memset(ev->strs, 0, sizeof(ev->strs));
	const char *const *sid = g->sid;
	for (unsigned i = 0; i < argc; i++) {
		uint64_t v = lean_uv(&p);
		ev->args[i] = v;
		if (dense)
			ev->strs[i] = sid[v & -(uint64_t)(smask >> i & 1)];
		else if ((smask >> i & 1) && v)
			ev->strs[i] = g->strs[idmap_get(&g->string_map, v) - 1];
	}
	const struct ct_stack *stack = NULL;
	const char *bytes = NULL;
	size_t nbytes = 0;
	if (__builtin_expect(flags & (DESC_STACK | DESC_BYTES | DESC_DUR | DESC_INT), 0)) {
		for (unsigned m = d->durs; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			ev->args[i] = clock_dur_ns(&g->clk, ev->args[i]);
		}
		for (unsigned m = d->ints; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			ev->args[i] = (uint64_t)ct_unzigzag(ev->args[i]);
		}
		if (flags & DESC_STACK) {
			uint64_t id = lean_uv(&p);
			if (id)
				stack = &g->stacks[idmap_get(&g->stack_map, id) - 1];
		}
		if (flags & DESC_BYTES) {
			nbytes = (size_t)lean_uv(&p);
			bytes = (const char *)p;
			p += nbytes;
		}
	}
	ev->ts = clock_event_ns(&g->clk, t);
	ev->type_name = d->name;
	ev->thread = c->thread;
	ev->nargs = argc;
	ev->bytes = bytes;
	ev->nbytes = nbytes;
	ev->stack = stack;
	c->p = p;
	c->t = t;
	c->left--;
	ev->type = (uint8_t)(type & CT_TYPE_MASK);
}

/* Moves to the thread's next batch when the current one is used up.
 * Returns 0 when the thread has no events left. Linked batches are never
 * empty (generation.c does not link those). */
static inline int cursor_ready(const struct gen *g, struct cursor *c)
{
	if (__builtin_expect(c->left != 0, 1))
		return 1;
	if (c->next_batch == NONE)
		return 0;
	const struct batch *b = &g->batches[c->next_batch];
	c->p = b->p;
	c->t = b->base;
	c->left = b->nevents;
	c->next_batch = b->next;
	return 1;
}

/* Merge key of the cursor's next event: timestamp, then thread index. */
static inline unsigned __int128 cursor_key(const struct gen *g, struct cursor *c)
{
	if (!cursor_ready(g, c))
		return KEY_DONE;
	const uint8_t *q = c->p + 1;
	uint64_t t = c->t + lean_uv(&q);
	return (unsigned __int128)t << 32 | c->index;
}

static int cursor_cmp(const void *a, const void *b)
{
	const struct cursor *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int iter_nomem(ct_reader *r)
{
	r->e.err = -ENOMEM;
	snprintf(r->e.msg, sizeof(r->e.msg), "out of memory iterating generation %u", r->ngens);
	return -ENOMEM;
}

void rdr_iter_reset(ct_reader *r)
{
	r->g->iter_ready = 0;
	r->g->fast = 0;
}

/* Builds the loser tree: plays every match once, from the leaves up;
 * winners of internal nodes go in the scratch half tree[k..2k) shifted. */
static int tree_init(ct_reader *r)
{
	struct gen *g = r->g;
	uint32_t k = 1;
	while (k < g->ncur)
		k *= 2;
	if (VEC_RESERVE(g->key, g->key_cap, k) || VEC_RESERVE(g->tree, g->tree_cap, 3 * (size_t)k))
		return iter_nomem(r);
	for (uint32_t i = 0; i < k; i++)
		g->key[i] = i < g->ncur ? cursor_key(g, &g->cur[i]) : KEY_DONE;
	uint32_t *win = g->tree + k; /* win[n] for nodes 1..2k-1 */
	for (uint32_t i = 0; i < k; i++)
		win[k + i] = i;
	for (uint32_t n = k; n-- > 1;) {
		uint32_t a = win[2 * n], b = win[2 * n + 1];
		int sw = g->key[b] < g->key[a];
		win[n] = sw ? b : a;
		g->tree[n] = sw ? a : b;
	}
	g->tree[0] = k > 1 ? win[1] : 0;
	g->nleaves = k;
	return 0;
}

static int iter_init(ct_reader *r)
{
	struct gen *g = r->g;
	if (VEC_RESERVE(g->cur, g->cur_cap, g->nthreads ? g->nthreads : 1))
		return iter_nomem(r);
	g->ncur = 0;
	for (uint32_t i = 0; i < g->nthreads; i++) {
		const struct tstate *ts = &g->ts[i];
		if (!ts->nevents)
			continue;
		g->cur[g->ncur++] = (struct cursor){.left = 0,
						    .next_batch = ts->first_batch,
						    .index = g->threads[i].index,
						    .thread = &g->threads[i]};
	}
	g->iter_order = r->order;
	g->pos = 0;
	/* Sparse string ids (unusual) keep every event on next_slow. */
	int dense = g->nsid != 0;
	if (g->iter_order == CT_ORDER_THREAD) {
		qsort(g->cur, g->ncur, sizeof(*g->cur), cursor_cmp);
		g->fast = dense && g->ncur > 0;
	} else if (tree_init(r)) {
		return r->e.err;
	} else {
		g->fast = dense ? 2 : 0;
	}
	g->iter_ready = 1;
	return 0;
}

/* Thread order, past the fast path: moves to the next batch or thread. */
static int next_by_thread(ct_reader *r, struct ct_event *ev)
{
	struct gen *g = r->g;
	while (g->pos < g->ncur) {
		struct cursor *c = &g->cur[g->pos];
		if (!cursor_ready(g, c)) {
			g->pos++;
			continue;
		}
		if (g->nsid)
			decode(r, g, c, ev, 1);
		else
			decode(r, g, c, ev, 0);
		return 1;
	}
	g->fast = 0;
	return 0;
}

static inline __attribute__((always_inline)) int next_by_time(ct_reader *r, struct ct_event *ev,
							      const int dense)
{
	struct gen *g = r->g;
	uint32_t w = g->tree[0];
	if (g->key[w] == KEY_DONE)
		return 0;
	struct cursor *c = &g->cur[w];
	decode(r, g, c, ev, dense);
	/* Replay the winner's path to the root. The swaps are written as
	 * selects so they can compile to cmov: merge order is data-dependent
	 * and branches here would mispredict often. */
	unsigned __int128 *key = g->key;
	uint32_t *tree = g->tree;
	unsigned __int128 kw = cursor_key(g, c);
	key[w] = kw;
	for (uint32_t n = (w + g->nleaves) / 2; n > 0; n /= 2) {
		uint32_t l = tree[n];
		unsigned __int128 kl = key[l];
		int sw = kl < kw;
		tree[n] = sw ? w : l;
		w = sw ? l : w;
		kw = sw ? kl : kw;
	}
	tree[0] = w;
	return 1;
}

static __attribute__((noinline)) int next_slow(ct_reader *r, struct ct_event *ev)
{
	struct gen *g = r->g;
	if (!g->loaded)
		return 0;
	if (!g->iter_ready) {
		int rc = iter_init(r);
		if (rc)
			return rc;
	}
	if (g->iter_order == CT_ORDER_THREAD)
		return next_by_thread(r, ev);
	if (g->fast == 2)
		return next_by_time(r, ev, 1);
	return next_by_time(r, ev, 0);
}

/* Everything but the inline fast paths: batch and thread changes, the
 * first event of a generation, loading the next one. */
static __attribute__((noinline)) int next_more(ct_reader *r, struct ct_event *ev, int all)
{
	for (;;) {
		int k = next_slow(r, ev);
		if (k || !all)
			return k;
		const struct ct_generation *g;
		k = ct_reader_next_generation(r, &g);
		if (k <= 0)
			return k;
	}
}

/* The common cases inline and first: thread order with events left in the
 * current batch, or time order ready. The fast path keeps few values live
 * so that it needs no callee-saved registers; the rest is a tail call. */
static inline __attribute__((always_inline)) int next_event(ct_reader *r, struct ct_event *ev,
							    int all)
{
	struct gen *g = r->g;
	if (__builtin_expect(g->fast == 1, 1)) {
		struct cursor *c = &g->cur[g->pos];
		if (__builtin_expect(c->left != 0, 1)) {
			decode(r, g, c, ev, 1);
			return 1;
		}
	} else if (g->fast == 2 && __builtin_expect(next_by_time(r, ev, 1), 1)) {
		return 1;
	}
	return next_more(r, ev, all);
}

int ct_reader_next(ct_reader *r, struct ct_event *ev)
{
	return next_event(r, ev, 1);
}

int ct_reader_next_in_generation(ct_reader *r, struct ct_event *ev)
{
	return next_event(r, ev, 0);
}

/* A batch: the decode loop runs over the current batch of the thread
 * without returning, so the call, the fast-path checks and the cursor
 * loads are paid once per batch instead of once per event. */
int ct_reader_next_batch(ct_reader *r, struct ct_event *evs, int n)
{
	int k = 0;
	while (k < n) {
		struct gen *g = r->g;
		if (__builtin_expect(g->fast == 1, 1)) {
			struct cursor *c = &g->cur[g->pos];
			uint64_t m = c->left < (uint64_t)(n - k) ? c->left : (uint64_t)(n - k);
			for (struct ct_event *ev = evs + k, *end = ev + m; ev < end; ev++)
				decode(r, g, c, ev, 1);
			k += (int)m;
			if (k == n)
				break;
		}
		int rc = next_more(r, &evs[k], 0);
		if (rc <= 0)
			return k ? k : rc;
		k++;
	}
	return k;
}

/* ---- lean iteration (lean.h) ---- */

int rdr_lean_gen(ct_reader *r, struct lean_gen *lg)
{
	struct gen *g = r->g;
	if (r->order != CT_ORDER_THREAD || !g->loaded || g->nsid == 0)
		return -EINVAL;
	*lg = (struct lean_gen){r->desc, &g->clk, g->sid, g->nsid};
	return 0;
}

int rdr_lean_run(ct_reader *r, struct lean_run *run)
{
	struct gen *g = r->g;
	if (!g->loaded)
		return 0;
	if (!g->iter_ready) {
		int rc = iter_init(r);
		if (rc)
			return rc;
	}
	if (g->iter_order != CT_ORDER_THREAD)
		return -EINVAL;
	while (g->pos < g->ncur) {
		struct cursor *c = &g->cur[g->pos];
		if (!cursor_ready(g, c)) {
			g->pos++;
			continue;
		}
		*run = (struct lean_run){c->p, c->left, c->t, c->thread};
		c->left = 0;
		return 1;
	}
	g->fast = 0;
	return 0;
}

const uint8_t *rdr_lean_decode(ct_reader *r, const uint8_t *p, uint64_t *t,
			       const struct ct_thread_info *thread, struct ct_event *ev)
{
	struct cursor c = {.p = p, .t = *t, .left = 1, .thread = thread};
	decode(r, r->g, &c, ev, 1);
	*t = c.t;
	return c.p;
}
