/* The scheduler and page-fault sources end to end: threads with a known
 * scheduling (more spinners than CPUs, a thread blocked on a pipe) and known
 * faults are traced with libctrace, and the trace read back must show it,
 * from perf (when the kernel allows it here) and from the schedstat
 * fallback. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_reader.h"

static char tmpdir[] = "/tmp/ctrace-sched-XXXXXX";

/* ---- the trace, per thread ---- */

struct tev {
	uint8_t type;
	uint64_t ts;
	uint64_t a[3];
	char func[64]; /* innermost frame of its stack, "" without */
};

struct tthread {
	uint32_t tid;
	struct tev *ev;
	size_t n, cap;
	uint64_t section_lost; /* the loss sections' count for it */
};

struct trace {
	struct tthread th[512];
	char sched_source[32], faults_source[32], sched_scope[16];
	uint64_t lost;	    /* loss events and loss sections */
	uint64_t ring_lost; /* loss sections of no thread: a CPU ring's records */
	uint64_t by_type[CT_EV_TYPE_COUNT];
	int complete;
};

static void trace_free(struct trace *t)
{
	for (int i = 0; i < 512; i++)
		free(t->th[i].ev);
	free(t);
}

static struct trace *read_trace(const char *path)
{
	struct trace *t = calloc(1, sizeof *t);
	assert_non_null(t);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_trace_info *info = ct_reader_info(r);
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2) {
		if (!strcmp(info->meta[i], "sched.source"))
			snprintf(t->sched_source, sizeof t->sched_source, "%s", info->meta[i + 1]);
		if (!strcmp(info->meta[i], "sched.scope"))
			snprintf(t->sched_scope, sizeof t->sched_scope, "%s", info->meta[i + 1]);
		if (!strcmp(info->meta[i], "faults.source"))
			snprintf(t->faults_source, sizeof t->faults_source, "%s",
				 info->meta[i + 1]);
	}
	/* thread by thread: the order each thread's stream has in the file */
	ct_reader_set_order(r, CT_ORDER_THREAD);
	const struct ct_generation *g;
	int rc;
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		for (uint32_t i = 0; i < g->nloss; i++) {
			t->lost += g->loss[i].count;
			const struct ct_thread_info *ti = g->loss[i].thread;
			if (!ti)
				t->ring_lost += g->loss[i].count;
			if (ti && ti->index < 512) {
				t->th[ti->index].section_lost += g->loss[i].count;
				t->th[ti->index].tid = ti->tid;
			}
		}
		struct ct_event ev;
		while ((rc = ct_reader_next_in_generation(r, &ev)) == 1) {
			t->by_type[ev.type]++;
			if (ev.type == CT_EV_LOSS)
				t->lost += ev.args[0];
			assert_true(ev.thread->index < 512);
			struct tthread *th = &t->th[ev.thread->index];
			th->tid = ev.thread->tid;
			if (th->n == th->cap) {
				th->cap = th->cap ? th->cap * 2 : 256;
				th->ev = realloc(th->ev, th->cap * sizeof *th->ev);
				assert_non_null(th->ev);
			}
			struct tev *e = &th->ev[th->n++];
			memset(e, 0, sizeof *e);
			e->type = ev.type;
			e->ts = ev.ts;
			for (uint32_t k = 0; k < ev.nargs && k < 3; k++)
				e->a[k] = ev.args[k];
			if (ev.stack && ev.stack->nframes)
				snprintf(e->func, sizeof e->func, "%s",
					 ev.stack->frames[0].function);
		}
		if (rc)
			break;
	}
	if (rc)
		fail_msg("%s: %s", path, ct_reader_error(r));
	t->complete = ct_reader_complete(r);
	ct_reader_close(r);
	return t;
}

static struct tthread *thread_of(struct trace *t, uint32_t tid)
{
	for (int i = 0; i < 512; i++)
		if (t->th[i].n && t->th[i].tid == tid)
			return &t->th[i];
	fail_msg("thread %u not in the trace", tid);
	return NULL;
}

/* ---- helpers ---- */

static uint32_t gettid_(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A field of /proc/self/task/TID/status, e.g. "nonvoluntary_ctxt_switches". */
static uint64_t status_field(uint32_t tid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/self/task/%u/status", tid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	uint64_t v = UINT64_MAX;
	size_t kl = strlen(key);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtoull(line + kl + 1, NULL, 10);
	fclose(f);
	assert_true(v != UINT64_MAX);
	return v;
}

/* Field n (1-based) of /proc/self/task/TID/stat, counted after the comm. */
static const char *stat_field(uint32_t tid, int n, char *buf, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%u/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t got = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[got] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return NULL;
	p += 2;
	for (int i = 3; i < n && p; i++)
		if ((p = strchr(p, ' ')))
			p++;
	return p;
}

static uint64_t majflt_of(uint32_t tid)
{
	char buf[1024];
	const char *p = stat_field(tid, 12, buf, sizeof buf);
	assert_non_null(p);
	return strtoull(p, NULL, 10);
}

/* Context-switch records, as the perf sources ask for them. */
static void switch_attr(struct perf_event_attr *a)
{
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_DUMMY;
	a->context_switch = 1;
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->sample_id_all = 1;
	a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
}

/* Whether perf_event_open gives this process context-switch records, as
 * the perf source asks for them; why not in why. */
static int perf_allowed(char *why, size_t cap)
{
	struct perf_event_attr a;
	switch_attr(&a);
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(why, cap, "perf_event_open: %s", strerror(errno));
		return 0;
	}
	size_t len = 9 * (size_t)sysconf(_SC_PAGESIZE);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(why, cap, "mmap of a perf ring: %s", strerror(errno));
		return 0;
	}
	munmap(m, len);
	return 1;
}

/* Whether this process may open a perf event for every task of a CPU (as
 * the perf-cpu source does: CAP_PERFMON, or perf_event_paranoid <= 0). */
