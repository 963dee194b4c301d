/* The flight recorder (first part of issue 4): a capture that keeps its most
 * recent generations in memory under a hard byte cap and writes them out on
 * demand as a standalone trace, alone or beside a streaming capture. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "flight_helpers.h"

static char tmpdir[] = "/tmp/ctrace-flight-XXXXXX";

struct dump {
	int rc, complete;
	uint64_t events, first_step, last_step, steps;
	char capped[8];
	uint64_t window_ns;
};

/* Log messages are "step N ...": the first and last N a trace holds. */
static void read_dump(const char *path, struct dump *d)
{
	memset(d, 0, sizeof *d);
	d->first_step = UINT64_MAX;
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_trace_info *info = ct_reader_info(r);
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2) {
		if (!strcmp(info->meta[i], "dump.size_capped"))
			snprintf(d->capped, sizeof d->capped, "%s", info->meta[i + 1]);
		if (!strcmp(info->meta[i], "dump.window_ns"))
			d->window_ns = strtoull(info->meta[i + 1], NULL, 10);
	}
	struct ct_event ev;
	int rc;
	while ((rc = ct_reader_next(r, &ev)) == 1) {
		d->events++;
		if (log_number(&ev, "step ") >= 0) {
			uint64_t n = (uint64_t)log_number(&ev, "step ");
			d->steps++;
			if (n < d->first_step)
				d->first_step = n;
			if (n > d->last_step)
				d->last_step = n;
		}
	}
	d->rc = rc;
	d->complete = ct_reader_complete(r);
	ct_reader_close(r);
}

