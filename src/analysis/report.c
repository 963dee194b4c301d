/* Pass 1 of the report analysis: trace summary, threads, loss, task latency
 * histograms per type, the N slowest tasks, and region totals. Per-event
 * work is a switch and a few array updates. Over a reader, pass 1 decodes
 * the events itself (the lean path, read/lean.h) and maps string ids to
 * name ids per generation; events handed in as struct ct_event map their
 * string pointers through a per-generation pointer cache (table.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/meta.h"
#include "analysis/report_int.h"
#include "read/lean.h"

struct report *report_new(const struct report_options *o)
{
	struct report *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->opt = *o;
	r->pin_id = o->task;
	if (r->opt.top_tasks > REPORT_MAX_TOP)
		r->opt.top_tasks = REPORT_MAX_TOP;
	r->res.first_ns = UINT64_MAX;
	r->heap = calloc(r->opt.top_tasks + 1, sizeof(*r->heap));
	r->res.loss.ranges = calloc(REPORT_MAX_LOSS_RANGES, sizeof(*r->res.loss.ranges));
	if (!r->heap || !r->res.loss.ranges ||
	    strtab_init(&r->names, "", NAMES_MAX, "(other)") < 0 || ptrcache_init(&r->pc) < 0 ||
	    u64map_init(&r->thread_slot) < 0 || taskmap_init(&r->open) < 0 ||
	    u64map_init(&r->site_slot) < 0 || cpu_init(r) < 0) {
		report_free(r);
		return NULL;
	}
	return r;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	report_detail_free(r);
	holder_free(r);
	waits_free(r);
	cpu_free(r);
	for (uint32_t i = 0; i < r->nthreads; i++) {
		free(r->threads[i].pub.name);
		free(r->threads[i].regions);
		free(r->threads[i].dregions);
	}
	free(r->threads);
	for (uint32_t i = 0; i < r->ntypes; i++)
		hist_free(&r->types[i].h);
	free(r->types);
	free(r->name_type);
	free(r->heap);
	free(r->pin_type);
	free(r->rstats);
	free(r->gens);
	free(r->spans);
	free(r->gen_slots);
	free(r->sname);
	free(r->res.loss.ranges);
	free(r->res.threads);
	free(r->res.types);
	free(r->res.top_regions);
	strtab_free(&r->names);
	ptrcache_free(&r->pc);
	u64map_free(&r->thread_slot);
	taskmap_free(&r->open);
	free(r);
}

/* ---- threads ---- */

static uint32_t slot_of_index(struct report *r, uint32_t index, const struct ct_thread_info *ti)
{
	int created;
	uint64_t *v = u64map_put(&r->thread_slot, (uint64_t)index + 1, &created);
	if (v && !created)
		return (uint32_t)*v;
	if (r->nthreads == r->cap_threads) {
		uint32_t ncap = r->cap_threads ? r->cap_threads * 2 : 16;
		struct rthread *t = realloc(r->threads, ncap * sizeof(*t));
		if (!t)
			abort(); /* a few bytes per thread: nothing sensible to do */
		r->threads = t;
		r->cap_threads = ncap;
	}
	uint32_t slot = r->nthreads++;
	struct rthread *t = &r->threads[slot];
	memset(t, 0, sizeof(*t));
	t->first_ts = UINT64_MAX;
	t->pub.index = index;
	if (ti) {
		t->pub.tid = ti->tid;
		t->pub.name = strdup(ti->name ? ti->name : "");
		t->pseudo = ti->tid == 0 && index != 0 && ti->name && ti->name[0] == '[';
	}
	if (v)
		*v = slot;
	return slot;
}

/* Slot of ti: from the generation's table when ti points into it (the
 * common case), else by index. */
static uint32_t slot_of(struct report *r, const struct ct_thread_info *ti)
{
	if (ti == NULL)
		return slot_of_index(r, 0, NULL);
	const struct ct_generation *g = r->gen;
	if (g && (uintptr_t)ti >= (uintptr_t)g->threads &&
	    (uintptr_t)ti < (uintptr_t)(g->threads + g->nthreads))
		return r->gen_slots[ti - g->threads];
	return slot_of_index(r, ti->index, ti);
}

/* Per-thread event counts are credited when the thread changes rather than
 * per event: one memory increment less on the hot path. */
static void flush_count(struct report *r)
{
	if (r->nthreads && r->last_ti)
		r->threads[r->last_slot].pub.events += r->res.events - r->counted;
	r->counted = r->res.events;
}