static int perf_cpu_allowed(char *why, size_t cap)
{
	struct perf_event_attr a;
	switch_attr(&a);
	int fd = (int)syscall(SYS_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(why, cap, "a CPU-wide perf event: %s", strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

/* Skips the calling test, saying what goes untested, where allowed (one
 * of the two above) says no. */
#define SKIP_UNLESS(allowed, what)                                                                 \
	do {                                                                                       \
		char why_[256];                                                                    \
		if (!allowed(why_, sizeof why_)) {                                                 \
			fprintf(stderr, "[  SKIPPED ] %s not tested: %s\n", what, why_);           \
			skip();                                                                    \
		}                                                                                  \
	} while (0)
#define SKIP_WITHOUT_PERF(what)	    SKIP_UNLESS(perf_allowed, what)
#define SKIP_WITHOUT_PERF_CPU(what) SKIP_UNLESS(perf_cpu_allowed, what)

static void start(const char *path, int sched)
{
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	c.sched = sched;
	assert_int_equal(ct_start(&c), 0);
}

/* ---- more spinning threads than CPUs, and one blocked on a pipe ---- */

#define SPINNERS 4
#define SPIN_NS	 500000000ull

struct spinner {
	pthread_t th;
	uint32_t tid;
	uint64_t nonvol; /* nonvoluntary switches while it spun */
};

static pthread_barrier_t spin_barrier;
static cpu_set_t one_cpu;

/* one_cpu: the first CPU this process may run on, for threads to share. */
static void pick_one_cpu(void)
{
	CPU_ZERO(&one_cpu);
	cpu_set_t mine;
	assert_int_equal(sched_getaffinity(0, sizeof mine, &mine), 0);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &mine)) {
			CPU_SET(c, &one_cpu);
			break;
		}
}

/* Burns CPU for ns of wall time. */
static void spin_for(uint64_t ns)
{
	uint64_t end = now_ns() + ns, x = 0;
	while (now_ns() < end)
		for (int i = 0; i < 1000; i++) {
			x += (uint64_t)i;
			__asm__ volatile("" : "+r"(x)); /* keeps the loop */
		}
}

static void *spin_main(void *arg)
{
	struct spinner *s = arg;
	s->tid = gettid_();
	/* all on one CPU: each runs about a quarter of the time */
	assert_int_equal(sched_setaffinity(0, sizeof one_cpu, &one_cpu), 0);
	pthread_barrier_wait(&spin_barrier);
	ct_region_begin("spin"); /* registers: the thread's source starts */
	uint64_t n0 = status_field(s->tid, "nonvoluntary_ctxt_switches");
	spin_for(SPIN_NS);
	s->nonvol = status_field(s->tid, "nonvoluntary_ctxt_switches") - n0;
	ct_region_end();
	return NULL;
}

struct blocked {
	pthread_t th;
	_Atomic uint32_t tid;
	int fds[2];
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	ct_region_begin("blocked");
	atomic_store(&b->tid, gettid_());
	char c;
	ct_wait_begin(CT_WAIT_PIPE, (uint64_t)b->fds[0], CT_CALL_READ);
	ssize_t n = read(b->fds[0], &c, 1);
	ct_wait_end(n);
	ct_region_end();
	return NULL;
}

/* Waits until thread tid sleeps in the kernel (state S in its stat). */
static void wait_asleep(uint32_t tid)
{
	char buf[1024];
	for (;;) {
		const char *p = stat_field(tid, 3, buf, sizeof buf);
		assert_non_null(p);
		if (*p == 'S')
			return;
		sched_yield();
	}
}

static void run_spinners(const char *path, int sched, struct spinner *sp, uint32_t *blocked_tid)
{
	pick_one_cpu();
	start(path, sched);
	struct blocked b = {0};
	assert_int_equal(pipe(b.fds), 0);
	assert_int_equal(pthread_create(&b.th, NULL, blocked_main, &b), 0);
	pthread_barrier_init(&spin_barrier, NULL, SPINNERS);
	for (int i = 0; i < SPINNERS; i++)
		assert_int_equal(pthread_create(&sp[i].th, NULL, spin_main, &sp[i]), 0);
	while (!atomic_load(&b.tid))
		sched_yield();
	wait_asleep(atomic_load(&b.tid));
	assert_int_equal(write(b.fds[1], "x", 1), 1);
	pthread_join(b.th, NULL);
	for (int i = 0; i < SPINNERS; i++)
		pthread_join(sp[i].th, NULL);
	pthread_barrier_destroy(&spin_barrier);
	close(b.fds[0]);
	close(b.fds[1]);
	*blocked_tid = atomic_load(&b.tid);
	assert_int_equal(ct_stop(), 0);
}

/* First and last timestamps of an event type in a thread, 0 when absent. */
static uint64_t first_ts(const struct tthread *th, uint8_t type)
{
	for (size_t i = 0; i < th->n; i++)
		if (th->ev[i].type == type)
			return th->ev[i].ts;
	return 0;
}

/* Another process spinning on the CPU the spinners share: with CPU-wide
 * events its switches are in the same rings, and must not be taken for
 * theirs. Returns its pid; stop_foreigner ends it (and it ends by itself
 * with the test process, or after 60 s, should a failed assertion skip
 * that). */
static pid_t start_foreigner(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		sched_setaffinity(0, sizeof one_cpu, &one_cpu);
		uint64_t end = now_ns() + 60000000000ull;
		while (now_ns() < end)
			spin_for(1000000);
		_exit(0);
	}
	return pid;
}

