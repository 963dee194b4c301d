/* CPU limits in the report: how many threads wanted a CPU at once (a sweep
 * over each generation's sched.out/sched.in), the cgroup's quota and cpuset
 * from the header, throttling (runnable time reclassified as throttled,
 * through time buckets), fault sites and the functions in CPU samples. */
#include <stdlib.h>
#include <string.h>

#include "analysis/report_int.h"

#define TB_WIDTH0 1000000ull /* 1 ms buckets to begin with; doubled as the trace grows */

int cpu_init(struct report *r)
{
	r->cpu.gen_serial = 1;
	r->cpu.tb_width = TB_WIDTH0;
	return u64map_init(&r->cpu.fsite_slot);
}

void cpu_free(struct report *r)
{
	for (uint32_t i = 0; i < r->nthreads; i++)
		free(r->threads[i].rq);
	free(r->cpu.source_meta);
	free(r->cpu.scope_meta);
	free(r->cpu.deltas);
	free(r->cpu.tiv);
	free(r->cpu.fsites);
	free(r->cpu.fn);
	free(r->res.cpu.fault_sites);
	u64map_free(&r->cpu.fsite_slot);
}

static uint32_t num(const char *v)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	return *v && !*end && n < UINT32_MAX ? (uint32_t)n : 0;
}

void report_trace_meta(struct report *r, const char *const *meta, uint32_t n)
{
	uint64_t quota = 0, period = 0;
	for (uint32_t i = 0; i + 1 < n; i += 2) {
		const char *k = meta[i], *v = meta[i + 1] ? meta[i + 1] : "";
		if (!k)
			continue;
		if (strcmp(k, "sched.source") == 0) {
			free(r->cpu.source_meta);
			r->cpu.source_meta = strdup(v);
		} else if (strcmp(k, "sched.scope") == 0) {
			free(r->cpu.scope_meta);
			r->cpu.scope_meta = strdup(v);
		} else if (strcmp(k, "cgroup.cpu.quota_us") == 0) {
			quota = num(v);
		} else if (strcmp(k, "cgroup.cpu.period_us") == 0) {
			period = num(v);
		} else if (strcmp(k, "cgroup.cpus") == 0) {
			r->cpu.cgroup_cpus = num(v);
		} else if (strcmp(k, "cpus.allowed") == 0) {
			r->cpu.affinity_cpus = num(v);
		} else if (strcmp(k, "cpus.online") == 0) {
			r->cpu.online_cpus = num(v);
		} else if (strcmp(k, "trigger.task") == 0) {
			r->trigger_id = strtoull(v, NULL, 10);
			if (!r->opt.task)
				r->pin_id = r->trigger_id;
		} else if (strcmp(k, "trigger.task_type") == 0) {
			free(r->pin_type);
			r->pin_type = strdup(v);
		}
	}
	if (quota && period) {
		r->cpu.quota_cpus = (double)quota / (double)period;
		r->cpu.tb_on = 1; /* throttling is possible: keep runnable time by bucket */
	}
}

/* ---- time buckets ---- */

static void tb_halve(uint64_t *b)
{
	for (unsigned i = 0; i < TB_BUCKETS / 2; i++)
		b[i] = b[2 * i] + b[2 * i + 1];
	memset(b + TB_BUCKETS / 2, 0, TB_BUCKETS / 2 * sizeof(*b));
}

/* Makes the buckets reach `to`, doubling their width. */
static void tb_cover(struct report *r, uint64_t to)
{
	struct rcpu *c = &r->cpu;
	while (to > c->tb_origin && (to - c->tb_origin) / c->tb_width >= TB_BUCKETS) {
		c->tb_width *= 2;
		for (uint32_t i = 0; i < r->nthreads; i++)
			if (r->threads[i].rq)
				tb_halve(r->threads[i].rq);
	}
}

static unsigned tb_index(const struct rcpu *c, uint64_t ts)
{
	uint64_t b = ts > c->tb_origin ? (ts - c->tb_origin) / c->tb_width : 0;
	return b < TB_BUCKETS ? (unsigned)b : TB_BUCKETS - 1;
}

/* Spreads `amount` evenly over [from, to) into b (or, with to <= from, into
 * from's bucket). With frac set, returns sum(part * frac[bucket]) instead
 * of adding. */
