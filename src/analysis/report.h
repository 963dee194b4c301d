/* The analysis behind `ctrace report`: trace summary, threads, loss, task
 * latency percentiles per type, the slowest tasks with their regions and
 * logs, and the top regions. Fed events directly, so it can be tested
 * without a file; report_run() (report_run.c) drives it over a trace file.
 *
 * Two passes keep memory bounded whatever the trace size. Pass 1 sees every
 * event: aggregates, a histogram per task type, and a bounded heap of the N
 * slowest task ids. Pass 2 sees only the generations that overlap those N
 * tasks and collects their regions and logs. */
#ifndef CT_ANALYSIS_REPORT_H
#define CT_ANALYSIS_REPORT_H

#include <stdint.h>

#include "ctrace_reader.h"

#define REPORT_DEFAULT_TOP	   10
#define REPORT_DEFAULT_TOP_REGIONS 20
#define REPORT_MAX_TOP		   1000
#define REPORT_MAX_TASK_THREADS	   16	/* threads listed per slow task */
#define REPORT_MAX_TASK_REGIONS	   256	/* region tree nodes per slow task */
#define REPORT_MAX_TASK_LOGS	   64	/* logs kept per slow task */
#define REPORT_MAX_LOSS_RANGES	   256	/* loss records listed one by one */
#define REPORT_MAX_WAIT_SITES	   4096 /* distinct (reason, call site) pairs */
#define REPORT_TOP_WAIT_SITES	   20	/* listed, by total time */
#define REPORT_MAX_TASK_WAITS	   8	/* longest waits kept per slow task */
#define REPORT_STACK_FRAMES	   6	/* frames kept of a wait's, fault's or sample's stack */
/* Percentiles come from a log-linear histogram: within this relative error. */
#define REPORT_PERCENTILE_ERROR 0.01

struct report_options {
	unsigned top_tasks;   /* slowest tasks to detail; 0 = none */
	unsigned top_regions; /* regions listed by total time */
	/* Detail this task first whatever its latency, in place of a dump's
	 * triggering task (0: none). It is res.slow[0] when the trace holds
	 * any of it; its `trigger` is set only if it is also the dump's. */
	uint64_t task;
	int holders; /* report_run runs pass 3 (report_holder_spans) */
};

/* Where a thread's time went, by what it waited on (report_wait.c). A wait
 * lasts from wait.begin to the thread's next wait.end; "other" is time in
 * no wait: running or runnable, which the trace cannot tell apart yet. */
enum report_wait_cat {
	REPORT_WAIT_SYNC,    /* mutex, rwlock, semaphore, barrier, join */
	REPORT_WAIT_CONDVAR, /* waiting for work, not contention */
	REPORT_WAIT_SLEEP,
	REPORT_WAIT_NET,
	REPORT_WAIT_FILE,
	REPORT_WAIT_FD,	  /* pipe, another kind of fd, reasons this version does not know */
	REPORT_WAIT_POLL, /* event-loop wait */
	REPORT_WAIT_CATS
};

unsigned report_wait_cat(uint32_t reason);
const char *report_wait_cat_name(unsigned cat);	      /* "sync", "condvar", ... */
const char *report_wait_reason_name(uint32_t reason); /* "mutex", "rwlock_read", ... */

/* Where a thread's (or a task's) time went, in exclusive states that add
 * up to its span (report_sched.c; rules in docs/REPORT-JSON.md, "States").
 * Waits count to their primitive's state, less the part the thread was
 * runnable or throttled in; with a scheduler source, "running" is on-CPU
 * time outside waits; without one, it is everything in no wait. */
enum report_state {
	REPORT_ST_RUNNING,
	REPORT_ST_RUNNABLE,  /* preempted, waiting for a CPU */
	REPORT_ST_THROTTLED, /* runnable while the cgroup's quota was used up */
	REPORT_ST_MUTEX,
	REPORT_ST_RWLOCK,
	REPORT_ST_SEMAPHORE,
	REPORT_ST_JOIN,
	REPORT_ST_BARRIER,
	REPORT_ST_CONDVAR, /* waiting for work, not contention */
	REPORT_ST_FILE,
	REPORT_ST_NET,
	REPORT_ST_POLL,
	REPORT_ST_SLEEP,
	REPORT_ST_FD,	   /* pipes, other fds */
	REPORT_ST_FAULT,   /* blocked on a major page fault */
	REPORT_ST_OFFCPU,  /* blocked in no wait: a call ctrace does not interpose */
	REPORT_ST_UNKNOWN, /* off CPU some of the time, not known how (lost events) */
	REPORT_STATES
};