static void stop_foreigner(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void check_perf_spinners(int sched)
{
	char path[256];
	snprintf(path, sizeof path, "%s/perf-%d.ctrace", tmpdir, sched);
	struct spinner sp[SPINNERS];
	memset(sp, 0, sizeof sp);
	uint32_t btid;
	pick_one_cpu();
	pid_t foreign = sched == CT_SCHED_PERF_CPU ? start_foreigner() : 0;
	run_spinners(path, sched, sp, &btid);
	if (foreign)
		stop_foreigner(foreign);
	struct trace *t = read_trace(path);
	assert_true(t->complete);
	assert_string_equal(t->sched_source, "perf");
	assert_string_equal(t->sched_scope, sched == CT_SCHED_PERF_CPU ? "cpu" : "thread");
	assert_int_equal(t->by_type[CT_EV_SCHED_SAMPLE], 0);
	/* perf-cpu's rings carry every task of their CPU: on a loaded machine
	 * (CI runs tests two at a time) one can fill before the writer gets a
	 * CPU, and the kernel counts what it dropped. That loss is said (with
	 * no thread, and in each thread's own count at its end), and the
	 * counts below then hold up to it; otherwise nothing is lost at all. */
	uint64_t said = 0;
	if (sched == CT_SCHED_PERF_CPU && t->ring_lost) {
		said = t->lost;
		fprintf(stderr,
			"perf-cpu: a CPU ring filled (%llu records), %llu lost in all, said\n",
			(unsigned long long)t->ring_lost, (unsigned long long)said);
	} else {
		assert_int_equal(t->lost, 0);
	}

	for (int i = 0; i < SPINNERS; i++) {
		struct tthread *th = thread_of(t, sp[i].tid);
		uint64_t begin = first_ts(th, CT_EV_REGION_BEGIN);
		uint64_t end = first_ts(th, CT_EV_REGION_END);
		assert_true(begin && end > begin);
		uint64_t preempted = 0, runnable = 0, out_at = 0;
		int in_region = 0;
		for (size_t k = 0; k < th->n; k++) {
			struct tev *e = &th->ev[k];
			if (e->type == CT_EV_REGION_BEGIN)
				in_region = 1;
			else if (e->type == CT_EV_REGION_END)
				in_region = 0;
			if (!in_region)
				continue;
			if (e->type == CT_EV_SCHED_OUT && e->a[0] == CT_SCHED_PREEMPTED) {
				preempted++;
				out_at = e->ts;
			} else if (e->type == CT_EV_SCHED_IN && out_at) {
				runnable += e->ts - out_at;
				out_at = 0;
			}
		}
		fprintf(stderr,
			"spinner %d: %llu preempted switch-outs (kernel: %llu nonvoluntary), "
			"runnable %.0f%% of %.0f ms\n",
			i, (unsigned long long)preempted, (unsigned long long)sp[i].nonvol,
			100.0 * (double)runnable / (double)(end - begin),
			(double)(end - begin) / 1e6);
		/* four threads (and with perf-cpu the foreigner) on one CPU:
		 * each waits for it most of the time */
		assert_true(sp[i].nonvol >= 3);
		assert_true(said || runnable * 10 >= (end - begin) * 4);
		/* the preempted switch-outs are the kernel's nonvoluntary switches
		 * (and any between the region's edges and the /proc reads: a few,
		 * more in a slow sanitized build on a loaded machine), less at
		 * most what was said lost */
		assert_true(preempted + said >= sp[i].nonvol &&
			    preempted <= sp[i].nonvol + 2 + sp[i].nonvol / 4);
	}

	/* the blocked thread: wait.begin, then a blocked switch-out, then the
	 * switch-in, then wait.end */
	struct tthread *th = thread_of(t, btid);
	int phase = 0;
	for (size_t k = 0; k < th->n && phase < 4; k++) {
		struct tev *e = &th->ev[k];
		if (phase == 0 && e->type == CT_EV_WAIT_BEGIN)
			phase = 1;
		else if (phase == 1 && e->type == CT_EV_SCHED_OUT && e->a[0] == CT_SCHED_BLOCKED)
			phase = 2;
		else if (phase == 2 && e->type == CT_EV_SCHED_IN)
			phase = 3;
		else if (phase >= 1 && e->type == CT_EV_WAIT_END)
			phase = phase == 3 ? 4 : -1;
	}
	if (!said)
		assert_int_equal(phase, 4);
	trace_free(t);
}

static void test_perf_spinners_and_blocked(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF("perf source");
	check_perf_spinners(CT_SCHED_PERF);
}

static void test_perf_cpu_spinners_and_blocked(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF_CPU("perf-cpu source");
	check_perf_spinners(CT_SCHED_PERF_CPU);
}

/* CTRACE_SCHED names the CPU-wide source; a capture with a sink takes an
 * event per thread by default (CPU-wide events charge other tasks), and
 * events per CPU when asked where allowed. */
static void test_sched_choice(void **state)
{
	(void)state;
	struct ct_config c;
	setenv("CTRACE_SCHED", "perf-cpu", 1);
	ct_config_init(&c);
	assert_int_equal(ct_config_from_env(&c), 0);
	assert_int_equal(c.sched, CT_SCHED_PERF_CPU);
	setenv("CTRACE_SCHED", "cpu", 1);
	ct_config_init(&c);
	assert_int_equal(ct_config_from_env(&c), CT_ECONFIG);
	assert_non_null(strstr(ct_last_error(), "perf-cpu"));
	unsetenv("CTRACE_SCHED");
	ct_config_init(&c);
	c.sched = CT_SCHED_PERF_CPU + 1;
	c.path = "/dev/null";
	assert_int_equal(ct_start(&c), CT_ECONFIG);

	char why[256], path[256];
	snprintf(path, sizeof path, "%s/choice.ctrace", tmpdir);
	start(path, CT_SCHED_AUTO);
	ct_region_begin("choice"); /* a thread, so that the trace has one */
	ct_region_end();
	assert_int_equal(ct_stop(), 0);
	struct trace *t = read_trace(path);
	if (perf_allowed(why, sizeof why)) {
		assert_string_equal(t->sched_source, "perf");
		assert_string_equal(t->sched_scope, "thread");
	} else {
		assert_string_equal(t->sched_source, "schedstat");
		assert_string_equal(t->sched_scope, "");
	}
	trace_free(t);

	/* asked for: per CPU where allowed, else as perf */
	start(path, CT_SCHED_PERF_CPU);
	ct_region_begin("choice");
	ct_region_end();
	assert_int_equal(ct_stop(), 0);
	t = read_trace(path);
	if (perf_cpu_allowed(why, sizeof why)) {
		assert_string_equal(t->sched_source, "perf");
		assert_string_equal(t->sched_scope, "cpu");
	} else if (perf_allowed(why, sizeof why)) {
		assert_string_equal(t->sched_scope, "thread");
	}
	trace_free(t);
}

static void test_schedstat_spinners(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/schedstat.ctrace", tmpdir);
	struct spinner sp[SPINNERS];
	memset(sp, 0, sizeof sp);
	uint32_t btid;
	run_spinners(path, CT_SCHED_SCHEDSTAT, sp, &btid);
	struct trace *t = read_trace(path);
	assert_true(t->complete);
	assert_string_equal(t->sched_source, "schedstat");
	assert_int_equal(t->by_type[CT_EV_SCHED_OUT], 0);
	assert_int_equal(t->by_type[CT_EV_SCHED_IN], 0);
	for (int i = 0; i < SPINNERS; i++) {
		struct tthread *th = thread_of(t, sp[i].tid);
		/* the samples cover the thread's life: its first event to its
		 * end (the last sample is taken as it exits) */
		uint64_t first = th->ev[0].ts, last = th->ev[th->n - 1].ts;
		uint64_t runnable = 0, running = 0, slices = 0, samples = 0;
		for (size_t k = 0; k < th->n; k++)
			if (th->ev[k].type == CT_EV_SCHED_SAMPLE) {
				runnable += th->ev[k].a[0];
				running += th->ev[k].a[1];
				slices += th->ev[k].a[2];
				samples++;
			}
		assert_int_equal(th->ev[th->n - 1].type, CT_EV_THREAD_END);
		fprintf(stderr,
			"spinner %d: %llu samples, runnable %.0f%%, running %.0f%% of %.0f ms, "
			"%llu timeslices\n",
			i, (unsigned long long)samples,
			100.0 * (double)runnable / (double)(last - first),
			100.0 * (double)running / (double)(last - first),
			(double)(last - first) / 1e6, (unsigned long long)slices);
		assert_true(samples >= 1);
		assert_true(runnable * 10 >= (last - first) * 4);
		/* what it waited and what it ran cannot exceed its life (the
		 * exit's reading is a few microseconds after thread.end) */
		assert_true(runnable + running <= (last - first) + (last - first) / 20);
		assert_true(slices >= sp[i].nonvol);
	}
	trace_free(t);
}

/* ---- page faults ---- */

#define FAULT_FILE_BYTES (8u << 20)

struct faulter {
	const char *file;
	uint32_t tid;
	uint64_t majflt; /* the kernel's count while touching */
	uintptr_t lo, hi;
	size_t anon_pages;
};

__attribute__((noinline)) static uint64_t touch_pages(const volatile uint8_t *p, size_t len,
						      size_t step)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < len; i += step)
		sum += p[i];
	return sum;
}

