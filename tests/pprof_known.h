/* The known sync profile that the pprof tests check: lock_wait inlined into
 * mutex_lock_slow, two threads, labels (one set given in two orders, which
 * must merge), a numeric label with a unit. Shared by test_pprof.c and the
 * program pprof_sample.c whose output `go tool pprof` reads. */
#ifndef CT_TESTS_PPROF_KNOWN_H
#define CT_TESTS_PPROF_KNOWN_H

#include <stdint.h>

#include "export/pprof.h"

/* Builds it with the given comment. Returns NULL if any step failed. */
static inline struct pprof *pprof_known_profile(const char *comment)
{
	static const char *const types[] = {"contentions", "delay"};
	static const char *const units[] = {"count", "nanoseconds"};
	struct pprof *p = pprof_new(types, units, 2);
	if (!p)
		return NULL;
	pprof_set_default_sample_type(p, "delay");
	pprof_set_period(p, "contentions", "count", 1);
	pprof_set_time(p, 1700000000000000000, 3000000000);
	pprof_add_comment(p, comment);
	const uint8_t bid[] = {0xde, 0xad, 0xbe, 0xef, 0x01};
	uint64_t m = pprof_mapping(p, 0x400000, 0x500000, 0, "/usr/bin/demo", bid, sizeof(bid));

	/* lock_wait was inlined into mutex_lock_slow: one address, two frames. */
	const struct pprof_line l_lock[] = {{"lock_wait", "src/lock.h", 12},
					    {"mutex_lock_slow", "src/lock.c", 40}};
	const struct pprof_line l_req[] = {{"handle_request", "src/server.c", 88}};
	const struct pprof_line l_req2[] = {{"handle_request", "src/server.c", 92}};
	const struct pprof_line l_main[] = {{"main", "src/main.c", 10}};
	const struct pprof_line l_read[] = {{"read_socket", "src/net.c", 55}};
	uint64_t lock = pprof_location(p, 0x401010, m, l_lock, 2);
	uint64_t req = pprof_location(p, 0x401200, m, l_req, 1);
	uint64_t req2 = pprof_location(p, 0x401210, m, l_req2, 1);
	uint64_t mainl = pprof_location(p, 0x401300, m, l_main, 1);
	uint64_t rd = pprof_location(p, 0x401400, m, l_read, 1);

	const uint64_t s_lock[] = {lock, req, mainl}, s_read[] = {rd, req2, mainl};
	const struct pprof_label w1[] = {{"thread", "worker-1", 0, NULL},
					 {"tid", NULL, 1234, NULL}};
	const struct pprof_label w1_swapped[] = {{"tid", NULL, 1234, NULL},
						 {"thread", "worker-1", 0, NULL}};
	const struct pprof_label w2[] = {{"thread", "worker-2", 0, NULL}};
	const struct pprof_label w1_io[] = {{"thread", "worker-1", 0, NULL},
					    {"bytes", NULL, 4096, "bytes"}};
	/* The first two accumulate into one sample: 2 contentions, 2 s. */
	int err = pprof_add_sample(p, s_lock, 3, (const int64_t[]){1, 1500000000}, w1, 2);
	err |= pprof_add_sample(p, s_lock, 3, (const int64_t[]){1, 500000000}, w1_swapped, 2);
	err |= pprof_add_sample(p, s_lock, 3, (const int64_t[]){3, 750000000}, w2, 1);
	err |= pprof_add_sample(p, s_read, 3, (const int64_t[]){5, 250000000}, w1_io, 2);
	if (err || m != 1 || !(lock && req && req2 && mainl && rd) || pprof_sample_count(p) != 3) {
		pprof_free(p);
		return NULL;
	}
	return p;
}

#endif