static uint64_t tb_spread(const struct rcpu *c, uint64_t *b, const double *frac, uint64_t from,
			  uint64_t to, uint64_t amount)
{
	if (from < c->tb_origin)
		from = c->tb_origin;
	if (to <= from) {
		unsigned i = tb_index(c, from);
		if (frac)
			return (uint64_t)((double)amount * frac[i]);
		b[i] += amount;
		return 0;
	}
	double sum = 0, len = (double)(to - from);
	uint64_t left = amount;
	for (unsigned i = tb_index(c, from), last = tb_index(c, to - 1); i <= last; i++) {
		uint64_t lo = c->tb_origin + i * c->tb_width, hi = lo + c->tb_width;
		lo = lo > from ? lo : from;
		hi = hi < to ? hi : to;
		if (i == last)
			hi = to; /* past the last bucket (clamped): all of the rest */
		uint64_t part =
			i == last ? left : (uint64_t)((double)amount * (double)(hi - lo) / len);
		if (part > left)
			part = left;
		left -= part;
		if (frac)
			sum += (double)part * frac[i];
		else
			b[i] += part;
	}
	return (uint64_t)sum;
}

static void tb_origin(struct report *r, uint64_t ts)
{
	if (!r->cpu.tb_origin_set) {
		r->cpu.tb_origin = ts;
		r->cpu.tb_origin_set = 1;
	}
}

void cpu_runnable1(struct report *r, struct rthread *t, uint64_t from, uint64_t to, uint64_t amount)
{
	struct rcpu *c = &r->cpu;
	c->rq_total += amount;
	if (!c->tb_on || !amount)
		return;
	tb_origin(r, from);
	if (!t->rq) {
		t->rq = calloc(TB_BUCKETS, sizeof(*t->rq));
		if (!t->rq)
			return;
	}
	tb_cover(r, to);
	tb_spread(c, t->rq, NULL, from, to, amount);
}

uint64_t cpu_throttled_part(const struct report *r, uint64_t from, uint64_t to, uint64_t amount)
{
	const struct rcpu *c = &r->cpu;
	if (!c->tb_on)
		return (uint64_t)((double)amount * c->frac_all);
	uint64_t v = tb_spread(c, NULL, c->tb_frac, from, to, amount);
	return v < amount ? v : amount;
}

uint64_t cpu_thread_throttled(const struct report *r, const struct rthread *t, uint64_t runnable)
{
	const struct rcpu *c = &r->cpu;
	double v = 0;
	if (!c->tb_on)
		v = (double)runnable * c->frac_all;
	else if (t->rq)
		for (unsigned i = 0; i < TB_BUCKETS; i++)
			v += (double)t->rq[i] * c->tb_frac[i];
	uint64_t n = (uint64_t)v;
	return n < runnable ? n : runnable;
}

/* A throttle event covers the time since the previous one (or the start). */
void cpu_throttle1(struct report *r, const struct ct_event *ev)
{
	struct rcpu *c = &r->cpu;
	struct report_cpu *o = &r->res.cpu;
	uint64_t ts = ev->ts, thr = ev->nargs > 1 ? ev->args[1] : 0;
	o->throttle_events++;
	o->periods_throttled += ev->nargs > 0 ? ev->args[0] : 0;
	o->throttled_ns += thr;
	o->periods += ev->nargs > 2 ? ev->args[2] : 0;
	uint64_t from = c->thr_prev ? c->thr_prev : c->tb_origin_set ? c->tb_origin : ts;
	c->thr_prev = ts;
	if (!c->tb_on || !thr)
		return;
	tb_origin(r, from);
	tb_cover(r, ts);
	if (!c->tiv && !(c->tiv = malloc(TIV_MAX * sizeof(*c->tiv))))
		return;
	if (c->ntiv == TIV_MAX) {
		/* Coarser: each pair of neighbours becomes one interval. */
		for (uint32_t i = 0; i < TIV_MAX / 2; i++)
			c->tiv[i] = (struct tiv){c->tiv[2 * i].from, c->tiv[2 * i + 1].to,
						 c->tiv[2 * i].ns + c->tiv[2 * i + 1].ns};
		c->ntiv = TIV_MAX / 2;
	}
	c->tiv[c->ntiv++] = (struct tiv){from, ts, thr};
}

/* ---- threads wanting a CPU at once ---- */