static __attribute__((noinline)) void switch_thread(struct report *r,
						    const struct ct_thread_info *ti)
{
	flush_count(r);
	r->last_slot = slot_of(r, ti);
	r->last_ti = ti;
}

/* Consecutive events mostly come from one thread (always, in thread order). */
static inline struct rthread *thread_of(struct report *r, const struct ct_thread_info *ti)
{
	if (__builtin_expect(ti != r->last_ti || ti == NULL, 0))
		switch_thread(r, ti);
	return &r->threads[r->last_slot];
}

void report_gen_slots(struct report *r, uint32_t n)
{
	if (n <= r->cap_gen_slots)
		return;
	uint32_t *s = realloc(r->gen_slots, n * sizeof(*s));
	if (!s)
		abort();
	r->gen_slots = s;
	r->cap_gen_slots = n;
}

struct rthread *report_thread_of(struct report *r, const struct ct_thread_info *ti)
{
	return thread_of(r, ti);
}

static void update_thread(struct rthread *t, const struct ct_thread_info *ti)
{
	t->pub.tid = ti->tid;
	const char *name = ti->name ? ti->name : "";
	/* Keep the latest non-empty name: threads are named after they start. */
	if (*name && (!t->pub.name || strcmp(t->pub.name, name) != 0)) {
		char *copy = strdup(name);
		if (copy) {
			free(t->pub.name);
			t->pub.name = copy;
		}
	}
	if (ti->exited)
		t->pub.exited = 1;
	/* Writer-made threads ([cgroup]) have tid 0 and a bracketed name. */
	t->pseudo = ti->tid == 0 && ti->index != 0 && name[0] == '[';
}

/* ---- loss ---- */

static void add_loss(struct report *r, struct rthread *t, uint64_t count, uint64_t start,
		     uint64_t end, uint32_t reason, int in_band)
{
	struct report_loss *l = &r->res.loss;
	l->events += count;
	if (in_band) {
		l->in_band_records++;
		l->in_band_events += count;
	} else {
		l->section_records++;
		l->section_events += count;
	}
	if (reason < sizeof l->by_reason / sizeof l->by_reason[0])
		l->by_reason[reason] += count;
	else
		l->other_reason += count;
	if (t) {
		t->pub.lost_events += count;
		t->pub.loss_records++;
	}
	if (l->nranges < REPORT_MAX_LOSS_RANGES)
		l->ranges[l->nranges++] = (struct report_loss_range){
			.thread = t ? t->pub.index : 0,
			.reason = reason,
			.events = count,
			.start_ns = start,
			.end_ns = end < start ? start : end,
			.in_band = in_band,
		};
	else
		l->ranges_omitted++;
}

/* ---- generations ---- */

void report_set_end(struct report *r, uint64_t end_ns)
{
	if (end_ns > r->res.last_ns)
		r->res.last_ns = end_ns;
	r->res.end_is_capture_end = 1;
}

void report_generation(struct report *r, const struct ct_generation *g)
{
	struct report_result *res = &r->res;
	flush_count(r);
	cpu_generation(r, g);
	ptrcache_reset(&r->pc);
	r->last_ti = NULL;
	r->gen = NULL;
	if (res->generations == 0) {
		res->first_seq = g->seq;
		res->clock_kind = g->clock_kind;
		res->realtime_offset_ns = g->realtime_offset_ns;
	} else if (g->seq > res->last_seq + 1) {
		res->missing_generations += g->seq - res->last_seq - 1;
	}
	res->generations++;
	res->last_seq = g->seq;
	res->generation_bytes += g->size;

	if (r->ngens == r->cap_gens) {
		uint64_t ncap = r->cap_gens ? r->cap_gens * 2 : 64;
		struct gen_range *n = realloc(r->gens, ncap * sizeof(*n));
		if (n) {
			r->gens = n;
			r->cap_gens = ncap;
		}
	}
	if (r->ngens < r->cap_gens)
		r->gens[r->ngens++] =
			(struct gen_range){g->min_ts, g->max_ts, g->offset, g->size, g->nevents};
	else
		r->ngens = UINT64_MAX; /* out of memory: pass 2 reads everything */
	/* The capture's last generation says when it ended (FORMAT.md, META):
	 * the trace runs to then, and so do waits still open, however long
	 * after the last event. */
	if (meta_find(g->meta, g->nmeta, "capture.end_ns"))
		report_set_end(r, meta_u64(g->meta, g->nmeta, "capture.end_ns"));

	report_gen_slots(r, g->nthreads);
	for (uint32_t i = 0; i < g->nthreads; i++) {
		uint32_t slot = slot_of_index(r, g->threads[i].index, &g->threads[i]);
		update_thread(&r->threads[slot], &g->threads[i]);
		r->gen_slots[i] = slot;
	}
	r->gen = g;
	for (uint32_t i = 0; i < g->nloss; i++) {
		const struct ct_loss *l = &g->loss[i];
		struct rthread *t = l->thread ? report_thread_of(r, l->thread) : NULL;
		add_loss(r, t, l->count, l->first_ts, l->last_ts, l->reason, 0);
	}
}

