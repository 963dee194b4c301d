/* Pass 3 of the report analysis: what the holder of a lock did while a slow
 * task waited for it, and how many threads wanted a CPU during the slow
 * tasks that mostly waited for one. Both need other threads' events at the
 * time of a wait pass 2 only finds out about as it reads (threads come one
 * after another in CT_ORDER_THREAD), so they are a third pass over the
 * generations overlapping those intervals (and the one before each run of
 * them, where a wait the holder is in began). Memory: per interval and per
 * thread, fixed; the want deltas of one generation, capped as in pass 1. */
#include <stdlib.h>
#include <string.h>

#include "analysis/report_int.h"

#define HOLD_FUNCS     8	  /* CPU-sample functions counted per interval */
#define H_FAULT_WINDOW 1000000ull /* as report_sched.c's FAULT_WINDOW_NS */
#define H_LEVELS       256	  /* threads wanting a CPU, counted exactly up to */

enum { H_ON, H_PREEMPTED, H_BLOCKED };

struct hiv {
	uint32_t slot; /* the holder's thread slot; UINT32_MAX: a concurrency interval */
	uint32_t si, wi;
	int32_t next; /* the next interval of the same thread, -1 */
	uint64_t from, to;
	int seen;
	int64_t st[REPORT_STATES];
	struct {
		uint32_t reason, nfr;
		uint64_t object, detail, ns;
		uint32_t fr[REPORT_STACK_FRAMES][3];
	} best[REPORT_STATES]; /* the longest wait of each wait state */
	/* the first wait of each state (reason, call, site), and whether
	 * another of the state differed */
	uint32_t sig_reason[REPORT_STATES], sig_func[REPORT_STATES];
	uint64_t sig_detail[REPORT_STATES];
	uint8_t mixed[REPORT_STATES];
	struct {
		uint32_t name;
		uint64_t n;
	} fn[HOLD_FUNCS];
	uint32_t nfn;
	uint64_t samples, minor, major;
	uint64_t *lvl; /* concurrency: ns at each level, H_LEVELS + 1 */
};

struct hthr {
	uint8_t init, state, fault, pend;
	uint8_t want, seen, gone; /* concurrency */
	uint8_t exited;		  /* the latest generation table listing it says it exited */
	uint32_t gen_stamp;
	int32_t first;	 /* its first holder interval, -1 */
	uint64_t origin; /* first event since the start or a gap */
	uint64_t since, fault_ts, last, pend_from, pend_to;
	struct wopen w;
};

struct hdelta {
	uint64_t ts;
	int64_t d;
};

struct hpass {
	int set, done;
	struct hiv *iv;
	uint32_t niv, cap, nhold; /* holder intervals first, then concurrency ones */
	struct hthr *th;
	uint32_t nth;
	uint8_t *want_gen; /* per generation of pass 1 */
	struct report_span *spans;
	uint64_t next_gen; /* report_holder_wanted's index */
	uint64_t seq;
	int seq_set;
	/* concurrency */
	int conc;
	uint32_t serial;
	uint64_t gmin, gmax;
	int have_gen;
	struct hdelta *d;
	uint64_t nd, capd;
	int over; /* this generation's deltas did not fit: it is left out */
	uint64_t skipped;
};

static int is_lock(uint32_t reason)
{
	return reason == CT_WAIT_MUTEX || reason == CT_WAIT_RWLOCK_READ ||
	       reason == CT_WAIT_RWLOCK_WRITE;
}

static struct hiv *add_iv(struct hpass *h)
{
	if (h->niv == h->cap) {
		uint32_t ncap = h->cap ? 2 * h->cap : 8;
		struct hiv *n = realloc(h->iv, ncap * sizeof(*n));
		if (!n)
			abort();
		h->iv = n;
		h->cap = ncap;
	}
	struct hiv *v = &h->iv[h->niv++];
	memset(v, 0, sizeof(*v));
	v->next = -1;
	return v;
}

/* The slow tasks that mostly waited for a CPU: runnable and throttled time
 * the largest state, or a quarter of its time on threads. */
static int wants_conc(const struct report_task *p)
{
	uint64_t q = p->states.ns[REPORT_ST_RUNNABLE] + p->states.ns[REPORT_ST_THROTTLED];
	if (!q)
		return 0;
	if (4 * q >= p->on_thread_ns)
		return 1;
	for (unsigned s = 0; s < REPORT_STATES; s++)
		if (s != REPORT_ST_RUNNABLE && s != REPORT_ST_THROTTLED && p->states.ns[s] > q)
			return 0;
	return 1;
}

