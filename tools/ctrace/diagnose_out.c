/* `ctrace diagnose`'s output: per task a one-sentence summary, the time
 * breakdown, the culprit's stack, the chain of cause and the next step, as
 * text or as JSON (docs/REPORT-JSON.md, "ctrace diagnose --json"). The
 * sentences are meant for someone who has not read ctrace's internals. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctrace.h"
#include "diagnose_out.h"
#include "fmt.h"
#include "js.h"

#define LINE 1024

/* Appends to buf (cap bytes) at *n, never past its end. */
static void add(char *buf, size_t cap, size_t *n, const char *f, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t cap, size_t *n, const char *f, ...)
{
	if (*n >= cap)
		return;
	va_list ap;
	va_start(ap, f);
	int k = vsnprintf(buf + *n, cap - *n, f, ap);
	va_end(ap);
	if (k > 0)
		*n = *n + (size_t)k < cap ? *n + (size_t)k : cap - 1;
}

static int has_site(const struct report_site *s)
{
	return s && ((s->function && s->function[0]) || (s->file && s->file[0]));
}

/* "store.c:88 (save_cart)", "save_cart" without a file, "" without either. */
static const char *site_words(char *buf, size_t cap, const struct report_site *s)
{
	char fn[128], fl[128];
	if (!has_site(s))
		return buf[0] = 0, buf;
	const char *base = strrchr(s->file, '/');
	base = base ? base + 1 : s->file;
	fmt_safe(fn, sizeof fn, s->function, strlen(s->function), 60);
	fmt_safe(fl, sizeof fl, base, strlen(base), 60);
	if (!base[0])
		snprintf(buf, cap, "%s", fn);
	else if (!fn[0])
		snprintf(buf, cap, "%s:%u", fl, s->line);
	else
		snprintf(buf, cap, "%s:%u (%s)", fl, s->line, fn);
	return buf;
}

/* "store.c:88" */
static const char *file_line(char *buf, size_t cap, const struct report_site *s)
{
	char fl[128];
	const char *base = strrchr(s->file, '/');
	base = base ? base + 1 : s->file;
	snprintf(buf, cap, "%s:%u", fmt_safe(fl, sizeof fl, base, strlen(base), 60), s->line);
	return buf;
}

/* " at store.c:88 (save_cart)" or "" */
static const char *at_site(char *buf, size_t cap, const struct report_site *s)
{
	char w[300];
	site_words(w, sizeof w, s);
	snprintf(buf, cap, "%s%s", w[0] ? " at " : "", w);
	return buf;
}

static const char *thread_words(char *buf, size_t cap, const char *name, uint32_t tid)
{
	char n[128];
	if (name && name[0] && tid)
		snprintf(buf, cap, "%s (tid %u)", fmt_safe(n, sizeof n, name, strlen(name), 40),
			 tid);
	else if (tid)
		snprintf(buf, cap, "the thread with tid %u", tid);
	else
		snprintf(buf, cap, "a thread the trace does not name");
	return buf;
}

/* What a wait waited for: "mutex 0x1000", "fsync on fd 5"... */
static const char *wait_words(char *buf, size_t cap, const struct report_wait *w)
{
	const char *call = diag_call_name(w->reason, w->detail);
	switch (w->reason) {
	case CT_WAIT_MUTEX:
		snprintf(buf, cap, "mutex 0x%" PRIx64, w->object);
		break;
	case CT_WAIT_RWLOCK_READ:
		snprintf(buf, cap, "a read lock on rwlock 0x%" PRIx64, w->object);
		break;
	case CT_WAIT_RWLOCK_WRITE:
		snprintf(buf, cap, "a write lock on rwlock 0x%" PRIx64, w->object);
		break;
	case CT_WAIT_SEMAPHORE:
		snprintf(buf, cap, "semaphore 0x%" PRIx64, w->object);
		break;
	case CT_WAIT_JOIN:
		if (w->detail)
			snprintf(buf, cap, "thread %" PRIu64 " to finish (join)", w->detail);
		else
			snprintf(buf, cap, "a thread to finish (join)");
		break;
	case CT_WAIT_BARRIER:
		snprintf(buf, cap, "barrier 0x%" PRIx64, w->object);
		break;
	case CT_WAIT_CONDVAR:
		snprintf(buf, cap, "condition variable 0x%" PRIx64, w->object);
		break;
	case CT_WAIT_POLL:
		snprintf(buf, cap, "poll/epoll");
		break;
	case CT_WAIT_SLEEP:
		snprintf(buf, cap, "a sleep");
		break;
	default:
		snprintf(buf, cap, "%s on %s %" PRIu64, call ? call : "a call",
			 w->reason == CT_WAIT_NET ? "socket fd" : "fd", w->object);
		break;
	}
	return buf;
}

