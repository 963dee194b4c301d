/* The cgroup source end to end: a fake cgroup directory (CTRACE_CGROUP_ROOT)
 * whose cpu.stat the test rewrites between flushes, read back as throttle
 * events on the "[cgroup]" pseudo-thread and header keys; then, where this
 * machine lets the test make cgroups, a CPU-bound child under a real quota. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_reader.h"

static char tmpdir[] = "/tmp/ctrace-cgroup-XXXXXX";

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	/* rewritten in place: the source keeps cpu.stat open */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void put_stat_v2(const char *dir, uint64_t periods, uint64_t throttled, uint64_t usec)
{
	char text[256];
	snprintf(text, sizeof text,
		 "usage_usec 1000\nuser_usec 900\nsystem_usec 100\nnr_periods %llu\n"
		 "nr_throttled %llu\nthrottled_usec %llu\nnr_bursts 0\nburst_usec 0\n",
		 (unsigned long long)periods, (unsigned long long)throttled,
		 (unsigned long long)usec);
	put_file(dir, "cpu.stat", text);
}

/* A capture whose writer drains only when asked (ct_flush), so each
 * cpu.stat the test writes is sampled exactly once. */
static void start(const char *path, int cgroup)
{
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	c.clock = CT_CLOCK_CHOICE_MONOTONIC; /* durations read back exactly */
	c.generation_ns = 600000000000ull;
	c.flush_ns = c.generation_ns;
	c.cgroup = cgroup;
	c.sched = CT_SCHED_OFF;
	c.faults = 0;
	assert_int_equal(ct_start(&c), 0);
}

struct throttle {
	uint64_t throttled, ns, periods;
};

/* What a trace says about the cgroup. */
struct seen {
	struct throttle ev[64];
	int n;
	int other_events_on_cgroup_thread;
	int ts_backwards;
	int cgroup_threads; /* threads named "[cgroup]" */
	uint32_t cgroup_tid;
	char meta[16][2][256]; /* cgroup.* and cpus.* keys */
	int nmeta;
	int complete;
};

static const char *meta(const struct seen *s, const char *key)
{
	for (int i = 0; i < s->nmeta; i++)
		if (!strcmp(s->meta[i][0], key))
			return s->meta[i][1];
	return NULL;
}

static void read_trace(const char *path, struct seen *s)
{
	memset(s, 0, sizeof *s);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_trace_info *info = ct_reader_info(r);
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2) { /* key, value, ... */
		const char *k = info->meta[i], *v = info->meta[i + 1];
		if (strncmp(k, "cgroup.", 7) && strncmp(k, "cpus.", 5))
			continue;
		assert_true(s->nmeta < 16);
		snprintf(s->meta[s->nmeta][0], 256, "%s", k);
		snprintf(s->meta[s->nmeta][1], 256, "%s", v);
		s->nmeta++;
	}
	uint32_t cgroup_index = 0;
	uint64_t last_ts = 0;
	struct ct_event ev;
	int rc;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		int on_cgroup = ev.thread && !strcmp(ev.thread->name, "[cgroup]");
		if (on_cgroup && ev.thread->index != cgroup_index) {
			cgroup_index = ev.thread->index;
			s->cgroup_threads++;
			s->cgroup_tid = ev.thread->tid;
		}
		if (ev.type == CT_EV_THROTTLE) {
			assert_true(on_cgroup);
			assert_true(s->n < 64);
			s->ev[s->n++] = (struct throttle){ev.args[0], ev.args[1], ev.args[2]};
			if (ev.ts < last_ts)
				s->ts_backwards++;
			last_ts = ev.ts;
		} else if (on_cgroup) {
			s->other_events_on_cgroup_thread++;
		}
	}
	assert_int_equal(rc, 0);
	s->complete = ct_reader_complete(r);
	ct_reader_close(r);
}

