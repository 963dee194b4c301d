/* Thread states in the report: a per-thread state machine over the
 * scheduler events (sched.out/sched.in from perf, or schedstat samples),
 * page faults and waits, run once per pass: pass 1 for threads, pass 2 for
 * the slow tasks current at the time. Only off-CPU pieces and waits are
 * accumulated; "running" is what is left of the span, so the states add up
 * to it by construction. The rules are in docs/REPORT-JSON.md ("States"). */
#include <stdlib.h>
#include <string.h>

#include "analysis/report_int.h"

enum { SCH_ON, SCH_PREEMPTED, SCH_BLOCKED };

/* A blocked sched.out with no wait open is a page fault when a major fault
 * of the thread is this close to it: before the sched.out, or after the
 * sched.in (the kernel counts a major fault when it completes, after the
 * thread was woken, so perf's record follows the switch back in). */
#define FAULT_WINDOW_NS 1000000ull

unsigned report_wait_state(uint32_t reason)
{
	switch (reason) {
	case CT_WAIT_MUTEX:
		return REPORT_ST_MUTEX;
	case CT_WAIT_RWLOCK_READ:
	case CT_WAIT_RWLOCK_WRITE:
		return REPORT_ST_RWLOCK;
	case CT_WAIT_SEMAPHORE:
		return REPORT_ST_SEMAPHORE;
	case CT_WAIT_JOIN:
		return REPORT_ST_JOIN;
	case CT_WAIT_BARRIER:
		return REPORT_ST_BARRIER;
	case CT_WAIT_CONDVAR:
		return REPORT_ST_CONDVAR;
	case CT_WAIT_SLEEP:
		return REPORT_ST_SLEEP;
	case CT_WAIT_NET:
		return REPORT_ST_NET;
	case CT_WAIT_FILE:
		return REPORT_ST_FILE;
	case CT_WAIT_POLL:
		return REPORT_ST_POLL;
	default:
		return REPORT_ST_FD;
	}
}

const char *report_state_name(unsigned st)
{
	static const char *names[] = {"running",   "runnable", "throttled", "mutex",   "rwlock",
				      "semaphore", "join",     "barrier",   "condvar", "file",
				      "net",	   "poll",     "sleep",	    "fd",      "fault",
				      "offcpu",	   "unknown"};
	return st < REPORT_STATES ? names[st] : "other";
}

const char *report_sched_source_name(unsigned src)
{
	static const char *names[] = {"none", "perf", "schedstat", "mixed"};
	return src < 4 ? names[src] : "none";
}

static inline struct sched_st *st_of(struct rthread *t, int pass)
{
	return pass == 1 ? &t->s1 : &t->s2;
}

static inline const struct wopen *wait_of(const struct rthread *t, int pass)
{
	return pass == 1 ? &t->w1 : &t->w2;
}

static inline uint64_t arg(const struct ct_event *ev, uint32_t i)
{
	return i < ev->nargs ? ev->args[i] : 0;
}

/* [from, to) of thread t in state st, taken out of wait state `sub`
 * (REPORT_STATES: none). In pass 2 it goes to slow task si, clipped. */
static void piece(struct report *r, struct rthread *t, int pass, int32_t si, unsigned st,
		  unsigned sub, uint64_t from, uint64_t to)
{
	if (to <= from)
		return;
	if (pass == 1) {
		uint64_t d = to - from;
		t->st1[st] += (int64_t)d;
		if (sub < REPORT_STATES)
			t->st1[sub] -= (int64_t)d;
		if (st == REPORT_ST_RUNNABLE)
			cpu_runnable1(r, t, from, to, d);
		return;
	}
	if (si < 0)
		return;
	struct slow_task *s = &r->slow[si];
	uint64_t lo = from > s->pub.begin_ns ? from : s->pub.begin_ns;
	uint64_t hi = to < s->pub.end_ns ? to : s->pub.end_ns;
	if (hi <= lo)
		return;
	uint64_t d = hi - lo;
	s->st[st] += (int64_t)d;
	if (sub < REPORT_STATES)
		s->st[sub] -= (int64_t)d;
	if (st == REPORT_ST_RUNNABLE) {
		uint64_t thr = cpu_throttled_part(r, lo, hi, d);
		s->st[REPORT_ST_RUNNABLE] -= (int64_t)thr;
		s->st[REPORT_ST_THROTTLED] += (int64_t)thr;
	}
}

