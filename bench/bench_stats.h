/* What the benchmarks share: the median of their runs. Header-only. */
#ifndef CT_BENCH_STATS_H
#define CT_BENCH_STATS_H

#include <stdlib.h>

/* qsort's comparison of doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of v[0..n) (n > 0), sorting v; the mean of the middle two
 * when n is even. */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
