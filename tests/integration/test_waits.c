/* Waits end to end: waits_prog's threads block for known causes, traced
 * through `ctrace run` (LD_PRELOAD) and through the link-time wrappers, and
 * the trace read back (reader API) and reported (`ctrace report --json`)
 * must name the cause, the site, the holder and the fd's kind. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace_reader.h"

static char tmpdir[] = "/tmp/ctrace-waits-XXXXXX";

struct wait {
	uint32_t tid, reason;
	uint64_t object, detail, begin, end;
	int64_t result;
	int ended;
	char func[128]; /* innermost frame's function */
	char site[128]; /* the call site: past functions inlined from /usr/include */
};

#define MAX_FACTS 16
struct run {
	struct wait w[4096];
	int n;
	int complete;
	uint64_t facts[MAX_FACTS];
	char keys[MAX_FACTS][32];
	int nfacts;
	char trace[256];
};

enum { PLAIN, FORTIFIED };

static uint64_t fact(const struct run *r, const char *key)
{
	for (int i = 0; i < r->nfacts; i++)
		if (!strcmp(r->keys[i], key))
			return r->facts[i];
	fail_msg("fact %s missing", key);
	return 0;
}

/* glibc's _FORTIFY_SOURCE wrappers (read, recv... in bits/unistd.h) are
 * inlined into the caller: the site is the function they were inlined in. */
static void site_of(const struct ct_stack *s, char *out, size_t cap)
{
	uint32_t i = 0;
	while (i + 1 < s->nframes && s->frames[i].inlined &&
	       !strncmp(s->frames[i].file, "/usr/include/", 13))
		i++;
	snprintf(out, cap, "%s", s->frames[i].function);
}

static void read_waits(const char *path, struct run *out)
{
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	static int open_at[65536];
	memset(open_at, -1, sizeof open_at);
	int rc;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		uint32_t ti = ev.thread->index & 0xffff;
		if (ev.type == CT_EV_WAIT_BEGIN && out->n < 4096) {
			struct wait *w = &out->w[out->n];
			memset(w, 0, sizeof *w);
			w->tid = ev.thread->tid;
			w->reason = (uint32_t)ev.args[0];
			w->object = ev.args[1];
			w->detail = ev.args[2];
			w->begin = ev.ts;
			if (ev.stack && ev.stack->nframes) {
				snprintf(w->func, sizeof w->func, "%s",
					 ev.stack->frames[0].function);
				site_of(ev.stack, w->site, sizeof w->site);
			}
			open_at[ti] = out->n++;
		} else if (ev.type == CT_EV_WAIT_END && open_at[ti] >= 0) {
			out->w[open_at[ti]].end = ev.ts;
			out->w[open_at[ti]].result = (int64_t)ev.args[0];
			out->w[open_at[ti]].ended = 1;
			open_at[ti] = -1;
		}
	}
	assert_int_equal(rc, 0);
	out->complete = ct_reader_complete(r);
	ct_reader_close(r);
}

/* CTRACE_SYSCALL_MIN for the runs: most tests check that each interposed
 * call is recorded, blocking or not, so every call is; test_syscall_threshold
 * runs with the default. */
static const char *syscall_min = "0";

/* Runs waits_prog MODE (or its fortified build), traced through `ctrace
 * run` or linked with the wrappers, and reads it back. */