static void touch(struct rthread *t, int pass, uint64_t ts)
{
	struct sched_st *s = st_of(t, pass);
	if (s->init)
		return;
	s->init = 1;
	/* A thread is running from its first event. */
	s->last = pass == 1 && t->first_ts < ts ? t->first_ts : ts;
	s->iv_start = s->fiv_start = s->last;
}

/* A blocked piece in no wait: a page fault if a major fault follows it
 * closely, else off CPU in a call ctrace does not see. */
static void resolve_pend(struct report *r, struct rthread *t, int pass, int fault)
{
	struct sched_st *s = st_of(t, pass);
	if (!s->pend)
		return;
	s->pend = 0;
	piece(r, t, pass, s->pend_si, fault ? REPORT_ST_FAULT : REPORT_ST_OFFCPU, REPORT_STATES,
	      s->pend_from, s->pend_to);
}

/* Ends the current off-CPU piece at ts. `lost`: the thread came back at a
 * time the trace does not hold (its sched.in is missing). */
static void close_off(struct report *r, struct rthread *t, int pass, uint64_t ts, int lost)
{
	struct sched_st *s = st_of(t, pass);
	const struct wopen *w = wait_of(t, pass);
	int32_t si = pass == 2 ? report_cur_slow(t) : -1;
	unsigned ws = w->open ? report_wait_state(w->reason) : REPORT_STATES;
	if (s->state == SCH_ON || ts <= s->since) {
		s->since = ts > s->since ? ts : s->since;
		return;
	}
	if (lost) {
		if (!w->open) /* in a wait, whatever happened is the wait's */
			piece(r, t, pass, si, REPORT_ST_UNKNOWN, REPORT_STATES, s->since, ts);
	} else if (s->state == SCH_PREEMPTED) {
		piece(r, t, pass, si, REPORT_ST_RUNNABLE, ws, s->since, ts);
	} else if (w->open) {
		/* blocked inside a wait: the wait's own time */
	} else if (s->fault) {
		piece(r, t, pass, si, REPORT_ST_FAULT, REPORT_STATES, s->since, ts);
	} else {
		resolve_pend(r, t, pass, 0);
		s->pend = 1;
		s->pend_si = si;
		s->pend_from = s->since;
		s->pend_to = ts;
	}
	s->since = ts;
}

static void set_want(struct report *r, struct rthread *t, int pass, uint64_t ts, int want)
{
	if (pass == 1)
		cpu_want(r, t, ts, want);
}

/* ---- schedstat samples ---- */

static uint64_t iv_wait_total(const uint64_t *w)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < REPORT_STATES; i++)
		n += w[i];
	return n;
}

/* The open wait's part of (start, ts]; 0 without one. */
static uint64_t open_wait_since(const struct wopen *w, uint64_t start, uint64_t ts)
{
	uint64_t from = w->begin > start ? w->begin : start;
	return w->open && ts > from ? ts - from : 0;
}

/* Adds the open wait's part of the current sample interval up to ts. */
static void iv_wait_add(struct rthread *t, int pass, uint64_t ts)
{
	struct sched_st *s = st_of(t, pass);
	const struct wopen *w = wait_of(t, pass);
	if (w->open)
		s->iv_wait[report_wait_state(w->reason)] += open_wait_since(w, s->iv_start, ts);
}

