/* The text of `ctrace report` for thread states, CPU limits, page faults
 * and CPU samples: shown only when the trace has the data (a scheduler
 * source, throttle, fault or CPU sample events). */
#include <inttypes.h>
#include <string.h>

#include "fmt.h"
#include "report_out.h"

#define TOP_LINES 10

/* Whether the state table replaces the wait table. */
int report_show_states(const struct report_result *res)
{
	return res->cpu.source != REPORT_SCHED_NONE || res->cpu.throttle_events;
}

static const char *upper(char *buf, size_t cap, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		buf[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
	buf[i] = 0;
	return buf;
}

/* "1.20s 60%" */
static const char *cell(char *buf, size_t cap, uint64_t ns, uint64_t span)
{
	char d[FMT_BUF];
	if (!ns)
		return "-";
	double pct = span ? 100.0 * (double)ns / (double)span : 0;
	snprintf(buf, cap, "%s %*.0f%%", fmt_dur(d, ns), pct < 10 ? 1 : 2, pct);
	return buf;
}

void report_print_states(FILE *out, const struct report_view *v)
{
	const struct report_result *res = v->res;
	int used[REPORT_STATES] = {0}, mixed = res->cpu.source == REPORT_SCHED_MIXED;
	used[REPORT_ST_RUNNING] = 1;
	for (uint32_t i = 0; i < res->nthreads; i++)
		for (unsigned s = 0; s < REPORT_STATES; s++)
			used[s] |= res->threads[i].states.ns[s] != 0;
	fprintf(out,
		"\nThread states  %% of each thread's span; scheduler data: %s (rules: ctrace "
		"report --help)\n",
		report_sched_source_name(res->cpu.source));
	const char *hdr[REPORT_STATES + 3];
	char names[REPORT_STATES][16], align[REPORT_STATES + 4];
	unsigned n = 0;
	hdr[n] = "THREAD";
	align[n++] = 'l';
	hdr[n] = "SPAN";
	align[n++] = 'r';
	if (mixed) {
		hdr[n] = "SOURCE";
		align[n++] = 'l';
	}
	for (unsigned s = 0; s < REPORT_STATES; s++)
		if (used[s]) {
			hdr[n] = upper(names[s], sizeof(names[s]), report_state_name(s));
			align[n++] = 'r';
		}
	align[n] = 0;
	struct table *t = table_new(n, align, hdr);
	char cells[REPORT_STATES + 3][FMT_BUF + 8], th[160];
	for (uint32_t i = 0; i < res->nthreads; i++) {
		const struct report_thread *p = &res->threads[i];
		if (p->index == 0 && !p->span_ns)
			continue;
		const char *row[REPORT_STATES + 3];
		unsigned c = 0;
		row[c++] = report_thread_label(th, sizeof(th), res, p->index);
		row[c] = fmt_dur(cells[c], p->span_ns);
		c++;
		if (mixed)
			row[c++] = report_sched_source_name(p->sched_source);
		for (unsigned s = 0; s < REPORT_STATES; s++)
			if (used[s]) {
				row[c] = cell(cells[c], sizeof(cells[c]), p->states.ns[s],
					      p->span_ns);
				c++;
			}
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
	if (res->cpu.source == REPORT_SCHED_SCHEDSTAT || mixed)
		fputs("  (schedstat: runnable is sampled and spread over each sample's interval; "
		      "exact per thread, approximate per task)\n",
		      out);
}

static const char *limit_text(char *buf, size_t cap, const struct report_cpu *c)
{
	double a = c->cpus_allowed;
	if (c->quota_cpus > 0 && a == c->quota_cpus)
		snprintf(buf, cap, "the cgroup's quota allows %.3g CPU%s", a, a == 1 ? "" : "s");
	else if (c->cgroup_cpus && a == c->cgroup_cpus)
		snprintf(buf, cap, "the cgroup's cpuset has %u CPU%s", c->cgroup_cpus,
			 c->cgroup_cpus == 1 ? "" : "s");
	else if (c->affinity_cpus && a == c->affinity_cpus)
		snprintf(buf, cap, "its CPU affinity allows %u CPU%s", c->affinity_cpus,
			 c->affinity_cpus == 1 ? "" : "s");
	else
		snprintf(buf, cap, "%u CPU%s online", c->online_cpus,
			 c->online_cpus == 1 ? " is" : "s are");
	return buf;
}

static void print_cpu(FILE *out, const struct report_result *res)
{
	const struct report_cpu *c = &res->cpu;
	char a[FMT_BUF], b[FMT_BUF], d[FMT_BUF], lim[128];
	if (c->source == REPORT_SCHED_NONE && !c->throttle_events)
		return;
	fprintf(out, "\nCPU  scheduler data: %s", report_sched_source_name(c->source));
	if (c->source_meta)
		fprintf(out, " (sched.source %s%s%s)", c->source_meta,
			c->scope_meta ? ", sched.scope " : "", c->scope_meta ? c->scope_meta : "");
	if (c->switches)
		fprintf(out, "; %s switches, %s preempted", fmt_count(a, c->switches),
			fmt_count(b, c->preemptions));
	if (c->samples)
		fprintf(out, "; %s schedstat samples", fmt_count(a, c->samples));
	fputc('\n', out);
	if (c->quota_cpus > 0 || c->cgroup_cpus || c->affinity_cpus || c->online_cpus) {
		fputs("  limits:", out);
		if (c->quota_cpus > 0)
			fprintf(out, " quota %.3g CPU,", c->quota_cpus);
		if (c->cgroup_cpus)
			fprintf(out, " cpuset %u,", c->cgroup_cpus);
		if (c->affinity_cpus)
			fprintf(out, " affinity %u,", c->affinity_cpus);
		if (c->online_cpus)
			fprintf(out, " online %u,", c->online_cpus);
		fprintf(out, " so at most %.3g CPU%s\n", c->cpus_allowed,
			c->cpus_allowed == 1 ? "" : "s");
	}
	if (c->concurrency)
		fprintf(out,
			"  threads wanting a CPU at once (running or runnable): peak %u, p99 %u, "
			"p50 %u over time\n",
			c->peak, c->p99, c->p50);
	if (c->throttle_events)
		fprintf(out,
			"  throttled in %s of %s enforcement periods, %s in all; %s of runnable "
			"time counted as throttled\n",
			fmt_count(a, c->periods_throttled), fmt_count(b, c->periods),
			fmt_dur(d, c->throttled_ns), fmt_dur(lim, c->reclassified_ns));
	if (c->finding) {
		fprintf(out, "  FINDING: up to %u threads wanted a CPU at once; %s", c->peak,
			limit_text(lim, sizeof(lim), c));
		if (c->periods_throttled)
			fprintf(out, ": throttled %s times for %s",
				fmt_count(a, c->periods_throttled), fmt_dur(b, c->throttled_ns));
		if (c->measured_ns)
			fprintf(out, "; more than %.3g wanted one for %s (%.0f%% of the time)",
				c->cpus_allowed, fmt_dur(d, c->over_ns),
				100.0 * (double)c->over_ns / (double)c->measured_ns);
		fputc('\n', out);
	}
}

static void print_faults(FILE *out, const struct report_result *res)
{
	const struct report_cpu *c = &res->cpu;
	char a[FMT_BUF], b[FMT_BUF], d[FMT_BUF], site[400];
	if (!c->faults_minor && !c->faults_major)
		return;
	fprintf(out, "\nPage faults  minor %s, major %s (blocked on them %s)\n",
		fmt_count(a, c->faults_minor), fmt_count(b, c->faults_major),
		fmt_dur(d, c->fault_blocked_ns));
	if (!c->nfault_sites)
		return;
	const char *hdr[] = {"SITE", "MAJOR", "MINOR"};
	struct table *t = table_new(3, "lrr", hdr);
	for (uint32_t i = 0; i < c->nfault_sites && i < REPORT_TOP_FAULT_SITES; i++) {
		const struct report_fault_site *s = &c->fault_sites[i];
		const char *row[] = {report_site_label(site, sizeof(site), &s->site),
				     fmt_count(a, s->major), fmt_count(b, s->minor)};
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
}

static void func_table(FILE *out, const struct report_func *f, uint32_t n, int cum, uint64_t total)
{
	char a[FMT_BUF], b[FMT_BUF], pct[16], name[256];
	const char *hdr[] = {"FUNCTION", cum ? "CUM" : "SELF", "%", "CPU TIME"};
	struct table *t = table_new(4, "lrrr", hdr);
	for (uint32_t i = 0; i < n && i < TOP_LINES; i++) {
		uint64_t k = cum ? f[i].cum : f[i].self;
		snprintf(pct, sizeof(pct), "%.1f", total ? 100.0 * (double)k / (double)total : 0);
		const char *row[] = {
			fmt_safe(name, sizeof(name), f[i].function, strlen(f[i].function), 60),
			fmt_count(a, k), pct, fmt_dur(b, cum ? f[i].cum_ns : f[i].self_ns)};
		table_row(t, row);
	}
	table_print(t, out, "  ");
	table_free(t);
}

static void print_samples(FILE *out, const struct report_result *res)
{
	const struct report_cpu *c = &res->cpu;
	char a[FMT_BUF], b[FMT_BUF];
	if (!c->cpu_samples)
		return;
	fprintf(out, "\nCPU samples  %s, standing for %s of CPU time\n",
		fmt_count(a, c->cpu_samples), fmt_dur(b, c->cpu_sample_ns));
	if (c->nself) {
		fputs("  by self (the innermost function):\n", out);
		func_table(out, c->self, c->nself, 0, c->cpu_samples);
	}
	if (c->ncum) {
		fputs("  by cumulative (anywhere on the stack):\n", out);
		func_table(out, c->cum, c->ncum, 1, c->cpu_samples);
	}
}

void report_print_cpu(FILE *out, const struct report_view *v)
{
	print_cpu(out, v->res);
	print_faults(out, v->res);
	print_samples(out, v->res);
}

void report_print_task_states(FILE *out, const struct report_result *res,
			      const struct report_task *tk)
{
	char a[FMT_BUF], b[FMT_BUF];
	if (report_show_states(res)) {
		fputs("      states:", out);
		const char *sep = " ";
		for (unsigned s = 0; s < REPORT_STATES; s++) {
			if (!tk->states.ns[s])
				continue;
			fprintf(out, "%s%s %s %.0f%%", sep, report_state_name(s),
				fmt_dur(a, tk->states.ns[s]),
				tk->on_thread_ns ? 100.0 * (double)tk->states.ns[s] /
							   (double)tk->on_thread_ns
						 : 0.0);
			sep = ", ";
		}
		fputc('\n', out);
	}
	if (tk->faults_minor || tk->faults_major)
		fprintf(out, "      page faults: minor %s, major %s\n",
			fmt_count(a, tk->faults_minor), fmt_count(b, tk->faults_major));
	if (tk->cpu_samples) {
		fprintf(out, "      CPU samples: %s;", fmt_count(a, tk->cpu_samples));
		for (uint32_t i = 0; i < tk->nfuncs; i++) {
			char name[128];
			fprintf(out, "%s %s %s", i ? "," : "",
				fmt_safe(name, sizeof(name), tk->funcs[i].function,
					 strlen(tk->funcs[i].function), 48),
				fmt_count(a, tk->funcs[i].self));
		}
		fputc('\n', out);
	}
}
