/* The JSON rendering of `ctrace report`. The schema is documented field by
 * field in docs/REPORT-JSON.md: change both together, and bump
 * schema_version when a field changes meaning or goes away. Durations and
 * timestamps are integer nanoseconds; timestamps are CLOCK_MONOTONIC of the
 * traced machine. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctrace.h"
#include "fmt.h"
#include "js.h"
#include "report_out.h"

#define SCHEMA_VERSION 1

static void emit_file(struct js *j, const struct report_view *v)
{
	const struct report_file *f = v->file;
	char ver[32];
	js_open(j, "file", '{');
	js_str(j, "path", v->path);
	js_u64(j, "bytes", f->file_size);
	snprintf(ver, sizeof(ver), "%u.%u", f->version_major, f->version_minor);
	js_str(j, "format_version", ver);
	js_bool(j, "complete", f->complete);
	js_bool(j, "damaged", f->damaged);
	js_str(j, "error", f->error[0] ? f->error : NULL);
	js_open(j, "metadata", '{');
	for (uint32_t i = 0; i < f->nmeta; i++)
		js_str(j, f->meta[2 * i], f->meta[2 * i + 1]);
	js_close(j, '}');
	js_close(j, '}');
}

/* A number from the header metadata, or null when absent. */
static void js_meta_u64(struct js *j, const char *key, const struct report_file *f,
			const char *mkey)
{
	const char *v = report_meta(f, mkey);
	js_key(j, key);
	if (v)
		fprintf(j->f, "%llu", strtoull(v, NULL, 10));
	else
		fputs("null", j->f);
}

static void js_meta_bool(struct js *j, const char *key, const struct report_file *f,
			 const char *mkey)
{
	const char *v = report_meta(f, mkey);
	js_key(j, key);
	fputs(!v ? "null" : strtoull(v, NULL, 10) ? "true" : "false", j->f);
}

/* Why a flight recorder's dump was written; null for other traces. */
static void emit_dump(struct js *j, const struct report_view *v)
{
	const struct report_file *f = v->file;
	const char *reason = report_meta(f, "dump.reason");
	if (!reason) {
		js_str(j, "dump", NULL);
		return;
	}
	js_open(j, "dump", '{');
	js_str(j, "reason", reason);
	js_str(j, "kind", report_meta(f, "trigger.kind"));
	js_meta_u64(j, "time_ns", f, "dump.time_ns");
	js_meta_u64(j, "window_ns", f, "dump.window_ns");
	js_meta_bool(j, "size_capped", f, "dump.size_capped");
	js_meta_u64(j, "min_age_ns", f, "flight.min_age_ns");
	js_meta_u64(j, "max_bytes", f, "flight.max_bytes");
	js_meta_u64(j, "triggers_dropped", f, "dump.triggers_dropped");
	js_str(j, "crash_path", report_meta(f, "dump.crash_path"));
	js_open(j, "trigger", '{');
	js_meta_u64(j, "task", f, "trigger.task");
	js_str(j, "task_type", report_meta(f, "trigger.task_type"));
	js_meta_u64(j, "task_begin_ns", f, "trigger.task_begin_ns");
	js_meta_bool(j, "task_begin_in_window", f, "trigger.task_begin_in_window");
	js_bool(j, "task_listed", v->res->nslow && v->res->slow[0].trigger);
	js_meta_u64(j, "threshold_ns", f, "trigger.threshold_ns");
	js_meta_u64(j, "observed_ns", f, "trigger.observed_ns");
	js_meta_u64(j, "percentile", f, "trigger.percentile");
	js_meta_u64(j, "count", f, "trigger.count");
	js_meta_u64(j, "signal", f, "trigger.signal");
	js_str(j, "detail", report_meta(f, "trigger.detail"));
	js_close(j, '}');
	js_close(j, '}');
}