/* x * num / den without overflow for durations (den > 0). */
static uint64_t scale(uint64_t x, uint64_t num, uint64_t den)
{
	return (uint64_t)((unsigned __int128)x * num / den);
}

/* Pass 2: a thread wanted a CPU (ran or waited for one) for `want` ns of
 * (from, to]: each slow task gets the part that overlaps it, as if spread
 * evenly over the interval. */
static void want_sampled2(struct report *r, uint64_t from, uint64_t to, uint64_t want)
{
	if (to <= from)
		return;
	for (uint32_t i = 0; i < r->nslow; i++) {
		struct report_task *p = &r->slow[i].pub;
		uint64_t lo = from > p->begin_ns ? from : p->begin_ns;
		uint64_t hi = to < p->end_ns ? to : p->end_ns;
		if (hi <= lo)
			continue;
		p->want_ns += scale(want, hi - lo, to - from);
		p->want_sampled = 1;
	}
}

/* A sample covers (iv_start, ts]: its runnable time comes out of the time
 * in no wait first, then out of the waits, in proportion to each. */
static void sample(struct report *r, struct rthread *t, int pass, const struct ct_event *ev)
{
	struct sched_st *s = st_of(t, pass);
	uint64_t ts = ev->ts, from = s->iv_start;
	uint64_t len = ts > from ? ts - from : 0;
	iv_wait_add(t, pass, ts);
	uint64_t w = iv_wait_total(s->iv_wait);
	if (w > len)
		w = len;
	uint64_t out = len - w;
	uint64_t runnable = arg(ev, 0) < len ? arg(ev, 0) : len;
	uint64_t r_out = runnable < out ? runnable : out, excess = runnable - r_out;
	if (pass == 1) {
		t->used_samples = 1;
		t->st1[REPORT_ST_RUNNABLE] += (int64_t)runnable;
		for (unsigned i = 0; excess && w && i < REPORT_STATES; i++)
			t->st1[i] -= (int64_t)scale(excess, s->iv_wait[i], w);
		cpu_runnable1(r, t, from, ts, runnable);
	} else {
		for (uint32_t k = 0; k < t->niv2; k++) {
			struct iv_task *e = &t->iv2[k];
			struct slow_task *st = &r->slow[e->si];
			uint64_t give = out ? scale(r_out, e->out, out) : 0;
			for (unsigned i = 0; excess && w && i < REPORT_STATES; i++) {
				uint64_t take = scale(excess, e->wait[i], w);
				st->st[i] -= (int64_t)take;
				give += take;
			}
			uint64_t thr = cpu_throttled_part(r, from, ts, give);
			st->st[REPORT_ST_RUNNABLE] += (int64_t)(give - thr);
			st->st[REPORT_ST_THROTTLED] += (int64_t)thr;
		}
		/* ran or waited for a CPU: at most the interval */
		uint64_t running = arg(ev, 1) < len - runnable ? arg(ev, 1) : len - runnable;
		want_sampled2(r, from, ts, runnable + running);
	}
	memset(s->iv_wait, 0, sizeof(s->iv_wait));
	s->iv_start = ts;
	t->niv2 = 0;
}

/* ---- events ---- */

/* ---- fault counts read from /proc ---- */

static void fiv_add(struct rthread *t, int32_t si, int32_t node, uint64_t d)
{
	uint32_t k = 0;
	while (k < t->nfiv && (t->fiv[k].si != si || t->fiv[k].node != node))
		k++;
	if (k == t->nfiv) {
		if (k == FIV_PARTS)
			return; /* more places in one interval: they get no share */
		t->fiv[k] = (struct fiv_part){si, node, 0};
		t->nfiv++;
	}
	t->fiv[k].out += d;
}

/* Adds the open wait's part of the current fault interval up to ts. */
static void fiv_wait_add(struct rthread *t, uint64_t ts)
{
	t->s2.fiv_wait += open_wait_since(&t->w2, t->s2.fiv_start, ts);
}

