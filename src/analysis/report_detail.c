/* Pass 2 of the report analysis: the regions and logs of the N slowest
 * tasks. Each thread's time between two of its events belongs to its
 * current task and innermost region ("slices"); a region's self time is the
 * sum of the slices spent directly in it, so it never needs child
 * bookkeeping. Everything is clipped to the task's [begin, end] from pass 1,
 * which is what makes reading threads one after another (CT_ORDER_THREAD)
 * and skipping generations that do not overlap any slow task exact: every
 * event inside a task's interval is in a generation that overlaps it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report_int.h"

void report_detail_free(struct report *r)
{
	for (uint32_t i = 0; i < r->nslow; i++) {
		struct slow_task *s = &r->slow[i];
		free(s->pub.regions);
		free(s->first_child);
		free(s->next_sibling);
		free(s->node_name);
		free(s->first_begin);
		for (uint32_t j = 0; j < s->pub.nlogs; j++)
			free(s->pub.logs[j].message);
		free(s->pub.logs);
	}
	free(r->slow);
	free(r->slow_ids);
	free(r->slow_idx);
	free(r->res.slow);
	r->slow = NULL;
	r->slow_ids = NULL;
	r->slow_idx = NULL;
	r->res.slow = NULL;
	r->nslow = 0;
}

void report_detail_generation(struct report *r, const struct ct_generation *g)
{
	/* Same thread bookkeeping as pass 1, without counting anything. */
	ptrcache_reset(&r->pc);
	r->last_ti = NULL;
	r->gen = NULL;
	sched_detail_gap(r, g->seq);
	if (g->nthreads > r->cap_gen_slots) {
		uint32_t *s = realloc(r->gen_slots, g->nthreads * sizeof(*s));
		if (!s)
			abort();
		r->gen_slots = s;
		r->cap_gen_slots = g->nthreads;
	}
	/* r->gen stays NULL while filling gen_slots, so threads resolve by index. */
	for (uint32_t i = 0; i < g->nthreads; i++) {
		r->last_ti = NULL;
		r->gen_slots[i] = (uint32_t)(report_thread_of(r, &g->threads[i]) - r->threads);
	}
	r->last_ti = NULL;
	r->gen = g;
}

