/* Blocking profiles: follows each thread (its tasks, regions, open wait,
 * scheduler state and latest CPU sample) and adds one pprof sample per
 * wait, runnable interval or CPU sample the profile type asks for. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/profile.h"
#include "analysis/report.h"
#include "analysis/table.h"

#define NAMES_MAX   (1u << 20) /* distinct strings kept (names, labels) */
#define REGIONS_MAX 64u	       /* open regions remembered per thread, outermost first */
#define PENDING_MAX (1u << 20) /* samples held back for a holder named later */

static const char *const type_names[PROFILE_NTYPES] = {"sync", "syscall", "net", "sched", "cpu"};

const char *profile_type_name(enum profile_type t)
{
	return (unsigned)t < PROFILE_NTYPES ? type_names[t] : "?";
}

int profile_type_parse(const char *s, enum profile_type *t)
{
	for (int i = 0; i < PROFILE_NTYPES; i++)
		if (s && strcmp(s, type_names[i]) == 0) {
			*t = (enum profile_type)i;
			return 0;
		}
	return -1;
}

/* Where a wait or an interval began: its stack (pprof location ids, leaf
 * first) and the labels of that moment. */
struct origin {
	uint64_t *locs;
	uint32_t nlocs, cap;
	uint32_t task;	 /* task type (name id), 0: none or unknown */
	uint32_t region; /* innermost open region (name id), 0: none */
	int keep;	 /* passed the thread and task filters */
};

struct task_ref {
	uint64_t id;
	uint32_t type;
};

struct pthr {
	uint32_t index, tid;
	uint32_t name, label; /* name ids: "name", "name (tid)" */
	int exited, match;    /* match: passes the thread filter */
	struct task_ref *tasks;
	uint32_t ntasks, tasks_cap;
	uint32_t regions[REGIONS_MAX];
	uint32_t depth; /* open regions, may exceed REGIONS_MAX */
	/* The open wait. */
	int wopen;
	uint64_t wbegin, wdetail;
	uint32_t wreason;
	uint32_t wholder; /* thread slot + 1 of the holder/joined thread, 0 unknown */
	struct origin w;
	/* The open preempted interval (sched). */
	int oopen;
	uint64_t obegin;
	struct origin o;
	/* The latest CPU sample's stack, while the thread has neither blocked
	 * nor recorded an event of its own since (sched attribution). */
	struct origin c;
	int cfresh;
};

/* A sync sample whose holder tid named no thread yet: added at the end. */
struct pending {
	uint64_t holder_tid;
	int64_t values[2];
	uint32_t reason, thread_label, task, region;
	int unfinished;
	size_t locs;
	uint32_t nlocs;
};

struct profile {
	struct profile_options o;
	struct pprof *pp;
	struct profile_stats st;
	int have_start;
	int64_t realtime_offset;

	struct strtab names;
	struct pthr *th;
	uint32_t nth, th_cap;
	struct u64map th_slot;	/* thread index + 1 -> slot */
	struct u64map tid_slot; /* tid + 1 -> slot: the live thread with that tid */
	struct taskmap tasks;	/* task id -> type, while open */

	/* This generation's stacks as location ids: stack id -> offset + 1 in
	 * gpool, where [n, loc...] is stored. */
	struct u64map gstacks;
	uint64_t *gpool;
	size_t ngpool, gpool_cap;
	struct u64map synth; /* (kind << 32 | name id) + 1 -> location id */

	struct pending *pend;
	size_t npend, pend_cap;
	uint64_t *ppool;
	size_t nppool, ppool_cap;
	int finished;
};

static int grow(void **p, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elsz);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}
#define GROW(p, cap, need) grow((void **)&(p), &(cap), (need), sizeof(*(p)))

static int grow32(void **p, uint32_t *cap, uint32_t need, size_t elsz)
{
	size_t c = *cap;
	int rc = grow(p, &c, need, elsz);
	*cap = (uint32_t)c;
	return rc;
}
#define GROW32(p, cap, need) grow32((void **)&(p), &(cap), (need), sizeof(*(p)))

