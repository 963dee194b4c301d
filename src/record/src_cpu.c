/* CPU samples: each registered thread gets a timer on its own CPU-time clock
 * (CLOCK_THREAD_CPUTIME_ID) that signals the thread itself; the handler
 * records a cpu.sample in the thread's stream with the stack of the code it
 * interrupted, walked by frame pointers from the signal context.
 *
 * The signal (SIGPROF unless CTRACE_CPU_SIGNAL says otherwise) is the
 * process's, so the handler tells its own timers' signals from anybody
 * else's by si_code SI_TIMER and the sigev_value cookie, and hands the
 * others to whatever handled the signal before (docs/DECISIONS.md). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "record/sources.h"
#include "record/src_cpu.h"
#include "record/stacks.h"

#if defined(__x86_64__) || defined(__aarch64__)
#define CPU_CAN_SAMPLE 1
#else
#define CPU_CAN_SAMPLE 0
#endif

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define NSIGS 65

static struct {
	unsigned hz;
	uint64_t period_ns; /* set before `on`, never cleared */
	int signo;
	const char *why_off;	 /* asked for, but not sampling: why */
	_Atomic uint64_t weight; /* the period in ticks */
	uint64_t ticks_per_s;	 /* the capture's clock: ticks in a second */
	/* New timers may be made (a capture with sampling is running). */
	_Atomic int on;
	/* Timers that exist or are being made: the handler stays until 0. */
	_Atomic int live;
	_Atomic uint64_t taken;		/* samples recorded or counted as lost */
	_Atomic uint64_t create_failed; /* threads left unsampled */
	pid_t pid;			/* the process the timer ids belong to */
	/* Our handler is installed on signal s, and what was there before. */
	uint8_t ours[NSIGS];
	struct sigaction prev[NSIGS];
} cpu;

/* The value our timers carry in si_value: the handler's test of origin. */
#define COOKIE ((void *)&cpu)

/* ---- the handler ---- */

/* The interrupted code's stack: its pc, then the return addresses of the
 * frame-pointer chain from its frame pointer, inside [lo, hi). Frame 0 is
 * pc + 1 because readers symbolize every frame as a return address (at
 * address - 1): so it names the interrupted instruction itself. The frame
 * pointer may be any value in code built without frame pointers, so every
 * load is checked against the stack's bounds and alignment; they read
 * arbitrary words of the stack, hence no address sanitizer here. */
