/* Id -> slot maps for a generation's tables: a direct array when ids are
 * dense (the normal case), sorted pairs and binary search when not. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int idpair_cmp(const void *a, const void *b)
{
	const struct idpair *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

uint32_t rdr_idmap_sparse_get(const struct idmap *m, uint64_t id)
{
	size_t lo = 0, hi = m->npairs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->pairs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->npairs && m->pairs[lo].id == id ? m->pairs[lo].slot + 1 : 0;
}

void rdr_idmap_clear(struct idmap *m)
{
	m->npairs = 0;
	m->max_id = 0;
	m->dense_n = 0;
	m->sparse = 0;
}

int rdr_idmap_add(struct idmap *m, uint64_t id, uint32_t slot)
{
	if (VEC_RESERVE(m->pairs, m->pairs_cap, m->npairs + 1))
		return -ENOMEM;
	m->pairs[m->npairs++] = (struct idpair){id, slot};
	if (id > m->max_id)
		m->max_id = id;
	return 0;
}

int rdr_idmap_finish(struct idmap *m, uint64_t *dup)
{
	size_t n = m->npairs;
	if (m->max_id < 4 * (uint64_t)n + 1024) {
		size_t need = (size_t)m->max_id + 1;
		if (VEC_RESERVE(m->dense, m->dense_cap, need))
			return -ENOMEM;
		memset(m->dense, 0, need * sizeof(*m->dense));
		for (size_t i = 0; i < n; i++) {
			uint64_t id = m->pairs[i].id;
			if (m->dense[id]) {
				*dup = id;
				return 1;
			}
			m->dense[id] = m->pairs[i].slot + 1;
		}
		m->dense_n = need;
		m->sparse = 0;
		return 0;
	}
	int sorted = 1;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = m->pairs[i - 1].id < m->pairs[i].id;
	if (!sorted)
		qsort(m->pairs, n, sizeof(*m->pairs), idpair_cmp);
	for (size_t i = 1; i < n; i++) {
		if (m->pairs[i - 1].id == m->pairs[i].id) {
			*dup = m->pairs[i].id;
			return 1;
		}
	}
	m->sparse = 1;
	return 0;
}

void rdr_idmap_free(struct idmap *m)
{
	free(m->dense);
	free(m->pairs);
}
