/* Waits in the report: per-thread and per-slow-task time by what was waited
 * on, the longest waits of each slow task, and the top wait sites. Wait
 * events are rare next to regions, so they take the full decode (with the
 * stack resolved) in both passes and cost the lean path nothing. */
#include <stdlib.h>
#include <string.h>

#include "analysis/report_int.h"

unsigned report_wait_cat(uint32_t reason)
{
	switch (reason) {
	case CT_WAIT_MUTEX:
	case CT_WAIT_RWLOCK_READ:
	case CT_WAIT_RWLOCK_WRITE:
	case CT_WAIT_SEMAPHORE:
	case CT_WAIT_JOIN:
	case CT_WAIT_BARRIER:
		return REPORT_WAIT_SYNC;
	case CT_WAIT_CONDVAR:
		return REPORT_WAIT_CONDVAR;
	case CT_WAIT_SLEEP:
		return REPORT_WAIT_SLEEP;
	case CT_WAIT_NET:
		return REPORT_WAIT_NET;
	case CT_WAIT_FILE:
		return REPORT_WAIT_FILE;
	case CT_WAIT_POLL:
		return REPORT_WAIT_POLL;
	default:
		return REPORT_WAIT_FD;
	}
}

const char *report_wait_cat_name(unsigned cat)
{
	static const char *names[] = {"sync", "condvar", "sleep", "net", "file", "fd", "poll"};
	return cat < REPORT_WAIT_CATS ? names[cat] : "other";
}

const char *report_wait_reason_name(uint32_t reason)
{
	static const char *names[] = {"unknown", "mutex",     "rwlock_read", "rwlock_write",
				      "condvar", "semaphore", "join",	     "barrier",
				      "sleep",	 "net",	      "file",	     "pipe",
				      "poll",	 "other_fd"};
	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "unknown";
}

static int is_lock(uint32_t reason)
{
	return reason == CT_WAIT_MUTEX || reason == CT_WAIT_RWLOCK_READ ||
	       reason == CT_WAIT_RWLOCK_WRITE;
}

/* The thread index of a holder's kernel tid: from the current generation's
 * table, where a tid names one live thread (tids are reused only after an
 * exit), else from the threads seen so far. 0 when unknown. Waits are rare:
 * a linear scan is fine. */
static uint32_t holder_index(const struct report *r, uint32_t tid, int in_gen)
{
	uint32_t found = 0;
	if (tid == 0)
		return 0;
	if (in_gen && r->gen) {
		for (uint32_t i = 0; i < r->gen->nthreads; i++) {
			const struct ct_thread_info *ti = &r->gen->threads[i];
			if (ti->tid != tid)
				continue;
			found = ti->index;
			if (!ti->exited)
				break;
		}
		if (found)
			return found;
	}
	for (uint32_t i = 0; i < r->nthreads; i++) {
		const struct report_thread *p = &r->threads[i].pub;
		if (p->tid != tid || p->index == 0)
			continue;
		found = p->index;
		if (!p->exited)
			break;
	}
	return found;
}

/* The call site: the first frame, past functions inlined from system
 * headers (with _FORTIFY_SOURCE, glibc's read is an inline wrapper in
 * bits/unistd.h, and every read would be one site there). */
uint32_t report_site_index(const struct ct_stack *s)
{
	uint32_t i = 0;
	while (s && i + 1 < s->nframes && s->frames[i].inlined &&
	       !strncmp(s->frames[i].file, "/usr/include/", 13))
		i++;
	return i;
}

static const struct ct_frame *site_frame(const struct ct_stack *s)
{
	if (!s || !s->nframes)
		return NULL;
	return &s->frames[report_site_index(s)];
}

uint32_t report_stack_ids(struct report *r, const struct ct_stack *s, uint32_t from,
			  uint32_t out[][3])
{
	uint32_t n = 0;
	for (uint32_t i = from; s && i < s->nframes && n < REPORT_STACK_FRAMES; i++, n++) {
		const struct ct_frame *f = &s->frames[i];
		out[n][0] = ptrcache_id(&r->pc, &r->names, f->function);
		out[n][1] = ptrcache_id(&r->pc, &r->names, f->file);
		out[n][2] = f->line;
	}
	return n;
}

