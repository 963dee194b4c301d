/* What the flight-recorder tests share (test_flight, test_crash,
 * test_triggers): a thread blocked in an interposed read, waiting for the
 * kernel to have it asleep, log steps that do not compress to nothing, and
 * the dumps a test's process wrote into a directory with their header
 * metadata. Header-only; include it after cmocka.h. */
#ifndef CT_TESTS_FLIGHT_HELPERS_H
#define CT_TESTS_FLIGHT_HELPERS_H

#include <dirent.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "record/rec.h" /* call_begin/call_end: what an interposed read does */

/* What an interposed read does (src/intercept/io.c TRACE_CALL), with this
 * function standing in for the interposer: the call site is its caller. */
static __attribute__((noinline, unused)) ssize_t traced_read(int fd, void *buf, size_t n)
{
	uint64_t t0;
	struct trec *r = call_begin(CT_WAIT_PIPE, (uint64_t)fd, CT_CALL_READ,
				    __builtin_frame_address(0), &t0);
	ssize_t got = read(fd, buf, n);
	if (r)
		call_end(r, t0, got, __builtin_frame_address(0));
	__asm__ volatile("" ::: "memory"); /* keep the frame: no tail call */
	return got;
}

/* The number after a log's prefix ("step 12", prefix "step "), read within
 * the message's nbytes (the reader's bytes are not NUL-terminated); -1 when
 * the event is not such a log. */
static __attribute__((unused)) long log_number(const struct ct_event *ev, const char *prefix)
{
	size_t k = strlen(prefix), i = k;
	if (ev->type != CT_EV_LOG || ev->nbytes <= k || memcmp(ev->bytes, prefix, k) != 0)
		return -1;
	long v = 0;
	for (; i < ev->nbytes && ev->bytes[i] >= '0' && ev->bytes[i] <= '9'; i++)
		v = v * 10 + (ev->bytes[i] - '0');
	return i > k ? v : -1;
}

/* Waits until thread tid sleeps in the kernel (state S in its stat);
 * -1 when its stat cannot be read (the thread is gone). Through stdio, whose
 * reads the link-time wrappers do not see. */
static __attribute__((unused)) int wait_blocked(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	for (;;) {
		FILE *f = fopen(path, "re");
		if (!f)
			return -1;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		const char *p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return 0;
		sched_yield();
	}
}

/* Logs "step N <noise>" for N in [from, to) under category cat: messages
 * that do not compress to nothing, so a window fills. */
static __attribute__((unused)) void emit_steps_as(ct_name cat, uint64_t from, uint64_t to)
{
	uint64_t x = from * 0x9e3779b97f4a7c15ull + 1;
	for (uint64_t i = from; i < to; i++) {
		char msg[96];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int n = snprintf(msg, sizeof msg, "step %llu %016llx%016llx", (unsigned long long)i,
				 (unsigned long long)x, (unsigned long long)(x * 31));
		ct_log_n(cat, msg, (size_t)n);
	}
}

static int flight_helpers_cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Files in dir named "<this program>-<pid>-...ctrace": how many, and the
 * first max of their names in names (sorted). */
static __attribute__((unused)) int list_dumps(const char *dir, char names[][256], int max)
{
	char prefix[96];
	snprintf(prefix, sizeof prefix, "%s-%d-", program_invocation_short_name, (int)getpid());
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (strncmp(e->d_name, prefix, strlen(prefix)) || l < 7 ||
		    strcmp(e->d_name + l - 7, ".ctrace"))
			continue;
		if (n < max)
			snprintf(names[n], 256, "%s", e->d_name);
		n++;
	}
	closedir(d);
	qsort(names, (size_t)(n < max ? n : max), 256, flight_helpers_cmp_name);
	return n;
}

/* The trace's header value for key into out, "" when absent. */
static __attribute__((unused)) void dump_meta(const char *path, const char *key, char *out,
					      size_t cap)
{
	ct_reader *r = NULL;
	assert_int_equal(ct_reader_open(path, &r), 0);
	const struct ct_trace_info *info = ct_reader_info(r);
	out[0] = 0;
	for (uint32_t i = 0; i + 1 < info->nmeta; i += 2)
		if (!strcmp(info->meta[i], key))
			snprintf(out, cap, "%s", info->meta[i + 1]);
	ct_reader_close(r);
}

#endif
