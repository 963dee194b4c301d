/* The scheduler and page-fault sources. Each thread gets, when it
 * registers, a perf event of its own: context-switch records (preempted or
 * blocked, and the CPU it comes back on) and a sample per major fault (its
 * address and user stack). Asked to (CTRACE_SCHED=perf-cpu) and allowed to
 * (CAP_PERFMON, or perf_event_paranoid <= 0), a capture opens one such
 * event per CPU instead, for every task: the kernel then has no perf
 * context to switch with each thread, half or less of a per-thread
 * event's cost per switch here (bench_sched), paid by every task on the
 * CPUs; the writer keeps this process's records. Where perf is refused
 * the writer samples the
 * thread's /proc/self/task/TID/schedstat (run-queue delay, run time,
 * timeslices) instead. Minor faults are counts sampled from
 * /proc/self/task/TID/stat either way (a perf event per thread is the fd
 * budget; a sample per minor fault would be far too many), read after each
 * millisecond of the thread's CPU time. The /proc files stay open
 * (proc_get).
 *
 * Registration may happen inside a signal handler: the thread's part uses
 * system calls only. Everything else runs on the writer thread. */
#include "record/src_sched.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "record/clock.h"
#include "record/sources.h"
#include "record/stacks.h"
#include "record/writer.h"

/* Data pages of a thread's perf ring (a power of two). A switch record is
 * 24 bytes and a switch makes two (out, in): 32 KiB hold ~680 switches. The
 * writer drains every round (20 ms by default with perf) and, for a ring
 * that would be half full before its next ordinary round, comes back when
 * it would be (1 ms at the soonest), so a thread may switch some 300k times
 * a second before records are lost, as long as the writer gets a CPU when
 * it asks; and an unprivileged user's locked-memory allowance for perf
 * rings (perf_event_mlock_kb per CPU, then RLIMIT_MEMLOCK) covers a few
 * hundred threads. Threads beyond it fall back. */
#define RING_PAGES 8
/* An active thread is sampled at most this often, any thread at least this
 * often: the cost stays bounded with thousands of threads. */
#define SAMPLE_MIN_NS  10000000ull
#define SAMPLE_IDLE_NS 1000000000ull
/* A schedstat thread's samples: at most this often (a read per thread and
 * sample is most of the flight recorder's writer cost on a busy service;
 * a dump's cut takes one of its own, sample_at_cut). */
#define SAMPLE_SCHED_NS 50000000ull
/* Fault counts are read after this much CPU time of the thread (or a
 * second, see src_sched_collect). */
#define STAT_CPU_NS 10000000ull
/* The writer's round when the configuration does not say (flush_ns 0).
 * Each round costs the writer a wake-up and a look at every thread, events
 * or not: on the demo service (17 threads, 1,000 requests/s, schedstat) the
 * writer took 10.8 ms of CPU a second at 20 ms rounds, 9.1 ms at 50 ms and
 * 7.1 ms at 100 ms, about 90 us a round on this VM. Without perf rings the
 * rounds follow the schedstat cadence (SAMPLE_SCHED_NS): the readings are
 * what the analysis gives to the task current then, and at 100 ms the demo
 * test's fault storm lost its diagnosis (its counts came after its end) in
 * one run of six. Perf rings (32 KiB a thread) keep 20 ms: a burst (faults
 * with callchains) fills one before a prediction from the last round's rate
 * could ask for an early round (test_sched test_faults_perf lost 4,794 of
 * 2,048 faults' records at 100 ms, 160-450 at 20 ms). */
#define FLUSH_DEFAULT_NS SAMPLE_SCHED_NS
#define FLUSH_PERF_NS	 20000000ull
/* The soonest round a filling ring asks for. */
#define SOON_NS 1000000ull

enum { SRC_OFF = 0, SRC_PERF = 1, SRC_SCHEDSTAT = 2 };

/* Data pages of a CPU's ring: 512 KiB, some 13,000 switch records (40
 * bytes each with the task's ids) of every task on the CPU, a round's worth
 * at 650,000 switches a second on it; within perf_event_mlock_kb's default
 * (516 KiB a CPU) for a user with CAP_PERFMON. */
#define CPU_RING_PAGES 128
/* A CPU's records are taken up to this long before the writer looks: a
 * record is written with the switch, but across CPUs the writer reads one
 * ring after another, and a thread that moved from one to another must not
 * see its switch-in before its switch-out. */
#define CPU_HORIZON_NS 50000ull
#define CPU_MAX	       1024

struct cpu_ring {
	int fd;
	void *ring;
	uint64_t est_ns, est_head;  /* when the rate was last taken, data_head then */
	uint64_t perf_id, ino, dev; /* the fd is still ours: cpu_fd_ours */
};

static struct {
	int sched;	 /* what the capture uses: SRC_* */
	int fallback;	 /* a thread that gets no perf event samples schedstat */
	int faults;	 /* fault events wanted */
	int perf_faults; /* the perf event samples major faults */
	int stat_ok;	 /* /proc/.../stat is readable */
	int schedstat_ok;
	uint64_t flush_ns;    /* the writer's ordinary round */
	uint64_t ns_per_tick; /* of /proc/.../stat's CPU times (USER_HZ) */
	int depth;	      /* frames of a fault's stack */
	int cpu_wide;	      /* one event per CPU (cpus), not one per thread */
	int ncpus;
	struct cpu_ring *cpus;
	size_t cpu_map_bytes;
	pid_t pid;
	uint64_t cpu_lost; /* records the CPUs' rings lost (any task's) */
	/* the writer's tid -> record table for the CPUs' records */
	struct tid_slot *tids;
	uint32_t tids_cap, tids_high, tids_next;
	struct perf_event_attr attr;
	size_t page, map_bytes;
	long fd_budget;
	_Atomic long fds;      /* perf fds held by threads */
	_Atomic uint64_t soon; /* the next round wanted within this many ns; 0: none */
} S;

/* ---- /proc, with system calls only (the thread's part may run in a
 * signal handler, and inside an interposed call) ---- */

enum { PF_SCHEDSTAT = 0, PF_STAT = 1 };
static const char *const leaves[2] = {"schedstat", "stat"};

static int proc_open(pid_t tid, const char *leaf)
{
	static const char pre[] = "/proc/self/task/";
	char path[64], digits[16];
	size_t n = 0, k = 0;
	memcpy(path, pre, sizeof pre - 1);
	n = sizeof pre - 1;
	unsigned v = (unsigned)tid;
	do
		digits[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < sizeof digits);
	while (k)
		path[n++] = digits[--k];
	path[n++] = '/';
	size_t ll = strlen(leaf);
	memcpy(path + n, leaf, ll + 1);
	/* Raw system calls: the interposers (libctrace-preload, the wrap set)
	 * must not see these as the program's file I/O. */
	return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
}

/* fstat as a raw system call, like the opens, reads, ioctls and closes of
 * ctrace's own fds: the interposers and a sanitizer's fd bookkeeping do not
 * see those, so they must not see this either (ThreadSanitizer took an
 * fstat of a kept fd, raw-closed since, and the program's later close of the
 * same number for a race). */