void report_sites_of(const struct report *r, const uint32_t ids[][3], uint32_t n,
		     struct report_site *out)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = (struct report_site){r->names.strs[ids[i][0]], r->names.strs[ids[i][1]],
					      ids[i][2]};
}

static void wait_read(struct report *r, struct wopen *w, const struct ct_event *ev)
{
	const struct ct_frame *f = site_frame(ev->stack);
	w->begin = ev->ts;
	w->reason = ev->nargs > 0 ? (uint32_t)ev->args[0] : 0;
	w->object = ev->nargs > 1 ? ev->args[1] : 0;
	w->detail = ev->nargs > 2 ? ev->args[2] : 0;
	/* Ids, not pointers: the reader's strings die with their generation. */
	w->func = f ? ptrcache_id(&r->pc, &r->names, f->function) : 0;
	w->file = f ? ptrcache_id(&r->pc, &r->names, f->file) : 0;
	w->line = f ? f->line : 0;
	w->holder_tid = is_lock(w->reason) ? (uint32_t)w->detail : 0;
	w->holder = holder_index(r, w->holder_tid, 1);
	w->site = -1;
	w->open = 1;
}

/* A holder not in the generation's table yet (events fed without one) may
 * be a thread seen later: once more at the end, over all threads. */
static void resolve_late(const struct report *r, uint32_t *index, uint32_t tid)
{
	if (*index == 0)
		*index = holder_index(r, tid, 0);
}

static const char *holder_name(const struct report *r, uint32_t index)
{
	if (index == 0)
		return NULL;
	uint64_t *slot = u64map_find(&r->thread_slot, (uint64_t)index + 1);
	return slot ? r->threads[*slot].pub.name : NULL;
}

static struct report_site site_strs(const struct report *r, uint32_t func, uint32_t file,
				    uint32_t line)
{
	return (struct report_site){r->names.strs[func], r->names.strs[file], line};
}

/* ---- pass 1: threads and sites ---- */

/* Sites are keyed by the resolved frame, not the stack id: ids are per
 * generation. Ids and lines fit their fields (NAMES_MAX is 2^20); the
 * reason field is never 0, so neither is the key. */
static int32_t site_of(struct report *r, const struct wopen *w)
{
	uint64_t reason = (w->reason < 15 ? w->reason : 14) + 1;
	uint64_t line = w->line < 0xfffff ? w->line : 0xfffff;
	uint64_t key = reason << 60 | line << 40 | (uint64_t)(w->func & 0xfffff) << 20 |
		       (w->file & 0xfffff);
	uint64_t *v = u64map_find(&r->site_slot, key);
	if (v)
		return (int32_t)*v;
	if (r->nsites == REPORT_MAX_WAIT_SITES)
		return -1;
	if ((r->nsites & (r->nsites - 1)) == 0) {
		uint32_t ncap = r->nsites ? 2 * r->nsites : 16;
		struct wsite *n = realloc(r->sites, ncap * sizeof(*n));
		if (!n)
			return -1;
		r->sites = n;
	}
	int created;
	v = u64map_put(&r->site_slot, key, &created);
	if (!v)
		return -1;
	struct wsite *s = &r->sites[r->nsites];
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->reason = w->reason;
	s->func = w->func;
	s->file = w->file;
	s->line = w->line;
	*v = r->nsites;
	return (int32_t)r->nsites++;
}

/* Misra-Gries: with 4 counters, any holder behind more than a fifth of the
 * site's waits is kept, in bounded memory. */
