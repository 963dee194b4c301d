/* Tests of the cgroup source's parsers and probes: cpu.max, the v1 CFS
 * files, cpu.stat of both versions, cpuset lists, /proc/self/cgroup and
 * mountinfo of v1, v2, hybrid and container setups, and the walk up a fake
 * hierarchy in a temporary directory. Bad input is an unknown, never a
 * crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "record/src_cgroup.h"

/* ---- cpuset lists ---- */

static void test_cpu_list(void **state)
{
	(void)state;
	assert_int_equal(cg_cpu_list_count("0-3,8\n"), 5);
	assert_int_equal(cg_cpu_list_count("0\n"), 1);
	assert_int_equal(cg_cpu_list_count("0-1"), 2);
	assert_int_equal(cg_cpu_list_count("2,4,6-7,10-19\n"), 14);
	assert_int_equal(cg_cpu_list_count("\n"), 0);
	assert_int_equal(cg_cpu_list_count(""), 0);
	/* garbage */
	assert_int_equal(cg_cpu_list_count("3-1\n"), -1);
	assert_int_equal(cg_cpu_list_count("0-\n"), -1);
	assert_int_equal(cg_cpu_list_count("a-b\n"), -1);
	assert_int_equal(cg_cpu_list_count("0,,1\n"), -1);
	assert_int_equal(cg_cpu_list_count("0-3 junk\n"), -1);
	assert_int_equal(cg_cpu_list_count("-1\n"), -1);
	assert_int_equal(cg_cpu_list_count("0-99999999999999999999999\n"), -1);
	assert_int_equal(cg_cpu_list_count("0-4000000\n"), -1);
}

/* ---- quotas ---- */

static void test_cpu_max(void **state)
{
	(void)state;
	uint64_t q = 7, p = 7;
	assert_int_equal(cg_parse_cpu_max("max 100000\n", &q, &p), 0);
	assert_int_equal(q, 0);
	assert_int_equal(p, 100000);
	assert_int_equal(cg_parse_cpu_max("50000 100000\n", &q, &p), 1);
	assert_int_equal(q, 50000);
	assert_int_equal(p, 100000);
	assert_int_equal(cg_parse_cpu_max("250000 50000", &q, &p), 1);
	assert_int_equal(q, 250000);
	assert_int_equal(p, 50000);
	assert_int_equal(cg_parse_cpu_max("max\n", &q, &p), 0);
	/* garbage leaves the outputs alone */
	q = p = 7;
	assert_int_equal(cg_parse_cpu_max("50000\n", &q, &p), -1);
	assert_int_equal(cg_parse_cpu_max("0 100000\n", &q, &p), -1);
	assert_int_equal(cg_parse_cpu_max("50000 0\n", &q, &p), -1);
	assert_int_equal(cg_parse_cpu_max("-5 100000\n", &q, &p), -1);
	assert_int_equal(cg_parse_cpu_max("50000 100000 3\n", &q, &p), -1);
	assert_int_equal(cg_parse_cpu_max("lots 100000\n", &q, &p), -1);
	assert_int_equal(cg_parse_cpu_max("", &q, &p), -1);
	assert_int_equal(q, 7);
	assert_int_equal(p, 7);
}

static void test_cfs(void **state)
{
	(void)state;
	uint64_t q = 7, p = 7;
	assert_int_equal(cg_parse_cfs("-1\n", "100000\n", &q, &p), 0);
	assert_int_equal(q, 0);
	assert_int_equal(cg_parse_cfs("20000\n", "100000\n", &q, &p), 1);
	assert_int_equal(q, 20000);
	assert_int_equal(p, 100000);
	/* no period: unlimited still reads, a quota does not */
	assert_int_equal(cg_parse_cfs("-1\n", "", &q, &p), 0);
	assert_int_equal(cg_parse_cfs("20000\n", "", &q, &p), -1);
	assert_int_equal(cg_parse_cfs("20000\n", "x\n", &q, &p), -1);
	assert_int_equal(cg_parse_cfs("-2\n", "100000\n", &q, &p), -1);
	assert_int_equal(cg_parse_cfs("-1x\n", "100000\n", &q, &p), -1);
	assert_int_equal(cg_parse_cfs("0\n", "100000\n", &q, &p), -1);
	assert_int_equal(cg_parse_cfs("\n", "100000\n", &q, &p), -1);
}

/* ---- cpu.stat ---- */