/* Pass 2: a count read from /proc covers the thread's time since its last
 * one (the writer reads them every few tens of ms, and less often for a
 * thread that runs little): it is spread over the slow tasks and regions of
 * that time in proportion to their time in no wait, since faults take CPU,
 * rather than given to the task current when it was read, which may have
 * begun after them. Largest remainders keep the total. The kernel time of
 * the same interval (kernel.time, just before the count) is spread the
 * same way, and leaves the interval open for the count. Returns 0 when the
 * interval has no time in no wait: the current task takes it then. */
static int fault_spread2(struct report *r, struct rthread *t, const struct ct_event *ev)
{
	struct sched_st *s = &t->s2;
	uint64_t ts = ev->ts;
	int kernel = (ev->type & 127) == CT_EV_KERNEL_TIME;
	uint64_t n = kernel ? arg(ev, 0) : arg(ev, 1);
	uint64_t wait = s->fiv_wait + open_wait_since(&t->w2, s->fiv_start, ts);
	uint64_t len = ts > s->fiv_start ? ts - s->fiv_start : 0;
	uint64_t out = len > wait ? len - wait : 0, parts = 0;
	for (uint32_t k = 0; k < t->nfiv; k++)
		parts += t->fiv[k].out;
	if (parts > out)
		out = parts;
	uint32_t nparts = t->nfiv;
	if (!kernel) {
		t->nfiv = 0;
		s->fiv_start = ts;
		s->fiv_wait = 0;
	}
	if (!out)
		return 0;
	uint64_t give = (uint64_t)(((unsigned __int128)n * parts + out / 2) / out), given = 0;
	uint64_t share[FIV_PARTS], rem[FIV_PARTS];
	for (uint32_t k = 0; k < nparts; k++) {
		unsigned __int128 x = parts ? (unsigned __int128)give * t->fiv[k].out : 0;
		share[k] = parts ? (uint64_t)(x / parts) : 0;
		rem[k] = parts ? (uint64_t)(x % parts) : 0;
		given += share[k];
	}
	for (; given < give; given++) { /* the largest remainders, one each */
		uint32_t best = 0;
		for (uint32_t k = 1; k < nparts; k++)
			if (rem[k] > rem[best])
				best = k;
		share[best]++;
		rem[best] = 0;
	}
	int major = !kernel && arg(ev, 0) == CT_FAULT_MAJOR;
	for (uint32_t k = 0; k < nparts; k++) {
		if (!share[k])
			continue;
		struct report_task *p = &r->slow[t->fiv[k].si].pub;
		if (kernel) {
			p->fault_kernel_ns += share[k];
			continue;
		}
		if (major)
			p->faults_major += share[k];
		else
			p->faults_minor += share[k];
		if (t->fiv[k].node >= 0)
			p->regions[t->fiv[k].node].faults += share[k];
		else
			p->faults_outside += share[k];
	}
	return 1;
}

/* Pass 2: a fault while slow task si was current: its counts, the region it
 * fell in (minor faults are counts sampled from /proc, with no stack: the
 * region current when they were read is where the thread was), and the
 * stack of its first major fault. */
static void fault2(struct report *r, struct rthread *t, int32_t si, const struct ct_event *ev)
{
	struct slow_task *s = &r->slow[si];
	struct report_task *p = &s->pub;
	uint64_t n = arg(ev, 1);
	if (ev->ts < p->begin_ns || ev->ts > p->end_ns)
		return;
	if (arg(ev, 0) == CT_FAULT_MAJOR)
		p->faults_major += n;
	else
		p->faults_minor += n;
	const struct dregion *top =
		t->ndregions && !t->doverflow ? &t->dregions[t->ndregions - 1] : NULL;
	if (top && top->slow == si && top->node >= 0)
		p->regions[top->node].faults += n;
	else
		p->faults_outside += n;
	if (arg(ev, 0) == CT_FAULT_MAJOR && !s->nfault_fr && ev->stack && ev->stack->nframes) {
		s->nfault_fr = report_stack_ids(r, ev->stack, 0, s->fault_fr);
		p->fault_addr = arg(ev, 2);
	}
}

