/* The human rendering of `ctrace report`: one section per question, tables
 * aligned, durations with 3 significant digits, times as offsets from the
 * first event of the trace. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "format/spec.h"
#include "report_out.h"

#define NAME_COLS 48  /* names are cut to this many columns in tables */
#define MSG_COLS  160 /* log messages too */

const char *report_meta(const struct report_file *f, const char *key)
{
	for (uint32_t i = 0; i < f->nmeta; i++)
		if (strcmp(f->meta[2 * i], key) == 0)
			return f->meta[2 * i + 1];
	return NULL;
}

const char *report_loss_reason(unsigned reason, int json)
{
	static const char *text[] = {"buffer full", "no buffer", "sink failed", "undecodable",
				     "signal handler inside an event"};
	static const char *keys[] = {"buffer_full", "no_buffer", "sink", "encoding", "reentrant"};
	if (reason < 5)
		return json ? keys[reason] : text[reason];
	return json ? "other" : "other";
}

/* The format's name of an event kind (sched.out, wait.begin...), NULL for a
 * kind this version does not know. */
const char *report_kind_name(unsigned kind)
{
	return kind < CT_EV_TYPE_COUNT ? ct_spec_table[kind].name : NULL;
}

static const char *safe(char *buf, size_t cap, const char *s, unsigned cols)
{
	return fmt_safe(buf, cap, s, s ? strlen(s) : 0, cols);
}

static void kv(struct table *t, const char *k, const char *v)
{
	const char *row[] = {k, v};
	table_row(t, row);
}

static void print_trace(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	const struct report_file *f = v->file;
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], line[1024], s1[512], s2[256];
	fprintf(out, "Trace  %s\n", safe(s1, sizeof(s1), v->path, 0));
	struct table *t = table_new(2, "ll", NULL);
	if (f->damaged)
		snprintf(line, sizeof(line),
			 "DAMAGED: this report covers the %" PRIu64
			 " generations read before the damage (%s)",
			 f->generations, safe(s1, sizeof(s1), f->error, 300));
	else if (!f->complete)
		snprintf(line, sizeof(line),
			 "INCOMPLETE: no end frame; the writer stopped before finishing, or the "
			 "copy is cut");
	else
		snprintf(line, sizeof(line), "complete");
	kv(t, "status", line);
	const char *prog = report_meta(f, "program"), *pid = report_meta(f, "pid"),
		   *host = report_meta(f, "hostname");
	if (prog || pid) {
		int n = snprintf(line, sizeof(line), "%s",
				 prog ? safe(s1, sizeof(s1), prog, 120) : "?");
		if (pid)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " (pid %s%s%s)",
				      safe(s2, sizeof(s2), pid, 20), host ? ", host " : "",
				      host ? safe(s1, sizeof(s1), host, 64) : "");
		kv(t, "program", line);
	}
	if (res->events && res->generations) {
		int64_t real = (int64_t)res->first_ns + res->realtime_offset_ns;
		time_t sec = (time_t)(real / 1000000000);
		struct tm tm;
		if (real > 0 && gmtime_r(&sec, &tm)) {
			strftime(s2, sizeof(s2), "%Y-%m-%d %H:%M:%S", &tm);
			snprintf(line, sizeof(line), "%s.%06d UTC", s2,
				 (int)(real % 1000000000 / 1000));
			kv(t, "started", line);
		}
	}
	snprintf(line, sizeof(line), "%s, first event to %s",
		 fmt_dur(a, res->last_ns - res->first_ns),
		 res->end_is_capture_end ? "the capture's end" : "the last event");
	kv(t, "duration", line);
	int n = snprintf(line, sizeof(line), "%s in %s generation%s", fmt_count(a, res->events),
			 fmt_count(b, res->generations), res->generations == 1 ? "" : "s");
	if (res->generations)
		n += snprintf(
			line + n, sizeof(line) - (size_t)n, " (seq %" PRIu64 "-%" PRIu64 "%s%s%s)",
			res->first_seq, res->last_seq, res->missing_generations ? "; " : "",
			res->missing_generations ? fmt_count(c, res->missing_generations) : "",
			res->missing_generations ? " missing" : "");
	kv(t, "events", line);
	if (res->events)
		snprintf(line, sizeof(line), "%s, %.2f bytes/event", fmt_bytes(a, f->file_size),
			 (double)f->file_size / (double)res->events);
	else
		snprintf(line, sizeof(line), "%s", fmt_bytes(a, f->file_size));
	kv(t, "file", line);
	if (res->generations)
		kv(t, "clock",
		   res->clock_kind == 0	  ? "tsc"
		   : res->clock_kind == 1 ? "monotonic"
					  : "other");
	table_print(t, out, "  ");
	table_free(t);
}

