/* `ctrace diagnose`'s output: per task a one-sentence summary, the time
 * breakdown, the culprit's stack, the chain of cause and the next step, as
 * text or as JSON (docs/REPORT-JSON.md, "ctrace diagnose --json"). The
 * sentences are diagnose_words.c's. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctrace.h"
#include "diagnose_out.h"
#include "fmt.h"
#include "js.h"

#define LINE 1024

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
	if (d->minor_fault_est_ns && d->minor_fault_measured)
		fprintf(out,
			"    (of running, about %s in %" PRIu64
			" minor page faults: the kernel time while they were counted)\n",
			fmt_dur(a, d->minor_fault_est_ns), d->minor);
	else if (d->minor_fault_est_ns)
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
			diag_wait_words(s, sizeof s, w),
			w->open ? " (still waiting at the end)" : "");
		if (w->holder_tid)
			fprintf(out, "    held by %s\n",
				diag_thread_words(h, sizeof h, w->holder_name, w->holder_tid));
		if (d->holder_known) {
			const struct report_holding *hd = &w->holding;
			fprintf(out, "    the holder, during those %s:",
				fmt_dur(a, hd->to_ns - hd->from_ns));
			for (unsigned st = 0, k = 0; st < REPORT_STATES; st++)
				if (hd->states.ns[st])
					fprintf(out, "%s %s %s", k++ ? "," : "",
						report_state_name(st),
						fmt_dur(b, hd->states.ns[st]));
			fprintf(out, "\n    mostly %s\n", diag_holding_words(s, sizeof s, hd));
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
		else if (d->conc_avg_set)
			fprintf(out,
				"    threads wanting a CPU during the task: %.1f on average, from "
				"schedstat samples (the peak needs perf scheduler events)\n",
				d->conc_avg);
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
			diag_wait_words(h, sizeof h, w), diag_at_site(s, sizeof s, &w->site),
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
		if (d.has_also) {
			struct diagnosis also;
			diagnose_task_as(res, t, d.also, &also);
			diag_also(line, sizeof line, &also);
			fprintf(out, "  %s\n", line);
		}
		fprintf(out, "  category: %s, %.0f%% of its time", diag_cat_name(d.category),
			100 * d.share);
		if (d.has_also)
			fprintf(out, "; then %s, %.0f%%", diag_cat_name(d.also),
				100 * d.also_share);
		fprintf(out, "\n");
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
	if (!diag_has_site(s)) {
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

/* The culprit site: the stack's first frame, else the wait's call site. */
static const struct report_site *culprit_site(const struct diagnosis *d)
{
	return d->nframes ? &d->frames[0] : d->wait ? &d->wait->site : NULL;
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
		if (d->conc_avg_set)
			js_double(j, "average", d->conc_avg);
		else
			js_str(j, "average", NULL);
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
		js_u64(j, "minor_kernel_ns", t->fault_kernel_ns);
		js_bool(j, "minor_estimate_measured", d->minor_fault_measured);
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
	js_site(j, "site", culprit_site(&d));
	js_open(j, "stack", '[');
	for (uint32_t i = 0; i < d.nframes; i++)
		js_site(j, NULL, &d.frames[i]);
	js_close(j, ']');
	emit_cause(j, &d);
	diag_summary(line, sizeof line, v, &d);
	js_str(j, "summary", line);
	diag_next(line, sizeof line, v, &d);
	js_str(j, "next", line);
	if (d.has_also) {
		struct diagnosis also;
		diagnose_task_as(v->rv->res, t, d.also, &also);
		js_open(j, "also", '{');
		js_str(j, "category", diag_cat_name(also.category));
		js_u64(j, "category_ns", also.category_ns);
		js_double(j, "category_share", also.share);
		js_site(j, "site", culprit_site(&also));
		emit_cause(j, &also);
		diag_also(line, sizeof line, &also);
		js_str(j, "summary", line);
		js_close(j, '}');
	} else {
		js_str(j, "also", NULL);
	}
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