static void run_prog(const char *mode, int wrapped, int build, struct run *out)
{
	static const char *progs[2][2] = {{WAITS_PROG, WAITS_PROG_WRAP},
					  {WAITS_PROG_FORTIFY, WAITS_PROG_FORTIFY_WRAP}};
	char facts[256], cmd[2048];
	memset(out, 0, sizeof *out);
	snprintf(out->trace, sizeof out->trace, "%s/%s-%d.ctrace", tmpdir, mode, wrapped);
	snprintf(facts, sizeof facts, "%s/%s-%d.facts", tmpdir, mode, wrapped);
	/* An ASan build's allocator (GCC 12's) is not fork-safe: when ctrace's
	 * writer thread holds one of its locks at the fork, the child's
	 * exit-time leak check waits for it forever (seen once in CI: the
	 * child in __lsan::LockAllocator under exit()). glibc's malloc is
	 * fork-safe, so this is the sanitizer's, not ctrace's; the fork case
	 * goes without the exit-time leak check. Ignored by other builds. */
	const char *asan = strcmp(mode, "fork") ? ""
						: "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}"
						  "leak_check_at_exit=0 ";
	if (wrapped)
		snprintf(cmd, sizeof cmd, "%sCTRACE_SYSCALL_MIN=%s CTRACE_OUTPUT=%s %s %s %s", asan,
			 syscall_min, out->trace, progs[build][1], mode, facts);
	else
		snprintf(cmd, sizeof cmd, "%sCTRACE_SYSCALL_MIN=%s %s run -o %s -- %s %s %s", asan,
			 syscall_min, CTRACE_CLI, out->trace, progs[build][0], mode, facts);
	int st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	read_waits(out->trace, out);
	assert_true(out->complete);
	FILE *f = fopen(facts, "r");
	assert_non_null(f);
	unsigned long long v;
	while (out->nfacts < MAX_FACTS && fscanf(f, "%31s %llu", out->keys[out->nfacts], &v) == 2)
		out->facts[out->nfacts++] = v;
	fclose(f);
}

static void run_mode(const char *mode, int wrapped, struct run *out)
{
	run_prog(mode, wrapped, PLAIN, out);
}

/* `ctrace report --json` of the run's trace through `jq -e ARGS 'FILTER'`:
 * true when the filter holds; else the text report goes to stderr. */
static int report_holds(const struct run *r, const char *args, const char *filter)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "%s report --json %s | jq -e %s '%s' >/dev/null", CTRACE_CLI,
		 r->trace, args, filter);
	int st = system(cmd);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 1;
	fprintf(stderr, "jq %s '%s' does not hold over:\n", args, filter);
	snprintf(cmd, sizeof cmd, "%s report %s >&2", CTRACE_CLI, r->trace);
	(void)system(cmd);
	return 0;
}

static int variants(void)
{
#ifdef CTRACE_SANITIZED
	return 1; /* a sanitized preload library cannot go into a plain program */
#else
	return 2;
#endif
}

#define FOR_VARIANTS(v) for (int v = 2 - variants(); v < 2; v++)

/* The waits of one reason at one site. */
static int count_at(const struct run *r, unsigned reason, const char *site)
{
	int n = 0;
	for (int i = 0; i < r->n; i++)
		n += r->w[i].reason == reason && !strcmp(r->w[i].site, site);
	return n;
}

static const struct wait *only_at(const struct run *r, unsigned reason, const char *site)
{
	const struct wait *found = NULL;
	for (int i = 0; i < r->n; i++)
		if (r->w[i].reason == reason && !strcmp(r->w[i].site, site)) {
			if (found)
				fail_msg("more than one wait (reason %u) at %s", reason, site);
			found = &r->w[i];
		}
	if (!found)
		fail_msg("no wait (reason %u) at %s", reason, site);
	return found;
}

/* ---- locks ---- */

static void check_mutex(struct run *r, int wrapped, int with_fsync)
{
	run_mode(with_fsync ? "fsync" : "mutex", wrapped, r);
	uint64_t holder = fact(r, "holder_tid"), mu = fact(r, "mutex");
	int found = 0, fsyncs = 0;
	for (int i = 0; i < r->n; i++) {
		struct wait *w = &r->w[i];
		if (w->reason == CT_WAIT_MUTEX && w->object == mu) {
			found++;
			assert_int_equal(w->detail, holder);
			assert_int_equal(w->tid, fact(r, "waiter_tid"));
			assert_string_equal(w->func, "contended_lock_site");
			assert_true(w->ended && w->end > w->begin);
			/* held that long after the waiter was blocked */
			assert_true(w->end - w->begin >= fact(r, "hold_ns") * 99 / 100);
			assert_int_equal(w->result, 0);
		}
		if (w->reason == CT_WAIT_FILE && w->detail == CT_CALL_FSYNC) {
			fsyncs++;
			assert_int_equal(w->tid, holder);
			assert_string_equal(w->func, "fsync_site");
			assert_int_equal(w->result, 0);
		}
	}
	assert_int_equal(found, 1);
	assert_int_equal(fsyncs, with_fsync);
}

