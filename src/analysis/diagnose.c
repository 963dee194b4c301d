/* `ctrace diagnose`'s decisions over the report's results: the category of
 * a task's time that dominates, its culprit site and its chain of cause.
 * The rules are in docs/REPORT-JSON.md ("ctrace diagnose --json"). */
#include <string.h>

#include "analysis/diagnose.h"

const char *diag_cat_name(unsigned cat)
{
	static const char *names[] = {"cpu",	 "runnable",   "throttled", "lock",	  "file",
				      "network", "page-fault", "sleep",	    "event-loop", "condvar",
				      "fd",	 "queued",     "off-cpu",   "unknown"};
	return cat < DIAG_CATS ? names[cat] : "unknown";
}

unsigned diag_cat_of_state(unsigned st)
{
	switch (st) {
	case REPORT_ST_RUNNING:
		return DIAG_CPU;
	case REPORT_ST_RUNNABLE:
		return DIAG_RUNNABLE;
	case REPORT_ST_THROTTLED:
		return DIAG_THROTTLED;
	case REPORT_ST_MUTEX:
	case REPORT_ST_RWLOCK:
	case REPORT_ST_SEMAPHORE:
	case REPORT_ST_JOIN:
	case REPORT_ST_BARRIER:
		return DIAG_LOCK;
	case REPORT_ST_CONDVAR:
		return DIAG_CONDVAR;
	case REPORT_ST_FILE:
		return DIAG_FILE;
	case REPORT_ST_NET:
		return DIAG_NETWORK;
	case REPORT_ST_POLL:
		return DIAG_EVENT_LOOP;
	case REPORT_ST_SLEEP:
		return DIAG_SLEEP;
	case REPORT_ST_FD:
		return DIAG_FD;
	case REPORT_ST_FAULT:
		return DIAG_PAGE_FAULT;
	case REPORT_ST_OFFCPU:
		return DIAG_OFFCPU;
	default:
		return DIAG_UNKNOWN;
	}
}

const char *diag_call_name(uint32_t reason, uint64_t detail)
{
	static const char *calls[] = {NULL,	"read",	   "write", "recv", "send",
				      "accept", "connect", "fsync", "open", "close"};
	if (reason != CT_WAIT_NET && reason != CT_WAIT_FILE && reason != CT_WAIT_PIPE &&
	    reason != CT_WAIT_OTHER_FD)
		return NULL;
	return detail < sizeof(calls) / sizeof(calls[0]) ? calls[detail] : NULL;
}

/* The longest wait of the task in category cat (longest[] is longest first). */
static const struct report_wait *wait_of(const struct report_task *t, unsigned cat)
{
	for (uint32_t i = 0; i < t->nwaits; i++)
		if (diag_cat_of_state(report_wait_state(t->longest[i].reason)) == cat)
			return &t->longest[i];
	return NULL;
}

/* The region with the most faults; NULL when faults outside regions are
 * more. */
static void fault_region(const struct report_task *t, struct diagnosis *d)
{
	uint64_t best = 0;
	for (uint32_t i = 0; i < t->nregions; i++)
		if (t->regions[i].faults > best) {
			best = t->regions[i].faults;
			d->region = t->regions[i].name;
		}
	if (best <= t->faults_outside)
		d->region = NULL;
	d->region_faults = d->region ? best : t->faults_outside;
}