static void setup(struct report *r)
{
	if (r->h3 && r->h3->set)
		return;
	report_pass1_done(r);
	report_detail_close(r);
	struct hpass *h = r->h3 ? r->h3 : calloc(1, sizeof(*h));
	if (!h)
		abort();
	r->h3 = h;
	h->set = 1;
	h->nth = r->nthreads;
	h->th = calloc(h->nth ? h->nth : 1, sizeof(*h->th));
	if (!h->th)
		abort();
	for (uint32_t i = 0; i < h->nth; i++)
		h->th[i].first = -1;
	int perf = 0;
	for (uint32_t i = 0; i < r->nthreads; i++)
		perf |= r->threads[i].used_perf;
	for (uint32_t i = 0; i < r->res.nslow; i++) {
		const struct report_task *p = &r->res.slow[i];
		for (uint32_t j = 0; j < p->nwaits; j++) {
			const struct report_wait *w = &p->longest[j];
			if (!is_lock(w->reason) || !w->holder || !w->duration_ns)
				continue;
			uint64_t *slot = u64map_find(&r->thread_slot, (uint64_t)w->holder + 1);
			if (!slot || *slot >= h->nth)
				continue;
			struct hiv *v = add_iv(h);
			v->slot = (uint32_t)*slot;
			v->si = i;
			v->wi = j;
			/* the wait's part inside the task, as pass 2 clipped it */
			v->from = w->begin_ns > p->begin_ns ? w->begin_ns : p->begin_ns;
			v->to = v->from + w->duration_ns;
			v->next = h->th[v->slot].first;
			h->th[v->slot].first = (int32_t)(h->niv - 1);
		}
	}
	h->nhold = h->niv;
	for (uint32_t i = 0; perf && i < r->res.nslow; i++) {
		const struct report_task *p = &r->res.slow[i];
		if (!wants_conc(p) || p->end_ns <= p->begin_ns)
			continue;
		struct hiv *v = add_iv(h);
		v->slot = UINT32_MAX;
		v->si = i;
		v->from = p->begin_ns;
		v->to = p->end_ns;
		v->lvl = calloc(H_LEVELS + 1, sizeof(*v->lvl));
		if (!v->lvl)
			abort();
		h->conc = 1;
	}
	h->serial = 1;
	/* The generations to read: those overlapping an interval, and the one
	 * before each run of them. */
	if (r->ngens == UINT64_MAX || r->ngens == 0 || !h->niv)
		return; /* not known: every generation is offered */
	h->want_gen = calloc(r->ngens ? r->ngens : 1, 1);
	if (!h->want_gen)
		abort();
	for (uint64_t g = 0; g < r->ngens; g++) {
		const struct gen_range *gr = &r->gens[g];
		if (gr->nevents == 0 && gr->min == 0 && gr->max == 0)
			continue;
		for (uint32_t k = 0; k < h->niv; k++)
			if (gr->max >= h->iv[k].from && gr->min <= h->iv[k].to) {
				h->want_gen[g] = 1;
				if (g > 0)
					h->want_gen[g - 1] = 1;
				break;
			}
	}
}

int64_t report_holder_spans(struct report *r, const struct report_span **spans)
{
	setup(r);
	struct hpass *h = r->h3;
	*spans = NULL;
	if (!h->niv)
		return 0;
	if (!h->want_gen)
		return -1;
	free(h->spans);
	h->spans = calloc(r->ngens ? r->ngens : 1, sizeof(*h->spans));
	if (!h->spans)
		return -1;
	int64_t n = 0;
	for (uint64_t g = 0; g < r->ngens; g++)
		if (h->want_gen[g])
			h->spans[n++] = (struct report_span){r->gens[g].offset, r->gens[g].size};
	*spans = h->spans;
	return n;
}

int report_holder_wanted(struct report *r, const struct ct_generation *g)
{
	setup(r);
	struct hpass *h = r->h3;
	uint64_t i = h->next_gen++;
	if (!h->niv)
		return -1;
	if (h->want_gen)
		return i < r->ngens ? h->want_gen[i] : -1;
	for (uint32_t k = 0; k < h->niv; k++)
		if (g->max_ts >= h->iv[k].from && g->min_ts <= h->iv[k].to)
			return 1;
	return 0;
}