static void push(struct rcpu *c, uint64_t ts, int64_t d)
{
	if (c->ndeltas == UINT64_MAX)
		return; /* this generation is left out */
	if (c->ndeltas == c->cap_deltas) {
		uint64_t ncap = c->cap_deltas ? 2 * c->cap_deltas : 256;
		struct delta *n = ncap <= DELTAS_MAX ? realloc(c->deltas, ncap * sizeof(*n)) : NULL;
		if (!n) {
			c->ndeltas = UINT64_MAX;
			return;
		}
		c->deltas = n;
		c->cap_deltas = ncap;
	}
	c->deltas[c->ndeltas++] = (struct delta){ts, d};
}

void cpu_gen_first(struct report *r, struct rthread *t, uint64_t ts)
{
	struct rcpu *c = &r->cpu;
	t->gen_stamp = c->gen_serial;
	if (t->pseudo)
		return;
	if (!t->seen) {
		t->seen = t->want = 1; /* running from its first event */
		push(c, ts, 1);
	} else if (t->want && !t->gone) {
		push(c, c->gmin, 1);
	}
}

void cpu_want(struct report *r, struct rthread *t, uint64_t ts, int want)
{
	if (t->pseudo || !t->seen || t->gone || t->want == want)
		return;
	t->want = (uint8_t)want;
	push(&r->cpu, ts, want ? 1 : -1);
}

static int cmp_delta(const void *a, const void *b)
{
	const struct delta *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->d > y->d) - (x->d < y->d); /* leaving before arriving */
}

/* Ends a generation: threads still wanting a CPU stop at its end (and start
 * again at the next one's beginning), then the levels are swept. */
static void gen_end(struct report *r)
{
	struct rcpu *c = &r->cpu;
	uint64_t gmax = c->have_gen ? c->gmax : r->res.last_ns;
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct rthread *t = &r->threads[i];
		if (t->pseudo || !t->seen || t->gone || !t->want)
			continue;
		if (t->gen_stamp != c->gen_serial) {
			if (t->pub.exited) {
				t->gone = 1;
				continue;
			}
			push(c, c->gmin, 1);
		}
		push(c, gmax, -1);
	}
	if (c->ndeltas == UINT64_MAX) {
		c->gens_skipped++;
	} else if (c->ndeltas) {
		qsort(c->deltas, c->ndeltas, sizeof(*c->deltas), cmp_delta);
		int64_t level = 0;
		uint64_t prev = c->deltas[0].ts;
		for (uint64_t i = 0; i < c->ndeltas; i++) {
			const struct delta *d = &c->deltas[i];
			if (d->ts > prev && level >= 0)
				c->lvl_ns[level < LEVEL_MAX ? level : LEVEL_MAX] += d->ts - prev;
			prev = d->ts;
			level += d->d;
		}
	}
	c->ndeltas = 0;
	c->gen_serial++;
}

void cpu_generation(struct report *r, const struct ct_generation *g)
{
	struct rcpu *c = &r->cpu;
	if (c->have_gen)
		gen_end(r);
	c->have_gen = 1;
	c->gmin = g->min_ts;
	c->gmax = g->max_ts;
	if (g->nevents)
		tb_origin(r, g->min_ts);
}

/* ---- faults and CPU samples ---- */

static uint32_t name_id(struct report *r, const char *s)
{
	return ptrcache_id(&r->pc, &r->names, s && *s ? s : "(unknown)");
}

void cpu_fault1(struct report *r, const struct ct_event *ev)
{
	struct rcpu *c = &r->cpu;
	uint64_t kind = ev->nargs > 0 ? ev->args[0] : 0, n = ev->nargs > 1 ? ev->args[1] : 0;
	if (kind == CT_FAULT_MAJOR)
		r->res.cpu.faults_major += n;
	else
		r->res.cpu.faults_minor += n;
	if (!ev->stack || !ev->stack->nframes)
		return;
	const struct ct_frame *f = &ev->stack->frames[0];
	uint32_t func = name_id(r, f->function), file = ptrcache_id(&r->pc, &r->names, f->file);
	uint64_t line = f->line < 0xfffff ? f->line : 0xfffff;
	uint64_t key =
		1ull << 62 | line << 40 | (uint64_t)(func & 0xfffff) << 20 | (file & 0xfffff);
	int created;
	uint64_t *v = u64map_find(&c->fsite_slot, key);
	if (!v) {
		if (c->nfsites == FAULT_SITES_MAX)
			return;
		if ((c->nfsites & (c->nfsites - 1)) == 0) {
			uint32_t ncap = c->nfsites ? 2 * c->nfsites : 16;
			struct fsite *ns = realloc(c->fsites, ncap * sizeof(*ns));
			if (!ns)
				return;
			c->fsites = ns;
		}
		v = u64map_put(&c->fsite_slot, key, &created);
		if (!v)
			return;
		*v = c->nfsites;
		c->fsites[c->nfsites++] = (struct fsite){func, file, f->line, 0, 0};
	}
	struct fsite *s = &c->fsites[*v];
	if (kind == CT_FAULT_MAJOR)
		s->major += n;
	else
		s->minor += n;
}

