/* Reader and `ctrace report` throughput and peak memory on a large trace.
 * Records a trace of at least -s MB (default 512) with a mixed workload on one
 * thread, then
 * measures, each in a fresh process so that peak RSS is its own:
 *   - the baseline: read(2) of the whole file (page cache warm);
 *   - the reader API: every event, thread order and time order;
 *   - `ctrace report FILE` (the command next to this benchmark, or -c PATH);
 *   - `ctrace diagnose FILE` (its three slowest tasks).
 * Done once with zstd-compressed generations (the default) and once without.
 *
 *   bench_report [-s MB] [-c CTRACE] [-d DIR] [-k]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "ctrace_reader.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- generating the trace ---- */

static volatile int gen_stop;

/* A little work between events, so that timestamp deltas (and so the
 * encoding and the compression ratio) look like a real program's. */
static void work(unsigned r)
{
	for (volatile unsigned i = 0; i < 20 + r % 64; i++)
		;
}

static void *gen_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (long i = 0; !gen_stop; i++) {
		unsigned r = (unsigned)rand_r(&seed);
		work(r);
		ct_task t = CT_TASK_BEGIN("request", 0);
		if (r % 4 == 0)
			ct_logf("http", "GET /api/items/%u", r % 10000);
		CT_REGION_BEGIN("parse");
		work(r >> 3);
		CT_REGION_END();
		CT_REGION_BEGIN("lookup");
		CT_REGION_BEGIN("cache");
		work(r >> 5);
		CT_REGION_END();
		if (r % 10 == 0) {
			CT_REGION_BEGIN("database");
			CT_REGION_END();
		}
		CT_REGION_END();
		CT_REGION_BEGIN("render");
		work(r >> 7);
		CT_REGION_END();
		ct_task_end(t);
	}
	return NULL;
}

static void generate(const char *path, int compress, uint64_t min_bytes)
{
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	c.compress = compress;
	c.buffer_bytes = 256u << 20;
	if (ct_start(&c) != 0) {
		fprintf(stderr, "bench_report: %s\n", ct_last_error());
		exit(1);
	}
	/* One recording thread: with two, on 2 cores, the writer would fall
	 * behind and the trace would be mostly loss records. */
	pthread_t th;
	gen_stop = 0;
	pthread_create(&th, NULL, gen_thread, (void *)1);
	for (;;) {
		usleep(50000);
		struct ct_stats s;
		ct_get_stats(&s);
		if (s.bytes >= min_bytes)
			break;
	}
	gen_stop = 1;
	pthread_join(th, NULL);
	ct_stop();
	struct ct_stats s;
	ct_get_stats(&s);
	if (s.lost)
		printf("(the generator lost %llu of %llu events: the writer fell behind)\n",
		       (unsigned long long)s.lost, (unsigned long long)(s.lost + s.events));
}

/* ---- the measured passes, each run in a child process ---- */

static int pass_read(const char *path, uint64_t *events)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	static char buf[1 << 20];
	ssize_t n;
	uint64_t total = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		total += (uint64_t)n;
	close(fd);
	*events = total; /* bytes, for the baseline */
	return n < 0 ? -1 : 0;
}

static int pass_reader(const char *path, enum ct_order order, uint64_t *events)
{
	ct_reader *r = NULL;
	if (ct_reader_open(path, &r) != 0)
		return -1;
	ct_reader_set_order(r, order);
	struct ct_event ev;
	int rc;
	uint64_t n = 0, sum = 0;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		n++;
		sum += ev.ts; /* touch the event */
	}
	if (rc != 0)
		fprintf(stderr, "bench_report: %s\n", ct_reader_error(r));
	ct_reader_close(r);
	*events = n + (sum & 0); /* keep sum alive */
	return rc;
}

struct result {
	double seconds;
	long max_rss_kb;
	uint64_t events;
	int ok;
};

/* Runs argv (or, with argv NULL, this program's own pass `mode`) in a child
 * process and reports its wall time and peak RSS. */
