/* `ctrace tasks FILE`: lists the tasks of a trace, filtered by type, latency
 * or distributed trace id, as they end, or the N slowest; text or JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/tasklist.h"
#include "cmd.h"
#include "fmt.h"

#define MAX_SLOWEST 100000

void cmd_tasks_help(FILE *out)
{
	fputs("usage: ctrace tasks [options] FILE\n"
	      "\n"
	      "Lists the tasks (requests) of a trace: id, type, latency, when it began,\n"
	      "the thread it began on and its distributed trace id (W3C trace context,\n"
	      "when the program stamped one with ct_task_set_traceparent). Tasks are\n"
	      "listed as they end; tasks still running when the trace ends come last,\n"
	      "marked unfinished (their latency is at least the one shown).\n"
	      "\n"
	      "options:\n"
	      "  --type TYPE        only tasks of this type\n"
	      "  --min DURATION     only tasks at least this slow (e.g. 100ms, 1.5s)\n"
	      "  --trace-id ID      only the task(s) of this distributed trace: 32 hex\n"
	      "                     digits, or a whole traceparent value\n"
	      "  --slowest N        only the N slowest, slowest first\n"
	      "  --json             JSON (docs/REPORT-JSON.md, \"ctrace tasks\")\n"
	      "  -h, --help         show this help\n"
	      "\n"
	      "Then `ctrace diagnose --task ID FILE` explains one of them.\n"
	      "\n"
	      "exit status: 0 success (also when no task matches: said on stderr),\n"
	      "1 unreadable or damaged trace (the tasks read before the damage are\n"
	      "still listed), 2 bad command line\n",
	      out);
}

static int usage(const char *fmt, const char *arg)
{
	fputs("ctrace tasks: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see 'ctrace tasks --help')\n", stderr);
	return EXIT_USAGE;
}

/* Thread names by index, as the generations name them (latest name kept). */
struct names {
	char **v;
	uint32_t n;
};

static void names_update(struct names *nm, const struct ct_generation *g)
{
	for (uint32_t i = 0; i < g->nthreads; i++) {
		const struct ct_thread_info *t = &g->threads[i];
		if (t->index >= nm->n) {
			uint32_t n = t->index + 64;
			char **v = realloc(nm->v, n * sizeof *v);
			if (!v)
				continue;
			memset(v + nm->n, 0, (n - nm->n) * sizeof *v);
			nm->v = v;
			nm->n = n;
		}
		char buf[128];
		if (t->name && *t->name)
			snprintf(buf, sizeof buf, "%s (%u)", t->name, t->tid);
		else
			snprintf(buf, sizeof buf, "%u", t->tid);
		if (!nm->v[t->index] || strcmp(nm->v[t->index], buf) != 0) {
			free(nm->v[t->index]);
			nm->v[t->index] = strdup(buf);
		}
	}
}

struct lister {
	/* filters */
	const char *type;
	uint64_t min_ns;
	int has_trace_id;
	char trace_id[33];
	unsigned slowest;
	int json;
	/* state */
	struct names names;
	uint64_t first_ns;
	uint64_t shown, matched, unfinished, scanned;
	struct tasklist_task *heap; /* --slowest: a min-heap by latency */
	unsigned nheap;		    /* (its types point into the tasklist's, freed last) */
};

static const char *thread_name(const struct lister *ls, uint32_t index)
{
	return index && index < ls->names.n && ls->names.v[index] ? ls->names.v[index] : "";
}

static void print_text_header(void)
{
	printf("%-12s %-24s %12s %12s  %-24s %s\n", "ID", "TYPE", "LATENCY", "BEGAN", "THREAD",
	       "TRACE ID");
}