/* A wait state as words, for a holder's time in several calls of it. */
static const char *state_words(unsigned st)
{
	switch (st) {
	case REPORT_ST_FILE:
		return "in file I/O";
	case REPORT_ST_NET:
		return "on the network";
	case REPORT_ST_FD:
		return "on pipes or other fds";
	case REPORT_ST_SLEEP:
		return "sleeping";
	case REPORT_ST_POLL:
		return "in poll/epoll";
	case REPORT_ST_CONDVAR:
		return "waiting on condition variables";
	default:
		return "waiting on other locks";
	}
}

/* A holder's largest state, as words: "in fsync at store.c:88 (save)". */
static const char *holding_words(char *buf, size_t cap, const struct report_holding *h)
{
	char s[400];
	const char *call = diag_call_name(h->reason, h->detail);
	switch (h->state) {
	case REPORT_ST_RUNNING:
		if (h->function)
			snprintf(buf, cap, "running on a CPU, mostly in %s", h->function);
		else
			snprintf(buf, cap, "running on a CPU");
		break;
	case REPORT_ST_RUNNABLE:
		snprintf(buf, cap, "waiting for a CPU");
		break;
	case REPORT_ST_THROTTLED:
		snprintf(buf, cap, "throttled by the cgroup's CPU quota");
		break;
	case REPORT_ST_FAULT:
		snprintf(buf, cap, "blocked on page faults");
		break;
	case REPORT_ST_OFFCPU:
		snprintf(buf, cap, "blocked in a call ctrace does not record");
		break;
	case REPORT_ST_UNKNOWN:
		snprintf(buf, cap, "off CPU, how the trace does not say");
		break;
	default: {
		char a[FMT_BUF];
		int n = 0;
		if (h->mixed) /* several calls or sites: name the state, then the longest */
			n = snprintf(buf, cap, "%s, the longest %s ", state_words(h->state),
				     fmt_dur(a, h->wait_ns));
		if (call)
			snprintf(buf + n, cap - (size_t)n, "in %s on fd %" PRIu64 "%s", call,
				 h->object, at_site(s, sizeof s, &h->site));
		else
			snprintf(buf + n, cap - (size_t)n, "waiting on %s%s",
				 report_wait_reason_name(h->reason),
				 at_site(s, sizeof s, &h->site));
		break;
	}
	}
	return buf;
}

static const char *prog_of(const struct diag_view *v)
{
	return v->prog && v->prog[0] ? v->prog : "PROG";
}