static int fd_stat(int fd, struct stat *st)
{
#ifdef SYS_fstat
	return (int)syscall(SYS_fstat, fd, st);
#else
	return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
#endif
}

static int fd_same(int fd, uint64_t ino, uint64_t dev)
{
	struct stat st;
	return fd_stat(fd, &st) == 0 && (uint64_t)st.st_ino == ino && (uint64_t)st.st_dev == dev;
}

/* Whether fd is still the perf event opened as (ino, dev) with that id. */
static int perf_fd_same(int fd, uint64_t ino, uint64_t dev, uint64_t perf_id)
{
	uint64_t id = 0;
	return fd_same(fd, ino, dev) && syscall(SYS_ioctl, fd, PERF_EVENT_IOC_ID, &id) == 0 &&
	       id == perf_id;
}

/* Whether buf reads as the file: a kept fd may have been closed by the
 * program and its number reused for a file of its own. A thread's stat
 * begins with its id and its name in parentheses. */
static int proc_valid(int which, pid_t tid, const char *buf)
{
	if (which == PF_SCHEDSTAT) {
		uint64_t a, b, c;
		return src_sched_parse_schedstat(buf, &a, &b, &c) == 0;
	}
	const char *p = buf;
	unsigned v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (unsigned)(*p++ - '0');
	return p != buf && v == (unsigned)tid && p[0] == ' ' && p[1] == '(';
}

/* Forgets a kept fd, closing it if it is still the file we opened. */
static void proc_drop(struct sched_rec *s, int which)
{
	if (!s->pkept[which])
		return;
	if (fd_same(s->pfd[which], s->pino[which], s->pdev[which]))
		syscall(SYS_close, s->pfd[which]);
	s->pkept[which] = 0;
	atomic_fetch_sub(&S.fds, 1);
}

/* Reads /proc/self/task/TID/<which> into buf: through the fd kept for it
 * when there is one (a pread: no path walk, 3 to 7 times cheaper than
 * open, read and close here), else by opening it. keep 1: the caller owns
 * s's fds (the thread before it is published, the writer after): a new fd
 * is kept while the fd budget allows, a bad one dropped; keep 0: the
 * exiting thread, while the writer owns them: it opens the file afresh and
 * leaves s alone. 0, or -1 when the file is gone (the thread exited). */
static int proc_get(struct sched_rec *s, pid_t tid, int which, char *buf, size_t cap, int keep)
{
	if (keep && s->pkept[which]) {
		ssize_t got = syscall(SYS_pread64, s->pfd[which], buf, cap - 1, (off_t)0);
		if (got > 0) {
			buf[got] = 0;
			if (proc_valid(which, tid, buf))
				return 0;
		}
		proc_drop(s, which);
	}
	int fd = proc_open(tid, leaves[which]);
	if (fd < 0)
		return -1;
	ssize_t got = syscall(SYS_read, fd, buf, cap - 1);
	struct stat st;
	/* Kept fds take at most half of the budget: perf events come first. */
	if (got > 0 && keep && !s->pkept[which]) {
		if (atomic_fetch_add(&S.fds, 1) < S.fd_budget / 2 && fd_stat(fd, &st) == 0) {
			s->pfd[which] = fd;
			s->pkept[which] = 1;
			s->pino[which] = (uint64_t)st.st_ino;
			s->pdev[which] = (uint64_t)st.st_dev;
			fd = -1;
		} else {
			atomic_fetch_sub(&S.fds, 1);
		}
	}
	if (fd >= 0)
		syscall(SYS_close, fd);
	if (got <= 0)
		return -1;
	buf[got] = 0;
	return 0;
}

static const char *parse_u64(const char *p, uint64_t *out)
{
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return NULL;
	uint64_t v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	*out = v;
	return p;
}

int src_sched_parse_schedstat(const char *s, uint64_t *run_ns, uint64_t *delay_ns, uint64_t *slices)
{
	const char *p = s;
	if (!(p = parse_u64(p, run_ns)) || !(p = parse_u64(p, delay_ns)) ||
	    !(p = parse_u64(p, slices)))
		return -1;
	return 0;
}