static void tally_holder(struct wsite *s, uint32_t index, uint32_t tid)
{
	unsigned free_at = 4;
	for (unsigned i = 0; i < 4; i++) {
		/* By tid: the index may resolve only for later waits. */
		if (s->hold[i].n && s->hold[i].tid == tid) {
			s->hold[i].n++;
			if (index)
				s->hold[i].index = index;
			return;
		}
		if (!s->hold[i].n && free_at == 4)
			free_at = i;
	}
	if (free_at < 4) {
		s->hold[free_at].index = index;
		s->hold[free_at].tid = tid;
		s->hold[free_at].n = 1;
		return;
	}
	for (unsigned i = 0; i < 4; i++)
		s->hold[i].n--;
}

static void add_wait1(struct report *r, struct rthread *t, const struct wopen *w, uint64_t d)
{
	t->pub.waits.wait_ns[report_wait_cat(w->reason)] += d;
	t->pub.waits.waits++;
	sched_wait_time1(t, w->reason, d);
	if (w->site < 0) {
		r->res.wait_sites_overflow++;
		r->res.wait_sites_overflow_ns += d;
		return;
	}
	struct wsite *s = &r->sites[w->site];
	s->count++;
	s->total += d;
	if (d > s->max)
		s->max = d;
	if (w->holder_tid)
		tally_holder(s, w->holder, w->holder_tid);
}

void wait_begin1(struct report *r, struct rthread *t, const struct ct_event *ev)
{
	r->res.waits++;
	if (t->w1.open) /* waits do not nest: its end was lost */
		wait_end1(r, t, ev->ts);
	wait_read(r, &t->w1, ev);
	t->w1.site = site_of(r, &t->w1);
}

void wait_end1(struct report *r, struct rthread *t, uint64_t ts)
{
	struct wopen *w = &t->w1;
	if (!w->open) {
		r->res.waits_unmatched++;
		return;
	}
	w->open = 0;
	add_wait1(r, t, w, ts > w->begin ? ts - w->begin : 0);
}

/* A wait open at the end of the trace lasts to its end: a thread stuck in
 * a call must show as blocked in it, not as idle. */
void waits_pass1_done(struct report *r)
{
	uint64_t end = r->res.last_ns;
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct rthread *t = &r->threads[i];
		struct report_thread *p = &t->pub;
		if (t->first_ts == UINT64_MAX)
			continue;
		uint64_t last = t->last_ts1;
		struct wopen *w = &t->w1;
		if (w->open) {
			w->open = 0;
			uint64_t d = end > w->begin ? end - w->begin : 0;
			add_wait1(r, t, w, d);
			if (w->site >= 0)
				r->sites[w->site].open++;
			r->res.waits_open++;
			p->waiting = 1;
			p->open = (struct report_wait){
				.reason = w->reason,
				.thread = p->index,
				.begin_ns = w->begin,
				.duration_ns = d,
				.object = w->object,
				.detail = w->detail,
				.site = site_strs(r, w->func, w->file, w->line),
				.holder = w->holder,
				.holder_tid = w->holder_tid,
				.open = 1,
			};
			if (end > last)
				last = end;
		}
		p->span_ns = last - t->first_ts;
		uint64_t waited = 0;
		for (unsigned c = 0; c < REPORT_WAIT_CATS; c++)
			waited += p->waits.wait_ns[c];
		p->waits.other_ns = p->span_ns > waited ? p->span_ns - waited : 0;
	}
}

/* ---- pass 2: slow tasks ---- */

void wait_begin2(struct report *r, struct rthread *t, int32_t si, const struct ct_event *ev)
{
	if (t->w2.open)
		wait_end2(r, t, si, ev->ts, 0);
	wait_read(r, &t->w2, ev);
	/* Stacks only where a slow task can use them. */
	t->w2.nfr = si >= 0 ? report_stack_ids(r, ev->stack, report_site_index(ev->stack), t->w2.fr)
			    : 0;
}

void wait_slice(struct slow_task *s, const struct rthread *t, uint64_t d)
{
	if (t->w2.open)
		s->pub.waits.wait_ns[report_wait_cat(t->w2.reason)] += d;
}

/* Ends t's open wait at ts; when slow task si was current, the wait joins
 * its longest ones (a wait cannot change task: no event happens inside). */
