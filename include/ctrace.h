/* ctrace recording API: start and stop a capture, and annotate the program
 * with tasks (logical operations that may cross threads), regions (nested
 * spans of time on one thread) and logs. See README.md and docs/. */
#ifndef CTRACE_H
#define CTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CT_VERSION_STRING "0.1.0"

/* Exported from libctrace.so (everything else there is hidden). */
#ifndef CT_API
#define CT_API __attribute__((visibility("default")))
#endif

/* A task id; 0 means "no task". Ids are unique within a process. */
typedef uint64_t ct_task;
/* An interned string (region name, task type, log category); 0 = none. */
typedef uint32_t ct_name;

/* Error codes are negative errno values plus these. */
#define CT_EALREADY    (-114)  /* -EALREADY: a capture is already running */
#define CT_ENOTRUNNING (-3000) /* no capture is running */
#define CT_EFORMAT     (-3001) /* trace data is malformed */
#define CT_ETRUNCATED  (-3002) /* trace data ends early */
#define CT_EVERSION    (-3003) /* trace format version not supported */
#define CT_ECONFIG     (-3004) /* a configuration value is invalid */

/* Which event kinds capture a stack (ct_config.stack_events). */
#define CT_STACK_TASK	0x1u /* task begin/end/enter/leave */
#define CT_STACK_REGION 0x2u /* region begin/end */
#define CT_STACK_LOG	0x4u /* logs */
#define CT_STACK_WAIT	0x8u /* waits: locks, I/O, sleeps (on by default) */
#define CT_STACK_ALL	0xfu

/* Where runnable-but-not-running time comes from (ct_config.sched). */
enum ct_sched_choice {
	/* perf context switches (an event per thread), schedstat where
	 * refused; a recording kept by a flight recorder alone (no sink):
	 * schedstat (README) */
	CT_SCHED_AUTO = 0,
	CT_SCHED_PERF = 1, /* perf, an event per thread; threads that cannot get one go without */
	CT_SCHED_SCHEDSTAT = 2, /* sample /proc/self/task/TID/schedstat only */
	CT_SCHED_OFF = 3,
	/* perf, an event per CPU for every task on it (needs CAP_PERFMON or
	 * perf_event_paranoid <= 0; other tasks pay for their switches), else
	 * as CT_SCHED_PERF */
	CT_SCHED_PERF_CPU = 4,
};

enum ct_clock_choice {
	CT_CLOCK_CHOICE_AUTO = 0,
	CT_CLOCK_CHOICE_TSC = 1,
	CT_CLOCK_CHOICE_MONOTONIC = 2
};

/* A sink callback: write len bytes, return 0 or a negative errno. Called from
 * ctrace's writer thread only, never from an application thread. */
typedef int (*ct_write_fn)(void *arg, const void *buf, size_t len);

/* What a watch callback (ct_config.watch) says when it asks for a dump. */
struct ct_watch_verdict {
	char reason[32];  /* names the dump file ('-', '_', letters, digits); "watch" if empty */
	char detail[128]; /* the dump's trigger.detail, e.g. "error rate 12% > 5%" */
};
/* Called every ct_config.watch_ns on ctrace's notify thread: returns 1 (and
 * fills v as it likes) to ask for a dump now, 0 for none. */
typedef int (*ct_watch_fn)(void *arg, struct ct_watch_verdict *v);
/* Called on ctrace's notify thread for each dump written into dump_dir, once
 * it has its final name (retention may remove it later). A callback that
 * takes long delays the next ones: at most 16 dumps wait for it, later ones
 * are written but not passed to it. */
typedef void (*ct_dump_fn)(void *arg, const char *path, const char *reason);

struct ct_config {
	/* Exactly one sink: a path (created/truncated, mode 0600), an fd
	 * (not closed by ctrace), or a callback. */
	const char *path;
	int fd; /* -1 when unused */
	ct_write_fn write;
	void *write_arg;

