/* Starting and stopping a capture: configuration (defaults, CTRACE_*
 * environment variables), the capture epoch, error strings, and the
 * automatic capture of programs started with CTRACE_OUTPUT or CTRACE_FLIGHT
 * set. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "record/capture.h"
#include "record/crash.h"
#include "record/rec.h"
#include "record/src_cpu.h"
#include "record/stacks.h"
#include "record/watch.h"
#include "record/writer.h"

static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER; /* start/stop only */
static uint32_t last_epoch;
static pid_t capture_pid; /* the process that started the running capture */
static void dump_signal_on(int sig);
static void dump_signal_off(void);
static __thread char last_err[256];

static int set_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_err, sizeof last_err, fmt, ap);
	va_end(ap);
	return code;
}

const char *ct_last_error(void)
{
	return last_err[0] ? last_err : NULL;
}

int capture_set_error(int code, const char *msg)
{
	return set_err(code, "%s", msg);
}

const char *ct_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case CT_EALREADY:
		return "a capture is already running";
	case CT_ENOTRUNNING:
		return "no capture is running";
	case CT_EFORMAT:
		return "malformed trace data";
	case CT_ETRUNCATED:
		return "trace data ends early";
	case CT_EVERSION:
		return "unsupported trace format version";
	case CT_ECONFIG:
		return "invalid configuration";
	default:
		return err < 0 ? strerror(-err) : "unknown error";
	}
}

void ct_config_init(struct ct_config *c)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->generation_ns = 1000000000u;
	c->generation_max_bytes = 4u << 20;
	c->buffer_bytes = 64u << 20;
	c->chunk_bytes = 64u << 10;
	c->stack_events = CT_STACK_WAIT;
	c->stack_depth = 32;
	c->compress = 1;
	c->compress_level = 1;
	c->clock = CT_CLOCK_CHOICE_AUTO;
	c->flush_ns = 0; /* the scheduler source decides: src_sched.c */
	c->sched = CT_SCHED_AUTO;
	c->faults = 1;
	c->cpu_hz = 0;
	c->cgroup = 1;
	c->syscall_min_ns = 2000;
	c->flight_max_bytes = 0;
	c->flight_min_age_ns = 10000000000ull;
	c->dump_cooldown_ns = 10000000000ull;
	c->dump_max_files = 10;
	c->dump_max_bytes = 1ull << 30;
}

