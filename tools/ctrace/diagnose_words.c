/* `ctrace diagnose`'s sentences: the summary and the next step of a
 * diagnosis, and the phrases they share with the text and JSON output
 * (diagnose_out.c). Meant for someone who has not read ctrace's internals. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose_out.h"
#include "fmt.h"

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

int diag_has_site(const struct report_site *s)
{
	return s && ((s->function && s->function[0]) || (s->file && s->file[0]));
}

/* "store.c:88 (save_cart)", "save_cart" without a file, "" without either. */
static const char *site_words(char *buf, size_t cap, const struct report_site *s)
{
	char fn[128], fl[128];
	if (!diag_has_site(s))
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
const char *diag_at_site(char *buf, size_t cap, const struct report_site *s)
{
	char w[300];
	site_words(w, sizeof w, s);
	snprintf(buf, cap, "%s%s", w[0] ? " at " : "", w);
	return buf;
}

const char *diag_thread_words(char *buf, size_t cap, const char *name, uint32_t tid)
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
const char *diag_wait_words(char *buf, size_t cap, const struct report_wait *w)
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
const char *diag_holding_words(char *buf, size_t cap, const struct report_holding *h)
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
				 h->object, diag_at_site(s, sizeof s, &h->site));
		else
			snprintf(buf + n, cap - (size_t)n, "waiting on %s%s",
				 report_wait_reason_name(h->reason),
				 diag_at_site(s, sizeof s, &h->site));
		break;
	}
	}
	return buf;
}

static const char *prog_of(const struct diag_view *v)
{
	return v->prog && v->prog[0] ? v->prog : "PROG";
}