/* ---- pieces of a holder's time ---- */

static void piece(struct hpass *h, const struct hthr *t, unsigned st, unsigned sub, uint64_t from,
		  uint64_t to)
{
	for (int32_t k = t->first; k >= 0; k = h->iv[k].next) {
		struct hiv *v = &h->iv[k];
		uint64_t lo = from > v->from ? from : v->from, hi = to < v->to ? to : v->to;
		if (hi <= lo)
			continue;
		v->st[st] += (int64_t)(hi - lo);
		if (sub < REPORT_STATES)
			v->st[sub] -= (int64_t)(hi - lo);
	}
}

/* The thread's open wait ends at ts: its time, and the longest one of each
 * state with its stack. */
static void wait_close(struct hpass *h, struct hthr *t, uint64_t ts)
{
	struct wopen *w = &t->w;
	if (!w->open)
		return;
	w->open = 0;
	unsigned ws = report_wait_state(w->reason);
	for (int32_t k = t->first; k >= 0; k = h->iv[k].next) {
		struct hiv *v = &h->iv[k];
		uint64_t lo = w->begin > v->from ? w->begin : v->from, hi = ts < v->to ? ts : v->to;
		if (hi <= lo)
			continue;
		uint32_t func = w->nfr ? w->fr[0][0] : 0;
		if (!v->sig_reason[ws]) {
			v->sig_reason[ws] = w->reason ? w->reason : UINT32_MAX;
			v->sig_func[ws] = func;
			v->sig_detail[ws] = w->detail;
		} else if (v->sig_reason[ws] != w->reason || v->sig_func[ws] != func ||
			   v->sig_detail[ws] != w->detail) {
			v->mixed[ws] = 1;
		}
		v->st[ws] += (int64_t)(hi - lo);
		if (hi - lo > v->best[ws].ns) {
			v->best[ws].ns = hi - lo;
			v->best[ws].reason = w->reason;
			v->best[ws].object = w->object;
			v->best[ws].detail = w->detail;
			v->best[ws].nfr = w->nfr;
			memcpy(v->best[ws].fr, w->fr, sizeof(w->fr));
		}
	}
}

static void pend_resolve(struct hpass *h, struct hthr *t, int fault)
{
	if (!t->pend)
		return;
	t->pend = 0;
	piece(h, t, fault ? REPORT_ST_FAULT : REPORT_ST_OFFCPU, REPORT_STATES, t->pend_from,
	      t->pend_to);
}

/* Ends the thread's off-CPU piece at ts (report_sched.c's rules). */
static void off_close(struct hpass *h, struct hthr *t, uint64_t ts, int lost)
{
	if (t->state == H_ON || ts <= t->since)
		return;
	unsigned ws = t->w.open ? report_wait_state(t->w.reason) : REPORT_STATES;
	if (lost) {
		if (!t->w.open)
			piece(h, t, REPORT_ST_UNKNOWN, REPORT_STATES, t->since, ts);
	} else if (t->state == H_PREEMPTED) {
		piece(h, t, REPORT_ST_RUNNABLE, ws, t->since, ts);
	} else if (t->w.open) {
		/* blocked in the wait: the wait's time */
	} else if (t->fault) {
		piece(h, t, REPORT_ST_FAULT, REPORT_STATES, t->since, ts);
	} else {
		pend_resolve(h, t, 0);
		t->pend = 1;
		t->pend_from = t->since;
		t->pend_to = ts;
	}
	t->since = ts;
}

static void in_ivs(struct hpass *h, const struct hthr *t, uint64_t ts,
		   void (*fn)(struct hiv *, const void *), const void *arg)
{
	for (int32_t k = t->first; k >= 0; k = h->iv[k].next)
		if (ts >= h->iv[k].from && ts <= h->iv[k].to)
			fn(&h->iv[k], arg);
}

struct fault_arg {
	uint64_t kind, n;
};

static void add_fault(struct hiv *v, const void *a)
{
	const struct fault_arg *f = a;
	if (f->kind == CT_FAULT_MAJOR)
		v->major += f->n;
	else
		v->minor += f->n;
}

static void add_sample(struct hiv *v, const void *a)
{
	uint32_t name = *(const uint32_t *)a;
	v->samples++;
	uint32_t k = 0;
	while (k < v->nfn && v->fn[k].name != name)
		k++;
	if (k == v->nfn) {
		if (k == HOLD_FUNCS)
			return;
		v->fn[k].name = name;
		v->fn[k].n = 0;
		v->nfn++;
	}
	v->fn[k].n++;
}