static int parse_onoff(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* "250ms", "1s", "500us", "100000ns"; a bare number is nanoseconds. */
static int parse_duration(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	double mul = 1;
	if (!strcmp(end, "") || !strcmp(end, "ns"))
		mul = 1;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (!strcmp(end, "s"))
		mul = 1e9;
	else if (!strcmp(end, "m"))
		mul = 60e9;
	else
		return -1;
	if (v * mul > 1e18)
		return -1;
	*out = (uint64_t)(v * mul);
	return 0;
}

/* "64M", "512K", "1G", "4096" (bytes). */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned long long mul = 1;
	switch (toupper((unsigned char)*end)) {
	case 0:
		break;
	case 'K':
		mul = 1ull << 10;
		end++;
		break;
	case 'M':
		mul = 1ull << 20;
		end++;
		break;
	case 'G':
		mul = 1ull << 30;
		end++;
		break;
	default:
		return -1;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' ? (end[1] == 'B' ? 2 : 1) : 1;
	if (*end || v > (1ull << 40) / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

static int parse_uint(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > 1000000)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_stacks(const char *s, unsigned *mask)
{
	*mask = 0;
	if (!strcmp(s, "none") || !strcmp(s, "0") || !*s)
		return 0;
	if (!strcmp(s, "all") || !strcmp(s, "1")) {
		*mask = CT_STACK_ALL;
		return 0;
	}
	char tmp[128];
	snprintf(tmp, sizeof tmp, "%s", s);
	for (char *save, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "task") || !strcmp(tok, "tasks"))
			*mask |= CT_STACK_TASK;
		else if (!strcmp(tok, "region") || !strcmp(tok, "regions"))
			*mask |= CT_STACK_REGION;
		else if (!strcmp(tok, "log") || !strcmp(tok, "logs"))
			*mask |= CT_STACK_LOG;
		else if (!strcmp(tok, "wait") || !strcmp(tok, "waits"))
			*mask |= CT_STACK_WAIT;
		else
			return -1;
	}
	return 0;
}

/* CTRACE_FLIGHT: "on"/"1" (defaults), "off"/"0", or "MINAGE[,MAXSIZE]". */
#define FLIGHT_DEFAULT_BYTES (10u << 20)
static int parse_flight(const char *v, struct ct_config *c)
{
	int on;
	if (!parse_onoff(v, &on)) {
		c->flight_max_bytes =
			on ? (c->flight_max_bytes ? c->flight_max_bytes : FLIGHT_DEFAULT_BYTES) : 0;
		return 0;
	}
	char age[64];
	const char *comma = strchr(v, ',');
	size_t n = comma ? (size_t)(comma - v) : strlen(v);
	if ((n == 0 && !comma) || n >= sizeof age)
		return -1;
	memcpy(age, v, n);
	age[n] = 0;
	uint64_t ns = c->flight_min_age_ns; /* ",20M": the default age */
	size_t bytes = FLIGHT_DEFAULT_BYTES;
	/* the ranges check_config enforces, so `ctrace run` reports them */
	if ((n && parse_duration(age, &ns)) || ns < 10000000u || ns > 86400000000000ull ||
	    (comma && parse_size(comma + 1, &bytes)) || bytes < (256u << 10) ||
	    bytes > (16ull << 30))
		return -1;
	c->flight_min_age_ns = ns;
	c->flight_max_bytes = bytes;
	return 0;
}

/* The flight recorder and its triggered dumps (README, "Flight recorder"). */
static int flight_from_env(struct ct_config *c)
{
	const char *v;
	if ((v = getenv("CTRACE_FLIGHT")) && parse_flight(v, c))
		return set_err(CT_ECONFIG,
			       "CTRACE_FLIGHT: bad value '%s' (on, off, or MINAGE[,MAXSIZE] "
			       "from 10ms to 24h and 256K to 16G, e.g. 10s,10M)",
			       v);
	if ((v = getenv("CTRACE_DUMP_DIR")))
		c->dump_dir = *v ? v : NULL;
	if ((v = getenv("CTRACE_DUMP_SIGNAL"))) {
		int on = 1;
		if (!parse_onoff(v, &on) && on)
			v = "USR2"; /* "on": the default dump signal */
		if (!on || !strcmp(v, "none"))
			c->dump_signal = 0;
		else if ((c->dump_signal = cpu_parse_signal(v)) < 0)
			return set_err(CT_ECONFIG,
				       "CTRACE_DUMP_SIGNAL: bad signal '%s' (USR1, USR2, PROF, "
				       "VTALRM, ALRM, RTMIN+N, or off)",
				       v);
	}
	if ((v = getenv("CTRACE_DUMP_COOLDOWN")) && parse_duration(v, &c->dump_cooldown_ns))
		return set_err(CT_ECONFIG,
			       "CTRACE_DUMP_COOLDOWN: bad duration '%s' (e.g. 10s, 0 for none)", v);
	if ((v = getenv("CTRACE_DUMP_MAX_FILES")) &&
	    (parse_uint(v, &c->dump_max_files) || c->dump_max_files == 0))
		return set_err(CT_ECONFIG, "CTRACE_DUMP_MAX_FILES: bad number '%s' (at least 1)",
			       v);
	if ((v = getenv("CTRACE_DUMP_MAX_BYTES"))) {
		size_t b;
		if (parse_size(v, &b) || b == 0)
			return set_err(CT_ECONFIG, "CTRACE_DUMP_MAX_BYTES: bad size '%s' (e.g. 1G)",
				       v);
		c->dump_max_bytes = b;
	}
	return 0;
}

int ct_config_from_env(struct ct_config *c)
{
	const char *v;
	if ((v = getenv("CTRACE_OUTPUT")) && *v)
		c->path = v;
	if ((v = getenv("CTRACE_GENERATION")) && parse_duration(v, &c->generation_ns))
		return set_err(CT_ECONFIG, "CTRACE_GENERATION: bad duration '%s' (e.g. 1s, 250ms)",
			       v);
	if ((v = getenv("CTRACE_FLUSH")) && parse_duration(v, &c->flush_ns))
		return set_err(CT_ECONFIG, "CTRACE_FLUSH: bad duration '%s' (e.g. 20ms)", v);
	if ((v = getenv("CTRACE_BUFFER")) && parse_size(v, &c->buffer_bytes))
		return set_err(CT_ECONFIG, "CTRACE_BUFFER: bad size '%s' (e.g. 64M)", v);
	if ((v = getenv("CTRACE_CHUNK")) && parse_size(v, &c->chunk_bytes))
		return set_err(CT_ECONFIG, "CTRACE_CHUNK: bad size '%s' (e.g. 64K)", v);
	if ((v = getenv("CTRACE_GENERATION_MAX")) && parse_size(v, &c->generation_max_bytes))
		return set_err(CT_ECONFIG, "CTRACE_GENERATION_MAX: bad size '%s' (e.g. 4M)", v);
	if ((v = getenv("CTRACE_STACKS")) && parse_stacks(v, &c->stack_events))
		return set_err(CT_ECONFIG,
			       "CTRACE_STACKS: bad value '%s' (none, all, or a list of "
			       "task,region,log,wait)",
			       v);
	if ((v = getenv("CTRACE_STACK_DEPTH")) && parse_uint(v, &c->stack_depth))
		return set_err(CT_ECONFIG, "CTRACE_STACK_DEPTH: bad number '%s'", v);
	if ((v = getenv("CTRACE_COMPRESS"))) {
		if (!strcmp(v, "0") || !strcmp(v, "none"))
			c->compress = 0;
		else if (!strcmp(v, "1") || !strcmp(v, "zstd"))
			c->compress = 1;
		else
			return set_err(CT_ECONFIG, "CTRACE_COMPRESS: bad value '%s' (zstd or none)",
				       v);
	}
	if ((v = getenv("CTRACE_COMPRESS_LEVEL"))) {
		unsigned l;
		if (parse_uint(v, &l) || l < 1 || l > 19)
			return set_err(CT_ECONFIG, "CTRACE_COMPRESS_LEVEL: bad level '%s' (1-19)",
				       v);
		c->compress_level = (int)l;
	}
	if ((v = getenv("CTRACE_CLOCK"))) {
		if (!strcmp(v, "auto"))
			c->clock = CT_CLOCK_CHOICE_AUTO;
		else if (!strcmp(v, "tsc"))
			c->clock = CT_CLOCK_CHOICE_TSC;
		else if (!strcmp(v, "monotonic"))
			c->clock = CT_CLOCK_CHOICE_MONOTONIC;
		else
			return set_err(CT_ECONFIG,
				       "CTRACE_CLOCK: bad value '%s' (auto, tsc, monotonic)", v);
	}
	if ((v = getenv("CTRACE_SCHED"))) {
		if (!strcmp(v, "auto"))
			c->sched = CT_SCHED_AUTO;
		else if (!strcmp(v, "perf"))
			c->sched = CT_SCHED_PERF;
		else if (!strcmp(v, "perf-cpu"))
			c->sched = CT_SCHED_PERF_CPU;
		else if (!strcmp(v, "schedstat"))
			c->sched = CT_SCHED_SCHEDSTAT;
		else if (!strcmp(v, "off"))
			c->sched = CT_SCHED_OFF;
		else
			return set_err(CT_ECONFIG,
				       "CTRACE_SCHED: bad value '%s' (auto, perf, perf-cpu, "
				       "schedstat, off)",
				       v);
	}
	if ((v = getenv("CTRACE_FAULTS")) && parse_onoff(v, &c->faults))
		return set_err(CT_ECONFIG, "CTRACE_FAULTS: bad value '%s' (on or off)", v);
	if ((v = getenv("CTRACE_SYSCALL_MIN")) && parse_duration(v, &c->syscall_min_ns))
		return set_err(
			CT_ECONFIG,
			"CTRACE_SYSCALL_MIN: bad duration '%s' (e.g. 2us, 0 to record every call)",
			v);
	if ((v = getenv("CTRACE_CGROUP")) && parse_onoff(v, &c->cgroup))
		return set_err(CT_ECONFIG, "CTRACE_CGROUP: bad value '%s' (on or off)", v);
	if ((v = getenv("CTRACE_CPU_HZ")) && (parse_uint(v, &c->cpu_hz) || c->cpu_hz > 10000))
		return set_err(CT_ECONFIG,
			       "CTRACE_CPU_HZ: bad rate '%s' (0 = off, at most 10000, e.g. 100)",
			       v);
	if ((v = getenv("CTRACE_CPU_SIGNAL")) && (c->cpu_signal = cpu_parse_signal(v)) < 0)
		return set_err(
			CT_ECONFIG,
			"CTRACE_CPU_SIGNAL: bad signal '%s' (PROF, VTALRM, ALRM, USR1, USR2, "
			"RTMIN+N)",
			v);
	if ((v = getenv("CTRACE_DUMP_ON_CRASH")) && parse_onoff(v, &c->dump_on_crash))
		return set_err(CT_ECONFIG, "CTRACE_DUMP_ON_CRASH: bad value '%s' (1 or 0)", v);
	char werr[256]; /* slow-task and SLO rules are process-wide (watch.c) */
	if (watch_from_env(getenv("CTRACE_SLOW_TASK"), getenv("CTRACE_SLO"), parse_duration, werr,
			   sizeof werr))
		return set_err(CT_ECONFIG, "%s", werr);
	return flight_from_env(c);
}

static int check_config(const struct ct_config *c)
{
	int sinks = (c->path != NULL) + (c->fd >= 0) + (c->write != NULL);
	if (c->flight_max_bytes &&
	    (c->flight_max_bytes < (256u << 10) || c->flight_max_bytes > (16ull << 30)))
		return set_err(CT_ECONFIG,
			       "flight recorder size must be between 256 KiB and 16 GiB");
	if (c->flight_max_bytes &&
	    (c->flight_min_age_ns < 10000000u || c->flight_min_age_ns > 86400000000000ull))
		return set_err(CT_ECONFIG, "flight recorder age must be between 10 ms and 24 h");
	if (c->dump_dir && !c->flight_max_bytes)
		return set_err(CT_ECONFIG, "a dump directory needs a flight recorder");
	if (c->dump_signal && !c->dump_dir)
		return set_err(CT_ECONFIG, "a dump signal needs a dump directory");
	if (c->dump_on_crash && (!c->flight_max_bytes || !c->dump_dir))
		return set_err(CT_ECONFIG,
			       "crash dumps need a flight recorder and a dump directory");
	if (c->dump_signal && (c->dump_signal <= 0 || c->dump_signal >= NSIG ||
			       c->dump_signal == SIGKILL || c->dump_signal == SIGSTOP))
		return set_err(CT_ECONFIG, "signal %d cannot trigger dumps", c->dump_signal);
	if (c->dump_dir && c->dump_max_files == 0)
		return set_err(CT_ECONFIG, "dump_max_files must be at least 1");
	if ((c->watch || c->on_dump) && !c->dump_dir)
		return set_err(CT_ECONFIG, "watch and dump callbacks need a dump directory");
	if (c->watch && c->watch_ns && (c->watch_ns < 1000000u || c->watch_ns > 3600000000000ull))
		return set_err(CT_ECONFIG, "the watch period must be between 1 ms and 1 h");
	if (c->flight_max_bytes && sinks == 0)
		sinks = 1; /* the flight recorder alone is an output */
	if (sinks != 1)
		return set_err(CT_ECONFIG,
			       "exactly one sink is needed (path, fd or callback), got %d", sinks);
	if (c->generation_ns < 1000000 || c->generation_ns > 600000000000ull)
		return set_err(CT_ECONFIG, "generation period must be between 1 ms and 10 min");
	if (c->flush_ns && (c->flush_ns < 100000 || c->flush_ns > c->generation_ns))
		return set_err(CT_ECONFIG,
			       "flush period must be between 100 us and the generation period");
	if (c->chunk_bytes < 4096 || c->chunk_bytes > (1u << 20))
		return set_err(CT_ECONFIG, "chunk size must be between 4 KiB and 1 MiB");
	if (c->buffer_bytes < 2 * c->chunk_bytes || c->buffer_bytes > (64ull << 30))
		return set_err(CT_ECONFIG,
			       "buffer size must hold at least two chunks and be at most 64 GiB");
	if (c->generation_max_bytes < 64 * 1024 || c->generation_max_bytes > CT_GEN_MAX_RAW / 2)
		return set_err(CT_ECONFIG, "generation size must be between 64 KiB and 32 MiB");
	if (c->stack_depth < 1 || c->stack_depth > STACK_MAX_DEPTH)
		return set_err(CT_ECONFIG, "stack depth must be between 1 and %d", STACK_MAX_DEPTH);
	if (c->stack_events & ~CT_STACK_ALL)
		return set_err(CT_ECONFIG, "unknown stack event bits 0x%x", c->stack_events);
	if (c->sched < CT_SCHED_AUTO || c->sched > CT_SCHED_PERF_CPU)
		return set_err(CT_ECONFIG, "unknown scheduler source %d", c->sched);
	if (c->syscall_min_ns > 10000000000ull)
		return set_err(CT_ECONFIG, "syscall threshold must be at most 10 s");
	if (c->cpu_hz > 10000)
		return set_err(CT_ECONFIG, "CPU sample rate must be at most 10000 Hz");
	if (c->cpu_signal && !cpu_signal_ok(c->cpu_signal))
		return set_err(CT_ECONFIG, "signal %d cannot carry CPU samples", c->cpu_signal);
	return 0;
}

/* What the recording feeds, under ctl_mu: a stream (a ct_start sink), and
 * a flight recorder, either part of ct_start's configuration (it ends with
 * the stream) or started on its own (ct_flight_start). The recording runs
 * while either is on. */
static int stream_on;
static struct ct_flight *flight_running;

struct ct_flight {
	struct ct_config cfg;
	char *dump_dir; /* cfg.dump_dir points here */
};

/* Handlers that come with a flight recorder with a dump directory. */
static int flight_hooks_on(const struct ct_config *c)
{
	if (c->dump_signal && c->flight_max_bytes && c->dump_dir)
		dump_signal_on(c->dump_signal);
	crash_install(c); /* (when c->dump_on_crash) */
	/* the callbacks' thread; it fails only when no thread can be made */
	return notify_start(c);
}

static void flight_hooks_off(void)
{
	crash_uninstall();
	dump_signal_off();
}

static int stop_recording(void);

/* Starts the recording with c's outputs; ctl_mu held, none running. */
static int start_recording(const struct ct_config *cin)
{
	struct ct_config c = *cin;
	const char *why;
	int kind = clock_setup(c.clock, &why);
	int rc = pool_create(c.buffer_bytes, c.chunk_bytes);
	if (rc)
		return set_err(rc, "cannot reserve %zu bytes of buffers: %s", c.buffer_bytes,
			       strerror(-rc));
	threads_begin_capture();
	g_params.chunk_bytes = c.chunk_bytes;
	g_params.stack_mask = c.stack_events;
	g_params.stack_depth = (int)c.stack_depth;
	uint32_t epoch = ++last_epoch;
	if (epoch >= EPOCH_DEAD)
		epoch = last_epoch = 1;
	rc = writer_start(&c, epoch, kind);
	if (rc) {
		pool_destroy();
		return set_err(rc, "cannot start the capture: %s",
			       c.path ? strerror(-rc) : ct_strerror(rc));
	}
	capture_pid = (pid_t)syscall(SYS_getpid);
	rc = flight_hooks_on(&c);
	atomic_store(&g_epoch, epoch);
	if (rc) {
		stop_recording(); /* callbacks asked for must run, or nothing */
		return set_err(rc, "cannot start ctrace's callback thread: %s", strerror(-rc));
	}
	return 0;
}

/* Stops the recording and all its outputs; ctl_mu held, one running. */
static int stop_recording(void)
{
	atomic_store(&g_epoch, EPOCH_INACTIVE);
	flight_hooks_off();
	threads_quiesce();
	int rc = writer_stop();
	notify_stop(); /* after the writer: dumps it wrote last are reported */
	threads_release_all();
	pool_destroy();
	stream_on = 0;
	flight_running = NULL;
	return rc;
}

static int has_sink(const struct ct_config *c)
{
	return c->path || c->fd >= 0 || c->write;
}

int ct_start(const struct ct_config *cin)
{
	struct ct_config c = *cin;
	last_err[0] = 0;
	int rc = check_config(&c);
	if (rc)
		return rc;
	pthread_mutex_lock(&ctl_mu);
	if (atomic_load(&g_epoch) == EPOCH_INACTIVE) {
		rc = start_recording(&c);
		if (rc == 0)
			stream_on = has_sink(&c);
	} else if (!stream_on && flight_running && has_sink(&c) && !c.flight_max_bytes) {
		/* A flight recorder runs: the stream joins its recording (whose
		 * settings stay those it started with). */
		struct writer_sink sk = {.fd = c.fd, .write = c.write, .write_arg = c.write_arg};
		if (c.path) {
			sk.fd = open(c.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			sk.own_fd = 1;
		}
		if (!c.write && sk.fd < 0) {
			rc = set_err(-errno, "cannot start the capture: %s", strerror(errno));
		} else {
			rc = writer_sink_on(&sk);
			if (rc == 0)
				stream_on = 1;
			else
				set_err(rc, "cannot start the capture: %s", ct_strerror(rc));
		}
	} else {
		rc = set_err(CT_EALREADY, flight_running && c.flight_max_bytes
						  ? "a flight recorder is already running"
						  : "a capture is already running");
	}
	pthread_mutex_unlock(&ctl_mu);
	return rc;
}

int ct_stop(void)
{
	pthread_mutex_lock(&ctl_mu);
	int rc;
	if (atomic_load(&g_epoch) == EPOCH_INACTIVE || (flight_running && !stream_on)) {
		rc = CT_ENOTRUNNING; /* (a flight recorder alone stops with ct_flight_stop) */
	} else if (flight_running) {
		rc = writer_sink_off(); /* the flight recorder goes on */
		stream_on = 0;
	} else {
		rc = stop_recording();
	}
	pthread_mutex_unlock(&ctl_mu);
	return rc;
}

/* ---- flight recorders started on their own ---- */

struct ct_flight *ct_flight_new(const struct ct_config *cin)
{
	last_err[0] = 0;
	if (has_sink(cin)) {
		set_err(CT_ECONFIG, "a flight recorder has no sink: start a stream with ct_start");
		return NULL;
	}
	struct ct_flight *f = calloc(1, sizeof *f);
	if (!f) {
		set_err(-ENOMEM, "out of memory");
		return NULL;
	}
	f->cfg = *cin;
	if (!f->cfg.flight_max_bytes)
		f->cfg.flight_max_bytes = 10u << 20; /* the default window */
	if ((cin->dump_dir && !(f->dump_dir = strdup(cin->dump_dir))) ||
	    check_config(&f->cfg) != 0) {
		if (!last_err[0])
			set_err(-ENOMEM, "out of memory");
		free(f->dump_dir);
		free(f);
		return NULL;
	}
	f->cfg.dump_dir = f->dump_dir;
	return f;
}

int ct_flight_start(struct ct_flight *f)
{
	if (!f)
		return CT_ECONFIG;
	last_err[0] = 0;
	pthread_mutex_lock(&ctl_mu);
	int rc;
	if (atomic_load(&g_epoch) == EPOCH_INACTIVE) {
		rc = start_recording(&f->cfg);
		if (rc == 0) {
			stream_on = 0;
			flight_running = f;
		}
	} else if (flight_running || writer_has_flight()) {
		rc = set_err(CT_EALREADY, "a flight recorder is already running");
	} else {
		/* A stream runs: the flight recorder joins its recording. */
		rc = writer_flight_on(&f->cfg);
		if (rc == 0 && (rc = flight_hooks_on(&f->cfg)) != 0) {
			flight_hooks_off();
			writer_flight_off();
			set_err(rc, "cannot start ctrace's callback thread: %s", strerror(-rc));
		} else if (rc == 0) {
			flight_running = f;
		} else {
			set_err(rc, "cannot start the flight recorder: %s", ct_strerror(rc));
		}
	}
	pthread_mutex_unlock(&ctl_mu);
	return rc;
}

int ct_flight_stop(struct ct_flight *f)
{
	pthread_mutex_lock(&ctl_mu);
	int rc = 0;
	if (!f || flight_running != f || atomic_load(&g_epoch) == EPOCH_INACTIVE) {
		rc = CT_ENOTRUNNING;
	} else if (stream_on) {
		flight_hooks_off();
		rc = writer_flight_off(); /* the stream goes on */
		notify_stop();
		flight_running = NULL;
	} else {
		rc = stop_recording();
	}
	pthread_mutex_unlock(&ctl_mu);
	return rc;
}

void ct_flight_free(struct ct_flight *f)
{
	if (!f)
		return;
	ct_flight_stop(f);
	free(f->dump_dir);
	free(f);
}

int ct_flush(void)
{
	/* Not under ctl_mu: a flush must not wait behind a stop's final drain
	 * while holding up other controls; the writer serializes it. */
	if (!ct_active())
		return CT_ENOTRUNNING;
	return writer_flush();
}

int ct_thread_start(void)
{
	return tls_in_capture() ? 0 : CT_ENOTRUNNING;
}

/* The process ends without exit handlers (_exit from ctrace's interposer):
 * stop the capture so the trace is complete, but never hang the exit. The
 * caller may be a signal handler that interrupted anything, so: only if the
 * control lock is free, only in the capturing process (not a vfork child
 * sharing its memory), and the writer gets a bounded time to finish. */
void capture_stop_at_exit(void)
{
	if (!ct_active() || (pid_t)syscall(SYS_getpid) != capture_pid)
		return;
	struct tls *t = &ct_tls;
	if (t->rec && atomic_load(&t->rec->busy))
		return; /* interrupted one of our own events: quiescence would wait on us */
	if (pthread_mutex_trylock(&ctl_mu) != 0)
		return;
	if (atomic_load(&g_epoch) == EPOCH_INACTIVE) {
		pthread_mutex_unlock(&ctl_mu);
		return;
	}
	atomic_store(&g_epoch, EPOCH_INACTIVE);
	threads_quiesce();
	writer_stop_bounded(5000000000ull);
	/* no release: the process is about to end, and the writer may still
	 * run if it did not finish in time */
	pthread_mutex_unlock(&ctl_mu);
}

int ct_flight_trigger(const char *reason)
{
	return writer_trigger(reason);
}

int ct_flight_trigger_task(const char *reason, ct_task task, uint64_t latency_ns,
			   uint64_t threshold_ns)
{
	struct dump_trigger t;
	memset(&t, 0, sizeof t);
	snprintf(t.reason, sizeof t.reason, "%s", reason && *reason ? reason : "slow-task");
	memcpy(t.kind, "slow-task", 10);
	t.task = task;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	t.task_begin_ns = now_ns > latency_ns ? now_ns - latency_ns : 0;
	t.observed_ns = latency_ns;
	t.threshold_ns = threshold_ns;
	return writer_trigger_ex(&t);
}

/* The dump signal (ct_config.dump_signal): its handler only asks. */
static int dump_sig;
static struct sigaction dump_sig_old;

static void on_dump_signal(int sig)
{
	int e = errno;
	struct dump_trigger t = {.reason = "signal", .kind = "signal"};
	t.signal = sig;
	writer_trigger_ex(&t);
	errno = e;
}

static void dump_signal_on(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_dump_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &dump_sig_old) == 0)
		dump_sig = sig;
}

