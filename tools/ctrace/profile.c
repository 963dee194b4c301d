/* `ctrace profile --type T FILE`: a blocking profile of a trace (contended
 * locks, syscalls, network, scheduler latency, CPU samples) written as a
 * pprof profile (-o) or shown as a `pprof -top`-like table. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/profile.h"
#include "cmd.h"
#include "export/pprof_int.h"
#include "fmt.h"

#define DEFAULT_TOP  20
#define BY_LABEL_TOP 10

void cmd_profile_help(FILE *out)
{
	fputs("usage: ctrace profile --type TYPE [options] FILE\n"
	      "\n"
	      "Builds a profile of where the threads of a trace waited (or ran) and\n"
	      "writes it as a pprof profile (gzipped profile.proto) with -o, or shows\n"
	      "its top functions like `go tool pprof -top`.\n"
	      "\n"
	      "types:\n"
	      "  sync      contended mutexes, rwlocks, semaphores, joins, barriers:\n"
	      "            contentions and delay at the call site, labelled with the\n"
	      "            lock's holder (holder=\"name (tid)\"); condition-variable waits\n"
	      "            (idle workers) only with --include-idle\n"
	      "  syscall   time blocked in interposed calls: file, pipe, socket, other\n"
	      "            fd, poll/epoll/select, sleep; labelled with call and fd_kind\n"
	      "  net       the socket waits only\n"
	      "  sched     runnable but not running: preempted intervals (perf) and\n"
	      "            run-queue time (schedstat); attributed to the latest CPU\n"
	      "            sample's stack when the thread ran on since, and to its\n"
	      "            regions, task and thread as [region R], [task T], [thread N]\n"
	      "  cpu       CPU samples: samples and cpu time, with their stacks\n"
	      "\n"
	      "options:\n"
	      "  -t, --type TYPE     the profile (required)\n"
	      "  -o, --output FILE   write the pprof profile to FILE (.pb.gz)\n"
	      "  -n, --top N         rows of the table (default 20, 0 for all)\n"
	      "  --include-idle      sync: count condition-variable waits too\n"
	      "  --thread NAME       only threads of this name (or this tid)\n"
	      "  --task-type TYPE    only time inside tasks of this type\n"
	      "  --from DURATION     only time after this offset from the trace's\n"
	      "                      first event (e.g. 1.5s, 200ms, 10us, 500ns)\n"
	      "  --to DURATION       only time before this offset; waits and\n"
	      "                      intervals are clipped to the window\n"
	      "  -h, --help          show this help\n"
	      "\n"
	      "Values are nanoseconds (delay, runnable, cpu) and counts. A wait still\n"
	      "open when the trace ends counts up to its last event (label\n"
	      "unfinished=true). Read a written profile with `go tool pprof -top FILE`,\n"
	      "`-tagfocus holder=NAME`, `-tags`, `-http=:8080`.\n"
	      "\n"
	      "exit status: 0 success, also when the trace holds nothing of that type\n"
	      "(said on stderr; -o still writes the empty profile), 1 unreadable or\n"
	      "damaged trace (what could be read is still shown or written), 2 bad\n"
	      "command line\n",
	      out);
}

static int usage(const char *fmt, const char *arg)
{
	fputs("ctrace profile: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see 'ctrace profile --help')\n", stderr);
	return EXIT_USAGE;
}

static int parse_top(const char *s, int *out)
{
	char *end;
	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return -1;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

static const char *meta(const struct ct_trace_info *info, const char *key)
{
	for (uint32_t i = 0; info && i + 1 < info->nmeta; i += 2)
		if (info->meta[i] && strcmp(info->meta[i], key) == 0)
			return info->meta[i + 1];
	return NULL;
}

static const char *const what[PROFILE_NTYPES] = {
	"contended synchronisation (mutex, rwlock, semaphore, join, barrier)",
	"time blocked in calls (file, pipe, socket, other fd, poll, sleep)",
	"time blocked on sockets", "runnable time (waiting for a CPU)", "CPU samples"};

/* Why a profile came out empty, as the end of one line. */
static void print_empty(const char *path, enum profile_type t, const struct profile_options *o,
			const struct profile_stats *st, const struct ct_trace_info *info)
{
	static const char *const none[PROFILE_NTYPES] = {"no sync contention", "no blocking calls",
							 "no network waits", "no runnable time",
							 "no CPU samples"};
	fprintf(stderr, "ctrace: %s: %s in this trace", path, none[t]);
	const char *src = t == PROFILE_SCHED ? meta(info, "sched.source")
			  : t == PROFILE_CPU ? meta(info, "cpu.sample_hz")
					     : NULL;
	if (t == PROFILE_SCHED && (!src || !strcmp(src, "off")))
		fputs(": it was recorded without a scheduler source (sched.source off; "
		      "record with CTRACE_SCHED)",
		      stderr);
	else if (t == PROFILE_CPU && (!src || !strcmp(src, "0")))
		fputs(": it was recorded without CPU sampling (record with CTRACE_CPU_HZ)", stderr);
	else if (st->filtered)
		fprintf(stderr, " (%" PRIu64 " left out by --thread, --task-type, --from, --to)",
			st->filtered);
	else if (t == PROFILE_SYNC && st->idle && !o->include_idle)
		fprintf(stderr,
			" (%" PRIu64 " condition-variable waits, idle not contended: "
			"--include-idle counts them)",
			st->idle);
	fputc('\n', stderr);
}