static inline uint64_t arg(const struct ct_event *ev, uint32_t i)
{
	return i < ev->nargs ? ev->args[i] : 0;
}

static void holder_event(struct report *r, struct hpass *h, struct hthr *t,
			 const struct ct_event *ev)
{
	uint64_t ts = ev->ts;
	unsigned type = ev->type & 127;
	if (!t->init) {
		t->init = 1;
		t->state = H_ON;
		t->origin = t->since = t->last = ts;
	}
	/* its state going into the interval (or in it) is known */
	for (int32_t k = t->first; k >= 0; k = h->iv[k].next)
		if (ts <= h->iv[k].to)
			h->iv[k].seen = 1;
	int major = type == CT_EV_FAULT && arg(ev, 0) == CT_FAULT_MAJOR && arg(ev, 1) == 1 &&
		    arg(ev, 2) != 0;
	int claimed = t->pend && major && ts - t->pend_to <= H_FAULT_WINDOW;
	pend_resolve(h, t, claimed);
	switch (type) {
	case CT_EV_WAIT_BEGIN:
		off_close(h, t, ts, 0);
		wait_close(h, t, ts);
		t->w.begin = ts;
		t->w.reason = (uint32_t)arg(ev, 0);
		t->w.object = arg(ev, 1);
		t->w.detail = arg(ev, 2);
		t->w.nfr = report_stack_ids(r, ev->stack, report_site_index(ev->stack), t->w.fr);
		t->w.open = 1;
		break;
	case CT_EV_WAIT_END:
		off_close(h, t, ts, 0);
		if (t->w.open)
			wait_close(h, t, ts);
		else if (ts > t->origin)
			/* a wait that began before what pass 3 read: not known which */
			piece(h, t, REPORT_ST_UNKNOWN, REPORT_STATES, t->origin, ts);
		break;
	case CT_EV_SCHED_OUT:
		if (t->state != H_ON)
			off_close(h, t, ts, 1);
		t->state = arg(ev, 0) == CT_SCHED_PREEMPTED ? H_PREEMPTED : H_BLOCKED;
		t->since = ts;
		t->fault = t->fault_ts && ts - t->fault_ts <= H_FAULT_WINDOW;
		t->fault_ts = 0;
		break;
	case CT_EV_SCHED_IN:
		if (t->state == H_ON) {
			if (!t->w.open)
				piece(h, t, REPORT_ST_UNKNOWN, REPORT_STATES, t->last, ts);
		} else {
			off_close(h, t, ts, 0);
		}
		t->state = H_ON;
		t->fault_ts = 0;
		break;
	case CT_EV_FAULT: {
		if (major && !claimed)
			t->fault_ts = ts;
		struct fault_arg fa = {arg(ev, 0), arg(ev, 1)};
		in_ivs(h, t, ts, add_fault, &fa);
		break;
	}
	case CT_EV_CPU_SAMPLE:
		if (ev->stack && ev->stack->nframes) {
			const char *fn = ev->stack->frames[0].function;
			uint32_t name =
				ptrcache_id(&r->pc, &r->names, fn && *fn ? fn : "(unknown)");
			in_ivs(h, t, ts, add_sample, &name);
		}
		break;
	case CT_EV_LOSS:
		if (t->state != H_ON) {
			off_close(h, t, ts, 1);
			t->state = H_ON;
		}
		break;
	case CT_EV_THREAD_END:
		off_close(h, t, ts, 1);
		t->state = H_ON;
		wait_close(h, t, ts);
		break;
	default:
		break;
	}
	t->last = ts > t->last ? ts : t->last;
}

/* ---- threads wanting a CPU ---- */

static void push(struct hpass *h, uint64_t ts, int64_t d)
{
	if (h->over)
		return;
	if (h->nd == h->capd) {
		uint64_t ncap = h->capd ? 2 * h->capd : 256;
		struct hdelta *n = ncap <= DELTAS_MAX ? realloc(h->d, ncap * sizeof(*n)) : NULL;
		if (!n) {
			h->over = 1;
			return;
		}
		h->d = n;
		h->capd = ncap;
	}
	h->d[h->nd++] = (struct hdelta){ts, d};
}

static void want(struct hpass *h, struct hthr *t, uint64_t ts, int w)
{
	if (!t->seen || t->gone || t->want == w)
		return;
	t->want = (uint8_t)w;
	push(h, ts, w ? 1 : -1);
}