static void test_contended_mutex(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	check_mutex(&r, v, 0);
}

/* The waiter is blocked on the mutex (site, holder), the holder is in
 * fsync at its site, as file I/O; the report says the same. */
static void test_lock_held_across_fsync(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		check_mutex(&r, v, 1);
		uint64_t fsync_ns = 0;
		for (int i = 0; i < r.n; i++)
			if (r.w[i].detail == CT_CALL_FSYNC && r.w[i].reason == CT_WAIT_FILE)
				fsync_ns = r.w[i].end - r.w[i].begin;
		char args[128];
		snprintf(args, sizeof args, "--argjson h %llu --argjson w %llu --argjson f %llu",
			 (unsigned long long)fact(&r, "holder_tid"),
			 (unsigned long long)fact(&r, "waiter_tid"), (unsigned long long)fsync_ns);
		assert_true(report_holds(
			&r, args,
			"(.waits.top_sites | any(.reason == \"mutex\" and .category == \"sync\""
			" and .function == \"contended_lock_site\" and .holder.tid == $h))"
			" and (.waits.top_sites | any(.reason == \"file\" and .category == \"file\""
			" and .function == \"fsync_site\"))"
			" and ([.threads[] | select(.tid == $h)][0].waits.file_ns >= $f)"
			" and ([.threads[] | select(.tid == $w)][0].waits.sync_ns > 0)"));
	}
}

/* Two readers find a writer holding the lock: each waits at its site
 * (rdlock and the clock variant), naming the writer. */
static void test_rwlock_reader_blocked_by_writer(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("rwlock", v, &r);
		uint64_t writer = fact(&r, "writer_tid");
		const char *sites[] = {"rdlock_site", "clockrdlock_site"};
		for (int s = 0; s < 2; s++) {
			const struct wait *w = only_at(&r, CT_WAIT_RWLOCK_READ, sites[s]);
			assert_int_equal(w->object, fact(&r, "rwlock"));
			assert_int_equal(w->detail, writer);
			assert_int_not_equal(w->tid, writer);
			assert_true(w->ended);
			assert_int_equal(w->result, 0);
		}
		char args[64];
		snprintf(args, sizeof args, "--argjson h %llu", (unsigned long long)writer);
		assert_true(report_holds(&r, args,
					 "[.waits.top_sites[] | select(.reason == \"rwlock_read\")]"
					 " | length == 2 and all(.holder.tid == $h"
					 " and .category == \"sync\")"));
	}
}

static void test_semaphore(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("sem", v, &r);
		const char *sites[] = {"sem_site", "sem_clock_site"};
		for (int s = 0; s < 2; s++) {
			const struct wait *w = only_at(&r, CT_WAIT_SEMAPHORE, sites[s]);
			assert_int_equal(w->object, fact(&r, "sem"));
			assert_int_equal(w->tid, fact(&r, "waiter_tid"));
			assert_true(w->ended);
			assert_int_equal(w->result, 0);
		}
	}
}

/* Every barrier wait records; one thread per round gets the serial
 * result (PTHREAD_BARRIER_SERIAL_THREAD, -1). */
static void test_barrier(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("barrier", v, &r);
		int serial = 0;
		assert_int_equal(count_at(&r, CT_WAIT_BARRIER, "barrier_site"), fact(&r, "waits"));
		for (int i = 0; i < r.n; i++)
			if (r.w[i].reason == CT_WAIT_BARRIER) {
				assert_int_equal(r.w[i].object, fact(&r, "barrier"));
				assert_true(r.w[i].ended);
				assert_true(r.w[i].result == 0 || r.w[i].result == -1);
				serial += r.w[i].result == -1;
			}
		assert_int_equal(serial, fact(&r, "rounds"));
	}
}

/* An event loop blocked in poll, then in epoll_wait, until a pipe has a
 * byte: event-loop waits at their sites, not pipe I/O. */
