/* Slow-task and SLO triggers, watched by the writer thread: it decodes every
 * event anyway, so task.begin and task.end cost the application nothing
 * more. Open tasks are kept in a hash (id -> begin, type); a task that ends
 * over its type's threshold, or an SLO whose percentile crosses its
 * threshold over a rolling window, asks for a dump (writer_trigger_ex). The
 * program's callbacks run on a thread of their own (the notify thread): a
 * callback that blocks must not stop the writer, or threads would drop. */
#include "record/watch.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctrace_events.h"
#include "record/clock.h"
#include "record/intern.h"
#include "record/rec.h"
#include "record/dumplog.h"
#include "record/writer_int.h"

/* ---- rules (any thread) ---- */

#define MAX_RULES 64

struct rule {
	uint32_t type;	     /* interned type name; 0: any type */
	uint32_t percentile; /* 0: a slow-task rule; else an SLO's */
	uint64_t threshold_ns;
	uint64_t window_ns; /* SLO */
};

static pthread_mutex_t rules_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[MAX_RULES];
static unsigned nrules;
static _Atomic unsigned rules_ver;

static int type_id(const char *type, uint32_t *id)
{
	if (!type || !strcmp(type, "*")) {
		*id = 0;
		return 0;
	}
	if (!*type)
		return CT_ECONFIG;
	*id = intern(type);
	return *id ? 0 : -ENOSPC;
}

/* Sets, replaces (same type and kind) or, with threshold 0, removes a rule. */
static int set_rule(uint32_t type, uint32_t pct, uint64_t thr, uint64_t win)
{
	pthread_mutex_lock(&rules_mu);
	unsigned i = 0;
	while (i < nrules && !(rules[i].type == type && rules[i].percentile == pct))
		i++;
	int rc = 0;
	if (thr == 0) {
		if (i < nrules)
			rules[i] = rules[--nrules];
	} else if (i == nrules && nrules == MAX_RULES) {
		rc = -ENOSPC;
	} else {
		if (i == nrules)
			nrules++;
		rules[i] = (struct rule){type, pct, thr, win};
	}
	if (rc == 0)
		atomic_fetch_add(&rules_ver, 1);
	pthread_mutex_unlock(&rules_mu);
	return rc;
}

int ct_flight_slow_task(const char *type, uint64_t threshold_ns)
{
	uint32_t id;
	int rc = type_id(type, &id);
	return rc ? rc : set_rule(id, 0, threshold_ns, 0);
}

#define SLO_DEFAULT_WINDOW 60000000000ull

int ct_flight_slo(const char *type, unsigned percentile, uint64_t threshold_ns, uint64_t window_ns)
{
	if (percentile < 1 || percentile > 99)
		return CT_ECONFIG;
	if (!window_ns)
		window_ns = SLO_DEFAULT_WINDOW;
	if (window_ns < 10000000u || window_ns > 86400000000000ull)
		return CT_ECONFIG;
	uint32_t id;
	int rc = type_id(type, &id);
	return rc ? rc : set_rule(id, percentile, threshold_ns, window_ns);
}

/* ---- the environment: TYPE=DUR,...  and  TYPE:pNN>DUR[/WINDOW],... ---- */

