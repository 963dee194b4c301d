/* What a minor page fault costs on this machine, for `ctrace diagnose`'s
 * page-fault estimate (DIAG_MINOR_FAULT_NS in src/analysis/diagnose.h):
 * touching one byte per page of fresh anonymous memory (a fault that maps
 * and zeroes a page) against touching the same pages once they are mapped
 * (the baseline: the loop and the cache misses). The difference per page is
 * the fault's cost. Prints the table; the best of several rounds.
 * Usage: bench_fault [MiB] (default 256). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 5

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t touch(volatile char *p, size_t len, size_t page)
{
	uint64_t t0 = now_ns();
	for (size_t off = 0; off < len; off += page)
		p[off] = (char)off;
	return now_ns() - t0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = mib << 20, pages = len / page;
	double best_fault = 0, best_base = 0;
	for (int r = 0; r < ROUNDS; r++) {
		char *p =
			mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		/* no transparent huge pages: one fault per 4 KiB page, as a heap gets */
		madvise(p, len, MADV_NOHUGEPAGE);
		double fault = (double)touch(p, len, page) / (double)pages;
		double base = (double)touch(p, len, page) / (double)pages;
		munmap(p, len);
		if (r == 0 || fault < best_fault)
			best_fault = fault;
		if (r == 0 || base < best_base)
			best_base = base;
	}
	printf("%-34s %12s %12s %8s\n", "per 4 KiB page (best of 5)", "figure", "baseline",
	       "ratio");
	printf("%-34s %10.0fns %10.0fns %7.1fx\n", "first touch (minor fault) vs mapped",
	       best_fault, best_base, best_base > 0 ? best_fault / best_base : 0);
	printf("minor fault cost: %.0f ns (%zu pages of %zu bytes)\n", best_fault - best_base,
	       pages, page);
	return 0;
}
