/* `ctrace diagnose FILE`: for the task named, or a dump's triggering task,
 * or the slowest ones, where its time went and why: the dominant category,
 * the culprit site, the chain of cause and the next step. It runs the
 * report analysis (three passes, bounded memory) and decides with
 * src/analysis/diagnose.c; the words are diagnose_out.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "diagnose_out.h"
#include "fmt.h"

#define DIAG_DEFAULT_TOP 3

void cmd_diagnose_help(FILE *out)
{
	fputs("usage: ctrace diagnose [options] FILE\n"
	      "\n"
	      "Explains why tasks were slow: for each, one sentence first, then where\n"
	      "its time went (largest first), the category that dominates, the culprit\n"
	      "site as a stack, the chain of cause, and the next step to take.\n"
	      "\n"
	      "Which tasks: the one given with --task; else, in a flight recorder's\n"
	      "dump, the task that triggered it (and the N slowest besides with --top;\n"
	      "the slowest when the dump does not hold it); else the N slowest\n"
	      "finished tasks (default 3).\n"
	      "\n"
	      "options:\n"
	      "  --task ID       diagnose this task (its id, as ctrace report shows)\n"
	      "  --top N         the N slowest tasks (at most 1000)\n"
	      "  --json          print JSON (schema: docs/REPORT-JSON.md, \"ctrace\n"
	      "                  diagnose --json\")\n"
	      "  -h, --help      show this help\n"
	      "\n"
	      "Categories: cpu (running), runnable (waiting for a CPU), throttled (the\n"
	      "cgroup's quota), lock (mutex, rwlock, semaphore, join, barrier), file,\n"
	      "network, page-fault, sleep, event-loop (poll/epoll), condvar (waiting to\n"
	      "be signalled), fd (pipes, other fds), queued (no thread worked for the\n"
	      "task), off-cpu (blocked in a call ctrace does not record), unknown\n"
	      "(lost events). The largest wins. Minor page faults have no time in the\n"
	      "trace: each counts as 2.5us taken out of running (measured; see\n"
	      "docs/DECISIONS.md).\n"
	      "\n"
	      "For a lock, the holder's own time during the wait is read from the\n"
	      "trace: what it was doing while the task waited (e.g. in fsync at\n"
	      "store.c:88). For runnable time, how many threads wanted a CPU at once\n"
	      "during the task (perf scheduler events) against the CPUs allowed and\n"
	      "the cgroup quota. For the network, the socket and call, and the task's\n"
	      "distributed trace id when it has one.\n"
	      "\n"
	      "exit status: 0 success, 1 unreadable or damaged trace (what could be\n"
	      "read is still diagnosed), 2 bad command line or a --task id the trace\n"
	      "does not hold\n",
	      out);
}

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
	if (!s || !end || *end || errno || v < min || v > max) {
		fprintf(stderr, "ctrace diagnose: %s needs a number from %llu to %llu, got '%s'\n",
			opt, (unsigned long long)min, (unsigned long long)max, s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

int cmd_diagnose(int argc, char **argv)
{
	int json = 0, opts = 1, top_set = 0;
	uint64_t task = 0, top = DIAG_DEFAULT_TOP;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && a[0] == '-' && a[1] != 0) {
			if (strcmp(a, "--") == 0) {
				opts = 0;
				continue;
			}
			if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
				cmd_diagnose_help(stdout);
				return EXIT_OK;
			}
			if (strcmp(a, "--json") == 0) {
				json = 1;
				continue;
			}
			int is_top = strncmp(a, "--top", 5) == 0 && (a[5] == 0 || a[5] == '=');
			int is_task = strncmp(a, "--task", 6) == 0 && (a[6] == 0 || a[6] == '=');
			if (is_top || is_task) {
				const char *eq = strchr(a, '=');
				const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (is_top ? parse_u64("--top", val, 1, REPORT_MAX_TOP, &top)
					   : parse_u64("--task", val, 1, UINT64_MAX, &task))
					return EXIT_USAGE;
				top_set |= is_top;
				continue;
			}
			fprintf(stderr,
				"ctrace diagnose: unknown option '%s' (see 'ctrace diagnose "
				"--help')\n",
				a);
			return EXIT_USAGE;
		}
		if (path) {
			fprintf(stderr, "ctrace diagnose: one trace FILE only, got '%s' too\n", a);
			return EXIT_USAGE;
		}
		path = a;
	}
	if (!path) {
		fputs("ctrace diagnose: missing trace FILE (see 'ctrace diagnose --help')\n",
		      stderr);
		return EXIT_USAGE;
	}

	/* The named task alone unless --top asks for more. A dump's trigger is
	 * pinned by the report itself; the slowest are detailed too in case
	 * the dump does not hold it, and shown only then (or with --top). */
	struct report_options o = {
		.top_tasks = task && !top_set ? 0 : (unsigned)top,
		.top_regions = 0,
		.task = task,
		.holders = 1,
	};
	struct report *r = report_new(&o);
	if (!r) {
		fputs("ctrace: out of memory\n", stderr);
		return EXIT_TRACE;
	}
	struct report_file f;
	int rc = report_run(r, path, &f, NULL, NULL);
	if (rc < 0) {
		fmt_trace_error(path, f.error);
		report_file_free(&f);
		report_free(r);
		return EXIT_TRACE;
	}
	const struct report_result *res = report_finish(r);
	int status = EXIT_OK;
	if (task && (res->nslow == 0 || res->slow[0].id != task)) {
		fprintf(stderr, "ctrace diagnose: %s holds no task %llu%s\n", path,
			(unsigned long long)task, rc > 0 ? " in what could be read" : "");
		report_file_free(&f);
		report_free(r);
		return EXIT_USAGE;
	}
	const struct report_task **tasks = calloc(res->nslow ? res->nslow : 1, sizeof(*tasks));
	if (!tasks) {
		fputs("ctrace: out of memory\n", stderr);
		report_file_free(&f);
		report_free(r);
		return EXIT_TRACE;
	}
	uint32_t ntasks = 0;
	int trigger_only = !task && !top_set && res->nslow && res->slow[0].trigger;
	for (uint32_t i = 0; i < res->nslow && (!trigger_only || i == 0); i++)
		tasks[ntasks++] = &res->slow[i];
	struct report_view rv = {path, res, &f, (unsigned)top, 0};
	struct diag_view v = {&rv, report_meta(&f, "program"), ntasks, tasks};
	if (json)
		diag_print_json(stdout, &v);
	else
		diag_print_text(stdout, &v);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ctrace: writing the diagnosis: %s\n", strerror(errno));
		status = EXIT_TRACE;
	}
	if (rc > 0) {
		/* damaged: what was read is diagnosed above; one line says so */
		char msg[700];
		snprintf(msg, sizeof msg, "%s; diagnosed what was read before the damage", f.error);
		fmt_trace_error(path, msg);
		status = EXIT_TRACE;
	} else if (!f.complete) {
		fprintf(stderr,
			"ctrace: %s: trace incomplete: no end frame (the writer stopped before "
			"finishing, or the copy is cut); %llu generations read\n",
			path, (unsigned long long)f.generations);
	}
	free(tasks);
	report_file_free(&f);
	report_free(r);
	return status;
}
