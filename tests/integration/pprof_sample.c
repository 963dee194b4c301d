/* Writes a small known blocking profile (or a random one) for
 * test_pprof_go.sh to read with `go tool pprof`, and prints ctrace's own
 * -top table of it on stdout. */
#include "export/pprof.h"
#include "pprof_known.h"

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
	struct pprof *p = pprof_known_profile("ctrace pprof_sample");
	if (!p) {
		fprintf(stderr, "pprof_sample: building the profile failed\n");
		return 1;
	}
	return finish(p, argv[1], 0);
}