static int online_cpus(void)
{
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

static int allowed_cpus(void)
{
	cpu_set_t set;
	assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
	return CPU_COUNT(&set);
}

static void assert_meta_num(const struct seen *s, const char *key, long want)
{
	const char *v = meta(s, key);
	if (!v)
		fail_msg("header key %s missing", key);
	assert_int_equal(strtol(v, NULL, 10), want);
}

/* ---- a fake v2 cgroup ---- */

static void test_fake_v2(void **state)
{
	(void)state;
	char root[512], trace[512];
	snprintf(root, sizeof root, "%s/v2", tmpdir);
	snprintf(trace, sizeof trace, "%s/v2.ct", tmpdir);
	assert_int_equal(mkdir(root, 0755), 0);
	put_file(root, "cpu.max", "50000 100000\n");
	put_file(root, "cpuset.cpus.effective", "0-1,3\n");
	put_stat_v2(root, 100, 10, 5000);
	setenv("CTRACE_CGROUP_ROOT", root, 1);
	start(trace, 1);
	/* cumulative counters, and the throttle event each sample must give */
	static const struct {
		uint64_t periods, throttled, usec;
		int garbage, event;
		struct throttle want;
	} steps[] = {
		{103, 12, 5800, 0, 1, {2, 800000, 3}},
		{106, 12, 5800, 0, 0, {0}},	       /* periods only, fewer than 10 */
		{114, 12, 5800, 0, 1, {0, 0, 11}},     /* 11 periods unreported */
		{115, 12, 5900, 0, 1, {0, 100000, 1}}, /* throttled time alone moved */
		{115, 12, 5900, 0, 0, {0}},	       /* nothing moved */
		{5, 0, 0, 0, 0, {0}},		       /* counters reset: a new base */
		{7, 1, 200, 0, 1, {1, 200000, 2}},     /* deltas from the new base */
		{0, 0, 0, 1, 0, {0}},		       /* an unreadable file: skipped */
		{9, 2, 300, 0, 1, {1, 100000, 2}},     /* still from the last good base */
	};
	struct throttle want[16];
	int nwant = 0;
	for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
		if (steps[i].garbage)
			put_file(root, "cpu.stat", "nr_periods lots\nnr_throttled\n");
		else
			put_stat_v2(root, steps[i].periods, steps[i].throttled, steps[i].usec);
		assert_int_equal(ct_flush(), 0);
		if (steps[i].event)
			want[nwant++] = steps[i].want;
	}
	assert_int_equal(ct_stop(), 0);
	unsetenv("CTRACE_CGROUP_ROOT");

	static struct seen s;
	read_trace(trace, &s);
	assert_true(s.complete);
	assert_int_equal(s.n, nwant);
	for (int i = 0; i < nwant; i++) {
		assert_int_equal(s.ev[i].throttled, want[i].throttled);
		assert_int_equal(s.ev[i].ns, want[i].ns);
		assert_int_equal(s.ev[i].periods, want[i].periods);
	}
	assert_int_equal(s.ts_backwards, 0);
	assert_int_equal(s.cgroup_threads, 1);
	assert_int_equal(s.cgroup_tid, 0);
	assert_int_equal(s.other_events_on_cgroup_thread, 0);
	assert_non_null(meta(&s, "cgroup.path"));
	assert_string_equal(meta(&s, "cgroup.path"), root);
	assert_meta_num(&s, "cgroup.version", 2);
	assert_meta_num(&s, "cgroup.cpu.quota_us", 50000);
	assert_meta_num(&s, "cgroup.cpu.period_us", 100000);
	assert_meta_num(&s, "cgroup.cpus", 3);
	assert_meta_num(&s, "cpus.online", online_cpus());
	assert_meta_num(&s, "cpus.allowed", allowed_cpus());
	assert_null(meta(&s, "cgroup.cpu.limited_by"));
}

/* ---- a fake v1 cgroup: CFS files, throttled_time in nanoseconds ---- */

static void test_fake_v1(void **state)
{
	(void)state;
	char root[512], trace[512];
	snprintf(root, sizeof root, "%s/v1/", tmpdir); /* a trailing slash is fine */
	snprintf(trace, sizeof trace, "%s/v1.ct", tmpdir);
	assert_int_equal(mkdir(root, 0755), 0);
	put_file(root, "cpu.cfs_quota_us", "20000\n");
	put_file(root, "cpu.cfs_period_us", "100000\n");
	put_file(root, "cpuset.cpus", "0-3\n");
	put_file(root, "cpu.stat", "nr_periods 50\nnr_throttled 4\nthrottled_time 1000000\n");
	setenv("CTRACE_CGROUP_ROOT", root, 1);
	start(trace, 1);
	put_file(root, "cpu.stat",
		 "nr_periods 60\nnr_throttled 9\nthrottled_time 41000123\nnr_bursts 0\n");
	assert_int_equal(ct_flush(), 0);
	assert_int_equal(ct_stop(), 0);
	unsetenv("CTRACE_CGROUP_ROOT");

	static struct seen s;
	read_trace(trace, &s);
	assert_true(s.complete);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev[0].throttled, 5);
	assert_int_equal(s.ev[0].ns, 40000123);
	assert_int_equal(s.ev[0].periods, 10);
	root[strlen(root) - 1] = 0;
	assert_string_equal(meta(&s, "cgroup.path"), root);
	assert_meta_num(&s, "cgroup.version", 1);
	assert_meta_num(&s, "cgroup.cpu.quota_us", 20000);
	assert_meta_num(&s, "cgroup.cpu.period_us", 100000);
	assert_meta_num(&s, "cgroup.cpus", 4);
}