static void print_threads(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	char a[FMT_BUF], b[FMT_BUF], idx[16], tid[16], name[256];
	fprintf(out, "\nThreads  %u\n", res->nthreads);
	if (!res->nthreads)
		return;
	const char *hdr[] = {"INDEX", "TID", "NAME", "EVENTS", "LOST", "STATE"};
	struct table *t = table_new(6, "rrlrrl", hdr);
	for (uint32_t i = 0; i < res->nthreads; i++) {
		const struct report_thread *th = &res->threads[i];
		snprintf(idx, sizeof(idx), "%u", th->index);
		snprintf(tid, sizeof(tid), "%u", th->tid);
		const char *row[] = {idx,
				     th->index ? tid : "-",
				     th->index ? safe(name, sizeof(name), th->name, NAME_COLS)
					       : "(unattributed)",
				     fmt_count(a, th->events),
				     th->lost_events ? fmt_count(b, th->lost_events) : "-",
				     th->exited ? "exited" : ""};
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
}

const char *report_thread_label(char *buf, size_t cap, const struct report_result *res,
				uint32_t index)
{
	char name[128];
	if (index == 0)
		return snprintf(buf, cap, "(unattributed)"), buf;
	for (uint32_t i = 0; i < res->nthreads; i++)
		if (res->threads[i].index == index && res->threads[i].name[0]) {
			snprintf(buf, cap, "%u %s", index,
				 safe(name, sizeof(name), res->threads[i].name, 32));
			return buf;
		}
	snprintf(buf, cap, "%u", index);
	return buf;
}

/* "function file:line", the file cut to its base name: sites go in tables. */
const char *report_site_label(char *buf, size_t cap, const struct report_site *st)
{
	char f[128], fl[128];
	const char *base = strrchr(st->file, '/');
	base = base ? base + 1 : st->file;
	if (!st->function[0] && !base[0])
		return snprintf(buf, cap, "(no stack)"), buf;
	safe(f, sizeof(f), st->function[0] ? st->function : "?", NAME_COLS);
	safe(fl, sizeof(fl), base, 40);
	if (base[0])
		snprintf(buf, cap, "%s %s:%u", f, fl, st->line);
	else
		snprintf(buf, cap, "%s", f);
	return buf;
}

/* The holder of a lock: "3 main", or "tid 1234" when not a thread of the trace. */
static const char *holder_label(char *buf, size_t cap, uint32_t index, uint32_t tid,
				const char *name)
{
	char n[128];
	if (index && name && name[0])
		snprintf(buf, cap, "%u %s", index, safe(n, sizeof(n), name, 32));
	else if (index)
		snprintf(buf, cap, "%u", index);
	else if (tid)
		snprintf(buf, cap, "tid %u", tid);
	else
		snprintf(buf, cap, "-");
	return buf;
}

static const char *dur_or_dash(char *buf, uint64_t ns)
{
	return ns ? fmt_dur(buf, ns) : "-";
}

static void print_wait_table(FILE *out, const struct report_result *res)
{
	char cells[REPORT_WAIT_CATS + 2][FMT_BUF], th[160], a[FMT_BUF];
	fputs("\nThread time  by what each thread waited on (other: in no wait, running or "
	      "runnable)\n",
	      out);
	const char *hdr[] = {"THREAD", "SPAN", "SYNC", "CONDVAR", "SLEEP", "NET",
			     "FILE",   "FD",   "POLL", "OTHER",	  "WAITS"};
	struct table *t = table_new(11, "lrrrrrrrrrr", hdr);
	for (uint32_t i = 0; i < res->nthreads; i++) {
		const struct report_thread *p = &res->threads[i];
		if (p->index == 0 && !p->span_ns)
			continue;
		const char *row[11];
		row[0] = report_thread_label(th, sizeof(th), res, p->index);
		row[1] = fmt_dur(cells[0], p->span_ns);
		for (unsigned c = 0; c < REPORT_WAIT_CATS; c++)
			row[2 + c] = dur_or_dash(cells[1 + c], p->waits.wait_ns[c]);
		row[9] = dur_or_dash(cells[REPORT_WAIT_CATS + 1], p->waits.other_ns);
		row[10] = fmt_count(a, p->waits.waits);
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
}

/* With scheduler data, the states table (waits by primitive among them);
 * without, the wait table. Then the threads stuck in a wait at the end. */
static void print_thread_waits(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	char th[160], site[400], hold[160], a[FMT_BUF];
	if (report_show_states(res))
		report_print_states(out, v);
	else if (res->waits)
		print_wait_table(out, res);
	for (uint32_t i = 0; i < res->nthreads; i++) {
		const struct report_thread *p = &res->threads[i];
		if (!p->waiting)
			continue;
		const struct report_wait *w = &p->open;
		fprintf(out, "  thread %s is blocked at the end: %s at %s for %s",
			report_thread_label(th, sizeof(th), res, p->index),
			report_wait_reason_name(w->reason),
			report_site_label(site, sizeof(site), &w->site),
			fmt_dur(a, w->duration_ns));
		if (w->holder_tid)
			fprintf(out, ", held by %s",
				holder_label(hold, sizeof(hold), w->holder, w->holder_tid,
					     w->holder_name));
		fputc('\n', out);
	}
}

static void print_wait_sites(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], site[400], hold[160];
	if (!res->waits)
		return;
	fprintf(out, "\nTop wait sites  %u of %u (reason, call site) by total time; %s waits",
		res->ntop_wait_sites, res->nwait_sites, fmt_count(a, res->waits));
	if (res->waits_open)
		fprintf(out, ", %s open at the end (counted to it)", fmt_count(b, res->waits_open));
	fputc('\n', out);
	if (res->wait_sites_overflow)
		fprintf(out, "  (%s waits, %s, at sites beyond the first %u: not listed)\n",
			fmt_count(a, res->wait_sites_overflow),
			fmt_dur(b, res->wait_sites_overflow_ns), REPORT_MAX_WAIT_SITES);
	if (!res->ntop_wait_sites)
		return;
	const char *hdr[] = {"REASON", "SITE", "COUNT", "TOTAL", "MAX", "HOLDER (most often)"};
	struct table *t = table_new(6, "llrrrl", hdr);
	for (uint32_t i = 0; i < res->ntop_wait_sites; i++) {
		const struct report_wait_site *w = &res->wait_sites[i];
		const char *row[] = {report_wait_reason_name(w->reason),
				     report_site_label(site, sizeof(site), &w->site),
				     fmt_count(a, w->count),
				     fmt_dur(b, w->total_ns),
				     fmt_dur(c, w->max_ns),
				     w->holder_tid ? holder_label(hold, sizeof(hold), w->holder,
								  w->holder_tid, w->holder_name)
						   : ""};
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
}

static void print_task_waits(FILE *out, const struct report_result *res,
			     const struct report_task *tk)
{
	char a[FMT_BUF], b[FMT_BUF], th[160], site[400], hold[160];
	uint64_t waited = 0;
	for (unsigned c = 0; c < REPORT_WAIT_CATS; c++)
		waited += tk->waits.wait_ns[c];
	if (!waited && !tk->nwaits)
		return;
	fputs("      on its threads:", out);
	for (unsigned c = 0; c < REPORT_WAIT_CATS; c++)
		if (tk->waits.wait_ns[c])
			fprintf(out, " %s %s,", report_wait_cat_name(c),
				fmt_dur(a, tk->waits.wait_ns[c]));
	fprintf(out, " other %s\n", fmt_dur(a, tk->waits.other_ns));
	const char *hdr[] = {"WAIT", "DURATION", "AT", "THREAD", "SITE", "HOLDER"};
	struct table *t = table_new(6, "lrrlll", hdr);
	for (uint32_t j = 0; j < tk->nwaits; j++) {
		const struct report_wait *w = &tk->longest[j];
		uint64_t at = w->begin_ns > tk->begin_ns ? w->begin_ns - tk->begin_ns : 0;
		char dur[FMT_BUF + 8];
		snprintf(dur, sizeof(dur), "%s%s", fmt_dur(a, w->duration_ns), w->open ? "+" : "");
		const char *row[] = {report_wait_reason_name(w->reason),
				     dur,
				     fmt_offset(b, at),
				     report_thread_label(th, sizeof(th), res, w->thread),
				     report_site_label(site, sizeof(site), &w->site),
				     w->holder_tid ? holder_label(hold, sizeof(hold), w->holder,
								  w->holder_tid, w->holder_name)
						   : ""};
		table_row(t, row);
	}
	table_print(t, out, "      ");
	table_free(t);
}

static void print_loss(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	const struct report_loss *l = &res->loss;
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], th[160];
	if (l->events == 0 && l->in_band_records + l->section_records == 0) {
		fputs("\nLoss  none: no events were dropped\n", out);
		return;
	}
	fprintf(out, "\nLoss  %s events lost (%.3g%% of all), in %s records\n",
		fmt_count(a, l->events),
		100.0 * (double)l->events / (double)(l->events + res->events),
		fmt_count(b, l->in_band_records + l->section_records));
	fputs("  by reason:", out);
	const char *sep = " ";
	for (unsigned i = 0; i < 5; i++)
		if (l->by_reason[i]) {
			fprintf(out, "%s%s %s", sep, report_loss_reason(i, 0),
				fmt_count(a, l->by_reason[i]));
			sep = ", ";
		}
	if (l->other_reason)
		fprintf(out, "%sother %s", sep, fmt_count(a, l->other_reason));
	fputc('\n', out);
	const char *hdr[] = {"THREAD", "EVENTS", "FROM", "TO", "REASON", "SOURCE"};
	struct table *t = table_new(6, "lrrrll", hdr);
	for (uint32_t i = 0; i < l->nranges; i++) {
		const struct report_loss_range *r = &l->ranges[i];
		uint64_t s = r->start_ns > res->first_ns ? r->start_ns - res->first_ns : 0;
		uint64_t e = r->end_ns > res->first_ns ? r->end_ns - res->first_ns : 0;
		const char *row[] = {report_thread_label(th, sizeof(th), res, r->thread),
				     fmt_count(a, r->events),
				     fmt_offset(b, s),
				     fmt_offset(c, e),
				     report_loss_reason(r->reason, 0),
				     r->in_band ? "in-band" : "loss section"};
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
	if (l->ranges_omitted)
		fprintf(out, "  ... and %s more records (counted above)\n",
			fmt_count(a, l->ranges_omitted));
}

static void print_types(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], d[FMT_BUF], e[FMT_BUF], f[FMT_BUF], g[FMT_BUF],
		h[FMT_BUF], name[256];
	fprintf(out,
		"\nTasks  %s finished, %s unfinished (began, never ended), %s began before the "
		"trace\n",
		fmt_count(a, res->tasks_finished), fmt_count(b, res->tasks_unfinished),
		fmt_count(c, res->tasks_before_trace));
	if (!res->ntypes)
		return;
	const char *hdr[] = {"TYPE", "COUNT", "MIN",  "P50",	   "P90",
			     "P99",  "MAX",   "MEAN", "UNFINISHED"};
	struct table *t = table_new(9, "lrrrrrrrr", hdr);
	for (uint32_t i = 0; i < res->ntypes; i++) {
		const struct report_type *ty = &res->types[i];
		int has = ty->count > 0;
		const char *row[] = {
			safe(name, sizeof(name), ty->name[0] ? ty->name : "(no type)", NAME_COLS),
			fmt_count(a, ty->count),
			has ? fmt_dur(b, ty->min_ns) : "-",
			has ? fmt_dur(c, ty->p50_ns) : "-",
			has ? fmt_dur(d, ty->p90_ns) : "-",
			has ? fmt_dur(e, ty->p99_ns) : "-",
			has ? fmt_dur(f, ty->max_ns) : "-",
			has ? fmt_dur(g, ty->total_ns / ty->count) : "-",
			ty->unfinished ? fmt_count(h, ty->unfinished) : "-"};
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
	fputs("  (latency: task begin to end, on any thread; percentiles within 1%, min/max "
	      "exact)\n",
	      out);
	if (res->loss.events)
		fputs("  (events were lost: some tasks may look unfinished or begun before the "
		      "trace)\n",
		      out);
}

static void print_task(FILE *out, const struct report_view *v, uint32_t i)
{
	const struct report_result *res = v->res;
	const struct report_task *tk = &res->slow[i];
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], name[256], threads[160], th[160], msg[1024];
	int n = 0;
	threads[0] = 0;
	for (uint32_t j = 0; j < tk->nthreads && n < (int)sizeof(threads) - 16; j++)
		n += snprintf(threads + n, sizeof(threads) - (size_t)n, "%s%u", j ? "," : "",
			      tk->threads[j]);
	if (tk->more_threads)
		snprintf(threads + n, sizeof(threads) - (size_t)n, ",...");
	fprintf(out, "\n  #%u  task %" PRIu64 "  %s  %s%s  at %s", i + 1, tk->id,
		safe(name, sizeof(name), tk->type[0] ? tk->type : "(no type)", NAME_COLS),
		tk->ended ? "" : "at least ", fmt_dur(a, tk->latency_ns),
		fmt_offset(b, tk->begin_ns - res->first_ns));
	if (tk->nthreads)
		fprintf(out, "  thread%s %s", tk->nthreads > 1 || tk->more_threads ? "s" : "",
			threads);
	if (tk->parent)
		fprintf(out, "  parent %" PRIu64, tk->parent);
	if (tk->trigger)
		fprintf(out, "  <== triggered the dump%s%s",
			tk->begin_in_trace ? "" : " (began before the window)",
			tk->ended ? "" : " (still running when the dump was taken)");
	fputc('\n', out);
	if (tk->has_trace)
		fprintf(out, "      distributed trace %s, span %s (parent span %s)\n", tk->trace_id,
			tk->span_id, tk->parent_id);
	if (!res->detail_done)
		return;
	const char *hdr[] = {"REGION", "COUNT", "TOTAL", "SELF"};
	struct table *t = table_new(4, "lrrr", hdr);
	for (uint32_t j = 0; j < tk->nregions; j++) {
		const struct report_region_node *r = &tk->regions[j];
		char label[300];
		unsigned depth = r->depth < 16 ? r->depth : 16;
		snprintf(label, sizeof(label), "%*s%s", (int)(2 * depth), "",
			 safe(name, sizeof(name), r->name[0] ? r->name : "(unnamed)", NAME_COLS));
		const char *row[] = {label, fmt_count(a, r->count), fmt_dur(b, r->total_ns),
				     fmt_dur(c, r->self_ns)};
		table_row(t, row);
	}
	const char *outside[] = {"(in task, outside regions)", "", "", fmt_dur(a, tk->outside_ns)};
	table_row(t, outside);
	if (tk->latency_ns > tk->on_thread_ns) {
		const char *off[] = {"(waiting: no thread had it current)", "", "",
				     fmt_dur(b, tk->latency_ns - tk->on_thread_ns)};
		table_row(t, off);
	}
	table_print(t, out, "      ");
	table_free(t);
	print_task_waits(out, res, tk);
	report_print_task_states(out, res, tk);
	if (!tk->nlogs)
		return;
	fprintf(out, "      logs (%u%s)\n", tk->nlogs,
		tk->logs_omitted ? ", the earliest; more not shown" : "");
	t = table_new(4, "rlll", NULL);
	for (uint32_t j = 0; j < tk->nlogs; j++) {
		const struct report_log *l = &tk->logs[j];
		char cat[128];
		snprintf(cat, sizeof(cat), "[%s]", safe(name, sizeof(name), l->category, 32));
		const char *row[] = {fmt_offset(a, l->offset_ns),
				     report_thread_label(th, sizeof(th), res, l->thread), cat,
				     fmt_safe(msg, sizeof(msg), l->message,
					      l->message ? strlen(l->message) : 0, MSG_COLS)};
		table_row(t, row);
	}
	table_print(t, out, "        ");
	table_free(t);
}

static void print_slow(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	char a[FMT_BUF];
	if (v->top_tasks == 0 && !(res->nslow && res->slow[0].trigger))
		return;
	int pin = res->nslow && res->slow[0].trigger;
	if (pin)
		fprintf(out,
			"\nSlowest tasks  the dump's triggering task first, then %u of %s finished",
			res->nslow - 1, fmt_count(a, res->tasks_finished));
	else
		fprintf(out, "\nSlowest tasks  %u of %s finished", res->nslow,
			fmt_count(a, res->tasks_finished));
	if (res->nslow)
		fputs(" (regions: self time excludes child regions; times clipped to the task)",
		      out);
	fputc('\n', out);
	if (res->nslow && !res->detail_done)
		fputs("  (region and log details unavailable: the second pass could not read the "
		      "trace)\n",
		      out);
	for (uint32_t i = 0; i < res->nslow; i++)
		print_task(out, v, i);
}

static void print_regions(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], d[FMT_BUF], e[FMT_BUF], name[256];
	if (v->top_regions == 0)
		return;
	fprintf(out, "\nTop regions  %u of %u names by total time; %s regions", res->ntop_regions,
		res->nregion_names, fmt_count(a, res->regions_total));
	if (res->regions_unmatched || res->regions_unclosed)
		fprintf(out, " (%s ended without a begin, %s never ended: not counted)",
			fmt_count(b, res->regions_unmatched), fmt_count(c, res->regions_unclosed));
	fputc('\n', out);
	if (!res->ntop_regions)
		return;
	const char *hdr[] = {"NAME", "COUNT", "TOTAL", "SELF", "MEAN", "MAX"};
	struct table *t = table_new(6, "lrrrrr", hdr);
	for (uint32_t i = 0; i < res->ntop_regions; i++) {
		const struct report_region_stat *r = &res->top_regions[i];
		const char *row[] = {
			safe(name, sizeof(name), r->name[0] ? r->name : "(unnamed)", NAME_COLS),
			fmt_count(a, r->count),
			fmt_dur(b, r->total_ns),
			fmt_dur(c, r->self_ns),
			fmt_dur(d, r->total_ns / r->count),
			fmt_dur(e, r->max_ns)};
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
}

void report_print_text(FILE *out, const struct report_view *v)
{
	report_print_dump(out, v);
	print_trace(out, v);
	print_threads(out, v);
	print_thread_waits(out, v);
	report_print_cpu(out, v);
	print_loss(out, v);
	print_types(out, v);
	print_slow(out, v);
	print_regions(out, v);
	print_wait_sites(out, v);
}