static void test_cpu_stat(void **state)
{
	(void)state;
	struct cg_stat st;
	const char *v2 = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n"
			 "core_sched.force_idle_usec 0\nnr_periods 42\nnr_throttled 7\n"
			 "throttled_usec 3500\nnr_bursts 0\nburst_usec 0\n";
	assert_int_equal(cg_parse_cpu_stat(v2, &st), 0);
	assert_int_equal(st.periods, 42);
	assert_int_equal(st.throttled, 7);
	assert_int_equal(st.throttled_ns, 3500000);
	const char *v1 = "nr_periods 11\nnr_throttled 3\nthrottled_time 123456789\n"
			 "nr_bursts 0\nburst_time 0\n";
	assert_int_equal(cg_parse_cpu_stat(v1, &st), 0);
	assert_int_equal(st.periods, 11);
	assert_int_equal(st.throttled, 3);
	assert_int_equal(st.throttled_ns, 123456789);
	/* no trailing newline */
	assert_int_equal(cg_parse_cpu_stat("nr_periods 1\nnr_throttled 0\nthrottled_usec 0", &st),
			 0);
	assert_int_equal(st.periods, 1);
	/* a v2 cgroup without the cpu controller: usage only, no throttling */
	assert_int_equal(cg_parse_cpu_stat("usage_usec 5\nuser_usec 3\nsystem_usec 2\n", &st), -1);
	/* a counter cut short, or not a number */
	assert_int_equal(cg_parse_cpu_stat("nr_periods 1\nnr_throttled \nthrottled_usec 0\n", &st),
			 -1);
	assert_int_equal(
		cg_parse_cpu_stat("nr_periods 1x\nnr_throttled 0\nthrottled_usec 0\n", &st), -1);
	assert_int_equal(cg_parse_cpu_stat("nr_periods 1\nnr_throttled 0\n", &st), -1);
	assert_int_equal(cg_parse_cpu_stat("", &st), -1);
	assert_int_equal(cg_parse_cpu_stat("\n\n\n", &st), -1);
	assert_int_equal(cg_parse_cpu_stat("nr_periods\nnr_throttled\nthrottled_time\n", &st), -1);
}

/* ---- locating the cgroup ---- */

static struct cg_where W;

/* This machine: v1 controllers under /sys/fs/cgroup/NAME, v2 (no
 * controllers) at /sys/fs/cgroup/unified. */
static void test_locate_hybrid(void **state)
{
	(void)state;
	const char *pc = "9:name=systemd:/\n8:pids:/\n4:memory:/api/a6dc\n3:cpuset:/\n"
			 "2:cpuacct:/\n1:cpu:/jobs/j1\n0::/\n";
	const char *mi =
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
		"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	assert_int_equal(cg_locate(pc, mi, &W), 0);
	assert_int_equal(W.version, 1);
	assert_string_equal(W.path, "/jobs/j1");
	assert_string_equal(W.cpu_dir, "/sys/fs/cgroup/cpu/jobs/j1");
	assert_string_equal(W.cpu_top, "/sys/fs/cgroup/cpu");
	assert_string_equal(W.cpuset_dir, "/sys/fs/cgroup/cpuset");
	assert_string_equal(W.cpuset_top, "/sys/fs/cgroup/cpuset");
}

/* The common v1 layout: cpu and cpuacct share a hierarchy, mounted under a
 * joint name; a shared-subtree optional field precedes the separator. */
static void test_locate_v1_joint(void **state)
{
	(void)state;
	const char *pc = "5:cpuset:/svc\n4:cpu,cpuacct:/svc/web\n";
	const char *mi = "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup "
			 "cgroup rw,cpu,cpuacct\n"
			 "31 25 0:27 / /sys/fs/cgroup/cpuset rw,nosuid shared:11 - cgroup cgroup "
			 "rw,cpuset\n";
	assert_int_equal(cg_locate(pc, mi, &W), 0);
	assert_int_equal(W.version, 1);
	assert_string_equal(W.path, "/svc/web");
	assert_string_equal(W.cpu_dir, "/sys/fs/cgroup/cpu,cpuacct/svc/web");
	assert_string_equal(W.cpuset_dir, "/sys/fs/cgroup/cpuset/svc");
}

/* A pure v2 host. The cpuacct controller's name must not match "cpu". */
static void test_locate_v2(void **state)
{
	(void)state;
	const char *pc = "0::/user.slice/user-1000.slice/session-3.scope\n";
	const char *mi = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
			 "35 22 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:9 - cgroup2 "
			 "cgroup2 rw,nsdelegate,memory_recursiveprot\n";
	assert_int_equal(cg_locate(pc, mi, &W), 0);
	assert_int_equal(W.version, 2);
	assert_string_equal(W.path, "/user.slice/user-1000.slice/session-3.scope");
	assert_string_equal(W.cpu_dir, "/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope");
	assert_string_equal(W.cpu_top, "/sys/fs/cgroup");
	assert_string_equal(W.cpuset_dir, W.cpu_dir);

	const char *only_acct = "3:cpuacct:/x\n";
	const char *acct_mi = "30 25 0:26 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n";
	assert_int_equal(cg_locate(only_acct, acct_mi, &W), -1);
}