	uint64_t generation_ns;	     /* generation period; default 1 s */
	size_t generation_max_bytes; /* a generation is cut early at this size; default 4 MiB */
	size_t buffer_bytes;	     /* total event buffer memory; default 64 MiB */
	size_t chunk_bytes;	     /* unit handed to a thread; default 64 KiB */
	unsigned stack_events;	     /* CT_STACK_* mask; default CT_STACK_WAIT */
	unsigned stack_depth;	     /* frames per stack, max 64; default 32 */
	int compress;		     /* 0 none, 1 zstd; default 1 */
	int compress_level;	     /* zstd level; default 1 */
	int clock;		     /* enum ct_clock_choice; default auto */
	uint64_t flush_ns;	     /* how often the writer drains threads; 0 (default): 50 ms,
				      * 20 ms with perf scheduler events */
	int sched;		     /* enum ct_sched_choice; default auto */
	int faults;		     /* page-fault events; default 1 */
	unsigned cpu_hz;	     /* CPU samples per second of CPU time; default 0 (off) */
	int cgroup;		     /* cgroup CPU quota and throttling; default 1 */
	int cpu_signal;		     /* signal of the CPU sample timers; default 0 (SIGPROF) */
	uint64_t syscall_min_ns;     /* interposed syscalls shorter than this are not
				      * recorded as waits; default 2 us, 0 = all */
	/* Flight recorder: keep the most recent generations in memory, at most
	 * flight_max_bytes of them (a hard cap), to write out on demand with
	 * ct_flight_write(). 0 = off (default). With it on, the capture needs no
	 * sink, and its generations are cut at least every flight_min_age_ns/10
	 * so that the window is fine-grained. */
	size_t flight_max_bytes;
	uint64_t flight_min_age_ns; /* history wanted in a dump; default 10 s */
	/* Triggered dumps (ct_flight_trigger, dump_signal): written by the
	 * writer thread into dump_dir as <program>-<pid>-<UTC time>-<reason>.ctrace
	 * (mode 0600, a temporary name then a rename), at most one per
	 * dump_cooldown_ns, the oldest of the program's dumps there removed
	 * beyond dump_max_files or dump_max_bytes. NULL dump_dir: no triggers. */
	const char *dump_dir;
	uint64_t dump_cooldown_ns; /* default 10 s */
	unsigned dump_max_files;   /* default 10 */
	uint64_t dump_max_bytes;   /* default 1 GiB */
	int dump_signal;	   /* a signal that triggers a dump; 0 (default): none */
	/* Crash dumps: on SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT, the
	 * window goes into dump_dir (...-crash-SIGSEGV.ctrace, whatever the
	 * cooldown), then the signal takes its course under the program's own
	 * disposition (its handler, or death with the same status and core
	 * dump). Needs a flight recorder and dump_dir. Default 0 (off). */
	int dump_on_crash;
	/* Callbacks, run on ctrace's own "ctrace-notify" thread (never the
	 * writer's, never the program's; it is not traced); they need dump_dir.
	 * They must not call ct_stop or ct_flight_stop. */
	ct_watch_fn watch; /* a watchdog of the program's own (e.g. error rate) */
	void *watch_arg;
	uint64_t watch_ns;  /* how often watch is called; default 1 s */
	ct_dump_fn on_dump; /* each triggered dump, e.g. to ship it off the box */
	void *on_dump_arg;
};

/* Fills c with the defaults. */
CT_API void ct_config_init(struct ct_config *c);

/* Applies CTRACE_* environment variables on top of c (see README). Returns 0,
 * or CT_ECONFIG with a message available from ct_last_error(). */
CT_API int ct_config_from_env(struct ct_config *c);

/* Starts a capture. Returns 0 or a negative error code. While a flight
 * recorder started with ct_flight_start runs, a capture with a sink and no
 * flight_* fields joins its recording as a stream from now on. */