static void test_poll_and_epoll(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("poll", v, &r);
		const struct wait *p = only_at(&r, CT_WAIT_POLL, "poll_site");
		const struct wait *e = only_at(&r, CT_WAIT_POLL, "epoll_site");
		assert_int_equal(p->object, 1); /* nfds */
		assert_int_equal(e->object, fact(&r, "epfd"));
		for (const struct wait *w = p; w; w = w == p ? e : NULL) {
			assert_int_equal(w->tid, fact(&r, "loop_tid"));
			assert_true(w->ended);
			assert_int_equal(w->result, 1);
		}
		char args[64];
		snprintf(args, sizeof args, "--argjson t %llu",
			 (unsigned long long)fact(&r, "loop_tid"));
		assert_true(report_holds(
			&r, args,
			"([.waits.top_sites[] | select(.category == \"poll\") | .function] | sort"
			" == [\"epoll_site\", \"poll_site\"])"
			" and ([.threads[] | select(.tid == $t)][0].waits.poll_ns > 0)"));
	}
}

/* ---- sockets ---- */

static void test_late_socket_peer(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("net", v, &r);
		const struct wait *w = only_at(&r, CT_WAIT_NET, "recv_site");
		assert_int_equal(w->detail, CT_CALL_RECV);
		assert_int_equal(w->object, fact(&r, "fd"));
		/* the peer answers `delay` after the caller is blocked */
		assert_true(w->end - w->begin >= fact(&r, "delay_ns") * 99 / 100);
		assert_int_equal(w->result, 4); /* "pong" */
		int ebadf = 0;
		for (int i = 0; i < r.n; i++)
			if (r.w[i].object == 1000) { /* a signed result: -EBADF */
				ebadf++;
				assert_int_equal(r.w[i].reason, CT_WAIT_OTHER_FD);
				assert_int_equal(r.w[i].result, -EBADF);
			}
		assert_int_equal(ebadf, 1);
	}
}

/* With a threshold (CTRACE_SYSCALL_MIN; 1 ms here rather than the default
 * 2 us, so that sanitized builds' slower calls stay well under it), a call
 * that returns at once is not a wait, one that blocked is: the late peer's
 * recv is recorded as before, the read of a bad fd (an immediate EBADF) is
 * not, and neither are the socket writes that did not block. */
static int syscall_min_restore(void **state)
{
	(void)state;
	syscall_min = "0";
	return 0;
}

static void test_syscall_threshold(void **state)
{
	(void)state;
	static struct run r;
	syscall_min = "1ms";
	FOR_VARIANTS(v)
	{
		run_mode("net", v, &r);
		const struct wait *w = only_at(&r, CT_WAIT_NET, "recv_site");
		assert_true(w->end - w->begin >= fact(&r, "delay_ns") * 99 / 100);
		assert_int_equal(w->result, 4);
		for (int i = 0; i < r.n; i++) {
			assert_int_not_equal(r.w[i].object, 1000); /* the EBADF read */
			/* the interposed syscalls (locks record on contention) */
			if (r.w[i].reason >= CT_WAIT_SLEEP && r.w[i].ended)
				assert_true(r.w[i].end - r.w[i].begin >= 999000);
		}
	}
}

/* A loopback TCP server thread answers late: the client's wait is network
 * (the fd is a socket) at the recv site; the server's accept is network
 * too, on the listening socket. */
static void test_loopback_server_answers_late(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("tcp", v, &r);
		const struct wait *w = only_at(&r, CT_WAIT_NET, "recv_site");
		assert_int_equal(w->tid, fact(&r, "client_tid"));
		assert_int_equal(w->detail, CT_CALL_RECV);
		assert_int_equal(w->object, fact(&r, "fd"));
		assert_true(w->end - w->begin >= fact(&r, "delay_ns") * 99 / 100);
		assert_int_equal(w->result, 4);
		const struct wait *a = only_at(&r, CT_WAIT_NET, "accept_site");
		assert_int_equal(a->tid, fact(&r, "server_tid"));
		assert_int_equal(a->detail, CT_CALL_ACCEPT);
		assert_int_equal(a->object, fact(&r, "listener"));
		assert_true(a->result >= 0);
		char args[128];
		snprintf(args, sizeof args, "--argjson c %llu --argjson d %llu",
			 (unsigned long long)fact(&r, "client_tid"),
			 (unsigned long long)fact(&r, "delay_ns") * 99 / 100);
		assert_true(report_holds(
			&r, args,
			"(.waits.top_sites | any(.reason == \"net\" and .category == \"net\""
			" and .function == \"recv_site\"))"
			" and ([.threads[] | select(.tid == $c)][0].waits.net_ns >= $d)"));
	}
}