static void *faulter_main(void *arg)
{
	struct faulter *f = arg;
	f->tid = gettid_();
	ct_region_begin("faults");
	int fd = open(f->file, O_RDONLY);
	assert_true(fd >= 0);
	uint8_t *m = mmap(NULL, FAULT_FILE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	madvise(m, FAULT_FILE_BYTES, MADV_RANDOM); /* a fault per page, no read-ahead */
	f->lo = (uintptr_t)m;
	f->hi = (uintptr_t)m + FAULT_FILE_BYTES;
	uint64_t before = majflt_of(f->tid);
	touch_pages(m, FAULT_FILE_BYTES, 4096);
	f->majflt = majflt_of(f->tid) - before;
	munmap(m, FAULT_FILE_BYTES);
	close(fd);
	/* fresh anonymous memory: a minor fault per page */
	size_t len = 4u << 20, page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(a != MAP_FAILED);
	madvise(a, len, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < len; i += page)
		a[i] = 1;
	f->anon_pages = len / page;
	munmap(a, len);
	ct_region_end();
	return NULL;
}

/* A file of FAULT_FILE_BYTES on disk, written and evicted from the page
 * cache so that touching it needs I/O. */
static void make_cold_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	static uint8_t block[1 << 16];
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = (uint8_t)i;
	for (size_t off = 0; off < FAULT_FILE_BYTES; off += sizeof block)
		assert_int_equal(write(fd, block, sizeof block), (ssize_t)sizeof block);
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

static void check_faults(int sched)
{
	char path[256], file[256];
	snprintf(path, sizeof path, "%s/faults-%d.ctrace", tmpdir, sched);
	/* on disk, not in a tmpfs: its pages must be evictable */
	snprintf(file, sizeof file, "/var/tmp/ctrace-faults-%d.bin", (int)getpid());
	make_cold_file(file);
	start(path, sched);
	struct faulter f = {.file = file};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, faulter_main, &f), 0);
	pthread_join(th, NULL);
	assert_int_equal(ct_stop(), 0);
	unlink(file);

	struct trace *t = read_trace(path);
	if (sched == CT_SCHED_PERF_CPU)
		assert_string_equal(t->sched_scope, "cpu");
	struct tthread *tt = thread_of(t, f.tid);
	uint64_t minor = 0, major = 0, with_addr = 0, in_touch = 0;
	for (size_t k = 0; k < tt->n; k++) {
		struct tev *e = &tt->ev[k];
		if (e->type != CT_EV_FAULT)
			continue;
		if (e->a[0] == CT_FAULT_MINOR) {
			minor += e->a[1];
			assert_int_equal(e->a[2], 0);
		} else {
			assert_int_equal(e->a[0], CT_FAULT_MAJOR);
			major += e->a[1];
			if (e->a[2]) {
				assert_int_equal(e->a[1], 1);
				assert_true(e->a[2] >= f.lo && e->a[2] < f.hi);
				with_addr++;
				in_touch += !strcmp(e->func, "touch_pages");
			}
		}
	}
	fprintf(stderr,
		"sched %d (faults.source %s): %llu minor, %llu major (%llu with an address, %llu "
		"in touch_pages; the kernel counted %llu), %llu lost\n",
		sched, t->faults_source, (unsigned long long)minor, (unsigned long long)major,
		(unsigned long long)with_addr, (unsigned long long)in_touch,
		(unsigned long long)f.majflt, (unsigned long long)t->lost);
	/* every fresh anonymous page took a minor fault */
	assert_true(minor >= f.anon_pages);
	if (f.majflt == 0) {
		fprintf(stderr, "[  SKIPPED ] major faults: the kernel counted none (the file "
				"stayed cached)\n");
		trace_free(t);
		return;
	}
	if (!strcmp(t->faults_source, "perf")) {
		/* one by one, at the touched addresses, in touch_pages */
		assert_true(with_addr >= 1 && with_addr <= f.majflt);
		assert_int_equal(major, with_addr);
		assert_true(in_touch >= 1);
		/* each fault is there or counted as lost */
		assert_true(major + t->lost >= f.majflt);
	} else {
		assert_string_equal(t->faults_source, "proc");
		assert_int_equal(with_addr, 0);
		assert_true(major >= f.majflt);
	}
	trace_free(t);
}