static void print_task(struct lister *ls, const struct tasklist_task *t)
{
	char a[FMT_BUF], b[FMT_BUF], lat[FMT_BUF + 4], type[200], th[200];
	if (ls->json) {
		printf("%s\n    {\"id\": %" PRIu64 ", \"type\": ", ls->shown ? "," : "", t->id);
		json_cstr(stdout, t->type);
		printf(", \"parent\": %" PRIu64 ", \"latency_ns\": %" PRIu64
		       ", \"begin_ns\": %" PRIu64 ", \"end_ns\": %" PRIu64
		       ", \"begin_offset_ns\": %" PRIu64 ", \"ended\": %s, \"begin_in_trace\": %s",
		       t->parent, t->latency_ns, t->begin_ns, t->end_ns,
		       t->begin_ns > ls->first_ns ? t->begin_ns - ls->first_ns : 0,
		       t->ended ? "true" : "false", t->begin_in_trace ? "true" : "false");
		fputs(", \"thread\": ", stdout);
		json_cstr(stdout, thread_name(ls, t->thread));
		if (t->has_trace)
			printf(", \"trace_id\": \"%s\", \"span_id\": \"%s\", \"parent_span_id\": "
			       "\"%s\", \"trace_flags\": %u}",
			       t->trace_id, t->span_id, t->parent_id, t->trace_flags);
		else
			fputs(", \"trace_id\": null}", stdout);
	} else {
		if (!ls->shown)
			print_text_header();
		snprintf(lat, sizeof lat, "%s%s",
			 t->ended && t->begin_in_trace ? "" : ">=", fmt_dur(a, t->latency_ns));
		const char *tname = thread_name(ls, t->thread);
		printf("%-12" PRIu64 " %-24s %12s %12s  %-24s %s%s\n", t->id,
		       fmt_safe(type, sizeof type, *t->type ? t->type : "(unknown)",
				strlen(*t->type ? t->type : "(unknown)"), 24),
		       lat,
		       t->begin_in_trace ? fmt_offset(b, t->begin_ns - ls->first_ns) : "before",
		       fmt_safe(th, sizeof th, tname, strlen(tname), 24),
		       t->has_trace ? t->trace_id : "-", t->ended ? "" : "  unfinished");
	}
	ls->shown++;
}

static int matches(const struct lister *ls, const struct tasklist_task *t)
{
	if (ls->type && strcmp(ls->type, t->type) != 0)
		return 0;
	if (t->latency_ns < ls->min_ns)
		return 0;
	if (ls->has_trace_id && (!t->has_trace || strcmp(ls->trace_id, t->trace_id) != 0))
		return 0;
	return 1;
}

static void heap_down(struct lister *ls, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, m = i;
		if (l < ls->nheap && ls->heap[l].latency_ns < ls->heap[m].latency_ns)
			m = l;
		if (l + 1 < ls->nheap && ls->heap[l + 1].latency_ns < ls->heap[m].latency_ns)
			m = l + 1;
		if (m == i)
			return;
		struct tasklist_task x = ls->heap[i];
		ls->heap[i] = ls->heap[m];
		ls->heap[m] = x;
		i = m;
	}
}

