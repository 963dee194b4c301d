/* `ctrace report FILE`: reads a trace in two passes and prints what an
 * on-call engineer asks first: how long, which threads, was anything lost,
 * how slow were the tasks of each type, what did the slowest ones do. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "fmt.h"
#include "report_out.h"

/* Below this a report takes well under a second: no progress line. */
#define PROGRESS_MIN_BYTES (32ull << 20)

void cmd_report_help(FILE *out)
{
	fputs("usage: ctrace report [options] FILE\n"
	      "\n"
	      "Summarizes a trace: duration, threads, lost events, task latency\n"
	      "percentiles by task type, the slowest tasks with their time by region\n"
	      "and their logs, and the regions that took the most time.\n"
	      "\n"
	      "options:\n"
	      "  --json          print JSON instead of text (schema: docs/REPORT-JSON.md)\n"
	      "  --top N         detail the N slowest tasks (default 10, at most 1000)\n"
	      "  --regions N     list the N regions with the most total time (default 20)\n"
	      "  --no-progress   no progress line on stderr (shown only for large\n"
	      "                  traces when stderr is a terminal)\n"
	      "  -h, --help      show this help\n"
	      "\n"
	      "Latency percentiles are within 1% of the exact value; max is exact.\n"
	      "\n"
	      "Thread states (shown when the trace has scheduler data) add up to each\n"
	      "thread's span and, per slow task, to its time on threads:\n"
	      "  running    on a CPU outside waits (without scheduler data: running\n"
	      "             or unknown, as the OTHER column of the wait table)\n"
	      "  runnable   preempted, waiting for a CPU: from a preempted sched.out to\n"
	      "             the sched.in, even inside a wait (taken out of the wait)\n"
	      "  throttled  runnable while the cgroup's quota was used up: in each\n"
	      "             throttle interval, runnable time up to the throttled time,\n"
	      "             the same share for every thread\n"
	      "  mutex, rwlock, semaphore, join, barrier, condvar (waiting for work,\n"
	      "  not contention), file, net, poll, sleep, fd (pipes, other fds)\n"
	      "             in that wait, on or off CPU, less its runnable time\n"
	      "  fault      blocked in no wait, with a major fault of the thread\n"
	      "             within 1ms before the sched.out or after the sched.in\n"
	      "  offcpu     blocked in no wait otherwise: a call ctrace does not see\n"
	      "  unknown    off CPU for part of it, not known how (lost sched events)\n"
	      "With the schedstat fallback each sample's runnable time comes out of\n"
	      "the time in no wait over its interval first, then out of the waits in\n"
	      "proportion: exact per thread, approximate per task. The CPU section\n"
	      "gives the peak and p99 of threads wanting a CPU at once (perf only)\n"
	      "against the cgroup's quota, cpuset, affinity and online CPUs.\n"
	      "Tasks that began before the trace or never ended are counted apart.\n"
	      "\n"
	      "A flight recorder's dump opens with a Dump section: why it was written\n"
	      "(reason, trigger, threshold and observed latency, signal...) and the\n"
	      "window it holds; the task that triggered it is listed first among the\n"
	      "slowest tasks, marked '<== triggered the dump', whatever its latency.\n"
	      "\n"
	      "exit status: 0 success (also for a trace cut short at a generation\n"
	      "boundary, with a warning), 1 unreadable or damaged trace (the report of\n"
	      "what could be read is still printed), 2 bad command line\n",
	      out);
}

struct progress {
	int on;
	struct timespec start, last;
	int pass;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void on_progress(void *arg, int pass, uint64_t done, uint64_t total, uint64_t events)
{
	struct progress *p = arg;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pass != p->pass) {
		p->pass = pass;
		p->start = now;
	} else if (since(&p->last, &now) < 0.1) {
		return;
	}
	p->last = now;
	double t = since(&p->start, &now);
	double pct = total ? 100.0 * (double)done / (double)total : 0;
	fprintf(stderr, "\r\033[Kctrace: %s %3.0f%%  %.1fM events",
		pass == 1 ? "reading" : "details", pct, (double)events / 1e6);
	/* The first update of a pass has no interval to measure a rate over. */
	if (t > 0.01)
		fprintf(stderr, "  %.1fM events/s", (double)events / 1e6 / t);
	fflush(stderr);
}