/* A container without a cgroup namespace: the hierarchy's subtree of the
 * container is mounted, with the subtree as the mount's root. And one with
 * a namespace: the path is "/" and so is the root. */
static void test_locate_container(void **state)
{
	(void)state;
	const char *pc = "4:cpu,cpuacct:/docker/abc123\n0::/\n";
	const char *mi = "700 690 0:26 /docker/abc123 /sys/fs/cgroup/cpu,cpuacct ro,nosuid - "
			 "cgroup cpu rw,cpu,cpuacct\n";
	assert_int_equal(cg_locate(pc, mi, &W), 0);
	assert_int_equal(W.version, 1);
	assert_string_equal(W.path, "/docker/abc123");
	assert_string_equal(W.cpu_dir, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(W.cpu_top, "/sys/fs/cgroup/cpu,cpuacct");

	/* deeper than the mount's root */
	pc = "4:cpu,cpuacct:/docker/abc123/inner\n";
	assert_int_equal(cg_locate(pc, mi, &W), 0);
	assert_string_equal(W.cpu_dir, "/sys/fs/cgroup/cpu,cpuacct/inner");

	/* a root that is not above the path: the mount stands for it */
	pc = "4:cpu,cpuacct:/other\n";
	assert_int_equal(cg_locate(pc, mi, &W), 0);
	assert_string_equal(W.cpu_dir, "/sys/fs/cgroup/cpu,cpuacct");

	/* "/docker/abc1234" is not below "/docker/abc123" */
	pc = "4:cpu,cpuacct:/docker/abc1234\n";
	const char *two = "700 690 0:26 /docker/abc123 /mnt/a rw - cgroup cpu rw,cpu,cpuacct\n"
			  "701 690 0:26 / /mnt/b rw - cgroup cpu rw,cpu,cpuacct\n";
	assert_int_equal(cg_locate(pc, two, &W), 0);
	assert_string_equal(W.cpu_dir, "/mnt/b/docker/abc1234");
	assert_string_equal(W.cpu_top, "/mnt/b");

	/* namespaced v2 */
	pc = "0::/\n";
	mi = "800 790 0:40 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n";
	assert_int_equal(cg_locate(pc, mi, &W), 0);
	assert_int_equal(W.version, 2);
	assert_string_equal(W.path, "/");
	assert_string_equal(W.cpu_dir, "/sys/fs/cgroup");

	/* outside the namespace's root: nowhere this process can see */
	pc = "0::/../../sibling\n";
	assert_int_equal(cg_locate(pc, mi, &W), -1);
}

static void test_locate_escapes_and_garbage(void **state)
{
	(void)state;
	const char *pc = "0::/a b\n";
	const char *mi = "800 790 0:40 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n";
	assert_int_equal(cg_locate(pc, mi, &W), 0);
	assert_string_equal(W.cpu_dir, "/mnt/my cgroups/a b");

	/* nothing usable */
	assert_int_equal(cg_locate("", "", &W), -1);
	assert_int_equal(cg_locate("garbage\n::\n:::\n", "x y z\n- - -\n", &W), -1);
	assert_int_equal(cg_locate("0::/\n", "", &W), -1);
	assert_int_equal(cg_locate("0::/\n", "1 2 3 4 5 6 - cgroup2\n", &W), -1);
	assert_int_equal(cg_locate("0::relative\n", "1 2 0:1 / /m rw - cgroup2 c rw\n", &W), -1);
	/* a path too long for the buffers */
	char *big = malloc(3 * CG_PATH_MAX);
	assert_non_null(big);
	strcpy(big, "0::/");
	memset(big + 4, 'x', 2 * CG_PATH_MAX);
	strcpy(big + 4 + 2 * CG_PATH_MAX, "\n");
	assert_int_equal(cg_locate(big, "1 2 0:1 / /m rw - cgroup2 c rw\n", &W), -1);
	strcpy(big, "0::/x\n");
	char *mbig = malloc(3 * CG_PATH_MAX);
	assert_non_null(mbig);
	strcpy(mbig, "1 2 0:1 / /");
	memset(mbig + 11, 'm', 2 * CG_PATH_MAX);
	strcpy(mbig + 11 + 2 * CG_PATH_MAX, " rw - cgroup2 c rw\n");
	assert_int_equal(cg_locate(big, mbig, &W), -1);
	free(big);
	free(mbig);
}

/* ---- a fake hierarchy on disk ---- */

static char tmp[] = "/tmp/ctrace-cgroup-unit-XXXXXX";

static void put_file(const char *rel, const char *text)
{
	char path[CG_PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_dir(const char *rel)
{
	char path[CG_PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* snprintf that must fit */
#define FMT(buf, ...) assert_true(snprintf(buf, sizeof buf, __VA_ARGS__) < (int)sizeof buf)

static void where(struct cg_where *w, int version, const char *cpu_rel, const char *cpuset_rel)
{
	memset(w, 0, sizeof *w);
	w->version = version;
	FMT(w->cpu_top, "%s/%s", tmp, version == 2 ? "v2" : "cpu");
	FMT(w->cpu_dir, "%s/%s", w->cpu_top, cpu_rel);
	if (cpuset_rel) {
		FMT(w->cpuset_top, "%s/%s", tmp, version == 2 ? "v2" : "cpuset");
		FMT(w->cpuset_dir, "%s/%s", w->cpuset_top, cpuset_rel);
	}
}

static void test_limits_v2_walk(void **state)
{
	(void)state;
	struct cg_where w;
	struct cg_limits l;
	/* v2/a/b: b unlimited, a 1.5 CPUs, the root holds no cpu.max; the
	 * cpuset is set on a only, b inherits it */
	make_dir("v2");
	make_dir("v2/a");
	make_dir("v2/a/b");
	put_file("v2/cpuset.cpus.effective", "0-7\n");
	put_file("v2/a/cpu.max", "150000 100000\n");
	put_file("v2/a/cpuset.cpus.effective", "0-2,5\n");
	put_file("v2/a/b/cpu.max", "max 100000\n");
	where(&w, 2, "a/b", "a/b");
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 150000);
	assert_int_equal(l.period_us, 100000);
	assert_int_equal(l.limit_up, 1);
	char want[CG_PATH_MAX];
	snprintf(want, sizeof want, "%s/v2/a", tmp);
	assert_string_equal(l.limit_dir, want);
	assert_int_equal(l.cpus, 4);

	/* a tighter quota below wins, even with another period */
	put_file("v2/a/b/cpu.max", "20000 50000\n");
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 20000);
	assert_int_equal(l.period_us, 50000);
	assert_int_equal(l.limit_up, 0);
	/* a looser one does not */
	put_file("v2/a/b/cpu.max", "400000 100000\n");
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 150000);

	/* garbage in a's files: unknown, so b's quota stands; a's cpuset is
	 * unreadable, so the root's is used */
	put_file("v2/a/cpu.max", "whatever\n");
	put_file("v2/a/cpuset.cpus.effective", "zero to three\n");
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 400000);
	assert_int_equal(l.limit_up, 0);
	assert_int_equal(l.cpus, 8);

	/* the walk never goes above the top: a quota there is not seen */
	put_file("v2/a/cpu.max", "max 100000\n");
	put_file("v2/a/b/cpu.max", "max 100000\n");
	where(&w, 2, "a/b", NULL);
	FMT(w.cpu_top, "%s/v2/a/b", tmp);
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 0);
	assert_int_equal(l.period_us, 0);
	assert_int_equal(l.cpus, -1);
}