/* ---- no quota: nothing can throttle, so no thread and no events ---- */

static void test_fake_unlimited(void **state)
{
	(void)state;
	char root[512], trace[512];
	snprintf(root, sizeof root, "%s/unlimited", tmpdir);
	snprintf(trace, sizeof trace, "%s/unlimited.ct", tmpdir);
	assert_int_equal(mkdir(root, 0755), 0);
	put_file(root, "cpu.max", "max 100000\n");
	put_stat_v2(root, 0, 0, 0);
	setenv("CTRACE_CGROUP_ROOT", root, 1);
	start(trace, 1);
	/* even if the counters move (they cannot without a quota) */
	put_stat_v2(root, 30, 5, 1000);
	assert_int_equal(ct_flush(), 0);
	CT_REGION_BEGIN("work"); /* one real thread in the trace */
	CT_REGION_END();
	assert_int_equal(ct_stop(), 0);
	unsetenv("CTRACE_CGROUP_ROOT");

	static struct seen s;
	read_trace(trace, &s);
	assert_true(s.complete);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.cgroup_threads, 0);
	assert_string_equal(meta(&s, "cgroup.path"), root);
	assert_null(meta(&s, "cgroup.cpu.quota_us"));
	assert_null(meta(&s, "cgroup.cpu.period_us"));
	assert_null(meta(&s, "cgroup.cpus")); /* no cpuset file */
	assert_meta_num(&s, "cpus.online", online_cpus());
}

/* ---- a CTRACE_CGROUP_ROOT that does not exist: no cgroup ---- */

static void test_fake_missing(void **state)
{
	(void)state;
	char root[512], trace[512];
	snprintf(root, sizeof root, "%s/no-such-dir", tmpdir);
	snprintf(trace, sizeof trace, "%s/missing.ct", tmpdir);
	setenv("CTRACE_CGROUP_ROOT", root, 1);
	start(trace, 1);
	assert_int_equal(ct_flush(), 0);
	assert_int_equal(ct_stop(), 0);
	unsetenv("CTRACE_CGROUP_ROOT");
	static struct seen s;
	read_trace(trace, &s);
	assert_true(s.complete);
	assert_null(meta(&s, "cgroup.path"));
	assert_null(meta(&s, "cgroup.version"));
	assert_meta_num(&s, "cpus.online", online_cpus());
}

/* ---- discovery on this machine names the cgroup /proc/self/cgroup does ---- */

