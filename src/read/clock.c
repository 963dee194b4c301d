/* Tick -> nanosecond conversion of a generation (FORMAT.md, Clock), and the
 * multiply-shift division that keeps it off the hardware divider. */
#include "internal.h"

void rdr_udiv_init(struct udiv *u, uint64_t d)
{
	unsigned fl = 63 - (unsigned)__builtin_clzll(d);
	*u = (struct udiv){0};
	if ((d & (d - 1)) == 0) {
		u->pow2 = 1;
		u->shift = (uint8_t)fl;
		return;
	}
	unsigned __int128 num = (unsigned __int128)1 << (64 + fl);
	uint64_t m = (uint64_t)(num / d), rem = (uint64_t)(num % d);
	uint64_t e = d - rem;
	if (e < ((uint64_t)1 << fl)) {
		u->shift = (uint8_t)fl;
	} else {
		m += m;
		uint64_t twice = rem + rem;
		if (twice >= d || twice < rem)
			m += 1;
		u->shift = (uint8_t)fl;
		u->add = 1;
	}
	u->magic = m + 1;
}

void rdr_clock_init(struct clockconv *c, uint64_t tps, uint64_t ref_ticks, uint64_t ref_mono)
{
	c->tps = tps;
	c->ref_ticks = ref_ticks;
	c->ref_mono = ref_mono;
	c->identity = tps == NS_PER_SEC;
	rdr_udiv_init(&c->div, tps);
	c->mode = CLK_GENERIC;
}

/* The exact conversion is monotonic in t, so checking the ends of the range
 * tells whether a formula without 128-bit math or clamping is exact. */
void rdr_clock_specialize(struct clockconv *c, uint64_t min_t, uint64_t max_t)
{
	const uint64_t lim = UINT64_MAX / NS_PER_SEC;
	c->mode = CLK_GENERIC;
	if (c->identity) {
		__int128 lo = (__int128)c->ref_mono + ((__int128)min_t - (__int128)c->ref_ticks);
		__int128 hi = (__int128)c->ref_mono + ((__int128)max_t - (__int128)c->ref_ticks);
		if (lo >= 0 && hi <= (__int128)UINT64_MAX) {
			c->mode = CLK_IDENT;
			c->ident_off = c->ref_mono - c->ref_ticks;
		}
	} else if (max_t <= c->ref_ticks && c->ref_ticks - min_t <= lim) {
		if (udiv_do(&c->div, (c->ref_ticks - min_t) * NS_PER_SEC) <= c->ref_mono)
			c->mode = CLK_BELOW;
	} else if (min_t >= c->ref_ticks && max_t - c->ref_ticks <= lim) {
		if (udiv_do(&c->div, (max_t - c->ref_ticks) * NS_PER_SEC) <=
		    UINT64_MAX - c->ref_mono)
			c->mode = CLK_ABOVE;
	}
}