static struct fstat *fstat_of(struct report *r, uint32_t id)
{
	struct rcpu *c = &r->cpu;
	if (id >= c->cap_fn) {
		uint32_t ncap = c->cap_fn ? c->cap_fn : 256;
		while (ncap <= id)
			ncap *= 2;
		struct fstat *n = realloc(c->fn, ncap * sizeof(*n));
		if (!n)
			return NULL;
		memset(n + c->cap_fn, 0, (ncap - c->cap_fn) * sizeof(*n));
		c->fn = n;
		c->cap_fn = ncap;
	}
	return &c->fn[id];
}

/* A module of the system's (libc, a library from a package, the vDSO),
 * not the program's own code. */
static int system_module(const char *m)
{
	return m && (!strcmp(m, "[vdso]") || !strncmp(m, "/lib/", 5) || !strncmp(m, "/lib64/", 7) ||
		     !strncmp(m, "/usr/lib/", 9) || !strncmp(m, "/usr/lib64/", 11));
}

/* A CPU sample: its innermost function gets self, every function on its
 * stack cumulative (once per sample, whatever the recursion). s: the slow
 * task it belongs to in pass 2, NULL in pass 1. */
void cpu_sample(struct report *r, struct slow_task *s, const struct ct_event *ev)
{
	uint64_t w = ev->nargs > 0 ? ev->args[0] : 0;
	const struct ct_stack *st = ev->stack;
	if (!s) {
		r->res.cpu.cpu_samples++;
		r->res.cpu.cpu_sample_ns += w;
	}
	if (!st || !st->nframes)
		return;
	/* The vDSO's frames are the system call's entry (clock_gettime of a
	 * CPU clock enters the kernel), and a CPU timer's signal is delivered
	 * as a system call returns, so a loop that reads the time showed its
	 * samples there: the time goes to the function that called it. */
	uint32_t first = 0;
	while (first + 1 < st->nframes && st->frames[first].module &&
	       !strcmp(st->frames[first].module, "[vdso]"))
		first++;
	/* The stack kept for a task's top function starts at the program's own
	 * code: the site a diagnosis names is where the program called into the
	 * system (the demo's CPU-bound loop reads its CPU clock through libc,
	 * and under load its samples fell in __clock_gettime). */
	uint32_t own = first;
	while (own + 1 < st->nframes && system_module(st->frames[own].module))
		own++;
	if (system_module(st->frames[own].module))
		own = first; /* all of it is the system's */
	uint32_t stamp = ++r->cpu.fn_stamp;
	for (uint32_t i = first; i < st->nframes; i++) {
		uint32_t id = name_id(r, st->frames[i].function);
		if (s) {
			uint32_t k = 0;
			while (k < s->nfn && s->fn[k].name != id)
				k++;
			if (k == s->nfn) {
				if (k == TASK_FUNCS)
					continue;
				memset(&s->fn[k], 0, sizeof(s->fn[k]));
				s->fn[k].name = id;
				s->nfn++;
			}
			if (i == first) {
				if (!s->fn[k].self)
					s->fn[k].nfr = report_stack_ids(r, st, own, s->fn[k].fr);
				s->fn[k].self++;
				s->fn[k].self_ns += w;
			}
			continue;
		}
		struct fstat *f = fstat_of(r, id);
		if (!f)
			return;
		if (i == first) {
			f->self++;
			f->self_ns += w;
		}
		if (f->stamp != stamp) {
			f->stamp = stamp;
			f->cum++;
			f->cum_ns += w;
		}
	}
}

/* ---- ends ---- */

