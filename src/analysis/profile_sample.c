/* Blocking profiles, the samples: a stack as pprof locations (cached per
 * generation), the synthetic frames that stand in for a missing stack, the
 * labels, and one pprof sample per wait, interval or CPU sample. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "analysis/profile_int.h"
#include "analysis/report.h"

/* ---- stacks ---- */

static int origin_push(struct origin *o, uint64_t loc)
{
	if (!loc)
		return -ENOMEM; /* pprof_location failed: remembered by the pprof too */
	if (GROW32(o->locs, o->cap, o->nlocs + 1))
		return -ENOMEM;
	o->locs[o->nlocs++] = loc;
	return 0;
}

/* The locations of a stack, cached per generation. Frames that share a pc
 * (inlined ones) are one location; a module becomes a mapping. */
const uint64_t *pf_stack_locs(struct profile *pr, const struct ct_stack *s, uint32_t *n)
{
	uint64_t *slot = u64map_find(&pr->gstacks, (uint64_t)s->id + 1);
	if (slot) {
		*n = (uint32_t)pr->gpool[*slot - 1];
		return &pr->gpool[*slot];
	}
	size_t at = pr->ngpool;
	if (GROW(pr->gpool, pr->gpool_cap, at + 1 + s->nframes))
		return NULL;
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->nframes;) {
		uint32_t j = i;
		while (j + 1 < s->nframes && s->frames[j].inlined &&
		       s->frames[j + 1].pc == s->frames[i].pc)
			j++;
		struct pprof_line lines[16];
		int nl = 0;
		for (uint32_t f = i; f <= j && nl < 16; f++)
			lines[nl++] = (struct pprof_line){s->frames[f].function, s->frames[f].file,
							  s->frames[f].line};
		const char *mod = s->frames[i].module;
		/* The reader gives a module's path, not its address range: the
		 * mapping only names the file (pprof needs no range when the
		 * locations carry their functions). */
		uint64_t m = mod && *mod ? pprof_mapping(pr->pp, 0, 0, 0, mod, NULL, 0) : 0;
		uint64_t loc = pprof_location(pr->pp, s->frames[i].pc, m, lines, nl);
		if (!loc)
			return NULL;
		pr->gpool[at + 1 + k++] = loc;
		i = j + 1;
	}
	pr->gpool[at] = k;
	pr->ngpool = at + 1 + k;
	int created;
	slot = u64map_put(&pr->gstacks, (uint64_t)s->id + 1, &created);
	if (!slot)
		return NULL;
	*slot = at + 1;
	*n = k;
	return &pr->gpool[at + 1];
}

enum { SYN_REGION = 1, SYN_TASK, SYN_THREAD };

/* A frame that names what the thread was doing: "[region parse]". */
static uint64_t synth_loc(struct profile *pr, int kind, uint32_t name)
{
	int created;
	uint64_t *slot = u64map_put(&pr->synth, ((uint64_t)kind << 32 | name) + 1, &created);
	if (!slot)
		return 0;
	if (!created)
		return *slot;
	static const char *const what[] = {"", "region", "task", "thread"};
	char buf[300];
	snprintf(buf, sizeof(buf), "[%s %s]", what[kind], pr->names.strs[name]);
	struct pprof_line ln = {buf, NULL, 0};
	*slot = pprof_location(pr->pp, 0, 0, &ln, 1);
	if (!*slot) { /* do not cache the failure */
		*slot = 0;
		return 0;
	}
	return *slot;
}

/* The thread's regions (innermost first), task type and name as frames,
 * below what o already holds. */
int pf_synth_chain(struct profile *pr, const struct pthr *t, struct origin *o)
{
	uint32_t kept = t->depth < REGIONS_MAX ? t->depth : REGIONS_MAX;
	for (uint32_t i = kept; i-- > 0;)
		if (origin_push(o, synth_loc(pr, SYN_REGION, t->regions[i])))
			return -ENOMEM;
	if (o->task && origin_push(o, synth_loc(pr, SYN_TASK, o->task)))
		return -ENOMEM;
	return origin_push(
		o, synth_loc(pr, SYN_THREAD, *pr->names.strs[t->name] ? t->name : t->label));
}

static uint32_t current_task(const struct pthr *t)
{
	return t->ntasks ? t->tasks[t->ntasks - 1].type : 0;
}

static uint32_t current_region(const struct pthr *t)
{
	if (!t->depth)
		return 0;
	return t->regions[(t->depth < REGIONS_MAX ? t->depth : REGIONS_MAX) - 1];
}

/* Fills o with the moment's labels and the filters' verdict. */
void pf_origin_here(const struct profile *pr, const struct pthr *t, struct origin *o)
{
	o->nlocs = 0;
	o->task = current_task(t);
	o->region = current_region(t);
	o->keep = t->match;
	if (pr->o.task_type)
		o->keep &= o->task && strcmp(pr->names.strs[o->task], pr->o.task_type) == 0;
}