unsigned report_wait_state(uint32_t reason);
const char *report_state_name(unsigned st); /* "running", "runnable", ... */

struct report_states {
	uint64_t ns[REPORT_STATES];
};

/* Which scheduler data a thread's (or the trace's) states came from. */
enum report_sched_source {
	REPORT_SCHED_NONE,	/* running is "running or unknown" */
	REPORT_SCHED_PERF,	/* exact intervals (sched.out/sched.in) */
	REPORT_SCHED_SCHEDSTAT, /* sampled run-queue delay, spread over intervals */
	REPORT_SCHED_MIXED,	/* both (per trace: some threads fell back) */
};
const char *report_sched_source_name(unsigned src);

struct report_breakdown {
	uint64_t wait_ns[REPORT_WAIT_CATS];
	uint64_t other_ns; /* in no wait */
	uint64_t waits;	   /* waits that ended, plus the one open at the end */
};

/* A wait's call site: the first frame of its stack ("" and 0 when unknown). */
struct report_site {
	const char *function, *file;
	uint32_t line;
};

/* What a lock's holder did while a slow task waited for the lock (pass 3,
 * report_holder.c): its time in the waited interval, in exclusive states,
 * and the longest wait (or, running, the top CPU-sample function) behind
 * its largest state. */
struct report_holding {
	int known; /* pass 3 read the holder's events around the interval */
	uint64_t from_ns, to_ns;
	struct report_states states; /* add up to to_ns - from_ns */
	uint32_t state;		     /* the largest (enum report_state) */
	uint64_t state_ns;
	/* When that state is a wait: its longest one, clipped to the interval */
	uint32_t reason;	 /* enum ct_wait_reason, 0 when not a wait */
	uint64_t object, detail; /* the fd (or lock) and the call (enum ct_wait_call) */
	uint64_t wait_ns;
	int mixed; /* other waits of that state had another call or site */
	struct report_site site;
	uint32_t nframes;
	struct report_site frames[REPORT_STACK_FRAMES];
	/* When running: the function most CPU samples of the interval were in */
	const char *function;
	uint64_t samples, function_samples;
	uint64_t faults_minor, faults_major;
};

/* One wait, with the lock's holder when known: the holder's thread index
 * (0 when its tid is in no thread table of the trace) and tid. */
struct report_wait {
	uint32_t reason, thread;
	uint64_t begin_ns, duration_ns;
	uint64_t object, detail;
	struct report_site site;
	uint32_t holder, holder_tid;
	const char *holder_name; /* NULL when not a named thread of the trace */
	int open;		 /* still waiting at the end of the trace */
	/* its stack from the call site out (pass 2 only) */
	uint32_t nframes;
	struct report_site frames[REPORT_STACK_FRAMES];
	struct report_holding holding; /* a slow task's lock wait, after pass 3 */
};

struct report_thread {
	uint32_t index, tid;
	char *name;
	uint64_t events;
	uint64_t lost_events, loss_records; /* in-band and loss-section */
	int exited;
	/* From its first event to its last, or to the trace's end when a wait
	 * is open there (then `open` describes it). */
	uint64_t span_ns;
	struct report_breakdown waits;
	int waiting;
	struct report_wait open;
	/* span_ns in exclusive states, and where they came from */
	struct report_states states;
	uint32_t sched_source;		/* enum report_sched_source */
	uint64_t switches, preemptions; /* sched.out events, preempted ones */
	uint64_t faults_minor, faults_major;
	uint64_t cpu_samples, cpu_sample_ns; /* cpu.sample events and their weight */
};

struct report_wait_site {
	uint32_t reason;
	struct report_site site;
	uint64_t count, open; /* waits, and those still open at the end */
	uint64_t total_ns, max_ns;
	/* Locks: the most frequent holder (approximate past 4 distinct ones). */
	uint32_t holder, holder_tid;
	const char *holder_name;
	uint64_t holder_waits;
};

/* A fault site: the first frame of the faulting code's stack. */
struct report_fault_site {
	struct report_site site;
	uint64_t minor, major; /* faults */
};

/* A function in CPU samples: self (innermost frame) and cumulative (on the
 * stack), in samples and in CPU time (the samples' weight). */
struct report_func {
	const char *function;
	uint64_t self, cum;
	uint64_t self_ns, cum_ns;
};

#define REPORT_TOP_FUNCS       20
#define REPORT_TOP_TASK_FUNCS  5
#define REPORT_TOP_FAULT_SITES 10