static void emit_steps(uint64_t from, uint64_t to)
{
	emit_steps_as(CT_NAME("flight"), from, to);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

#define CAP (1u << 20)

static void start_flight(const char *stream_path)
{
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = CAP;
	if (stream_path)
		c.path = stream_path;
	assert_int_equal(ct_start(&c), 0);
}

/* The window holds the newest events, never more than the cap, and says the
 * cap cut it short of the 10 s wanted; a second dump holds newer ones. */
static void test_window_is_capped_and_recent(void **state)
{
	(void)state;
	char p1[256], p2[256];
	snprintf(p1, sizeof p1, "%s/one.ctrace", tmpdir);
	snprintf(p2, sizeof p2, "%s/two.ctrace", tmpdir);
	start_flight(NULL);
	const uint64_t n = 200000; /* about 8 MB of logs: eight windows */
	emit_steps(0, n);
	assert_int_equal(ct_flight_write(p1), 0);
	emit_steps(n, n + 1000);
	assert_int_equal(ct_flight_write(p2), 0);
	assert_int_equal(ct_stop(), 0);

	struct dump d;
	read_dump(p1, &d);
	assert_int_equal(d.rc, 0);
	assert_true(d.complete);
	assert_int_equal(d.last_step, n - 1); /* up to the moment of the dump */
	assert_true(d.first_step > 0);	      /* the oldest were evicted */
	assert_true(d.steps > 1000);
	assert_string_equal(d.capped, "1");
	/* the frames never exceed the cap; the header and end frame are small */
	assert_true(file_size(p1) <= (off_t)CAP + 64 * 1024);

	read_dump(p2, &d);
	assert_int_equal(d.rc, 0);
	assert_true(d.complete);
	assert_int_equal(d.last_step, n + 999);
}

/* A window with room keeps its generations uncompressed (compressing them
 * would buy history nobody asked for), a dump still writes them compressed,
 * and once the cap would cut the history short of half as much again as
 * min_age the new generations are compressed. */
static void test_compressed_only_when_needed(void **state)
{
	(void)state;
	char p1[256];
	snprintf(p1, sizeof p1, "%s/room.ctrace", tmpdir);
	start_flight(NULL);  /* min_age: the default 10 s */
	emit_steps(0, 3000); /* about 150 KB of logs: a seventh of the cap */
	assert_int_equal(ct_flight_write(p1), 0);
	struct ct_stats st;
	ct_get_stats(&st);
	assert_true(st.flight_frames > 0);
	assert_int_equal(st.flight_frames_raw, st.flight_frames);
	struct dump d;
	read_dump(p1, &d);
	assert_int_equal(d.rc, 0);
	assert_true(d.complete);
	assert_int_equal(d.steps, 3000);
	/* the dump compressed what the window held as it was */
	assert_true((uint64_t)file_size(p1) < st.flight_bytes * 3 / 4);

	emit_steps(3000, 200000); /* eight windows: the cap binds */
	assert_int_equal(ct_flight_write(p1), 0);
	ct_get_stats(&st);
	assert_true(st.flight_frames > 0);
	assert_true(st.flight_frames_raw < st.flight_frames);
	assert_int_equal(ct_stop(), 0);
	read_dump(p1, &d);
	assert_int_equal(d.rc, 0);
	assert_true(d.complete);
	assert_int_equal(d.last_step, 199999);
	unlink(p1);
}

/* Beside a streaming capture: the stream has every event, the dump a valid
 * recent window. */
static void test_with_streaming_capture(void **state)
{
	(void)state;
	char stream[256], dump[256];
	snprintf(stream, sizeof stream, "%s/stream.ctrace", tmpdir);
	snprintf(dump, sizeof dump, "%s/both.ctrace", tmpdir);
	start_flight(stream);
	emit_steps(0, 100000);
	assert_int_equal(ct_flight_write(dump), 0);
	assert_int_equal(ct_stop(), 0);
	struct dump d;
	read_dump(stream, &d);
	assert_int_equal(d.rc, 0);
	assert_true(d.complete);
	assert_int_equal(d.steps, 100000);
	read_dump(dump, &d);
	assert_int_equal(d.rc, 0);
	assert_true(d.complete);
	assert_int_equal(d.last_step, 99999);
}

static void *dumper(void *arg)
{
	return (void *)(intptr_t)ct_flight_write(arg);
}

/* Dumps from several threads at once are serialized, each complete. */
static void test_concurrent_dumps(void **state)
{
	(void)state;
	char paths[4][256];
	pthread_t th[4];
	start_flight(NULL);
	emit_steps(0, 50000);
	for (int i = 0; i < 4; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/c%d.ctrace", tmpdir, i);
		assert_int_equal(pthread_create(&th[i], NULL, dumper, paths[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *rc;
		pthread_join(th[i], &rc);
		assert_int_equal((intptr_t)rc, 0);
	}
	assert_int_equal(ct_stop(), 0);
	for (int i = 0; i < 4; i++) {
		struct dump d;
		read_dump(paths[i], &d);
		assert_int_equal(d.rc, 0);
		assert_true(d.complete);
		assert_int_equal(d.last_step, 49999);
	}
}

/* Without a flight recorder there is nothing to write, and no file appears. */
static void test_no_flight_recorder(void **state)
{
	(void)state;
	char path[256], stream[256];
	snprintf(path, sizeof path, "%s/none.ctrace", tmpdir);
	snprintf(stream, sizeof stream, "%s/plain.ctrace", tmpdir);
	assert_int_equal(ct_flight_write(path), CT_ENOTRUNNING);
	struct ct_config c;
	ct_config_init(&c);
	c.path = stream;
	assert_int_equal(ct_start(&c), 0);
	assert_int_equal(ct_flight_write(path), CT_ENOTRUNNING);
	assert_int_equal(ct_stop(), 0);
	assert_int_equal(access(path, F_OK), -1);
	/* and a flight recorder's size is checked */
	ct_config_init(&c);
	c.flight_max_bytes = 1000;
	assert_int_equal(ct_start(&c), CT_ECONFIG);
}

/* ---- a thread blocked at the moment of the dump ---- */

static int stuck_fds[2];
static _Atomic pid_t stuck_tid;

static __attribute__((noinline)) void *stuck_reader(void *arg)
{
	(void)arg;
	char c;
	atomic_store(&stuck_tid, (pid_t)gettid());
	ssize_t n = traced_read(stuck_fds[0], &c, 1);
	__asm__ volatile("" ::: "memory");
	return (void *)(intptr_t)n;
}

struct stuck_view {
	int begins, ends, open_at_end;
	uint64_t begin_ts, last_ts;
	char site[128], caller[128]; /* the last begin's frames 0 and 1 */
	uint32_t depth;
};

static void read_stuck(const char *path, pid_t tid, struct stuck_view *v)
{
	memset(v, 0, sizeof *v);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	struct ct_event ev;
	int open = 0;
	while (ct_reader_next(r, &ev) == 1) {
		v->last_ts = ev.ts;
		if (!ev.thread || ev.thread->tid != (uint32_t)tid)
			continue;
		if (ev.type == CT_EV_WAIT_BEGIN && ev.args[0] == CT_WAIT_PIPE) {
			v->begins++;
			open = 1;
			v->begin_ts = ev.ts;
			v->depth = ev.stack ? ev.stack->nframes : 0;
			if (ev.stack && ev.stack->nframes)
				snprintf(v->site, sizeof v->site, "%s",
					 ev.stack->frames[0].function);
			if (ev.stack && ev.stack->nframes > 1)
				snprintf(v->caller, sizeof v->caller, "%s",
					 ev.stack->frames[1].function);
		} else if (ev.type == CT_EV_WAIT_END && open) {
			v->ends++;
			open = 0;
		}
	}
	v->open_at_end = open;
	ct_reader_close(r);
}

/* The dump shows the thread blocked in its call, at its site, from when it
 * began; the stream (recorded beside) has that wait once, begun and ended. */
static void test_dump_shows_blocked_thread(void **state)
{
	(void)state;
	char stream[256], dump[256], cmd[1024];
	snprintf(stream, sizeof stream, "%s/stuck-stream.ctrace", tmpdir);
	snprintf(dump, sizeof dump, "%s/stuck.ctrace", tmpdir);
	assert_int_equal(pipe(stuck_fds), 0);
	start_flight(stream);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stuck_reader, NULL), 0);
	while (!atomic_load(&stuck_tid))
		sched_yield();
	pid_t tid = atomic_load(&stuck_tid);
	assert_int_equal(wait_blocked(tid), 0);
	/* it stays blocked 100 ms before the dump (the duration under test) */
	struct timespec ts = {0, 100000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	emit_steps(0, 10);
	assert_int_equal(ct_flight_write(dump), 0);
	assert_int_equal(write(stuck_fds[1], "x", 1), 1);
	void *got;
	pthread_join(th, &got);
	assert_int_equal((intptr_t)got, 1);
	assert_int_equal(ct_stop(), 0);

	struct stuck_view v;
	read_stuck(dump, tid, &v);
	assert_int_equal(v.begins, 1);
	assert_true(v.open_at_end);
	assert_string_equal(v.site, "stuck_reader");
	/* the report: blocked at the end of the dump, for the 100 ms at least */
	snprintf(cmd, sizeof cmd,
		 "%s report --json %s | jq -e --argjson t %d '[.threads[] | select(.tid == $t)"
		 " | .blocked_at_end.duration_ns][0] >= 90000000' >/dev/null",
		 CTRACE_CLI, dump, (int)tid);
	assert_int_equal(system(cmd), 0);

	read_stuck(stream, tid, &v);
	assert_int_equal(v.begins, 1);
	assert_int_equal(v.ends, 1);
	assert_false(v.open_at_end);
	close(stuck_fds[0]);
	close(stuck_fds[1]);
}

/* A call site whose last two calls blocked walks its next call's stack as
 * the call begins (rec.h call_begin), so a dump cut while that call is
 * still blocked shows the whole stack, not the call site alone. */
static _Atomic int again_reads;

static __attribute__((noinline)) ssize_t read_one(int fd)
{
	char c;
	ssize_t n = traced_read(fd, &c, 1);
	__asm__ volatile("" ::: "memory");
	return n;
}

static __attribute__((noinline)) void *stuck_again(void *arg)
{
	(void)arg;
	atomic_store(&stuck_tid, (pid_t)gettid());
	ssize_t n = 0;
	for (int i = 0; i < 3; i++) {
		n += read_one(stuck_fds[0]);
		atomic_fetch_add(&again_reads, 1);
	}
	__asm__ volatile("" ::: "memory");
	return (void *)(intptr_t)n;
}

static void test_dump_shows_blocked_stack(void **state)
{
	(void)state;
	char dump[256];
	snprintf(dump, sizeof dump, "%s/stuck-again.ctrace", tmpdir);
	assert_int_equal(pipe(stuck_fds), 0);
	atomic_store(&stuck_tid, 0);
	atomic_store(&again_reads, 0);
	start_flight(NULL);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stuck_again, NULL), 0);
	while (!atomic_load(&stuck_tid))
		sched_yield();
	pid_t tid = atomic_load(&stuck_tid);
	/* the first two reads block, are recorded, and return */
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(wait_blocked(tid), 0);
		assert_int_equal(write(stuck_fds[1], "x", 1), 1);
		while (atomic_load(&again_reads) < i)
			sched_yield();
	}
	/* the third, from the same site, is blocked at the dump */
	assert_int_equal(wait_blocked(tid), 0);
	assert_int_equal(ct_flight_write(dump), 0);
	assert_int_equal(write(stuck_fds[1], "y", 1), 1);
	void *got;
	pthread_join(th, &got);
	assert_int_equal((intptr_t)got, 3);
	assert_int_equal(ct_stop(), 0);

	struct stuck_view v;
	read_stuck(dump, tid, &v);
	assert_int_equal(v.begins, 3);
	assert_int_equal(v.ends, 2);
	assert_true(v.open_at_end);
	assert_true(v.depth >= 2);
	assert_string_equal(v.site, "read_one");
	assert_string_equal(v.caller, "stuck_again");
	close(stuck_fds[0]);
	close(stuck_fds[1]);
	unlink(dump);
}