/* ---- sleeps ---- */

static void test_sleep_loop(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("sleep", v, &r);
		uint64_t asked = 0, took = 0;
		assert_int_equal(count_at(&r, CT_WAIT_SLEEP, "sleep_loop_site"),
				 fact(&r, "sleeps"));
		for (int i = 0; i < r.n; i++)
			if (r.w[i].reason == CT_WAIT_SLEEP) {
				assert_int_equal(r.w[i].tid, fact(&r, "tid"));
				assert_int_equal(r.w[i].result, 0);
				asked += r.w[i].detail;
				took += r.w[i].end - r.w[i].begin;
			}
		assert_int_equal(asked, fact(&r, "slept_ns"));
		assert_true(took >= asked * 99 / 100); /* a sleep never ends early */
		char args[128];
		snprintf(args, sizeof args, "--argjson t %llu --argjson took %llu",
			 (unsigned long long)fact(&r, "tid"), (unsigned long long)took);
		assert_true(report_holds(
			&r, args,
			"([.waits.top_sites[] | select(.reason == \"sleep\")] | length > 0"
			" and all(.function == \"sleep_loop_site\" and .category == \"sleep\")"
			" and (map(.count) | add) == 8)"
			" and ([.threads[] | select(.tid == $t)][0].waits.sleep_ns"
			" | . >= $took - 1000 and . <= $took + 1000)"));
	}
}

/* ---- a condvar worker pool idling: condvar waits, not contention ---- */

static void test_condvar_pool(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("condvar", v, &r);
		uint64_t wt[2] = {fact(&r, "worker0"), fact(&r, "worker1")};
		uint64_t cond_ns[2] = {0, 0}, sync_ns[2] = {0, 0};
		int cond = 0;
		for (int i = 0; i < r.n; i++) {
			const struct wait *w = &r.w[i];
			int k = w->tid == wt[0] ? 0 : w->tid == wt[1] ? 1 : -1;
			if (w->reason == CT_WAIT_CONDVAR) {
				cond++;
				assert_int_equal(w->object, fact(&r, "cond"));
				assert_string_equal(w->func, "worker_wait_site");
				assert_true(k >= 0 && w->ended);
				cond_ns[k] += w->end - w->begin;
			} else if (k >= 0 && w->reason == CT_WAIT_MUTEX) {
				sync_ns[k] += w->end - w->begin;
			}
		}
		assert_true(cond >= (int)fact(&r, "waits"));
		/* Each worker's condvar time is in condvar_ns, and only its
		 * (real, brief) mutex contention is in sync_ns. */
		for (int k = 0; k < 2; k++) {
			char args[160];
			snprintf(args, sizeof args,
				 "--argjson t %llu --argjson c %llu --argjson s %llu",
				 (unsigned long long)wt[k], (unsigned long long)cond_ns[k],
				 (unsigned long long)sync_ns[k]);
			assert_true(report_holds(
				&r, args,
				"[.threads[] | select(.tid == $t)][0].waits"
				" | .condvar_ns > 0 and .condvar_ns >= $c - 1000"
				" and .condvar_ns <= $c + 1000 and .sync_ns >= $s - 1000"
				" and .sync_ns <= $s + 1000"));
		}
		assert_true(report_holds(&r, "",
					 "[.waits.top_sites[] | select(.function =="
					 " \"worker_wait_site\")] | length > 0"
					 " and all(.reason == \"condvar\" and .category =="
					 " \"condvar\" and .holder == null)"));
	}
}

