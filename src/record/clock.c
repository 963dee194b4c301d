/* Clock selection and calibration: the TSC is used only when the CPU says it
 * is invariant; its rate is measured against CLOCK_MONOTONIC over the whole
 * capture, so it sharpens as the trace grows. */
#include "clock.h"

#include <stdio.h>
#include <string.h>

#include "ctrace.h"
#include "ctrace_events.h"

int ct_clock_is_tsc;

static int tsc_invariant(void)
{
#if CT_HAVE_TSC
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	char line[4096];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5) == 0) {
			found = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
			break;
		}
	}
	fclose(f);
	return found;
#else
	return 0;
#endif
}

int clock_setup(int choice, const char **why)
{
	*why = NULL;
	if (choice == CT_CLOCK_CHOICE_MONOTONIC) {
		*why = "CLOCK_MONOTONIC requested";
		ct_clock_is_tsc = 0;
	} else if (!CT_HAVE_TSC) {
		*why = "no TSC on this architecture";
		ct_clock_is_tsc = 0;
	} else if (!tsc_invariant() && choice != CT_CLOCK_CHOICE_TSC) {
		*why = "the TSC is not invariant (constant_tsc and nonstop_tsc missing)";
		ct_clock_is_tsc = 0;
	} else {
		ct_clock_is_tsc = 1;
	}
	return ct_clock_is_tsc ? CT_CLOCK_TSC : CT_CLOCK_MONOTONIC;
}

void clock_snapshot(struct clock_snapshot *s)
{
	/* Bracket the OS clock reads with two tick reads and keep the tightest
	 * of a few tries, so the pair is not split by a preemption. */
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		struct timespec m, r;
		uint64_t t0 = clock_ticks();
		clock_gettime(CLOCK_MONOTONIC, &m);
		clock_gettime(CLOCK_REALTIME, &r);
		uint64_t t1 = clock_ticks();
		if (t1 - t0 < best) {
			best = t1 - t0;
			s->ticks = t0 + (t1 - t0) / 2;
			s->mono_ns = (uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec;
			s->real_ns = (uint64_t)r.tv_sec * 1000000000u + (uint64_t)r.tv_nsec;
		}
	}
}

uint64_t clock_rate(const struct clock_snapshot *a, const struct clock_snapshot *b)
{
	if (!ct_clock_is_tsc)
		return 1000000000u;
	uint64_t dt = b->ticks - a->ticks, dn = b->mono_ns - a->mono_ns;
	if (dn < 100000 || dt == 0) {
		/* Too short to measure: a 2 ms spin gives ~1e-4 precision, and
		 * happens only for captures shorter than 100 us. */
		struct clock_snapshot x, y;
		clock_snapshot(&x);
		do
			clock_snapshot(&y);
		while (y.mono_ns - x.mono_ns < 2000000);
		dt = y.ticks - x.ticks;
		dn = y.mono_ns - x.mono_ns;
	}
	return (uint64_t)((unsigned __int128)dt * 1000000000u / dn);
}