/* o's stack: the event's (or stack's) frames, else the synthetic chain. */
int pf_origin_stack(struct profile *pr, const struct pthr *t, const struct ct_stack *s,
		    struct origin *o)
{
	if (s && s->nframes) {
		uint32_t n;
		const uint64_t *locs = pf_stack_locs(pr, s, &n);
		if (!locs || GROW32(o->locs, o->cap, n))
			return -ENOMEM;
		memcpy(o->locs, locs, n * sizeof(*locs));
		o->nlocs = n;
		if (n)
			return 0;
	}
	return pf_synth_chain(pr, t, o);
}

/* ---- samples ---- */

/* Clips [*b, *e] to the window. An instant counts when it is inside. */
static int in_window(const struct profile *pr, uint64_t *b, uint64_t *e)
{
	uint64_t lo = pr->st.start_ns + pr->o.from_ns;
	uint64_t hi = pr->o.has_to ? pr->st.start_ns + pr->o.to_ns : UINT64_MAX;
	if (*b == *e)
		return *b >= lo && *b < hi;
	if (*b < lo)
		*b = lo;
	if (*e > hi)
		*e = hi;
	return *e > *b;
}

struct labels {
	struct pprof_label l[10];
	int n;
	char holder[320];
};

static void lab(struct labels *L, const char *key, const char *val)
{
	if (val && *val)
		L->l[L->n++] = (struct pprof_label){key, val, 0, NULL};
}

static void common_labels(const struct profile *pr, struct labels *L, uint32_t thread_label,
			  uint32_t task, uint32_t region, int unfinished)
{
	lab(L, "thread", pr->names.strs[thread_label]);
	if (task)
		lab(L, "task", pr->names.strs[task]);
	if (region)
		lab(L, "region", pr->names.strs[region]);
	if (unfinished)
		lab(L, "unfinished", "true");
}

static int add(struct profile *pr, const struct origin *o, int64_t count, int64_t ns,
	       struct labels *L)
{
	int64_t v[2] = {count, ns};
	int rc = pprof_add_sample(pr->pp, o->locs, (int)o->nlocs, v, L->l, L->n);
	if (rc)
		return rc;
	pr->st.samples++;
	pr->st.total_ns += (uint64_t)ns;
	return 0;
}

static const char *call_name(uint64_t call)
{
	static const char *const names[] = {"",	      "read",	 "write", "recv", "send",
					    "accept", "connect", "fsync", "open", "close"};
	return call < sizeof(names) / sizeof(names[0]) ? names[call] : "";
}

static const char *fd_kind(uint32_t reason)
{
	switch (reason) {
	case CT_WAIT_NET:
		return "socket";
	case CT_WAIT_FILE:
		return "file";
	case CT_WAIT_PIPE:
		return "pipe";
	case CT_WAIT_OTHER_FD:
		return "other";
	default:
		return NULL;
	}
}

int pf_is_fd_wait(uint32_t reason)
{
	return fd_kind(reason) != NULL;
}

int pf_holder_reason(uint32_t reason)
{
	return reason == CT_WAIT_MUTEX || reason == CT_WAIT_RWLOCK_READ ||
	       reason == CT_WAIT_RWLOCK_WRITE || reason == CT_WAIT_JOIN;
}

/* The wait of thread t from t->wbegin to end, as one sample. */
int pf_wait_sample(struct profile *pr, struct pthr *t, uint64_t end, int unfinished)
{
	uint64_t b = t->wbegin, e = end < b ? b : end;
	if (!t->w.keep || !in_window(pr, &b, &e)) {
		pr->st.filtered++;
		return 0;
	}
	if (unfinished)
		pr->st.unfinished++;
	struct labels L = {.n = 0};
	lab(&L, "reason", report_wait_reason_name(t->wreason));
	if (pr->o.type == PROFILE_SYNC && pf_holder_reason(t->wreason) && t->wdetail) {
		const char *key = t->wreason == CT_WAIT_JOIN ? "joined" : "holder";
		/* Resolved now if the holder is a thread seen since the begin. */
		struct pthr *h =
			t->wholder ? &pr->th[t->wholder - 1] : pf_thread_by_tid(pr, t->wdetail);
		if (h) {
			lab(&L, key, pr->names.strs[h->label]);
		} else {
			if (pr->npend >= PENDING_MAX) {
				snprintf(L.holder, sizeof(L.holder), "tid %" PRIu64, t->wdetail);
				lab(&L, key, L.holder);
			} else {
				if (GROW(pr->pend, pr->pend_cap, pr->npend + 1) ||
				    GROW(pr->ppool, pr->ppool_cap, pr->nppool + t->w.nlocs))
					return -ENOMEM;
				pr->pend[pr->npend++] = (struct pending){
					t->wdetail, {1, (int64_t)(e - b)}, t->wreason, t->label,
					t->w.task,  t->w.region,	   unfinished, pr->nppool,
					t->w.nlocs};
				memcpy(pr->ppool + pr->nppool, t->w.locs,
				       t->w.nlocs * sizeof(*t->w.locs));
				pr->nppool += t->w.nlocs;
				pr->st.samples++;
				pr->st.total_ns += e - b;
				return 0;
			}
		}
	}
	if (pr->o.type != PROFILE_SYNC) {
		if (pf_is_fd_wait(t->wreason))
			lab(&L, "call", call_name(t->wdetail));
		lab(&L, "fd_kind", fd_kind(t->wreason));
	}
	common_labels(pr, &L, t->label, t->w.task, t->w.region, unfinished);
	return add(pr, &t->w, 1, (int64_t)(e - b), &L);
}