int src_sched_parse_stat(const char *s, uint64_t *minflt, uint64_t *majflt, uint64_t *stime)
{
	const char *p = strrchr(s, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	/* fields 3 (state) to 9 come first; minflt is 10, majflt 12, stime 15 */
	for (int f = 3; f < 10; f++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	uint64_t cmin, cmaj, utime;
	if (!(p = parse_u64(p, minflt)) || !(p = parse_u64(p, &cmin)) ||
	    !(p = parse_u64(p, majflt)) || !(p = parse_u64(p, &cmaj)) ||
	    !(p = parse_u64(p, &utime)) || !parse_u64(p, stime))
		return -1;
	return 0;
}

enum { RD_SCHED = 1, RD_STAT = 2 };

/* Reads what is asked (RD_*) of what s samples into *v; 0, or -1 when a
 * file is gone (the thread exited) or malformed. keep: see proc_get. */
static int take_reading(struct sched_rec *s, pid_t tid, struct sched_reading *v, unsigned what,
			int keep)
{
	char buf[1024];
	memset(v, 0, sizeof *v);
	if ((what & RD_SCHED) &&
	    (proc_get(s, tid, PF_SCHEDSTAT, buf, sizeof buf, keep) != 0 ||
	     src_sched_parse_schedstat(buf, &v->run_ns, &v->delay_ns, &v->slices)))
		return -1;
	uint64_t stime = 0;
	if ((what & RD_STAT) && (proc_get(s, tid, PF_STAT, buf, sizeof buf, keep) != 0 ||
				 src_sched_parse_stat(buf, &v->minflt, &v->majflt, &stime)))
		return -1;
	v->kernel_ns = stime * S.ns_per_tick;
	v->sched = (what & RD_SCHED) != 0;
	v->stat = (what & RD_STAT) != 0;
	return 0;
}

/* Everything s samples, with schedstat for a perf thread's loss check when
 * pcount. */
static unsigned reading_all(const struct sched_rec *s, int pcount)
{
	return (s->schedstat || (pcount && s->pcheck) ? RD_SCHED : 0) | (s->stat ? RD_STAT : 0);
}

/* ---- perf ---- */

static int perf_open(struct perf_event_attr *a)
{
	return (int)syscall(SYS_perf_event_open, a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* The attribute of try k: 0 faults with their stack, 1 faults without,
 * 2 switches only. */
static void perf_attr(int k, int depth, struct perf_event_attr *a)
{
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	a->type = PERF_TYPE_SOFTWARE;
	a->context_switch = 1;
	/* required for an unprivileged user at perf_event_paranoid 2 */
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->sample_id_all = 1;
	/* no TID: the event is the thread's own (a switch record is 24 bytes) */
	a->sample_type = PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
	if (k == 2) {
		a->config = PERF_COUNT_SW_DUMMY;
		return;
	}
	a->config = PERF_COUNT_SW_PAGE_FAULTS_MAJ;
	a->sample_period = 1;
	a->sample_type |= PERF_SAMPLE_IP | PERF_SAMPLE_ADDR;
	if (k == 0) {
		a->sample_type |= PERF_SAMPLE_CALLCHAIN;
		a->exclude_callchain_kernel = 1;
		a->sample_max_stack = (uint16_t)depth;
	}
}

/* Finds what this kernel lets us open and map, on the calling thread. */
static int perf_probe(void)
{
	for (int k = !S.faults ? 2 : S.depth ? 0 : 1; k <= 2; k++) {
		struct perf_event_attr a;
		perf_attr(k, S.depth, &a);
		int fd = perf_open(&a);
		if (fd < 0)
			continue;
		void *m = mmap(NULL, S.map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		syscall(SYS_close, fd);
		if (m == MAP_FAILED)
			return 0; /* no locked memory for rings: perf is no use */
		munmap(m, S.map_bytes);
		S.attr = a;
		S.perf_faults = a.config == PERF_COUNT_SW_PAGE_FAULTS_MAJ;
		return 1;
	}
	return 0;
}

/* ---- one event per CPU ---- */

struct tid_slot {
	pid_t tid; /* 0: free */
	uint32_t idx;
};

/* Whether a CPU's fd is still the event opened (a daemon may have closed
 * it and got the number back for a file of its own; the ring lives on in
 * its mapping either way). */
static int cpu_fd_ours(const struct cpu_ring *cr)
{
	return cr->fd >= 0 && perf_fd_same(cr->fd, cr->ino, cr->dev, cr->perf_id);
}

/* Unmaps a CPU's ring and gives its fd back (one not mapped yet was just
 * opened: ours). */
static void cpu_ring_drop(struct cpu_ring *cr)
{
	if (cr->fd >= 0) {
		if (!cr->ring || cpu_fd_ours(cr))
			syscall(SYS_close, cr->fd);
		atomic_fetch_sub(&S.fds, 1);
	}
	if (cr->ring)
		munmap(cr->ring, S.cpu_map_bytes);
	cr->ring = NULL;
	cr->fd = -1;
}

static void cpu_close_all(void)
{
	for (int c = 0; c < S.ncpus; c++)
		cpu_ring_drop(&S.cpus[c]);
	free(S.cpus);
	free(S.tids);
	S.cpus = NULL;
	S.tids = NULL;
	S.ncpus = 0;
	S.cpu_wide = 0;
	S.tids_cap = S.tids_high = S.tids_next = 0;
}

/* Opens an event for every task on each CPU and maps its ring, trying the
 * attributes perf_probe would; 1 when every online CPU has one. Refused
 * without CAP_PERFMON (or CAP_SYS_ADMIN) unless perf_event_paranoid <= 0. */
static int cpu_open_all(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	/* at most half of ctrace's fd budget (a quarter of the limit): the
	 * program's fds come first, and threads fall back to schedstat when
	 * per-thread events run out, which CPU-wide ones would not */
	if (n < 1 || n > CPU_MAX || n > S.fd_budget / 2 ||
	    !(S.cpus = calloc((size_t)n, sizeof *S.cpus)))
		return 0;
	for (long c = 0; c < n; c++)
		S.cpus[c].fd = -1;
	S.ncpus = (int)n;
	S.cpu_map_bytes = (1 + CPU_RING_PAGES) * S.page;
	S.pid = getpid();
	for (int k = !S.faults ? 2 : S.depth ? 0 : 1; k <= 2; k++) {
		struct perf_event_attr a;
		perf_attr(k, S.depth, &a);
		a.sample_type |= PERF_SAMPLE_TID; /* whose record it is */
		int opened = 0, err = 0;
		for (int c = 0; c < S.ncpus && !err; c++) {
			S.cpus[c].fd = -1;
			int fd = (int)syscall(SYS_perf_event_open, &a, -1, c, -1,
					      PERF_FLAG_FD_CLOEXEC);
			if (fd < 0) {
				if (errno != ENODEV) /* ENODEV: the CPU is offline */
					err = errno ? errno : EINVAL;
				continue;
			}
			atomic_fetch_add(&S.fds, 1);
			struct cpu_ring *cr = &S.cpus[c];
			cr->fd = fd;
			struct stat st;
			if (fd_stat(fd, &st) != 0 ||
			    syscall(SYS_ioctl, fd, PERF_EVENT_IOC_ID, &cr->perf_id) != 0) {
				err = EINVAL;
				continue;
			}
			cr->ino = (uint64_t)st.st_ino;
			cr->dev = (uint64_t)st.st_dev;
			void *m = mmap(NULL, S.cpu_map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
				       fd, 0);
			if (m == MAP_FAILED) {
				err = ENOMEM;
				continue;
			}
			cr->ring = m;
			opened++;
		}
		if (!err && opened) {
			S.attr = a;
			S.perf_faults = a.config == PERF_COUNT_SW_PAGE_FAULTS_MAJ;
			S.cpu_wide = 1;
			return 1;
		}
		for (int c = 0; c < S.ncpus; c++)
			cpu_ring_drop(&S.cpus[c]);
		if (opened == 0 && err == 0)
			break; /* every CPU offline: cannot be */
		if (err == EACCES || err == EPERM || err == ENOMEM)
			break; /* not allowed (or no memory): another attribute will not be */
	}
	cpu_close_all();
	return 0;
}

/* Whether s->fd is still the event we opened: a program may close every fd
 * it does not know (daemons do) and get the number back for a file of its
 * own. All anonymous-inode fds share one inode, so the event id decides. */
static int fd_is_ours(const struct sched_rec *s)
{
	return perf_fd_same(s->fd, s->ino, s->dev, s->perf_id);
}

/* Opens the calling thread's event and maps its ring; 0 or -1. */
static int perf_thread_open(struct sched_rec *s)
{
	if (atomic_fetch_add(&S.fds, 1) >= S.fd_budget)
		goto out;
	int fd = perf_open(&S.attr);
	if (fd < 0)
		goto out;
	void *m = mmap(NULL, S.map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct stat st;
	uint64_t id = 0;
	if (m == MAP_FAILED || fd_stat(fd, &st) != 0 ||
	    syscall(SYS_ioctl, fd, PERF_EVENT_IOC_ID, &id) != 0) {
		if (m != MAP_FAILED)
			munmap(m, S.map_bytes);
		syscall(SYS_close, fd);
		goto out;
	}
	s->fd = fd;
	s->ring = m;
	s->perf_id = id;
	s->ino = (uint64_t)st.st_ino;
	s->dev = (uint64_t)st.st_dev;
	return 0;
out:
	atomic_fetch_sub(&S.fds, 1);
	return -1;
}

static void perf_release(struct sched_rec *s)
{
	proc_drop(s, PF_SCHEDSTAT);
	proc_drop(s, PF_STAT);
	if (!s->ring) /* also a record that never had a source (pseudo) */
		return;
	int ours = fd_is_ours(s);
	munmap(s->ring, S.map_bytes);
	if (ours)
		syscall(SYS_close, s->fd);
	s->ring = NULL;
	s->fd = -1;
	atomic_fetch_sub(&S.fds, 1);
}

/* The fork child has no capture and the rings are not mapped in it
 * (perf maps are not copied), but it got the fds: give them back. */
static void child_after_fork(void)
{
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++) {
		struct sched_rec *s = &g_recs[i].sched;
		for (int k = 0; k < 2; k++) {
			if (s->pkept[k] && fd_same(s->pfd[k], s->pino[k], s->pdev[k]))
				syscall(SYS_close, s->pfd[k]);
			s->pkept[k] = 0;
		}
		if (!s->ring)
			continue;
		if (fd_is_ours(s))
			syscall(SYS_close, s->fd);
		s->fd = -1;
		s->ring = NULL;
	}
	for (int c = 0; c < S.ncpus; c++) {
		if (cpu_fd_ours(&S.cpus[c]))
			syscall(SYS_close, S.cpus[c].fd);
		S.cpus[c].fd = -1;
		S.cpus[c].ring = NULL; /* perf maps are not copied */
	}
	atomic_store(&S.fds, 0);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, child_after_fork);
}

/* ---- hooks ---- */

void src_sched_start(const struct ct_config *cfg)
{
	pthread_once(&atfork_once, register_atfork);
	S.page = (size_t)sysconf(_SC_PAGESIZE);
	S.map_bytes = (1 + RING_PAGES) * S.page;
	S.faults = cfg->faults;
	S.depth = cfg->stack_depth < STACK_MAX_DEPTH ? (int)cfg->stack_depth : STACK_MAX_DEPTH;
	S.perf_faults = 0;
	struct rlimit rl;
	/* a quarter of the fd limit at most: the program's fds come first */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = 1024;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20))
		rl.rlim_cur = 1u << 20;
	S.fd_budget = (long)(rl.rlim_cur / 4);

	long hz = sysconf(_SC_CLK_TCK);
	S.ns_per_tick = hz > 0 && hz <= 1000000000 ? 1000000000u / (uint64_t)hz : 10000000u;
	struct sched_rec probe = {.fd = -1};
	struct sched_reading v;
	pid_t me = (pid_t)syscall(SYS_gettid);
	int schedstat_ok = take_reading(&probe, me, &v, RD_SCHED, 0) == 0;
	S.stat_ok = take_reading(&probe, me, &v, RD_STAT, 0) == 0;
	S.schedstat_ok = schedstat_ok;

	S.sched = SRC_OFF;
	/* A flight recorder alone (always on, no sink) samples schedstat
	 * unless told otherwise: a thread with a perf event pays the kernel
	 * 1.2-1.9 us per context switch in a VM, taken or not (docs/DECISIONS.md,
	 * "The flight recorder samples schedstat"); a capture gets the exact
	 * switches. */
	int flight_only = writer_has_flight() && !writer_has_sink();
	S.cpu_wide = 0;
	if (cfg->sched == CT_SCHED_AUTO && flight_only && schedstat_ok)
		S.sched = SRC_SCHEDSTAT;
	else if (cfg->sched == CT_SCHED_PERF_CPU && cpu_open_all())
		S.sched = SRC_PERF; /* asked for only: other tasks pay for it */
	else if ((cfg->sched == CT_SCHED_AUTO || cfg->sched == CT_SCHED_PERF ||
		  cfg->sched == CT_SCHED_PERF_CPU) &&
		 perf_probe())
		S.sched = SRC_PERF;
	if (S.sched == SRC_OFF && schedstat_ok &&
	    (cfg->sched == CT_SCHED_AUTO || cfg->sched == CT_SCHED_SCHEDSTAT))
		S.sched = SRC_SCHEDSTAT;
	S.fallback = cfg->sched == CT_SCHED_AUTO && schedstat_ok;
	if (S.sched != SRC_PERF)
		S.perf_faults = 0;
	S.flush_ns = cfg->flush_ns	   ? cfg->flush_ns
		     : S.sched == SRC_PERF ? FLUSH_PERF_NS
					   : FLUSH_DEFAULT_NS;
	atomic_store(&S.soon, 0);
}

uint64_t src_sched_flush_ns(void)
{
	return S.flush_ns;
}

void src_sched_meta(void (*put)(void *ctx, const char *key, const char *value), void *ctx)
{
	static const char *const names[] = {"off", "perf", "schedstat"};
	put(ctx, "sched.source", names[S.sched]);
	if (S.sched == SRC_PERF) /* an event per thread, or per CPU */
		put(ctx, "sched.scope", S.cpu_wide ? "cpu" : "thread");
	/* perf: major faults from perf (address and stack), minor fault counts
	 * sampled from /proc; proc: both sampled */
	put(ctx, "faults.source",
	    !S.faults	    ? "off"
	    : S.perf_faults ? "perf"
	    : S.stat_ok	    ? "proc"
			    : "off");
}

void src_sched_thread_start(struct trec *r)
{
	struct sched_rec *s = &r->sched;
	int saved = errno;
	s->fd = -1;
	s->pkept[PF_SCHEDSTAT] = s->pkept[PF_STAT] = 0;
	s->ring = NULL;
	s->on = 0;
	s->in_ns = s->ran_ns = s->out_ns = s->cpu_at_stat = s->cut_at = 0;
	s->schedstat = s->stat = s->final_done = s->pcheck = s->exit_done = s->perf = 0;
	s->ins = s->outs = s->lost_recs = s->cpu_recs = 0;
	s->last_rec = r->base_ticks;
	s->seen_user = r->base_ticks;
	atomic_store_explicit(&s->exit_ready, 0, memory_order_relaxed);
	if (r->pseudo || (S.sched == SRC_OFF && !S.faults))
		goto out;
	s->on = 1;
	if (S.sched == SRC_PERF) {
		if (S.cpu_wide || perf_thread_open(s) == 0)
			s->perf = 1;
		else if (S.fallback)
			s->schedstat = 1;
	} else if (S.sched == SRC_SCHEDSTAT) {
		s->schedstat = 1;
	}
	s->stat = S.faults && S.stat_ok;
	s->pcheck = s->perf && S.schedstat_ok;
	/* The CPUs' records are this thread's from before its baseline
	 * reading: a switch between the two is in both the records and the
	 * count, rather than in the count only (which would be a loss). */
	s->reg_ns = mono_ns();
	/* the baseline: the first sample covers the time from here */
	struct sched_reading v;
	if (take_reading(s, r->tid, &v, reading_all(s, 1), 1) != 0) {
		s->schedstat = s->stat = s->pcheck = 0;
	} else {
		s->slices0 = v.slices;
		s->run_ns = v.run_ns;
		s->delay_ns = v.delay_ns;
		s->slices = v.slices;
		s->minflt = v.minflt;
		s->majflt = v.majflt;
		s->kernel_ns = v.kernel_ns;
	}
	s->last_ns = mono_ns();
	s->last_drain = s->stat_ns = s->last_ns;
	s->in_ns = s->last_ns; /* on CPU: registering */
	s->cpu_at_stat = s->perf ? 0 : s->run_ns;
out:
	errno = saved;
}

void src_sched_thread_exit(struct trec *r)
{
	/* In the exiting thread, before its thread.end: /proc/self/task/TID
	 * goes away with it, so the last reading is taken here. */
	struct sched_rec *s = &r->sched;
	if (!s->on || !(s->schedstat || s->stat || s->pcheck) ||
	    ct_tls.epoch != atomic_load_explicit(&g_epoch, memory_order_relaxed))
		return;
	int saved = errno;
	struct sched_reading v;
	if (take_reading(s, r->tid, &v, reading_all(s, 1), 0) == 0) {
		s->exit_ticks = clock_ticks();
		s->exit_ns = mono_ns();
		s->exit = v;
		atomic_store_explicit(&s->exit_ready, 1, memory_order_release);
	}
	errno = saved;
}

static void fault_push(struct trec *r, uint64_t ts, unsigned kind, uint64_t count)
{
	uint64_t a[3] = {kind, count, 0};
	side_push(r, ts, CT_EV_FAULT, a, 0);
}

/* Pushes what changed since the previous sample, at ts (fault counts at
 * fts), and makes v the new baseline. */
static void sample_push(struct trec *r, uint64_t ts, uint64_t fts, const struct sched_reading *v)
{
	struct sched_rec *s = &r->sched;
	if (s->schedstat && v->sched && v->run_ns >= s->run_ns && v->delay_ns >= s->delay_ns &&
	    v->slices >= s->slices &&
	    (v->run_ns != s->run_ns || v->delay_ns != s->delay_ns || v->slices != s->slices)) {
		uint64_t a[3] = {writer_dur_to_ticks(v->delay_ns - s->delay_ns),
				 writer_dur_to_ticks(v->run_ns - s->run_ns), v->slices - s->slices};
		side_push(r, ts, CT_EV_SCHED_SAMPLE, a, 0);
	}
	if (s->stat && v->stat) {
		if (v->minflt > s->minflt) {
			/* the kernel time of the count's interval first: the
			 * analysis takes the count's interval as ending there */
			if (v->kernel_ns > s->kernel_ns) {
				uint64_t k = writer_dur_to_ticks(v->kernel_ns - s->kernel_ns);
				side_push(r, fts, CT_EV_KERNEL_TIME, &k, 0);
			}
			fault_push(r, fts, CT_FAULT_MINOR, v->minflt - s->minflt);
		}
		/* with a perf event, major faults come one by one from it */
		if (!(s->perf && S.perf_faults) && v->majflt > s->majflt)
			fault_push(r, fts, CT_FAULT_MAJOR, v->majflt - s->majflt);
	}
	if (v->sched) {
		s->run_ns = v->run_ns;
		s->delay_ns = v->delay_ns;
		s->slices = v->slices;
	}
	if (v->stat) {
		s->minflt = v->minflt;
		s->majflt = v->majflt;
		s->kernel_ns = v->kernel_ns;
	}
}

/* A perf thread's CPU time (ns) up to now, from its switch records. */
static uint64_t perf_cpu(const struct sched_rec *s, uint64_t now)
{
	return s->ran_ns + (s->in_ns && now > s->in_ns ? now - s->in_ns : 0);
}

/* When fault counts read now are stamped: faults take CPU, so a perf
 * thread off CPU had its last ones before its last switch-out (the writer
 * moves it up to the thread's last event written, merge_side). */
static uint64_t fault_ticks(const struct sched_rec *s, uint64_t now)
{
	int off = s->perf && !s->in_ns && s->out_ns && s->out_ns < now;
	return writer_ns_to_ticks(off ? s->out_ns : now);
}

/* Whether s's fault counts are due at CPU time cpu (ns) and now. */
static int stat_due(const struct sched_rec *s, uint64_t cpu, uint64_t now)
{
	uint64_t ran = cpu > s->cpu_at_stat ? cpu - s->cpu_at_stat : 0;
	return ran >= STAT_CPU_NS || (ran > 0 && now - s->stat_ns >= SAMPLE_IDLE_NS);
}

/* a + (b - a) * f, for counters that only grow (b >= a). */
static uint64_t part(uint64_t a, uint64_t b, double f)
{
	return b > a ? a + (uint64_t)((double)(b - a) * f) : a;
}

/* A dump or flush is cut at cut (ticks): the thread's run-queue time and
 * faults up to then belong in it. The writer may come long after the cut
 * (its rounds wait for a CPU too, most of all when threads queue for one,
 * which is when the run-queue time matters), so a reading taken now is
 * split at the cut in proportion to time: the part before goes in at the
 * cut, the rest comes with the next sample. */
static void sample_at_cut(struct trec *r, uint64_t cut, uint64_t now)
{
	struct sched_rec *s = &r->sched;
	uint64_t nt = writer_ns_to_ticks(now), lt = writer_ns_to_ticks(s->last_ns);
	if (cut <= lt) /* sampled since the cut */
		return;
	struct sched_reading v;
	if (take_reading(s, r->tid, &v, reading_all(s, 0), 1) != 0)
		return;
	if (nt > cut) {
		double f = (double)(cut - lt) / (double)(nt - lt);
		if (v.sched) {
			v.run_ns = part(s->run_ns, v.run_ns, f);
			v.delay_ns = part(s->delay_ns, v.delay_ns, f);
			v.slices = part(s->slices, v.slices, f);
		}
		if (v.stat) {
			v.minflt = part(s->minflt, v.minflt, f);
			v.majflt = part(s->majflt, v.majflt, f);
			v.kernel_ns = part(s->kernel_ns, v.kernel_ns, f);
		}
		nt = cut;
	}
	if (v.stat) {
		s->stat_ns = now;
		s->cpu_at_stat = v.sched ? v.run_ns : perf_cpu(s, now);
	}
	sample_push(r, nt, nt, &v);
	s->last_ns = now;
}

/* Copies len bytes at ring offset off (which may wrap) into out. */
static void ring_copy(const uint8_t *data, uint64_t mask, uint64_t off, void *out, size_t len)
{
	size_t at = (size_t)(off & mask), first = (size_t)mask + 1 - at;
	if (first >= len) {
		memcpy(out, data + at, len);
	} else {
		memcpy(out, data + at, first);
		memcpy((uint8_t *)out + first, data, len - first);
	}
}

/* Copies the record at *tail (before head) of a ring into rec, its header
 * into *h; 0 at the end, or at a size that cannot be (the ring is then
 * skipped to head). The caller moves *tail past it. */
static int ring_next(const uint8_t *data, uint64_t mask, uint64_t *tail, uint64_t head,
		     struct perf_event_header *h, uint8_t *rec)
{
	if (head - *tail < sizeof *h)
		return 0;
	ring_copy(data, mask, *tail, h, sizeof *h);
	if (h->size < sizeof *h || h->size > head - *tail) {
		*tail = head; /* cannot happen; resynchronize */
		return 0;
	}
	ring_copy(data, mask, *tail, rec, h->size);
	return 1;
}

/* The sample_id every record ends with (sample_id_all, TIME|CPU). */
struct sample_id {
	uint64_t time;
	uint32_t cpu, res;
};

static void fault_sample(struct trec *r, const uint8_t *p, size_t n)
{
	/* ip, time, addr, cpu/res, then nr and ips with CALLCHAIN */
	struct {
		uint64_t ip;
		uint64_t time, addr;
		uint32_t cpu, res;
	} h;
	if (n < sizeof h)
		return;
	memcpy(&h, p, sizeof h);
	uint64_t pcs[STACK_MAX_DEPTH];
	int depth = 0;
	if ((S.attr.sample_type & PERF_SAMPLE_CALLCHAIN) && n >= sizeof h + 8) {
		uint64_t nr;
		memcpy(&nr, p + sizeof h, 8);
		if (nr > (n - sizeof h - 8) / 8)
			nr = (n - sizeof h - 8) / 8;
		for (uint64_t i = 0; i < nr && depth < S.depth; i++) {
			uint64_t pc;
			memcpy(&pc, p + sizeof h + 8 + i * 8, 8);
			/* context markers and kernel addresses are not frames */
			if (pc >= (uint64_t)PERF_CONTEXT_MAX || (int64_t)pc < 0 || pc < 4096)
				continue;
			pcs[depth++] = pc;
		}
	} else if (h.ip >= 4096 && (int64_t)h.ip >= 0 && S.depth > 0) {
		pcs[depth++] = h.ip;
	}
	uint32_t stack = 0;
	if (depth > 0) {
		/* Stacks hold return addresses, symbolized at pc - 1; the first
		 * frame is the faulting instruction itself. */
		pcs[0]++;
		stack = stack_id(pcs, depth, stack_hash(pcs, depth));
	}
	uint64_t a[3] = {CT_FAULT_MAJOR, 1, h.addr};
	uint64_t ts = writer_ns_to_ticks(h.time);
	side_push(r, ts, CT_EV_FAULT, a, stack);
	r->sched.last_rec = ts;
}

static void perf_record(struct trec *r, const struct perf_event_header *h, const uint8_t *p)
{
	struct sched_rec *s = &r->sched;
	size_t n = h->size - sizeof *h;
	const uint8_t *body = p + sizeof *h;
	struct sample_id id;
	if (h->type == PERF_RECORD_SAMPLE) {
		fault_sample(r, body, n);
		return;
	}
	if (n < sizeof id)
		return;
	memcpy(&id, body + n - sizeof id, sizeof id);
	uint64_t ts = writer_ns_to_ticks(id.time);
	if (h->type == PERF_RECORD_SWITCH) {
		int out = (h->misc & PERF_RECORD_MISC_SWITCH_OUT) != 0;
		if (S.cpu_wide && !out == !!s->in_ns) {
			/* Two outs or two ins in a row: a CPU's ring lost the one
			 * between, and its LOST record cannot say whose it was.
			 * Said here, where the thread's records break off (the
			 * exact count comes with perf_check_lost). */
			uint64_t a[3] = {1, ts > s->last_rec ? ts - s->last_rec : 0,
					 CT_LOSS_BUFFER_FULL};
			if (side_try_push(r, s->last_rec, CT_EV_LOSS, a, 0) == 0)
				s->lost_recs++; /* else perf_check_lost counts it */
		}
		uint64_t a = out ? h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT
					     ? CT_SCHED_PREEMPTED
					     : CT_SCHED_BLOCKED
				 : id.cpu;
		if (side_try_push(r, ts, out ? CT_EV_SCHED_OUT : CT_EV_SCHED_IN, &a, 0) != 0) {
			/* No room. With the CPUs' rings: as if the ring had lost
			 * it, so that the next record says so where it lies and
			 * perf_check_lost counts it. With a thread's own ring the
			 * sequence cannot break there: the generation's loss table
			 * says it. */
			if (S.cpu_wide)
				return;
			r->w_side_lost++;
		}
		if (out) {
			s->outs++;
			if (s->in_ns && id.time > s->in_ns)
				s->ran_ns += id.time - s->in_ns;
			s->in_ns = 0;
			s->out_ns = id.time;
		} else {
			s->ins++;
			s->in_ns = id.time;
		}
		s->last_rec = ts;
	} else if (h->type == PERF_RECORD_LOST && n >= 16 + sizeof id) {
		/* the ring was full: records were lost between the last one read
		 * and this one */
		uint64_t lost;
		memcpy(&lost, body + 8, 8);
		uint64_t a[3] = {lost, ts > s->last_rec ? ts - s->last_rec : 0,
				 CT_LOSS_BUFFER_FULL};
		side_push(r, s->last_rec, CT_EV_LOSS, a, 0);
		s->last_rec = ts;
		s->lost_recs += lost;
		/* switches went missing: take it as on CPU since (more readings
		 * rather than fewer) */
		if (!s->in_ns)
			s->in_ns = id.time;
	}
}

/* Switch records lost with nothing to say so: the kernel writes its LOST
 * record only with the next record that fits, which never comes when the
 * ring stays full until the thread ends (the writer could not run; under a
 * heavy load it may wait hundreds of ms for a CPU); and a CPU's ring does
 * not say whose records it lost. The kernel's count of the thread's
 * switch-ins (schedstat's timeslices) since it registered tells: on CPU
 * then and at the reading, it was switched out as many times as in, so
 * each switch-in or -out not read went missing. */
static void perf_check_lost(struct trec *r, uint64_t slices, uint64_t ts)
{
	struct sched_rec *s = &r->sched;
	if (slices < s->slices0)
		return;
	uint64_t kernel = slices - s->slices0;
	uint64_t miss =
		(kernel > s->ins ? kernel - s->ins : 0) + (kernel > s->outs ? kernel - s->outs : 0);
	if (miss <= s->lost_recs)
		return;
	uint64_t at = s->last_rec < ts ? s->last_rec : ts;
	uint64_t a[3] = {miss - s->lost_recs, ts - at, CT_LOSS_BUFFER_FULL};
	if (side_try_push(r, at, CT_EV_LOSS, a, 0) != 0)
		r->w_side_lost += a[0]; /* in the loss table then, all of them */
	s->lost_recs = miss;
}

/* Asks for the writer's next round within ns (the soonest asked wins). */
static void soon_within(uint64_t ns)
{
	uint64_t cur = atomic_load_explicit(&S.soon, memory_order_relaxed);
	while ((!cur || ns < cur) &&
	       !atomic_compare_exchange_weak_explicit(&S.soon, &cur, ns, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* Moves the records of r's ring into its side queue; returns how many. */
static uint64_t perf_drain(struct trec *r, uint64_t now)
{
	struct sched_rec *s = &r->sched;
	struct perf_event_mmap_page *pc = s->ring;
	const uint8_t *data = (const uint8_t *)s->ring + S.page;
	uint64_t size = S.map_bytes - S.page, mask = size - 1;
	uint64_t head = __atomic_load_n(&pc->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = pc->data_tail, n = 0;
	/* At this rate, when is the ring half full? If before the writer's
	 * next ordinary round, it should come back by then (not sooner than
	 * SOON_NS): the other half is the margin for a writer late for a CPU. */
	uint64_t since = now - s->last_drain;
	s->last_drain = now;
	if (since && head != tail) {
		uint64_t half = (size / 2) * since / (head - tail);
		if (half < S.flush_ns)
			soon_within(half < SOON_NS ? SOON_NS : half);
	}
	static uint8_t rec[65536]; /* a record's size is 16 bits */
	struct perf_event_header h;
	while (ring_next(data, mask, &tail, head, &h, rec)) {
		perf_record(r, &h, rec);
		tail += h.size;
		n++;
	}
	__atomic_store_n(&pc->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}

/* The record of this capture's thread tid, or NULL (another process's
 * thread, one not registered, or one the writer is done with). The table
 * is rebuilt when a thread registered since the last build. */
static void tids_rebuild(uint32_t epoch, uint32_t high, uint32_t next)
{
	uint32_t cap = 64;
	while (cap < 2 * high)
		cap *= 2;
	struct tid_slot *t = calloc(cap, sizeof *t);
	if (!t)
		return;
	for (uint32_t i = 0; i < high; i++) {
		struct trec *r = &g_recs[i];
		if (atomic_load_explicit(&r->epoch, memory_order_acquire) != epoch || r->pseudo ||
		    !r->sched.perf || r->w_done || r->tid <= 0)
			continue;
		uint32_t h = ((uint32_t)r->tid * 2654435761u) & (cap - 1);
		while (t[h].tid && t[h].tid != r->tid)
			h = (h + 1) & (cap - 1);
		t[h].tid = r->tid;
		t[h].idx = i;
	}
	free(S.tids);
	S.tids = t;
	S.tids_cap = cap;
	S.tids_high = high;
	S.tids_next = next;
}

static struct trec *rec_of_tid(pid_t tid, uint32_t epoch)
{
	for (int pass = 0; pass < 2; pass++) {
		if (S.tids_cap) {
			uint32_t h = ((uint32_t)tid * 2654435761u) & (S.tids_cap - 1);
			for (; S.tids[h].tid; h = (h + 1) & (S.tids_cap - 1)) {
				if (S.tids[h].tid != tid)
					continue;
				/* the epoch first: a record reused by a thread that
				 * registers now has 0 there until it is published */
				struct trec *r = &g_recs[S.tids[h].idx];
				if (atomic_load_explicit(&r->epoch, memory_order_acquire) ==
					    epoch &&
				    r->tid == tid && !r->pseudo && r->sched.perf && !r->w_done)
					return r;
				break;
			}
		}
		uint32_t high = atomic_load(&g_recs_high), next = atomic_load(&g_next_index);
		if (pass || (high == S.tids_high && next == S.tids_next))
			return NULL;
		tids_rebuild(epoch, high, next);
	}
	return NULL;
}

/* A CPU ring's record kept for the merge: its time, its thread, where its
 * bytes are. */
struct cpu_rec {
	uint64_t time;
	uint32_t cpu, off;
	pid_t tid;
};

static struct {
	uint8_t *b;
	size_t len, cap;
	struct cpu_rec *r;
	size_t n, capr;
} G;

static int cpu_rec_cmp(const void *a, const void *b)
{
	const struct cpu_rec *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Keeps rec (size bytes, this process's) for the merge; 0, or -1 out of
 * memory (the record is then dropped and counted lost). */
static int gather_keep(const uint8_t *rec, size_t size, uint64_t time, int cpu, pid_t tid)
{
	if (G.len + size > G.cap) {
		size_t cap = G.cap ? G.cap : 65536;
		while (cap < G.len + size)
			cap *= 2;
		uint8_t *b = realloc(G.b, cap);
		if (!b)
			return -1;
		G.b = b;
		G.cap = cap;
	}
	if (G.n == G.capr) {
		size_t cap = G.capr ? G.capr * 2 : 1024;
		struct cpu_rec *r = realloc(G.r, cap * sizeof *r);
		if (!r)
			return -1;
		G.r = r;
		G.capr = cap;
	}
	memcpy(G.b + G.len, rec, size);
	G.r[G.n++] = (struct cpu_rec){time, (uint32_t)cpu, (uint32_t)G.len, tid};
	G.len += size;
	return 0;
}

/* Takes every CPU ring's records up to horizon (CLOCK_MONOTONIC ns), keeps
 * this process's, and hands them to their threads in time order. Each ring
 * is in time order; a thread's records may be on several. */
static void cpu_gather(uint64_t now, uint64_t horizon, uint32_t epoch)
{
	static uint8_t rec[65536]; /* a record's size is 16 bits */
	G.len = G.n = 0;
	uint64_t size = S.cpu_map_bytes - S.page, mask = size - 1;
	for (int c = 0; c < S.ncpus; c++) {
		struct cpu_ring *cr = &S.cpus[c];
		if (!cr->ring)
			continue;
		struct perf_event_mmap_page *pc = cr->ring;
		const uint8_t *data = (const uint8_t *)cr->ring + S.page;
		uint64_t head = __atomic_load_n(&pc->data_head, __ATOMIC_ACQUIRE);
		uint64_t tail = pc->data_tail;
		/* As perf_drain: back when it would be half full at this rate.
		 * Every thread's collect looks at the CPUs, a few microseconds
		 * apart: the rate is taken over a millisecond at least, from
		 * what the kernel wrote (data_head only grows). */
		uint64_t since = now - cr->est_ns;
		if (since >= SOON_NS) {
			if (cr->est_ns && head != cr->est_head) {
				uint64_t half = (size / 2) * since / (head - cr->est_head);
				if (half < S.flush_ns)
					soon_within(half < SOON_NS ? SOON_NS : half);
			}
			cr->est_ns = now;
			cr->est_head = head;
		}
		if (head == tail)
			continue;
		struct perf_event_header h;
		while (ring_next(data, mask, &tail, head, &h, rec)) {
			const uint8_t *body = rec + sizeof h;
			size_t n = h.size - sizeof h;
			uint32_t ids[2] = {0, 0}; /* pid, tid */
			uint64_t time = 0;
			if (h.type == PERF_RECORD_SAMPLE) {
				/* ip, pid/tid, time, ... */
				if (n < 24)
					goto next;
				memcpy(ids, body + 8, 8);
				memcpy(&time, body + 16, 8);
			} else {
				/* sample_id: pid/tid, time, cpu/res */
				if (n < 24)
					goto next;
				memcpy(ids, body + n - 24, 8);
				memcpy(&time, body + n - 16, 8);
			}
			if (time > horizon)
				break; /* for the next round, after its elder records elsewhere */
			if (h.type == PERF_RECORD_LOST && n >= 16) {
				uint64_t lost;
				memcpy(&lost, body + 8, 8);
				S.cpu_lost += lost;
			} else if (ids[0] == (uint32_t)S.pid &&
				   gather_keep(rec, h.size, time, c, (pid_t)ids[1]) != 0) {
				S.cpu_lost++;
			}
		next:
			tail += h.size;
		}
		__atomic_store_n(&pc->data_tail, tail, __ATOMIC_RELEASE);
	}
	if (!G.n)
		return;
	qsort(G.r, G.n, sizeof *G.r, cpu_rec_cmp);
	for (size_t i = 0; i < G.n; i++) {
		uint8_t *p = G.b + G.r[i].off;
		struct perf_event_header h;
		memcpy(&h, p, sizeof h);
		struct trec *r = rec_of_tid(G.r[i].tid, epoch);
		if (!r || G.r[i].time < r->sched.reg_ns)
			continue; /* before its baseline: not in its counts */
		if (h.type == PERF_RECORD_SAMPLE) {
			/* as a thread's own event writes it: without pid/tid */
			memmove(p + sizeof h + 8, p + sizeof h + 16, h.size - sizeof h - 16);
			h.size -= 8;
		} else if (h.type == PERF_RECORD_SWITCH_CPU_WIDE) {
			h.type = PERF_RECORD_SWITCH; /* the rest reads the same */
		}
		memcpy(p, &h, sizeof h);
		perf_record(r, &h, p);
		r->sched.cpu_recs++;
	}
}

void src_sched_collect(struct trec *r, int exited)
{
	struct sched_rec *s = &r->sched;
	if (r->pseudo || !s->on)
		return;
	uint64_t now = mono_ns();
	uint64_t read_at = now; /* the capture's last reading is stamped here */
	struct sched_reading v;
	int ending =
		!exited && atomic_load_explicit(&g_epoch, memory_order_relaxed) == EPOCH_INACTIVE;
	int have = 0;
	if (ending && !s->final_done && (s->schedstat || s->stat || s->pcheck)) {
		/* The capture is stopping: one last reading, before the ring is
		 * read, so that its records cover every switch it counts. */
		s->final_done = 1;
		have = take_reading(s, r->tid, &v, reading_all(s, 1), 1) == 0;
	}
	uint64_t records = 0;
	if (S.cpu_wide) {
		/* The capture's last reading above, or the thread's exit
		 * reading, counts every switch up to when it was taken: the
		 * loss check wants them all, so the horizon must pass it. The
		 * writer waits for that (CPU_HORIZON_NS at most, at a thread's
		 * end and the capture's) rather than take younger records,
		 * whose order across CPUs may not be settled. */
		uint64_t want = have ? mono_ns() : 0;
		if (!s->exit_done && atomic_load_explicit(&s->exit_ready, memory_order_acquire) &&
		    s->exit_ns > want)
			want = s->exit_ns;
		now = mono_ns();
		if (want && now < want + CPU_HORIZON_NS) {
			uint64_t d = want + CPU_HORIZON_NS - now;
			struct timespec ts = {0, (long)d};
			nanosleep(&ts, NULL);
			now = mono_ns();
		}
		cpu_gather(now, now - CPU_HORIZON_NS,
			   atomic_load_explicit(&r->epoch, memory_order_acquire));
		records = s->cpu_recs;
		s->cpu_recs = 0;
	} else if (s->ring) {
		records = perf_drain(r, now);
	}
	if (!s->exit_done && atomic_load_explicit(&s->exit_ready, memory_order_acquire)) {
		/* The exit reading, published before thread.end: pushed as soon
		 * as it is seen, so that it goes before thread.end (drain_thread
		 * collects before it drains what it saw committed). */
		s->exit_done = 1;
		v = s->exit;
		v.sched = s->schedstat || s->pcheck;
		v.stat = s->stat;
		if (s->perf && s->pcheck)
			perf_check_lost(r, v.slices, s->exit_ticks);
		sample_push(r, s->exit_ticks, s->exit_ticks, &v);
	}
	if (exited) {
		perf_release(s);
		return;
	}
	if (ending) {
		if (have) {
			uint64_t ts = writer_ns_to_ticks(read_at);
			if (s->perf && s->pcheck)
				perf_check_lost(r, v.slices, ts);
			sample_push(r, ts, fault_ticks(s, read_at), &v);
		}
		return;
	}
	if (!s->schedstat && !s->stat)
		return;
	uint64_t cut = writer_cut_ticks();
	if (cut && s->cut_at != cut) {
		s->cut_at = cut;
		sample_at_cut(r, cut, now);
	}
	int active = r->w_user_last != s->seen_user || records || (s->perf && s->in_ns);
	uint64_t since = now - s->last_ns;
	if (since < (s->schedstat ? SAMPLE_SCHED_NS : SAMPLE_MIN_NS) ||
	    (!active && since < SAMPLE_IDLE_NS))
		return;
	/* A thread blocked in an interposed call accrues neither CPU nor
	 * run-queue time, and the writer holds its source events back until the
	 * call is written (rec.h call_begin): no idle sample for it, or an hours
	 * long accept() would pile them up. Its next sample covers the call. */
	if (!active && atomic_load_explicit(&r->call_t0, memory_order_relaxed))
		return;
	/* Fault counts (stat, the costlier file) are read once the thread has
	 * run STAT_CPU_NS since the last reading, or has run at all and a
	 * second went by: a fault takes CPU, so a count comes at most that much
	 * CPU time late, and the readings follow what the threads run rather
	 * than how many there are. The CPU time: the switch records' with a
	 * perf event, schedstat's without; with neither, every sample. */
	unsigned what = s->schedstat ? RD_SCHED : 0;
	uint64_t cpu = 0;
	int cpu_known = s->perf && !s->schedstat;
	if (cpu_known)
		cpu = perf_cpu(s, now);
	if (s->stat && !s->schedstat && (!cpu_known || stat_due(s, cpu, now)))
		what |= RD_STAT;
	if (!what)
		return;
	if (take_reading(s, r->tid, &v, what, 1) != 0)
		return;
	if (s->stat && s->schedstat && v.sched) {
		cpu = v.run_ns;
		if (stat_due(s, cpu, now)) {
			struct sched_reading f;
			if (take_reading(s, r->tid, &f, RD_STAT, 1) == 0) {
				v.minflt = f.minflt;
				v.majflt = f.majflt;
				v.kernel_ns = f.kernel_ns;
				v.stat = 1;
			}
		}
	}
	if (v.stat) {
		s->cpu_at_stat = cpu;
		s->stat_ns = now;
	}
	sample_push(r, writer_ns_to_ticks(now), fault_ticks(s, now), &v);
	s->last_ns = now;
	s->seen_user = r->w_user_last;
}

void src_sched_thread_end(struct trec *r)
{
	perf_release(&r->sched);
}

void src_sched_stop(void)
{
	atomic_store(&S.soon, 0);
	cpu_close_all();
}

uint64_t src_sched_take_lost(void)
{
	uint64_t n = S.cpu_lost;
	S.cpu_lost = 0;
	return n;
}

uint64_t src_sched_wait_ns(void)
{
	return atomic_exchange_explicit(&S.soon, 0, memory_order_relaxed);
}