CT_API int ct_start(const struct ct_config *c);

/* Stops the capture: drains every thread, writes the last generation, closes
 * a path sink. Returns 0 or the first error the writer met. With a flight
 * recorder of ct_flight_start running, only the stream ends (and
 * CT_ENOTRUNNING when there is none). */
CT_API int ct_stop(void);

/* Drains every thread's events and writes them as a generation now; returns
 * once written. Events a thread committed before the call are included. */
CT_API int ct_flush(void);

/* Writes the flight recorder's window (ct_config.flight_max_bytes) as a
 * standalone trace: the current generation is cut first, so the window runs
 * up to now. Recording goes on meanwhile; concurrent calls are serialized.
 * path: written to a temporary name in the same directory, then renamed.
 * Returns 0, CT_ENOTRUNNING (no capture, or no flight recorder), or an
 * error from writing. It waits for the writer thread: not for signal
 * handlers. */
CT_API int ct_flight_write(const char *path);
CT_API int ct_flight_write_fd(int fd);
/* A flight recorder with a life of its own: it can start before, after or
 * without a streaming capture (ct_start with a sink), and stop while the
 * stream goes on, or the other way round; the two then share one recording.
 * ct_flight_new takes c's flight_* and dump_* fields (flight_max_bytes 0:
 * 10 MiB) and, for the case where the flight recorder starts the
 * recording, the recording's settings (buffers, sources, stacks); c must
 * have no sink. NULL on a bad configuration (ct_last_error says why). One
 * flight recorder runs at a time: ct_flight_start returns CT_EALREADY while
 * another (or one from ct_start's configuration) runs. A stream started
 * while a flight recorder runs keeps the recording's settings. ct_stop ends
 * the stream only; ct_flight_stop ends the flight recorder only; the
 * recording stops with the last of them. ct_flight_free stops it first if
 * it runs. ct_flight_write and the triggers below use the running one. */
struct ct_flight;
CT_API struct ct_flight *ct_flight_new(const struct ct_config *c);
CT_API int ct_flight_start(struct ct_flight *f);
CT_API int ct_flight_stop(struct ct_flight *f);
CT_API void ct_flight_free(struct ct_flight *f);

/* Asks for a dump of the flight recorder's window into ct_config.dump_dir,
 * for reason (letters, digits, '-' and '_' kept, at most 31): returns at
 * once; the writer thread writes it within a round, unless a dump was
 * written less than dump_cooldown_ns ago (the trigger is then dropped and
 * counted). Async-signal-safe. CT_ENOTRUNNING without a flight recorder and
 * a dump directory. */
CT_API int ct_flight_trigger(const char *reason);
/* The same for a task the program judged slow (a latency middleware, where
 * a distributed-tracing span would be marked slow): the dump's metadata
 * names the task (trigger.kind slow-task, trigger.task, its begin, the
 * latency and the threshold), so `ctrace report` and `ctrace diagnose`
 * take it first. Call it after ct_task_end(t): the dump holds what the
 * threads had recorded when it was asked, the task's end included. reason
 * NULL: "slow-task". */
CT_API int ct_flight_trigger_task(const char *reason, ct_task t, uint64_t latency_ns,
				  uint64_t threshold_ns);

/* Slow-task trigger: a task of this type (NULL or "*": of any type without
 * a rule of its own) that ends more than threshold_ns after it began asks
 * for a dump (reason "slow-<type>", trigger.kind slow-task, with the task's
 * id, type, begin, the threshold and its latency). 0 removes the rule. The
 * writer thread checks the tasks as it drains their events, so the dump
 * follows the task's end within a round or two and holds its whole life
 * when the window is long enough (trigger.task_begin_in_window). Rules are
 * process-wide, set at any time before or during captures; a task begun
 * before its rule was set is not checked. Returns 0, CT_ECONFIG ("" type),
 * or -ENOSPC (64 rules, or the name table is full). */