static int env_list(const char *v, int slo, int (*dur)(const char *, uint64_t *), char *err,
		    size_t cap, struct rule *out, char (*types)[128], unsigned *n)
{
	const char *name = slo ? "CTRACE_SLO" : "CTRACE_SLOW_TASK";
	const char *form = slo ? "TYPE:pNN>DURATION[/WINDOW], e.g. request:p99>250ms/60s"
			       : "TYPE=DURATION, e.g. request=100ms or *=1s";
	char buf[1024];
	if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf) {
		snprintf(err, cap, "%s: value too long", name);
		return -1;
	}
	for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct rule r = {0};
		char *sep = strrchr(tok, slo ? ':' : '='), *d = sep ? sep + 1 : NULL, *win = NULL;
		int ok = sep && sep > tok && sep - tok < 128 && *n < MAX_RULES;
		if (ok && slo) {
			char *end;
			errno = 0;
			unsigned long p = d[0] == 'p' ? strtoul(d + 1, &end, 10) : 0;
			ok = !errno && p >= 1 && p <= 99 && *end == '>';
			r.percentile = (uint32_t)p;
			d = ok ? end + 1 : NULL;
			if (ok && (win = strchr(d, '/')))
				*win++ = 0;
		}
		ok = ok && dur(d, &r.threshold_ns) == 0 && r.threshold_ns > 0;
		if (ok && slo) {
			r.window_ns = SLO_DEFAULT_WINDOW;
			ok = !win || (dur(win, &r.window_ns) == 0 && r.window_ns >= 10000000u &&
				      r.window_ns <= 86400000000000ull);
		}
		if (!ok) {
			snprintf(err, cap, "%s: bad rule '%s' (%s)", name, tok, form);
			return -1;
		}
		memcpy(types[*n], tok, (size_t)(sep - tok));
		types[*n][sep - tok] = 0;
		out[(*n)++] = r;
	}
	return 0;
}

int watch_from_env(const char *slow, const char *slo, int (*dur)(const char *, uint64_t *),
		   char *err, size_t cap)
{
	static struct rule r[MAX_RULES];
	static char types[MAX_RULES][128];
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	unsigned n = 0, nslow = 0;
	int rc = 0;
	if (slow && *slow)
		rc = env_list(slow, 0, dur, err, cap, r, types, &n);
	nslow = n;
	if (rc == 0 && slo && *slo)
		rc = env_list(slo, 1, dur, err, cap, r, types, &n);
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		int e = i < nslow ? ct_flight_slow_task(types[i], r[i].threshold_ns)
				  : ct_flight_slo(types[i], r[i].percentile, r[i].threshold_ns,
						  r[i].window_ns);
		if (e) {
			snprintf(err, cap, "%s: cannot set the rule for '%s': %s",
				 i < nslow ? "CTRACE_SLOW_TASK" : "CTRACE_SLO", types[i],
				 e == -ENOSPC ? "too many rules or names" : ct_strerror(e));
			rc = -1;
		}
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

/* ---- the writer's side ---- */

/* Latencies in log-linear buckets: exact below 16 ns, then 16 per power of
 * two (within 1/16). */
#define NBUCKETS 976
#define SLOTS	 10 /* an SLO window is kept in this many slots of time */
/* Open tasks watched at once, and task ends waiting for their begin; beyond
 * them, new tasks are not watched (counted in struct watch). */
#define MAX_OPEN 65536u
#define MAX_ENDS 65536u

static unsigned bucket(uint64_t v)
{
	if (v < 16)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	return 16 + (e - 4) * 16 + (unsigned)((v >> (e - 4)) & 15);
}

static uint64_t bucket_max(unsigned b)
{
	if (b < 16)
		return b;
	unsigned e = (b - 16) / 16 + 4, sub = (b - 16) % 16;
	uint64_t hi = (uint64_t)(16 + sub + 1) << (e - 4); /* 0 (2^64) for the last */
	return hi - 1;
}

struct slot {
	uint64_t id; /* time / slot_ns of what it holds */
	uint64_t n, over, max;
	uint32_t hist[NBUCKETS];
};

struct wrule {
	struct rule r;
	struct slot *slots; /* SLO: SLOTS of them */
	int breached;	    /* SLO: over its threshold since it last fired */
	int fired;	    /* SLO: fired for this breach */
};

struct open_task {
	uint64_t id, begin; /* id 0: a free entry */
	uint32_t type;
};

struct end_ev {
	uint64_t id, ts;
	uint32_t round;
};

struct watch {
	unsigned ver;
	struct wrule r[MAX_RULES];
	unsigned n;
	struct open_task *open; /* open addressing, linear probing */
	size_t nopen, capopen;
	struct end_ev *ends;
	size_t nends, capends;
	uint32_t round;
	uint64_t untracked; /* tasks not watched: the tables were full */
	struct dump_trigger cand;
	double cand_over; /* the candidate's latency / threshold */
};

static size_t slot_of(const struct watch *x, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 20) & (x->capopen - 1);
}