/* ---- blocked when the trace ends ---- */

/* A thread inside read() on a pipe and one inside pthread_mutex_lock when
 * the program exits (the trace stops at exit): both show as blocked in
 * that call at that site, to the end of the trace. */
static void test_blocked_when_trace_ends(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("stuck", v, &r);
		const struct wait *rd = only_at(&r, CT_WAIT_PIPE, "stuck_read_site");
		assert_int_equal(rd->tid, fact(&r, "reader_tid"));
		assert_int_equal(rd->object, fact(&r, "fd"));
		assert_int_equal(rd->detail, CT_CALL_READ);
		assert_false(rd->ended);
		const struct wait *lk = only_at(&r, CT_WAIT_MUTEX, "contended_lock_site");
		assert_int_equal(lk->tid, fact(&r, "locker_tid"));
		assert_int_equal(lk->object, fact(&r, "mutex"));
		assert_int_equal(lk->detail, fact(&r, "holder_tid"));
		assert_false(lk->ended);
		char args[200];
		snprintf(args, sizeof args,
			 "--argjson r %llu --argjson l %llu --argjson h %llu --argjson a %llu",
			 (unsigned long long)fact(&r, "reader_tid"),
			 (unsigned long long)fact(&r, "locker_tid"),
			 (unsigned long long)fact(&r, "holder_tid"),
			 (unsigned long long)fact(&r, "after_ns") * 99 / 100);
		assert_true(report_holds(
			&r, args,
			".trace.end_ns as $stop | .waits.open_at_end == 2"
			" and ([.threads[] | select(.tid == $r)][0].blocked_at_end"
			" | .open and .reason == \"pipe\" and .category == \"fd\""
			" and .function == \"stuck_read_site\" and .start_ns + .duration_ns == "
			"$stop and .duration_ns >= $a)"
			" and ([.threads[] | select(.tid == $l)][0].blocked_at_end"
			" | .open and .reason == \"mutex\" and .function == \"contended_lock_site\""
			" and .holder.tid == $h and .start_ns + .duration_ns == $stop"
			" and .duration_ns >= $a)"));
	}
}

/* ---- every other entry point, once ---- */

static void test_other_entry_points(void **state)
{
	(void)state;
	static struct run r;
	enum { ANY = -1000 };
	static const struct {
		const char *site;
		unsigned reason;
		int64_t detail, result; /* ANY: not checked */
		const char *object;	/* a fact, or NULL */
	} calls[] = {
		{"clocklock_call", CT_WAIT_MUTEX, ANY, 0, "mutex"},
		{"cond_clockwait_call", CT_WAIT_CONDVAR, 0, ETIMEDOUT, "cond"},
		{"timedjoin_call", CT_WAIT_JOIN, 0, 0, NULL},
		{"clockjoin_call", CT_WAIT_JOIN, 0, 0, NULL},
		{"pwrite64_site", CT_WAIT_FILE, CT_CALL_WRITE, 4, "file"},
		{"pread64_site", CT_WAIT_FILE, CT_CALL_READ, 1, "file"},
		{"pwritev_site", CT_WAIT_FILE, CT_CALL_WRITE, 1, "file"},
		{"preadv_site", CT_WAIT_FILE, CT_CALL_READ, 1, "file"},
		{"pwritev64_site", CT_WAIT_FILE, CT_CALL_WRITE, 1, "file"},
		{"preadv64_site", CT_WAIT_FILE, CT_CALL_READ, 1, "file"},
		{"pwritev2_site", CT_WAIT_FILE, CT_CALL_WRITE, 1, "file"},
		{"preadv2_site", CT_WAIT_FILE, CT_CALL_READ, 1, "file"},
		{"pwritev64v2_site", CT_WAIT_FILE, CT_CALL_WRITE, 1, "file"},
		{"preadv64v2_site", CT_WAIT_FILE, CT_CALL_READ, 1, "file"},
		{"creat_site", CT_WAIT_FILE, CT_CALL_OPEN, ANY, NULL},
		{"creat64_site", CT_WAIT_FILE, CT_CALL_OPEN, ANY, NULL},
		{"sendmmsg_site", CT_WAIT_NET, CT_CALL_SEND, 1, "sock_peer"},
		{"recvmmsg_site", CT_WAIT_NET, CT_CALL_RECV, 1, "sock"}, /* a dup'ed socket */
		{"epoll_pwait2_site", CT_WAIT_POLL, 0, 1, "epfd"},
	};
	FOR_VARIANTS(v)
	{
		run_mode("calls", v, &r);
		for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
			const struct wait *w = only_at(&r, calls[i].reason, calls[i].site);
			assert_true(w->ended);
			if (calls[i].detail != ANY)
				assert_int_equal(w->detail, calls[i].detail);
			if (calls[i].result != ANY)
				assert_int_equal(w->result, calls[i].result);
			else
				assert_true(w->result >= 0);
			if (calls[i].object)
				assert_int_equal(w->object, fact(&r, calls[i].object));
		}
		/* the contended clocklock names the holder */
		assert_int_equal(only_at(&r, CT_WAIT_MUTEX, "clocklock_call")->detail,
				 fact(&r, "holder_tid"));
	}
}