static void emit_trace(struct js *j, const struct report_view *v)
{
	const struct report_result *res = v->res;
	char key[32];
	js_open(j, "trace", '{');
	js_u64(j, "start_ns", res->first_ns);
	js_u64(j, "end_ns", res->last_ns);
	js_u64(j, "duration_ns", res->last_ns - res->first_ns);
	if (res->events && res->generations)
		js_i64(j, "start_realtime_ns", (int64_t)res->first_ns + res->realtime_offset_ns);
	else
		js_str(j, "start_realtime_ns", NULL);
	js_u64(j, "events", res->events);
	js_double(j, "bytes_per_event",
		  res->events ? (double)v->file->file_size / (double)res->events : 0.0);
	js_u64(j, "generations", res->generations);
	js_u64(j, "first_generation_seq", res->first_seq);
	js_u64(j, "last_generation_seq", res->last_seq);
	js_u64(j, "missing_generations", res->missing_generations);
	js_str(j, "clock",
	       !res->generations      ? NULL
	       : res->clock_kind == 0 ? "tsc"
	       : res->clock_kind == 1 ? "monotonic"
				      : "other");
	js_open(j, "events_by_kind", '{');
	for (unsigned k = 0; k < 128; k++) {
		if (!res->events_by_kind[k])
			continue;
		const char *name = report_kind_name(k);
		if (!name) {
			snprintf(key, sizeof(key), "kind.%u", k);
			name = key;
		}
		js_u64(j, name, res->events_by_kind[k]);
	}
	js_close(j, '}');
	js_close(j, '}');
}

static void emit_breakdown(struct js *j, const char *key, const struct report_breakdown *b)
{
	char k[32];
	js_open(j, key, '{');
	for (unsigned c = 0; c < REPORT_WAIT_CATS; c++) {
		snprintf(k, sizeof(k), "%s_ns", report_wait_cat_name(c));
		js_u64(j, k, b->wait_ns[c]);
	}
	js_u64(j, "other_ns", b->other_ns);
	js_u64(j, "count", b->waits);
	js_close(j, '}');
}

static void emit_states(struct js *j, const struct report_states *s)
{
	char k[32];
	js_open(j, "states", '{');
	for (unsigned i = 0; i < REPORT_STATES; i++) {
		snprintf(k, sizeof(k), "%s_ns", report_state_name(i));
		js_u64(j, k, s->ns[i]);
	}
	js_close(j, '}');
}

static void emit_faults(struct js *j, uint64_t minor, uint64_t major)
{
	js_open(j, "faults", '{');
	js_u64(j, "minor", minor);
	js_u64(j, "major", major);
	js_close(j, '}');
}

static void emit_funcs(struct js *j, const char *key, const struct report_func *f, uint32_t n)
{
	js_open(j, key, '[');
	for (uint32_t i = 0; i < n; i++) {
		js_open(j, NULL, '{');
		js_str(j, "function", f[i].function);
		js_u64(j, "self", f[i].self);
		js_u64(j, "self_ns", f[i].self_ns);
		js_u64(j, "cum", f[i].cum);
		js_u64(j, "cum_ns", f[i].cum_ns);
		js_close(j, '}');
	}
	js_close(j, ']');
}

static void emit_site(struct js *j, const struct report_site *s)
{
	js_str(j, "function", s->function);
	js_str(j, "file", s->file);
	js_u64(j, "line", s->line);
}

static void emit_holder(struct js *j, uint32_t index, uint32_t tid, const char *name)
{
	if (!tid) {
		js_str(j, "holder", NULL);
		return;
	}
	js_open(j, "holder", '{');
	if (index)
		js_u64(j, "thread", index);
	else
		js_str(j, "thread", NULL);
	js_u64(j, "tid", tid);
	js_str(j, "name", index ? (name ? name : "") : NULL);
	js_close(j, '}');
}

static void emit_wait(struct js *j, const char *key, const struct report_wait *w)
{
	js_open(j, key, '{');
	js_str(j, "reason", report_wait_reason_name(w->reason));
	js_str(j, "category", report_wait_cat_name(report_wait_cat(w->reason)));
	js_u64(j, "thread", w->thread);
	js_u64(j, "start_ns", w->begin_ns);
	js_u64(j, "duration_ns", w->duration_ns);
	js_bool(j, "open", w->open);
	js_u64(j, "object", w->object);
	js_u64(j, "detail", w->detail);
	emit_site(j, &w->site);
	emit_holder(j, w->holder, w->holder_tid, w->holder_name);
	js_close(j, '}');
}

static void emit_threads(struct js *j, const struct report_result *res)
{
	js_open(j, "threads", '[');
	for (uint32_t i = 0; i < res->nthreads; i++) {
		const struct report_thread *t = &res->threads[i];
		js_open(j, NULL, '{');
		js_u64(j, "index", t->index);
		js_u64(j, "tid", t->tid);
		js_str(j, "name", t->name);
		js_u64(j, "events", t->events);
		js_u64(j, "lost_events", t->lost_events);
		js_u64(j, "loss_records", t->loss_records);
		js_bool(j, "exited", t->exited);
		js_u64(j, "span_ns", t->span_ns);
		emit_breakdown(j, "waits", &t->waits);
		if (t->waiting)
			emit_wait(j, "blocked_at_end", &t->open);
		else
			js_str(j, "blocked_at_end", NULL);
		js_str(j, "sched_source", report_sched_source_name(t->sched_source));
		emit_states(j, &t->states);
		js_u64(j, "switches", t->switches);
		js_u64(j, "preemptions", t->preemptions);
		emit_faults(j, t->faults_minor, t->faults_major);
		js_u64(j, "cpu_samples", t->cpu_samples);
		js_u64(j, "cpu_sample_ns", t->cpu_sample_ns);
		js_close(j, '}');
	}
	js_close(j, ']');
}