/* The scheduler, CPU limits and sampled sources, trace-wide. */
struct report_cpu {
	uint32_t source;	 /* enum report_sched_source: what the states used */
	const char *source_meta; /* the header's sched.source, NULL when absent */
	const char *scope_meta;	 /* its sched.scope (perf: thread or cpu), NULL when absent */
	uint64_t switches, preemptions, samples;
	/* Threads that wanted a CPU at once (running or runnable), from
	 * sched.out/sched.in only: the peak, and the levels exceeded 1% and
	 * 50% of the time; `over_ns` is time with more than cpus_allowed. */
	int concurrency;
	uint32_t peak, p99, p50;
	uint64_t over_ns, measured_ns;
	/* From the header: cgroup.cpu.quota_us / period_us (0 when unlimited
	 * or unknown), cgroup.cpus, cpus.allowed, cpus.online (0: unknown);
	 * cpus_allowed is the smallest limit (0: unknown). */
	double quota_cpus, cpus_allowed;
	uint32_t cgroup_cpus, affinity_cpus, online_cpus;
	/* throttle events on the [cgroup] pseudo-thread */
	uint64_t throttle_events, periods, periods_throttled, throttled_ns;
	uint64_t reclassified_ns; /* runnable time counted as throttled */
	int finding; /* more threads wanted a CPU than allowed, 1% of the time or throttled */
	/* page faults */
	uint64_t faults_minor, faults_major, fault_blocked_ns;
	uint32_t nfault_sites;
	struct report_fault_site
		*fault_sites; /* by faults, major first; top REPORT_TOP_FAULT_SITES */
	/* CPU samples */
	uint64_t cpu_samples, cpu_sample_ns;
	uint32_t nself, ncum;
	struct report_func self[REPORT_TOP_FUNCS], cum[REPORT_TOP_FUNCS];
};

struct report_loss_range {
	uint32_t thread; /* index, 0 = not attributable */
	uint32_t reason; /* enum ct_loss_reason */
	uint64_t events;
	uint64_t start_ns, end_ns;
	int in_band; /* 1: a loss event in the thread's stream; 0: a loss section entry */
};

struct report_loss {
	uint64_t events; /* all lost events */
	uint64_t in_band_records, in_band_events;
	uint64_t section_records, section_events;
	uint64_t by_reason[5]; /* events, by enum ct_loss_reason */
	uint64_t other_reason; /* events with a reason this version does not know */
	uint32_t nranges;
	struct report_loss_range *ranges; /* the first REPORT_MAX_LOSS_RANGES read, by start time */
	uint64_t ranges_omitted;	  /* records beyond that */
};

struct report_type {
	const char *name;
	uint64_t count;	     /* finished tasks: both begin and end in the trace */
	uint64_t unfinished; /* began in the trace, never ended */
	uint64_t oldest_unfinished_begin_ns;
	uint64_t min_ns, max_ns, total_ns;	  /* exact */
	uint64_t p50_ns, p90_ns, p99_ns, p999_ns; /* within REPORT_PERCENTILE_ERROR */
};

/* A node of a slow task's region tree: the same name under the same parent
 * is one node. Nodes are in pre-order; parent < own index. */
struct report_region_node {
	const char *name;
	int32_t parent; /* -1 at the top */
	uint32_t depth;
	uint64_t count;
	uint64_t total_ns; /* wall time inside the region, clipped to the task */
	uint64_t self_ns;  /* total minus time in child regions of the same task */
	uint64_t faults;   /* page faults counted while it was the innermost region */
};

struct report_log {
	uint64_t offset_ns; /* from the task's begin */
	uint32_t thread;
	const char *category;
	char *message;
};