static struct open_task *open_find(struct watch *x, uint64_t id)
{
	if (!x->capopen)
		return NULL;
	for (size_t i = slot_of(x, id);; i = (i + 1) & (x->capopen - 1)) {
		if (x->open[i].id == id)
			return &x->open[i];
		if (!x->open[i].id)
			return NULL;
	}
}

static int open_put(struct watch *x, uint64_t id, uint64_t begin, uint32_t type)
{
	if (x->nopen >= MAX_OPEN)
		return -1;
	if ((x->nopen + 1) * 2 > x->capopen) {
		size_t cap = x->capopen ? x->capopen * 2 : 1024;
		struct open_task *t = calloc(cap, sizeof *t), *old = x->open;
		if (!t)
			return -1;
		size_t oldcap = x->capopen;
		x->open = t;
		x->capopen = cap;
		for (size_t i = 0; i < oldcap; i++) {
			if (!old[i].id)
				continue;
			size_t j = slot_of(x, old[i].id);
			while (t[j].id)
				j = (j + 1) & (cap - 1);
			t[j] = old[i];
		}
		free(old);
	}
	size_t i = slot_of(x, id);
	while (x->open[i].id && x->open[i].id != id)
		i = (i + 1) & (x->capopen - 1);
	if (!x->open[i].id)
		x->nopen++;
	x->open[i] = (struct open_task){id, begin, type};
	return 0;
}

/* Removes e, shifting back the entries after it that probed past it. */
static void open_del(struct watch *x, struct open_task *e)
{
	size_t mask = x->capopen - 1, i = (size_t)(e - x->open), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!x->open[j].id)
			break;
		size_t home = slot_of(x, x->open[j].id);
		/* j's entry may move to i unless its home lies in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			x->open[i] = x->open[j];
			i = j;
		}
	}
	x->open[i].id = 0;
	x->nopen--;
}

static void free_rule(struct wrule *r)
{
	free(r->slots);
	r->slots = NULL;
}

/* Copies the rules when they changed; an unchanged rule keeps its state. */
static void sync_rules(struct watch *x, unsigned ver)
{
	struct rule now[MAX_RULES];
	pthread_mutex_lock(&rules_mu);
	unsigned n = nrules;
	memcpy(now, rules, n * sizeof *now);
	pthread_mutex_unlock(&rules_mu);
	struct wrule next[MAX_RULES];
	memset(next, 0, sizeof next);
	for (unsigned i = 0; i < n; i++) {
		next[i].r = now[i];
		for (unsigned k = 0; k < x->n; k++) {
			if (!memcmp(&x->r[k].r, &now[i], sizeof now[i])) {
				next[i] = x->r[k];
				x->r[k].slots = NULL; /* moved */
				break;
			}
		}
		if (now[i].percentile && !next[i].slots)
			next[i].slots = calloc(SLOTS, sizeof(struct slot)); /* NULL: not kept */
	}
	for (unsigned k = 0; k < x->n; k++)
		free_rule(&x->r[k]);
	memcpy(x->r, next, sizeof next);
	x->n = n;
	x->ver = ver;
}

void watch_round_begin(struct writer *w)
{
	unsigned ver = atomic_load_explicit(&rules_ver, memory_order_acquire);
	/* dumps need a flight recorder and a directory to go to */
	if (!w->flight || !w->dump_dir || (!w->watch && ver == 0)) {
		w->watch_on = 0;
		return;
	}
	if (!w->watch && !(w->watch = calloc(1, sizeof *w->watch))) {
		w->watch_on = 0;
		return;
	}
	struct watch *x = w->watch;
	if (x->ver != ver)
		sync_rules(x, ver);
	w->watch_on = x->n > 0;
	if (!w->watch_on && x->nopen) {
		memset(x->open, 0, x->capopen * sizeof *x->open);
		x->nopen = 0;
		x->nends = 0;
	}
}

static const struct wrule *slow_rule(const struct watch *x, uint32_t type)
{
	const struct wrule *any = NULL;
	for (unsigned i = 0; i < x->n; i++) {
		if (x->r[i].r.percentile)
			continue;
		if (x->r[i].r.type == type)
			return &x->r[i];
		if (!x->r[i].r.type)
			any = &x->r[i];
	}
	return any;
}