/* ---- dumps and flushes racing the stop ---- */

static _Atomic int racers_started;

static void *racer(void *arg)
{
	int fd = *(int *)arg, n = 0;
	atomic_fetch_add(&racers_started, 1);
	for (;;) {
		int rc = (n++ & 1) ? ct_flush() : ct_flight_write_fd(fd);
		if (rc == CT_ENOTRUNNING)
			return (void *)(intptr_t)n;
		assert_int_equal(rc, 0);
	}
}

/* Callers inside ct_flush or ct_flight_write when the capture stops return
 * CT_ENOTRUNNING (or finish), never touch the freed writer, never hang
 * (ASan in CI checks the first). */
static void test_dumps_racing_stop(void **state)
{
	(void)state;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	start_flight(NULL);
	emit_steps(0, 1000);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, racer, &fd), 0);
	while (atomic_load(&racers_started) < 3)
		sched_yield();
	emit_steps(1000, 20000);
	assert_int_equal(ct_stop(), 0);
	for (int i = 0; i < 3; i++) {
		void *n;
		pthread_join(th[i], &n);
		assert_true((intptr_t)n >= 1);
	}
	close(fd);
}

/* ---- triggered dumps into a directory ---- */

static void start_triggers(const char *dir, uint64_t cooldown, unsigned max_files, int sig)
{
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = CAP;
	c.dump_dir = dir;
	c.dump_cooldown_ns = cooldown;
	c.dump_max_files = max_files;
	c.dump_signal = sig;
	assert_int_equal(ct_start(&c), 0);
}