static void conc_event(struct hpass *h, const struct rthread *rt, struct hthr *t,
		       const struct ct_event *ev)
{
	if (rt->pseudo)
		return;
	uint64_t ts = ev->ts;
	if (t->gen_stamp != h->serial) {
		t->gen_stamp = h->serial;
		if (!t->seen) {
			t->seen = t->want = 1;
			push(h, ts, 1);
		} else if (t->want && !t->gone) {
			push(h, h->gmin, 1);
		}
	}
	switch (ev->type & 127) {
	case CT_EV_SCHED_OUT:
		want(h, t, ts, arg(ev, 0) == CT_SCHED_PREEMPTED);
		break;
	case CT_EV_SCHED_IN:
		want(h, t, ts, 1);
		break;
	case CT_EV_THREAD_END:
		want(h, t, ts, 0);
		t->gone = 1;
		break;
	default:
		break;
	}
}

static int cmp_hdelta(const void *a, const void *b)
{
	const struct hdelta *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->d > y->d) - (x->d < y->d);
}

/* Ends a generation's sweep: levels over the concurrency intervals. */
static void conc_gen_end(struct report *r, struct hpass *h)
{
	if (!h->conc || !h->have_gen)
		return;
	for (uint32_t i = 0; i < h->nth; i++) {
		struct hthr *t = &h->th[i];
		if (r->threads[i].pseudo || !t->seen || t->gone || !t->want)
			continue;
		if (t->gen_stamp != h->serial) {
			if (t->exited) {
				t->gone = 1;
				continue;
			}
			push(h, h->gmin, 1);
		}
		push(h, h->gmax, -1);
	}
	if (h->over) {
		h->skipped++;
	} else if (h->nd) {
		qsort(h->d, h->nd, sizeof(*h->d), cmp_hdelta);
		int64_t level = 0;
		uint64_t prev = h->d[0].ts;
		for (uint64_t i = 0; i < h->nd; i++) {
			uint64_t ts = h->d[i].ts;
			if (ts > prev && level >= 0) {
				unsigned l = level < H_LEVELS ? (unsigned)level : H_LEVELS;
				for (uint32_t k = h->nhold; k < h->niv; k++) {
					struct hiv *v = &h->iv[k];
					uint64_t lo = prev > v->from ? prev : v->from;
					uint64_t hi = ts < v->to ? ts : v->to;
					if (hi > lo)
						v->lvl[l] += hi - lo;
				}
			}
			prev = ts;
			level += h->d[i].d;
		}
	}
	h->nd = 0;
	h->over = 0;
	h->serial++;
}

/* ---- driving ---- */

static void gap(struct report *r, struct hpass *h)
{
	/* Nothing skipped overlaps an interval: what was open ends where the
	 * last generation read ended. */
	for (uint32_t i = 0; i < h->nth; i++) {
		struct hthr *t = &h->th[i];
		if (t->init && t->first >= 0) {
			pend_resolve(h, t, 0);
			off_close(h, t, h->gmax, 1);
			wait_close(h, t, h->gmax);
		}
		int32_t first = t->first;
		memset(t, 0, sizeof(*t));
		t->first = first;
	}
	(void)r;
}

void report_holder_generation(struct report *r, const struct ct_generation *g)
{
	setup(r);
	struct hpass *h = r->h3;
	conc_gen_end(r, h);
	if (h->seq_set && g->seq != h->seq + 1)
		gap(r, h);
	h->seq = g->seq;
	h->seq_set = 1;
	h->have_gen = 1;
	h->gmin = g->min_ts;
	h->gmax = g->max_ts;
	/* as report_detail_generation: thread slots for this generation */
	ptrcache_reset(&r->pc);
	r->last_ti = NULL;
	r->gen = NULL;
	report_gen_slots(r, g->nthreads);
	for (uint32_t i = 0; i < g->nthreads; i++) {
		r->last_ti = NULL;
		r->gen_slots[i] = (uint32_t)(report_thread_of(r, &g->threads[i]) - r->threads);
		if (r->gen_slots[i] < h->nth)
			h->th[r->gen_slots[i]].exited = g->threads[i].exited != 0;
	}
	r->last_ti = NULL;
	r->gen = g;
}