static int watched(const struct watch *x, uint32_t type)
{
	for (unsigned i = 0; i < x->n; i++)
		if (!x->r[i].r.type || x->r[i].r.type == type)
			return 1;
	return 0;
}

/* "<prefix>-<type>", the type cut to what a reason holds (writer_trigger_ex
 * keeps only the file-name alphabet). */
static void name_reason(char *out, size_t cap, const char *prefix, uint32_t type)
{
	size_t len = 0;
	const char *s = type ? intern_lookup(type, &len) : NULL;
	if (s && len)
		snprintf(out, cap, "%s-%.*s", prefix, (int)len, s);
	else
		snprintf(out, cap, "%s", prefix);
}

static void type_name(char *out, size_t cap, uint32_t type)
{
	size_t len = 0;
	const char *s = type ? intern_lookup(type, &len) : NULL;
	snprintf(out, cap, "%.*s", s ? (int)len : 0, s ? s : "");
}

static void slo_add(struct wrule *r, uint64_t end_ns, uint64_t lat)
{
	uint64_t slot_ns = r->r.window_ns / SLOTS, id = end_ns / slot_ns;
	struct slot *s = &r->slots[id % SLOTS];
	if (s->id != id) {
		if (s->id > id)
			return; /* older than the window */
		memset(s, 0, sizeof *s);
		s->id = id;
	}
	s->n++;
	s->over += lat > r->r.threshold_ns;
	if (lat > s->max)
		s->max = lat;
	s->hist[bucket(lat)]++;
}

/* Task `e` ended at end (ticks). */
static void task_done(struct writer *w, struct watch *x, struct open_task *e, uint64_t end)
{
	uint64_t b = writer_ticks_to_ns(w, e->begin), en = writer_ticks_to_ns(w, end);
	uint64_t lat = en > b ? en - b : 0;
	uint32_t type = e->type;
	uint64_t id = e->id;
	open_del(x, e);
	const struct wrule *sr = slow_rule(x, type);
	if (sr && lat > sr->r.threshold_ns) {
		/* the most over its threshold of this round's slow tasks */
		double over = (double)lat / (double)sr->r.threshold_ns;
		if (over > x->cand_over) {
			struct dump_trigger *t = &x->cand;
			memset(t, 0, sizeof *t);
			name_reason(t->reason, sizeof t->reason, "slow", type);
			memcpy(t->kind, "slow-task", 10);
			type_name(t->task_type, sizeof t->task_type, type);
			t->task = id;
			t->task_begin_ns = b;
			t->threshold_ns = sr->r.threshold_ns;
			t->observed_ns = lat;
			x->cand_over = over;
		}
	}
	for (unsigned i = 0; i < x->n; i++) {
		struct wrule *r = &x->r[i];
		if (r->r.percentile && r->slots && (!r->r.type || r->r.type == type))
			slo_add(r, en, lat);
	}
}

void watch_event(struct writer *w, uint64_t ts)
{
	unsigned ev = w->wev;
	w->wev = 0;
	struct watch *x = w->watch;
	if (!x)
		return;
	if (ev == CT_EV_TASK_BEGIN) {
		uint32_t type = (uint32_t)w->wev_type;
		if (w->wev_task && watched(x, type) && open_put(x, w->wev_task, ts, type) != 0)
			x->untracked++;
		return;
	}
	struct open_task *e = open_find(x, w->wev_task);
	if (e) {
		task_done(w, x, e, ts);
		return;
	}
	/* Its begin may be on a thread drained later this round (a task ended
	 * on another thread than it began): keep the end for two rounds. */
	if (x->nends == x->capends) {
		size_t cap = x->capends ? x->capends * 2 : 256;
		struct end_ev *n = cap <= MAX_ENDS ? realloc(x->ends, cap * sizeof *n) : NULL;
		if (!n)
			return;
		x->ends = n;
		x->capends = cap;
	}
	x->ends[x->nends++] = (struct end_ev){w->wev_task, ts, x->round};
}