struct report_task {
	uint64_t id, parent;
	const char *type;
	uint64_t begin_ns, end_ns, latency_ns;
	uint32_t nthreads;
	uint32_t threads[REPORT_MAX_TASK_THREADS]; /* indexes, ascending */
	uint32_t more_threads;			   /* 1 when it ran on more threads than listed */
	/* Time some thread had this task current: in regions (the tree's self
	 * times) plus outside_ns. latency - on_thread is time no thread worked
	 * for it (queued, or not annotated); on_thread can exceed latency when
	 * threads worked for it in parallel. */
	uint64_t on_thread_ns, outside_ns;
	/* on_thread_ns by what its threads waited on, and its longest waits
	 * (clipped to the task), longest first. */
	struct report_breakdown waits;
	/* on_thread_ns in exclusive states (approximate with the schedstat
	 * source), faults and CPU samples while it was current */
	struct report_states states;
	uint64_t faults_minor, faults_major, cpu_samples;
	uint64_t faults_outside; /* faults in no region of the task */
	/* The kernel CPU time of the intervals its minor fault counts came
	 * from (kernel.time, shared like the counts): the faults' time is
	 * part of it; 0 when the trace has none (format < 1.4, perf faults). */
	uint64_t fault_kernel_ns;
	uint32_t nfuncs;
	struct report_func funcs[REPORT_TOP_TASK_FUNCS]; /* by self samples */
	/* The stack of a CPU sample in funcs[0] (innermost first, from the
	 * program's own code: frames in system libraries and the vDSO above it
	 * are left out), and of the task's first major fault with a stack. */
	uint32_t nhot_frames, nfault_frames;
	struct report_site hot_frames[REPORT_STACK_FRAMES];
	struct report_site fault_frames[REPORT_STACK_FRAMES];
	uint64_t fault_addr;
	/* Threads that wanted a CPU at once during the task (pass 3, perf
	 * only, for tasks whose largest state is runnable or throttled): the
	 * peak, the level exceeded half the time, and the time above the
	 * trace's cpus_allowed, over conc_ns measured. */
	int conc_measured;
	uint32_t conc_peak, conc_p50;
	uint64_t conc_over_ns, conc_ns;
	/* Without perf: the threads' running and runnable time during the task
	 * from their schedstat samples (each spread over its interval), summed
	 * over the threads: over the task's latency, the average number of
	 * threads that wanted a CPU. want_sampled: some sample covered it. */
	uint64_t want_ns;
	int want_sampled;
	uint32_t nwaits;
	struct report_wait longest[REPORT_MAX_TASK_WAITS];
	uint32_t nregions;
	struct report_region_node *regions;
	uint32_t nlogs;
	struct report_log *logs; /* in thread order, then time; see report_finish */
	uint64_t logs_omitted;
	/* A dump's triggering task (header trigger.task) is listed first,
	 * whatever its latency; it may have begun before the trace (begin_ns
	 * is then the trace's first event) or not have ended (end_ns is then
	 * the trace's end), and latency_ns is what the trace holds of it. */
	int trigger;
	int begin_in_trace,
		ended; /* The W3C trace context the task was stamped with (task.trace), when
			* has_trace; ids as lowercase hex strings, NUL-terminated. */
	int has_trace;
	char trace_id[33], span_id[17], parent_id[17];
	uint8_t trace_flags;
};

struct report_region_stat {
	const char *name;
	uint64_t count, total_ns, self_ns, max_ns;
};

struct report_result {
	uint64_t events, first_ns, last_ns; /* last_ns: the capture's end when known */
	int end_is_capture_end;		    /* the trace says when the capture ended */
	uint64_t events_by_kind[128];
	uint64_t generations, first_seq, last_seq, missing_generations;
	uint32_t clock_kind;
	int64_t realtime_offset_ns; /* of the first generation */
	uint64_t generation_bytes;  /* sum of generation sizes in the file */

	uint32_t nthreads;
	struct report_thread *threads; /* by index */

	struct report_loss loss;

	uint64_t tasks_begun, tasks_finished, tasks_unfinished;
	uint64_t tasks_before_trace; /* ended in the trace, began before it */
	uint32_t ntypes;
	struct report_type *types; /* by finished count, descending */

	uint32_t nslow;
	struct report_task *slow; /* slowest first */
	int detail_done;	  /* pass 2 ran: regions/logs of slow tasks are filled */

	uint64_t regions_total;	    /* closed regions seen */
	uint64_t regions_unmatched; /* region.end with no open region (capture edge) */
	uint64_t regions_unclosed;  /* still open at the end of the trace or thread */
	uint32_t nregion_names;
	struct report_region_stat *top_regions; /* by total time, descending */
	uint32_t ntop_regions;

	uint64_t waits;			     /* wait.begin events */
	uint64_t waits_open;		     /* still open at the end of the trace */
	uint64_t waits_unmatched;	     /* wait.end with no open wait (capture edge) */
	uint32_t nwait_sites;		     /* distinct sites */
	struct report_wait_site *wait_sites; /* by total time, descending */
	uint32_t ntop_wait_sites;	     /* at most REPORT_TOP_WAIT_SITES */
	/* Waits at sites beyond REPORT_MAX_WAIT_SITES: counted here only. */
	uint64_t wait_sites_overflow, wait_sites_overflow_ns;