void diag_summary(char *buf, size_t cap, const struct diag_view *v, const struct diagnosis *d)
{
	const struct report_task *t = d->task;
	char a[FMT_BUF], b[FMT_BUF], w[400], s[400], h[400], ty[128];
	size_t n = 0;
	(void)v; /* the same arguments as diag_next */
	buf[0] = 0;
	add(buf, cap, &n, "Task %" PRIu64 " (%s, %s%s) ", t->id,
	    t->type[0] ? fmt_safe(ty, sizeof ty, t->type, strlen(t->type), 40) : "no type",
	    fmt_dur(a, t->latency_ns), t->ended ? "" : " so far");
	unsigned pct = (unsigned)(d->share * 100 + 0.5);
	const struct report_wait *wt = d->wait;
	switch (d->category) {
	case DIAG_CPU:
		add(buf, cap, &n, "spent %u%% of its time running on a CPU", pct);
		if (t->nfuncs)
			add(buf, cap, &n, ", most samples in %s%s%s", t->funcs[0].function,
			    d->nframes && d->frames[0].file[0] ? " at " : "",
			    d->nframes && d->frames[0].file[0]
				    ? file_line(s, sizeof s, &d->frames[0])
				    : "");
		else
			add(buf, cap, &n, "%s",
			    d->trace_samples ? "; none of the trace's CPU samples fell in it"
					     : "; the trace has no CPU samples to say where");
		break;
	case DIAG_RUNNABLE:
		add(buf, cap, &n, "spent %u%% of its time waiting for a CPU", pct);
		if (d->conc)
			add(buf, cap, &n,
			    ": up to %u thread%s wanted one at once (typically %u) %s", d->peak,
			    d->peak == 1 ? "" : "s", d->typical,
			    d->conc_task ? "while it ran" : "in the trace");
		if (d->cpus > 0)
			add(buf, cap, &n, " against %.4g CPUs", d->cpus);
		if (d->quota_cpus > 0)
			add(buf, cap, &n, " (cgroup quota %.4g CPUs)", d->quota_cpus);
		if (d->others)
			add(buf, cap, &n, ": other processes on the machine had the CPUs");
		break;
	case DIAG_THROTTLED:
		add(buf, cap, &n,
		    "spent %u%% of its time throttled: the cgroup's CPU quota (%.4g CPUs) was used "
		    "up",
		    pct, d->quota_cpus);
		if (d->periods)
			add(buf, cap, &n, " in %" PRIu64 " of %" PRIu64 " periods",
			    d->periods_throttled, d->periods);
		break;
	case DIAG_LOCK:
		add(buf, cap, &n, "spent %u%% of its time waiting for ", pct);
		if (!wt) {
			add(buf, cap, &n, "locks");
			break;
		}
		add(buf, cap, &n, "%s%s", wait_words(w, sizeof w, wt),
		    at_site(s, sizeof s, &wt->site));
		if (wt->holder_tid)
			add(buf, cap, &n, ", held by %s",
			    thread_words(h, sizeof h, wt->holder_name, wt->holder_tid));
		if (d->holder_known && wt->holding.state_ns)
			add(buf, cap, &n, ", which spent %s of those %s %s",
			    fmt_dur(a, wt->holding.state_ns),
			    fmt_dur(b, wt->holding.to_ns - wt->holding.from_ns),
			    holding_words(h, sizeof h, &wt->holding));
		break;
	case DIAG_FILE:
	case DIAG_NETWORK:
	case DIAG_FD:
		add(buf, cap, &n, "spent %u%% of its time %s", pct,
		    d->category == DIAG_FILE	  ? "in file I/O"
		    : d->category == DIAG_NETWORK ? "waiting on the network"
						  : "blocked on a pipe or another fd");
		if (wt)
			add(buf, cap, &n, ", the longest wait %s in %s%s",
			    fmt_dur(a, wt->duration_ns), wait_words(w, sizeof w, wt),
			    at_site(s, sizeof s, &wt->site));
		if (d->category == DIAG_NETWORK && t->has_trace)
			add(buf, cap, &n, "; it is part of distributed trace %s", t->trace_id);
		break;
	case DIAG_PAGE_FAULT:
		add(buf, cap, &n,
		    "spent about %u%% of its time on page faults (%" PRIu64 " minor, %" PRIu64
		    " major)",
		    pct, d->minor, d->major);
		if (d->region)
			add(buf, cap, &n, ", most of them in region %s", d->region);
		if (d->nframes && d->major)
			add(buf, cap, &n, ", the first major one%s",
			    at_site(s, sizeof s, &d->frames[0]));
		else if (d->nframes)
			add(buf, cap, &n, ", most CPU samples in %s", d->frames[0].function);
		break;
	case DIAG_SLEEP:
		add(buf, cap, &n, "spent %u%% of its time sleeping%s", pct,
		    wt ? at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_EVENT_LOOP:
		add(buf, cap, &n,
		    "spent %u%% of its time in an event-loop wait (poll/epoll/select)%s", pct,
		    wt ? at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_CONDVAR:
		add(buf, cap, &n,
		    "spent %u%% of its time waiting to be signalled on a condition variable%s "
		    "(waiting for work or a result, not for a lock)",
		    pct, wt ? at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_QUEUED:
		add(buf, cap, &n,
		    "spent %u%% of its time with no thread working for it: it waited in a queue, "
		    "or the code that handled it does not say it works for the task",
		    pct);
		break;
	case DIAG_OFFCPU:
		add(buf, cap, &n,
		    "spent %u%% of its time blocked off CPU in a call ctrace does not record", pct);
		break;
	default:
		add(buf, cap, &n,
		    "spent %u%% of its time off CPU in a way the trace cannot tell (events were "
		    "lost)",
		    pct);
		break;
	}
	add(buf, cap, &n, ".");
}

void diag_next(char *buf, size_t cap, const struct diag_view *v, const struct diagnosis *d)
{
	const struct report_task *t = d->task;
	const struct report_wait *wt = d->wait;
	const char *path = v->rv->path;
	char s[400], h[400], w[400];
	size_t n = 0;
	buf[0] = 0;
	switch (d->category) {
	case DIAG_CPU:
		if (d->trace_samples)
			add(buf, cap, &n,
			    "It is CPU-bound: see where the CPU goes with ctrace profile --type "
			    "cpu %s%s%s.",
			    path, t->nfuncs ? ", starting with " : "",
			    t->nfuncs ? t->funcs[0].function : "");
		else
			add(buf, cap, &n,
			    "It is CPU-bound: record CPU samples with ctrace run --cpu-hz 1000 -- "
			    "%s "
			    "(or CTRACE_CPU_HZ=1000 in a program linked with libctrace), then run "
			    "ctrace profile --type cpu on the new trace.",
			    prog_of(v));
		break;
	case DIAG_RUNNABLE:
		if (d->others) {
			add(buf, cap, &n,
			    "The program never had more than %u thread%s wanting a CPU at once, "
			    "yet waited for one: the machine is busy with other work; give the "
			    "program CPUs of its own (a cpuset) or move the other work; ctrace "
			    "profile --type sched %s shows where it waited.",
			    d->peak, d->peak == 1 ? "" : "s", path);
			break;
		}
		add(buf, cap, &n, "Too many threads were runnable");
		if (d->cpus > 0)
			add(buf, cap, &n, " for %.4g CPUs", d->cpus);
		add(buf, cap, &n,
		    ": run fewer threads (a smaller pool) or give the program more CPU; ctrace "
		    "profile --type sched %s shows who waited for a CPU and where.",
		    path);
		break;
	case DIAG_THROTTLED:
		add(buf, cap, &n,
		    "The cgroup's CPU quota (%.4g CPUs) runs out: raise it (cpu.max) or make the "
		    "program use less CPU; ctrace report %s shows the throttled periods.",
		    d->quota_cpus, path);
		break;
	case DIAG_LOCK:
		if (d->holder_known && wt->holding.state != REPORT_ST_RUNNING &&
		    has_site(&wt->holding.site))
			add(buf, cap, &n,
			    "Look at what %s does while it holds the lock: it was %s; move that "
			    "out "
			    "of the critical section.",
			    thread_words(w, sizeof w, wt->holder_name, wt->holder_tid),
			    holding_words(h, sizeof h, &wt->holding));
		else if (d->holder_known)
			add(buf, cap, &n,
			    "Shorten the critical section of %s: it was %s while the task waited.",
			    thread_words(h, sizeof h, wt->holder_name, wt->holder_tid),
			    holding_words(w, sizeof w, &wt->holding));
		else
			add(buf, cap, &n,
			    "Find who holds the lock and for how long: ctrace profile --type sync "
			    "%s "
			    "lists the waits by holder.",
			    path);
		break;
	case DIAG_FILE:
		add(buf, cap, &n,
		    "Look at the file I/O%s: ctrace profile --type syscall %s lists every file "
		    "wait.",
		    wt ? at_site(s, sizeof s, &wt->site) : "", path);
		break;
	case DIAG_NETWORK:
		if (t->has_trace)
			add(buf, cap, &n,
			    "The time is downstream: look at the distributed trace %s (this task's "
			    "span %s) for the call it waited on%s%s.",
			    t->trace_id, t->span_id, wt ? ", " : "",
			    wt ? wait_words(w, sizeof w, wt) : "");
		else
			add(buf, cap, &n,
			    "The time is downstream: look at the service behind %s%s; ctrace "
			    "profile "
			    "--type net %s lists the socket waits.",
			    wt ? wait_words(w, sizeof w, wt) : "its sockets",
			    wt ? at_site(s, sizeof s, &wt->site) : "", path);
		break;
	case DIAG_PAGE_FAULT:
		if (d->nframes)
			add(buf, cap, &n, "Look at the memory touched%s%s%s: ",
			    at_site(s, sizeof s, &d->frames[0]), d->region ? " in region " : "",
			    d->region ? d->region : "");
		else if (d->region)
			add(buf, cap, &n, "Look at the allocations in region %s: ", d->region);
		else
			add(buf, cap, &n, "Look at the task's allocations: ");
		add(buf, cap, &n,
		    "reuse memory rather than allocating and touching fresh pages; ctrace report "
		    "%s "
		    "lists the fault sites.",
		    path);
		break;
	case DIAG_SLEEP:
		add(buf, cap, &n, "Check why it sleeps%s (a retry, a back-off, a poll interval?).",
		    wt ? at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_EVENT_LOOP:
		add(buf, cap, &n,
		    "The event loop waited for its fds%s: what it waited for is at the other end; "
		    "ctrace profile --type syscall %s lists the waits.",
		    wt ? at_site(s, sizeof s, &wt->site) : "", path);
		break;
	case DIAG_CONDVAR:
		add(buf, cap, &n,
		    "Look at the thread that should signal it (the producer of the work or "
		    "result); "
		    "ctrace profile --type sync --include-idle %s lists these waits.",
		    path);
		break;
	case DIAG_FD:
		add(buf, cap, &n, "Look at the other end of %s%s.",
		    wt ? wait_words(w, sizeof w, wt) : "the pipe",
		    wt ? at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_QUEUED:
		add(buf, cap, &n,
		    "Look at the queue in front of it, or mark the code that works for it with "
		    "ct_task_enter/ct_task_leave so the trace can say what it did.");
		break;
	case DIAG_OFFCPU:
		add(buf, cap, &n,
		    "Find the blocking call ctrace does not record (a direct syscall, a library it "
		    "does not interpose): ctrace profile --type sched %s and the task's regions in "
		    "ctrace report %s narrow it down.",
		    path, path);
		break;
	default:
		add(buf, cap, &n,
		    "Events were lost: record again with more buffer memory (ctrace run --buffer "
		    "256M -- %s, or CTRACE_BUFFER).",
		    prog_of(v));
		break;
	}
}

/* ---- text ---- */

static int cmp_state(const void *a, const void *b, void *arg)
{
	const uint64_t *ns = arg;
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return ns[x] != ns[y] ? (ns[x] > ns[y] ? -1 : 1) : (x > y) - (x < y);
}

static void print_breakdown(FILE *out, const struct diagnosis *d)
{
	const struct report_task *t = d->task;
	uint64_t ns[REPORT_STATES + 1];
	unsigned idx[REPORT_STATES + 1], k = 0;
	memcpy(ns, t->states.ns, sizeof(t->states.ns));
	ns[REPORT_STATES] = d->ns[DIAG_QUEUED];
	for (unsigned s = 0; s <= REPORT_STATES; s++)
		if (ns[s])
			idx[k++] = s;
	qsort_r(idx, k, sizeof(*idx), cmp_state, ns);
	struct table *tb = table_new(3, "lrr", NULL);
	char a[FMT_BUF], p[16];
	for (unsigned i = 0; i < k; i++) {
		unsigned s = idx[i];
		snprintf(p, sizeof p, "%.0f%%",
			 d->total_ns ? 100.0 * (double)ns[s] / (double)d->total_ns : 0.0);
		const char *row[] = {s == REPORT_STATES ? "queued" : report_state_name(s),
				     fmt_dur(a, ns[s]), p};
		table_row(tb, row);
	}
	fprintf(out, "  time\n");
	table_print(tb, out, "    ");
	table_free(tb);
	if (d->minor_fault_est_ns)
		fprintf(out,
			"    (of running, about %s in %" PRIu64
			" minor page faults at %dns each)\n",
			fmt_dur(a, d->minor_fault_est_ns), d->minor, DIAG_MINOR_FAULT_NS);
}

static void print_stack(FILE *out, const char *title, uint32_t n, const struct report_site *f)
{
	if (!n)
		return;
	struct table *tb = table_new(2, "ll", NULL);
	char fn[128], fl[160];
	for (uint32_t i = 0; i < n; i++) {
		const char *base = strrchr(f[i].file, '/');
		base = base ? base + 1 : f[i].file;
		fmt_safe(fn, sizeof fn, f[i].function[0] ? f[i].function : "?",
			 strlen(f[i].function[0] ? f[i].function : "?"), 60);
		if (base[0])
			snprintf(fl, sizeof fl, "%.120s:%u", base, f[i].line);
		else
			fl[0] = 0;
		const char *row[] = {fn, fl};
		table_row(tb, row);
	}
	fprintf(out, "  %s\n", title);
	table_print(tb, out, "    ");
	table_free(tb);
}

static void print_cause(FILE *out, const struct diagnosis *d)
{
	const struct report_task *t = d->task;
	const struct report_wait *w = d->wait;
	char a[FMT_BUF], b[FMT_BUF], s[400], h[400];
	switch (d->category) {
	case DIAG_LOCK:
		if (!w)
			return;
		fprintf(out, "  cause\n    waited %s for %s%s\n", fmt_dur(a, w->duration_ns),
			wait_words(s, sizeof s, w), w->open ? " (still waiting at the end)" : "");
		if (w->holder_tid)
			fprintf(out, "    held by %s\n",
				thread_words(h, sizeof h, w->holder_name, w->holder_tid));
		if (d->holder_known) {
			const struct report_holding *hd = &w->holding;
			fprintf(out, "    the holder, during those %s:",
				fmt_dur(a, hd->to_ns - hd->from_ns));
			for (unsigned st = 0, k = 0; st < REPORT_STATES; st++)
				if (hd->states.ns[st])
					fprintf(out, "%s %s %s", k++ ? "," : "",
						report_state_name(st),
						fmt_dur(b, hd->states.ns[st]));
			fprintf(out, "\n    mostly %s\n", holding_words(s, sizeof s, hd));
			print_stack(out, "holder's stack", hd->nframes, hd->frames);
		}
		break;
	case DIAG_RUNNABLE:
	case DIAG_THROTTLED:
		fprintf(out, "  cause\n");
		if (d->conc)
			fprintf(out,
				"    threads wanting a CPU at once %s: peak %u, typically %u\n",
				d->conc_task ? "during the task" : "across the trace", d->peak,
				d->typical);
		else
			fprintf(out, "    (threads wanting a CPU at once: needs perf scheduler "
				     "events)\n");
		if (d->cpus > 0)
			fprintf(out, "    CPUs allowed: %.4g%s\n", d->cpus,
				d->quota_cpus > 0 ? " (the smallest of quota, cpuset, affinity)"
						  : "");
		if (d->quota_cpus > 0)
			fprintf(out,
				"    cgroup quota: %.4g CPUs, %" PRIu64 " of %" PRIu64
				" periods throttled\n",
				d->quota_cpus, d->periods_throttled, d->periods);
		break;
	case DIAG_FILE:
	case DIAG_NETWORK:
	case DIAG_FD:
	case DIAG_SLEEP:
	case DIAG_EVENT_LOOP:
	case DIAG_CONDVAR:
		if (!w)
			return;
		fprintf(out, "  cause\n    longest wait %s: %s%s%s\n", fmt_dur(a, w->duration_ns),
			wait_words(h, sizeof h, w), at_site(s, sizeof s, &w->site),
			w->open ? " (still waiting at the end)" : "");
		if (d->category == DIAG_NETWORK && t->has_trace)
			fprintf(out, "    distributed trace %s, span %s\n", t->trace_id,
				t->span_id);
		break;
	case DIAG_PAGE_FAULT:
		fprintf(out,
			"  cause\n    %" PRIu64 " minor faults (about %s), %" PRIu64
			" major faults (%s blocked)\n",
			d->minor, fmt_dur(a, d->minor_fault_est_ns), d->major,
			fmt_dur(b, t->states.ns[REPORT_ST_FAULT]));
		if (d->region_faults)
			fprintf(out, "    %" PRIu64 " of them %s%s\n", d->region_faults,
				d->region ? "in region " : "outside the task's regions",
				d->region ? d->region : "");
		if (t->fault_addr && d->nframes)
			fprintf(out, "    first major fault at address 0x%" PRIx64 "\n",
				t->fault_addr);
		break;
	case DIAG_CPU:
		if (!t->nfuncs)
			return;
		fprintf(out, "  cause\n    CPU samples in the task: %" PRIu64 "; top functions:",
			t->cpu_samples);
		for (uint32_t i = 0; i < t->nfuncs; i++)
			fprintf(out, "%s %s (%" PRIu64 ")", i ? "," : "", t->funcs[i].function,
				t->funcs[i].self);
		fputc('\n', out);
		break;
	default:
		break;
	}
}

static const char *stack_title(const struct diagnosis *d)
{
	switch (d->category) {
	case DIAG_CPU:
	case DIAG_RUNNABLE:
	case DIAG_THROTTLED:
		return "stack (a CPU sample in its top function)";
	case DIAG_PAGE_FAULT:
		return d->task->nfault_frames ? "stack (its first major fault)"
					      : "stack (a CPU sample in its top function)";
	default:
		return "stack (where it waited)";
	}
}

void diag_print_text(FILE *out, const struct diag_view *v)
{
	const struct report_result *res = v->rv->res;
	char line[LINE], a[FMT_BUF], ty[128];
	const char *trig = report_meta(v->rv->file, "trigger.task");
	if (trig && !(v->ntasks && v->tasks[0]->trigger))
		fprintf(out, "The dump's triggering task %s is not in what the trace holds%s\n\n",
			trig, v->ntasks ? "; its slowest tasks instead:" : ".");
	if (v->ntasks == 0)
		fprintf(out, "No finished task in %s to diagnose.\n", v->rv->path);
	for (uint32_t i = 0; i < v->ntasks; i++) {
		const struct report_task *t = v->tasks[i];
		struct diagnosis d;
		diagnose_task(res, t, &d);
		fprintf(out, "%sTask %" PRIu64 "  %s  %s%s%s\n", i ? "\n" : "", t->id,
			t->type[0] ? fmt_safe(ty, sizeof ty, t->type, strlen(t->type), 40)
				   : "(no type)",
			fmt_dur(a, t->latency_ns), t->ended ? "" : " (not finished)",
			t->trigger ? "  <== triggered the dump" : "");
		diag_summary(line, sizeof line, v, &d);
		fprintf(out, "  %s\n", line);
		fprintf(out, "  category: %s, %.0f%% of its time\n", diag_cat_name(d.category),
			100 * d.share);
		print_breakdown(out, &d);
		print_stack(out, stack_title(&d), d.nframes, d.frames);
		print_cause(out, &d);
		diag_next(line, sizeof line, v, &d);
		fprintf(out, "  next: %s\n", line);
	}
}

/* ---- JSON ---- */

static void js_site(struct js *j, const char *key, const struct report_site *s)
{
	if (!has_site(s)) {
		js_str(j, key, NULL);
		return;
	}
	js_open(j, key, '{');
	js_str(j, "function", s->function);
	js_str(j, "file", s->file);
	js_u64(j, "line", s->line);
	js_close(j, '}');
}

static void js_hex(struct js *j, const char *key, uint64_t v)
{
	char b[32];
	snprintf(b, sizeof b, "0x%" PRIx64, v);
	js_str(j, key, b);
}

static void emit_cause(struct js *j, const struct diagnosis *d)
{
	const struct report_task *t = d->task;
	const struct report_wait *w = d->wait;
	js_open(j, "cause", '{');
	if (w) {
		js_str(j, "reason", report_wait_reason_name(w->reason));
		js_u64(j, "wait_ns", w->duration_ns);
		js_bool(j, "open", w->open);
	}
	switch (d->category) {
	case DIAG_LOCK:
		if (!w)
			break;
		js_hex(j, "object", w->object);
		if (!w->holder_tid) {
			js_str(j, "holder", NULL);
			break;
		}
		js_open(j, "holder", '{');
		js_u64(j, "tid", w->holder_tid);
		js_str(j, "name", w->holder_name);
		if (d->holder_known) {
			const struct report_holding *h = &w->holding;
			js_str(j, "state", report_state_name(h->state));
			js_str(j, "call",
			       h->reason ? (diag_call_name(h->reason, h->detail)
						    ? diag_call_name(h->reason, h->detail)
						    : report_wait_reason_name(h->reason))
					 : NULL);
			js_site(j, "site", &h->site);
			js_u64(j, "ns", h->state_ns);
			js_u64(j, "interval_ns", h->to_ns - h->from_ns);
			js_str(j, "function", h->function);
			js_open(j, "states", '{');
			for (unsigned s = 0; s < REPORT_STATES; s++)
				if (h->states.ns[s])
					js_u64(j, report_state_name(s), h->states.ns[s]);
			js_close(j, '}');
			js_open(j, "stack", '[');
			for (uint32_t i = 0; i < h->nframes; i++)
				js_site(j, NULL, &h->frames[i]);
			js_close(j, ']');
		} else {
			js_str(j, "state", NULL);
			js_str(j, "call", NULL);
			js_str(j, "site", NULL);
			js_str(j, "ns", NULL);
		}
		js_close(j, '}');
		break;
	case DIAG_RUNNABLE:
	case DIAG_THROTTLED:
		if (d->conc) {
			js_u64(j, "peak", d->peak);
			js_u64(j, "typical", d->typical);
		} else {
			js_str(j, "peak", NULL);
			js_str(j, "typical", NULL);
		}
		js_str(j, "measured", d->conc ? (d->conc_task ? "task" : "trace") : NULL);
		js_bool(j, "other_processes", d->others);
		js_double(j, "cpus", d->cpus);
		js_double(j, "quota_cpus", d->quota_cpus);
		js_u64(j, "periods", d->periods);
		js_u64(j, "periods_throttled", d->periods_throttled);
		break;
	case DIAG_NETWORK:
	case DIAG_FILE:
	case DIAG_FD:
		if (!w)
			break;
		js_u64(j, "fd", w->object);
		js_str(j, "call", diag_call_name(w->reason, w->detail));
		if (d->category == DIAG_NETWORK)
			js_str(j, "trace_id", t->has_trace ? t->trace_id : NULL);
		break;
	case DIAG_PAGE_FAULT:
		js_u64(j, "minor", d->minor);
		js_u64(j, "major", d->major);
		js_str(j, "region", d->region);
		js_u64(j, "region_faults", d->region_faults);
		js_u64(j, "minor_estimate_ns", d->minor_fault_est_ns);
		js_u64(j, "minor_fault_ns", DIAG_MINOR_FAULT_NS);
		js_u64(j, "major_blocked_ns", t->states.ns[REPORT_ST_FAULT]);
		if (t->fault_addr)
			js_hex(j, "address", t->fault_addr);
		else
			js_str(j, "address", NULL);
		break;
	case DIAG_CPU:
		js_u64(j, "samples", t->cpu_samples);
		js_bool(j, "trace_has_samples", d->trace_samples);
		js_open(j, "functions", '[');
		for (uint32_t i = 0; i < t->nfuncs; i++) {
			js_open(j, NULL, '{');
			js_str(j, "function", t->funcs[i].function);
			js_u64(j, "samples", t->funcs[i].self);
			js_u64(j, "cpu_ns", t->funcs[i].self_ns);
			js_close(j, '}');
		}
		js_close(j, ']');
		break;
	default:
		break;
	}
	js_close(j, '}');
}

static void emit_task(struct js *j, const struct diag_view *v, const struct report_task *t)
{
	struct diagnosis d;
	char line[LINE];
	diagnose_task(v->rv->res, t, &d);
	js_open(j, NULL, '{');
	js_u64(j, "id", t->id);
	js_str(j, "type", t->type);
	js_u64(j, "latency_ns", t->latency_ns);
	js_u64(j, "begin_ns", t->begin_ns);
	js_u64(j, "end_ns", t->end_ns);
	js_bool(j, "ended", t->ended);
	js_bool(j, "begin_in_trace", t->begin_in_trace);
	js_bool(j, "trigger", t->trigger);
	js_str(j, "trace_id", t->has_trace ? t->trace_id : NULL);
	js_str(j, "span_id", t->has_trace ? t->span_id : NULL);
	js_u64(j, "on_thread_ns", t->on_thread_ns);
	js_u64(j, "queued_ns", d.ns[DIAG_QUEUED]);
	js_open(j, "states", '{');
	for (unsigned s = 0; s < REPORT_STATES; s++)
		js_u64(j, report_state_name(s), t->states.ns[s]);
	js_close(j, '}');
	js_open(j, "categories", '{');
	for (unsigned c = 0; c < DIAG_CATS; c++)
		js_u64(j, diag_cat_name(c), d.ns[c]);
	js_close(j, '}');
	js_str(j, "category", diag_cat_name(d.category));
	js_u64(j, "category_ns", d.category_ns);
	js_double(j, "category_share", d.share);
	js_site(j, "site", d.nframes ? &d.frames[0] : d.wait ? &d.wait->site : NULL);
	js_open(j, "stack", '[');
	for (uint32_t i = 0; i < d.nframes; i++)
		js_site(j, NULL, &d.frames[i]);
	js_close(j, ']');
	emit_cause(j, &d);
	diag_summary(line, sizeof line, v, &d);
	js_str(j, "summary", line);
	diag_next(line, sizeof line, v, &d);
	js_str(j, "next", line);
	js_close(j, '}');
}

void diag_print_json(FILE *out, const struct diag_view *v)
{
	const struct report_file *f = v->rv->file;
	struct js j = {out, 0, 1};
	char ver[32];
	js_open(&j, NULL, '{');
	js_str(&j, "schema", "ctrace.diagnose");
	js_u64(&j, "schema_version", 1);
	js_str(&j, "ctrace_version", CT_VERSION_STRING);
	js_open(&j, "file", '{');
	js_str(&j, "path", v->rv->path);
	js_u64(&j, "bytes", f->file_size);
	snprintf(ver, sizeof ver, "%u.%u", f->version_major, f->version_minor);
	js_str(&j, "format_version", ver);
	js_bool(&j, "complete", f->complete);
	js_bool(&j, "damaged", f->damaged);
	js_str(&j, "error", f->error[0] ? f->error : NULL);
	js_close(&j, '}');
	const char *reason = report_meta(f, "dump.reason");
	if (reason) {
		js_open(&j, "trigger", '{');
		js_str(&j, "reason", reason);
		js_str(&j, "kind", report_meta(f, "trigger.kind"));
		const char *task = report_meta(f, "trigger.task");
		if (task)
			js_u64(&j, "task", strtoull(task, NULL, 10));
		else
			js_str(&j, "task", NULL);
		js_str(&j, "task_type", report_meta(f, "trigger.task_type"));
		js_bool(&j, "task_in_trace", v->ntasks && v->tasks[0]->trigger);
		js_str(&j, "detail", report_meta(f, "trigger.detail"));
		js_close(&j, '}');
	} else {
		js_str(&j, "trigger", NULL);
	}
	js_open(&j, "tasks", '[');
	for (uint32_t i = 0; i < v->ntasks; i++)
		emit_task(&j, v, v->tasks[i]);
	js_close(&j, ']');
	js_close(&j, '}');
	fputc('\n', out);
}