/* The SLO's state at now: fires once per breach, when the cooldown allows
 * (a breach lasting through the cooldown fires after it). */
static int slo_check(struct writer *w, struct wrule *r, uint64_t now, int may_fire)
{
	(void)w; /* (the cooldown it read is now dumplog's, shared with the endpoint) */
	uint64_t slot_ns = r->r.window_ns / SLOTS, cur = now / slot_ns, n = 0, over = 0, max = 0;
	for (unsigned i = 0; i < SLOTS; i++) {
		const struct slot *s = &r->slots[i];
		if (s->id <= cur && s->id + SLOTS > cur) {
			n += s->n;
			over += s->over;
			if (s->max > max)
				max = s->max;
		}
	}
	/* the nearest-rank percentile is over the threshold exactly when more
	 * than n - rank latencies are */
	uint64_t p = r->r.percentile, rank = (p * n + 99) / 100;
	uint64_t min_count = 100 / (100 - p) > 20 ? 100 / (100 - p) : 20;
	int breach = n >= min_count && over > n - rank;
	if (!breach) {
		r->breached = r->fired = 0;
		return 0;
	}
	r->breached = 1;
	/* (the cooldown is shared with the admin endpoint's dumps) */
	if (r->fired || !may_fire || dump_cooldown_left(mono_ns()))
		return 0;
	uint64_t cum = 0, value = max;
	for (unsigned b = 0; b < NBUCKETS; b++) {
		for (unsigned i = 0; i < SLOTS; i++) {
			const struct slot *s = &r->slots[i];
			if (s->id <= cur && s->id + SLOTS > cur)
				cum += s->hist[b];
		}
		if (cum >= rank) {
			value = bucket_max(b) < max ? bucket_max(b) : max;
			break;
		}
	}
	struct dump_trigger t;
	memset(&t, 0, sizeof t);
	name_reason(t.reason, sizeof t.reason, "slo", r->r.type);
	memcpy(t.kind, "slo", 4);
	type_name(t.task_type, sizeof t.task_type, r->r.type);
	t.percentile = r->r.percentile;
	t.threshold_ns = r->r.threshold_ns;
	t.observed_ns = value;
	t.count = n;
	writer_trigger_ex(&t);
	r->fired = 1;
	return 1;
}

void watch_round_end(struct writer *w)
{
	struct watch *x = w->watch;
	if (!w->watch_on || !x)
		return;
	size_t k = 0;
	for (size_t i = 0; i < x->nends; i++) {
		struct end_ev *e = &x->ends[i];
		struct open_task *t = open_find(x, e->id);
		if (t)
			task_done(w, x, t, e->ts);
		else if (x->round - e->round < 2)
			x->ends[k++] = *e;
	}
	x->nends = k;
	x->round++;
	int fired = 0;
	if (x->cand_over > 0) {
		writer_trigger_ex(&x->cand);
		x->cand_over = 0;
		fired = 1;
	}
	for (unsigned i = 0; i < x->n; i++)
		if (x->r[i].r.percentile && x->r[i].slots)
			fired |= slo_check(w, &x->r[i], w->ref.mono_ns, !fired);
}

void watch_free(struct writer *w)
{
	struct watch *x = w->watch;
	if (!x)
		return;
	for (unsigned k = 0; k < x->n; k++)
		free_rule(&x->r[k]);
	free(x->open);
	free(x->ends);
	free(x);
	w->watch = NULL;
	w->watch_on = 0;
}

/* ---- the notify thread: the program's callbacks ---- */

#define NOTIFY_QUEUE 16

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running, stop;
	ct_watch_fn watch;
	void *watch_arg;
	uint64_t watch_ns;
	ct_dump_fn on_dump;
	void *on_dump_arg;
	struct {
		char path[512];
		char reason[32];
	} q[NOTIFY_QUEUE];
	unsigned head, n;
} nt = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void run_watch(void)
{
	struct ct_watch_verdict v;
	memset(&v, 0, sizeof v);
	if (nt.watch(nt.watch_arg, &v) <= 0)
		return;
	struct dump_trigger t;
	memset(&t, 0, sizeof t);
	v.reason[sizeof v.reason - 1] = 0;
	v.detail[sizeof v.detail - 1] = 0;
	snprintf(t.reason, sizeof t.reason, "%s", v.reason[0] ? v.reason : "watch");
	memcpy(t.kind, "watch", 6);
	snprintf(t.detail, sizeof t.detail, "%s", v.detail);
	writer_trigger_ex(&t);
}