/* ---- a fortified build ----
 * -O2 -D_FORTIFY_SOURCE=2 sends the calls to __read_chk and the like
 * (checked on the binary's imports); they are recorded at the caller's
 * site with the fd's kind. */
static void test_fortified_calls(void **state)
{
	(void)state;
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "nm -D --undefined-only %s | grep -c -E "
		 "' (__read_chk|__pread_chk|__recv_chk|__recvfrom_chk|__poll_chk|__open_2)@'",
		 WAITS_PROG_FORTIFY);
	FILE *p = popen(cmd, "r");
	int imported = -1;
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &imported), 1);
	pclose(p);
	/* clang 14 does not fortify these calls against glibc 2.36: the plain
	 * calls are checked then, and the test says so. */
	if (imported == 0)
		fprintf(stderr,
			"test_fortified_calls: %s imports no _chk functions (the compiler "
			"does not fortify them): checking the plain calls only\n",
			WAITS_PROG_FORTIFY);
	else if (imported != 6)
		fail_msg("%s imports %d of the six _chk/_2 functions", WAITS_PROG_FORTIFY,
			 imported);
	static struct run r;
	static const struct {
		const char *site;
		unsigned reason, call;
		const char *fd_fact;
	} calls[] = {
		{"fortified_read_site", CT_WAIT_PIPE, CT_CALL_READ, "pipe"},
		{"fortified_pread_site", CT_WAIT_FILE, CT_CALL_READ, "file"},
		{"fortified_recv_site", CT_WAIT_NET, CT_CALL_RECV, "sock"},
		{"fortified_recvfrom_site", CT_WAIT_NET, CT_CALL_RECV, "sock"},
		{"fortified_open_site", CT_WAIT_FILE, CT_CALL_OPEN, NULL},
		{"fortified_poll_site", CT_WAIT_POLL, 0, NULL},
	};
	FOR_VARIANTS(v)
	{
		run_prog("fortify", v, FORTIFIED, &r);
		for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
			const struct wait *w = only_at(&r, calls[i].reason, calls[i].site);
			assert_int_equal(w->detail, calls[i].call);
			if (calls[i].fd_fact)
				assert_int_equal(w->object, fact(&r, calls[i].fd_fact));
			assert_true(w->ended);
			if (calls[i].reason == CT_WAIT_FILE && calls[i].call == CT_CALL_OPEN)
				assert_int_equal(w->result, fact(&r, "file"));
			else
				assert_int_equal(w->result, 1);
		}
		/* The report's sites are the callers, not glibc's inline wrappers. */
		assert_true(report_holds(
			&r, "",
			"[.waits.top_sites[] | .function] | contains([\"fortified_read_site\","
			" \"fortified_pread_site\", \"fortified_recv_site\","
			" \"fortified_recvfrom_site\", \"fortified_open_site\","
			" \"fortified_poll_site\"])"));
		assert_true(
			report_holds(&r, "",
				     "all(.waits.top_sites[]; .file | startswith(\"/usr/include/\")"
				     " | not)"));
	}
}