static int32_t slow_of(const struct report *r, uint64_t id)
{
	uint32_t lo = 0, hi = r->nslow;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (r->slow_ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nslow && r->slow_ids[lo] == id ? r->slow_idx[lo] : -1;
}

static void add_thread(struct slow_task *s, uint32_t index)
{
	struct report_task *p = &s->pub;
	uint32_t i = 0;
	while (i < p->nthreads && p->threads[i] < index)
		i++;
	if (i < p->nthreads && p->threads[i] == index)
		return;
	if (p->nthreads == REPORT_MAX_TASK_THREADS) {
		p->more_threads = 1;
		return;
	}
	memmove(&p->threads[i + 1], &p->threads[i], (p->nthreads - i) * sizeof(p->threads[0]));
	p->threads[i] = index;
	p->nthreads++;
}

static void task_push(struct report *r, struct rthread *t, uint64_t id)
{
	if (t->ntasks == TASK_STACK_MAX) {
		/* Drop the bottom: the oldest entry is the least likely current. */
		memmove(&t->tasks[0], &t->tasks[1], (TASK_STACK_MAX - 1) * sizeof(t->tasks[0]));
		t->ntasks--;
	}
	int32_t s = slow_of(r, id);
	t->tasks[t->ntasks++] = (struct dtask){id, s};
	if (s >= 0)
		add_thread(&r->slow[s], t->pub.index);
}

static void task_remove(struct rthread *t, uint64_t id)
{
	for (uint32_t i = t->ntasks; i-- > 0;) {
		if (t->tasks[i].id != id)
			continue;
		memmove(&t->tasks[i], &t->tasks[i + 1], (t->ntasks - i - 1) * sizeof(t->tasks[0]));
		t->ntasks--;
		return;
	}
}

static inline int32_t current_slow(const struct rthread *t)
{
	return report_cur_slow(t);
}

static int32_t seen(struct slow_task *s, int32_t k, uint64_t ts)
{
	if (ts < s->first_begin[k])
		s->first_begin[k] = ts;
	return k;
}

/* The tree node for a region named `name` under `parent` (-1: top), made on
 * first sight; ts is when this instance began. Past the node limit, new
 * paths share one "(more regions)". */
static int32_t node_for(struct report *r, struct slow_task *s, int32_t parent, uint32_t name,
			uint64_t ts)
{
	struct report_task *p = &s->pub;
	/* Siblings are linked by index: the arrays move when they grow. */
	int32_t last = -1;
	for (int32_t k = parent < 0 ? s->first_root : s->first_child[parent]; k >= 0;
	     k = s->next_sibling[k]) {
		if (s->node_name[k] == name)
			return seen(s, k, ts);
		last = k;
	}
	if (p->nregions + 1 >= REPORT_MAX_TASK_REGIONS) {
		name = r->names.overflow_id;
		parent = -1;
		last = -1;
		for (int32_t k = s->first_root; k >= 0; k = s->next_sibling[k]) {
			if (s->node_name[k] == name && p->regions[k].name == NULL)
				return seen(s, k, ts);
			last = k;
		}
		if (p->nregions == REPORT_MAX_TASK_REGIONS)
			return -1;
	}
	if (p->nregions == s->cap_regions) {
		uint32_t ncap = s->cap_regions ? s->cap_regions * 2 : 8;
		struct report_region_node *n = realloc(p->regions, ncap * sizeof(*n));
		int32_t *fc = realloc(s->first_child, ncap * sizeof(*fc));
		int32_t *ns = fc ? realloc(s->next_sibling, ncap * sizeof(*ns)) : NULL;
		uint32_t *nn = ns ? realloc(s->node_name, ncap * sizeof(*nn)) : NULL;
		uint64_t *fb = nn ? realloc(s->first_begin, ncap * sizeof(*fb)) : NULL;
		if (n)
			p->regions = n;
		if (fc)
			s->first_child = fc;
		if (ns)
			s->next_sibling = ns;
		if (nn)
			s->node_name = nn;
		if (fb)
			s->first_begin = fb;
		if (!n || !fc || !ns || !nn || !fb)
			return -1;
		s->cap_regions = ncap;
	}
	int32_t id = (int32_t)p->nregions++;
	memset(&p->regions[id], 0, sizeof(p->regions[id]));
	p->regions[id].parent = parent;
	p->regions[id].depth = parent < 0 ? 0 : p->regions[parent].depth + 1;
	/* The overflow node is told apart by its NULL name until the end. */
	p->regions[id].name = name == r->names.overflow_id ? NULL : "";
	s->first_child[id] = -1;
	s->next_sibling[id] = -1;
	s->node_name[id] = name;
	s->first_begin[id] = ts;
	if (last >= 0)
		s->next_sibling[last] = id;
	else if (parent < 0)
		s->first_root = id;
	else
		s->first_child[parent] = id;
	return id;
}

static inline uint64_t clip_lo(uint64_t v, uint64_t lo)
{
	return v < lo ? lo : v;
}

static inline uint64_t clip_hi(uint64_t v, uint64_t hi)
{
	return v > hi ? hi : v;
}

/* Time [from, to) on thread t, whose current task is slow task si. */
static void slice(struct report *r, struct rthread *t, int32_t si, uint64_t from, uint64_t to)
{
	struct slow_task *s = &r->slow[si];
	uint64_t lo = clip_lo(from, s->pub.begin_ns), hi = clip_hi(to, s->pub.end_ns);
	if (hi <= lo)
		return;
	uint64_t d = hi - lo;
	s->pub.on_thread_ns += d;
	wait_slice(s, t, d);
	const struct dregion *top =
		t->ndregions && !t->doverflow ? &t->dregions[t->ndregions - 1] : NULL;
	int32_t node = top && top->slow == si && top->node >= 0 ? top->node : -1;
	sched_slice2(r, t, si, node, d);
	if (node >= 0)
		s->pub.regions[node].self_ns += d;
	else
		s->pub.outside_ns += d;
}

static void region_close(struct report *r, const struct dregion *d, uint64_t ts)
{
	if (d->slow < 0 || d->node < 0)
		return;
	struct slow_task *s = &r->slow[d->slow];
	uint64_t lo = clip_lo(d->begin, s->pub.begin_ns), hi = clip_hi(ts, s->pub.end_ns);
	struct report_region_node *n = &s->pub.regions[d->node];
	n->count++;
	if (hi > lo)
		n->total_ns += hi - lo;
}

static void region_open(struct report *r, struct rthread *t, const char *name, uint64_t ts)
{
	if (t->doverflow || t->ndregions == REGION_DEPTH_MAX) {
		t->doverflow++;
		return;
	}
	if (t->ndregions == t->dcap) {
		uint32_t ncap = t->dcap ? t->dcap * 2 : 16;
		struct dregion *n = realloc(t->dregions, ncap * sizeof(*n));
		if (!n) {
			t->doverflow++;
			return;
		}
		t->dregions = n;
		t->dcap = ncap;
	}
	struct dregion d = {ts, current_slow(t), -1};
	if (d.slow >= 0) {
		/* Nested under the innermost open region when that is the same
		 * task's; otherwise a top-level region of the task. */
		const struct dregion *up = t->ndregions ? &t->dregions[t->ndregions - 1] : NULL;
		int32_t parent = up && up->slow == d.slow ? up->node : -1;
		if (up && up->slow == d.slow && up->node < 0)
			d.slow = -1; /* under an untracked node: count nothing */
		else
			d.node = node_for(r, &r->slow[d.slow], parent,
					  ptrcache_id(&r->pc, &r->names, name), ts);
	}
	t->dregions[t->ndregions++] = d;
}

static void add_log(struct report *r, struct rthread *t, int32_t si, const struct ct_event *ev)
{
	struct slow_task *s = &r->slow[si];
	struct report_task *p = &s->pub;
	if (ev->ts < p->begin_ns || ev->ts > p->end_ns)
		return;
	uint64_t off = ev->ts - p->begin_ns;
	struct report_log *slot = NULL;
	if (p->nlogs < REPORT_MAX_TASK_LOGS) {
		if (p->nlogs == s->cap_logs) {
			uint32_t ncap = s->cap_logs ? s->cap_logs * 2 : 4;
			struct report_log *n = realloc(p->logs, ncap * sizeof(*n));
			if (!n)
				return;
			p->logs = n;
			s->cap_logs = ncap;
		}
		slot = &p->logs[p->nlogs++];
	} else {
		/* Full: keep the earliest logs, whatever order threads come in. */
		p->logs_omitted++;
		uint32_t late = 0;
		for (uint32_t i = 1; i < p->nlogs; i++)
			if (p->logs[i].offset_ns > p->logs[late].offset_ns)
				late = i;
		if (p->logs[late].offset_ns <= off)
			return;
		slot = &p->logs[late];
		free(slot->message);
	}
	size_t n = ev->bytes ? ev->nbytes : 0;
	char *msg = malloc(n + 1);
	if (msg) {
		if (n)
			memcpy(msg, ev->bytes, n);
		msg[n] = 0;
	}
	const char *cat = ev->nargs > 0 ? ev->strs[0] : NULL;
	*slot = (struct report_log){
		.offset_ns = off,
		.thread = t->pub.index,
		.category = r->names.strs[ptrcache_id(&r->pc, &r->names, cat)],
		.message = msg,
	};
	if (!msg) {
		p->nlogs--;
		p->logs_omitted++;
	}
}

/* task.trace: ids as the traceparent writes them (lowercase hex). A task
 * stamped twice keeps the first context: the one it was received with. */
static void set_trace(struct report_task *p, const struct ct_event *ev)
{
	if (p->has_trace || (ev->args[1] == 0 && ev->args[2] == 0))
		return;
	p->has_trace = 1;
	snprintf(p->trace_id, sizeof p->trace_id, "%016" PRIx64 "%016" PRIx64, ev->args[1],
		 ev->args[2]);
	snprintf(p->span_id, sizeof p->span_id, "%016" PRIx64, ev->args[3]);
	snprintf(p->parent_id, sizeof p->parent_id, "%016" PRIx64, ev->args[4]);
	p->trace_flags = (uint8_t)ev->args[5];
}

static void close_all(struct report *r, struct rthread *t, uint64_t ts)
{
	while (t->ndregions) {
		const struct dregion *d = &t->dregions[--t->ndregions];
		region_close(r, d, ts);
	}
	t->doverflow = 0;
}

void report_detail_event(struct report *r, const struct ct_event *ev)
{
	struct rthread *t = report_thread_of(r, ev->thread);
	uint64_t ts = ev->ts;
	r->detail_fed = 1;
	if (!t->s2.init)
		sched_first2(t, ts);
	int32_t cur = current_slow(t);
	if (cur >= 0 && t->has_last && ts > t->last_ts)
		slice(r, t, cur, t->last_ts, ts);
	if (!t->has_last || ts > t->last_ts)
		t->last_ts = ts;
	t->has_last = 1;

	uint64_t id = ev->nargs > 0 ? ev->args[0] : 0;
	switch (ev->type & 127) {
	case CT_EV_TASK_BEGIN:
	case CT_EV_TASK_ENTER:
		sched_task_enter2(r, t, ts);
		if (id)
			task_push(r, t, id);
		break;
	case CT_EV_TASK_END: {
		int32_t s = slow_of(r, id);
		if (s >= 0)
			add_thread(&r->slow[s], t->pub.index);
		task_remove(t, id);
		break;
	}
	case CT_EV_TASK_LEAVE:
		task_remove(t, id);
		break;
	case CT_EV_TASK_TRACE: {
		int32_t s = slow_of(r, id);
		if (s >= 0 && ev->nargs >= 6)
			set_trace(&r->slow[s].pub, ev);
		break;
	}
	case CT_EV_REGION_BEGIN:
		region_open(r, t, ev->nargs > 0 ? ev->strs[0] : NULL, ts);
		break;
	case CT_EV_REGION_END:
		if (t->doverflow)
			t->doverflow--;
		else if (t->ndregions)
			region_close(r, &t->dregions[--t->ndregions], ts);
		break;
	case CT_EV_LOG:
		if (cur >= 0)
			add_log(r, t, cur, ev);
		break;
	case CT_EV_WAIT_BEGIN:
		sched_wait_edge(r, t, 2, ts);
		wait_begin2(r, t, cur, ev);
		break;
	case CT_EV_WAIT_END:
		sched_wait_edge(r, t, 2, ts);
		wait_end2(r, t, cur, ts, 0);
		break;
	case CT_EV_LOSS:
	case CT_EV_SCHED_OUT:
	case CT_EV_SCHED_IN:
	case CT_EV_SCHED_SAMPLE:
	case CT_EV_FAULT:
	case CT_EV_KERNEL_TIME:
	case CT_EV_CPU_SAMPLE:
		sched_event(r, t, 2, ev);
		break;
	case CT_EV_THREAD_END:
		sched_wait_edge(r, t, 2, ts);
		sched_thread_end(r, t, 2, ts);
		wait_end2(r, t, cur, ts, 0);
		close_all(r, t, ts);
		t->ntasks = 0;
		t->has_last = 0;
		break;
	default:
		break;
	}
}

static int cmp_log(const void *a, const void *b)
{
	const struct report_log *x = a, *y = b;
	if (x->offset_ns != y->offset_ns)
		return x->offset_ns < y->offset_ns ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

/* Sorts a sibling list by first begin (ties: first seen). Pass 2 meets
 * regions thread by thread, so creation order is not time order when a task
 * ran on several threads. Lists are short: insertion sort. */
static void sort_siblings(struct slow_task *s, int32_t *head)
{
	int32_t sorted = -1, k = *head;
	while (k >= 0) {
		int32_t next = s->next_sibling[k];
		int32_t *at = &sorted;
		while (*at >= 0 && (s->first_begin[*at] < s->first_begin[k] ||
				    (s->first_begin[*at] == s->first_begin[k] && *at < k)))
			at = &s->next_sibling[*at];
		s->next_sibling[k] = *at;
		*at = k;
		k = next;
	}
	*head = sorted;
	for (k = sorted; k >= 0; k = s->next_sibling[k])
		sort_siblings(s, &s->first_child[k]);
}

/* Pre-order walk so each parent comes before its children, children in
 * the order they first began. */
static void preorder(struct slow_task *s, int32_t node, int32_t parent, int32_t *map,
		     struct report_region_node *out, uint32_t *n)
{
	for (; node >= 0; node = s->next_sibling[node]) {
		int32_t at = (int32_t)(*n)++;
		map[node] = at;
		out[at] = s->pub.regions[node];
		out[at].parent = parent;
		preorder(s, s->first_child[node], at, map, out, n);
	}
}

void report_detail_close(struct report *r)
{
	if (r->detail_closed)
		return;
	r->detail_closed = 1;
	/* Off-CPU pieces still open end with the thread (or the trace, in a
	 * wait), under the wait state they had. */
	sched_detail_close(r);
	/* Regions still open belong to their task up to the thread's last
	 * event (clipped to the task's end). */
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct rthread *t = &r->threads[i];
		close_all(r, t, t->last_ts);
		/* A wait open at the end of the trace holds its task to the end. */
		int32_t cur = current_slow(t);
		if (t->w2.open && cur >= 0 && t->has_last && r->res.last_ns > t->last_ts)
			slice(r, t, cur, t->last_ts, r->res.last_ns);
		wait_end2(r, t, cur, r->res.last_ns, t->pub.waiting);
	}
	waits_detail_close(r);
	sched_finish(r);
	r->res.slow = calloc(r->nslow ? r->nslow : 1, sizeof(*r->res.slow));
	if (!r->res.slow)
		abort();
	r->res.nslow = r->nslow;
	r->res.detail_done = r->detail_gen > 0 || r->detail_fed;
	for (uint32_t i = 0; i < r->nslow; i++) {
		struct slow_task *s = &r->slow[i];
		struct report_task *p = &s->pub;
		if (p->nregions) {
			struct report_region_node *out = calloc(p->nregions, sizeof(*out));
			int32_t *map = calloc(p->nregions, sizeof(*map));
			if (!out || !map)
				abort();
			for (uint32_t j = 0; j < p->nregions; j++)
				p->regions[j].name = p->regions[j].name
							     ? r->names.strs[s->node_name[j]]
							     : "(more regions)";
			uint32_t n = 0;
			sort_siblings(s, &s->first_root);
			preorder(s, s->first_root, -1, map, out, &n);
			free(map);
			free(p->regions);
			p->regions = out;
			p->nregions = n;
		}
		if (p->nlogs)
			qsort(p->logs, p->nlogs, sizeof(*p->logs), cmp_log);
		r->res.slow[i] = *p;
	}
}