static void emit_loss(struct js *j, const struct report_result *res)
{
	const struct report_loss *l = &res->loss;
	js_open(j, "loss", '{');
	js_u64(j, "events", l->events);
	js_u64(j, "records", l->in_band_records + l->section_records);
	js_open(j, "in_band", '{');
	js_u64(j, "records", l->in_band_records);
	js_u64(j, "events", l->in_band_events);
	js_close(j, '}');
	js_open(j, "section", '{');
	js_u64(j, "records", l->section_records);
	js_u64(j, "events", l->section_events);
	js_close(j, '}');
	js_open(j, "by_reason", '{');
	for (unsigned i = 0; i < 5; i++)
		js_u64(j, report_loss_reason(i, 1), l->by_reason[i]);
	js_u64(j, "other", l->other_reason);
	js_close(j, '}');
	js_open(j, "ranges", '[');
	for (uint32_t i = 0; i < l->nranges; i++) {
		const struct report_loss_range *r = &l->ranges[i];
		js_open(j, NULL, '{');
		js_u64(j, "thread", r->thread);
		js_u64(j, "events", r->events);
		js_u64(j, "start_ns", r->start_ns);
		js_u64(j, "end_ns", r->end_ns);
		js_str(j, "reason", report_loss_reason(r->reason, 1));
		js_str(j, "source", r->in_band ? "in_band" : "section");
		js_close(j, '}');
	}
	js_close(j, ']');
	js_u64(j, "ranges_omitted", l->ranges_omitted);
	js_close(j, '}');
}

static void emit_tasks(struct js *j, const struct report_result *res)
{
	js_open(j, "tasks", '{');
	js_u64(j, "begun", res->tasks_begun);
	js_u64(j, "finished", res->tasks_finished);
	js_u64(j, "unfinished", res->tasks_unfinished);
	js_u64(j, "began_before_trace", res->tasks_before_trace);
	js_double(j, "percentile_max_relative_error", REPORT_PERCENTILE_ERROR);
	js_open(j, "by_type", '[');
	for (uint32_t i = 0; i < res->ntypes; i++) {
		const struct report_type *t = &res->types[i];
		js_open(j, NULL, '{');
		js_str(j, "type", t->name);
		js_u64(j, "count", t->count);
		js_u64(j, "unfinished", t->unfinished);
		if (t->unfinished)
			js_u64(j, "oldest_unfinished_start_ns", t->oldest_unfinished_begin_ns);
		else
			js_str(j, "oldest_unfinished_start_ns", NULL);
		js_u64(j, "min_ns", t->min_ns);
		js_u64(j, "p50_ns", t->p50_ns);
		js_u64(j, "p90_ns", t->p90_ns);
		js_u64(j, "p99_ns", t->p99_ns);
		js_u64(j, "p999_ns", t->p999_ns);
		js_u64(j, "max_ns", t->max_ns);
		js_u64(j, "mean_ns", t->count ? t->total_ns / t->count : 0);
		js_u64(j, "total_ns", t->total_ns);
		js_close(j, '}');
	}
	js_close(j, ']');
	js_close(j, '}');
}