void sched_event(struct report *r, struct rthread *t, int pass, const struct ct_event *ev)
{
	struct sched_st *s = st_of(t, pass);
	uint64_t ts = ev->ts;
	unsigned type = ev->type & 127;
	touch(t, pass, ts);
	/* perf's major faults come one by one, with an address */
	int major = type == CT_EV_FAULT && arg(ev, 0) == CT_FAULT_MAJOR && arg(ev, 1) == 1 &&
		    arg(ev, 2) != 0;
	/* a fault that claims the blocked piece before it is not also the
	 * cause of the next one */
	int claimed = s->pend && major && ts - s->pend_to <= FAULT_WINDOW_NS;
	resolve_pend(r, t, pass, claimed);
	switch (type) {
	case CT_EV_SCHED_OUT:
		if (pass == 1) {
			t->used_perf = 1;
			t->pub.switches++;
			t->pub.preemptions += arg(ev, 0) == CT_SCHED_PREEMPTED;
		}
		if (s->state != SCH_ON) /* its sched.in was lost */
			close_off(r, t, pass, ts, 1);
		s->state = arg(ev, 0) == CT_SCHED_PREEMPTED ? SCH_PREEMPTED : SCH_BLOCKED;
		s->since = ts;
		s->fault = s->fault_ts && ts - s->fault_ts <= FAULT_WINDOW_NS;
		s->fault_ts = 0;
		set_want(r, t, pass, ts, s->state == SCH_PREEMPTED);
		break;
	case CT_EV_SCHED_IN:
		if (pass == 1)
			t->used_perf = 1;
		if (s->state == SCH_ON) {
			/* no sched.out: off CPU since some time after the last
			 * event the analysis saw */
			if (!wait_of(t, pass)->open)
				piece(r, t, pass, pass == 2 ? report_cur_slow(t) : -1,
				      REPORT_ST_UNKNOWN, REPORT_STATES, s->last, ts);
		} else {
			close_off(r, t, pass, ts, 0);
		}
		s->state = SCH_ON;
		s->fault_ts = 0;
		set_want(r, t, pass, ts, 1);
		break;
	case CT_EV_FAULT:
		if (major && !claimed)
			s->fault_ts = ts;
		if (pass == 1) {
			if (arg(ev, 0) == CT_FAULT_MAJOR)
				t->pub.faults_major += arg(ev, 1);
			else
				t->pub.faults_minor += arg(ev, 1);
			cpu_fault1(r, ev);
		} else if (!major && fault_spread2(r, t, ev)) {
			/* a count read from /proc, spread over its interval */
		} else if (report_cur_slow(t) >= 0) {
			fault2(r, t, report_cur_slow(t), ev);
		}
		break;
	case CT_EV_KERNEL_TIME:
		if (pass == 2 && !fault_spread2(r, t, ev) && report_cur_slow(t) >= 0) {
			struct report_task *p = &r->slow[report_cur_slow(t)].pub;
			if (ts >= p->begin_ns && ts <= p->end_ns)
				p->fault_kernel_ns += arg(ev, 0);
		}
		break;
	case CT_EV_SCHED_SAMPLE:
		sample(r, t, pass, ev);
		break;
	case CT_EV_CPU_SAMPLE:
		if (pass == 1) {
			t->pub.cpu_samples++;
			t->pub.cpu_sample_ns += arg(ev, 0);
			cpu_sample(r, NULL, ev);
		} else if (report_cur_slow(t) >= 0) {
			struct slow_task *st = &r->slow[report_cur_slow(t)];
			if (ts >= st->pub.begin_ns && ts <= st->pub.end_ns) {
				st->pub.cpu_samples++;
				cpu_sample(r, st, ev);
			}
		}
		break;
	case CT_EV_THROTTLE:
		if (pass == 1)
			cpu_throttle1(r, ev);
		break;
	case CT_EV_LOSS:
		/* scheduler records may be among the lost: start over as running */
		if (s->state != SCH_ON) {
			close_off(r, t, pass, ts, 1);
			s->state = SCH_ON;
			set_want(r, t, pass, ts, 1);
		}
		break;
	default:
		break;
	}
	s->last = ts > s->last ? ts : s->last;
}

