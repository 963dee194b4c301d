/* cgroup CPU limits: at the start of a capture, the quota, the cpuset and
 * the CPUs the process may use, for the header; during it, the throttling
 * the quota causes, sampled from cpu.stat each writer round and written as
 * throttle events on the "[cgroup]" pseudo-thread (docs/FORMAT.md). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrace_events.h"
#include "record/sources.h"
#include "record/src_cgroup.h"

#define CG_CPUS_MAX   (1u << 20) /* a CPU number beyond this is garbage */
#define CG_INFO_MAX   (4u << 20) /* /proc/self/mountinfo read at most */
#define CG_SMALL_FILE 4096

/* ---- numbers and lists ---- */

/* Decimal digits at *p (at least one, no sign, no overflow). */
static int parse_num(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Only whitespace left. */
static int at_end(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return *s == 0;
}

int cg_cpu_list_count(const char *s)
{
	uint64_t n = 0, a, b;
	s = skip_blanks(s);
	if (at_end(s))
		return 0;
	for (;;) {
		if (parse_num(&s, &a))
			return -1;
		b = a;
		if (*s == '-') {
			s++;
			if (parse_num(&s, &b))
				return -1;
		}
		if (b < a || b >= CG_CPUS_MAX)
			return -1;
		n += b - a + 1;
		if (n > CG_CPUS_MAX)
			return -1;
		if (*s != ',')
			break;
		s++;
	}
	return at_end(s) ? (int)n : -1;
}

int cg_parse_cpu_max(const char *s, uint64_t *quota_us, uint64_t *period_us)
{
	uint64_t q = 0, p = 0;
	int limited;
	s = skip_blanks(s);
	if (!strncmp(s, "max", 3)) {
		s += 3;
		limited = 0;
	} else {
		if (parse_num(&s, &q) || q == 0)
			return -1;
		limited = 1;
	}
	if (*s == ' ' || *s == '\t') {
		s = skip_blanks(s);
		if (parse_num(&s, &p) || p == 0)
			return -1;
	} else if (limited) {
		return -1; /* a quota means nothing without its period */
	}
	if (!at_end(s))
		return -1;
	*quota_us = limited ? q : 0;
	*period_us = p;
	return limited;
}

int cg_parse_cfs(const char *quota, const char *period, uint64_t *quota_us, uint64_t *period_us)
{
	uint64_t q = 0, p = 0;
	const char *s = skip_blanks(quota);
	int limited = 1;
	if (!strncmp(s, "-1", 2)) {
		s += 2;
		limited = 0;
	} else if (parse_num(&s, &q) || q == 0) {
		return -1;
	}
	if (!at_end(s))
		return -1;
	s = skip_blanks(period);
	if (parse_num(&s, &p) || p == 0 || !at_end(s)) {
		if (limited)
			return -1;
		p = 0;
	}
	*quota_us = limited ? q : 0;
	*period_us = p;
	return limited;
}

int cg_parse_cpu_stat(const char *s, struct cg_stat *st)
{
	unsigned have = 0;
	struct cg_stat v = {0, 0, 0};
	while (*s) {
		const char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);
		const char *sp = memchr(s, ' ', len);
		if (sp) {
			size_t klen = (size_t)(sp - s);
			const char *num = sp + 1;
			uint64_t x;
			unsigned bit = 0;
			if (klen == 10 && !memcmp(s, "nr_periods", 10))
				bit = 1;
			else if (klen == 12 && !memcmp(s, "nr_throttled", 12))
				bit = 2;
			else if (klen == 14 && !memcmp(s, "throttled_usec", 14))
				bit = 4;
			else if (klen == 14 && !memcmp(s, "throttled_time", 14))
				bit = 8;
			if (bit) {
				if (parse_num(&num, &x) || num != s + len)
					return -1;
				if (bit == 1)
					v.periods = x;
				else if (bit == 2)
					v.throttled = x;
				else if (bit == 4)
					v.throttled_ns =
						x > UINT64_MAX / 1000 ? UINT64_MAX : x * 1000;
				else
					v.throttled_ns = x;
				have |= bit;
			}
		}
		if (!eol)
			break;
		s = eol + 1;
	}
	if ((have & 3) != 3 || !(have & 12))
		return -1;
	*st = v;
	return 0;
}