static void *notify_main(void *arg)
{
	(void)arg;
	/* ctrace's own thread, like the writer: never traced */
	ct_tls.dead = 1;
	ct_tls.epoch = EPOCH_DEAD;
	uint64_t next = mono_ns() + nt.watch_ns;
	pthread_mutex_lock(&nt.mu);
	for (;;) {
		if (nt.n) {
			char path[512], reason[32];
			memcpy(path, nt.q[nt.head].path, sizeof path);
			memcpy(reason, nt.q[nt.head].reason, sizeof reason);
			nt.head = (nt.head + 1) % NOTIFY_QUEUE;
			nt.n--;
			pthread_mutex_unlock(&nt.mu);
			nt.on_dump(nt.on_dump_arg, path, reason);
			pthread_mutex_lock(&nt.mu);
			continue;
		}
		if (nt.stop)
			break;
		if (nt.watch && mono_ns() >= next) {
			pthread_mutex_unlock(&nt.mu);
			run_watch();
			next = mono_ns() + nt.watch_ns;
			pthread_mutex_lock(&nt.mu);
			continue;
		}
		if (nt.watch) {
			struct timespec ts = {(time_t)(next / 1000000000u),
					      (long)(next % 1000000000u)};
			pthread_cond_timedwait(&nt.cv, &nt.mu, &ts);
		} else {
			pthread_cond_wait(&nt.cv, &nt.mu);
		}
	}
	pthread_mutex_unlock(&nt.mu);
	return NULL;
}

int notify_start(const struct ct_config *c)
{
	if (!c->dump_dir || (!c->watch && !c->on_dump))
		return 0;
	pthread_mutex_lock(&nt.mu);
	if (nt.running) {
		pthread_mutex_unlock(&nt.mu);
		return -EBUSY;
	}
	nt.watch = c->watch;
	nt.watch_arg = c->watch_arg;
	nt.watch_ns = c->watch_ns ? c->watch_ns : 1000000000u;
	nt.on_dump = c->on_dump;
	nt.on_dump_arg = c->on_dump_arg;
	nt.head = nt.n = 0;
	nt.stop = 0;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&nt.cv, &ca);
	pthread_condattr_destroy(&ca);
	/* signals go to the program's threads, not this one */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = -pthread_create(&nt.thread, NULL, notify_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0) {
		pthread_setname_np(nt.thread, "ctrace-notify");
		nt.running = 1;
	} else {
		pthread_cond_destroy(&nt.cv);
	}
	pthread_mutex_unlock(&nt.mu);
	return rc;
}

void notify_stop(void)
{
	pthread_mutex_lock(&nt.mu);
	if (!nt.running) {
		pthread_mutex_unlock(&nt.mu);
		return;
	}
	nt.stop = 1;
	pthread_cond_signal(&nt.cv);
	pthread_mutex_unlock(&nt.mu);
	pthread_join(nt.thread, NULL);
	pthread_mutex_lock(&nt.mu);
	nt.running = 0;
	pthread_cond_destroy(&nt.cv);
	pthread_mutex_unlock(&nt.mu);
}

void notify_dump(const char *path, const char *reason)
{
	pthread_mutex_lock(&nt.mu);
	if (nt.running && !nt.stop && nt.on_dump && nt.n < NOTIFY_QUEUE) {
		unsigned i = (nt.head + nt.n) % NOTIFY_QUEUE;
		snprintf(nt.q[i].path, sizeof nt.q[i].path, "%s", path);
		snprintf(nt.q[i].reason, sizeof nt.q[i].reason, "%s", reason);
		nt.n++;
		pthread_cond_signal(&nt.cv);
	}
	pthread_mutex_unlock(&nt.mu);
}