__attribute__((no_sanitize_address)) int interrupted_stack(const ucontext_t *uc, uintptr_t lo,
							   uintptr_t hi, uint64_t *pcs, int max)
{
#if defined(__x86_64__)
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
	/* A leaf function may not have saved its return address (still in
	 * x30) yet: its caller is then missing from the sample. */
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.pc;
	uintptr_t fp = (uintptr_t)uc->uc_mcontext.regs[29];
#else
	uintptr_t pc = 0, fp = 0;
	(void)uc;
#endif
	if (pc < 4096 || max < 1)
		return 0;
	int n = 0;
	pcs[n++] = pc + 1;
	uintptr_t span = hi - lo - 16;
	while (n < max && fp - lo <= span && !(fp & 7)) {
		const uintptr_t *frame = (const uintptr_t *)fp;
		uintptr_t next = frame[0], ret = frame[1];
		if (ret < 4096)
			break;
		pcs[n++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

/* The stack's id, through the thread's cache as api.c's stack_of does
 * (same hash, so a stack seen by both gets one id). 0 when none. */
static uint32_t sample_stack_id(struct trec *r, const uint64_t *pcs, int n)
{
	return n ? stack_id_cached(r->stack_cache, STACK_CACHE_BITS, pcs, n, stack_hash(pcs, n))
		 : 0;
}

/* An interposed call the thread is in (rec.h call_begin) that has already
 * lasted as long as a recorded wait: its wait.begin goes in before the
 * sample, at the call's start, claimed as the writer claims it
 * (CALL_BEGUN), so the thread writes only the end. Otherwise the sample,
 * later than the call's start, comes first, and the thread's wait.begin,
 * stamped with that start, is clamped to after it: a CPU timer's signal
 * is delivered as the call returns, so a 100 ms fsync showed as a few
 * microseconds. The stack: the interrupted one from the call site on (the
 * frames above it are libc's and the interposer's), else the call site.
 * Returns 0 with the busy section held, or -1 when the buffer ran out
 * (then left, as ev_head leaves it). */
static int call_begin_first(struct tls *t, struct trec *r, const uint64_t *pcs, int n)
{
	uint64_t t0 = atomic_load_explicit(&r->call_t0, memory_order_acquire);
	if (!t0 || (t0 & CALL_FLAGS) || clock_ticks() - t0 < g_params.call_min_ticks)
		return 0;
	uint64_t site = __atomic_load_n(&r->call_site, __ATOMIC_RELAXED);
	uint64_t args[3] = {__atomic_load_n(&r->call_reason, __ATOMIC_RELAXED),
			    __atomic_load_n(&r->call_object, __ATOMIC_RELAXED),
			    __atomic_load_n(&r->call_detail, __ATOMIC_RELAXED)};
	if (!atomic_compare_exchange_strong(&r->call_t0, &t0, t0 | CALL_BEGUN))
		return 0; /* the writer wrote it */
	int k = 0;
	while (k < n && pcs[k] != site)
		k++;
	uint32_t id = k < n  ? sample_stack_id(r, pcs + k, n - k)
		      : site ? sample_stack_id(r, &site, 1)
			     : 0;
	uint8_t *tb;
	uint8_t *p = ev_head_at(t, CT_EV_WAIT_BEGIN, t0, &tb);
	if (!p) /* no buffer: the loss is counted; the thread's end stays alone */
		return -1;
	for (int i = 0; i < 3; i++)
		p = ct_put_uvarint(p, args[i]);
	if (id) {
		*tb |= CT_TYPE_STACK_BIT;
		p = ct_put_uvarint(p, id);
	}
	ev_publish(t, p);
	return 0;
}

/* The calling thread's CPU time (ns), or 0 if the clock cannot be read. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What a sample taken now stands for, in the capture's ticks: the thread's
 * CPU time since its last sample (or its timer's start), read from its CPU
 * clock. The kernel's expirations undercount it when the thread shares a
 * CPU: this kernel (6.18) delivered 5 signals with 40 overruns for 100 ms
 * of a thread's CPU time at 1 kHz beside two spinners. Without the clock,
 * the period times the expirations the signal reports. *now_ns: the clock,
 * for the caller to keep once the sample is written. */
static uint64_t sample_weight(const struct trec *r, const siginfo_t *si, uint64_t *now_ns)
{
	uint64_t now = thread_cpu_ns();
	*now_ns = now;
	if (now && r->cpu_sampled_ns && now > r->cpu_sampled_ns) {
		uint64_t w = (uint64_t)((unsigned __int128)(now - r->cpu_sampled_ns) *
					cpu.ticks_per_s / 1000000000u);
		return w ? w : 1;
	}
	/* Above the kernel's tick rate a timer expires several times per
	 * signal: the overruns are CPU time this sample stands for too. */
	uint64_t k = 1 + (uint64_t)(si->si_overrun > 0 ? si->si_overrun : 0);
	return atomic_load_explicit(&cpu.weight, memory_order_relaxed) * k;
}

static void take_sample(const siginfo_t *si, const ucontext_t *uc)
{
	struct tls *t = &ct_tls;
	int reentered;
	struct trec *r = signal_event_enter(t, &reentered);
	if (!r) {
		/* inside a ctrace event: lost, and counted; its CPU time goes
		 * with the thread's next sample */
		if (reentered)
			atomic_fetch_add_explicit(&cpu.taken, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&cpu.taken, 1, memory_order_relaxed);
	uint64_t pcs[STACK_MAX_DEPTH];
	int n = interrupted_stack(uc, r->stack_lo, r->stack_hi, pcs, t->stack_depth);
	uint32_t id = sample_stack_id(r, pcs, n);
	if (call_begin_first(t, r, pcs, n) != 0)
		return;
	uint8_t *tb;
	uint8_t *p = ev_head(t, CT_EV_CPU_SAMPLE, 0, &tb);
	if (!p)
		return; /* no buffer: counted by ev_head, busy left */
	uint64_t now;
	p = ct_put_uvarint(p, sample_weight(r, si, &now));
	if (id) {
		*tb |= CT_TYPE_STACK_BIT;
		p = ct_put_uvarint(p, id);
	}
	ev_commit(t, p);
	r->cpu_sampled_ns = now;
}

/* A signal that is not one of our timers': what the program asked for. */
static void pass_on(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *p = &cpu.prev[sig];
	if (p->sa_flags & SA_SIGINFO) {
		if (p->sa_sigaction)
			p->sa_sigaction(sig, si, uc);
		return;
	}
	if (p->sa_handler == SIG_IGN)
		return;
	if (p->sa_handler == SIG_DFL) {
		/* Every signal we accept ends the process by default: do that,
		 * as it would have without us (sig is blocked in here, so it is
		 * delivered when the handler returns). */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
		raise(sig);
		return;
	}
	p->sa_handler(sig);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	if (si && si->si_code == SI_TIMER && si->si_value.sival_ptr == COOKIE) {
		if (CPU_CAN_SAMPLE && uc)
			take_sample(si, uc);
	} else if (sig > 0 && sig < NSIGS) {
		pass_on(sig, si, uc);
	}
	errno = saved;
}

/* ---- timers ---- */

static void timer_drop(int id)
{
	syscall(SYS_timer_delete, id);
	atomic_fetch_sub(&cpu.live, 1);
}

void cpu_thread_start(struct trec *r)
{
	/* Raw syscalls: this may run inside a signal handler (a thread whose
	 * first event is a handler's), and timer ids from the kernel need no
	 * glibc bookkeeping. */
	/* Counted live before `on` is read: cpu_stop() clears `on` and then
	 * waits for live == 0 before it gives the signal back, so no timer of
	 * ours can outlive our handler. */
	atomic_fetch_add(&cpu.live, 1);
	if (!atomic_load(&cpu.on)) {
		atomic_fetch_sub(&cpu.live, 1);
		return;
	}
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_value.sival_ptr = COOKIE;
	ev.sigev_signo = cpu.signo;
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_notify_thread_id = r->tid;
	int id;
	if (syscall(SYS_timer_create, CLOCK_THREAD_CPUTIME_ID, &ev, &id) != 0) {
		atomic_fetch_sub(&cpu.live, 1);
		atomic_fetch_add_explicit(&cpu.create_failed, 1, memory_order_relaxed);
		return;
	}
	/* the first sample stands for the CPU time from here */
	r->cpu_sampled_ns = thread_cpu_ns();
	uint64_t ns = cpu.period_ns;
	struct itimerspec it = {{(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)},
				{(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)}};
	syscall(SYS_timer_settime, id, 0, &it, NULL);
	/* Publish, then look at `on` again; cpu_stop() clears `on`, then takes
	 * every published timer: one of the two sees the other (both seq_cst),
	 * and the exchange lets only one of them delete it. */
	int old = atomic_exchange(&r->cpu_timer, id + 1);
	if (old) /* not expected: a timer left from before; it is ours */
		timer_drop(old - 1);
	if (!atomic_load(&cpu.on))
		cpu_thread_end(r);
}

void cpu_thread_end(struct trec *r)
{
	int id = atomic_exchange(&r->cpu_timer, 0);
	if (id)
		timer_drop(id - 1);
}

/* ---- capture boundaries ---- */

static int install(int signo)
{
	if (cpu.ours[signo])
		return 0; /* still there from an earlier capture */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	/* SA_RESTART: most calls a sample lands in restart by themselves.
	 * SA_ONSTACK: a program that set an alternate stack (for overflows)
	 * gets its samples there too. */
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, &cpu.prev[signo]) != 0)
		return -errno;
	if (cpu.prev[signo].sa_flags & SA_SIGINFO
		    ? cpu.prev[signo].sa_sigaction == on_signal
		    : (void *)cpu.prev[signo].sa_handler == (void *)on_signal) {
		/* ours from a copy of this state we lost track of (not expected) */
		memset(&cpu.prev[signo], 0, sizeof cpu.prev[signo]);
		cpu.prev[signo].sa_handler = SIG_DFL;
	}
	cpu.ours[signo] = 1;
	return 0;
}

/* 1 when a signal signo is pending for some thread of the process (or we
 * cannot tell). */
static int pending_anywhere(int signo)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 1;
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], line[256];
		snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "SigPnd:", 7) || !strncmp(line, "ShdPnd:", 7))
				if (strtoull(line + 7, NULL, 16) >> (signo - 1) & 1)
					found = 1;
		fclose(f);
	}
	closedir(d);
	return found;
}

