/* The dump cooldown shared by triggered dumps and the admin endpoint's
 * flight dumps, a short list of the recent dumps, and what the writer says
 * of the recording, for its status page (dumplog.h). */
#include "record/dumplog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic uint64_t cooldown_ns;
static _Atomic uint64_t last_dump_ns; /* 0: none yet */

void dump_cooldown_set(uint64_t ns)
{
	atomic_store(&cooldown_ns, ns);
}

uint64_t dump_cooldown_get(void)
{
	return atomic_load(&cooldown_ns);
}

int dump_cooldown_take(uint64_t now, uint64_t *prev, uint64_t *left_ns)
{
	uint64_t cd = atomic_load(&cooldown_ns);
	uint64_t last = atomic_load(&last_dump_ns);
	do {
		if (last && now >= last && now - last < cd) {
			if (left_ns)
				*left_ns = cd - (now - last);
			return 0;
		}
	} while (!atomic_compare_exchange_weak(&last_dump_ns, &last, now));
	if (prev)
		*prev = last;
	return 1;
}

uint64_t dump_cooldown_left(uint64_t now)
{
	uint64_t cd = atomic_load(&cooldown_ns), last = atomic_load(&last_dump_ns);
	return last && now >= last && now - last < cd ? cd - (now - last) : 0;
}

void dump_cooldown_undo(uint64_t now, uint64_t prev)
{
	uint64_t expect = now;
	atomic_compare_exchange_strong(&last_dump_ns, &expect, prev);
}

void dump_cooldown_note(uint64_t now)
{
	atomic_store(&last_dump_ns, now);
}

void dump_cooldown_reset(void)
{
	atomic_store(&last_dump_ns, 0);
}

static pthread_mutex_t status_mu = PTHREAD_MUTEX_INITIALIZER;
static struct writer_status status;

void writer_status_set(const struct writer_status *s)
{
	pthread_mutex_lock(&status_mu);
	status = *s;
	pthread_mutex_unlock(&status_mu);
}

void writer_status_get(struct writer_status *s)
{
	pthread_mutex_lock(&status_mu);
	*s = status;
	pthread_mutex_unlock(&status_mu);
}

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dumplog_entry ring[DUMPLOG_MAX];
static uint64_t nlog; /* dumps so far; ring[(seq - 1) % DUMPLOG_MAX] */

uint64_t dumplog_add(const char *reason, const char *kind, uint64_t bytes, uint64_t window_ns,
		     int rc)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&log_mu);
	uint64_t seq = ++nlog;
	struct dumplog_entry *e = &ring[(seq - 1) % DUMPLOG_MAX];
	memset(e, 0, sizeof *e);
	e->seq = seq;
	e->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	e->bytes = bytes;
	e->window_ns = window_ns;
	e->rc = rc;
	snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "");
	snprintf(e->kind, sizeof e->kind, "%s", kind ? kind : "");
	pthread_mutex_unlock(&log_mu);
	return seq;
}

void dumplog_set_file(uint64_t seq, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	pthread_mutex_lock(&log_mu);
	struct dumplog_entry *e = &ring[(seq - 1) % DUMPLOG_MAX];
	if (seq && e->seq == seq)
		snprintf(e->file, sizeof e->file, "%s", base);
	pthread_mutex_unlock(&log_mu);
}

size_t dumplog_get(struct dumplog_entry *out, size_t max, uint64_t *total)
{
	pthread_mutex_lock(&log_mu);
	uint64_t first = nlog > DUMPLOG_MAX ? nlog - DUMPLOG_MAX + 1 : 1;
	if (nlog - first + 1 > max)
		first = nlog - max + 1;
	size_t n = 0;
	for (uint64_t s = first; s <= nlog && nlog; s++)
		out[n++] = ring[(s - 1) % DUMPLOG_MAX];
	if (total)
		*total = nlog;
	pthread_mutex_unlock(&log_mu);
	return n;
}