/* ---- tasks ---- */

static uint32_t type_of(struct report *r, uint32_t name)
{
	if (name >= r->cap_name_type) {
		uint32_t ncap = r->cap_name_type ? r->cap_name_type : 64;
		while (ncap <= name)
			ncap *= 2;
		uint32_t *n = realloc(r->name_type, ncap * sizeof(*n));
		if (!n)
			abort();
		memset(n + r->cap_name_type, 0, (ncap - r->cap_name_type) * sizeof(*n));
		r->name_type = n;
		r->cap_name_type = ncap;
	}
	if (r->name_type[name])
		return r->name_type[name] - 1;
	if (r->ntypes == r->cap_types) {
		uint32_t ncap = r->cap_types ? r->cap_types * 2 : 16;
		struct rtype *t = realloc(r->types, ncap * sizeof(*t));
		if (!t)
			abort();
		r->types = t;
		r->cap_types = ncap;
	}
	struct rtype *t = &r->types[r->ntypes];
	memset(t, 0, sizeof(*t));
	t->name = name;
	hist_init(&t->h);
	r->name_type[name] = ++r->ntypes;
	return r->ntypes - 1;
}

/* The heap keeps the N slowest; its root is the fastest of them. Equal
 * latencies rank the lower task id as slower, so results are stable. */
static inline int slower(const struct slow_ent *a, const struct slow_ent *b)
{
	return a->latency > b->latency || (a->latency == b->latency && a->id < b->id);
}