static void dump_reason(const char *path, char *out, size_t cap)
{
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_trace_info *info = ct_reader_info(r);
	out[0] = 0;
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2)
		if (!strcmp(info->meta[i], "dump.reason"))
			snprintf(out, cap, "%s", info->meta[i + 1]);
	ct_reader_close(r);
}

/* A storm of triggers within the cooldown gives one dump; with no cooldown,
 * retention keeps the newest max_files; the dump signal triggers one. The
 * writer takes a trigger at its next round, which ct_flush() runs. */
static void test_triggered_dumps(void **state)
{
	(void)state;
	char dir[256], path[600], reason[64];
	static char names[16][256];
	snprintf(dir, sizeof dir, "%s/dumps", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);

	start_triggers(dir, 3600000000000ull, 10, 0);
	emit_steps(0, 1000);
	for (int i = 0; i < 20; i++)
		assert_int_equal(ct_flight_trigger("storm"), 0);
	assert_int_equal(ct_flush(), 0);
	emit_steps(1000, 2000);
	assert_int_equal(ct_flight_trigger("storm"), 0); /* within the cooldown */
	assert_int_equal(ct_flush(), 0);
	assert_int_equal(ct_stop(), 0);
	assert_int_equal(list_dumps(dir, names, 16), 1);
	assert_non_null(strstr(names[0], "-storm.ctrace"));
	snprintf(path, sizeof path, "%s/%s", dir, names[0]);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	dump_reason(path, reason, sizeof reason);
	assert_string_equal(reason, "storm");
	struct dump d;
	read_dump(path, &d);
	assert_int_equal(d.rc, 0);
	assert_true(d.complete);
	assert_int_equal(d.last_step, 999);
	unlink(path);

	start_triggers(dir, 0, 2, SIGUSR2);
	for (int i = 0; i < 4; i++) {
		char r[16];
		snprintf(r, sizeof r, "r%d", i);
		emit_steps((uint64_t)i * 100, (uint64_t)i * 100 + 100);
		assert_int_equal(ct_flight_trigger(r), 0);
		assert_int_equal(ct_flush(), 0);
	}
	assert_int_equal(list_dumps(dir, names, 16), 2);
	/* the two newest are kept (names sort by time, then serial) */
	assert_non_null(strstr(names[0], "-r2.ctrace"));
	assert_non_null(strstr(names[1], "-r3.ctrace"));
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(ct_flush(), 0);
	assert_int_equal(list_dumps(dir, names, 16), 2);
	assert_non_null(strstr(names[1], "-signal.ctrace"));
	assert_int_equal(ct_stop(), 0);
	/* the program's SIGUSR2 disposition is back */
	struct sigaction sa;
	assert_int_equal(sigaction(SIGUSR2, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_DFL);
	/* without a capture, a trigger is refused */
	assert_int_equal(ct_flight_trigger("late"), CT_ENOTRUNNING);
}

/* ---- the cap under load ---- */

#define CAP_THREADS 16
#define CAP_DUMPS   12

struct producer {
	pthread_t th;
	pid_t tid;
	uint64_t emitted; /* events logged (while the capture ran) */
};
static struct producer producers[CAP_THREADS];
static _Atomic int cap_stop, cap_ready;

/* Logs as fast as it can: each event carries its number (8 bytes). */
static void *produce(void *arg)
{
	struct producer *p = arg;
	p->tid = (pid_t)gettid();
	atomic_fetch_add(&cap_ready, 1);
	uint64_t i = 0;
	while (!atomic_load_explicit(&cap_stop, memory_order_relaxed))
		for (int k = 0; k < 256; k++, i++)
			ct_log_n(CT_NAME("cap"), (const char *)&i, sizeof i);
	p->emitted = i;
	return NULL;
}

static int producer_of(const struct ct_event *ev)
{
	for (int i = 0; ev->thread && i < CAP_THREADS; i++)
		if (ev->thread->tid == (uint32_t)producers[i].tid)
			return i;
	return -1;
}

struct cap_view {
	int rc, complete;
	uint64_t frame_bytes; /* the generations' bytes in the file */
	uint64_t max_ts;
	uint64_t marks, last_mark;
	uint64_t logs[CAP_THREADS], other[CAP_THREADS], lost[CAP_THREADS];
	uint64_t lost_other; /* loss not attributed to a producer */
};

static void read_cap(const char *path, struct cap_view *v)
{
	memset(v, 0, sizeof *v);
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_generation *g;
	int rc;
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		v->frame_bytes += g->size;
		for (uint32_t i = 0; i < g->nloss; i++) {
			int who = -1;
			for (int k = 0; g->loss[i].thread && k < CAP_THREADS; k++)
				if (g->loss[i].thread->tid == (uint32_t)producers[k].tid)
					who = k;
			if (who >= 0)
				v->lost[who] += g->loss[i].count;
			else
				v->lost_other += g->loss[i].count;
		}
		struct ct_event ev;
		while ((rc = ct_reader_next_in_generation(r, &ev)) == 1) {
			if (ev.ts > v->max_ts)
				v->max_ts = ev.ts;
			int who = producer_of(&ev);
			if (ev.type == CT_EV_LOSS) {
				if (who >= 0)
					v->lost[who] += ev.args[0];
				else
					v->lost_other += ev.args[0];
			} else if (ev.type == CT_EV_LOG && who >= 0) {
				v->logs[who]++;
			} else if (who >= 0) {
				v->other[who]++; /* its thread.end */
			} else if (ev.type == CT_EV_LOG && ev.nbytes == 8 && ev.strs[0] &&
				   !strcmp(ev.strs[0], "mark")) {
				uint64_t k;
				memcpy(&k, ev.bytes, 8);
				v->marks++;
				if (k > v->last_mark)
					v->last_mark = k;
			}
		}
		if (rc < 0)
			break;
	}
	v->rc = rc;
	v->complete = ct_reader_complete(r);
	ct_reader_close(r);
}

