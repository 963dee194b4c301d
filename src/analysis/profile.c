/* Blocking profiles: follows each thread (its tasks, regions, open wait,
 * scheduler state and latest CPU sample) and adds one pprof sample per
 * wait, runnable interval or CPU sample the profile type asks for. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/meta.h"

#include "analysis/profile_int.h"

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

struct pthr *pf_thread_by_tid(const struct profile *pr, uint64_t tid)
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
	/* the capture's end (its last generation's META), where waits still
	 * open at the end run to */
	uint64_t end = meta_u64(g->meta, g->nmeta, "capture.end_ns");
	if (end > pr->st.end_ns && pr->have_start && end >= pr->st.start_ns)
		pr->st.end_ns = end;
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
		return reason == CT_WAIT_SLEEP || reason == CT_WAIT_POLL || pf_is_fd_wait(reason);
	case PROFILE_NET:
		return reason == CT_WAIT_NET;
	default:
		return 0;
	}
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
	if (pr->o.type == PROFILE_SYNC && pf_holder_reason(reason)) {
		struct pthr *h = pf_thread_by_tid(pr, t->wdetail);
		t->wholder = h ? (uint32_t)(h - pr->th) + 1 : 0;
	}
	pf_origin_here(pr, t, &t->w);
	return t->w.keep ? pf_origin_stack(pr, t, ev->stack, &t->w) : 0;
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
	pf_origin_here(pr, t, &t->o);
	if (!t->o.keep)
		return 0;
	if (t->cfresh && t->c.nlocs) {
		if (GROW32(t->o.locs, t->o.cap, t->c.nlocs))
			return -ENOMEM;
		memcpy(t->o.locs, t->c.locs, t->c.nlocs * sizeof(*t->c.locs));
		t->o.nlocs = t->c.nlocs;
	}
	return pf_synth_chain(pr, t, &t->o);
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
		return pf_wait_sample(pr, t, ev->ts, 0);
	case CT_EV_SCHED_OUT:
		return pr->o.type == PROFILE_SCHED ? on_sched_out(pr, t, ev) : 0;
	case CT_EV_SCHED_IN:
		if (!t->oopen)
			return 0;
		t->oopen = 0;
		return pf_interval_sample(pr, t, ev->ts, 0);
	case CT_EV_SCHED_SAMPLE:
		return pr->o.type == PROFILE_SCHED ? pf_sched_sample(pr, t, ev) : 0;
	case CT_EV_CPU_SAMPLE:
		return pf_cpu_sample(pr, t, ev);
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

static const char *meta_value(const struct ct_trace_info *info, const char *key)
{
	return info ? meta_find(info->meta, info->nmeta, key) : NULL;
}

struct pprof *profile_finish(struct profile *pr, const struct ct_trace_info *info,
			     struct profile_stats *st)
{
	if (pr->finished)
		return NULL;
	pr->finished = 1;
	/* A flight recorder's dump was cut at dump.time_ns: waits open then
	 * run to it. */
	uint64_t cut = info ? meta_u64(info->meta, info->nmeta, "dump.time_ns") : 0;
	if (cut > pr->st.end_ns && pr->have_start)
		pr->st.end_ns = cut;
	/* Still waiting (or runnable) when the trace ended: up to its end. */
	for (uint32_t i = 0; i < pr->nth; i++) {
		struct pthr *t = &pr->th[i];
		if (t->wopen && pf_wait_sample(pr, t, pr->st.end_ns, 1))
			return NULL;
		if (t->oopen && pf_interval_sample(pr, t, pr->st.end_ns, 1))
			return NULL;
		t->wopen = t->oopen = 0;
	}
	const char *pid = meta_value(info, "pid");
	if (pf_add_pending(pr, pid ? strtoull(pid, NULL, 10) : 0))
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
