/* The cgroup CPU-limits source (src_cgroup.c): the hooks sources.c calls,
 * and the parsers and probes behind them, visible to the unit tests. */
#ifndef CT_RECORD_SRC_CGROUP_H
#define CT_RECORD_SRC_CGROUP_H

#include <stdint.h>

#include "ctrace.h"

/* ---- hooks (sources.h says when each runs) ---- */

void cgroup_start(const struct ct_config *cfg);
void cgroup_meta(void (*put)(void *ctx, const char *key, const char *value), void *ctx);
void cgroup_round(uint64_t now_ns);
void cgroup_stop(void);

/* ---- parsing and probing (exposed for tests) ---- */

#define CG_PATH_MAX 1024

/* A throttle event with nothing throttled is still written once this many
 * enforcement periods went by unreported (docs/DECISIONS.md). */
#define CG_QUIET_PERIODS 10

/* Where the process's cgroup lives: the directories of its cpu and cpuset
 * controllers, and the mount points the walk up the hierarchy stops at. */
struct cg_where {
	int version;		/* of the cpu controller: 1 or 2 */
	char path[CG_PATH_MAX]; /* the cgroup as /proc/self/cgroup names it */
	char cpu_dir[CG_PATH_MAX], cpu_top[CG_PATH_MAX];
	char cpuset_dir[CG_PATH_MAX], cpuset_top[CG_PATH_MAX]; /* "" when unknown */
};

/* What the hierarchy allows. */
struct cg_limits {
	uint64_t quota_us, period_us; /* the tightest quota on the path; 0 0 when none */
	int limit_up;		      /* levels above cpu_dir where that quota is set */
	char limit_dir[CG_PATH_MAX];  /* that cgroup's directory, its cpu.stat */
	int cpus;		      /* CPUs in the cpuset, -1 when unknown */
};

/* cpu.stat's counters, throttled time in nanoseconds (v2's throttled_usec
 * scaled, v1's throttled_time as it is). */
struct cg_stat {
	uint64_t periods, throttled, throttled_ns;
};

/* CPUs in a list like "0-3,8\n": the count (0 for an empty list), or -1 when
 * the text is not such a list. */
int cg_cpu_list_count(const char *s);
/* cgroup v2 cpu.max ("max 100000", "50000 100000"): 1 with a quota, 0
 * unlimited, -1 unreadable. */
int cg_parse_cpu_max(const char *s, uint64_t *quota_us, uint64_t *period_us);
/* cgroup v1 cpu.cfs_quota_us ("-1" unlimited) and cpu.cfs_period_us: as
 * cg_parse_cpu_max. */
int cg_parse_cfs(const char *quota, const char *period, uint64_t *quota_us, uint64_t *period_us);
/* cpu.stat of either version: 0, or -1 when a counter is missing or bad. */
int cg_parse_cpu_stat(const char *s, struct cg_stat *st);
/* Finds the cgroup from the texts of /proc/self/cgroup and
 * /proc/self/mountinfo: 0, or -1 when no cpu controller is found. */
int cg_locate(const char *proc_cgroup, const char *mountinfo, struct cg_where *w);
/* Reads the quota (walking from cpu_dir up to cpu_top) and the cpuset size
 * (from cpuset_dir up to cpuset_top) of w. Missing or unreadable files are
 * unknowns, never errors. */
void cg_read_limits(const struct cg_where *w, struct cg_limits *l);

#endif