/* Parses a count option value: digits only, within [0, max]. */
static int parse_count(const char *opt, const char *s, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = s && *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : (end = NULL, 0);
	if (!s || !end || *end || errno || v > max) {
		fprintf(stderr, "ctrace report: %s needs a number from 0 to %u, got '%s'\n", opt,
			max, s ? s : "");
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	int json = 0, progress = 1;
	unsigned top = REPORT_DEFAULT_TOP, regions = REPORT_DEFAULT_TOP_REGIONS;
	const char *path = NULL;
	int opts = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (opts && a[0] == '-' && a[1] != 0) {
			if (strcmp(a, "--") == 0) {
				opts = 0;
				continue;
			}
			if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
				cmd_report_help(stdout);
				return EXIT_OK;
			}
			if (strcmp(a, "--json") == 0) {
				json = 1;
				continue;
			}
			if (strcmp(a, "--no-progress") == 0) {
				progress = 0;
				continue;
			}
			int is_top = strncmp(a, "--top", 5) == 0 && (a[5] == 0 || a[5] == '=');
			int is_reg = strncmp(a, "--regions", 9) == 0 && (a[9] == 0 || a[9] == '=');
			if (is_top || is_reg) {
				const char *eq = strchr(a, '=');
				val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (parse_count(is_top ? "--top" : "--regions", val,
						is_top ? REPORT_MAX_TOP : 100000,
						is_top ? &top : &regions))
					return EXIT_USAGE;
				continue;
			}
			fprintf(stderr,
				"ctrace report: unknown option '%s' (see 'ctrace report --help')\n",
				a);
			return EXIT_USAGE;
		}
		if (path) {
			fprintf(stderr, "ctrace report: one trace FILE only, got '%s' too\n", a);
			return EXIT_USAGE;
		}
		path = a;
	}
	if (!path) {
		fputs("ctrace report: missing trace FILE (see 'ctrace report --help')\n", stderr);
		return EXIT_USAGE;
	}

	struct report_options o = {.top_tasks = top, .top_regions = regions};
	struct report *r = report_new(&o);
	if (!r) {
		fputs("ctrace: out of memory\n", stderr);
		return EXIT_TRACE;
	}
	struct progress p = {0};
	struct report_file f;
	/* Progress only where someone watches and the wait is long enough. */
	p.on = progress && isatty(STDERR_FILENO);
	if (p.on) {
		FILE *probe = fopen(path, "rb");
		if (!probe || fseeko(probe, 0, SEEK_END) != 0 ||
		    ftello(probe) < (off_t)PROGRESS_MIN_BYTES)
			p.on = 0;
		if (probe)
			fclose(probe);
	}
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	p.pass = 1;
	int rc = report_run(r, path, &f, p.on ? on_progress : NULL, &p);
	if (p.on && p.pass)
		fputs("\r\033[K", stderr);
	if (rc < 0) {
		fmt_trace_error(path, f.error);
		report_file_free(&f);
		report_free(r);
		return EXIT_TRACE;
	}
	struct report_view v = {path, report_finish(r), &f, top, regions};
	if (json)
		report_print_json(stdout, &v);
	else
		report_print_text(stdout, &v);
	int status = EXIT_OK;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ctrace: writing the report: %s\n", strerror(errno));
		status = EXIT_TRACE;
	}
	if (rc > 0) {
		fmt_trace_error(path, f.error);
		status = EXIT_TRACE;
	} else if (!f.complete) {
		fprintf(stderr,
			"ctrace: %s: trace incomplete: no end frame (the writer stopped before "
			"finishing, or the copy is cut); %llu generations read\n",
			path, (unsigned long long)f.generations);
	}
	report_file_free(&f);
	report_free(r);
	return status;
}