/* "spent N% of its time ..." for d's category, at *n in buf. */
static void clause(char *buf, size_t cap, size_t *n, const struct diagnosis *d)
{
	const struct report_task *t = d->task;
	char a[FMT_BUF], b[FMT_BUF], w[400], s[400], h[400];
	unsigned pct = (unsigned)(d->share * 100 + 0.5);
	const struct report_wait *wt = d->wait;
	switch (d->category) {
	case DIAG_CPU:
		add(buf, cap, n, "spent %u%% of its time running on a CPU", pct);
		if (t->nfuncs)
			add(buf, cap, n, ", most samples in %s%s%s", t->funcs[0].function,
			    d->nframes && d->frames[0].file[0] ? " at " : "",
			    d->nframes && d->frames[0].file[0]
				    ? file_line(s, sizeof s, &d->frames[0])
				    : "");
		else
			add(buf, cap, n, "%s",
			    d->trace_samples ? "; none of the trace's CPU samples fell in it"
					     : "; the trace has no CPU samples to say where");
		break;
	case DIAG_RUNNABLE:
		add(buf, cap, n, "spent %u%% of its time waiting for a CPU", pct);
		if (d->conc)
			add(buf, cap, n, ": up to %u thread%s wanted one at once (typically %u) %s",
			    d->peak, d->peak == 1 ? "" : "s", d->typical,
			    d->conc_task ? "while it ran" : "in the trace");
		else if (d->conc_avg_set)
			add(buf, cap, n, ": %.1f threads wanted one on average while it ran",
			    d->conc_avg);
		if (d->cpus > 0)
			add(buf, cap, n, " against %.4g CPUs", d->cpus);
		if (d->quota_cpus > 0)
			add(buf, cap, n, " (cgroup quota %.4g CPUs)", d->quota_cpus);
		if (d->others)
			add(buf, cap, n, ": other processes on the machine had the CPUs");
		break;
	case DIAG_THROTTLED:
		add(buf, cap, n,
		    "spent %u%% of its time throttled: the cgroup's CPU quota (%.4g CPUs) was used "
		    "up",
		    pct, d->quota_cpus);
		if (d->periods)
			add(buf, cap, n, " in %" PRIu64 " of %" PRIu64 " periods",
			    d->periods_throttled, d->periods);
		break;
	case DIAG_LOCK:
		add(buf, cap, n, "spent %u%% of its time waiting for ", pct);
		if (!wt) {
			add(buf, cap, n, "locks");
			break;
		}
		add(buf, cap, n, "%s%s", diag_wait_words(w, sizeof w, wt),
		    diag_at_site(s, sizeof s, &wt->site));
		if (wt->holder_tid)
			add(buf, cap, n, ", held by %s",
			    diag_thread_words(h, sizeof h, wt->holder_name, wt->holder_tid));
		if (d->holder_known && wt->holding.state_ns)
			add(buf, cap, n, ", which spent %s of those %s %s",
			    fmt_dur(a, wt->holding.state_ns),
			    fmt_dur(b, wt->holding.to_ns - wt->holding.from_ns),
			    diag_holding_words(h, sizeof h, &wt->holding));
		break;
	case DIAG_FILE:
	case DIAG_NETWORK:
	case DIAG_FD:
		add(buf, cap, n, "spent %u%% of its time %s", pct,
		    d->category == DIAG_FILE	  ? "in file I/O"
		    : d->category == DIAG_NETWORK ? "waiting on the network"
						  : "blocked on a pipe or another fd");
		if (wt)
			add(buf, cap, n, ", the longest wait %s in %s%s",
			    fmt_dur(a, wt->duration_ns), diag_wait_words(w, sizeof w, wt),
			    diag_at_site(s, sizeof s, &wt->site));
		if (d->category == DIAG_NETWORK && t->has_trace)
			add(buf, cap, n, "; it is part of distributed trace %s", t->trace_id);
		break;
	case DIAG_PAGE_FAULT:
		add(buf, cap, n,
		    "spent about %u%% of its time on page faults (%" PRIu64 " minor, %" PRIu64
		    " major)",
		    pct, d->minor, d->major);
		if (d->region)
			add(buf, cap, n, ", most of them in region %s", d->region);
		if (d->nframes && d->major)
			add(buf, cap, n, ", the first major one%s",
			    diag_at_site(s, sizeof s, &d->frames[0]));
		else if (d->nframes)
			add(buf, cap, n, ", most CPU samples in %s", d->frames[0].function);
		break;
	case DIAG_SLEEP:
		add(buf, cap, n, "spent %u%% of its time sleeping%s", pct,
		    wt ? diag_at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_EVENT_LOOP:
		add(buf, cap, n,
		    "spent %u%% of its time in an event-loop wait (poll/epoll/select)%s", pct,
		    wt ? diag_at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_CONDVAR:
		add(buf, cap, n,
		    "spent %u%% of its time waiting to be signalled on a condition variable%s "
		    "(waiting for work or a result, not for a lock)",
		    pct, wt ? diag_at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_QUEUED:
		add(buf, cap, n,
		    "spent %u%% of its time with no thread working for it: it waited in a queue, "
		    "or the code that handled it does not say it works for the task",
		    pct);
		break;
	case DIAG_OFFCPU:
		add(buf, cap, n,
		    "spent %u%% of its time blocked off CPU in a call ctrace does not record", pct);
		break;
	default:
		add(buf, cap, n,
		    "spent %u%% of its time off CPU in a way the trace cannot tell (events were "
		    "lost)",
		    pct);
		break;
	}
}

void diag_summary(char *buf, size_t cap, const struct diag_view *v, const struct diagnosis *d)
{
	const struct report_task *t = d->task;
	char a[FMT_BUF], ty[128];
	size_t n = 0;
	(void)v; /* the same arguments as diag_next */
	buf[0] = 0;
	add(buf, cap, &n, "Task %" PRIu64 " (%s, %s%s) ", t->id,
	    t->type[0] ? fmt_safe(ty, sizeof ty, t->type, strlen(t->type), 40) : "no type",
	    fmt_dur(a, t->latency_ns), t->ended ? "" : " so far");
	clause(buf, cap, &n, d);
	add(buf, cap, &n, ".");
}

void diag_also(char *buf, size_t cap, const struct diagnosis *also)
{
	size_t n = 0;
	buf[0] = 0;
	add(buf, cap, &n, "It also ");
	clause(buf, cap, &n, also);
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
			if (d->conc)
				add(buf, cap, &n,
				    "The program never had more than %u thread%s wanting a CPU at "
				    "once, yet waited for one",
				    d->peak, d->peak == 1 ? "" : "s");
			else
				add(buf, cap, &n,
				    "The program's threads wanted %.1f CPUs on average, fewer than "
				    "its %.4g, yet waited for one",
				    d->conc_avg, d->cpus);
			add(buf, cap, &n,
			    ": the machine is busy with other work; give the program CPUs of its "
			    "own (a cpuset) or move the other work; ctrace profile --type sched %s "
			    "shows where it waited.",
			    path);
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
		    diag_has_site(&wt->holding.site))
			add(buf, cap, &n,
			    "Look at what %s does while it holds the lock: it was %s; move that "
			    "out "
			    "of the critical section.",
			    diag_thread_words(w, sizeof w, wt->holder_name, wt->holder_tid),
			    diag_holding_words(h, sizeof h, &wt->holding));
		else if (d->holder_known)
			add(buf, cap, &n,
			    "Shorten the critical section of %s: it was %s while the task waited.",
			    diag_thread_words(h, sizeof h, wt->holder_name, wt->holder_tid),
			    diag_holding_words(w, sizeof w, &wt->holding));
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
		    wt ? diag_at_site(s, sizeof s, &wt->site) : "", path);
		break;
	case DIAG_NETWORK:
		if (t->has_trace)
			add(buf, cap, &n,
			    "The time is downstream: look at the distributed trace %s (this task's "
			    "span %s) for the call it waited on%s%s.",
			    t->trace_id, t->span_id, wt ? ", " : "",
			    wt ? diag_wait_words(w, sizeof w, wt) : "");
		else
			add(buf, cap, &n,
			    "The time is downstream: look at the service behind %s%s; ctrace "
			    "profile "
			    "--type net %s lists the socket waits.",
			    wt ? diag_wait_words(w, sizeof w, wt) : "its sockets",
			    wt ? diag_at_site(s, sizeof s, &wt->site) : "", path);
		break;
	case DIAG_PAGE_FAULT:
		if (d->nframes)
			add(buf, cap, &n, "Look at the memory touched%s%s%s: ",
			    diag_at_site(s, sizeof s, &d->frames[0]),
			    d->region ? " in region " : "", d->region ? d->region : "");
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
		    wt ? diag_at_site(s, sizeof s, &wt->site) : "");
		break;
	case DIAG_EVENT_LOOP:
		add(buf, cap, &n,
		    "The event loop waited for its fds%s: what it waited for is at the other end; "
		    "ctrace profile --type syscall %s lists the waits.",
		    wt ? diag_at_site(s, sizeof s, &wt->site) : "", path);
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
		    wt ? diag_wait_words(w, sizeof w, wt) : "the pipe",
		    wt ? diag_at_site(s, sizeof s, &wt->site) : "");
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