/* The label that says most about a type's samples, for a short table
 * after the functions; sync's joins name the joined thread instead. */
static const char *by_key(enum profile_type t)
{
	static const char *const keys[PROFILE_NTYPES] = {"holder", "reason", "call", "thread",
							 "thread"};
	return keys[t];
}

struct by_row {
	uint32_t value; /* pprof string id, 0 when the label is absent */
	int64_t count, ns;
};

static int by_cmp(const void *a, const void *b)
{
	const struct by_row *x = a, *y = b;
	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

/* Totals per value of one label, largest first. */
static void print_by_label(FILE *out, const struct pprof *p, const char *key)
{
	struct by_row *rows = NULL;
	size_t n = 0, cap = 0;
	int64_t total = 0;
	for (size_t i = 0; i < p->nsmp; i++) {
		const struct psample *s = &p->smp[i];
		uint32_t v = 0;
		for (uint32_t k = 0; k < s->nlabels; k++) {
			const struct plabel *l = &p->slabels[s->labels + k];
			const char *lk = p->str[l->key];
			if (l->str &&
			    (!strcmp(lk, key) || (!strcmp(key, "holder") && !strcmp(lk, "joined"))))
				v = l->str;
		}
		size_t r = 0;
		while (r < n && rows[r].value != v)
			r++;
		if (r == n) {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				struct by_row *g = realloc(rows, cap * sizeof(*rows));
				if (!g) {
					free(rows);
					return;
				}
				rows = g;
			}
			rows[n++] = (struct by_row){v, 0, 0};
		}
		rows[r].count += p->values[2 * i];
		rows[r].ns += p->values[2 * i + 1];
		total += p->values[2 * i + 1];
	}
	qsort(rows, n, sizeof(*rows), by_cmp);
	fprintf(out, "\nBy %s%s%s\n", key, !strcmp(key, "holder") ? " (or joined thread)" : "",
		n > BY_LABEL_TOP ? ", top 10" : "");
	struct table *t = table_new(4, "rrrl", (const char *const[]){"TIME", "%", "COUNT", key});
	for (size_t i = 0; t && i < n && i < BY_LABEL_TOP; i++) {
		char d[FMT_BUF], c[FMT_BUF], pct[16], name[256];
		snprintf(pct, sizeof(pct), "%.1f%%",
			 total ? 100.0 * (double)rows[i].ns / (double)total : 0.0);
		const char *v = rows[i].value ? p->str[rows[i].value] : "(none)";
		fmt_safe(name, sizeof(name), v, strlen(v), 60);
		table_row(t, (const char *const[]){fmt_dur(d, (uint64_t)rows[i].ns), pct,
						   fmt_count(c, (uint64_t)rows[i].count), name});
	}
	if (t) {
		table_print(t, out, "  ");
		table_free(t);
	}
	free(rows);
}

static int write_profile(struct pprof *pp, const char *out)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "ctrace: %s: %s\n", out, strerror(errno));
		return -1;
	}
	int rc = pprof_write(pp, fd);
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc) {
		fprintf(stderr, "ctrace: writing %s: %s\n", out, strerror(-rc));
		return -1;
	}
	return 0;
}

static void print_text(FILE *out, const char *path, const struct profile_options *o,
		       struct pprof *pp, const struct profile_stats *st,
		       const struct ct_trace_info *info, int top)
{
	const char *prog = meta(info, "program");
	enum profile_type t = o->type;
	char d[FMT_BUF], c[FMT_BUF];
	if (prog)
		fprintf(out, "File: %s\n", prog);
	fprintf(out, "Trace: %s\n", path);
	const char *types[2], *units[2];
	profile_sample_types(t, types, units);
	fprintf(out, "Profile: %s, %s%s\n", profile_type_name(t), what[t],
		t == PROFILE_SYNC && o->include_idle ? ", and idle condition-variable waits" : "");
	fprintf(out, "Total: %s %s, %s %s\n", fmt_count(c, st->samples), types[0],
		fmt_dur(d, st->total_ns), types[1]);
	if (t == PROFILE_SCHED)
		fprintf(out, "Sources: %s preempted intervals (perf), %s schedstat samples\n",
			fmt_count(c, st->perf), fmt_count(d, st->schedstat));
	if (t == PROFILE_SYNC && st->idle)
		fprintf(out,
			"Left out: %" PRIu64 " condition-variable waits (idle, not contention): "
			"--include-idle counts them\n",
			st->idle);
	if (st->unfinished)
		fprintf(out,
			"Unfinished: %" PRIu64 " still open at the trace's end, counted to it\n",
			st->unfinished);
	if (pprof_write_text(pp, out, top) == 0)
		print_by_label(out, pp, by_key(t));
}

