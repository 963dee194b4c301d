/* Log-linear latency histogram (HDR-style): bounded memory whatever the
 * number of samples, quantiles within 0.4% of the true value. */
#ifndef CT_ANALYSIS_HIST_H
#define CT_ANALYSIS_HIST_H

#include <stdint.h>

/* 2^7 sub-buckets per power of two: a bucket is at most 1/128 of its lower
 * bound wide, and a quantile is reported as the bucket's midpoint clamped to
 * [min, max], so it is within 1/256 (0.39%) of an exact sample value. */
#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_GROUPS   (64 - HIST_SUB_BITS + 1)

struct hist {
	uint64_t count, total, min, max;
	/* Group 0 holds values below HIST_SUB exactly; group k > 0 holds
	 * [2^(k+6), 2^(k+7)). Groups are allocated on first use (1 KiB each),
	 * so a type whose latencies span three decades costs about 10 KiB. */
	uint64_t *groups[HIST_GROUPS];
};

void hist_init(struct hist *h);
void hist_free(struct hist *h);
/* Returns 0, or -1 when a group could not be allocated (the sample still
 * counts in count/total/min/max). */
int hist_add(struct hist *h, uint64_t v);
/* The value at quantile per10k/10000: the smallest recorded value v such
 * that at least that fraction of samples are <= v, within the error above.
 * 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, unsigned per10k);

#endif