static void dump_signal_off(void)
{
	if (!dump_sig)
		return;
	struct sigaction cur;
	/* only if nobody replaced ours meanwhile */
	if (sigaction(dump_sig, NULL, &cur) == 0 && cur.sa_handler == on_dump_signal)
		sigaction(dump_sig, &dump_sig_old, NULL);
	dump_sig = 0;
}

int ct_flight_write_fd(int fd)
{
	/* Not under ctl_mu, like ct_flush: a stop wakes a waiting dump. */
	if (!ct_active())
		return CT_ENOTRUNNING;
	return writer_dump(fd);
}

int ct_flight_write(const char *path)
{
	if (!ct_active())
		return CT_ENOTRUNNING;
	/* A reader never sees half a dump: a temporary name, then a rename. */
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = writer_dump(fd);
	if (fsync(fd) != 0 && rc == 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

void capture_outputs(int *stream, int *flight)
{
	pthread_mutex_lock(&ctl_mu);
	int on = atomic_load(&g_epoch) != EPOCH_INACTIVE;
	*stream = on && writer_has_sink();
	*flight = on && writer_has_flight();
	pthread_mutex_unlock(&ctl_mu);
}

int ct_active(void)
{
	return atomic_load_explicit(&g_epoch, memory_order_relaxed) != EPOCH_INACTIVE;
}

void ct_get_stats(struct ct_stats *s)
{
	writer_stats(s);
}

/* ---- automatic capture: CTRACE_OUTPUT=FILE or CTRACE_FLIGHT=on ./prog ---- */

static struct ct_flight *auto_flight; /* CTRACE_FLIGHT without CTRACE_OUTPUT */

static void stop_at_exit(void)
{
	if (auto_flight) {
		ct_flight_free(auto_flight);
		auto_flight = NULL;
	}
	if (ct_active())
		ct_stop();
}

static void child_after_fork(void)
{
	/* The child has no writer thread: it is not traced by the parent's
	 * capture, and must not touch the parent's buffers. */
	atomic_store(&g_epoch, EPOCH_INACTIVE);
	stream_on = 0;
	flight_running = NULL;
}

/* A mark in every program and library that contains this runtime: `ctrace
 * run` looks for it in the program, and does not load the preload library
 * into one that has its own copy (docs/DECISIONS.md). */
__attribute__((section(".ctrace.runtime"), used)) static const char runtime_mark[] =
	"ctrace runtime " CT_VERSION_STRING;

__attribute__((constructor)) static void auto_start(void)
{
	pthread_atfork(NULL, NULL, child_after_fork);
	const char *out = getenv("CTRACE_OUTPUT"), *flight = getenv("CTRACE_FLIGHT");
	if ((!out || !*out) && (!flight || !*flight)) {
		http_auto_start(); /* CTRACE_HTTP */
		return;
	}
	struct ct_config c;
	ct_config_init(&c);
	int rc = ct_config_from_env(&c);
	if (rc == 0 && !c.path && !c.flight_max_bytes) {
		http_auto_start();
		return; /* CTRACE_FLIGHT=off and no output */
	}
	if (rc == 0 && !c.path) {
		/* A flight recorder of its own, which a stream (the admin
		 * endpoint's capture) can join and leave. */
		struct ct_flight *f = ct_flight_new(&c);
		rc = f ? ct_flight_start(f) : CT_ECONFIG;
		if (rc == 0)
			auto_flight = f;
		else
			ct_flight_free(f);
	} else if (rc == 0) {
		rc = ct_start(&c);
	}
	if (rc) {
		const char *msg = ct_last_error();
		fprintf(stderr, "ctrace: not tracing: %s\n", msg ? msg : ct_strerror(rc));
		http_auto_start();
		return;
	}
	atexit(stop_at_exit);
	http_auto_start(); /* after: its exit handler runs first */
}
