/* The analysis behind `ctrace diagnose`: for one task the report detailed
 * (report.h), its time by category, the category that dominates, the
 * culprit site and the chain of cause behind it. Wording is the tool's
 * (tools/ctrace/diagnose_words.c); this decides. */
#ifndef CT_ANALYSIS_DIAGNOSE_H
#define CT_ANALYSIS_DIAGNOSE_H

#include "analysis/report.h"

enum diag_cat {
	DIAG_CPU,	 /* running on a CPU */
	DIAG_RUNNABLE,	 /* waiting for a CPU */
	DIAG_THROTTLED,	 /* waiting for the cgroup's quota */
	DIAG_LOCK,	 /* mutex, rwlock, semaphore, join, barrier */
	DIAG_FILE,	 /* file I/O */
	DIAG_NETWORK,	 /* sockets */
	DIAG_PAGE_FAULT, /* major faults blocked on, and minor faults' estimated cost */
	DIAG_SLEEP,
	DIAG_EVENT_LOOP, /* poll, epoll, select */
	DIAG_CONDVAR,	 /* waiting to be signalled */
	DIAG_FD,	 /* pipes, other fds */
	DIAG_QUEUED,	 /* no thread worked for the task */
	DIAG_OFFCPU,	 /* blocked in a call ctrace does not record */
	DIAG_UNKNOWN,	 /* off CPU, how not known: lost events */
	DIAG_CATS
};

/* "cpu", "runnable", ... (the JSON names). */
const char *diag_cat_name(unsigned cat);
/* The category of a report state (enum report_state). */
unsigned diag_cat_of_state(unsigned st);

/* What a minor page fault costs here, for the estimate of the time a task
 * spent in them (minor faults are counts without time): measured by
 * bench/bench_fault.c on the development machine (docs/DECISIONS.md). */
#define DIAG_MINOR_FAULT_NS 2500
/* The most a minor fault is taken to cost when the trace measured the
 * kernel time of the faults' intervals (kernel.time): a fault whose page
 * the hypervisor must back first took up to 6.5 us in the demo's storm on
 * the development VM; the bound keeps a task's system calls from being
 * counted as the faults of the same interval. */
#define DIAG_MINOR_FAULT_MAX_NS 10000

struct diagnosis {
	const struct report_task *task;
	/* the task's time by category: its states (running less the fault
	 * estimate), plus queued; they add up to total_ns */
	uint64_t ns[DIAG_CATS];
	uint64_t total_ns; /* the larger of the latency and the time on threads */
	unsigned category;
	uint64_t category_ns;
	double share; /* category_ns / total_ns */
	/* minor faults x DIAG_MINOR_FAULT_NS or, when larger, the kernel time of
	 * their intervals up to DIAG_MINOR_FAULT_MAX_NS a fault; at most running */
	uint64_t minor_fault_est_ns;
	int minor_fault_measured; /* the estimate is the measured kernel time */

	/* The culprit: the task's longest wait of the category (NULL for
	 * cpu, runnable, throttled, page-fault, queued, off-cpu, unknown), and
	 * the stack behind it (the wait's, the top CPU function's sample, the
	 * first major fault's). */
	const struct report_wait *wait;
	uint32_t nframes;
	const struct report_site *frames;

	/* lock: wait->holding, when known (holder_known) */
	int holder_known;

	/* runnable/throttled: threads wanting a CPU at once, during the task
	 * (conc_task) or, without that, across the trace */
	int conc, conc_task;
	uint32_t peak, typical;
	/* without those (no perf events): the average number of threads that
	 * wanted a CPU during the task, from schedstat samples (conc_avg_set) */
	int conc_avg_set;
	double conc_avg;
	double cpus, quota_cpus;
	uint64_t periods, periods_throttled;
	/* the program's threads never wanted more CPUs than allowed (at
	 * their peak; without one, on average fewer): what kept it waiting
	 * was other processes on the machine */
	int others;

	/* page faults: counts, and the task's region with the most of them
	 * (NULL: none, or outside any region) */
	uint64_t minor, major;
	const char *region;
	uint64_t region_faults;

	/* cpu: the trace has CPU samples, and the task some */
	int trace_samples;
	uint64_t samples;

	/* The runner-up: the next largest category when it holds at least
	 * DIAG_ALSO_SHARE of the time (has_also), so that a cause the dominant
	 * one hides is still named: a fault storm on a machine whose CPUs are
	 * taken shows as runnable first and page faults second. */
	int has_also;
	unsigned also;
	uint64_t also_ns;
	double also_share;
};

#define DIAG_ALSO_SHARE 0.2

void diagnose_task(const struct report_result *res, const struct report_task *t,
		   struct diagnosis *d);
/* The same task diagnosed as if category cat dominated: the culprit and
 * the cause of that category (for the runner-up). */
void diagnose_task_as(const struct report_result *res, const struct report_task *t, unsigned cat,
		      struct diagnosis *d);

/* The name of a wait's call (detail of fd waits): "read", "fsync"... or NULL. */
const char *diag_call_name(uint32_t reason, uint64_t detail);

#endif
