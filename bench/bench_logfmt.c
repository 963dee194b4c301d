/* ct_logf's formatter (src/record/logfmt.c) against vsnprintf, its
 * baseline, on the demo service's messages: ns per message for each, the
 * ratio, median of the runs. Then the whole ct_logf (format and record) in a
 * running capture, beside ct_log of the same text already formatted.
 *
 *   bench_logfmt [-r RUNS] [-n MESSAGES_PER_RUN]
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctrace.h"
#include "record/logfmt.h"
#include "bench_stats.h"

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static char buf[CT_LOG_MAX + 1];
static volatile int sink;

static __attribute__((noinline)) int with_logfmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = logfmt(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return n;
}

static __attribute__((noinline)) int with_vsnprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return n;
}

enum { MSG_TRACE, MSG_STATUS, MSG_ACCESS, NMSG };
static const char *const names[NMSG] = {"GET %s traceparent %s", "price service: %d",
					"%s item=%d -> %d in %.1f ms"};

static double run(int which, int fast, long n)
{
	static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	int (*f)(const char *, ...) = fast ? with_logfmt : with_vsnprintf;
	double t = now_ns();
	for (long i = 0; i < n; i++) {
		switch (which) {
		case MSG_TRACE:
			sink = f(names[which], "/price?item=7", tp);
			break;
		case MSG_STATUS:
			sink = f(names[which], 200 + (int)(i & 3));
			break;
		default:
			sink = f(names[which], "catalog", (int)(i & 1023), 200,
				 (double)(i & 4095) * 0.0137);
		}
	}
	return (now_ns() - t) / (double)n;
}

int main(int argc, char **argv)
{
	int runs = 7;
	long n = 1000000;
	int o;
	while ((o = getopt(argc, argv, "r:n:")) != -1) {
		if (o == 'r' && atoi(optarg) > 0)
			runs = atoi(optarg);
		else if (o == 'n' && atol(optarg) > 0)
			n = atol(optarg);
		else {
			fprintf(stderr, "usage: bench_logfmt [-r RUNS] [-n MESSAGES_PER_RUN]\n");
			return 2;
		}
	}
	if (runs > 64)
		runs = 64;
	printf("ct_logf's formatter vs vsnprintf (the baseline), ns per message, median of %d "
	       "runs of %ld\n\n",
	       runs, n);
	printf("| message | logfmt ns | vsnprintf ns | ratio |\n|---|---|---|---|\n");
	for (int m = 0; m < NMSG; m++) {
		double a[64], b[64];
		for (int r = 0; r < runs; r++) {
			a[r] = run(m, 1, n);
			b[r] = run(m, 0, n);
		}
		double x = bench_median(a, runs), y = bench_median(b, runs);
		printf("| `%s` | %.1f | %.1f | %.3f |\n", names[m], x, y, x / y);
	}

	/* The whole call in a running capture (a flight recorder alone: the
	 * events go nowhere else). */
	struct ct_config c;
	ct_config_init(&c);
	c.flight_max_bytes = 8u << 20;
	c.stack_events = 0;
	if (ct_start(&c) != 0) {
		fprintf(stderr, "bench_logfmt: cannot start a capture: %s\n", ct_last_error());
		return 1;
	}
	double lf[64], lg[64];
	char pre[CT_LOG_MAX + 1];
	snprintf(pre, sizeof pre, "catalog item=%d -> %d in %.1f ms", 7, 200, 0.2);
	for (int r = 0; r < runs; r++) {
		long k = n / 10;
		double t = now_ns();
		for (long i = 0; i < k; i++)
			ct_logf("http", "%s item=%d -> %d in %.1f ms", "catalog", (int)(i & 1023),
				200, (double)(i & 4095) * 0.0137);
		lf[r] = (now_ns() - t) / (double)k;
		t = now_ns();
		for (long i = 0; i < k; i++)
			ct_log("http", pre);
		lg[r] = (now_ns() - t) / (double)k;
	}
	ct_stop();
	double x = bench_median(lf, runs), y = bench_median(lg, runs);
	printf("\nin a running capture: ct_logf of the access line %.1f ns, ct_log of it "
	       "formatted %.1f ns (formatting: %.1f ns)\n",
	       x, y, x - y);
	return 0;
}
