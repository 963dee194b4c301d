/* Timestamps for the hot path: the invariant TSC where usable, the vDSO
 * CLOCK_MONOTONIC otherwise; and snapshots that map ticks to OS clocks. */
#ifndef CT_RECORD_CLOCK_H
#define CT_RECORD_CLOCK_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define CT_HAVE_TSC 1
#else
#define CT_HAVE_TSC 0
#endif

/* Set once by clock_setup() before a capture starts; read on every event. */
/* Hidden: read on every event, so a direct load, not through the GOT. */
extern int ct_clock_is_tsc __attribute__((visibility("hidden")));

static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_ticks(void)
{
#if CT_HAVE_TSC
	if (__builtin_expect(ct_clock_is_tsc, 1))
		return __rdtsc();
#endif
	return mono_ns();
}

struct clock_snapshot {
	uint64_t ticks, mono_ns, real_ns;
};

/* Chooses the clock (choice: enum ct_clock_choice). Returns the kind
 * (enum ct_clock_kind); *why says why the TSC was not used, if it wasn't. */
int clock_setup(int choice, const char **why);
/* Reads ticks and both OS clocks as close together as possible. */
void clock_snapshot(struct clock_snapshot *s);
/* Ticks per second from two snapshots (1e9 for the monotonic clock). */
uint64_t clock_rate(const struct clock_snapshot *a, const struct clock_snapshot *b);

#endif