void cpu_pass1_done(struct report *r)
{
	struct rcpu *c = &r->cpu;
	gen_end(r);
	uint64_t thr = r->res.cpu.throttled_ns;
	c->frac_all = c->rq_total ? (double)thr / (double)c->rq_total : 0;
	if (c->frac_all > 1)
		c->frac_all = 1;
	if (!c->tb_on)
		return;
	/* Runnable time of all threads by bucket; each throttle interval takes
	 * its throttled time out of the runnable time inside it, the same
	 * share everywhere in it (at most all of it). */
	uint64_t *rq = calloc(TB_BUCKETS, sizeof(*rq));
	double *thr_b = calloc(TB_BUCKETS, sizeof(*thr_b));
	if (!rq || !thr_b) {
		free(rq);
		free(thr_b);
		return;
	}
	for (uint32_t i = 0; i < r->nthreads; i++)
		for (unsigned b = 0; r->threads[i].rq && b < TB_BUCKETS; b++)
			rq[b] += r->threads[i].rq[b];
	for (uint32_t k = 0; k < c->ntiv; k++) {
		const struct tiv *v = &c->tiv[k];
		unsigned b0 = tb_index(c, v->from),
			 b1 = tb_index(c, v->to > v->from ? v->to - 1 : v->to);
		double in = 0, share[TB_BUCKETS];
		for (unsigned b = b0; b <= b1; b++) {
			/* the part of bucket b inside the interval */
			uint64_t lo = c->tb_origin + b * c->tb_width, hi = lo + c->tb_width;
			lo = lo > v->from ? lo : v->from;
			hi = hi < v->to ? hi : v->to;
			share[b] = b0 == b1 || hi <= lo ? 1.0
							: (double)(hi - lo) / (double)c->tb_width;
			in += (double)rq[b] * share[b];
		}
		double f = in > 0 ? (double)v->ns / in : 0;
		f = f > 1 ? 1 : f;
		for (unsigned b = b0; b <= b1; b++)
			thr_b[b] += f * (double)rq[b] * share[b];
	}
	for (unsigned b = 0; b < TB_BUCKETS; b++) {
		double f = rq[b] ? thr_b[b] / (double)rq[b] : 0;
		c->tb_frac[b] = f > 1 ? 1 : f;
	}
	free(rq);
	free(thr_b);
}

static int cmp_fsite(const void *a, const void *b)
{
	const struct report_fault_site *x = a, *y = b;
	if (x->major != y->major)
		return x->major > y->major ? -1 : 1;
	if (x->minor != y->minor)
		return x->minor > y->minor ? -1 : 1;
	return strcmp(x->site.function, y->site.function);
}

/* Keeps the top n of a[0..len) by key, sorted, in out. */
static uint32_t top_funcs(struct report *r, struct report_func *out, int by_cum)
{
	uint32_t n = 0;
	for (uint32_t id = 0; id < r->cpu.cap_fn; id++) {
		const struct fstat *f = &r->cpu.fn[id];
		uint64_t key = by_cum ? f->cum : f->self;
		if (!key)
			continue;
		uint32_t k = n < REPORT_TOP_FUNCS ? n++ : REPORT_TOP_FUNCS;
		while (k > 0 && (by_cum ? out[k - 1].cum : out[k - 1].self) < key) {
			if (k < REPORT_TOP_FUNCS)
				out[k] = out[k - 1];
			k--;
		}
		if (k < REPORT_TOP_FUNCS)
			out[k] = (struct report_func){r->names.strs[id], f->self, f->cum,
						      f->self_ns, f->cum_ns};
	}
	return n;
}