/* The thread's wait state changes at ts (a wait begins or ends): the
 * current off-CPU piece ends under the old state, and the wait's part of the
 * sample interval is counted. */
void sched_wait_edge(struct report *r, struct rthread *t, int pass, uint64_t ts)
{
	struct sched_st *s = st_of(t, pass);
	touch(t, pass, ts);
	resolve_pend(r, t, pass, 0);
	if (s->state != SCH_ON)
		close_off(r, t, pass, ts, 0);
	iv_wait_add(t, pass, ts);
	if (pass == 2)
		fiv_wait_add(t, ts);
	s->last = ts > s->last ? ts : s->last;
}

void sched_thread_end(struct report *r, struct rthread *t, int pass, uint64_t ts)
{
	struct sched_st *s = st_of(t, pass);
	touch(t, pass, ts);
	resolve_pend(r, t, pass, 0);
	if (s->state != SCH_ON)
		close_off(r, t, pass, ts, 1);
	s->state = SCH_ON;
	s->last = ts;
	if (pass == 1) {
		cpu_want(r, t, ts, 0);
		t->gone = 1;
	}
}

/* Pass 1: a wait of d ns ended (or was open at the end). */
void sched_wait_time1(struct rthread *t, uint32_t reason, uint64_t d)
{
	t->st1[report_wait_state(reason)] += (int64_t)d;
}

/* Pass 2: d ns of thread t while slow task si was current (clipped to it),
 * in region node of it (-1: outside its regions). */
void sched_slice2(struct report *r, struct rthread *t, int32_t si, int32_t node, uint64_t d)
{
	struct slow_task *s = &r->slow[si];
	unsigned ws = t->w2.open ? report_wait_state(t->w2.reason) : REPORT_STATES;
	if (ws < REPORT_STATES)
		s->st[ws] += (int64_t)d;
	else
		fiv_add(t, si, node, d);
	uint32_t k = 0;
	while (k < t->niv2 && t->iv2[k].si != si)
		k++;
	if (k == t->niv2) {
		if (k == IV_TASKS)
			return; /* more tasks in one sample interval: they get no share */
		memset(&t->iv2[k], 0, sizeof(t->iv2[k]));
		t->iv2[k].si = si;
		t->niv2++;
	}
	if (ws < REPORT_STATES)
		t->iv2[k].wait[ws] += d;
	else
		t->iv2[k].out += d;
}

/* Pass 2: the thread takes up a task, so it is running whatever the stale
 * state says (pass 2 skips generations). */
void sched_task_enter2(struct report *r, struct rthread *t, uint64_t ts)
{
	struct sched_st *s = &t->s2;
	if (s->state != SCH_ON) {
		close_off(r, t, 2, ts, 1);
		s->state = SCH_ON;
	}
}

/* Pass 2 skipped generations before this one: what each thread was doing
 * is not known; start over as running, with new sample intervals. */
void sched_detail_gap(struct report *r, uint64_t seq)
{
	int gap = r->cpu.dseq_set && seq != r->cpu.dseq + 1;
	r->cpu.dseq = seq;
	r->cpu.dseq_set = 1;
	if (!gap)
		return;
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct rthread *t = &r->threads[i];
		resolve_pend(r, t, 2, 0);
		memset(&t->s2, 0, sizeof(t->s2));
		t->niv2 = 0;
		t->nfiv = 0;
	}
}