void profile_sample_types(enum profile_type t, const char *types[2], const char *units[2])
{
	static const char *const count[PROFILE_NTYPES] = {"contentions", "waits", "waits", "delays",
							  "samples"};
	static const char *const time[PROFILE_NTYPES] = {"delay", "delay", "delay", "runnable",
							 "cpu"};
	types[0] = count[t];
	types[1] = time[t];
	units[0] = "count";
	units[1] = "nanoseconds";
}

struct profile *profile_new(const struct profile_options *o)
{
	if ((unsigned)o->type >= PROFILE_NTYPES)
		return NULL;
	struct profile *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->o = *o;
	const char *types[2], *units[2];
	profile_sample_types(o->type, types, units);
	pr->pp = pprof_new(types, units, 2);
	if (!pr->pp || strtab_init(&pr->names, "", NAMES_MAX, "(other)") < 0 ||
	    u64map_init(&pr->th_slot) < 0 || u64map_init(&pr->tid_slot) < 0 ||
	    taskmap_init(&pr->tasks) < 0 || u64map_init(&pr->gstacks) < 0 ||
	    u64map_init(&pr->synth) < 0) {
		profile_free(pr);
		return NULL;
	}
	pprof_set_default_sample_type(pr->pp, types[1]);
	if (o->type != PROFILE_CPU)
		pprof_set_period(pr->pp, types[0], "count", 1);
	return pr;
}

void profile_free(struct profile *pr)
{
	if (!pr)
		return;
	for (uint32_t i = 0; i < pr->nth; i++) {
		free(pr->th[i].tasks);
		free(pr->th[i].w.locs);
		free(pr->th[i].o.locs);
		free(pr->th[i].c.locs);
	}
	free(pr->th);
	pprof_free(pr->pp);
	strtab_free(&pr->names);
	if (pr->th_slot.keys)
		u64map_free(&pr->th_slot);
	if (pr->tid_slot.keys)
		u64map_free(&pr->tid_slot);
	if (pr->tasks.slots)
		taskmap_free(&pr->tasks);
	if (pr->gstacks.keys)
		u64map_free(&pr->gstacks);
	if (pr->synth.keys)
		u64map_free(&pr->synth);
	free(pr->gpool);
	free(pr->pend);
	free(pr->ppool);
	free(pr);
}

/* ---- threads ---- */

static int thread_matches(const struct profile *pr, const struct pthr *t)
{
	const char *want = pr->o.thread;
	if (!want)
		return 1;
	if (strcmp(pr->names.strs[t->name], want) == 0)
		return 1;
	char tid[16];
	snprintf(tid, sizeof(tid), "%" PRIu32, t->tid);
	return strcmp(tid, want) == 0;
}

/* Names the thread (and its label "name (tid)") after the trace's table. */
static void thread_name(struct profile *pr, struct pthr *t, const char *name, uint32_t tid)
{
	uint32_t id = strtab_intern(&pr->names, name ? name : "");
	if (id == t->name && tid == t->tid && t->label)
		return;
	t->name = id;
	t->tid = tid;
	char buf[320];
	if (*pr->names.strs[id])
		snprintf(buf, sizeof(buf), "%s (%" PRIu32 ")", pr->names.strs[id], tid);
	else
		snprintf(buf, sizeof(buf), "tid %" PRIu32, tid);
	t->label = strtab_intern(&pr->names, buf);
	t->match = thread_matches(pr, t);
}

/* The state of a thread of the trace, created on first sight. Pointers
 * into pr->th stay valid only until the next thread is created. */
static struct pthr *thread_of(struct profile *pr, const struct ct_thread_info *ti)
{
	uint64_t *slot = u64map_find(&pr->th_slot, (uint64_t)ti->index + 1);
	if (slot) {
		struct pthr *t = &pr->th[*slot];
		if (t->tid != ti->tid)
			thread_name(pr, t, ti->name, ti->tid);
		return t;
	}
	int created;
	if (GROW32(pr->th, pr->th_cap, pr->nth + 1) ||
	    !(slot = u64map_put(&pr->th_slot, (uint64_t)ti->index + 1, &created)))
		return NULL;
	*slot = pr->nth;
	struct pthr *t = &pr->th[pr->nth++];
	memset(t, 0, sizeof(*t));
	t->index = ti->index;
	thread_name(pr, t, ti->name, ti->tid);
	return t;
}