static void test_faults_perf(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF("perf faults");
	check_faults(CT_SCHED_PERF);
}

static void test_faults_perf_cpu(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF_CPU("perf-cpu faults");
	check_faults(CT_SCHED_PERF_CPU);
}

static void test_faults_proc(void **state)
{
	(void)state;
	check_faults(CT_SCHED_SCHEDSTAT);
}

/* ---- a stress of many threads switching: the merged streams stay valid ---- */

#define PAIRS  16
#define ROUNDS 3000

struct pinger {
	int in, out;
	int first;
	uint32_t tid;
	uint64_t switches; /* the kernel's count while it ping-ponged */
};

static uint64_t switches_of(uint32_t tid)
{
	return status_field(tid, "voluntary_ctxt_switches") +
	       status_field(tid, "nonvoluntary_ctxt_switches");
}

static void *ping_main(void *arg)
{
	struct pinger *p = arg;
	char c = 'x';
	p->tid = gettid_();
	ct_region_begin("ping");
	uint64_t s0 = switches_of(p->tid);
	for (int i = 0; i < ROUNDS; i++) {
		if (p->first || i > 0)
			assert_int_equal(write(p->out, &c, 1), 1);
		ct_wait_begin(CT_WAIT_PIPE, (uint64_t)p->in, CT_CALL_READ);
		ssize_t n = read(p->in, &c, 1);
		ct_wait_end(n);
		assert_int_equal(n, 1);
	}
	if (!p->first)
		assert_int_equal(write(p->out, &c, 1), 1);
	p->switches = switches_of(p->tid) - s0;
	ct_region_end();
	return NULL;
}

static void check_stress(int sched)
{
	char path[256];
	snprintf(path, sizeof path, "%s/stress-%d.ctrace", tmpdir, sched);
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	c.sched = sched;
	c.generation_max_bytes = 64 << 10; /* many generations, batches cut anywhere */
	c.stack_events = 0; /* symbolizing each small generation would slow the writer */
	assert_int_equal(ct_start(&c), 0);
	pthread_t th[2 * PAIRS];
	struct pinger pg[2 * PAIRS];
	int fds[2 * PAIRS][2];
	for (int i = 0; i < 2 * PAIRS; i++)
		assert_int_equal(pipe(fds[i]), 0);
	for (int i = 0; i < PAIRS; i++) {
		pg[2 * i] = (struct pinger){fds[2 * i][0], fds[2 * i + 1][1], 1, 0, 0};
		pg[2 * i + 1] = (struct pinger){fds[2 * i + 1][0], fds[2 * i][1], 0, 0, 0};
	}
	for (int i = 0; i < 2 * PAIRS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, ping_main, &pg[i]), 0);
	for (int i = 0; i < 2 * PAIRS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(ct_stop(), 0);
	for (int i = 0; i < 2 * PAIRS; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	/* The reader validated every thread's time order. A switch-out is
	 * followed by a switch-in before the next one (but across a loss), and
	 * the switch-outs while a thread ping-ponged are the kernel's count of
	 * its switches, but for records lost when the writer fell behind. */
	struct trace *t = read_trace(path);
	assert_true(t->complete);
	uint64_t outs = 0, samples = 0, kernel = 0, lost = 0;
	for (int i = 0; i < 2 * PAIRS; i++) {
		struct tthread *tt = thread_of(t, pg[i].tid);
		int out = 0, in_region = 0, after_loss = 0;
		uint64_t n = 0, nlost = 0;
		for (size_t k = 0; k < tt->n; k++) {
			struct tev *e = &tt->ev[k];
			if (e->type == CT_EV_REGION_BEGIN)
				in_region = 1;
			else if (e->type == CT_EV_REGION_END)
				in_region = 0;
			if (e->type == CT_EV_LOSS) {
				after_loss = 1;
				nlost += e->a[0];
			} else if (e->type == CT_EV_SCHED_OUT) {
				assert_true(!out || after_loss);
				out = 1;
				after_loss = 0;
				n += in_region;
			} else if (e->type == CT_EV_SCHED_IN) {
				assert_true(out || after_loss);
				out = 0;
				after_loss = 0;
			} else if (e->type == CT_EV_SCHED_SAMPLE) {
				samples++;
			}
		}
		/* records the writer had no room for are said in the loss
		 * sections (a CPU-wide ring's come to the writer faster than a
		 * thread's own ring would take them) */
		nlost += tt->section_lost;
		if (!strcmp(t->sched_source, "perf")) {
			/* The region opens before the first /proc reads and closes
			 * after the last: a switch during those four reads counts
			 * in the trace, not in the kernel's difference (seen: +3
			 * under ASan on a loaded machine). */
			if (n > pg[i].switches + 8 || n + nlost + 2 < pg[i].switches)
				fprintf(stderr,
					"thread %u: %llu switch-outs, %llu records lost, the "
					"kernel "
					"counted %llu switches\n",
					pg[i].tid, (unsigned long long)n, (unsigned long long)nlost,
					(unsigned long long)pg[i].switches);
			assert_true(n <= pg[i].switches + 8);
			/* a lost switch-out is at least one lost record (its
			 * switch-in may be lost with it, or kept) */
			assert_true(n + nlost + 2 >= pg[i].switches);
		}
		outs += n;
		lost += nlost;
		kernel += pg[i].switches;
	}
	fprintf(stderr,
		"stress, %s: %llu switch-outs, %llu records lost; the kernel counted %llu "
		"switches; %llu samples\n",
		t->sched_source, (unsigned long long)outs, (unsigned long long)lost,
		(unsigned long long)kernel, (unsigned long long)samples);
	if (strcmp(t->sched_source, "perf") != 0)
		assert_true(samples >= 2 * PAIRS);
	trace_free(t);
}

static void test_stress_perf(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF("perf stress");
	check_stress(CT_SCHED_PERF);
}

static void test_stress_perf_cpu(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF_CPU("perf-cpu stress");
	check_stress(CT_SCHED_PERF_CPU);
}

static void test_stress_schedstat(void **state)
{
	(void)state;
	check_stress(CT_SCHED_SCHEDSTAT);
}

/* ---- a thread beyond the fd budget falls back to schedstat ---- */

#define BUDGET_THREADS 6

static pthread_barrier_t budget_barrier;

static void *budget_main(void *arg)
{
	uint32_t *tid = arg;
	*tid = gettid_();
	ct_region_begin("budget"); /* registers: perf event, or not */
	pthread_barrier_wait(&budget_barrier);
	for (int i = 0; i < 20; i++)
		usleep(1000); /* blocks: switch records, or schedstat's counts */
	ct_region_end();
	pthread_barrier_wait(&budget_barrier); /* no fd comes back before all registered */
	return NULL;
}

static void test_fd_budget_falls_back(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF("perf fd budget");
	/* ctrace takes at most a quarter of the fd limit: 3 events of 12 */
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 12;
	char path[256];
	snprintf(path, sizeof path, "%s/budget.ctrace", tmpdir);
	/* the budget is taken from the limit when the capture starts */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	start(path, CT_SCHED_AUTO);
	pthread_barrier_init(&budget_barrier, NULL, BUDGET_THREADS);
	pthread_t th[BUDGET_THREADS];
	uint32_t tids[BUDGET_THREADS];
	for (int i = 0; i < BUDGET_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, budget_main, &tids[i]), 0);
	for (int i = 0; i < BUDGET_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&budget_barrier);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(ct_stop(), 0);

	struct trace *t = read_trace(path);
	assert_string_equal(t->sched_source, "perf");
	int with_perf = 0, with_samples = 0;
	for (int i = 0; i < BUDGET_THREADS; i++) {
		struct tthread *tt = thread_of(t, tids[i]);
		int outs = 0, samples = 0;
		for (size_t k = 0; k < tt->n; k++) {
			outs += tt->ev[k].type == CT_EV_SCHED_OUT;
			samples += tt->ev[k].type == CT_EV_SCHED_SAMPLE;
		}
		/* one source per thread, never both */
		assert_true((outs > 0) != (samples > 0));
		with_perf += outs > 0;
		with_samples += samples > 0;
	}
	fprintf(stderr, "fd limit 12: %d threads with perf, %d with schedstat samples\n", with_perf,
		with_samples);
	assert_true(with_perf >= 1 && with_perf <= 3);
	assert_int_equal(with_perf + with_samples, BUDGET_THREADS);
	trace_free(t);
}