/* ---- fork, an unmodified program, the report ---- */

static void test_fork_child_stays_out(void **state)
{
	(void)state;
	static struct run r;
	FOR_VARIANTS(v)
	{
		run_mode("fork", v, &r);
		int sleeps = 0;
		for (int i = 0; i < r.n; i++)
			if (r.w[i].reason == CT_WAIT_SLEEP &&
			    r.w[i].detail == fact(&r, "after_fork_sleep_ns"))
				sleeps++;
		assert_int_equal(sleeps, 1);
		/* 2 sleeps of the parent, none of the child's 200 */
		int all = 0;
		for (int i = 0; i < r.n; i++)
			all += r.w[i].reason == CT_WAIT_SLEEP;
		assert_int_equal(all, 2);
	}
}

/* `ctrace report --json` over a contended mutex: the waiter's time is
 * sync, the top mutex site is the lock's caller, the holder is named. */
static void test_report_waits(void **state)
{
	(void)state;
	static struct run r;
	int wrapped = variants() == 2 ? 0 : 1;
	run_mode("mutex", wrapped, &r);
	uint64_t waited = 0;
	for (int i = 0; i < r.n; i++)
		if (r.w[i].reason == CT_WAIT_MUTEX && r.w[i].object == fact(&r, "mutex"))
			waited = r.w[i].end - r.w[i].begin;
	char args[160];
	snprintf(args, sizeof args, "--argjson h %llu --argjson w %llu --argjson d %llu",
		 (unsigned long long)fact(&r, "holder_tid"),
		 (unsigned long long)fact(&r, "waiter_tid"), (unsigned long long)waited);
	assert_true(
		report_holds(&r, args,
			     "([.threads[] | select(.tid == $w)][0].waits.sync_ns "
			     "| . > 0 and . >= $d - 1000 and . <= $d + 1000) "
			     "and ([.waits.top_sites[] | select(.reason == \"mutex\")][0] as $s "
			     "| $s.function == \"contended_lock_site\" and $s.holder.tid == $h "
			     "and $s.holder.thread == ([.threads[] | select(.tid == $h)][0].index) "
			     "and ($s.holder.name | startswith(\"waits_prog\")))"));
}

static void test_unmodified_program(void **state)
{
	(void)state;
#ifdef CTRACE_SANITIZED
	skip();
#endif
	char trace[256], cmd[1024];
	snprintf(trace, sizeof trace, "%s/sleep.ctrace", tmpdir);
	snprintf(cmd, sizeof cmd, "%s run -o %s -- /bin/sleep 0.2", CTRACE_CLI, trace);
	assert_int_equal(system(cmd), 0);
	static struct run r;
	memset(&r, 0, sizeof r);
	read_waits(trace, &r);
	assert_true(r.complete);
	uint64_t asked = 0;
	for (int i = 0; i < r.n; i++)
		if (r.w[i].reason == CT_WAIT_SLEEP)
			asked += r.w[i].detail;
	assert_int_equal(asked, 200000000);
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
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contended_mutex),
		cmocka_unit_test(test_lock_held_across_fsync),
		cmocka_unit_test(test_rwlock_reader_blocked_by_writer),
		cmocka_unit_test(test_semaphore),
		cmocka_unit_test(test_barrier),
		cmocka_unit_test(test_poll_and_epoll),
		cmocka_unit_test(test_late_socket_peer),
		cmocka_unit_test_teardown(test_syscall_threshold, syscall_min_restore),
		cmocka_unit_test(test_loopback_server_answers_late),
		cmocka_unit_test(test_sleep_loop),
		cmocka_unit_test(test_condvar_pool),
		cmocka_unit_test(test_blocked_when_trace_ends),
		cmocka_unit_test(test_other_entry_points),
		cmocka_unit_test(test_fortified_calls),
		cmocka_unit_test(test_fork_child_stays_out),
		cmocka_unit_test(test_unmodified_program),
		cmocka_unit_test(test_report_waits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