/* The task's time by category, and the dominant one and the runner-up. */
static void categorize(const struct report_task *t, struct diagnosis *d)
{
	memset(d, 0, sizeof(*d));
	d->task = t;
	for (unsigned s = 0; s < REPORT_STATES; s++)
		d->ns[diag_cat_of_state(s)] += t->states.ns[s];
	/* Minor faults are counts with no time: their cost comes out of the
	 * running time, at most all of it. A fault's cost varies by machine
	 * and, under a hypervisor, by the host's state; where the trace has
	 * the kernel time of the counts' intervals, that (bounded per fault)
	 * is the estimate when larger than the typical cost. */
	uint64_t est = t->faults_minor * DIAG_MINOR_FAULT_NS;
	uint64_t kern = t->fault_kernel_ns;
	if (kern > t->faults_minor * DIAG_MINOR_FAULT_MAX_NS)
		kern = t->faults_minor * DIAG_MINOR_FAULT_MAX_NS;
	if (kern > est) {
		est = kern;
		d->minor_fault_measured = 1;
	}
	if (est > d->ns[DIAG_CPU])
		est = d->ns[DIAG_CPU];
	d->minor_fault_est_ns = est;
	d->ns[DIAG_CPU] -= est;
	d->ns[DIAG_PAGE_FAULT] += est;
	d->ns[DIAG_QUEUED] = t->latency_ns > t->on_thread_ns ? t->latency_ns - t->on_thread_ns : 0;
	for (unsigned c = 0; c < DIAG_CATS; c++)
		d->total_ns += d->ns[c];
	/* Ties go to the earlier category: cpu before the waits. */
	for (unsigned c = 0; c < DIAG_CATS; c++)
		if (d->ns[c] > d->category_ns) {
			d->category = c;
			d->category_ns = d->ns[c];
		}
	if (d->total_ns == 0)
		d->category = t->on_thread_ns || !t->latency_ns ? DIAG_CPU : DIAG_QUEUED;
	d->share = d->total_ns ? (double)d->category_ns / (double)d->total_ns : 0;
	for (unsigned c = 0; c < DIAG_CATS; c++)
		if (c != d->category && d->ns[c] > d->also_ns) {
			d->also = c;
			d->also_ns = d->ns[c];
		}
	d->also_share = d->total_ns ? (double)d->also_ns / (double)d->total_ns : 0;
	d->has_also = d->also_ns && d->also_share >= DIAG_ALSO_SHARE;
}

/* The culprit and the cause of d->category. */
static void explain(const struct report_result *res, const struct report_task *t,
		    struct diagnosis *d)
{
	d->minor = t->faults_minor;
	d->major = t->faults_major;
	d->samples = t->cpu_samples;
	d->trace_samples = res->cpu.cpu_samples > 0;
	const struct report_cpu *c = &res->cpu;
	switch (d->category) {
	case DIAG_CPU:
		d->nframes = t->nhot_frames;
		d->frames = t->hot_frames;
		break;
	case DIAG_RUNNABLE:
	case DIAG_THROTTLED:
		d->cpus = c->cpus_allowed;
		d->quota_cpus = c->quota_cpus;
		d->periods = c->periods;
		d->periods_throttled = c->periods_throttled;
		if (t->conc_measured) {
			d->conc = d->conc_task = 1;
			d->peak = t->conc_peak;
			d->typical = t->conc_p50;
		} else if (c->concurrency) {
			d->conc = 1;
			d->peak = c->peak;
			d->typical = c->p50;
		} else if (t->want_sampled && t->end_ns > t->begin_ns) {
			d->conc_avg_set = 1;
			d->conc_avg = (double)t->want_ns / (double)(t->end_ns - t->begin_ns);
		}
		/* the program's threads did not want more CPUs than it may use:
		 * at their peak, or without one (schedstat) on average */
		d->others = d->cpus > 0 && (d->conc ? (double)d->peak <= d->cpus
						    : d->conc_avg_set && d->conc_avg < d->cpus);
		d->nframes = t->nhot_frames;
		d->frames = t->hot_frames;
		break;
	case DIAG_PAGE_FAULT:
		fault_region(t, d);
		/* the first major fault's stack; minor faults have none, but the
		 * CPU samples of a fault storm fall where the pages are touched */
		d->nframes = t->nfault_frames ? t->nfault_frames : t->nhot_frames;
		d->frames = t->nfault_frames ? t->fault_frames : t->hot_frames;
		break;
	case DIAG_QUEUED:
	case DIAG_OFFCPU:
	case DIAG_UNKNOWN:
		break;
	default:
		d->wait = wait_of(t, d->category);
		if (d->wait) {
			d->nframes = d->wait->nframes;
			d->frames = d->wait->frames;
			d->holder_known = d->category == DIAG_LOCK && d->wait->holding.known;
		}
		break;
	}
}

void diagnose_task(const struct report_result *res, const struct report_task *t,
		   struct diagnosis *d)
{
	categorize(t, d);
	explain(res, t, d);
}

void diagnose_task_as(const struct report_result *res, const struct report_task *t, unsigned cat,
		      struct diagnosis *d)
{
	categorize(t, d);
	d->category = cat < DIAG_CATS ? cat : DIAG_UNKNOWN;
	d->category_ns = d->ns[d->category];
	d->share = d->total_ns ? (double)d->category_ns / (double)d->total_ns : 0;
	d->has_also = 0;
	explain(res, t, d);
}