/* ---- the /proc files ctrace keeps open ---- */

/* This process's fds whose link starts with prefix: into fds (up to cap)
 * and how many were put there, or with fds NULL how many there are. */
static int fds_linked_to(const char *prefix, int *fds, int cap)
{
	char link[256], name[300];
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof name, "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(name, link, sizeof link - 1);
		if (k <= 0)
			continue;
		link[k] = 0;
		if (strncmp(link, prefix, strlen(prefix)))
			continue;
		if (!fds)
			n++;
		else if (n < cap)
			fds[n++] = atoi(e->d_name);
	}
	closedir(d);
	return n;
}

/* The fds whose link is one of this process's /proc/PID/task/TID/ files,
 * into fds (up to cap); how many. */
static int proc_task_fds(int *fds, int cap)
{
	char want[64];
	snprintf(want, sizeof want, "/proc/%d/task/", (int)getpid());
	return fds_linked_to(want, fds, cap);
}

#define KEPT_THREADS 4
#define KEPT_PAGES   2048

static pthread_barrier_t kept_barrier;
static _Atomic int kept_phase;

/* CPU time and fresh pages, enough for the writer to read the fault
 * counts (it reads them after a millisecond of a thread's CPU). */
static uint64_t kept_work(void)
{
	size_t len = (size_t)KEPT_PAGES * 4096;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	madvise(m, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += 4096)
		m[off] = 1;
	munmap(m, len);
	struct timespec t0, t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	uint64_t x = 1;
	do {
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005u + 1;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000 + (t.tv_nsec - t0.tv_nsec) < 5000000);
	return x;
}

struct kept {
	uint32_t tid;
	int works; /* calls of kept_work */
};

static void *kept_main(void *arg)
{
	struct kept *k = arg;
	k->tid = gettid_();
	ct_region_begin("kept");
	volatile uint64_t sink = kept_work();
	k->works = 1;
	/* Each round: more work while main watches the fds, then a barrier.
	 * Round 1 makes ctrace open and keep its /proc files; round 2 runs
	 * after main closed them and put files of its own at their numbers. */
	for (int round = 0; round < 2; round++) {
		while (atomic_load(&kept_phase) == round * 2) {
			sink += kept_work();
			k->works++;
			ct_log("kept", "work");
		}
		pthread_barrier_wait(&kept_barrier);
	}
	(void)sink;
	ct_region_end();
	return NULL;
}

/* Waits (the writer's rounds are 20 ms) until ctrace holds a /proc fd that
 * is not in old[0..nold); fails after 10 s. */
static void wait_new_proc_fd(const int *old, int nold)
{
	for (int tries = 0; tries < 1000; tries++) {
		int now[256], n = proc_task_fds(now, 256);
		for (int i = 0; i < n; i++) {
			int seen = 0;
			for (int k = 0; k < nold; k++)
				seen |= now[i] == old[k];
			if (!seen)
				return;
		}
		usleep(10000);
	}
	fail_msg("ctrace never (re)opened its /proc files");
}

/* ctrace keeps each thread's /proc schedstat and stat open and preads them
 * (cheaper than opening them every time); a program that closes fds it
 * does not know and reuses the numbers for its own files keeps them, and
 * ctrace notices, reopens its own, closes none of the program's, and
 * gives every fd back at the end. */