/* tid -> the thread that has it now: a live one wins over an exited one. */
static int note_tid(struct profile *pr, struct pthr *t)
{
	if (t->tid == 0)
		return 0;
	int created;
	uint64_t *slot = u64map_put(&pr->tid_slot, (uint64_t)t->tid + 1, &created);
	if (!slot)
		return -ENOMEM;
	uint64_t me = (uint64_t)(t - pr->th) + 1;
	if (created || *slot == me || !t->exited || pr->th[*slot - 1].exited)
		*slot = me;
	return 0;
}

static struct pthr *thread_by_tid(const struct profile *pr, uint64_t tid)
{
	uint64_t *slot = tid ? u64map_find(&pr->tid_slot, tid + 1) : NULL;
	return slot ? &pr->th[*slot - 1] : NULL;
}

int profile_generation(struct profile *pr, const struct ct_generation *g)
{
	pr->st.generations++;
	if (g->nevents && (!pr->have_start || g->min_ts < pr->st.start_ns)) {
		if (!pr->have_start)
			pr->realtime_offset = g->realtime_offset_ns;
		pr->have_start = 1;
		pr->st.start_ns = g->min_ts;
	}
	if (g->nevents && g->max_ts > pr->st.end_ns)
		pr->st.end_ns = g->max_ts;
	/* Stack ids are per generation. */
	u64map_free(&pr->gstacks);
	if (u64map_init(&pr->gstacks) < 0)
		return -ENOMEM;
	pr->ngpool = 0;
	for (uint32_t i = 0; i < g->nthreads; i++) {
		struct pthr *t = thread_of(pr, &g->threads[i]);
		if (!t)
			return -ENOMEM;
		/* A thread may rename itself: each table has its current name. */
		thread_name(pr, t, g->threads[i].name, g->threads[i].tid);
		t->exited = (int)g->threads[i].exited;
		if (note_tid(pr, t))
			return -ENOMEM;
	}
	return 0;
}

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
static const uint64_t *stack_locs(struct profile *pr, const struct ct_stack *s, uint32_t *n)
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
static int synth_chain(struct profile *pr, const struct pthr *t, struct origin *o)
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
static void origin_here(const struct profile *pr, const struct pthr *t, struct origin *o)
{
	o->nlocs = 0;
	o->task = current_task(t);
	o->region = current_region(t);
	o->keep = t->match;
	if (pr->o.task_type)
		o->keep &= o->task && strcmp(pr->names.strs[o->task], pr->o.task_type) == 0;
}

/* o's stack: the event's (or stack's) frames, else the synthetic chain. */
static int origin_stack(struct profile *pr, const struct pthr *t, const struct ct_stack *s,
			struct origin *o)
{
	if (s && s->nframes) {
		uint32_t n;
		const uint64_t *locs = stack_locs(pr, s, &n);
		if (!locs || GROW32(o->locs, o->cap, n))
			return -ENOMEM;
		memcpy(o->locs, locs, n * sizeof(*locs));
		o->nlocs = n;
		if (n)
			return 0;
	}
	return synth_chain(pr, t, o);
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

static int is_fd_wait(uint32_t reason)
{
	return fd_kind(reason) != NULL;
}

/* Whether this profile counts waits of that reason. */
static int wants_wait(const struct profile *pr, uint32_t reason)
{
	switch (pr->o.type) {
	case PROFILE_SYNC:
		switch (reason) {
		case CT_WAIT_MUTEX:
		case CT_WAIT_RWLOCK_READ:
		case CT_WAIT_RWLOCK_WRITE:
		case CT_WAIT_SEMAPHORE:
		case CT_WAIT_JOIN:
		case CT_WAIT_BARRIER:
			return 1;
		case CT_WAIT_CONDVAR:
			return pr->o.include_idle;
		default:
			return 0;
		}
	case PROFILE_SYSCALL:
		return reason == CT_WAIT_SLEEP || reason == CT_WAIT_POLL || is_fd_wait(reason);
	case PROFILE_NET:
		return reason == CT_WAIT_NET;
	default:
		return 0;
	}
}

static int holder_reason(uint32_t reason)
{
	return reason == CT_WAIT_MUTEX || reason == CT_WAIT_RWLOCK_READ ||
	       reason == CT_WAIT_RWLOCK_WRITE || reason == CT_WAIT_JOIN;
}

/* The wait of thread t from t->wbegin to end, as one sample. */
static int wait_sample(struct profile *pr, struct pthr *t, uint64_t end, int unfinished)
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
	if (pr->o.type == PROFILE_SYNC && holder_reason(t->wreason) && t->wdetail) {
		const char *key = t->wreason == CT_WAIT_JOIN ? "joined" : "holder";
		/* Resolved now if the holder is a thread seen since the begin. */
		struct pthr *h =
			t->wholder ? &pr->th[t->wholder - 1] : thread_by_tid(pr, t->wdetail);
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
		if (is_fd_wait(t->wreason))
			lab(&L, "call", call_name(t->wdetail));
		lab(&L, "fd_kind", fd_kind(t->wreason));
	}
	common_labels(pr, &L, t->label, t->w.task, t->w.region, unfinished);
	return add(pr, &t->w, 1, (int64_t)(e - b), &L);
}