static struct result run_child(char *const argv[], const char *self, const char *mode,
			       const char *path)
{
	struct result res = {0};
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return res;
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		if (argv) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 1);
			execv(argv[0], argv);
			_exit(127);
		}
		dup2(pipefd[1], 1);
		execl(self, self, "--pass", mode, path, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	char out[64] = {0};
	ssize_t n = read(pipefd[0], out, sizeof out - 1);
	close(pipefd[0]);
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		return res;
	res.seconds = (double)(now_ns() - t0) / 1e9;
	res.max_rss_kb = ru.ru_maxrss;
	res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (n > 0)
		res.events = strtoull(out, NULL, 10);
	return res;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_report [-s MB] [-c CTRACE] [-d DIR] [-k]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--pass") == 0) {
		uint64_t n = 0;
		int rc;
		if (strcmp(argv[2], "read") == 0)
			rc = pass_read(argv[3], &n);
		else
			rc = pass_reader(
				argv[3],
				strcmp(argv[2], "time") == 0 ? CT_ORDER_TIME : CT_ORDER_THREAD, &n);
		printf("%llu\n", (unsigned long long)n);
		return rc == 0 ? 0 : 1;
	}
	long mb = 512;
	int keep = 0, opt;
	const char *dir = "/tmp";
	char cli[PATH_MAX] = "";
	while ((opt = getopt(argc, argv, "s:c:d:k")) != -1) {
		switch (opt) {
		case 's':
			mb = atol(optarg);
			break;
		case 'c':
			snprintf(cli, sizeof cli, "%s", optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			keep = 1;
			break;
		default:
			usage();
		}
	}
	if (mb < 1 || optind != argc)
		usage();
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl <= 0)
		return 1;
	self[sl] = 0;
	if (!cli[0]) { /* build/bench/bench_report -> build/ctrace */
		snprintf(cli, sizeof cli, "%s", self);
		char *slash = strrchr(cli, '/');
		*slash = 0;
		slash = strrchr(cli, '/');
		snprintf(slash ? slash + 1 : cli,
			 sizeof cli - (size_t)(slash ? slash + 1 - cli : 0), "ctrace");
	}
	if (access(cli, X_OK) != 0) {
		fprintf(stderr, "bench_report: no ctrace command at %s (use -c)\n", cli);
		return 1;
	}

	printf("reader and report throughput, traces of at least %ld MB, 2 cores\n\n", mb);
	printf("%-10s %-30s %9s %8s %12s %10s %10s\n", "trace", "pass", "seconds", "MB/s",
	       "Mevents/s", "peak MB", "vs read");
	for (int compress = 1; compress >= 0; compress--) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/bench_report-%d-%d.ct", dir, (int)getpid(),
			 compress);
		generate(path, compress, (uint64_t)mb << 20);
		struct stat st;
		if (stat(path, &st) != 0)
			return 1;
		double size_mb = (double)st.st_size / (1 << 20);
		const char *label = compress ? "zstd" : "raw";

		/* warm the page cache, then the baseline */
		run_child(NULL, self, "read", path);
		struct result base = run_child(NULL, self, "read", path);
		struct result thr = run_child(NULL, self, "thread", path);
		struct result tim = run_child(NULL, self, "time", path);
		char *rargv[] = {cli, "report", path, NULL};
		struct result rep = run_child(rargv, self, NULL, path);
		/* the three slowest tasks, with pass 3 for their lock holders */
		char *dargv[] = {cli, "diagnose", path, NULL};
		struct result dia = run_child(dargv, self, NULL, path);
		uint64_t events = thr.events;
		struct {
			const char *name;
			struct result *r;
		} rows[] = {{"read(2) baseline", &base},
			    {"reader, thread order", &thr},
			    {"reader, time order", &tim},
			    {"ctrace report", &rep},
			    {"ctrace diagnose", &dia}};
		for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
			struct result *r = rows[i].r;
			printf("%-10s %-30s %9.2f %8.0f %12.1f %10.1f %10.2f%s\n", label,
			       rows[i].name, r->seconds, size_mb / r->seconds,
			       i ? (double)events / r->seconds / 1e6 : 0.0,
			       (double)r->max_rss_kb / 1024, r->seconds / base.seconds,
			       r->ok ? "" : "  FAILED");
		}
		printf("%-10s %.0f MB, %llu events, %.2f bytes/event\n\n", label, size_mb,
		       (unsigned long long)events, (double)st.st_size / (double)events);
		if (!keep)
			unlink(path);
	}
	printf("targets: ctrace report >= 50 M events/s and >= 150 MB/s, peak RSS <= 64 MB\n");
	return 0;
}