static void check_kept_fds(int sched)
{
	char path[256];
	snprintf(path, sizeof path, "%s/kept-%d.ctrace", tmpdir, sched);
	int none[1];
	assert_int_equal(proc_task_fds(none, 1), 0);
	start(path, sched);
	atomic_store(&kept_phase, 0);
	pthread_barrier_init(&kept_barrier, NULL, KEPT_THREADS + 1);
	pthread_t th[KEPT_THREADS];
	struct kept k[KEPT_THREADS];
	for (int i = 0; i < KEPT_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, kept_main, &k[i]), 0);
	wait_new_proc_fd(NULL, 0);
	atomic_store(&kept_phase, 1);
	pthread_barrier_wait(&kept_barrier);

	/* The daemon's move: close what it does not know, reuse the numbers. */
	int mine[256], nmine = proc_task_fds(mine, 256);
	assert_true(nmine > 0);
	char file[320];
	snprintf(file, sizeof file, "%s/program-file", tmpdir);
	int pf = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(pf >= 0);
	static const char text[] = "the program's own file\n";
	assert_int_equal(write(pf, text, sizeof text - 1), (int)sizeof text - 1);
	for (int i = 0; i < nmine; i++) {
		close(mine[i]);
		assert_int_equal(dup2(pf, mine[i]), mine[i]);
	}
	close(pf);
	atomic_store(&kept_phase, 2);
	wait_new_proc_fd(mine, nmine); /* ctrace saw the change and reopened */
	atomic_store(&kept_phase, 3);
	pthread_barrier_wait(&kept_barrier);
	for (int i = 0; i < KEPT_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&kept_barrier);
	assert_int_equal(ct_stop(), 0);

	/* every fd of ctrace's came back; the program's files are untouched */
	int left[8];
	assert_int_equal(proc_task_fds(left, 8), 0);
	for (int i = 0; i < nmine; i++) {
		char buf[64] = "";
		assert_int_equal(pread(mine[i], buf, sizeof buf - 1, 0), (int)sizeof text - 1);
		assert_string_equal(buf, text);
		close(mine[i]);
	}
	fprintf(stderr, "sched %d: %d /proc fds kept; the program's files at their numbers kept\n",
		sched, nmine);

	/* and the counts went on: every thread's fresh pages are in the trace */
	struct trace *t = read_trace(path);
	assert_true(t->complete);
	for (int i = 0; i < KEPT_THREADS; i++) {
		struct tthread *tt = thread_of(t, k[i].tid);
		uint64_t minor = 0;
		for (size_t e = 0; e < tt->n; e++)
			if (tt->ev[e].type == CT_EV_FAULT && tt->ev[e].a[0] == CT_FAULT_MINOR)
				minor += tt->ev[e].a[1];
		assert_true(minor >= (uint64_t)k[i].works * KEPT_PAGES);
	}
	trace_free(t);
}

static void test_kept_fds_schedstat(void **state)
{
	(void)state;
	check_kept_fds(CT_SCHED_SCHEDSTAT);
}

static void test_kept_fds_perf(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF("perf");
	check_kept_fds(CT_SCHED_PERF);
}

/* ---- captures that end while threads are registering ---- */

#define REG_WORKERS 4
#define REG_CYCLES  60

static _Atomic int reg_stop;

/* Emits all the time: each capture's first event registers the thread,
 * starting its scheduler source (a perf event or /proc files). */
static void *reg_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&reg_stop))
		ct_log("reg", "x");
	return NULL;
}

/* Captures started and stopped at once, again and again, while threads
 * emit without pause: some register as a capture stops. Registering is a
 * busy section the stop waits for, so no source is started after the
 * capture's sources stopped: every capture is complete, and no perf event
 * or /proc file is left open (a thread that opened one after the writer
 * ended its sources would keep it for good). */
static void check_stop_while_registering(int sched)
{
	int perf0 = fds_linked_to("anon_inode:[perf_event]", NULL, 0);
	int none[1];
	assert_int_equal(proc_task_fds(none, 1), 0);
	atomic_store(&reg_stop, 0);
	pthread_t th[REG_WORKERS];
	for (int i = 0; i < REG_WORKERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reg_main, NULL), 0);
	char path[256];
	snprintf(path, sizeof path, "%s/reg-%d.ctrace", tmpdir, sched);
	for (int c = 0; c < REG_CYCLES; c++) {
		start(path, sched);
		assert_int_equal(ct_stop(), 0);
		struct trace *t = read_trace(path);
		assert_true(t->complete);
		trace_free(t);
	}
	atomic_store(&reg_stop, 1);
	for (int i = 0; i < REG_WORKERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(fds_linked_to("anon_inode:[perf_event]", NULL, 0), perf0);
	assert_int_equal(proc_task_fds(none, 1), 0);
	unlink(path);
}

static void test_stop_while_registering_perf(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF("perf");
	check_stop_while_registering(CT_SCHED_PERF);
}

static void test_stop_while_registering_perf_cpu(void **state)
{
	(void)state;
	SKIP_WITHOUT_PERF_CPU("perf-cpu");
	check_stop_while_registering(CT_SCHED_PERF_CPU);
}

static void test_stop_while_registering_schedstat(void **state)
{
	(void)state;
	check_stop_while_registering(CT_SCHED_SCHEDSTAT);
}

/* ---- a flight recorder alone: schedstat, and a dump's cut ---- */

static pthread_barrier_t cut_barrier;

static void *cut_spin_main(void *arg)
{
	struct spinner *s = arg;
	s->tid = gettid_();
	assert_int_equal(sched_setaffinity(0, sizeof one_cpu, &one_cpu), 0);
	ct_region_begin("spin"); /* registers: the thread's baseline reading */
	spin_for(SPIN_NS / 2);
	ct_region_end();
	pthread_barrier_wait(&cut_barrier); /* spun: main dumps */
	pthread_barrier_wait(&cut_barrier); /* dumped */
	return NULL;
}