int pf_interval_sample(struct profile *pr, struct pthr *t, uint64_t end, int unfinished)
{
	uint64_t b = t->obegin, e = end < b ? b : end;
	if (!t->o.keep || !in_window(pr, &b, &e)) {
		pr->st.filtered++;
		return 0;
	}
	if (unfinished)
		pr->st.unfinished++;
	struct labels L = {.n = 0};
	lab(&L, "source", "perf");
	pr->st.perf++;
	common_labels(pr, &L, t->label, t->o.task, t->o.region, unfinished);
	return add(pr, &t->o, 1, (int64_t)(e - b), &L);
}

int pf_sched_sample(struct profile *pr, struct pthr *t, const struct ct_event *ev)
{
	uint64_t runnable = ev->nargs > 0 ? ev->args[0] : 0;
	uint64_t b = ev->ts, e = ev->ts;
	if (!runnable)
		return 0;
	struct origin *o = &t->o;
	if (t->oopen) /* a perf interval is open: do not disturb it */
		return 0;
	pf_origin_here(pr, t, o);
	if (!o->keep || !in_window(pr, &b, &e)) {
		pr->st.filtered++;
		return 0;
	}
	if (pf_synth_chain(pr, t, o))
		return -ENOMEM;
	struct labels L = {.n = 0};
	lab(&L, "source", "schedstat");
	pr->st.schedstat++;
	common_labels(pr, &L, t->label, o->task, o->region, 0);
	return add(pr, o, 1, (int64_t)runnable, &L);
}

int pf_cpu_sample(struct profile *pr, struct pthr *t, const struct ct_event *ev)
{
	uint64_t weight = ev->nargs > 0 ? ev->args[0] : 0;
	if (pr->o.type == PROFILE_SCHED) {
		/* Kept for the next preemption. */
		pf_origin_here(pr, t, &t->c);
		t->c.nlocs = 0;
		t->cfresh = 0;
		if (ev->stack && ev->stack->nframes) {
			uint32_t n;
			const uint64_t *locs = pf_stack_locs(pr, ev->stack, &n);
			if (!locs || GROW32(t->c.locs, t->c.cap, n))
				return -ENOMEM;
			memcpy(t->c.locs, locs, n * sizeof(*locs));
			t->c.nlocs = n;
			t->cfresh = 1;
		}
		return 0;
	}
	if (pr->o.type != PROFILE_CPU)
		return 0;
	uint64_t b = ev->ts, e = ev->ts;
	struct origin *o = &t->c;
	pf_origin_here(pr, t, o);
	if (!o->keep || !in_window(pr, &b, &e)) {
		pr->st.filtered++;
		return 0;
	}
	if (pf_origin_stack(pr, t, ev->stack, o))
		return -ENOMEM;
	struct labels L = {.n = 0};
	common_labels(pr, &L, t->label, o->task, o->region, 0);
	return add(pr, o, 1, (int64_t)weight, &L);
}

/* A holder in no thread table of the trace (it recorded no event), named
 * "main thread (tid)" when its tid is the process id. */
int pf_add_pending(struct profile *pr, uint64_t pid)
{
	for (size_t i = 0; i < pr->npend; i++) {
		const struct pending *p = &pr->pend[i];
		struct labels L = {.n = 0};
		lab(&L, "reason", report_wait_reason_name(p->reason));
		const char *key = p->reason == CT_WAIT_JOIN ? "joined" : "holder";
		struct pthr *h = pf_thread_by_tid(pr, p->holder_tid);
		if (h)
			lab(&L, key, pr->names.strs[h->label]);
		else {
			snprintf(L.holder, sizeof(L.holder),
				 p->holder_tid == pid ? "main thread (%" PRIu64 ")"
						      : "tid %" PRIu64,
				 p->holder_tid);
			lab(&L, key, L.holder);
		}
		common_labels(pr, &L, p->thread_label, p->task, p->region, p->unfinished);
		int rc = pprof_add_sample(pr->pp, pr->ppool + p->locs, (int)p->nlocs, p->values,
					  L.l, L.n);
		if (rc)
			return rc;
	}
	pr->npend = 0;
	return 0;
}
