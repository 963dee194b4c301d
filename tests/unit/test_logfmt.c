/* ct_logf's formatter against vsnprintf: the same bytes and the same
 * return value for every supported conversion, across edge values and
 * many random ones; LOGFMT_UNSUPPORTED for the rest; cut like vsnprintf in
 * a short buffer. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record/logfmt.h"

static int mine(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = logfmt(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

static int theirs(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* Both formatters, same arguments, same result. */
#define SAME(cap, fmt, ...)                                                                        \
	do {                                                                                       \
		char a_[600], b_[600];                                                             \
		memset(a_, 'x', sizeof a_);                                                        \
		memset(b_, 'x', sizeof b_);                                                        \
		int na_ = mine(a_, (cap), fmt, __VA_ARGS__);                                       \
		int nb_ = theirs(b_, (cap), fmt, __VA_ARGS__);                                     \
		if (na_ != nb_ || strcmp(a_, b_) != 0)                                             \
			fail_msg("format \"%s\": logfmt gave %d \"%s\", vsnprintf %d \"%s\"", fmt, \
				 na_, a_, nb_, b_);                                                \
	} while (0)

static void test_integers_strings(void **state)
{
	(void)state;
	SAME(600, "plain text, no conversion%s", "");
	SAME(600, "%d %i %u %x %X", 0, -1, 4000000000u, 0xdeadbeefu, 0xabcdefu);
	SAME(600, "%d|%d", INT32_MIN, INT32_MAX);
	SAME(600, "%ld %lu %lx", (long)INT64_MIN, (unsigned long)UINT64_MAX, (unsigned long)0x1234);
	SAME(600, "%lld %llu %llX", (long long)-42, (unsigned long long)UINT64_MAX,
	     (unsigned long long)0xfeedULL);
	SAME(600, "%zu %zd %zx %jd %ju %td", (size_t)123456789, (ssize_t)-5, (size_t)255,
	     (intmax_t)-9, (uintmax_t)9, (ptrdiff_t)-77);
	SAME(600, "GET %s traceparent %s", "/price?item=7",
	     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	SAME(600, "[%.3s] [%.0s] [%.10s] [%.*s] [%.*s]", "abcdef", "gone", "short", 2, "xyz", -1,
	     "all of it");
	SAME(600, "%c%c%c 100%%", 'a', 'B', '0');
	SAME(600, "%p %p", (void *)0x7fff1234, (void *)NULL);
	SAME(600, "ends with a percent sign %%%s", "");
	SAME(600, "%s", "");
}

/* %.<prec>f of x: vsnprintf's bytes, or LOGFMT_UNSUPPORTED only where
 * logfmt says it stops (|x| * 10^prec at 2^63 and beyond). */
static void check_f(int prec, double x)
{
	char a[600], b[600];
	int na = mine(a, sizeof a, "%.*f", prec, x);
	if (na == LOGFMT_UNSUPPORTED) {
		if (fabs(x) * pow(10, prec) < 9.2e18)
			fail_msg("%%.%df of %.17g left to vsnprintf", prec, x);
		return;
	}
	int nb = theirs(b, sizeof b, "%.*f", prec, x);
	if (na != nb || strcmp(a, b) != 0)
		fail_msg("%%.%df of %.17g: logfmt gave \"%s\", vsnprintf \"%s\"", prec, x, a, b);
}

static void test_floats(void **state)
{
	(void)state;
	/* ties of the decimal expansion, which printf rounds to even on the
	 * double's exact value (0.125 is exact: a tie; 0.15 is not) */
	static const double v[] = {0.0,	      -0.0, 0.5,   1.5,	    2.5,       0.125,
				   0.375,     0.15, 0.25,  0.35,    1e-300,    -1e-300,
				   5e-324,    1.0,  -1.05, 123.456, 999.95,    0.05,
				   9.995,     1e15, -1e15, 1e17,    0.1,       2.675,
				   1234567.0, 1e-7, 4.35,  -0.004,  0.0049999, 3.14159265358979};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		for (int p = 0; p <= 9; p++)
			check_f(p, v[i]);
		if (fabs(v[i]) >= 1e9)
			continue; /* beyond %f's range here: check_f saw it left */
		SAME(600, "%f", v[i]);
		SAME(600, "%.3F", v[i]);
		SAME(600, "%lf ms", v[i]);
	}
	SAME(600, "%s item=%d -> %d in %.1f ms", "catalog", 7, 200, 0.2449);
}

/* Random values of every supported kind, checked against vsnprintf. */
static void test_random(void **state)
{
	(void)state;
	srand(12345);
	for (int i = 0; i < 200000; i++) {
		uint64_t r = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
		int64_t s = (int64_t)r >> (rand() % 64);
		unsigned long long h = r >> (rand() % 64); /* (SAME evaluates twice) */
		SAME(600, "%lld %llu %llx", (long long)s, (unsigned long long)r, h);
		double d = (double)s / (double)(1ull << (rand() % 64)) * (rand() % 2 ? 1 : -1);
		check_f(rand() % 10, d);
		/* halves and quarters: exact ties */
		double t = (double)(rand() % 100000) / (double)(1 << (rand() % 12));
		check_f(rand() % 4, t);
	}
}

static void test_cut_like_vsnprintf(void **state)
{
	(void)state;
	char longs[400];
	memset(longs, 'q', sizeof longs - 1);
	longs[sizeof longs - 1] = 0;
	for (size_t cap = 1; cap < 40; cap++) {
		SAME(cap, "%s and %d and %.2f", "a fairly long start", -123456, 3.14159);
		SAME(cap, "%s", longs);
	}
	SAME(513, "%s%s", longs, longs);
}

static void test_unsupported(void **state)
{
	(void)state;
	char buf[64];
	static const char *const fmts[] = {"%5d",  "%-3s",  "%08x", "%+d", "% d", "%#x",
					   "%.3d", "%e",    "%g",   "%a",  "%Lf", "%n",
					   "%hd",  "%.10f", "%ls",  "%q",  "%",	  "%lc"};
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
		if (mine(buf, sizeof buf, fmts[i], 1, 2, 3) != LOGFMT_UNSUPPORTED)
			fail_msg("\"%s\" should be left to vsnprintf", fmts[i]);
	assert_int_equal(mine(buf, sizeof buf, "%s", (char *)NULL), LOGFMT_UNSUPPORTED);
	assert_int_equal(mine(buf, sizeof buf, "%f", INFINITY), LOGFMT_UNSUPPORTED);
	assert_int_equal(mine(buf, sizeof buf, "%f", NAN), LOGFMT_UNSUPPORTED);
	assert_int_equal(mine(buf, sizeof buf, "%.2f", 1e300), LOGFMT_UNSUPPORTED);
	/* another rounding mode: printf follows it, so vsnprintf does it */
	assert_int_equal(fesetround(FE_UPWARD), 0);
	int n = mine(buf, sizeof buf, "%.1f", 0.25);
	fesetround(FE_TONEAREST);
	assert_int_equal(n, LOGFMT_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers_strings), cmocka_unit_test(test_floats),
		cmocka_unit_test(test_random),		 cmocka_unit_test(test_cut_like_vsnprintf),
		cmocka_unit_test(test_unsupported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