/* Gives signo back to the program if no signal of our timers can still
 * arrive: a deleted timer's signal that was already queued is delivered
 * (kernels before 6.13), and with SIGPROF's default action restored it
 * would end the process. Otherwise our handler stays, dropping strays and
 * passing everything else on, and the next stop tries again. */
static void release(int signo)
{
	if (!cpu.ours[signo] || atomic_load(&cpu.live) != 0 || pending_anywhere(signo))
		return;
	struct sigaction cur;
	if (sigaction(signo, NULL, &cur) != 0)
		return;
	/* Restore only if nobody replaced us since; if somebody did, theirs
	 * stays and we are out of the picture. */
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal)
		sigaction(signo, &cpu.prev[signo], NULL);
	cpu.ours[signo] = 0;
}

void cpu_start(const struct ct_config *cfg)
{
	atomic_store(&cpu.on, 0);
	cpu.hz = 0;
	cpu.why_off = NULL;
	if (cpu.pid != getpid()) {
		/* A forked child: the parent's timers were not inherited, and their
		 * ids may name the child's own. Forget them. */
		uint32_t high = atomic_load(&g_recs_high);
		for (uint32_t i = 0; i < high; i++)
			atomic_store(&g_recs[i].cpu_timer, 0);
		atomic_store(&cpu.live, 0);
		cpu.pid = getpid();
	}
	if (!cfg->cpu_hz)
		return;
	if (!CPU_CAN_SAMPLE) {
		cpu.why_off = "no frame-pointer walk from a signal context on this architecture";
		return;
	}
	int signo = cfg->cpu_signal ? cfg->cpu_signal : SIGPROF;
	if (!cpu_signal_ok(signo)) {
		cpu.why_off = "unusable signal";
		return;
	}
	for (int s = 1; s < NSIGS; s++) /* left by an earlier capture */
		if (s != signo)
			release(s);
	int rc = install(signo);
	if (rc) {
		cpu.why_off = "sigaction failed";
		return;
	}
	cpu.signo = signo;
	cpu.hz = cfg->cpu_hz;
	cpu.period_ns = 1000000000u / cfg->cpu_hz;
	uint64_t w = writer_dur_to_ticks(1000000000u / cfg->cpu_hz);
	atomic_store(&cpu.weight, w ? w : 1);
	cpu.ticks_per_s = writer_dur_to_ticks(1000000000u);
	atomic_store(&cpu.on, 1);
}

