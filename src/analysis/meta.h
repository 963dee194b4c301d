/* Metadata lookups shared by the report and the profiles. */
#ifndef CT_ANALYSIS_META_H
#define CT_ANALYSIS_META_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The value of key in kv (key, value, key, value...: nstr strings), or NULL. */
static inline const char *meta_find(const char *const *kv, uint32_t nstr, const char *key)
{
	for (uint32_t i = 0; kv && i + 1 < nstr; i += 2)
		if (kv[i] && kv[i + 1] && !strcmp(kv[i], key))
			return kv[i + 1];
	return NULL;
}

/* The same as a number; 0 when absent. */
static inline uint64_t meta_u64(const char *const *kv, uint32_t nstr, const char *key)
{
	const char *v = meta_find(kv, nstr, key);
	return v ? strtoull(v, NULL, 10) : 0;
}

#endif
