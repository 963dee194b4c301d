/* Writes a small known blocking profile (or a random one) for
 * test_pprof_go.sh to read with `go tool pprof`, and prints ctrace's own
 * -top table of it on stdout. */
#include "export/pprof.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static int finish(struct pprof *p, const char *out, int top)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pprof_write(p, fd) || close(fd) || pprof_write_text(p, stdout, top)) {
		fprintf(stderr, "pprof_sample: writing %s failed\n", out);
		return 1;
	}
	pprof_free(p);
	return 0;
}

/* A random profile: inline chains, recursion, values over six orders of
 * magnitude (so pprof drops small rows and picks a unit). */
static int random_profile(uint64_t seed, int top, const char *out)
{
	const char *types[] = {"contentions", "delay"}, *units[] = {"count", "nanoseconds"};
	struct pprof *p = pprof_new(types, units, 2);
	if (!p)
		return 1;
	rng = seed * 2654435761u + 1;
	enum { NFN = 60, NLOC = 150, NSMP = 400 };
	uint64_t locs[NLOC];
	for (int i = 0; i < NLOC; i++) {
		char names[3][16], files[3][16];
		struct pprof_line ln[3];
		int n = 1 + (int)rnd(3);
		for (int k = 0; k < n; k++) {
			int f = (int)rnd(NFN);
			snprintf(names[k], sizeof(names[k]), "fn_%02d", f);
			snprintf(files[k], sizeof(files[k]), "file%d.c", f % 7);
			ln[k] = (struct pprof_line){names[k], files[k], 1 + (int64_t)rnd(500)};
		}
		locs[i] = pprof_location(p, 0x400000 + 16 * (uint64_t)i, 0, ln, n);
	}
	const char *threads[] = {"main", "worker-1", "worker-2"};
	for (int i = 0; i < NSMP; i++) {
		uint64_t st[10];
		int depth = 1 + (int)rnd(10);
		for (int j = 0; j < depth; j++)
			st[j] = locs[rnd(NLOC)];
		int64_t v[2] = {1 + (int64_t)rnd(5), 1 + (int64_t)rnd(10)};
		for (uint64_t e = rnd(7); e > 0; e--)
			v[1] *= 10;
		struct pprof_label lab = {"thread", threads[rnd(3)], 0, NULL};
		if (pprof_add_sample(p, st, depth, v, &lab, 1))
			return 1;
	}
	return finish(p, out, top);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--random"))
		return random_profile(strtoull(argv[2], NULL, 10), atoi(argv[3]), argv[4]);
	if (argc != 2) {
		fprintf(stderr, "usage: pprof_sample OUT.pb.gz | --random SEED TOP OUT.pb.gz\n");
		return 2;
	}
	const char *types[] = {"contentions", "delay"}, *units[] = {"count", "nanoseconds"};
	struct pprof *p = pprof_new(types, units, 2);
	if (!p)
		return 1;
	pprof_set_default_sample_type(p, "delay");
	pprof_set_period(p, "contentions", "count", 1);
	pprof_set_time(p, 1700000000000000000, 3000000000);
	pprof_add_comment(p, "ctrace pprof_sample");
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
	if (err || pprof_sample_count(p) != 3) {
		fprintf(stderr, "pprof_sample: building the profile failed\n");
		return 1;
	}
	return finish(p, argv[1], 0);
}