void wait_end2(struct report *r, struct rthread *t, int32_t si, uint64_t ts, int open)
{
	struct wopen *w = &t->w2;
	if (!w->open)
		return;
	w->open = 0;
	if (si < 0)
		return;
	struct report_task *p = &r->slow[si].pub;
	uint64_t lo = w->begin > p->begin_ns ? w->begin : p->begin_ns;
	uint64_t hi = ts < p->end_ns ? ts : p->end_ns;
	if (hi <= lo)
		return;
	uint64_t d = hi - lo;
	p->waits.waits++;
	uint32_t k = p->nwaits;
	if (k == REPORT_MAX_TASK_WAITS) {
		if (p->longest[k - 1].duration_ns >= d)
			return;
		k--;
	} else {
		p->nwaits++;
	}
	/* Longest first; equal ones in the order they came. */
	while (k > 0 && p->longest[k - 1].duration_ns < d) {
		p->longest[k] = p->longest[k - 1];
		k--;
	}
	p->longest[k] = (struct report_wait){
		.reason = w->reason,
		.thread = t->pub.index,
		.begin_ns = w->begin,
		.duration_ns = d,
		.object = w->object,
		.detail = w->detail,
		.site = site_strs(r, w->func, w->file, w->line),
		.holder = w->holder,
		.holder_tid = w->holder_tid,
		.open = open,
		.nframes = w->nfr,
	};
	report_sites_of(r, w->fr, w->nfr, p->longest[k].frames);
}

void waits_detail_close(struct report *r)
{
	for (uint32_t i = 0; i < r->nslow; i++) {
		struct report_task *p = &r->slow[i].pub;
		uint64_t waited = 0;
		for (unsigned c = 0; c < REPORT_WAIT_CATS; c++)
			waited += p->waits.wait_ns[c];
		p->waits.other_ns = p->on_thread_ns > waited ? p->on_thread_ns - waited : 0;
		for (uint32_t j = 0; j < p->nwaits; j++) {
			struct report_wait *w = &p->longest[j];
			resolve_late(r, &w->holder, w->holder_tid);
			w->holder_name = holder_name(r, w->holder);
		}
	}
}

/* ---- results ---- */

static int cmp_site(const void *a, const void *b)
{
	const struct report_wait_site *x = a, *y = b;
	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	int c = strcmp(x->site.function, y->site.function);
	return c ? c : (x->reason > y->reason) - (x->reason < y->reason);
}

void waits_finish(struct report *r)
{
	struct report_result *res = &r->res;
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct report_wait *o = &r->threads[i].pub.open;
		resolve_late(r, &o->holder, o->holder_tid);
		o->holder_name = holder_name(r, o->holder);
	}
	res->nwait_sites = r->nsites;
	res->wait_sites = calloc(r->nsites ? r->nsites : 1, sizeof(*res->wait_sites));
	if (!res->wait_sites)
		abort();
	for (uint32_t i = 0; i < r->nsites; i++) {
		const struct wsite *s = &r->sites[i];
		struct report_wait_site *o = &res->wait_sites[i];
		*o = (struct report_wait_site){
			.reason = s->reason,
			.site = site_strs(r, s->func, s->file, s->line),
			.count = s->count,
			.open = s->open,
			.total_ns = s->total,
			.max_ns = s->max,
		};
		for (unsigned h = 0; h < 4; h++)
			if (s->hold[h].n > o->holder_waits) {
				o->holder = s->hold[h].index;
				o->holder_tid = s->hold[h].tid;
				o->holder_waits = s->hold[h].n;
			}
		resolve_late(r, &o->holder, o->holder_tid);
		o->holder_name = holder_name(r, o->holder);
	}
	qsort(res->wait_sites, r->nsites, sizeof(*res->wait_sites), cmp_site);
	res->ntop_wait_sites =
		r->nsites < REPORT_TOP_WAIT_SITES ? r->nsites : REPORT_TOP_WAIT_SITES;
}

void waits_free(struct report *r)
{
	free(r->sites);
	free(r->res.wait_sites);
	u64map_free(&r->site_slot);
}