/* ---- ends ---- */

static uint64_t clamp0(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

/* Pass 2: a thread's first event since the start or a gap. */
void sched_first2(struct rthread *t, uint64_t ts)
{
	touch(t, 2, ts);
}

/* Before the waits open at the end are closed: what is off CPU at each
 * thread's end closes there, under the wait it is in. The end is the
 * span's: the trace's end for a thread in a wait, else its last event. */
void sched_close1(struct report *r)
{
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct rthread *t = &r->threads[i];
		struct sched_st *s = &t->s1;
		if (t->first_ts == UINT64_MAX || !s->init)
			continue;
		uint64_t end = t->last_ts1;
		if (t->w1.open && r->res.last_ns > end)
			end = r->res.last_ns;
		resolve_pend(r, t, 1, 0);
		if (s->state != SCH_ON)
			/* Events of its own after the last one the state machine
			 * saw: it came back at some time the trace does not say. */
			close_off(r, t, 1, end, t->last_ts1 > s->last);
		resolve_pend(r, t, 1, 0);
	}
}

void sched_pass1_done(struct report *r)
{
	cpu_pass1_done(r);
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct rthread *t = &r->threads[i];
		struct report_thread *p = &t->pub;
		if (t->first_ts == UINT64_MAX)
			continue;
		uint64_t runnable = clamp0(t->st1[REPORT_ST_RUNNABLE]);
		uint64_t thr = cpu_thread_throttled(r, t, runnable);
		t->st1[REPORT_ST_RUNNABLE] -= (int64_t)thr;
		t->st1[REPORT_ST_THROTTLED] += (int64_t)thr;
		r->res.cpu.reclassified_ns += thr;
		uint64_t rest = 0;
		for (unsigned c = 1; c < REPORT_STATES; c++) {
			p->states.ns[c] = clamp0(t->st1[c]);
			rest += p->states.ns[c];
		}
		p->states.ns[REPORT_ST_RUNNING] = p->span_ns > rest ? p->span_ns - rest : 0;
		p->sched_source = t->used_perf && t->used_samples ? REPORT_SCHED_MIXED
				  : t->used_perf		  ? REPORT_SCHED_PERF
				  : t->used_samples		  ? REPORT_SCHED_SCHEDSTAT
								  : REPORT_SCHED_NONE;
		r->res.cpu.fault_blocked_ns += p->states.ns[REPORT_ST_FAULT];
	}
}

/* Pass 2's off-CPU pieces still open end with the thread's last event (or
 * the trace's end, in a wait), under the wait state they had. */
void sched_detail_close(struct report *r)
{
	for (uint32_t i = 0; i < r->nthreads; i++) {
		struct rthread *t = &r->threads[i];
		struct sched_st *s = &t->s2;
		if (!s->init)
			continue;
		resolve_pend(r, t, 2, 0);
		uint64_t end =
			t->w2.open && r->res.last_ns > t->last_ts ? r->res.last_ns : t->last_ts;
		if (s->state != SCH_ON)
			close_off(r, t, 2, end, 0);
		resolve_pend(r, t, 2, 0);
	}
}

/* A slow task's states: running is what its on-thread time leaves. */
void sched_finish(struct report *r)
{
	for (uint32_t i = 0; i < r->nslow; i++) {
		struct slow_task *s = &r->slow[i];
		struct report_task *p = &s->pub;
		uint64_t rest = 0;
		for (unsigned c = 1; c < REPORT_STATES; c++) {
			p->states.ns[c] = clamp0(s->st[c]);
			rest += p->states.ns[c];
		}
		p->states.ns[REPORT_ST_RUNNING] =
			p->on_thread_ns > rest ? p->on_thread_ns - rest : 0;
		p->nfault_frames = s->nfault_fr;
		report_sites_of(r, s->fault_fr, s->nfault_fr, p->fault_frames);
	}
}