static void heap_down(struct slow_ent *h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t m = i, l = 2 * i + 1, rr = l + 1;
		if (l < n && slower(&h[m], &h[l]))
			m = l;
		if (rr < n && slower(&h[m], &h[rr]))
			m = rr;
		if (m == i)
			return;
		struct slow_ent tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

static void heap_offer(struct report *r, const struct slow_ent *e)
{
	uint32_t n = r->opt.top_tasks;
	if (n == 0)
		return;
	struct slow_ent *h = r->heap;
	if (r->nheap < n) {
		uint32_t i = r->nheap++;
		h[i] = *e;
		while (i > 0 && slower(&h[(i - 1) / 2], &h[i])) {
			struct slow_ent tmp = h[i];
			h[i] = h[(i - 1) / 2];
			h[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
		return;
	}
	if (!slower(e, &h[0]))
		return;
	h[0] = *e;
	heap_down(h, n, 0);
}

static void task_done(struct report *r, const struct open_task *t, uint64_t begin, uint64_t end)
{
	uint64_t lat = end > begin ? end - begin : 0;
	r->res.tasks_finished++;
	hist_add(&r->types[t->type].h, lat);
	struct slow_ent e = {lat, t->id, begin, end, t->parent, t->type};
	if (t->id == r->pin_id) {
		r->pin = e;
		r->pin_done = 1;
	}
	heap_offer(r, &e);
}

/* A task.begin with a known id, its type's name id resolved. */
static void task_begun(struct report *r, uint64_t id, uint32_t name, uint64_t parent, uint64_t ts)
{
	r->res.tasks_begun++;
	uint32_t ty = type_of(r, name);
	int created;
	struct open_task *t = taskmap_put(&r->open, id, &created);
	if (!t)
		return;
	if (!created && t->state == OPEN_ENDED) {
		/* Its end was read first (another thread, read in thread order). */
		t->type = ty;
		t->parent = parent;
		task_done(r, t, ts, t->end);
		taskmap_del(&r->open, t);
		return;
	}
	if (!created) {
		/* A second begin of an open id: the first one never ended. */
		r->types[t->type].unfinished++;
		if (r->types[t->type].oldest_unfinished == 0 ||
		    t->begin < r->types[t->type].oldest_unfinished)
			r->types[t->type].oldest_unfinished = t->begin;
	}
	t->state = OPEN_BEGUN;
	t->begin = ts;
	t->type = ty;
	t->parent = parent;
}

static void task_begin(struct report *r, uint64_t id, const char *type, uint64_t parent,
		       uint64_t ts)
{
	if (id != 0)
		task_begun(r, id, ptrcache_id(&r->pc, &r->names, type), parent, ts);
}

static void task_end(struct report *r, uint64_t id, uint64_t ts)
{
	if (id == 0)
		return;
	int created;
	struct open_task *t = taskmap_put(&r->open, id, &created);
	if (!t)
		return;
	if (created) {
		/* Began before the trace, or its begin is on a thread read later. */
		t->state = OPEN_ENDED;
		t->end = ts;
		return;
	}
	if (t->state == OPEN_BEGUN) {
		task_done(r, t, t->begin, ts);
		taskmap_del(&r->open, t);
	}
}

/* ---- regions ---- */

static __attribute__((noinline)) void rstat_grow(struct report *r, uint32_t name)
{
	uint32_t ncap = r->cap_rstats ? r->cap_rstats : 64;
	while (ncap <= name)
		ncap *= 2;
	struct rstat *n = realloc(r->rstats, ncap * sizeof(*n));
	if (!n)
		abort();
	memset(n + r->cap_rstats, 0, (ncap - r->cap_rstats) * sizeof(*n));
	r->rstats = n;
	r->cap_rstats = ncap;
}

static inline struct rstat *rstat_of(struct report *r, uint32_t name)
{
	if (__builtin_expect(name >= r->cap_rstats, 0))
		rstat_grow(r, name);
	return &r->rstats[name];
}

static __attribute__((noinline)) int region_grow(struct rthread *t)
{
	uint32_t ncap = t->cap ? t->cap * 2 : 16;
	struct open_region *n = realloc(t->regions, ncap * sizeof(*n));
	if (!n) {
		t->overflow++;
		return 0;
	}
	t->regions = n;
	t->cap = ncap;
	return 1;
}

/* Whether t can open one more region; when not, it is counted as overflow
 * (and its name never resolved). */
static inline int region_room(struct rthread *t)
{
	if (__builtin_expect(t->overflow || t->nregions == REGION_DEPTH_MAX, 0)) {
		t->overflow++;
		return 0;
	}
	return __builtin_expect(t->nregions < t->cap, 1) || region_grow(t);
}

static inline void region_push(struct rthread *t, uint64_t ts, uint32_t name)
{
	t->regions[t->nregions++] = (struct open_region){ts, 0, name};
}

static void region_begin(struct report *r, struct rthread *t, const char *name, uint64_t ts)
{
	if (region_room(t))
		region_push(t, ts, ptrcache_id(&r->pc, &r->names, name));
}

static inline void region_end(struct report *r, struct rthread *t, uint64_t ts)
{
	if (t->overflow) {
		t->overflow--;
		return;
	}
	if (t->nregions == 0) {
		r->res.regions_unmatched++;
		return;
	}
	struct open_region *o = &t->regions[--t->nregions];
	uint64_t dur = ts > o->begin ? ts - o->begin : 0;
	uint64_t self = dur > o->child_ns ? dur - o->child_ns : 0;
	struct rstat *s = rstat_of(r, o->name);
	s->count++;
	s->total += dur;
	s->self += self;
	if (dur > s->max)
		s->max = dur;
	if (t->nregions)
		t->regions[t->nregions - 1].child_ns += dur;
	r->res.regions_total++;
}

/* ---- events ---- */

static inline uint64_t arg(const struct ct_event *ev, uint32_t i)
{
	return i < ev->nargs ? ev->args[i] : 0;
}

static inline const char *sarg(const struct ct_event *ev, uint32_t i)
{
	return i < ev->nargs ? ev->strs[i] : NULL;
}

static __attribute__((noinline)) void loss_event(struct report *r, struct rthread *t,
						 const struct ct_event *ev)
{
	/* The reader resolves duration arguments to nanoseconds. */
	uint64_t ts = ev->ts, span = arg(ev, 1);
	add_loss(r, t, arg(ev, 0), ts, ts + span < ts ? UINT64_MAX : ts + span,
		 (uint32_t)arg(ev, 2), 1);
}

static __attribute__((noinline)) void thread_end(struct report *r, struct rthread *t, uint64_t ts)
{
	t->pub.exited = 1;
	sched_wait_edge(r, t, 1, ts);
	sched_thread_end(r, t, 1, ts);
	if (t->w1.open)
		wait_end1(r, t, ts);
	r->res.regions_unclosed += t->nregions + t->overflow;
	t->nregions = t->overflow = 0;
}

/* One handler per kind. Handlers of the hot kinds (regions, tasks) are
 * small enough to inline; the rest are out of line so they add no register
 * pressure here. */
static inline __attribute__((always_inline)) void handle(struct report *r, struct rthread *t,
							 const struct ct_event *ev)
{
	uint64_t ts = ev->ts;
	switch (ev->type & 127) {
	case CT_EV_REGION_BEGIN:
		region_begin(r, t, sarg(ev, 0), ts);
		break;
	case CT_EV_REGION_END:
		region_end(r, t, ts);
		break;
	case CT_EV_TASK_BEGIN:
		task_begin(r, arg(ev, 0), sarg(ev, 1), arg(ev, 2), ts);
		break;
	case CT_EV_TASK_END:
		task_end(r, arg(ev, 0), ts);
		break;
	case CT_EV_LOSS:
		loss_event(r, t, ev);
		sched_event(r, t, 1, ev);
		break;
	case CT_EV_THREAD_END:
		thread_end(r, t, ts);
		break;
	case CT_EV_WAIT_BEGIN:
		sched_wait_edge(r, t, 1, ts);
		wait_begin1(r, t, ev);
		break;
	case CT_EV_WAIT_END:
		sched_wait_edge(r, t, 1, ts);
		wait_end1(r, t, ts);
		break;
	case CT_EV_SCHED_OUT:
	case CT_EV_SCHED_IN:
	case CT_EV_SCHED_SAMPLE:
	case CT_EV_FAULT:
	case CT_EV_KERNEL_TIME:
	case CT_EV_CPU_SAMPLE:
	case CT_EV_THROTTLE:
		sched_event(r, t, 1, ev);
		break;
	default:
		break;
	}
}

/* The per-event path: counters, then the kind's handler. */
static inline __attribute__((always_inline)) void event1(struct report *r,
							 const struct ct_event *ev)
{
	struct rthread *t = thread_of(r, ev->thread);
	struct report_result *res = &r->res;
	uint64_t ts = ev->ts;
	res->events++;
	res->first_ns = ts < res->first_ns ? ts : res->first_ns;
	res->last_ns = ts > res->last_ns ? ts : res->last_ns;
	res->events_by_kind[ev->type & 127]++;
	t->first_ts = ts < t->first_ts ? ts : t->first_ts;
	t->last_ts1 = ts > t->last_ts1 ? ts : t->last_ts1;
	if (__builtin_expect(t->gen_stamp != r->cpu.gen_serial, 0))
		cpu_gen_first(r, t, ts);
	handle(r, t, ev);
}

void report_event(struct report *r, const struct ct_event *ev)
{
	event1(r, ev);
}

void report_events(struct report *r, const struct ct_event *evs, int n)
{
	for (int i = 0; i < n; i++)
		event1(r, &evs[i]);
}

/* ---- the lean path: pass 1 fused with decoding ---- */

/* What the lean loop does with a type byte. The hot kinds are decoded in
 * place only when the file's spec gives them exactly the layout this code
 * knows; any other layout, and the rare kinds the report handles, are
 * decoded in full (LK_FULL), so results never depend on the path. */
enum { LK_SKIP, LK_FULL, LK_RBEGIN, LK_REND, LK_TBEGIN, LK_TEND };

static int spec_is(const struct ct_event_spec *s, unsigned argc, const uint8_t *kinds)
{
	return s->argc == argc && !(s->flags & CT_SPEC_BYTES) &&
	       (argc == 0 || memcmp(s->arg_kinds, kinds, argc) == 0);
}

static void lean_kinds(struct report *r, const struct ct_trace_info *info)
{
	static const uint8_t k_rbegin[] = {CT_ARG_STRING},
			     k_tbegin[] = {CT_ARG_TASK, CT_ARG_STRING, CT_ARG_TASK},
			     k_tend[] = {CT_ARG_TASK};
	memset(r->lk, LK_FULL, sizeof(r->lk));
	for (uint32_t i = 0; i < info->nspecs; i++) {
		const struct ct_event_spec *s = &info->specs[i];
		uint8_t k = LK_SKIP;
		switch (s->type) {
		case CT_EV_REGION_BEGIN:
			k = spec_is(s, 1, k_rbegin) ? LK_RBEGIN : LK_FULL;
			break;
		case CT_EV_REGION_END:
			k = spec_is(s, 0, NULL) ? LK_REND : LK_FULL;
			break;
		case CT_EV_TASK_BEGIN:
			k = spec_is(s, 3, k_tbegin) ? LK_TBEGIN : LK_FULL;
			break;
		case CT_EV_TASK_END:
			k = spec_is(s, 1, k_tend) ? LK_TEND : LK_FULL;
			break;
		case CT_EV_LOSS:
		case CT_EV_THREAD_END:
		case CT_EV_WAIT_BEGIN:
		case CT_EV_WAIT_END:
		case CT_EV_SCHED_OUT:
		case CT_EV_SCHED_IN:
		case CT_EV_SCHED_SAMPLE:
		case CT_EV_FAULT:
		case CT_EV_KERNEL_TIME:
		case CT_EV_CPU_SAMPLE:
		case CT_EV_THROTTLE:
			k = LK_FULL;
			break;
		}
		r->lk[s->type] = k;
		/* With a stack: the hot kinds take the full decode, which skips it. */
		r->lk[s->type | CT_TYPE_STACK_BIT] = k == LK_SKIP ? LK_SKIP : LK_FULL;
	}
}

/* Generation string id -> name id, resolved once per id per generation
 * (the same id may name another string in the next generation). */
static __attribute__((noinline)) uint32_t sname_miss(struct report *r, const struct lean_gen *lg,
						     uint64_t sid)
{
	uint32_t id = ptrcache_id(&r->pc, &r->names, lg->sid[sid]);
	r->sname[sid] = id + 1;
	return id;
}

static inline uint32_t sname(struct report *r, const struct lean_gen *lg, uint64_t sid)
{
	uint32_t v = r->sname[sid];
	return __builtin_expect(v != 0, 1) ? v - 1 : sname_miss(r, lg, sid);
}

static __attribute__((noinline)) const uint8_t *lean_full(struct report *r, ct_reader *rd,
							  struct rthread *th, const uint8_t *p,
							  uint64_t *t,
							  const struct ct_thread_info *ti)
{
	struct ct_event ev;
	p = rdr_lean_decode(rd, p, t, ti, &ev);
	handle(r, th, &ev);
	return p;
}

/* clock_event_ns with the generation's mode a constant: the hot kinds
 * convert a timestamp each, and the mode and divisor branches add up. */
static inline __attribute__((always_inline)) uint64_t lean_ns(const struct clockconv *c,
							      const int mode, uint64_t t)
{
	if (mode == CLK_BELOW || mode == CLK_ABOVE) {
		uint64_t n = (mode == CLK_BELOW ? c->ref_ticks - t : t - c->ref_ticks) * NS_PER_SEC;
		uint64_t q = (uint64_t)(((unsigned __int128)c->div.magic * n) >> 64);
		if (c->div.add)
			q = ((n - q) >> 1) + q;
		q >>= c->div.shift;
		return mode == CLK_BELOW ? c->ref_mono - q : c->ref_mono + q;
	}
	return clock_event_ns(c, t);
}

/* One run of one thread's events. Counting is per run: the thread and the
 * run's length are known, and a thread's timestamps never decrease, so its
 * first and last events bound the run. String arguments stay ids (sid and
 * sname); only the kinds pass 1 handles convert their timestamp. */
static inline __attribute__((always_inline)) void lean_run_clk(struct report *r, ct_reader *rd,
							       const struct lean_gen *lg,
							       const struct lean_run *run,
							       const int mode)
{
	struct rthread *th = thread_of(r, run->thread);
	struct report_result *res = &r->res;
	/* A copy: stores to the counters could alias the generation's. */
	const struct clockconv clock = *lg->clk, *clk = &clock;
	const uint8_t *p = run->p, *q = p + 1;
	uint64_t t = run->t, first = t + lean_uv(&q);
	uint64_t *kinds = res->events_by_kind;
	/* The run's first timestamp before its events: the states need the
	 * thread's first event when its first scheduler event comes. */
	uint64_t lo = lean_ns(clk, mode, first);
	th->first_ts = lo < th->first_ts ? lo : th->first_ts;
	if (__builtin_expect(th->gen_stamp != r->cpu.gen_serial, 0))
		cpu_gen_first(r, th, lo);
	for (uint64_t n = run->n; n; n--) {
		unsigned type = *p;
		uint64_t t0 = t;
		const uint8_t *at = p++;
		t += lean_uv(&p);
		kinds[type & 127]++;
		switch (r->lk[type]) {
		case LK_REND:
			region_end(r, th, lean_ns(clk, mode, t));
			break;
		case LK_RBEGIN: {
			uint64_t sid = lean_uv(&p);
			if (region_room(th))
				region_push(th, lean_ns(clk, mode, t), sname(r, lg, sid));
			break;
		}
		case LK_TBEGIN: {
			uint64_t id = lean_uv(&p), sid = lean_uv(&p), parent = lean_uv(&p);
			if (id)
				task_begun(r, id, sname(r, lg, sid), parent, lean_ns(clk, mode, t));
			break;
		}
		case LK_TEND:
			task_end(r, lean_uv(&p), lean_ns(clk, mode, t));
			break;
		case LK_SKIP:
			p = lean_skip(&lg->desc[type], p);
			break;
		default:
			t = t0;
			p = lean_full(r, rd, th, at, &t, run->thread);
			break;
		}
	}
	uint64_t hi = lean_ns(clk, mode, t);
	res->events += run->n;
	res->first_ns = lo < res->first_ns ? lo : res->first_ns;
	res->last_ns = hi > res->last_ns ? hi : res->last_ns;
	th->last_ts1 = hi > th->last_ts1 ? hi : th->last_ts1;
}

static void lean_run(struct report *r, ct_reader *rd, const struct lean_gen *lg,
		     const struct lean_run *run)
{
	const struct clockconv *c = lg->clk;
	if (c->mode == CLK_BELOW && !c->div.pow2)
		lean_run_clk(r, rd, lg, run, CLK_BELOW);
	else if (c->mode == CLK_ABOVE && !c->div.pow2)
		lean_run_clk(r, rd, lg, run, CLK_ABOVE);
	else
		lean_run_clk(r, rd, lg, run, CLK_GENERIC);
}

int report_read_generation(struct report *r, ct_reader *rd)
{
	struct lean_gen lg;
	if (rdr_lean_gen(rd, &lg) < 0) {
		/* Sparse string ids or time order: the public iteration. */
		struct ct_event evs[32];
		int rc;
		while ((rc = ct_reader_next_batch(rd, evs, 32)) > 0)
			report_events(r, evs, rc);
		return rc;
	}
	lean_kinds(r, ct_reader_info(rd)); /* a few hundred bytes: per generation is cheap */
	if (lg.nsid > r->cap_sname) {
		uint32_t *n = realloc(r->sname, lg.nsid * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->sname = n;
		r->cap_sname = lg.nsid;
	}
	memset(r->sname, 0, lg.nsid * sizeof(*r->sname));
	struct lean_run run;
	int rc;
	while ((rc = rdr_lean_run(rd, &run)) > 0)
		lean_run(r, rd, &lg, &run);
	return rc;
}

/* ---- end of pass 1 ---- */

/* The triggering task's entry: 1 when the trace holds any of it. */
static int pin_entry(struct report *r, int *begin_in, int *ended)
{
	if (!r->pin_id)
		return 0;
	if (r->pin_done)
		return 1;
	const struct open_task *t = taskmap_find(&r->open, r->pin_id);
	if (!t || r->res.first_ns == UINT64_MAX)
		return 0;
	struct slow_ent *e = &r->pin;
	*e = (struct slow_ent){0, t->id, r->res.first_ns, r->res.last_ns, t->parent, UINT32_MAX};
	if (t->state == OPEN_BEGUN) { /* running when the dump was cut */
		e->begin = t->begin;
		e->type = t->type;
		*ended = 0;
	} else { /* began before the window */
		e->end = t->end;
		e->parent = 0;
		*begin_in = 0;
	}
	e->latency = e->end > e->begin ? e->end - e->begin : 0;
	return 1;
}

static int cmp_slow(const void *a, const void *b)
{
	return slower(a, b) ? -1 : slower(b, a) ? 1 : 0;
}

unsigned report_pass1_done(struct report *r)
{
	if (r->slow || r->finished)
		return r->nslow;
	flush_count(r);
	r->last_ti = NULL;
	sched_close1(r);
	waits_pass1_done(r);
	sched_pass1_done(r);
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct rthread *t = &r->threads[i];
		r->res.regions_unclosed += t->nregions + t->overflow;
		free(t->regions);
		t->regions = NULL;
		t->nregions = t->overflow = t->cap = 0;
	}
	qsort(r->heap, r->nheap, sizeof(*r->heap), cmp_slow);
	/* A dump's triggering task goes first, out of the heap if it is there. */
	int begin_in = 1, ended = 1, pin = pin_entry(r, &begin_in, &ended);
	if (pin)
		for (uint32_t i = 0; i < r->nheap; i++)
			if (r->heap[i].id == r->pin_id) {
				memmove(&r->heap[i], &r->heap[i + 1],
					(r->nheap - i - 1) * sizeof(*r->heap));
				r->nheap--;
				break;
			}
	if (pin) {
		memmove(&r->heap[1], &r->heap[0], r->nheap * sizeof(*r->heap));
		r->heap[0] = r->pin;
		r->nheap++; /* the heap has room for top_tasks + 1 */
	}
	r->nslow = r->nheap;
	r->slow = calloc(r->nslow ? r->nslow : 1, sizeof(*r->slow));
	r->slow_ids = calloc(r->nslow ? r->nslow : 1, sizeof(*r->slow_ids));
	r->slow_idx = calloc(r->nslow ? r->nslow : 1, sizeof(*r->slow_idx));
	if (!r->slow || !r->slow_ids || !r->slow_idx)
		abort();
	for (uint32_t i = 0; i < r->nslow; i++) {
		const struct slow_ent *e = &r->heap[i];
		struct report_task *p = &r->slow[i].pub;
		p->id = e->id;
		p->parent = e->parent;
		p->type = e->type < r->ntypes ? r->names.strs[r->types[e->type].name]
			  : r->pin_type && e->id == r->trigger_id ? r->pin_type
								  : "";
		p->begin_in_trace = p->ended = 1;
		if (pin && i == 0) {
			p->trigger = e->id == r->trigger_id;
			p->begin_in_trace = begin_in;
			p->ended = ended;
		}
		p->begin_ns = e->begin;
		p->end_ns = e->end;
		p->latency_ns = e->latency;
		r->slow[i].first_root = -1;
		/* Insertion sort by id: N is small. */
		uint32_t j = i;
		while (j > 0 && r->slow_ids[j - 1] > e->id) {
			r->slow_ids[j] = r->slow_ids[j - 1];
			r->slow_idx[j] = r->slow_idx[j - 1];
			j--;
		}
		r->slow_ids[j] = e->id;
		r->slow_idx[j] = (int32_t)i;
	}
	/* Pass 2 can stop after the last generation that overlaps a slow task. */
	r->last_wanted = 0;
	if (r->ngens == UINT64_MAX) {
		r->last_wanted = UINT64_MAX;
	} else {
		for (uint64_t g = 0; g < r->ngens; g++)
			for (uint32_t i = 0; i < r->nslow; i++)
				if (r->gens[g].max >= r->slow[i].pub.begin_ns &&
				    r->gens[g].min <= r->slow[i].pub.end_ns) {
					r->last_wanted = g + 1;
					break;
				}
	}
	return r->nslow;
}

/* Whether pass 2 needs generation i. */
static int gen_wanted(const struct report *r, uint64_t lo, uint64_t hi, uint64_t nevents)
{
	if (nevents == 0 && lo == 0 && hi == 0)
		return 0;
	for (uint32_t s = 0; s < r->nslow; s++)
		if (hi >= r->slow[s].pub.begin_ns && lo <= r->slow[s].pub.end_ns)
			return 1;
	return 0;
}

int report_detail_wanted(struct report *r, const struct ct_generation *g)
{
	uint64_t i = r->detail_gen++;
	if (i >= r->last_wanted)
		return -1;
	if (r->ngens != UINT64_MAX && i < r->ngens)
		return gen_wanted(r, r->gens[i].min, r->gens[i].max, r->gens[i].nevents);
	return gen_wanted(r, g->min_ts, g->max_ts, g->nevents);
}

int64_t report_detail_spans(struct report *r, const struct report_span **spans)
{
	report_pass1_done(r);
	*spans = NULL;
	if (r->ngens == UINT64_MAX)
		return -1;
	free(r->spans);
	r->spans = calloc(r->ngens ? r->ngens : 1, sizeof(*r->spans));
	if (!r->spans)
		return -1;
	int64_t n = 0;
	for (uint64_t i = 0; i < r->ngens; i++) {
		const struct gen_range *g = &r->gens[i];
		if (gen_wanted(r, g->min, g->max, g->nevents))
			r->spans[n++] = (struct report_span){g->offset, g->size};
	}
	*spans = r->spans;
	return n;
}
