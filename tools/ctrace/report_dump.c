/* The "Dump" section of `ctrace report` (text): when the trace is a flight
 * recorder's dump, why it was written, first: the reason, the trigger and
 * its details (header dump.*, trigger.*, flight.*; docs/FORMAT.md), and the
 * window it holds. The triggering task is detailed first among the slow
 * tasks (report_text.c). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "report_out.h"

static uint64_t meta_num(const struct report_file *f, const char *key, int *present)
{
	const char *v = report_meta(f, key);
	if (present)
		*present = v != NULL;
	return v ? strtoull(v, NULL, 10) : 0;
}

static void row(struct table *t, const char *k, const char *v)
{
	const char *r[] = {k, v};
	table_row(t, r);
}

static const char *text(char *buf, size_t cap, const char *s)
{
	return fmt_safe(buf, cap, s, s ? strlen(s) : 0, 120);
}

/* "2026-11-26 15:44:30.613 UTC, +9.81s into the trace" */
static void when(char *line, size_t cap, const struct report_view *v, uint64_t t_ns)
{
	const struct report_result *res = v->res;
	char a[FMT_BUF], s[64];
	int n = 0;
	line[0] = 0;
	int64_t real = (int64_t)t_ns + res->realtime_offset_ns;
	time_t sec = (time_t)(real / 1000000000);
	struct tm tm;
	if (res->generations && real > 0 && gmtime_r(&sec, &tm)) {
		strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S", &tm);
		n = snprintf(line, cap, "%s.%03d UTC", s, (int)(real % 1000000000 / 1000000));
	}
	if (res->events && t_ns >= res->first_ns)
		snprintf(line + n, cap - (size_t)n, "%s%s after the trace's first event",
			 n ? ", " : "", fmt_dur(a, t_ns - res->first_ns));
}

void report_print_dump(FILE *out, const struct report_view *v)
{
	const struct report_file *f = v->file;
	const char *reason = report_meta(f, "dump.reason");
	if (!reason)
		return;
	const char *kind = report_meta(f, "trigger.kind");
	char a[FMT_BUF], b[FMT_BUF], line[512], s1[256], s2[256];
	fprintf(out, "Dump  %s: a flight recorder's window, written %s\n",
		text(s1, sizeof s1, reason),
		!kind || !strcmp(kind, "manual") ? "on request" : "on a trigger");
	struct table *t = table_new(2, "ll", NULL);
	row(t, "reason", text(s1, sizeof s1, reason));
	if (kind)
		row(t, "trigger", text(s1, sizeof s1, kind));
	int has;
	uint64_t time_ns = meta_num(f, "dump.time_ns", &has);
	if (has) {
		when(line, sizeof line, v, time_ns);
		if (line[0]) /* not with an empty trace */
			row(t, "taken", line);
	}
	uint64_t window = meta_num(f, "dump.window_ns", &has);
	if (has) {
		int n = snprintf(line, sizeof line, "%s of history", fmt_dur(a, window));
		int age_set;
		uint64_t age = meta_num(f, "flight.min_age_ns", &age_set);
		uint64_t cap = meta_num(f, "flight.max_bytes", NULL);
		if (age_set)
			n += snprintf(line + n, sizeof line - (size_t)n, " (%s asked",
				      fmt_dur(b, age));
		if (age_set && cap)
			n += snprintf(line + n, sizeof line - (size_t)n, ", in at most %s",
				      fmt_bytes(a, cap));
		if (age_set)
			n += snprintf(line + n, sizeof line - (size_t)n, ")");
		if (meta_num(f, "dump.size_capped", NULL))
			snprintf(line + n, sizeof line - (size_t)n,
				 "; CUT SHORT by the size cap: less history than asked");
		row(t, "window", line);
	}
	uint64_t thr = meta_num(f, "trigger.threshold_ns", NULL);
	uint64_t obs = meta_num(f, "trigger.observed_ns", NULL);
	uint64_t pct = meta_num(f, "trigger.percentile", NULL);
	uint64_t count = meta_num(f, "trigger.count", NULL);
	if (thr)
		row(t, "threshold", fmt_dur(a, thr));
	if (obs) {
		int n = snprintf(line, sizeof line, "%s", fmt_dur(a, obs));
		if (pct)
			n += snprintf(line + n, sizeof line - (size_t)n, " (p%" PRIu64 ")", pct);
		if (thr && obs > thr)
			snprintf(line + n, sizeof line - (size_t)n, ", %.2fx the threshold",
				 (double)obs / (double)thr);
		row(t, "observed", line);
	}
	if (pct && !obs) {
		snprintf(line, sizeof line, "p%" PRIu64, pct);
		row(t, "percentile", line);
	}
	if (count) {
		snprintf(line, sizeof line, "%s task latencies in the window", fmt_count(a, count));
		row(t, "count", line);
	}
	uint64_t sig = meta_num(f, "trigger.signal", NULL);
	if (sig) {
		const char *name = sig < 65 ? sigabbrev_np((int)sig) : NULL;
		snprintf(line, sizeof line, "SIG%s (%" PRIu64 ")", name ? name : "?", sig);
		row(t, "signal", name ? line : line + 3);
	}
	const char *detail = report_meta(f, "trigger.detail");
	if (detail)
		row(t, "detail", text(s1, sizeof s1, detail));
	const char *crash_path = report_meta(f, "dump.crash_path");
	if (crash_path)
		row(t, "written by", text(s1, sizeof s1, crash_path));
	uint64_t task = meta_num(f, "trigger.task", NULL);
	if (task) {
		const struct report_result *res = v->res;
		int listed = res->nslow && res->slow[0].trigger;
		/* ct_flight_trigger_task does not know the type: the trace does */
		const char *type = report_meta(f, "trigger.task_type");
		if ((!type || !*type) && listed)
			type = res->slow[0].type;
		int n = snprintf(line, sizeof line, "%" PRIu64 " (%s)", task,
				 text(s2, sizeof s2, type && *type ? type : "no type"));
		int in_set;
		uint64_t in = meta_num(f, "trigger.task_begin_in_window", &in_set);
		if (in_set)
			n += snprintf(line + n, sizeof line - (size_t)n, ", began %s the window",
				      in ? "inside" : "BEFORE");
		snprintf(line + n, sizeof line - (size_t)n, "%s",
			 listed ? "; first among the slowest tasks below (<== trigger)"
				: "; not in the trace");
		row(t, "task", line);
	}
	uint64_t dropped = meta_num(f, "dump.triggers_dropped", &has);
	if (has) {
		snprintf(line, sizeof line, "%s (within the cooldown, or while one was pending)",
			 fmt_count(a, dropped));
		row(t, "dropped", dropped ? line : "0 other triggers");
	}
	table_print(t, out, "  ");
	table_free(t);
	fputc('\n', out);
}