/* ---- files ---- */

/* The file at path into buf (NUL-terminated): its length, or -1. */
static ssize_t read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				n = 0;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return n ? (ssize_t)n : -1;
}

/* A whole /proc file of unknown size (malloc'd), or NULL. */
static char *read_proc(const char *path)
{
	size_t cap = 16384;
	for (;;) {
		char *b = malloc(cap);
		if (!b)
			return NULL;
		ssize_t n = read_text(path, b, cap);
		if (n < 0) {
			free(b);
			return NULL;
		}
		if ((size_t)n + 1 < cap)
			return b;
		free(b);
		if (cap >= CG_INFO_MAX)
			return NULL;
		cap *= 2;
	}
}

static int join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, CG_PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= CG_PATH_MAX ? -1 : 0;
}

/* ---- where the cgroup is ---- */

struct span {
	const char *p;
	size_t n;
};

static int span_is(struct span s, const char *lit)
{
	return s.n == strlen(lit) && !memcmp(s.p, lit, s.n);
}

/* name is one of the comma-separated tokens of s. */
static int has_token(struct span s, const char *name)
{
	size_t len = strlen(name);
	const char *p = s.p, *end = s.p + s.n;
	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		if (!c)
			c = end;
		if ((size_t)(c - p) == len && !memcmp(p, name, len))
			return 1;
		p = c + 1;
	}
	return 0;
}