void cpu_meta(void (*put)(void *ctx, const char *key, const char *value), void *ctx)
{
	char num[32];
	snprintf(num, sizeof num, "%u", cpu.hz);
	put(ctx, "cpu.sample_hz", num);
	if (cpu.hz) {
		snprintf(num, sizeof num, "%d", cpu.signo);
		put(ctx, "cpu.sample_signal", num);
	}
	if (cpu.why_off)
		put(ctx, "cpu.sample_off", cpu.why_off);
}

void cpu_stop(void)
{
	if (!cpu.hz)
		return;
	atomic_store(&cpu.on, 0);
	/* Threads still alive: their records are kept for the next capture,
	 * their timers are not. */
	uint32_t high = atomic_load(&g_recs_high);
	for (uint32_t i = 0; i < high; i++)
		cpu_thread_end(&g_recs[i]);
	/* A thread between timer_create and seeing `on` cleared deletes its
	 * own timer in a few instructions. */
	for (int i = 0; i < 2000 && atomic_load(&cpu.live) != 0; i++) {
		struct timespec ts = {0, 50000};
		nanosleep(&ts, NULL);
	}
	release(cpu.signo);
	cpu.hz = 0;
}

uint64_t cpu_samples_taken(void)
{
	return atomic_load(&cpu.taken);
}

void *cpu_sample_cookie(void)
{
	return COOKIE;
}

/* ---- configuration ---- */

int cpu_signal_ok(int s)
{
	return s == SIGPROF || s == SIGVTALRM || s == SIGALRM || s == SIGUSR1 || s == SIGUSR2 ||
	       (s >= SIGRTMIN && s <= SIGRTMAX);
}

int cpu_parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"PROF", SIGPROF},
		     {"VTALRM", SIGVTALRM},
		     {"ALRM", SIGALRM},
		     {"USR1", SIGUSR1},
		     {"USR2", SIGUSR2}};
	if (!s || !*s)
		return -1;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(s, names[i].name))
			return names[i].sig;
	long base = 0, sign = 1;
	if (!strncmp(s, "RTMIN", 5)) {
		base = SIGRTMIN;
		s += 5;
		if (!*s)
			return (int)base;
		if (*s++ != '+')
			return -1;
	} else if (!strncmp(s, "RTMAX", 5)) {
		base = SIGRTMAX;
		sign = -1;
		s += 5;
		if (!*s)
			return (int)base;
		if (*s++ != '-')
			return -1;
	}
	if (*s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v > 64)
		return -1;
	v = base + sign * v;
	return cpu_signal_ok((int)v) ? (int)v : -1;
}