static int interval_sample(struct profile *pr, struct pthr *t, uint64_t end, int unfinished)
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
	common_labels(pr, &L, t->label, t->o.task, t->o.region, unfinished);
	return add(pr, &t->o, 1, (int64_t)(e - b), &L);
}

/* ---- events ---- */

static void drop_task(struct pthr *t, uint64_t id)
{
	for (uint32_t i = t->ntasks; i-- > 0;)
		if (t->tasks[i].id == id) {
			memmove(&t->tasks[i], &t->tasks[i + 1],
				(t->ntasks - i - 1) * sizeof(*t->tasks));
			t->ntasks--;
			return;
		}
}

static int push_task(struct pthr *t, uint64_t id, uint32_t type)
{
	if (GROW32(t->tasks, t->tasks_cap, t->ntasks + 1))
		return -ENOMEM;
	t->tasks[t->ntasks++] = (struct task_ref){id, type};
	return 0;
}

/* Events that show the thread ran its own code since a CPU sample. */
static int own_event(uint8_t type)
{
	return type <= CT_EV_WAIT_END;
}

static int on_wait_begin(struct profile *pr, struct pthr *t, const struct ct_event *ev)
{
	uint32_t reason = ev->nargs > 0 ? (uint32_t)ev->args[0] : 0;
	if (t->wopen) /* waits do not nest: the previous one's end was lost */
		pr->st.unmatched++;
	t->wopen = 0;
	if (!wants_wait(pr, reason)) {
		if (pr->o.type == PROFILE_SYNC && reason == CT_WAIT_CONDVAR)
			pr->st.idle++;
		return 0;
	}
	t->wopen = 1;
	t->wbegin = ev->ts;
	t->wreason = reason;
	t->wdetail = ev->nargs > 2 ? ev->args[2] : 0;
	t->wholder = 0;
	if (pr->o.type == PROFILE_SYNC && holder_reason(reason)) {
		struct pthr *h = thread_by_tid(pr, t->wdetail);
		t->wholder = h ? (uint32_t)(h - pr->th) + 1 : 0;
	}
	origin_here(pr, t, &t->w);
	return t->w.keep ? origin_stack(pr, t, ev->stack, &t->w) : 0;
}

static int on_sched_out(struct profile *pr, struct pthr *t, const struct ct_event *ev)
{
	uint64_t state = ev->nargs > 0 ? ev->args[0] : 0;
	if (t->oopen)
		pr->st.unmatched++;
	t->oopen = 0;
	if (state != CT_SCHED_PREEMPTED) {
		t->cfresh = 0; /* it blocked: it will resume elsewhere */
		return 0;
	}
	t->oopen = 1;
	t->obegin = ev->ts;
	origin_here(pr, t, &t->o);
	if (!t->o.keep)
		return 0;
	if (t->cfresh && t->c.nlocs) {
		if (GROW32(t->o.locs, t->o.cap, t->c.nlocs))
			return -ENOMEM;
		memcpy(t->o.locs, t->c.locs, t->c.nlocs * sizeof(*t->c.locs));
		t->o.nlocs = t->c.nlocs;
	}
	return synth_chain(pr, t, &t->o);
}