static void test_limits_v1_and_missing(void **state)
{
	(void)state;
	struct cg_where w;
	struct cg_limits l;
	make_dir("cpu");
	make_dir("cpu/job");
	make_dir("cpuset");
	put_file("cpu/cpu.cfs_quota_us", "-1\n");
	put_file("cpu/cpu.cfs_period_us", "100000\n");
	put_file("cpu/job/cpu.cfs_quota_us", "20000\n");
	put_file("cpu/job/cpu.cfs_period_us", "100000\n");
	put_file("cpuset/cpuset.effective_cpus", "0-1\n");
	put_file("cpuset/cpuset.cpus", "0-3\n");
	where(&w, 1, "job", "");
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 20000);
	assert_int_equal(l.period_us, 100000);
	assert_int_equal(l.limit_up, 0);
	assert_int_equal(l.cpus, 2); /* effective before configured */

	/* the job's period file is gone: its quota means nothing */
	char path[CG_PATH_MAX];
	snprintf(path, sizeof path, "%s/cpu/job/cpu.cfs_period_us", tmp);
	assert_int_equal(unlink(path), 0);
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 0);

	/* no files at all, and directories that do not exist */
	where(&w, 1, "nowhere/deeper", "nowhere");
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 0);
	assert_int_equal(l.cpus, 2); /* the cpuset top's list */
	memset(&w, 0, sizeof w);
	cg_read_limits(&w, &l);
	assert_int_equal(l.quota_us, 0);
	assert_int_equal(l.cpus, -1);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test(test_cpu_max),
		cmocka_unit_test(test_cfs),
		cmocka_unit_test(test_cpu_stat),
		cmocka_unit_test(test_locate_hybrid),
		cmocka_unit_test(test_locate_v1_joint),
		cmocka_unit_test(test_locate_v2),
		cmocka_unit_test(test_locate_container),
		cmocka_unit_test(test_locate_escapes_and_garbage),
		cmocka_unit_test(test_limits_v2_walk),
		cmocka_unit_test(test_limits_v1_and_missing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