/* Sixteen threads log at full rate into a 1 MiB flight recorder (and a
 * stream beside it) while the main thread dumps again and again: no dump's
 * window exceeds the cap, each is a valid trace that ends with the newest
 * events (the main thread's mark logged just before the request, and
 * nothing after it), the window's high-water stays under the cap, and in
 * the stream every event a thread wrote is there or counted as lost (on 2
 * CPUs almost all are: the writer gets a seventeenth of the time). */
static void test_cap_under_load(void **state)
{
	(void)state;
	char stream[256];
	snprintf(stream, sizeof stream, "%s/cap-stream.ctrace", tmpdir);
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = CAP;
	c.path = stream;
	/* A pool small beside the window: the backlog a starved writer finds
	 * at a dump (the pool and the generation under way, 640 KiB) fits in
	 * the window even uncompressed, so the dump ends with the mark; and
	 * the threads drop events, which the stream must account for. */
	c.buffer_bytes = 512u << 10;
	c.chunk_bytes = 8u << 10;
	c.sched = CT_SCHED_OFF; /* the producers' own events only */
	c.faults = 0;
	c.cgroup = 0;
	assert_int_equal(ct_start(&c), 0);
	uint64_t k = 0;
	ct_log_n(CT_NAME("mark"), (const char *)&k, sizeof k); /* the main thread's chunk */
	atomic_store(&cap_stop, 0);
	atomic_store(&cap_ready, 0);
	for (int i = 0; i < CAP_THREADS; i++)
		assert_int_equal(pthread_create(&producers[i].th, NULL, produce, &producers[i]), 0);
	while (atomic_load(&cap_ready) < CAP_THREADS)
		sched_yield();
	/* dumps while the threads run; read once they stop (a reader
	 * among sixteen spinning threads would mostly wait for a CPU) */
	char paths[CAP_DUMPS + 1][256];
	uint64_t done_ns[CAP_DUMPS + 1];
	for (k = 1; k <= CAP_DUMPS; k++) {
		ct_log_n(CT_NAME("mark"), (const char *)&k, sizeof k);
		snprintf(paths[k], sizeof paths[k], "%s/cap-%llu.ctrace", tmpdir,
			 (unsigned long long)k);
		int fd = open(paths[k], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ct_flight_write_fd(fd), 0);
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		done_ns[k] = (uint64_t)t1.tv_sec * 1000000000u + (uint64_t)t1.tv_nsec;
		close(fd);
	}
	atomic_store(&cap_stop, 1);
	for (int i = 0; i < CAP_THREADS; i++)
		pthread_join(producers[i].th, NULL);
	struct ct_stats st;
	ct_get_stats(&st);
	assert_int_equal(ct_stop(), 0);
	uint64_t filled = 0;
	for (k = 1; k <= CAP_DUMPS; k++) {
		struct cap_view v;
		read_cap(paths[k], &v);
		assert_int_equal(v.rc, 0);
		assert_true(v.complete);
		assert_true(v.frame_bytes <= CAP);
		if (v.frame_bytes > CAP / 2)
			filled++;
		/* the window ends at the dump: the mark logged just before is
		 * its newest, and no event is later than the dump's return */
		assert_int_equal(v.last_mark, k);
		assert_true(v.max_ts <= done_ns[k]);
		unlink(paths[k]);
	}
	/* the window was full, and never over the cap */
	assert_true(filled > 0);
	assert_true(st.flight_bytes_max <= CAP);
	assert_true(st.flight_bytes_max > CAP / 2);
	assert_true(st.flight_bytes <= st.flight_bytes_max);
	assert_true(st.mem_window <= CAP + CAP / 16);

	/* nothing vanished: per thread, logged = in the stream + lost */
	struct cap_view v;
	read_cap(stream, &v);
	assert_int_equal(v.rc, 0);
	assert_true(v.complete);
	assert_int_equal(v.marks, CAP_DUMPS + 1);
	uint64_t logged = 0, lost = 0;
	for (int i = 0; i < CAP_THREADS; i++) {
		assert_true(producers[i].emitted > 0);
		/* its logs and its thread.end, written or lost */
		assert_int_equal(v.other[i], v.other[i] ? 1 : 0);
		assert_int_equal(v.logs[i] + v.other[i] + v.lost[i], producers[i].emitted + 1);
		logged += producers[i].emitted;
		lost += v.lost[i];
	}
	assert_int_equal(v.lost_other, 0);
	printf("cap under load: %d threads logged %llu events, %llu lost (in the trace), %llu "
	       "dumps, window high-water %llu of %u bytes, memory %llu (window %llu, pool %llu, "
	       "writer %llu)\n",
	       CAP_THREADS, (unsigned long long)logged, (unsigned long long)lost,
	       (unsigned long long)CAP_DUMPS, (unsigned long long)st.flight_bytes_max, CAP,
	       (unsigned long long)st.mem_bytes, (unsigned long long)st.mem_window,
	       (unsigned long long)st.mem_pool, (unsigned long long)st.mem_writer);
	unlink(stream);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_is_capped_and_recent),
		cmocka_unit_test(test_compressed_only_when_needed),
		cmocka_unit_test(test_with_streaming_capture),
		cmocka_unit_test(test_concurrent_dumps),
		cmocka_unit_test(test_no_flight_recorder),
		cmocka_unit_test(test_dump_shows_blocked_thread),
		cmocka_unit_test(test_dump_shows_blocked_stack),
		cmocka_unit_test(test_dumps_racing_stop),
		cmocka_unit_test(test_triggered_dumps),
		cmocka_unit_test(test_cap_under_load),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