static void emit_task(struct js *j, const struct report_result *res, uint32_t rank)
{
	const struct report_task *t = &res->slow[rank];
	js_open(j, NULL, '{');
	js_u64(j, "rank", rank + 1);
	js_u64(j, "id", t->id);
	js_str(j, "type", t->type);
	js_u64(j, "parent", t->parent);
	js_u64(j, "latency_ns", t->latency_ns);
	js_u64(j, "start_ns", t->begin_ns);
	js_u64(j, "end_ns", t->end_ns);
	js_u64(j, "start_offset_ns", t->begin_ns - res->first_ns);
	js_bool(j, "detail", res->detail_done);
	js_bool(j, "trigger", t->trigger);
	js_bool(j, "begin_in_trace", t->begin_in_trace);
	js_bool(j, "ended", t->ended);
	if (t->has_trace) {
		js_str(j, "trace_id", t->trace_id);
		js_str(j, "span_id", t->span_id);
		js_str(j, "parent_span_id", t->parent_id);
	} else {
		js_str(j, "trace_id", NULL);
	}
	js_open(j, "threads", '[');
	for (uint32_t i = 0; i < t->nthreads; i++) {
		js_key(j, NULL);
		fprintf(j->f, "%u", t->threads[i]);
	}
	js_close(j, ']');
	js_bool(j, "more_threads", t->more_threads);
	js_u64(j, "on_thread_ns", t->on_thread_ns);
	js_u64(j, "outside_regions_ns", t->outside_ns);
	js_u64(j, "off_thread_ns",
	       t->latency_ns > t->on_thread_ns ? t->latency_ns - t->on_thread_ns : 0);
	emit_breakdown(j, "waits", &t->waits);
	emit_states(j, &t->states);
	emit_faults(j, t->faults_minor, t->faults_major);
	js_u64(j, "cpu_samples", t->cpu_samples);
	emit_funcs(j, "top_functions", t->funcs, t->nfuncs);
	js_open(j, "longest_waits", '[');
	for (uint32_t i = 0; i < t->nwaits; i++)
		emit_wait(j, NULL, &t->longest[i]);
	js_close(j, ']');
	js_open(j, "regions", '[');
	for (uint32_t i = 0; i < t->nregions; i++) {
		const struct report_region_node *r = &t->regions[i];
		js_open(j, NULL, '{');
		js_str(j, "name", r->name);
		js_open(j, "path", '[');
		/* Ancestors first: walk up once to find them, then print in order. */
		int32_t chain[REPORT_MAX_TASK_REGIONS];
		unsigned n = 0;
		for (int32_t k = (int32_t)i; k >= 0 && n < REPORT_MAX_TASK_REGIONS;
		     k = t->regions[k].parent)
			chain[n++] = k;
		while (n)
			js_str(j, NULL, t->regions[chain[--n]].name);
		js_close(j, ']');
		js_u64(j, "depth", r->depth);
		js_i64(j, "parent", r->parent);
		js_u64(j, "count", r->count);
		js_u64(j, "total_ns", r->total_ns);
		js_u64(j, "self_ns", r->self_ns);
		js_close(j, '}');
	}
	js_close(j, ']');
	js_open(j, "logs", '[');
	for (uint32_t i = 0; i < t->nlogs; i++) {
		const struct report_log *l = &t->logs[i];
		js_open(j, NULL, '{');
		js_u64(j, "offset_ns", l->offset_ns);
		js_u64(j, "thread", l->thread);
		js_str(j, "category", l->category);
		js_str(j, "message", l->message ? l->message : "");
		js_close(j, '}');
	}
	js_close(j, ']');
	js_u64(j, "logs_omitted", t->logs_omitted);
	js_close(j, '}');
}

static void emit_regions(struct js *j, const struct report_result *res)
{
	js_open(j, "regions", '{');
	js_u64(j, "names", res->nregion_names);
	js_u64(j, "count", res->regions_total);
	js_u64(j, "unmatched_ends", res->regions_unmatched);
	js_u64(j, "unclosed", res->regions_unclosed);
	js_open(j, "top", '[');
	for (uint32_t i = 0; i < res->ntop_regions; i++) {
		const struct report_region_stat *r = &res->top_regions[i];
		js_open(j, NULL, '{');
		js_str(j, "name", r->name);
		js_u64(j, "count", r->count);
		js_u64(j, "total_ns", r->total_ns);
		js_u64(j, "self_ns", r->self_ns);
		js_u64(j, "mean_ns", r->count ? r->total_ns / r->count : 0);
		js_u64(j, "max_ns", r->max_ns);
		js_close(j, '}');
	}
	js_close(j, ']');
	js_close(j, '}');
}

static void emit_waits(struct js *j, const struct report_result *res)
{
	js_open(j, "waits", '{');
	js_u64(j, "count", res->waits);
	js_u64(j, "open_at_end", res->waits_open);
	js_u64(j, "unmatched_ends", res->waits_unmatched);
	js_u64(j, "sites", res->nwait_sites);
	js_u64(j, "sites_overflow_waits", res->wait_sites_overflow);
	js_u64(j, "sites_overflow_ns", res->wait_sites_overflow_ns);
	js_open(j, "top_sites", '[');
	for (uint32_t i = 0; i < res->ntop_wait_sites; i++) {
		const struct report_wait_site *s = &res->wait_sites[i];
		js_open(j, NULL, '{');
		js_str(j, "reason", report_wait_reason_name(s->reason));
		js_str(j, "category", report_wait_cat_name(report_wait_cat(s->reason)));
		emit_site(j, &s->site);
		js_u64(j, "count", s->count);
		js_u64(j, "open", s->open);
		js_u64(j, "total_ns", s->total_ns);
		js_u64(j, "max_ns", s->max_ns);
		js_u64(j, "mean_ns", s->count ? s->total_ns / s->count : 0);
		emit_holder(j, s->holder, s->holder_tid, s->holder_name);
		js_close(j, '}');
	}
	js_close(j, ']');
	js_close(j, '}');
}