CT_API int ct_flight_slow_task(const char *type, uint64_t threshold_ns);
/* SLO watchdog: over a rolling window (window_ns, 0: 60 s; kept in tenths),
 * when the percentile (1-99) of the latencies of the tasks of this type
 * (NULL or "*": all tasks) that ended goes over threshold_ns, a dump
 * (reason "slo-<type>", trigger.kind slo, with the percentile's value
 * (within 1/16), the count, the threshold). It needs max(20, 100/(100-p))
 * latencies in the window; it fires once per breach (again only after the
 * percentile went back under the threshold), after the cooldown if one is
 * running. One rule per type and percentile; threshold_ns 0 removes it. */
CT_API int ct_flight_slo(const char *type, unsigned percentile, uint64_t threshold_ns,
			 uint64_t window_ns);

/* 1 while a capture is running. */
CT_API int ct_active(void);

/* Joins the calling thread to the running capture now rather than at its
 * first event, so that the scheduler and CPU-sample sources cover it from
 * here (ctrace's pthread_create interposer calls it as a thread starts).
 * Returns 0, or CT_ENOTRUNNING when no capture runs or the thread cannot
 * be traced. */
CT_API int ct_thread_start(void);

/* A description of an error code, and the detail of the last failed
 * configuration or start call on this thread. */
CT_API const char *ct_strerror(int err);
CT_API const char *ct_last_error(void);

struct ct_stats {
	uint64_t events;	/* events written to the sink */
	uint64_t lost;		/* events dropped (all recorded in the trace) */
	uint64_t bytes;		/* bytes handed to the sink */
	uint64_t generations;	/* generations written */
	uint64_t threads;	/* threads registered */
	uint64_t writer_cpu_ns; /* CPU time of ctrace's writer thread */
	/* The flight recorder's window, and the memory the recording holds
	 * (README "Memory"; updated with each generation): */
	uint64_t flight_bytes;	    /* trace bytes in the window now */
	uint64_t flight_bytes_max;  /* the most it ever held: at most flight_max_bytes */
	uint64_t flight_frames;	    /* generations in the window */
	uint64_t flight_frames_raw; /* of them, held uncompressed: the window had room */
	uint64_t mem_window;	    /* resident for it: at most flight_max_bytes + 3% */
	uint64_t mem_pool;	    /* event buffers ever in use at once (of buffer_bytes) */
	uint64_t mem_writer;	    /* the writer's buffers, compressor, queues, tables */
	uint64_t mem_bytes;	    /* the three together */
};
/* Counters of the running (or last) capture. */
CT_API void ct_get_stats(struct ct_stats *s);

/* ---- admin endpoint (an embedded HTTP server, README "Admin endpoint") ----
 * GET /debug/ctrace/trace?seconds=N streams a fresh capture of N seconds
 * (joining a running flight recorder), /debug/ctrace/flight dumps the
 * flight recorder's window (reason "manual", under the dump cooldown),
 * /debug/ctrace/status is JSON. Traces are sensitive: loopback by default,
 * and a non-loopback address needs a token. One server per process; its
 * thread is never traced. */
typedef void (*ct_log_fn)(void *arg, const char *line);
struct ct_http_config {
	/* "HOST:PORT", "[V6]:PORT" or "PORT"; HOST numeric or "localhost";
	 * port 0 picks a free one (ct_http_port). Default "127.0.0.1:6060". */
	const char *address;
	/* Bearer token clients send as "Authorization: Bearer TOKEN"
	 * (compared in constant time); NULL or "": none, loopback only. */
	const char *token;
	unsigned max_seconds;	  /* longest capture asked for; default 30, 0: none */
	int pprof_alias;	  /* also serve /debug/pprof/trace; default 0 */
	unsigned max_connections; /* at once; default 8 */
	unsigned timeout_s;	  /* a connection idle this long is closed; default 10 */
	/* A capture's bytes wait here between the writer and the client; a
	 * client too slow to keep it from filling ends its capture. 1 MiB to
	 * 4 GiB, default 16 MiB (reserved, touched only as it fills). */
	size_t queue_bytes;
	/* Every refusal, capture and dump, one line each; NULL: stderr. Never
	 * tokens or trace contents. Called on the server's thread: it must not
	 * call ct_http_stop (which joins that thread). */
	ct_log_fn log;
	void *log_arg;
};
CT_API void ct_http_config_init(struct ct_http_config *c);
/* Binds and starts serving; 0, CT_EALREADY, CT_ECONFIG (ct_last_error says
 * why: a bad address, a non-loopback one without a token...), or a
 * negative errno (-EADDRINUSE). */