/* A flight recorder alone samples schedstat, and a dump holds the run-queue
 * time up to its cut even when the writer had no round since: here its
 * rounds are 10 s apart, as if starved of a CPU, and four threads queue for
 * one CPU. The dump's reading is taken as it is cut, split at the cut. */
static void test_flight_dump_keeps_runnable(void **state)
{
	(void)state;
	pick_one_cpu();
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = 16u << 20;
	c.flight_min_age_ns = 100000000000ull; /* generations 10 s apart */
	c.generation_ns = 20000000000ull;
	c.flush_ns = 10000000000ull; /* and rounds */
	struct ct_flight *f = ct_flight_new(&c);
	assert_non_null(f);
	assert_int_equal(ct_flight_start(f), 0);
	pthread_barrier_init(&cut_barrier, NULL, SPINNERS + 1);
	struct spinner sp[SPINNERS];
	memset(sp, 0, sizeof sp);
	for (int i = 0; i < SPINNERS; i++)
		assert_int_equal(pthread_create(&sp[i].th, NULL, cut_spin_main, &sp[i]), 0);
	pthread_barrier_wait(&cut_barrier);
	char path[256];
	snprintf(path, sizeof path, "%s/flight-cut.ctrace", tmpdir);
	assert_int_equal(ct_flight_write(path), 0);
	pthread_barrier_wait(&cut_barrier);
	for (int i = 0; i < SPINNERS; i++)
		pthread_join(sp[i].th, NULL);
	pthread_barrier_destroy(&cut_barrier);
	assert_int_equal(ct_flight_stop(f), 0);
	ct_flight_free(f);

	struct trace *t = read_trace(path);
	assert_string_equal(t->sched_source, "schedstat");
	for (int i = 0; i < SPINNERS; i++) {
		struct tthread *th = thread_of(t, sp[i].tid);
		uint64_t runnable = 0, running = 0, samples = 0;
		for (size_t k = 0; k < th->n; k++)
			if (th->ev[k].type == CT_EV_SCHED_SAMPLE) {
				runnable += th->ev[k].a[0];
				running += th->ev[k].a[1];
				samples++;
			}
		fprintf(stderr,
			"spinner %d: %llu samples in the dump, runnable %.0f ms, running %.0f ms\n",
			i, (unsigned long long)samples, (double)runnable / 1e6,
			(double)running / 1e6);
		/* four on one CPU for 250 ms: each waited most of it */
		assert_true(samples >= 1);
		assert_true(runnable >= SPIN_NS / 2 / 4);
	}
	trace_free(t);
}

/* Source events (here schedstat samples) are merged into a thread's stream
 * by the writer, which re-encodes the delta of the event after each and
 * copies the others as they are: every event keeps its time. A thread logs
 * the CLOCK_MONOTONIC time it read just before each log (the capture's
 * clock is CLOCK_MONOTONIC): each log's timestamp lies between its own
 * reading and the next one, whatever was merged around it. */
static uint64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define MERGE_LOGS 600

static void test_merge_keeps_times(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/merge.ctrace", tmpdir);
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	c.sched = CT_SCHED_SCHEDSTAT;
	c.clock = CT_CLOCK_CHOICE_MONOTONIC;
	assert_int_equal(ct_start(&c), 0);
	static uint64_t read_at[MERGE_LOGS + 1];
	pid_t tid = gettid();
	for (int i = 0; i < MERGE_LOGS; i++) {
		read_at[i] = mono_now();
		char msg[32];
		int n = snprintf(msg, sizeof msg, "at %d", i);
		ct_log_n(CT_NAME("merge"), msg, (size_t)n);
		/* 0.5 ms on the CPU: the samples have something to say */
		while (mono_now() - read_at[i] < 500000)
			;
	}
	read_at[MERGE_LOGS] = mono_now();
	assert_int_equal(ct_stop(), 0);

	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	int rc, logs = 0, samples = 0, between = 0, last_sample = 0;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		if (!ev.thread || ev.thread->tid != (uint32_t)tid)
			continue;
		if (ev.type == CT_EV_SCHED_SAMPLE) {
			samples++;
			last_sample = 1;
			continue;
		}
		if (ev.type != CT_EV_LOG || ev.nbytes < 4 || memcmp(ev.bytes, "at ", 3) != 0)
			continue;
		int i = 0;
		for (size_t k = 3; k < ev.nbytes; k++)
			i = i * 10 + (ev.bytes[k] - '0');
		assert_int_equal(i, logs);
		if (ev.ts < read_at[i] || ev.ts > read_at[i + 1])
			fail_msg("log %d at %llu, read between %llu and %llu", i,
				 (unsigned long long)ev.ts, (unsigned long long)read_at[i],
				 (unsigned long long)read_at[i + 1]);
		between += last_sample;
		last_sample = 0;
		logs++;
	}
	assert_int_equal(rc, 0);
	ct_reader_close(r);
	assert_int_equal(logs, MERGE_LOGS);
	/* 300 ms of a busy thread: samples every round, merged between logs */
	assert_true(samples >= 3);
	assert_true(between >= 3);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perf_spinners_and_blocked),
		cmocka_unit_test(test_perf_cpu_spinners_and_blocked),
		cmocka_unit_test(test_sched_choice),
		cmocka_unit_test(test_schedstat_spinners),
		cmocka_unit_test(test_faults_perf),
		cmocka_unit_test(test_faults_perf_cpu),
		cmocka_unit_test(test_faults_proc),
		cmocka_unit_test(test_stress_perf),
		cmocka_unit_test(test_stress_perf_cpu),
		cmocka_unit_test(test_stress_schedstat),
		cmocka_unit_test(test_fd_budget_falls_back),
		cmocka_unit_test(test_kept_fds_schedstat),
		cmocka_unit_test(test_kept_fds_perf),
		cmocka_unit_test(test_stop_while_registering_perf),
		cmocka_unit_test(test_stop_while_registering_perf_cpu),
		cmocka_unit_test(test_stop_while_registering_schedstat),
		cmocka_unit_test(test_flight_dump_keeps_runnable),
		cmocka_unit_test(test_merge_keeps_times),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (rc) {
		fprintf(stderr, "traces kept in %s\n", tmpdir);
		return rc;
	}
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