int cmd_profile(int argc, char **argv)
{
	struct profile_options o = {0};
	int have_type = 0, top = DEFAULT_TOP;
	const char *path = NULL, *out = NULL;
	int opts = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!opts || a[0] != '-' || a[1] == 0) {
			if (path)
				return usage("one trace FILE only, got '%s' too", a);
			path = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts = 0;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cmd_profile_help(stdout);
			return EXIT_OK;
		}
		if (strcmp(a, "--include-idle") == 0) {
			o.include_idle = 1;
			continue;
		}
		/* Options with a value: "--opt V", "--opt=V", "-x V". */
		static const char *const with_value[] = {
			"-t",	 "--type",   "-o",	    "--output", "-n",
			"--top", "--thread", "--task-type", "--from",	"--to"};
		const char *name = NULL, *val = NULL;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
			size_t n = strlen(with_value[k]);
			if (strncmp(a, with_value[k], n) == 0 &&
			    (a[n] == 0 || (a[n] == '=' && a[1] == '-'))) {
				name = with_value[k];
				val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
				break;
			}
		}
		if (!name)
			return usage("unknown option '%s'", a);
		if (!val)
			return usage("%s needs a value", name);
		if (!strcmp(name, "-t") || !strcmp(name, "--type")) {
			if (profile_type_parse(val, &o.type))
				return usage("unknown profile type '%s': sync, syscall, net, sched "
					     "or cpu",
					     val);
			have_type = 1;
		} else if (!strcmp(name, "-o") || !strcmp(name, "--output")) {
			if (!*val)
				return usage("%s needs a file name", name);
			out = val;
		} else if (!strcmp(name, "-n") || !strcmp(name, "--top")) {
			if (parse_top(val, &top))
				return usage("--top needs a number from 0 to 1000000, got '%s'",
					     val);
		} else if (!strcmp(name, "--thread")) {
			o.thread = val;
		} else if (!strcmp(name, "--task-type")) {
			o.task_type = val;
		} else if (!strcmp(name, "--from")) {
			if (fmt_parse_dur(val, &o.from_ns))
				return usage("--from needs a duration such as 1.5s or 200ms, got "
					     "'%s'",
					     val);
		} else {
			if (fmt_parse_dur(val, &o.to_ns))
				return usage(
					"--to needs a duration such as 1.5s or 200ms, got '%s'",
					val);
			o.has_to = 1;
		}
	}
	if (!have_type)
		return usage("%s", "missing --type (sync, syscall, net, sched or cpu)");
	if (!path)
		return usage("%s", "missing trace FILE");
	if (o.has_to && o.to_ns <= o.from_ns)
		return usage("%s", "--to must be after --from");

	ct_reader *r = NULL;
	int rc = ct_reader_open(path, &r);
	if (rc < 0) {
		const char *msg = r ? ct_reader_error(r) : NULL;
		fmt_trace_error(path, msg ? msg : strerror(-rc));
		ct_reader_close(r);
		return EXIT_TRACE;
	}
	struct profile *pr = profile_new(&o);
	if (!pr) {
		ct_reader_close(r);
		fputs("ctrace: out of memory\n", stderr);
		return EXIT_TRACE;
	}
	rc = profile_read(pr, r);
	char damage[512] = "";
	if (rc < 0) {
		const char *msg = ct_reader_error(r);
		snprintf(damage, sizeof(damage), "%s", msg ? msg : strerror(-rc));
	}
	int complete = ct_reader_complete(r);
	const struct ct_trace_info *info = ct_reader_info(r);
	struct profile_stats st;
	struct pprof *pp = profile_finish(pr, info, &st);
	int status = EXIT_OK;
	if (!pp) {
		fputs("ctrace: out of memory\n", stderr);
		status = EXIT_TRACE;
		goto done;
	}
	if (rc < 0 && st.generations == 0) { /* nothing readable: no profile */
		fmt_trace_error(path, damage);
		status = EXIT_TRACE;
		goto done;
	}
	char comment[512];
	snprintf(comment, sizeof(comment), "ctrace profile --type %s %s", profile_type_name(o.type),
		 path);
	pprof_add_comment(pp, comment);
	if (st.samples == 0)
		print_empty(path, o.type, &o, &st, info);
	if (out) {
		if (write_profile(pp, out))
			status = EXIT_TRACE;
	} else if (st.samples) {
		print_text(stdout, path, &o, pp, &st, info, top);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "ctrace: writing the profile: %s\n", strerror(errno));
			status = EXIT_TRACE;
		}
	}
	if (rc < 0) {
		fmt_trace_error(path, damage);
		status = EXIT_TRACE;
	} else if (!complete) {
		fprintf(stderr,
			"ctrace: %s: trace incomplete: no end frame (the writer stopped before "
			"finishing, or the copy is cut); %" PRIu64 " generations read\n",
			path, st.generations);
	}
done:
	profile_free(pr);
	ct_reader_close(r);
	return status;
}
