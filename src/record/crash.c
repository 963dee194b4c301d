/* Crash dumps (crash.h, ct_config.dump_on_crash). The first thread to crash
 * records where (a log event with the faulting stack), asks the writer
 * thread for a dump of the window (it cuts the current generation, so the
 * last moments and the threads blocked at that time are in it), and waits
 * for it a bounded time. When the writer does not finish in time (stuck on
 * a lock the crash left held, or on its sink), the handler writes the
 * window held in memory itself with system calls only, behind a header the
 * writer prepared beforehand. Then the signal takes its course under the
 * program's own disposition, as if ctrace were not there
 * (docs/DECISIONS.md). */
#include "record/crash.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h> /* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <zlib.h>

#include "format/spec.h"
#include "format/varint.h"
#include "record/flight.h"
#include "record/rec.h"
#include "record/src_cpu.h"
#include "record/stacks.h"
#include "record/writer_int.h"

static const int crash_sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static const char *const crash_names[] = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"};
#define NCRASH 5

/* How long the crashing thread waits for the writer's dump beyond a round
 * of the writer (it polls every flush period), and for its own. */
#define WRITER_WAIT_NS	 2000000000ull
#define FALLBACK_WAIT_NS 3000000000ull

static struct sigaction old_act[NCRASH]; /* the program's dispositions */
static _Atomic int installed[NCRASH];
static _Atomic int wanted;   /* handlers on: the writer prepares the fallback */
static _Atomic int owner;    /* a thread took the crash dump */
static _Atomic int finished; /* and is done with it */
static uint64_t writer_wait_ns;
static pid_t installer;	  /* a forked child has the handlers, not the writer */
static ct_name crash_cat; /* "ctrace.crash", interned beforehand */

/* What the handler needs to write the window itself, prepared by the writer
 * thread. prep_state: 0 none, 1 being built, 2 ready, 3 being taken down;
 * a handler counts itself in readers before it looks, and crash_disarm
 * waits for readers to leave before the flight recorder goes. */
static _Atomic int prep_state;
static _Atomic int readers;
static struct {
	uint8_t *hdr; /* the capture's file header, as build_header makes it */
	size_t hdr_len;
	size_t meta_at;	 /* offset of its metadata count */
	size_t pairs_at; /* offset of its first metadata pair */
	uint64_t nmeta;
	struct flight *fl;
	char dir[4096];
	uint64_t min_age_ns, max_bytes;
} prep;

static int sig_index(int sig)
{
	for (int i = 0; i < NCRASH; i++)
		if (crash_sigs[i] == sig)
			return i;
	return -1;
}

/* The writer thread (and ctrace's other threads) marks itself so that it
 * never records itself (writer.c writer_main). */
static int on_ctrace_thread(void)
{
	return ct_tls.dead && ct_tls.epoch == EPOCH_DEAD;
}

/* ---- async-signal-safe helpers: raw system calls (the interposers of
 * ctrace run and the wrappers trace open, write and sleeps), no stdio ---- */

static void nap_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	syscall(SYS_nanosleep, &ts, NULL);
}

static int raw_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		long k = syscall(SYS_write, fd, b, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* A bounded string builder. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void s_str(struct sbuf *s, const char *v)
{
	while (*v && s->len + 1 < s->cap)
		s->p[s->len++] = *v++;
	s->p[s->len] = 0;
}

static void s_u64(struct sbuf *s, uint64_t v)
{
	char d[24];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < 24);
	char out[24];
	for (int i = 0; i < n; i++)
		out[i] = d[n - 1 - i];
	out[n] = 0;
	s_str(s, out);
}

static void s_2(struct sbuf *s, unsigned v, int width)
{
	char d[8];
	for (int i = width - 1; i >= 0; i--, v /= 10)
		d[i] = (char)('0' + v % 10);
	d[width] = 0;
	s_str(s, d);
}

static void s_hex(struct sbuf *s, uint64_t v)
{
	char d[20];
	int n = 0;
	do
		d[n++] = "0123456789abcdef"[v & 15];
	while ((v >>= 4) && n < 16);
	char out[20] = "0x";
	for (int i = 0; i < n; i++)
		out[2 + i] = d[n - 1 - i];
	out[2 + n] = 0;
	s_str(s, out);
}

/* UTC calendar date of a day count since 1970-01-01 (proleptic
 * Gregorian): gmtime_r is not async-signal-safe. */
