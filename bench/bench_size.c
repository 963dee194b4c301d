/* Bytes per event on a mixed workload: request tasks with nested regions and
 * a log line each, on 2 threads, with a few microseconds of work between
 * events (as in a service, not a tight loop: timestamp deltas are realistic).
 * The trace is written compressed (the default) and uncompressed, and both
 * are printed beside the 16-byte record of the floor (bench_events) and the
 * 3.0 bytes/event target.
 *
 *   bench_size [-n REQUESTS_PER_THREAD]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "ctrace.h"

static long nrequests = 100000;

/* Busy work of about `ns` nanoseconds (TSC at ~2.4 GHz here; exactness does
 * not matter, only that deltas look like a service's). */
static void work(unsigned ns)
{
	uint64_t end = __rdtsc() + (uint64_t)ns * 24 / 10;
	while (__rdtsc() < end)
		__asm__ volatile("pause");
}

static void *serve(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (long i = 0; i < nrequests; i++) {
		unsigned r = (unsigned)rand_r(&seed);
		ct_task t = CT_TASK_BEGIN("request", 0);
		ct_logf("http", "GET /api/items/%u", r % 10000);
		{
			CT_REGION("parse");
			work(500 + r % 1000);
		}
		{
			CT_REGION("lookup");
			{
				CT_REGION("cache");
				work(1000 + r % 2000);
			}
			if (r % 10 == 0) {
				CT_REGION("database");
				work(5000);
			}
		}
		{
			CT_REGION("render");
			work(800);
		}
		ct_task_end(t);
		work(2000);
	}
	return NULL;
}

static double writer_ns_per_event;

static double run(const char *path, int compress, uint64_t *events, uint64_t *lost)
{
	struct ct_config c;
	ct_config_init(&c);
	c.path = path;
	c.compress = compress;
	if (ct_start(&c) != 0) {
		fprintf(stderr, "bench_size: %s\n", ct_last_error());
		exit(1);
	}
	pthread_t th[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, serve, (void *)(i + 1));
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ct_stop();
	struct ct_stats s;
	ct_get_stats(&s);
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		exit(1);
	}
	unlink(path);
	*events = s.events;
	*lost = s.lost;
	writer_ns_per_event = (double)s.writer_cpu_ns / (double)s.events;
	return (double)st.st_size / (double)s.events;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt == 'n')
			nrequests = atol(optarg);
		else {
			fprintf(stderr, "usage: bench_size [-n REQUESTS_PER_THREAD]\n");
			return 2;
		}
	}
	if (nrequests < 100) {
		fprintf(stderr, "bench_size: -n must be at least 100\n");
		return 2;
	}
	char path[] = "/tmp/bench_size-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	uint64_t ev_z, lost_z, ev_raw, lost_raw;
	double z = run(path, 1, &ev_z, &lost_z);
	double wz = writer_ns_per_event;
	double raw = run(path, 0, &ev_raw, &lost_raw);
	double wraw = writer_ns_per_event;
	const double floor_record = 16.0; /* rdtsc + 16-byte store: bench_events */
	printf("bytes per event, mixed workload: 2 threads x %ld requests (task, log, 5 regions, "
	       "~11 events each)\n\n",
	       nrequests);
	printf("%-24s %10s %12s %9s %7s %6s %16s\n", "encoding", "events", "bytes/event",
	       "baseline", "ratio", "lost", "writer ns/event");
	printf("%-24s %10llu %12.2f %9.2f %7.3f %6llu %16.1f\n", "zstd (default)",
	       (unsigned long long)ev_z, z, floor_record, z / floor_record,
	       (unsigned long long)lost_z, wz);
	printf("%-24s %10llu %12.2f %9.2f %7.3f %6llu %16.1f\n", "varint, uncompressed",
	       (unsigned long long)ev_raw, raw, floor_record, raw / floor_record,
	       (unsigned long long)lost_raw, wraw);
	printf("\nbaseline: the floor's 16-byte record per event; target <= 3.0 bytes/event\n"
	       "writer ns/event: CPU time of ctrace's writer thread (drain, scan, compress, "
	       "write)\n");
	return 0;
}
