/* The report's results: the pass-1 aggregates turned into sorted,
 * self-contained tables (threads, task types with percentiles, regions,
 * loss ranges) once both passes are done. */
#include <stdlib.h>
#include <string.h>

#include "analysis/report_int.h"

static int cmp_thread(const void *a, const void *b)
{
	const struct report_thread *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_type(const void *a, const void *b)
{
	const struct report_type *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->unfinished != y->unfinished)
		return x->unfinished > y->unfinished ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_region(const void *a, const void *b)
{
	const struct report_region_stat *x = a, *y = b;
	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_loss(const void *a, const void *b)
{
	const struct report_loss_range *x = a, *y = b;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->in_band - y->in_band;
}

static void finish_threads(struct report *r)
{
	struct report_result *res = &r->res;
	res->threads = calloc(r->nthreads ? r->nthreads : 1, sizeof(*res->threads));
	if (!res->threads)
		abort();
	for (uint32_t i = 0; i < r->nthreads; i++) {
		const struct report_thread *t = &r->threads[i].pub;
		/* Index 0 only collects what no thread could be named for. */
		if (t->index == 0 && t->events == 0 && t->lost_events == 0)
			continue;
		if (r->threads[i].pseudo) /* [cgroup]: its throttle events are in res.cpu */
			continue;
		res->threads[res->nthreads] = *t;
		if (!res->threads[res->nthreads].name)
			res->threads[res->nthreads].name = r->threads[i].pub.name = strdup("");
		res->nthreads++;
	}
	qsort(res->threads, res->nthreads, sizeof(*res->threads), cmp_thread);
}

static void finish_tasks(struct report *r)
{
	struct report_result *res = &r->res;
	for (uint32_t i = 0; i <= r->open.mask; i++) {
		const struct open_task *t = &r->open.slots[i];
		if (t->id == 0)
			continue;
		if (t->state == OPEN_ENDED) {
			res->tasks_before_trace++;
			continue;
		}
		struct rtype *ty = &r->types[t->type];
		ty->unfinished++;
		if (ty->oldest_unfinished == 0 || t->begin < ty->oldest_unfinished)
			ty->oldest_unfinished = t->begin;
	}
	res->types = calloc(r->ntypes ? r->ntypes : 1, sizeof(*res->types));
	if (!res->types)
		abort();
	for (uint32_t i = 0; i < r->ntypes; i++) {
		const struct rtype *ty = &r->types[i];
		const struct hist *h = &ty->h;
		struct report_type *o = &res->types[res->ntypes++];
		o->name = r->names.strs[ty->name];
		o->count = h->count;
		o->unfinished = ty->unfinished;
		o->oldest_unfinished_begin_ns = ty->oldest_unfinished;
		res->tasks_unfinished += ty->unfinished;
		if (h->count == 0)
			continue;
		o->min_ns = h->min;
		o->max_ns = h->max;
		o->total_ns = h->total;
		o->p50_ns = hist_quantile(h, 5000);
		o->p90_ns = hist_quantile(h, 9000);
		o->p99_ns = hist_quantile(h, 9900);
		o->p999_ns = hist_quantile(h, 9990);
	}
	qsort(res->types, res->ntypes, sizeof(*res->types), cmp_type);
}

static void finish_regions(struct report *r)
{
	struct report_result *res = &r->res;
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->cap_rstats; i++)
		n += r->rstats[i].count > 0;
	res->nregion_names = n;
	res->top_regions = calloc(n ? n : 1, sizeof(*res->top_regions));
	if (!res->top_regions)
		abort();
	n = 0;
	for (uint32_t i = 0; i < r->cap_rstats; i++) {
		const struct rstat *s = &r->rstats[i];
		if (s->count == 0)
			continue;
		res->top_regions[n++] = (struct report_region_stat){r->names.strs[i], s->count,
								    s->total, s->self, s->max};
	}
	qsort(res->top_regions, n, sizeof(*res->top_regions), cmp_region);
	res->ntop_regions = n < r->opt.top_regions ? n : r->opt.top_regions;
}

const struct report_result *report_finish(struct report *r)
{
	if (r->finished)
		return &r->res;
	report_pass1_done(r);
	report_detail_close(r);
	cpu_finish(r);
	holder_finish(r);
	r->finished = 1;
	struct report_result *res = &r->res;
	if (res->events == 0)
		res->first_ns = res->last_ns = 0;
	/* Read in thread order; shown in time order. */
	qsort(res->loss.ranges, res->loss.nranges, sizeof(*res->loss.ranges), cmp_loss);
	waits_finish(r);
	finish_threads(r);
	finish_tasks(r);
	finish_regions(r);
	return res;
}