CT_API int ct_http_start(const struct ct_http_config *c);
/* Ends a capture it streams, closes its connections, joins its thread.
 * (A capture the endpoint streams is the process's one stream: a ct_stop
 * from the program ends it too, and its client gets what was written.) */
CT_API int ct_http_stop(void);
/* The port it listens on, 0 when not running. */
CT_API int ct_http_port(void);

/* ---- names ---- */

/* Interns s (any storage, copied) and returns its id; 0 for NULL or when
 * the process-wide table (65536 names) is full. Lock-free. */
CT_API ct_name ct_intern(const char *s);

/* ---- tasks ---- */

/* Begins a task of the given type with an optional parent (0) and makes it
 * the calling thread's current task. Returns its id (0 when not tracing). */
CT_API ct_task ct_task_begin(const char *type, ct_task parent);
CT_API ct_task ct_task_begin_n(ct_name type, ct_task parent);
/* Ends a task, on any thread. If it is this thread's current task, the
 * thread returns to the task it was working for before (or none). */
CT_API void ct_task_end(ct_task t);
/* Continues task t on this thread (a thread pool worker picking up a
 * request): t becomes current until ct_task_leave(t). */
CT_API void ct_task_enter(ct_task t);
CT_API void ct_task_leave(ct_task t);
/* The calling thread's current task, or 0. */
CT_API ct_task ct_task_current(void);

/* ---- distributed tracing: W3C trace context ----
 * A task (a request) can carry the trace context of the distributed trace
 * it belongs to, so `ctrace tasks --trace-id` finds it and `ctrace diagnose`
 * names it. The context is recorded once per task (event task.trace). */
struct ct_trace_context {
	uint8_t trace_id[16]; /* the distributed trace; never all zero */
	uint8_t span_id[8];   /* this task's own span */
	uint8_t parent_id[8]; /* the caller's span (traceparent's parent-id); zero: none */
	uint8_t flags;	      /* trace-flags (bit 0: sampled) */
};
/* A traceparent value is "00-" 32 hex "-" 16 hex "-" 2 hex: 55 chars. */
#define CT_TRACEPARENT_LEN 55
/* Parses a traceparent header value (W3C Trace Context, version 00; a
 * higher version is read by its first four fields, as the spec says):
 * trace_id, parent_id (the header's parent-id) and flags, plus a fresh
 * random span_id for the receiving side. Surrounding spaces and tabs are
 * ignored. Returns 0, or CT_ECONFIG when malformed (wrong length or
 * separators, non-lowercase-hex, version ff, an all-zero trace or parent
 * id); *tc is then zeroed. */
CT_API int ct_traceparent_parse(const char *value, struct ct_trace_context *tc);
/* The traceparent to send downstream: version 00, tc's trace id, tc's
 * span_id as the parent-id, its flags. buf needs CT_TRACEPARENT_LEN + 1
 * bytes; returns CT_TRACEPARENT_LEN, or CT_ECONFIG (all-zero trace id or
 * span id, or len too small). */
CT_API int ct_traceparent_format(const struct ct_trace_context *tc, char *buf, size_t len);
/* A new span of the same trace, child of tc's span: trace id and flags
 * copied, parent_id = tc's span_id, a fresh random span_id. */