void cpu_finish(struct report *r)
{
	struct rcpu *c = &r->cpu;
	struct report_cpu *o = &r->res.cpu;
	int perf = 0, samples = 0;
	for (uint32_t i = 0; i < r->nthreads; i++) {
		const struct rthread *t = &r->threads[i];
		perf |= t->used_perf;
		samples |= t->used_samples;
		o->switches += t->pub.switches;
		o->preemptions += t->pub.preemptions;
	}
	o->samples = r->res.events_by_kind[CT_EV_SCHED_SAMPLE];
	o->source = perf && samples ? REPORT_SCHED_MIXED
		    : perf	    ? REPORT_SCHED_PERF
		    : samples	    ? REPORT_SCHED_SCHEDSTAT
				    : REPORT_SCHED_NONE;
	o->source_meta = c->source_meta;
	o->scope_meta = c->scope_meta;
	o->quota_cpus = c->quota_cpus;
	o->cgroup_cpus = c->cgroup_cpus;
	o->affinity_cpus = c->affinity_cpus;
	o->online_cpus = c->online_cpus;
	double lim[] = {c->quota_cpus, c->cgroup_cpus, c->affinity_cpus, c->online_cpus};
	for (unsigned i = 0; i < 4; i++)
		if (lim[i] > 0 && (o->cpus_allowed == 0 || lim[i] < o->cpus_allowed))
			o->cpus_allowed = lim[i];
	o->concurrency = perf && c->gens_skipped == 0;
	if (o->concurrency) {
		uint64_t total = 0;
		for (unsigned l = 0; l <= LEVEL_MAX; l++) {
			total += c->lvl_ns[l];
			if (c->lvl_ns[l])
				o->peak = l;
			if (o->cpus_allowed > 0 && (double)l > o->cpus_allowed)
				o->over_ns += c->lvl_ns[l];
		}
		o->measured_ns = total;
		/* the smallest level exceeded no more than 1% (50%) of the time */
		uint64_t above = total;
		int got99 = 0, got50 = 0;
		for (unsigned l = 0; l <= LEVEL_MAX && total; l++) {
			above -= c->lvl_ns[l];
			if (!got99 && above * 100 <= total) {
				o->p99 = l;
				got99 = 1;
			}
			if (!got50 && above * 2 <= total) {
				o->p50 = l;
				got50 = 1;
			}
		}
		/* A moment above the limit is normal; 1% of the time, or any
		 * throttling, is worth saying. */
		o->finding = o->cpus_allowed > 0 && (double)o->peak > o->cpus_allowed &&
			     (o->over_ns * 100 >= total || o->periods_throttled > 0);
	}
	o->nfault_sites = c->nfsites;
	o->fault_sites = calloc(c->nfsites ? c->nfsites : 1, sizeof(*o->fault_sites));
	if (!o->fault_sites)
		abort();
	for (uint32_t i = 0; i < c->nfsites; i++) {
		const struct fsite *s = &c->fsites[i];
		o->fault_sites[i] = (struct report_fault_site){
			{r->names.strs[s->func], r->names.strs[s->file], s->line},
			s->minor,
			s->major};
	}
	qsort(o->fault_sites, c->nfsites, sizeof(*o->fault_sites), cmp_fsite);
	o->nself = top_funcs(r, o->self, 0);
	o->ncum = top_funcs(r, o->cum, 1);
	/* each slow task's functions, by self samples */
	for (uint32_t i = 0; i < r->nslow; i++) {
		struct slow_task *s = &r->slow[i];
		struct report_task *p = &s->pub;
		for (uint32_t k = 0; k < s->nfn; k++) {
			if (!s->fn[k].self)
				continue;
			uint32_t at = p->nfuncs < REPORT_TOP_TASK_FUNCS ? p->nfuncs++
									: REPORT_TOP_TASK_FUNCS;
			while (at > 0 && p->funcs[at - 1].self < s->fn[k].self) {
				if (at < REPORT_TOP_TASK_FUNCS)
					p->funcs[at] = p->funcs[at - 1];
				at--;
			}
			if (at < REPORT_TOP_TASK_FUNCS)
				p->funcs[at] =
					(struct report_func){r->names.strs[s->fn[k].name],
							     s->fn[k].self, 0, s->fn[k].self_ns, 0};
		}
		r->res.slow[i].nfuncs = p->nfuncs;
		memcpy(r->res.slow[i].funcs, p->funcs, sizeof(p->funcs));
		/* the stack of the top function: the first with the most self samples */
		uint32_t best = UINT32_MAX;
		for (uint32_t k = 0; k < s->nfn; k++)
			if (s->fn[k].self &&
			    (best == UINT32_MAX || s->fn[k].self > s->fn[best].self))
				best = k;
		if (best != UINT32_MAX) {
			r->res.slow[i].nhot_frames = s->fn[best].nfr;
			report_sites_of(r, s->fn[best].fr, s->fn[best].nfr,
					r->res.slow[i].hot_frames);
		}
	}
	r->res.has_states = perf || samples || o->faults_minor || o->faults_major ||
			    o->throttle_events || o->cpu_samples;
}