static void heap_up(struct lister *ls, unsigned i)
{
	while (i && ls->heap[(i - 1) / 2].latency_ns > ls->heap[i].latency_ns) {
		struct tasklist_task x = ls->heap[i];
		ls->heap[i] = ls->heap[(i - 1) / 2];
		ls->heap[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

static void on_task(void *arg, const struct tasklist_task *t)
{
	struct lister *ls = arg;
	ls->scanned++;
	if (!matches(ls, t))
		return;
	ls->matched++;
	ls->unfinished += !t->ended;
	if (!ls->slowest) {
		print_task(ls, t);
		return;
	}
	if (ls->nheap < ls->slowest) {
		ls->heap[ls->nheap] = *t;
		heap_up(ls, ls->nheap++);
	} else if (t->latency_ns > ls->heap[0].latency_ns) {
		ls->heap[0] = *t;
		heap_down(ls, 0);
	}
}

static int by_latency_desc(const void *a, const void *b)
{
	const struct tasklist_task *x = a, *y = b;
	if (x->latency_ns != y->latency_ns)
		return x->latency_ns > y->latency_ns ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int cmd_tasks(int argc, char **argv)
{
	struct lister ls;
	memset(&ls, 0, sizeof ls);
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cmd_tasks_help(stdout);
			return EXIT_OK;
		}
		if (!strcmp(a, "--json")) {
			ls.json = 1;
			continue;
		}
		if (a[0] != '-' || !strcmp(a, "-")) {
			if (path)
				return usage("one trace FILE only, got '%s' too", a);
			path = a;
			continue;
		}
		static const char *const with_value[] = {"--type", "--min", "--trace-id",
							 "--slowest"};
		const char *name = NULL, *val = NULL;
		for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
			size_t n = strlen(with_value[k]);
			if (strncmp(a, with_value[k], n) == 0 && (a[n] == 0 || a[n] == '=')) {
				name = with_value[k];
				val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
				break;
			}
		}
		if (!name)
			return usage("unknown option '%s'", a);
		if (!val)
			return usage("%s needs a value", name);
		if (!strcmp(name, "--type")) {
			ls.type = val;
		} else if (!strcmp(name, "--min")) {
			if (fmt_parse_dur(val, &ls.min_ns))
				return usage(
					"--min needs a duration such as 100ms or 1.5s, got '%s'",
					val);
		} else if (!strcmp(name, "--trace-id")) {
			if (tasklist_parse_trace_id(val, ls.trace_id))
				return usage("--trace-id needs 32 hex digits (not all zero) or a "
					     "traceparent value, got '%s'",
					     val);
			ls.has_trace_id = 1;
		} else {
			char *end;
			errno = 0;
			unsigned long n = strtoul(val, &end, 10);
			if (*val < '0' || *val > '9' || *end || errno || n == 0 || n > MAX_SLOWEST)
				return usage("--slowest needs a number from 1 to 100000, got '%s'",
					     val);
			ls.slowest = (unsigned)n;
		}
	}
	if (!path)
		return usage("%s", "missing trace FILE");
	if (!strcmp(path, "-"))
		return usage("%s", "reading a trace from stdin is not supported: give a FILE");

	ct_reader *r = NULL;
	int rc = ct_reader_open(path, &r);
	if (rc < 0) {
		const char *msg = r ? ct_reader_error(r) : NULL;
		fmt_trace_error(path, msg ? msg : strerror(-rc));
		ct_reader_close(r);
		return EXIT_TRACE;
	}
	ct_reader_set_order(r, CT_ORDER_TIME);
	if (ls.slowest && !(ls.heap = malloc(ls.slowest * sizeof *ls.heap))) {
		fputs("ctrace: out of memory\n", stderr);
		ct_reader_close(r);
		return EXIT_TRACE;
	}
	struct tasklist *l = tasklist_new(on_task, &ls);
	if (!l) {
		fputs("ctrace: out of memory\n", stderr);
		free(ls.heap);
		ct_reader_close(r);
		return EXIT_TRACE;
	}
	if (ls.json) {
		fputs("{\n  \"file\": ", stdout);
		json_cstr(stdout, path);
		fputs(",\n  \"tasks\": [", stdout);
	}
	const struct ct_generation *g;
	uint64_t last_ns = 0;
	int have_first = 0;
	struct ct_event ev;
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		names_update(&ls.names, g);
		if (!have_first && g->nevents) {
			ls.first_ns = g->min_ts;
			tasklist_set_start(l, g->min_ts);
			have_first = 1;
		}
		if (g->max_ts > last_ns)
			last_ns = g->max_ts;
		/* a capture's end, when the trace says it, is where open tasks run to */
		for (uint32_t i = 0; i + 1 < g->nmeta; i += 2)
			if (!strcmp(g->meta[i], "capture.end_ns")) {
				uint64_t e = strtoull(g->meta[i + 1], NULL, 10);
				if (e > last_ns)
					last_ns = e;
			}
		while ((rc = ct_reader_next_in_generation(r, &ev)) == 1)
			tasklist_event(l, &ev);
		if (rc < 0)
			break;
	}
	char damage[512] = "";
	if (rc < 0) {
		const char *msg = ct_reader_error(r);
		snprintf(damage, sizeof damage, "%s", msg ? msg : strerror(-rc));
	}
	tasklist_finish(l, last_ns);
	if (ls.slowest) {
		qsort(ls.heap, ls.nheap, sizeof *ls.heap, by_latency_desc);
		for (unsigned i = 0; i < ls.nheap; i++)
			print_task(&ls, &ls.heap[i]);
	}
	if (ls.json) {
		printf("%s],\n  \"matched\": %" PRIu64 ",\n  \"listed\": %" PRIu64
		       ",\n  \"unfinished\": %" PRIu64 ",\n  \"tasks_in_trace\": %" PRIu64
		       ",\n  \"complete\": %s\n}\n",
		       ls.shown ? "\n  " : "", ls.matched, ls.shown, ls.unfinished, ls.scanned,
		       !damage[0] && ct_reader_complete(r) ? "true" : "false");
	}
	int ret = EXIT_OK;
	if (damage[0]) {
		fmt_trace_error(path, damage);
		ret = EXIT_TRACE;
	} else if (!ls.matched) {
		if (ls.has_trace_id)
			fprintf(stderr,
				"ctrace: %s: no task of distributed trace %s in this trace "
				"(%" PRIu64 " tasks)\n",
				path, ls.trace_id, ls.scanned);
		else
			fprintf(stderr, "ctrace: %s: no task matches (%" PRIu64 " tasks)\n", path,
				ls.scanned);
	} else if (!ls.json && ls.slowest && ls.matched > ls.shown) {
		char c[FMT_BUF];
		fprintf(stderr, "(the %" PRIu64 " slowest of %s matching tasks)\n", ls.shown,
			fmt_count(c, ls.matched));
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ctrace: writing the list: %s\n", strerror(errno));
		ret = EXIT_TRACE;
	}
	tasklist_free(l);
	for (uint32_t i = 0; i < ls.names.n; i++)
		free(ls.names.v[i]);
	free(ls.names.v);
	free(ls.heap);
	ct_reader_close(r);
	return ret;
}