CT_API void ct_trace_context_child(const struct ct_trace_context *tc,
				   struct ct_trace_context *child);
/* Stamps task t (0: the calling thread's current task) with tc. Returns 0,
 * CT_ECONFIG for an all-zero trace id or no task, CT_ENOTRUNNING when not
 * tracing. Not a hot path: once per request. */
CT_API int ct_task_set_trace(ct_task t, const struct ct_trace_context *tc);
/* Parses value and stamps t in one call; a malformed value stamps nothing
 * and returns CT_ECONFIG. tc (may be NULL) receives the parsed context, for
 * ct_traceparent_format/ct_trace_context_child. */
CT_API int ct_task_set_traceparent(ct_task t, const char *value, struct ct_trace_context *tc);

/* ---- regions ---- */

CT_API void ct_region_begin(const char *name); /* interns by content on every call */
CT_API void ct_region_begin_n(ct_name name);
/* Ends the innermost open region of this thread. */
CT_API void ct_region_end(void);

/* ---- waits ----
 * The interposers of ctrace (ctrace run, or the link-time wrappers) record
 * waits on locks, I/O and sleeps by themselves; these are for waits they
 * cannot see, such as a custom lock. reason: enum ct_wait_reason
 * (ctrace_events.h); object: the lock's address or the fd; detail: see the
 * reason. Waits do not nest: ct_wait_end closes the thread's open wait. */
CT_API void ct_wait_begin(unsigned reason, uint64_t object, uint64_t detail);
CT_API void ct_wait_end(int64_t result);

/* ---- logs ---- */

/* Messages longer than CT_LOG_MAX bytes are cut and end with "...". */
#define CT_LOG_MAX 512
CT_API void ct_log(const char *category, const char *message);
CT_API void ct_log_n(ct_name category, const char *message, size_t len);
CT_API void ct_logf(const char *category, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* ct_logf with an interned category (CT_LOGF for a literal). */
CT_API void ct_logf_n(ct_name category, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- fast forms for string literals ----
 * The literal's id is interned once and cached in a static; these are the
 * forms to use on hot paths. The "" concatenation rejects non-literals. */
#define CT_NAME(lit)                                                                               \
	__extension__({                                                                            \
		static ct_name ct_cached_name_;                                                    \
		ct_name ct_n_ = __atomic_load_n(&ct_cached_name_, __ATOMIC_RELAXED);               \
		if (__builtin_expect(ct_n_ == 0, 0)) {                                             \
			ct_n_ = ct_intern("" lit "");                                              \
			__atomic_store_n(&ct_cached_name_, ct_n_, __ATOMIC_RELAXED);               \
		}                                                                                  \
		ct_n_;                                                                             \
	})
#define CT_REGION_BEGIN(lit)	   ct_region_begin_n(CT_NAME(lit))
#define CT_REGION_END()		   ct_region_end()
#define CT_TASK_BEGIN(lit, parent) ct_task_begin_n(CT_NAME(lit), (parent))
#define CT_LOG(lit_cat, msg)	   ct_log_n(CT_NAME(lit_cat), (msg), __builtin_strlen(msg))
#define CT_LOGF(lit_cat, ...)	   ct_logf_n(CT_NAME(lit_cat), __VA_ARGS__)

/* A region that ends when the enclosing scope exits (any return path). */
static inline void ct_region_scope_end_(int *unused)
{
	(void)unused;
	ct_region_end();
}
#define CT_CONCAT2_(a, b) a##b
#define CT_CONCAT_(a, b)  CT_CONCAT2_(a, b)
#define CT_REGION(lit)                                                                             \
	__attribute__((cleanup(ct_region_scope_end_), unused)) int CT_CONCAT_(                     \
		ct_region_scope_, __LINE__) = (ct_region_begin_n(CT_NAME(lit)), 0)

#ifdef __cplusplus
}
#endif
#endif