/* mountinfo escapes blanks, newlines and backslashes as \ooo. */
static int unescape(struct span s, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (c == '\\' && i + 3 < s.n && s.p[i + 1] >= '0' && s.p[i + 1] <= '3' &&
		    s.p[i + 2] >= '0' && s.p[i + 2] <= '7' && s.p[i + 3] >= '0' &&
		    s.p[i + 3] <= '7') {
			c = (char)((s.p[i + 1] - '0') * 64 + (s.p[i + 2] - '0') * 8 +
				   (s.p[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = 0;
	return 0;
}

/* The directory of cgroup path (as /proc/self/cgroup says) in the hierarchy
 * mounted at mnt from root, or -1 when path is not below root. */
static int resolve(const char *root, const char *mnt, const char *path, char *dir)
{
	const char *rel;
	size_t rl = strlen(root);
	if (!strcmp(root, "/"))
		rel = path;
	else if (!strncmp(path, root, rl) && (path[rl] == 0 || path[rl] == '/'))
		rel = path + rl;
	else
		return -1;
	if (!strcmp(rel, "/"))
		rel = "";
	int n = snprintf(dir, CG_PATH_MAX, "%s%s", mnt, rel);
	return n < 0 || n >= CG_PATH_MAX ? -1 : 0;
}

/* The mount of a hierarchy (fstype "cgroup" with controller, or "cgroup2"
 * for controller NULL) and the directory of path in it. A mount whose root
 * is not above path (a bind mount of another subtree, or a namespace root
 * the kernel did not translate) is used only when none fits: its top. */
static int find_mount(const char *info, const char *controller, const char *path, char *dir,
		      char *top)
{
	int found = 0;
	char root[CG_PATH_MAX], mnt[CG_PATH_MAX];
	for (const char *line = info; *line;) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		struct span f[32];
		int nf = 0, sep = -1;
		for (const char *p = line; p < end && nf < 32;) {
			while (p < end && *p == ' ')
				p++;
			if (p == end)
				break;
			const char *q = p;
			while (q < end && *q != ' ')
				q++;
			f[nf] = (struct span){p, (size_t)(q - p)};
			if (sep < 0 && nf >= 6 && span_is(f[nf], "-"))
				sep = nf;
			nf++;
			p = q;
		}
		line = eol ? eol + 1 : end;
		if (sep < 0 || sep + 3 >= nf)
			continue;
		struct span fstype = f[sep + 1], opts = f[sep + 3];
		if (controller ? !span_is(fstype, "cgroup") || !has_token(opts, controller)
			       : !span_is(fstype, "cgroup2"))
			continue;
		if (unescape(f[3], root, sizeof root) || unescape(f[4], mnt, sizeof mnt))
			continue;
		if (resolve(root, mnt, path, dir) == 0) {
			snprintf(top, CG_PATH_MAX, "%s", mnt);
			return 0;
		}
		if (!found) {
			/* the whole mount stands for the cgroup */
			snprintf(dir, CG_PATH_MAX, "%s", mnt);
			snprintf(top, CG_PATH_MAX, "%s", mnt);
			found = 1;
		}
	}
	return found ? 0 : -1;
}

/* A /proc/self/cgroup line "id:controllers:path" for a v1 controller, or
 * the v2 line ("0::path") for controller NULL. */
static int find_line(const char *text, const char *controller, char *path)
{
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *c1 = memchr(line, ':', (size_t)(end - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		const char *next = eol ? eol + 1 : end;
		if (c2) {
			struct span id = {line, (size_t)(c1 - line)};
			struct span ctl = {c1 + 1, (size_t)(c2 - c1 - 1)};
			int match = controller ? has_token(ctl, controller)
					       : span_is(id, "0") && ctl.n == 0;
			size_t n = (size_t)(end - c2 - 1);
			if (match && n > 0 && n < CG_PATH_MAX && c2[1] == '/') {
				memcpy(path, c2 + 1, n);
				path[n] = 0;
				/* outside the cgroup namespace's root: no place
				 * in the mounts this process sees */
				if (!strncmp(path, "/..", 3) && (path[3] == 0 || path[3] == '/'))
					return -1;
				return 0;
			}
		}
		line = next;
	}
	return -1;
}

int cg_locate(const char *proc_cgroup, const char *mountinfo, struct cg_where *w)
{
	char p1[CG_PATH_MAX], p2[CG_PATH_MAX], ps[CG_PATH_MAX];
	int has_v1 = find_line(proc_cgroup, "cpu", p1) == 0;
	int has_v2 = find_line(proc_cgroup, NULL, p2) == 0;
	memset(w, 0, sizeof *w);
	/* A controller bound to a v1 hierarchy is absent from v2 (hybrid
	 * setups mount both): v1 first. */
	if (has_v1 && find_mount(mountinfo, "cpu", p1, w->cpu_dir, w->cpu_top) == 0) {
		w->version = 1;
		memcpy(w->path, p1, sizeof p1);
	} else if (has_v2 && find_mount(mountinfo, NULL, p2, w->cpu_dir, w->cpu_top) == 0) {
		w->version = 2;
		memcpy(w->path, p2, sizeof p2);
	} else {
		return -1;
	}
	if (find_line(proc_cgroup, "cpuset", ps) == 0 &&
	    find_mount(mountinfo, "cpuset", ps, w->cpuset_dir, w->cpuset_top) == 0)
		return 0;
	if (has_v2 && find_mount(mountinfo, NULL, p2, w->cpuset_dir, w->cpuset_top) == 0)
		return 0;
	w->cpuset_dir[0] = w->cpuset_top[0] = 0;
	return 0;
}

/* ---- limits ---- */

/* Up one level, staying at or below top: 0, or -1 at the top. */
static int up(char *dir, const char *top)
{
	size_t tl = strlen(top);
	if (strlen(dir) <= tl)
		return -1;
	char *s = strrchr(dir, '/');
	if (!s || (size_t)(s - dir) < tl)
		return -1;
	*s = 0;
	return 0;
}

static int read_quota(int version, const char *dir, uint64_t *q, uint64_t *p)
{
	char path[CG_PATH_MAX], a[256], b[256];
	if (version == 2) {
		if (join(path, dir, "cpu.max") || read_text(path, a, sizeof a) < 0)
			return -1;
		return cg_parse_cpu_max(a, q, p);
	}
	if (join(path, dir, "cpu.cfs_quota_us") || read_text(path, a, sizeof a) < 0)
		return -1;
	if (join(path, dir, "cpu.cfs_period_us") || read_text(path, b, sizeof b) < 0)
		b[0] = 0;
	return cg_parse_cfs(a, b, q, p);
}

void cg_read_limits(const struct cg_where *w, struct cg_limits *l)
{
	char dir[CG_PATH_MAX], path[CG_PATH_MAX], text[CG_SMALL_FILE];
	memset(l, 0, sizeof *l);
	l->cpus = -1;
	/* Every quota on the way up holds the cgroup back: the tightest (the
	 * fewest CPUs' worth) is the one that binds. */
	snprintf(dir, sizeof dir, "%s", w->cpu_dir);
	for (int level = 0; dir[0]; level++) {
		uint64_t q, p;
		if (read_quota(w->version, dir, &q, &p) == 1 &&
		    (!l->quota_us ||
		     (unsigned __int128)q * l->period_us < (unsigned __int128)l->quota_us * p)) {
			l->quota_us = q;
			l->period_us = p;
			l->limit_up = level;
			memcpy(l->limit_dir, dir, sizeof dir);
		}
		if (up(dir, w->cpu_top))
			break;
	}
	/* The first cpuset list on the way up: v2 cgroups without the cpuset
	 * controller inherit their parent's. */
	static const char *const names[] = {"cpuset.cpus.effective", "cpuset.effective_cpus",
					    "cpuset.cpus"};
	snprintf(dir, sizeof dir, "%s", w->cpuset_dir);
	while (dir[0] && l->cpus <= 0) {
		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			if (join(path, dir, names[i]) || read_text(path, text, sizeof text) < 0)
				continue;
			int n = cg_cpu_list_count(text);
			if (n > 0) {
				l->cpus = n;
				break;
			}
		}
		if (up(dir, w->cpuset_top))
			break;
	}
}

/* ---- the source ---- */

static struct {
	int found;	     /* the cgroup was found */
	int online;	     /* CPUs online, -1 unknown */
	int allowed;	     /* CPUs the starting thread may run on, -1 unknown */
	int stat_fd;	     /* the limiting cgroup's cpu.stat, -1 when not sampled */
	int have_base;	     /* base holds a sample */
	int no_thread;	     /* the pseudo-thread could not be made */
	struct cg_stat base; /* counters at the last throttle event */
	struct trec *thread; /* "[cgroup]", made at the first event */
	struct cg_where where;
	struct cg_limits lim;
} cg = {.stat_fd = -1};

static int count_allowed(void)
{
	for (int n = 1024; n <= 1 << 16; n *= 2) {
		cpu_set_t *s = CPU_ALLOC(n);
		size_t sz = CPU_ALLOC_SIZE(n);
		if (!s)
			return -1;
		if (sched_getaffinity(0, sz, s) == 0) {
			int c = CPU_COUNT_S(sz, s);
			CPU_FREE(s);
			return c;
		}
		int e = errno;
		CPU_FREE(s);
		if (e != EINVAL)
			return -1;
	}
	return -1;
}

static int count_online(void)
{
	char text[CG_SMALL_FILE];
	if (read_text("/sys/devices/system/cpu/online", text, sizeof text) >= 0) {
		int n = cg_cpu_list_count(text);
		if (n > 0)
			return n;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 && n < (long)CG_CPUS_MAX ? (int)n : -1;
}

static int sample(struct cg_stat *st)
{
	char text[CG_SMALL_FILE];
	ssize_t n = pread(cg.stat_fd, text, sizeof text - 1, 0);
	if (n <= 0)
		return -1;
	text[n] = 0;
	return cg_parse_cpu_stat(text, st);
}

/* CTRACE_CGROUP_ROOT: a directory that stands for the cgroup (tests, or a
 * container whose cgroup files are mounted somewhere unusual). One that does
 * not exist is no cgroup. */
static int use_root(const char *root, struct cg_where *w)
{
	char probe[CG_PATH_MAX];
	struct stat st;
	memset(w, 0, sizeof *w);
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n >= CG_PATH_MAX)
		return -1;
	memcpy(w->path, root, n);
	w->path[n] = 0;
	memcpy(w->cpu_dir, w->path, n + 1);
	memcpy(w->cpu_top, w->path, n + 1);
	memcpy(w->cpuset_dir, w->path, n + 1);
	memcpy(w->cpuset_top, w->path, n + 1);
	w->version = 2;
	if (join(probe, w->path, "cpu.max") == 0 && access(probe, F_OK) != 0 &&
	    join(probe, w->path, "cpu.cfs_quota_us") == 0 && access(probe, F_OK) == 0)
		w->version = 1;
	return 0;
}

void cgroup_start(const struct ct_config *cfg)
{
	cgroup_stop();
	cg.found = cg.have_base = cg.no_thread = 0;
	cg.online = count_online();
	cg.allowed = count_allowed();
	if (!cfg->cgroup)
		return;
	const char *root = getenv("CTRACE_CGROUP_ROOT");
	if (root && *root) {
		cg.found = use_root(root, &cg.where) == 0;
	} else {
		char *pc = read_proc("/proc/self/cgroup");
		char *mi = pc ? read_proc("/proc/self/mountinfo") : NULL;
		cg.found = pc && mi && cg_locate(pc, mi, &cg.where) == 0;
		free(pc);
		free(mi);
	}
	if (!cg.found)
		return;
	cg_read_limits(&cg.where, &cg.lim);
	if (!cg.lim.quota_us)
		return; /* nothing can throttle it */
	char path[CG_PATH_MAX];
	if (join(path, cg.lim.limit_dir, "cpu.stat") == 0)
		cg.stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (cg.stat_fd >= 0)
		cg.have_base = sample(&cg.base) == 0;
}

static void put_num(void (*put)(void *, const char *, const char *), void *ctx, const char *key,
		    uint64_t v)
{
	char num[24];
	snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	put(ctx, key, num);
}

void cgroup_meta(void (*put)(void *ctx, const char *key, const char *value), void *ctx)
{
	if (cg.online > 0)
		put_num(put, ctx, "cpus.online", (uint64_t)cg.online);
	if (cg.allowed > 0)
		put_num(put, ctx, "cpus.allowed", (uint64_t)cg.allowed);
	if (!cg.found)
		return;
	put(ctx, "cgroup.path", cg.where.path);
	put_num(put, ctx, "cgroup.version", (uint64_t)cg.where.version);
	if (cg.lim.quota_us) {
		put_num(put, ctx, "cgroup.cpu.quota_us", cg.lim.quota_us);
		put_num(put, ctx, "cgroup.cpu.period_us", cg.lim.period_us);
		if (cg.lim.limit_up > 0) {
			/* the ancestor, named like cgroup.path */
			char anc[CG_PATH_MAX];
			memcpy(anc, cg.where.path, sizeof anc);
			for (int i = 0; i < cg.lim.limit_up; i++) {
				char *s = strrchr(anc, '/');
				if (!s)
					break;
				*s = 0;
			}
			put(ctx, "cgroup.cpu.limited_by", anc[0] ? anc : "/");
		}
	}
	if (cg.lim.cpus > 0)
		put_num(put, ctx, "cgroup.cpus", (uint64_t)cg.lim.cpus);
}

void cgroup_round(uint64_t now_ns)
{
	struct cg_stat s;
	if (cg.stat_fd < 0 || cg.no_thread || sample(&s))
		return;
	if (!cg.have_base) {
		cg.base = s;
		cg.have_base = 1;
		return;
	}
	if (s.periods < cg.base.periods || s.throttled < cg.base.throttled ||
	    s.throttled_ns < cg.base.throttled_ns) {
		cg.base = s; /* the counters were reset: start over */
		return;
	}
	uint64_t periods = s.periods - cg.base.periods;
	uint64_t throttled = s.throttled - cg.base.throttled;
	uint64_t ns = s.throttled_ns - cg.base.throttled_ns;
	if (!throttled && !ns && periods < CG_QUIET_PERIODS)
		return; /* carried into the next event */
	if (!cg.thread) {
		cg.thread = writer_pseudo_thread("[cgroup]");
		if (!cg.thread) {
			cg.no_thread = 1; /* the thread table is full */
			return;
		}
	}
	uint64_t args[3] = {throttled, writer_dur_to_ticks(ns), periods};
	side_push(cg.thread, writer_ns_to_ticks(now_ns), CT_EV_THROTTLE, args, 0);
	cg.base = s;
}

void cgroup_stop(void)
{
	if (cg.stat_fd >= 0)
		close(cg.stat_fd);
	cg.stat_fd = -1;
	cg.thread = NULL;
}