static int on_sched_sample(struct profile *pr, struct pthr *t, const struct ct_event *ev)
{
	uint64_t runnable = ev->nargs > 0 ? ev->args[0] : 0;
	uint64_t b = ev->ts, e = ev->ts;
	if (!runnable)
		return 0;
	struct origin *o = &t->o;
	if (t->oopen) /* a perf interval is open: do not disturb it */
		return 0;
	origin_here(pr, t, o);
	if (!o->keep || !in_window(pr, &b, &e)) {
		pr->st.filtered++;
		return 0;
	}
	if (synth_chain(pr, t, o))
		return -ENOMEM;
	struct labels L = {.n = 0};
	lab(&L, "source", "schedstat");
	common_labels(pr, &L, t->label, o->task, o->region, 0);
	return add(pr, o, 1, (int64_t)runnable, &L);
}

static int on_cpu_sample(struct profile *pr, struct pthr *t, const struct ct_event *ev)
{
	uint64_t weight = ev->nargs > 0 ? ev->args[0] : 0;
	if (pr->o.type == PROFILE_SCHED) {
		/* Kept for the next preemption. */
		origin_here(pr, t, &t->c);
		t->c.nlocs = 0;
		t->cfresh = 0;
		if (ev->stack && ev->stack->nframes) {
			uint32_t n;
			const uint64_t *locs = stack_locs(pr, ev->stack, &n);
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
	origin_here(pr, t, o);
	if (!o->keep || !in_window(pr, &b, &e)) {
		pr->st.filtered++;
		return 0;
	}
	if (origin_stack(pr, t, ev->stack, o))
		return -ENOMEM;
	struct labels L = {.n = 0};
	common_labels(pr, &L, t->label, o->task, o->region, 0);
	return add(pr, o, 1, (int64_t)weight, &L);
}

int profile_event(struct profile *pr, const struct ct_event *ev)
{
	pr->st.events++;
	if (!ev->thread)
		return 0;
	struct pthr *t = thread_of(pr, ev->thread);
	if (!t)
		return -ENOMEM;
	if (own_event(ev->type))
		t->cfresh = 0;
	uint64_t a0 = ev->nargs > 0 ? ev->args[0] : 0;
	switch (ev->type) {
	case CT_EV_TASK_BEGIN: {
		uint32_t type = strtab_intern(&pr->names, ev->strs[1] ? ev->strs[1] : "");
		int created;
		struct open_task *ot = taskmap_put(&pr->tasks, a0, &created);
		if (!ot)
			return -ENOMEM;
		ot->type = type;
		return push_task(t, a0, type);
	}
	case CT_EV_TASK_ENTER: {
		struct open_task *ot = taskmap_find(&pr->tasks, a0);
		drop_task(t, a0);
		return push_task(t, a0, ot ? ot->type : 0);
	}
	case CT_EV_TASK_END: {
		struct open_task *ot = taskmap_find(&pr->tasks, a0);
		if (ot)
			taskmap_del(&pr->tasks, ot);
		drop_task(t, a0);
		return 0;
	}
	case CT_EV_TASK_LEAVE:
		drop_task(t, a0);
		return 0;
	case CT_EV_REGION_BEGIN:
		if (t->depth < REGIONS_MAX)
			t->regions[t->depth] =
				strtab_intern(&pr->names, ev->strs[0] ? ev->strs[0] : "");
		t->depth++;
		return 0;
	case CT_EV_REGION_END:
		if (t->depth) /* else it opened before the trace */
			t->depth--;
		return 0;
	case CT_EV_LOSS:
		/* The ends of what is open may be among the lost events. */
		pr->st.unmatched += (uint64_t)t->wopen + (uint64_t)t->oopen;
		t->wopen = t->oopen = t->cfresh = 0;
		return 0;
	case CT_EV_THREAD_END:
		pr->st.unmatched += (uint64_t)t->wopen + (uint64_t)t->oopen;
		t->wopen = t->oopen = t->cfresh = 0;
		t->ntasks = t->depth = 0;
		t->exited = 1;
		return 0;
	case CT_EV_WAIT_BEGIN:
		return on_wait_begin(pr, t, ev);
	case CT_EV_WAIT_END:
		if (!t->wopen)
			return 0;
		t->wopen = 0;
		return wait_sample(pr, t, ev->ts, 0);
	case CT_EV_SCHED_OUT:
		return pr->o.type == PROFILE_SCHED ? on_sched_out(pr, t, ev) : 0;
	case CT_EV_SCHED_IN:
		if (!t->oopen)
			return 0;
		t->oopen = 0;
		return interval_sample(pr, t, ev->ts, 0);
	case CT_EV_SCHED_SAMPLE:
		return pr->o.type == PROFILE_SCHED ? on_sched_sample(pr, t, ev) : 0;
	case CT_EV_CPU_SAMPLE:
		return on_cpu_sample(pr, t, ev);
	default:
		return 0;
	}
}

int profile_read(struct profile *pr, ct_reader *r)
{
	const struct ct_generation *g;
	struct ct_event evs[256];
	int rc;
	ct_reader_set_order(r, CT_ORDER_THREAD);
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		if ((rc = profile_generation(pr, g)) < 0)
			return rc;
		int n;
		while ((n = ct_reader_next_batch(r, evs, 256)) > 0)
			for (int i = 0; i < n; i++)
				if ((rc = profile_event(pr, &evs[i])) < 0)
					return rc;
		if (n < 0)
			return n;
	}
	return rc;
}

/* A holder in no thread table of the trace (it recorded no event), named
 * "main thread (tid)" when its tid is the process id. */
static int add_pending(struct profile *pr, uint64_t pid)
{
	for (size_t i = 0; i < pr->npend; i++) {
		const struct pending *p = &pr->pend[i];
		struct labels L = {.n = 0};
		lab(&L, "reason", report_wait_reason_name(p->reason));
		const char *key = p->reason == CT_WAIT_JOIN ? "joined" : "holder";
		struct pthr *h = thread_by_tid(pr, p->holder_tid);
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

static const char *meta_value(const struct ct_trace_info *info, const char *key)
{
	for (uint32_t i = 0; info && i + 1 < info->nmeta; i += 2)
		if (info->meta[i] && strcmp(info->meta[i], key) == 0)
			return info->meta[i + 1];
	return NULL;
}

struct pprof *profile_finish(struct profile *pr, const struct ct_trace_info *info,
			     struct profile_stats *st)
{
	if (pr->finished)
		return NULL;
	pr->finished = 1;
	/* Still waiting (or runnable) when the trace ended: up to its end. */
	for (uint32_t i = 0; i < pr->nth; i++) {
		struct pthr *t = &pr->th[i];
		if (t->wopen && wait_sample(pr, t, pr->st.end_ns, 1))
			return NULL;
		if (t->oopen && interval_sample(pr, t, pr->st.end_ns, 1))
			return NULL;
		t->wopen = t->oopen = 0;
	}
	const char *pid = meta_value(info, "pid");
	if (add_pending(pr, pid ? strtoull(pid, NULL, 10) : 0))
		return NULL;
	uint64_t from = pr->o.from_ns, to = pr->st.end_ns - pr->st.start_ns;
	if (pr->o.has_to && pr->o.to_ns < to)
		to = pr->o.to_ns;
	pprof_set_time(pr->pp, (int64_t)(pr->st.start_ns + from) + pr->realtime_offset,
		       to > from ? (int64_t)(to - from) : 0);
	const char *hzs = meta_value(info, "cpu.sample_hz");
	if (pr->o.type == PROFILE_CPU && hzs) {
		unsigned long long hz = strtoull(hzs, NULL, 10);
		if (hz)
			pprof_set_period(pr->pp, "cpu", "nanoseconds",
					 (int64_t)(1000000000ull / hz));
	}
	char c[160];
	if (pr->st.unfinished) {
		snprintf(c, sizeof(c),
			 "%" PRIu64
			 " still open at the trace's end (unfinished=true), counted up to it",
			 pr->st.unfinished);
		pprof_add_comment(pr->pp, c);
	}
	if (pr->st.unmatched) {
		snprintf(c, sizeof(c), "%" PRIu64 " left out: their end was among lost events",
			 pr->st.unmatched);
		pprof_add_comment(pr->pp, c);
	}
	if (pr->st.idle) {
		snprintf(c, sizeof(c),
			 "%" PRIu64 " condition-variable waits (idle, not contention) left out; "
			 "ctrace profile --include-idle counts them",
			 pr->st.idle);
		pprof_add_comment(pr->pp, c);
	}
	if (st)
		*st = pr->st;
	return pr->pp;
}