static void test_discovery(void **state)
{
	(void)state;
	/* the cpu controller's line (v1, hybrid) or else the v2 line */
	char line[1024], v1[1024] = "", v2[1024] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");
	if (!f) {
		fprintf(stderr, "skipped: no /proc/self/cgroup\n");
		skip();
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		if (!strcmp(line, "0") && c2 == c1 + 1)
			snprintf(v2, sizeof v2, "%s", c2 + 1);
		for (char *save = NULL, *t = strtok_r(c1 + 1, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			if (!strcmp(t, "cpu"))
				snprintf(v1, sizeof v1, "%s", c2 + 1);
	}
	fclose(f);
	char trace[512];
	snprintf(trace, sizeof trace, "%s/discovery.ct", tmpdir);
	unsetenv("CTRACE_CGROUP_ROOT");
	start(trace, 1);
	assert_int_equal(ct_stop(), 0);
	static struct seen s;
	read_trace(trace, &s);
	const char *path = meta(&s, "cgroup.path");
	if (!path) {
		/* possible only without a cgroup mount this process can see */
		fprintf(stderr, "skipped: no cgroup found (cpu line '%s', v2 line '%s')\n", v1, v2);
		assert_false(access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 && v2[0] &&
			     !v1[0]);
		skip();
	}
	const char *version = meta(&s, "cgroup.version");
	assert_non_null(version);
	if (!strcmp(version, "1"))
		assert_string_equal(path, v1);
	else
		assert_string_equal(path, v2);
	fprintf(stderr, "this machine: cgroup v%s %s, quota %s\n", version, path,
		meta(&s, "cgroup.cpu.quota_us") ? meta(&s, "cgroup.cpu.quota_us") : "none");
}

/* ---- the source off (CTRACE_CGROUP=off, ctrace run --no-cgroup) ---- */

static void test_off(void **state)
{
	(void)state;
	char root[512], trace[512];
	snprintf(root, sizeof root, "%s/off", tmpdir);
	snprintf(trace, sizeof trace, "%s/off.ct", tmpdir);
	assert_int_equal(mkdir(root, 0755), 0);
	put_file(root, "cpu.max", "50000 100000\n");
	put_stat_v2(root, 0, 0, 0);
	setenv("CTRACE_CGROUP_ROOT", root, 1);
	setenv("CTRACE_CGROUP", "off", 1);
	struct ct_config c;
	ct_config_init(&c);
	assert_int_equal(ct_config_from_env(&c), 0);
	unsetenv("CTRACE_CGROUP");
	assert_int_equal(c.cgroup, 0);
	start(trace, c.cgroup);
	put_stat_v2(root, 30, 5, 1000);
	assert_int_equal(ct_flush(), 0);
	assert_int_equal(ct_stop(), 0);
	unsetenv("CTRACE_CGROUP_ROOT");

	static struct seen s;
	read_trace(trace, &s);
	assert_int_equal(s.n, 0);
	assert_null(meta(&s, "cgroup.path"));
	assert_null(meta(&s, "cgroup.cpu.quota_us"));
	/* not cgroup facts: still there */
	assert_meta_num(&s, "cpus.online", online_cpus());
	assert_meta_num(&s, "cpus.allowed", allowed_cpus());
}

/* ---- ctrace run passes the source's switch to the program ---- */

static void test_run_no_cgroup(void **state)
{
	(void)state;
#ifdef CTRACE_SANITIZED
	skip(); /* a sanitized preload library cannot go into /bin/true */
#endif
	char root[512], trace[512], cmd[2048];
	snprintf(root, sizeof root, "%s/run", tmpdir);
	assert_int_equal(mkdir(root, 0755), 0);
	put_file(root, "cpu.max", "30000 100000\n");
	put_stat_v2(root, 0, 0, 0);
	setenv("CTRACE_CGROUP_ROOT", root, 1);
	static struct seen s;
	for (int off = 0; off < 2; off++) {
		snprintf(trace, sizeof trace, "%s/run-%d.ct", tmpdir, off);
		snprintf(cmd, sizeof cmd, "%s run -o %s %s -- /bin/true", CTRACE_CLI, trace,
			 off ? "--no-cgroup" : "");
		assert_int_equal(system(cmd), 0);
		read_trace(trace, &s);
		assert_true(s.complete);
		if (off) {
			assert_null(meta(&s, "cgroup.path"));
			assert_null(meta(&s, "cgroup.cpu.quota_us"));
		} else {
			assert_string_equal(meta(&s, "cgroup.path"), root);
			assert_meta_num(&s, "cgroup.cpu.quota_us", 30000);
		}
		assert_meta_num(&s, "cpus.online", online_cpus());
	}
	unsetenv("CTRACE_CGROUP_ROOT");
}

/* ---- a real cgroup with a quota, where this machine allows one ---- */

static int write_str(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int file_has_word(const char *path, const char *word)
{
	char text[1024] = "", *save = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = 0;
	for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (!strcmp(t, word))
			return 1;
	return 0;
}

/* The traced child: joins the cgroup, then burns 50 ms of CPU time under a
 * quota of 10 ms per 50 ms, which the kernel can only allow by throttling it
 * in several periods. Exit 77: it could not join. */
static volatile uint64_t burn_sink;

static void child(const char *procs, const char *trace)
{
	char pid[32];
	snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (write_str(procs, pid))
		_exit(77);
	struct ct_config c;
	ct_config_init(&c);
	c.path = trace;
	if (ct_start(&c))
		_exit(3);
	struct timespec ts;
	do {
		for (int i = 0; i < 100000; i++)
			burn_sink += (uint64_t)i * i;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	} while (ts.tv_sec == 0 && ts.tv_nsec < 50000000);
	_exit(ct_stop() ? 4 : 0);
}

static void test_real_quota(void **state)
{
	(void)state;
	char dir[512], path[600], trace[512], name[64];
	const char *base = NULL;
	int version = 0, enabled_cpu = 0;
	snprintf(name, sizeof name, "ctrace-test-%d", (int)getpid());
	if (access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", F_OK) == 0)
		base = "/sys/fs/cgroup/cpu", version = 1;
	else if (access("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", F_OK) == 0)
		base = "/sys/fs/cgroup/cpu,cpuacct", version = 1;
	else if (file_has_word("/sys/fs/cgroup/cgroup.controllers", "cpu"))
		base = "/sys/fs/cgroup", version = 2;
	if (!base) {
		fprintf(stderr, "skipped: no cgroup cpu controller at /sys/fs/cgroup\n");
		skip();
	}
	if (version == 2 && !file_has_word("/sys/fs/cgroup/cgroup.subtree_control", "cpu")) {
		int e = write_str("/sys/fs/cgroup/cgroup.subtree_control", "+cpu");
		if (e) {
			fprintf(stderr, "skipped: cannot enable the cpu controller: %s\n",
				strerror(-e));
			skip();
		}
		enabled_cpu = 1;
	}
	snprintf(dir, sizeof dir, "%s/%s", base, name);
	if (mkdir(dir, 0755) != 0) {
		fprintf(stderr, "skipped: cannot create %s: %s\n", dir, strerror(errno));
		if (enabled_cpu)
			write_str("/sys/fs/cgroup/cgroup.subtree_control", "-cpu");
		skip();
	}
	int e;
	if (version == 1) {
		snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
		e = write_str(path, "50000");
		snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
		if (!e)
			e = write_str(path, "10000");
	} else {
		snprintf(path, sizeof path, "%s/cpu.max", dir);
		e = write_str(path, "10000 50000");
	}
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	snprintf(trace, sizeof trace, "%s/real.ct", tmpdir);
	int status = -1;
	if (!e) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			child(path, trace);
		assert_int_equal(waitpid(pid, &status, 0), pid);
	}
	/* The kernel may still count the reaped child for a moment (EBUSY). */
	int tries = 0;
	while (rmdir(dir) != 0 && errno == EBUSY && ++tries < 200)
		usleep(5000);
	if (access(dir, F_OK) == 0)
		fprintf(stderr, "warning: cannot remove %s: %s\n", dir, strerror(errno));
	if (enabled_cpu)
		write_str("/sys/fs/cgroup/cgroup.subtree_control", "-cpu");
	if (e || (WIFEXITED(status) && WEXITSTATUS(status) == 77)) {
		fprintf(stderr, "skipped: cannot set a quota or join %s\n", dir);
		skip();
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	static struct seen s;
	read_trace(trace, &s);
	assert_true(s.complete);
	char want[128];
	snprintf(want, sizeof want, "/%s", name);
	const char *cg = meta(&s, "cgroup.path");
	assert_non_null(cg);
	assert_true(strlen(cg) >= strlen(want) && !strcmp(cg + strlen(cg) - strlen(want), want));
	assert_meta_num(&s, "cgroup.version", version);
	assert_meta_num(&s, "cgroup.cpu.quota_us", 10000);
	assert_meta_num(&s, "cgroup.cpu.period_us", 50000);
	uint64_t throttled = 0, ns = 0, periods = 0;
	for (int i = 0; i < s.n; i++) {
		throttled += s.ev[i].throttled;
		ns += s.ev[i].ns;
		periods += s.ev[i].periods;
	}
	fprintf(stderr,
		"real cgroup v%d: %d throttle events, %llu periods throttled of %llu, %llu ns\n",
		version, s.n, (unsigned long long)throttled, (unsigned long long)periods,
		(unsigned long long)ns);
	assert_true(s.n > 0);
	assert_true(throttled >= 2); /* 50 ms of CPU needs 5 refills of 10 ms */
	assert_true(periods >= throttled);
	assert_true(ns > 0);
	assert_int_equal(s.cgroup_threads, 1);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_v2),	       cmocka_unit_test(test_fake_v1),
		cmocka_unit_test(test_fake_unlimited), cmocka_unit_test(test_off),
		cmocka_unit_test(test_fake_missing),   cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_run_no_cgroup),  cmocka_unit_test(test_real_quota),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
