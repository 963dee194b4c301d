/* Log-linear latency histogram: see hist.h for the error bound. */
#include <stdlib.h>
#include <string.h>

#include "analysis/hist.h"

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_free(struct hist *h)
{
	for (unsigned i = 0; i < HIST_GROUPS; i++)
		free(h->groups[i]);
	hist_init(h);
}

static inline void bucket_of(uint64_t v, unsigned *group, unsigned *sub)
{
	if (v < HIST_SUB) {
		*group = 0;
		*sub = (unsigned)v;
		return;
	}
	unsigned hi = 63 - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	unsigned shift = hi - HIST_SUB_BITS;
	*group = shift + 1;
	*sub = (unsigned)(v >> shift) - HIST_SUB;
}

/* Lowest value and width of a bucket. */
static void bucket_range(unsigned group, unsigned sub, uint64_t *lo, uint64_t *width)
{
	if (group == 0) {
		*lo = sub;
		*width = 1;
		return;
	}
	unsigned shift = group - 1;
	*lo = ((uint64_t)HIST_SUB + sub) << shift;
	*width = (uint64_t)1 << shift;
}

int hist_add(struct hist *h, uint64_t v)
{
	h->count++;
	h->total += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	unsigned g, s;
	bucket_of(v, &g, &s);
	if (__builtin_expect(h->groups[g] == NULL, 0)) {
		h->groups[g] = calloc(HIST_SUB, sizeof(uint64_t));
		if (h->groups[g] == NULL)
			return -1;
	}
	h->groups[g][s]++;
	return 0;
}

uint64_t hist_quantile(const struct hist *h, unsigned per10k)
{
	if (h->count == 0)
		return 0;
	if (per10k > 10000)
		per10k = 10000;
	/* rank = ceil(count * q), at least 1; 128-bit so huge counts are exact. */
	unsigned __int128 num = (unsigned __int128)h->count * per10k;
	uint64_t rank = (uint64_t)((num + 9999) / 10000);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned g = 0; g < HIST_GROUPS; g++) {
		if (h->groups[g] == NULL)
			continue;
		for (unsigned s = 0; s < HIST_SUB; s++) {
			seen += h->groups[g][s];
			if (seen < rank)
				continue;
			uint64_t lo, width;
			bucket_range(g, s, &lo, &width);
			uint64_t v = lo + (width - 1) / 2;
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	/* Only when a group allocation failed: the max is the best we know. */
	return h->max;
}