void report_holder_event(struct report *r, const struct ct_event *ev)
{
	setup(r);
	struct hpass *h = r->h3;
	if (!h->niv)
		return;
	struct rthread *rt = report_thread_of(r, ev->thread);
	uint32_t slot = (uint32_t)(rt - r->threads);
	if (slot >= h->nth)
		return; /* a thread pass 1 did not see */
	struct hthr *t = &h->th[slot];
	if (h->conc)
		conc_event(h, rt, t, ev);
	if (t->first >= 0)
		holder_event(r, h, t, ev);
}

/* Ends pass 3 (from report_finish): open pieces end with the thread's last
 * event (a wait, with the trace), then the results. */
void holder_finish(struct report *r)
{
	struct hpass *h = r->h3;
	if (!h || !h->set || h->done)
		return;
	h->done = 1;
	conc_gen_end(r, h);
	for (uint32_t i = 0; i < h->nth; i++) {
		struct hthr *t = &h->th[i];
		if (!t->init || t->first < 0)
			continue;
		pend_resolve(h, t, 0);
		uint64_t end = t->w.open && r->res.last_ns > t->last ? r->res.last_ns : t->last;
		off_close(h, t, end, 0);
		pend_resolve(h, t, 0);
		wait_close(h, t, end);
	}
	for (uint32_t k = 0; k < h->nhold; k++) {
		const struct hiv *v = &h->iv[k];
		struct report_holding *o = &r->res.slow[v->si].longest[v->wi].holding;
		memset(o, 0, sizeof(*o));
		o->known = v->seen;
		o->from_ns = v->from;
		o->to_ns = v->to;
		uint64_t rest = 0;
		for (unsigned s = 1; s < REPORT_STATES; s++) {
			o->states.ns[s] = v->st[s] > 0 ? (uint64_t)v->st[s] : 0;
			rest += o->states.ns[s];
		}
		uint64_t len = v->to - v->from;
		o->states.ns[REPORT_ST_RUNNING] = len > rest ? len - rest : 0;
		for (unsigned s = 0; s < REPORT_STATES; s++)
			if (o->states.ns[s] > o->state_ns) {
				o->state = s;
				o->state_ns = o->states.ns[s];
			}
		if (o->state != REPORT_ST_RUNNING && v->best[o->state].ns) {
			o->reason = v->best[o->state].reason;
			o->object = v->best[o->state].object;
			o->detail = v->best[o->state].detail;
			o->wait_ns = v->best[o->state].ns;
			o->mixed = v->mixed[o->state];
			o->nframes = v->best[o->state].nfr;
			report_sites_of(r, v->best[o->state].fr, o->nframes, o->frames);
			if (o->nframes)
				o->site = o->frames[0];
		}
		if (!o->site.function)
			o->site = (struct report_site){"", "", 0};
		o->samples = v->samples;
		for (uint32_t f = 0; f < v->nfn; f++)
			if (v->fn[f].n > o->function_samples) {
				o->function_samples = v->fn[f].n;
				o->function = r->names.strs[v->fn[f].name];
			}
		o->faults_minor = v->minor;
		o->faults_major = v->major;
	}
	for (uint32_t k = h->nhold; k < h->niv && !h->skipped; k++) {
		const struct hiv *v = &h->iv[k];
		struct report_task *p = &r->res.slow[v->si];
		uint64_t total = 0;
		for (unsigned l = 0; l <= H_LEVELS; l++) {
			total += v->lvl[l];
			if (v->lvl[l])
				p->conc_peak = l;
		}
		if (!total)
			continue;
		uint64_t above = total;
		for (unsigned l = 0; l <= H_LEVELS; l++) {
			above -= v->lvl[l];
			if (above * 2 <= total) {
				p->conc_p50 = l;
				break;
			}
		}
		p->conc_ns = total;
		p->conc_measured = 1;
		/* over the limit: filled by cpu_finish's cpus_allowed */
		double lim = r->res.cpu.cpus_allowed;
		for (unsigned l = 0; lim > 0 && l <= H_LEVELS; l++)
			if ((double)l > lim)
				p->conc_over_ns += v->lvl[l];
	}
}

void holder_free(struct report *r)
{
	struct hpass *h = r->h3;
	if (!h)
		return;
	for (uint32_t k = 0; k < h->niv; k++)
		free(h->iv[k].lvl);
	free(h->iv);
	free(h->th);
	free(h->want_gen);
	free(h->spans);
	free(h->d);
	free(h);
	r->h3 = NULL;
}