static void emit_cpu(struct js *j, const struct report_result *res)
{
	const struct report_cpu *c = &res->cpu;
	js_open(j, "cpu", '{');
	js_str(j, "sched_source", report_sched_source_name(c->source));
	js_str(j, "sched_source_meta", c->source_meta);
	js_str(j, "sched_scope_meta", c->scope_meta);
	js_u64(j, "switches", c->switches);
	js_u64(j, "preemptions", c->preemptions);
	js_u64(j, "sched_samples", c->samples);
	js_open(j, "limits", '{');
	if (c->quota_cpus > 0)
		js_double(j, "quota_cpus", c->quota_cpus);
	else
		js_str(j, "quota_cpus", NULL);
	js_u64(j, "cgroup_cpus", c->cgroup_cpus);
	js_u64(j, "affinity_cpus", c->affinity_cpus);
	js_u64(j, "online_cpus", c->online_cpus);
	if (c->cpus_allowed > 0)
		js_double(j, "cpus_allowed", c->cpus_allowed);
	else
		js_str(j, "cpus_allowed", NULL);
	js_close(j, '}');
	if (c->concurrency) {
		js_open(j, "wanting_cpu", '{');
		js_u64(j, "peak", c->peak);
		js_u64(j, "p99", c->p99);
		js_u64(j, "p50", c->p50);
		js_u64(j, "measured_ns", c->measured_ns);
		js_u64(j, "over_allowed_ns", c->over_ns);
		js_close(j, '}');
	} else {
		js_str(j, "wanting_cpu", NULL);
	}
	js_bool(j, "finding", c->finding);
	js_open(j, "throttle", '{');
	js_u64(j, "events", c->throttle_events);
	js_u64(j, "periods", c->periods);
	js_u64(j, "periods_throttled", c->periods_throttled);
	js_u64(j, "throttled_ns", c->throttled_ns);
	js_u64(j, "reclassified_ns", c->reclassified_ns);
	js_close(j, '}');
	js_open(j, "faults", '{');
	js_u64(j, "minor", c->faults_minor);
	js_u64(j, "major", c->faults_major);
	js_u64(j, "blocked_ns", c->fault_blocked_ns);
	js_u64(j, "sites", c->nfault_sites);
	js_open(j, "top_sites", '[');
	for (uint32_t i = 0; i < c->nfault_sites && i < REPORT_TOP_FAULT_SITES; i++) {
		js_open(j, NULL, '{');
		emit_site(j, &c->fault_sites[i].site);
		js_u64(j, "major", c->fault_sites[i].major);
		js_u64(j, "minor", c->fault_sites[i].minor);
		js_close(j, '}');
	}
	js_close(j, ']');
	js_close(j, '}');
	js_open(j, "samples", '{');
	js_u64(j, "count", c->cpu_samples);
	js_u64(j, "cpu_ns", c->cpu_sample_ns);
	emit_funcs(j, "top_self", c->self, c->nself);
	emit_funcs(j, "top_cumulative", c->cum, c->ncum);
	js_close(j, '}');
	js_close(j, '}');
}

void report_print_json(FILE *out, const struct report_view *v)
{
	struct js j = {out, 0, 1};
	js_open(&j, NULL, '{');
	js_str(&j, "schema", "ctrace.report");
	js_u64(&j, "schema_version", SCHEMA_VERSION);
	js_str(&j, "ctrace_version", CT_VERSION_STRING);
	emit_dump(&j, v);
	emit_file(&j, v);
	emit_trace(&j, v);
	emit_threads(&j, v->res);
	emit_loss(&j, v->res);
	emit_tasks(&j, v->res);
	js_open(&j, "slowest_tasks", '[');
	for (uint32_t i = 0; i < v->res->nslow; i++)
		emit_task(&j, v->res, i);
	js_close(&j, ']');
	emit_regions(&j, v->res);
	emit_waits(&j, v->res);
	emit_cpu(&j, v->res);
	js_close(&j, '}');
	fputc('\n', out);
}