	struct report_cpu cpu;
	int has_states; /* any thread has scheduler, fault or throttle data */
};

struct report;

struct report *report_new(const struct report_options *o);
void report_free(struct report *r);

/* Pass 1: every generation, then its events (any order per thread is fine:
 * CT_ORDER_THREAD is enough). Generations are optional in tests. Duration
 * arguments (the loss span) are nanoseconds, as the reader resolves them. */
void report_generation(struct report *r, const struct ct_generation *g);
/* The capture's end (or a dump's cut), when the trace says it: the trace
 * runs to then, and so do waits still open. */
void report_set_end(struct report *r, uint64_t end_ns);
void report_event(struct report *r, const struct ct_event *ev);
void report_events(struct report *r, const struct ct_event *evs, int n); /* a batch */
/* Or, over a reader in CT_ORDER_THREAD: every event of its current
 * generation (after report_generation), decoded straight into pass 1
 * without a struct ct_event per event. Returns 0 or the reader's error. */
int report_read_generation(struct report *r, ct_reader *rd);
/* Header metadata (key, value pairs; n strings): the scheduler source, the
 * cgroup's CPU limits, a dump's triggering task. Call before the first
 * event. */
void report_trace_meta(struct report *r, const char *const *meta, uint32_t n);
/* Ends pass 1: fixes the slowest tasks. Returns how many there are. */
unsigned report_pass1_done(struct report *r);

/* Pass 2: the same generations in the same order. Call report_detail_wanted
 * for each; feed the events of those it accepts (after
 * report_detail_generation), skip the others. Returns 1 to feed, 0 to
 * skip, -1 when no later generation is wanted either (stop reading). */
int report_detail_wanted(struct report *r, const struct ct_generation *g);
/* Or, instead of report_detail_wanted: the file spans (generation frames)
 * pass 2 needs, in file order, so a driver can read only those. Returns how
 * many (*spans valid until report_free), or -1 when unknown: then read every
 * generation with report_detail_wanted. */
struct report_span {
	uint64_t offset, size;
};
int64_t report_detail_spans(struct report *r, const struct report_span **spans);
void report_detail_generation(struct report *r, const struct ct_generation *g);
void report_detail_event(struct report *r, const struct ct_event *ev);

/* Pass 3 (optional, after pass 2): what the holders of the slow tasks'
 * lock waits did during those waits, and how many threads wanted a CPU
 * during the tasks whose largest state is runnable or throttled. Like
 * pass 2 it reads only some generations: those overlapping these
 * intervals, and the one before each run of them (a wait the holder began
 * earlier). report_holder_spans gives them as file spans (-1: unknown,
 * then offer every generation to report_holder_wanted); 0 spans: nothing
 * to do. Results go into res.slow[i].longest[j].holding and conc_*. */
int64_t report_holder_spans(struct report *r, const struct report_span **spans);
int report_holder_wanted(struct report *r, const struct ct_generation *g);
void report_holder_generation(struct report *r, const struct ct_generation *g);
void report_holder_event(struct report *r, const struct ct_event *ev);

/* Computes the results. Call once, after pass 1 (pass 2 and 3 optional). */
const struct report_result *report_finish(struct report *r);

/* ---- over a trace file (report_run.c) ---- */

struct report_file {
	uint64_t file_size;
	uint32_t version_major, version_minor;
	uint32_t nmeta;
	char **meta;	      /* header metadata: key, value, key, value... */
	int complete;	      /* the end frame was read */
	int damaged;	      /* the reader stopped on an error after the header */
	uint64_t generations; /* read intact in pass 1 */
	uint64_t detail_generations, detail_skipped; /* pass 2 */
	uint64_t holder_generations;		     /* pass 3 */
	uint64_t header_bytes;			     /* where the first generation starts */
	char error[512];			     /* the reader's error line, "" when none */
};

/* pass: 1, 2 or 3; done/total: file bytes; events: read so far in this pass. */
typedef void (*report_progress_fn)(void *arg, int pass, uint64_t done, uint64_t total,
				   uint64_t events);

/* Runs both passes over the trace at path, then report_finish(). Returns 0
 * when the trace was read to its end, 1 when it is damaged but the report
 * holds every generation before the damage, -1 when nothing could be read
 * (f->error says why in each case but 0). */
int report_run(struct report *r, const char *path, struct report_file *f,
	       report_progress_fn progress, void *arg);
void report_file_free(struct report_file *f);

#endif