static void civil(int64_t days, int *y, unsigned *m, unsigned *d)
{
	days += 719468; /* from 0000-03-01 */
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* What the signal says, e.g. "SIGSEGV at 0x0 (SEGV_MAPERR), thread 123". */
static void describe(struct sbuf *s, int i, const siginfo_t *si)
{
	int sig = crash_sigs[i];
	s_str(s, crash_names[i]);
	if (si->si_code > 0 && sig != SIGABRT) {
		s_str(s, " at ");
		s_hex(s, (uint64_t)(uintptr_t)si->si_addr);
	}
	const char *code = NULL;
	switch (si->si_code) {
	case SI_USER:
		code = "sent by kill";
		break;
	case SI_TKILL:
		code = "raised";
		break;
	case SI_QUEUE:
		code = "sent by sigqueue";
		break;
	case SI_KERNEL:
		code = "from the kernel";
		break;
	default:
		if (sig == SIGSEGV)
			code = si->si_code == SEGV_MAPERR   ? "SEGV_MAPERR"
			       : si->si_code == SEGV_ACCERR ? "SEGV_ACCERR"
							    : NULL;
		else if (sig == SIGBUS)
			code = si->si_code == BUS_ADRALN   ? "BUS_ADRALN"
			       : si->si_code == BUS_ADRERR ? "BUS_ADRERR"
			       : si->si_code == BUS_OBJERR ? "BUS_OBJERR"
							   : NULL;
		else if (sig == SIGFPE)
			code = si->si_code == FPE_INTDIV   ? "FPE_INTDIV"
			       : si->si_code == FPE_INTOVF ? "FPE_INTOVF"
			       : si->si_code == FPE_FLTDIV ? "FPE_FLTDIV"
							   : NULL;
		else if (sig == SIGILL)
			code = si->si_code == ILL_ILLOPC   ? "ILL_ILLOPC"
			       : si->si_code == ILL_ILLOPN ? "ILL_ILLOPN"
			       : si->si_code == ILL_PRVOPC ? "ILL_PRVOPC"
							   : NULL;
	}
	s_str(s, " (");
	if (code) {
		s_str(s, code);
	} else {
		s_str(s, "code ");
		s_u64(s, (uint64_t)(int64_t)si->si_code);
	}
	s_str(s, "), thread ");
	s_u64(s, (uint64_t)syscall(SYS_gettid));
}

/* ---- the crashing thread's last event ---- */

/* A log event "ctrace.crash" on the crashing thread with the stack where
 * it crashed: the way take_sample (src_cpu.c) writes from a handler, and
 * only for a thread already registered (registering takes locks). */
static void crash_event(const char *msg, size_t len, const ucontext_t *uc)
{
	struct tls *t = &ct_tls;
	int reentered; /* (then lost, and counted) */
	struct trec *r = crash_cat ? signal_event_enter(t, &reentered) : NULL;
	if (!r)
		return;
	uint64_t pcs[STACK_MAX_DEPTH];
	int n = uc ? interrupted_stack(uc, r->stack_lo, r->stack_hi, pcs, t->stack_depth) : 0;
	uint32_t id = n ? stack_id(pcs, n, stack_hash(pcs, n)) : 0;
	uint8_t *tb;
	uint8_t *p = ev_head(t, CT_EV_LOG, len + 2 * CT_VARINT_MAX, &tb);
	if (!p)
		return; /* no buffer: counted, busy left */
	p = ct_put_uvarint(p, crash_cat);
	if (id) {
		*tb |= CT_TYPE_STACK_BIT;
		p = ct_put_uvarint(p, id);
	}
	p = ct_put_uvarint(p, len);
	memcpy(p, msg, len);
	ev_commit(t, p + len);
}

/* ---- the handler's own dump ---- */

static uint8_t *put_str(uint8_t *p, const char *v)
{
	size_t n = strlen(v);
	p = ct_put_uvarint(p, n);
	memcpy(p, v, n);
	return p + n;
}

/* The window, written by the handler: the prepared header with the dump's
 * metadata added, the frames held, an end frame. The ring is frozen. */
static int write_window(const struct dump_trigger *t)
{
	struct timespec mono, real;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	uint64_t now = (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec;
	struct flight_window fw;
	flight_window(prep.fl, &fw);

	/* <dir>/<program>-<pid>-<UTC>.<ms>Z-0-<reason>.ctrace: serial 0 is
	 * the handler's (the writer's dumps count from 1) */
	static char name[4096 + 512], tmp[4096 + 600];
	struct sbuf s = {name, 0, sizeof name};
	int y;
	unsigned mo, d;
	int64_t secs = (int64_t)real.tv_sec;
	civil(secs / 86400, &y, &mo, &d);
	unsigned sod = (unsigned)(secs % 86400);
	s_str(&s, prep.dir);
	s_str(&s, "/");
	s_str(&s, program_invocation_short_name);
	s_str(&s, "-");
	s_u64(&s, (uint64_t)getpid());
	s_str(&s, "-");
	s_2(&s, (unsigned)y, 4);
	s_2(&s, mo, 2);
	s_2(&s, d, 2);
	s_str(&s, "T");
	s_2(&s, sod / 3600, 2);
	s_2(&s, sod / 60 % 60, 2);
	s_2(&s, sod % 60, 2);
	s_str(&s, ".");
	s_2(&s, (unsigned)(real.tv_nsec / 1000000), 3);
	s_str(&s, "Z-0-");
	s_str(&s, t->reason);
	s_str(&s, ".ctrace");
	struct sbuf st = {tmp, 0, sizeof tmp};
	s_str(&st, name);
	s_str(&st, ".tmp");
	if (s.len + 1 >= s.cap || st.len + 1 >= st.cap)
		return -1;

	/* the dump's metadata, as write_dump (dump.c) writes it */
	static uint8_t extra[2048];
	static char nums[6][24];
	uint8_t *p = extra;
	uint64_t k = 0;
	const char *kv[2 * 12];
	struct sbuf ns[6];
	uint64_t vals[6] = {prep.min_age_ns,
			    prep.max_bytes,
			    fw.max_ns > fw.min_ns ? fw.max_ns - fw.min_ns : 0,
			    now,
			    (uint64_t)t->signal,
			    0};
	for (int i = 0; i < 5; i++) {
		ns[i] = (struct sbuf){nums[i], 0, sizeof nums[i]};
		s_u64(&ns[i], vals[i]);
	}
	int capped = fw.evicted_until_ns && fw.evicted_until_ns + prep.min_age_ns > now;
	kv[k++] = "flight.min_age_ns", kv[k++] = nums[0];
	kv[k++] = "flight.max_bytes", kv[k++] = nums[1];
	kv[k++] = "dump.window_ns", kv[k++] = nums[2];
	kv[k++] = "dump.size_capped", kv[k++] = capped ? "1" : "0";
	kv[k++] = "dump.time_ns", kv[k++] = nums[3];
	kv[k++] = "dump.reason", kv[k++] = t->reason;
	kv[k++] = "trigger.kind", kv[k++] = t->kind;
	kv[k++] = "trigger.signal", kv[k++] = nums[4];
	kv[k++] = "trigger.detail", kv[k++] = t->detail;
	kv[k++] = "dump.crash_path", kv[k++] = "handler";
	for (uint64_t i = 0; i < k; i++)
		p = put_str(p, kv[i]);
	size_t extra_len = (size_t)(p - extra);

	uint8_t count[CT_VARINT_MAX];
	size_t count_len = (size_t)(ct_put_uvarint(count, prep.nmeta + k / 2) - count);
	const uint8_t *pairs = prep.hdr + prep.pairs_at;
	size_t pairs_len = prep.hdr_len - 4 - prep.pairs_at;
	size_t total = prep.meta_at + count_len + pairs_len + extra_len + 4;
	uint8_t fixed[16];
	memcpy(fixed, prep.hdr, 16);
	ct_put_u32le(fixed + 12, (uint32_t)total);
	uLong crc = crc32(0, fixed, 16);
	crc = crc32(crc, prep.hdr + 16, (uInt)(prep.meta_at - 16));
	crc = crc32(crc, count, (uInt)count_len);
	crc = crc32(crc, pairs, (uInt)pairs_len);
	crc = crc32(crc, extra, (uInt)extra_len);
	uint8_t crcb[4];
	ct_put_u32le(crcb, (uint32_t)crc);

	int fd = (int)syscall(SYS_openat, AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
	if (fd < 0)
		return -1;
	int rc = raw_write_all(fd, fixed, 16) ||
		 raw_write_all(fd, prep.hdr + 16, prep.meta_at - 16) ||
		 raw_write_all(fd, count, count_len) || raw_write_all(fd, pairs, pairs_len) ||
		 raw_write_all(fd, extra, extra_len) || raw_write_all(fd, crcb, 4);
	const void *fp;
	size_t flen;
	for (size_t i = 0; !rc && flight_frame(prep.fl, i, &fp, &flen) == 0; i++)
		rc = raw_write_all(fd, fp, flen);
	if (!rc) {
		uint8_t b[3 * CT_VARINT_MAX], *q = b;
		q = ct_put_uvarint(q, fw.events);
		q = ct_put_uvarint(q, 0);
		q = ct_put_uvarint(q, fw.frames);
		uint32_t blen = (uint32_t)(q - b);
		uint8_t h[CT_GEN_HEADER_SIZE];
		frame_header(h, "CTEN", 0, fw.frames, blen, blen, (uint32_t)crc32(0, b, blen));
		rc = raw_write_all(fd, h, sizeof h) || raw_write_all(fd, b, blen);
	}
	if (!rc)
		rc = syscall(SYS_fsync, fd) != 0;
	if (syscall(SYS_close, fd) != 0)
		rc = 1;
	if (!rc)
		rc = rename(tmp, name) != 0;
	if (rc)
		unlink(tmp);
	return rc ? -1 : 0;
}

/* The handler writes the window itself, if it is prepared and the writer
 * is not changing it (a few tries: it may be in the middle of a frame). */
static int fallback(const struct dump_trigger *t)
{
	int rc = -1;
	atomic_fetch_add(&readers, 1);
	if (atomic_load(&prep_state) == 2) {
		for (int i = 0; i < 100; i++) {
			if (flight_freeze(prep.fl) == 0) {
				rc = write_window(t);
				flight_thaw(prep.fl);
				break;
			}
			nap_ms(1);
		}
	}
	atomic_fetch_sub(&readers, 1);
	return rc;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void crash_dump(int i, const siginfo_t *si, const ucontext_t *uc)
{
	static struct dump_trigger t; /* one crash dump per capture: not on the stack */
	memset(&t, 0, sizeof t);
	struct sbuf r = {t.reason, 0, sizeof t.reason};
	s_str(&r, "crash-");
	s_str(&r, crash_names[i]);
	memcpy(t.kind, "crash", 6);
	t.signal = crash_sigs[i];
	struct sbuf d = {t.detail, 0, sizeof t.detail};
	describe(&d, i, si);
	crash_event(t.detail, d.len, uc);
	/* the writer itself crashed (a sink callback, a bug): it cannot
	 * write, the handler does at once */
	if (!on_ctrace_thread() && writer_crash_request(&t) == 0) {
		uint64_t end = now_ns() + writer_wait_ns;
		for (;;) {
			int s = writer_crash_state();
			if (s == CRASH_WRITTEN)
				return;
			if (s == CRASH_FAILED || s == CRASH_NONE || now_ns() >= end)
				break;
			nap_ms(1);
		}
	}
	fallback(&t);
}

/* The signal takes its course under the program's disposition: a fault
 * happens again as the handler returns to the faulting instruction; a
 * signal that was sent (abort, kill) is sent again, pending until then. */
static void pass_on(int i, const siginfo_t *si)
{
	int sig = crash_sigs[i];
	sigaction(sig, &old_act[i], NULL);
	atomic_store(&installed[i], 0);
	if (si->si_code <= 0 || sig == SIGABRT)
		raise(sig);
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	int i = sig_index(sig);
	if (i < 0)
		return;
	if ((pid_t)syscall(SYS_getpid) != installer) {
		/* a child forked from the program: no writer, and the window is
		 * its parent's */
		pass_on(i, si);
		errno = saved;
		return;
	}
	if (si->si_code <= 0 && on_ctrace_thread() &&
	    syscall(SYS_tgkill, installer, installer, sig) == 0) {
		/* sent to the process, and taken by the writer, which lets the
		 * crash signals through for its own faults only: the program's
		 * main thread takes it instead, as without ctrace */
		errno = saved;
		return;
	}
	if (!atomic_exchange(&owner, 1)) {
		if (atomic_load(&wanted))
			crash_dump(i, si, uc);
		atomic_store(&finished, 1);
	} else {
		/* another thread is writing the dump: let it, within bounds,
		 * before this signal maybe ends the process */
		uint64_t end = now_ns() + writer_wait_ns + FALLBACK_WAIT_NS;
		while (!atomic_load(&finished) && now_ns() < end)
			nap_ms(1);
	}
	pass_on(i, si);
	errno = saved;
}

/* ---- setup ---- */

void crash_install(const struct ct_config *c)
{
	if (!c->dump_on_crash || !c->flight_max_bytes || !c->dump_dir)
		return;
	crash_cat = ct_intern("ctrace.crash");
	writer_wait_ns = WRITER_WAIT_NS + writer_flush_ns();
	atomic_store(&owner, 0);
	atomic_store(&finished, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	/* a crash signal inside the handler (its own fault) ends the process
	 * at once rather than nesting */
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < NCRASH; i++)
		sigaddset(&sa.sa_mask, crash_sigs[i]);
	installer = (pid_t)syscall(SYS_getpid);
	for (int i = 0; i < NCRASH; i++)
		if (!atomic_load(&installed[i]) && sigaction(crash_sigs[i], &sa, &old_act[i]) == 0)
			atomic_store(&installed[i], 1); /* (installed: old_act is the program's) */
	atomic_store(&wanted, 1);
}

void crash_uninstall(void)
{
	atomic_store(&wanted, 0);
	for (int i = 0; i < NCRASH; i++) {
		if (!atomic_load(&installed[i]))
			continue;
		struct sigaction cur;
		/* only if nobody replaced ours meanwhile */
		if (sigaction(crash_sigs[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_sigaction == on_crash)
			sigaction(crash_sigs[i], &old_act[i], NULL);
		atomic_store(&installed[i], 0);
	}
	/* a crash in progress: its handler finishes (or gives up) first */
	if (atomic_load(&owner)) {
		uint64_t end = now_ns() + writer_wait_ns + FALLBACK_WAIT_NS;
		while (!atomic_load(&finished) && now_ns() < end)
			nap_ms(1);
	}
}

void crash_sigs_unblock(sigset_t *set)
{
	for (int i = 0; i < NCRASH; i++)
		sigdelset(set, crash_sigs[i]);
}

int crash_installed(int sig)
{
	int i = sig_index(sig);
	if (i < 0 || !atomic_load(&installed[i]))
		return 0;
	struct sigaction cur;
	return sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_sigaction == on_crash;
}

void crash_prepare(struct writer *w)
{
	if (!atomic_load_explicit(&wanted, memory_order_relaxed) || !w->flight || !w->dump_dir)
		return;
	if (atomic_load(&prep_state) == 2)
		return; /* (crash_disarm comes before any flight recorder goes) */
	int expect = 0;
	if (!atomic_compare_exchange_strong(&prep_state, &expect, 1))
		return;
	struct buf hb = {0};
	size_t dl = strlen(w->dump_dir);
	if (dl >= sizeof prep.dir || build_header(w, &hb, NULL, 0) != 0) {
		buf_free(&hb);
		atomic_store(&prep_state, 0);
		return;
	}
	size_t at = 16 + ct_spec_encode(NULL, 0);
	const uint8_t *q = hb.p + at;
	uint64_t n;
	if (at >= hb.len || ct_get_uvarint(&q, hb.p + hb.len - 4, &n) != 0) {
		buf_free(&hb);
		atomic_store(&prep_state, 0);
		return;
	}
	prep.hdr = hb.p;
	prep.hdr_len = hb.len;
	prep.meta_at = at;
	prep.pairs_at = (size_t)(q - hb.p);
	prep.nmeta = n;
	prep.fl = w->flight;
	memcpy(prep.dir, w->dump_dir, dl + 1);
	prep.min_age_ns = w->cfg.flight_min_age_ns;
	prep.max_bytes = w->cfg.flight_max_bytes;
	atomic_store(&prep_state, 2);
}

void crash_disarm(void)
{
	for (;;) {
		int s = atomic_load(&prep_state);
		if (s == 0)
			return;
		if (s == 2 && atomic_compare_exchange_strong(&prep_state, &s, 3))
			break;
		nap_ms(1); /* being built by the writer thread */
	}
	while (atomic_load(&readers))
		nap_ms(1); /* a handler is writing the window */
	free(prep.hdr);
	memset(&prep, 0, sizeof prep);
	atomic_store(&prep_state, 0);
}
