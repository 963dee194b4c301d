/* `ctrace run --flight`: the flight recorder's options become CTRACE_*
 * variables (README, "Flight recorder"), bad values are reported here in
 * one line, the dump signal sent to ctrace goes on to the program, and the
 * dumps the program wrote are listed when it ends. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "ctrace.h"
#include "run_flight.h"

#define DEFAULT_DUMP_DIR "ctrace-dumps"

static int usage(const char *fmt, const char *a, const char *b)
{
	fputs("ctrace run: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputs(" (see 'ctrace run --help')\n", stderr);
	return -1;
}

/* "--name VALUE" or "--name=VALUE": 1 and *val when argv[*i] is name. */
static int opt_value(const char *name, int argc, char **argv, int *i, const char **val, int *err)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0 || (a[n] != 0 && a[n] != '='))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
	} else if (*i + 1 < argc) {
		*val = argv[++*i];
	} else {
		*err = usage("%s needs a value%s", name, "");
		return 1;
	}
	if (!**val)
		*err = usage("%s needs a value%s", name, "");
	return 1;
}

static int append(char **list, const char *v)
{
	char *n = NULL;
	if (asprintf(&n, "%s%s%s", *list ? *list : "", *list ? "," : "", v) < 0)
		return -1;
	free(*list);
	*list = n;
	return 0;
}

int flight_option(struct flight_opts *fo, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	if (!strcmp(a, "--flight") || !strncmp(a, "--flight=", 9)) {
		fo->flight = 1;
		fo->spec = a[8] == '=' ? a + 9 : NULL;
		if (fo->spec && !*fo->spec)
			return usage("--flight= needs MINAGE[,MAXSIZE]%s%s", "", "");
		return 1;
	}
	if (!strcmp(a, "--dump-on-crash")) {
		fo->on_crash = 1;
		fo->first_dump_opt = fo->first_dump_opt ? fo->first_dump_opt : "--dump-on-crash";
		return 1;
	}
	static const struct {
		const char *name;
		size_t off; /* of the const char * in struct flight_opts; 0: a list */
	} opts[] = {
		{"--dump-dir", offsetof(struct flight_opts, dir)},
		{"--dump-signal", offsetof(struct flight_opts, signal)},
		{"--dump-cooldown", offsetof(struct flight_opts, cooldown)},
		{"--dump-max-files", offsetof(struct flight_opts, max_files)},
		{"--dump-max-bytes", offsetof(struct flight_opts, max_bytes)},
		{"--slow-task", 0},
		{"--slo", 0},
	};
	for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
		const char *val = NULL;
		int err = 0;
		if (!opt_value(opts[k].name, argc, argv, i, &val, &err))
			continue;
		if (err)
			return -1;
		if (!fo->first_dump_opt)
			fo->first_dump_opt = opts[k].name;
		if (opts[k].off) {
			*(const char **)((char *)fo + opts[k].off) = val;
		} else if (append(!strcmp(opts[k].name, "--slo") ? &fo->slo : &fo->slow_task,
				  val)) {
			fputs("ctrace run: out of memory\n", stderr);
			return -1;
		}
		return 1;
	}
	return 0;
}

/* mkdir -p, new directories 0700. */
static int make_dirs(const char *path)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(p, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Which option a CTRACE_* variable came from, for error messages. */
static const struct {
	const char *var, *opt;
} var_opts[] = {
	{"CTRACE_FLIGHT", "--flight"},
	{"CTRACE_DUMP_DIR", "--dump-dir"},
	{"CTRACE_DUMP_SIGNAL", "--dump-signal"},
	{"CTRACE_DUMP_COOLDOWN", "--dump-cooldown"},
	{"CTRACE_DUMP_MAX_FILES", "--dump-max-files"},
	{"CTRACE_DUMP_MAX_BYTES", "--dump-max-bytes"},
	{"CTRACE_DUMP_ON_CRASH", "--dump-on-crash"},
	{"CTRACE_SLOW_TASK", "--slow-task"},
	{"CTRACE_SLO", "--slo"},
};

int flight_env(struct flight_opts *fo, char *dir, size_t cap)
{
	dir[0] = 0;
	if (!fo->flight) {
		if (fo->first_dump_opt)
			return usage("%s needs --flight%s", fo->first_dump_opt, "");
		return 0;
	}
	setenv("CTRACE_FLIGHT", fo->spec ? fo->spec : "on", 1);
	const char *sig = fo->signal ? fo->signal : "USR2";
	setenv("CTRACE_DUMP_SIGNAL", !strcmp(sig, "none") ? "off" : sig, 1);
	const struct {
		const char *var, *val;
	} vals[] = {{"CTRACE_DUMP_COOLDOWN", fo->cooldown},
		    {"CTRACE_DUMP_MAX_FILES", fo->max_files},
		    {"CTRACE_DUMP_MAX_BYTES", fo->max_bytes},
		    {"CTRACE_DUMP_ON_CRASH", fo->on_crash ? "1" : NULL},
		    {"CTRACE_SLOW_TASK", fo->slow_task},
		    {"CTRACE_SLO", fo->slo}};
	for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
		if (vals[k].val)
			setenv(vals[k].var, vals[k].val, 1);
	/* The dump directory last: not created for a command line that fails. */
	setenv("CTRACE_DUMP_DIR", fo->dir ? fo->dir : DEFAULT_DUMP_DIR, 1);
	struct ct_config c;
	ct_config_init(&c);
	if (ct_config_from_env(&c) != 0) {
		const char *msg = ct_last_error();
		msg = msg ? msg : "invalid configuration";
		for (size_t k = 0; k < sizeof var_opts / sizeof var_opts[0]; k++) {
			size_t n = strlen(var_opts[k].var);
			if (!strncmp(msg, var_opts[k].var, n) && msg[n] == ':')
				return usage("%s:%s", var_opts[k].opt, msg + n + 1);
		}
		fprintf(stderr, "ctrace run: %s\n", msg);
		return -1;
	}
	fo->signo = c.dump_signal;
	fo->start_s = (long long)time(NULL);
	const char *d = fo->dir ? fo->dir : DEFAULT_DUMP_DIR;
	int rc = make_dirs(d);
	if (rc == 0 && access(d, W_OK | X_OK) != 0)
		rc = -errno;
	if (rc != 0) {
		fprintf(stderr, "ctrace run: dump directory %s: %s\n", d, strerror(-rc));
		return -1;
	}
	/* Absolute, so a program that changes directory still finds it. */
	char abs[PATH_MAX];
	if (!realpath(d, abs) || strlen(abs) >= cap) {
		fprintf(stderr, "ctrace run: dump directory %s: %s\n", d,
			strerror(errno ? errno : ENAMETOOLONG));
		return -1;
	}
	snprintf(dir, cap, "%s", abs);
	setenv("CTRACE_DUMP_DIR", dir, 1);
	return 0;
}

static volatile sig_atomic_t forward_pid;

static void on_forward(int sig)
{
	int e = errno;
	if (forward_pid > 0)
		kill((pid_t)forward_pid, sig);
	errno = e;
}

void flight_child(const struct flight_opts *fo)
{
	if (fo->flight && fo->signo > 0)
		signal(fo->signo, SIG_IGN); /* survives exec; the library's handler replaces it */
}

void flight_forward_signal(const struct flight_opts *fo, pid_t child)
{
	if (!fo->flight || fo->signo <= 0)
		return;
	forward_pid = child;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_forward;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(fo->signo, &sa, NULL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void flight_list_dumps(const struct flight_opts *fo, const char *dir, pid_t pid)
{
	forward_pid = 0; /* the pid may be reused from now on */
	/* The library names dumps <program>-<pid>-<UTC time>-<serial>-<reason>;
	 * the program's name may have changed (exec), its pid not. */
	char mid[32];
	snprintf(mid, sizeof mid, "-%ld-", (long)pid);
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "ctrace run: dump directory %s: %s\n", dir, strerror(errno));
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		const char *m = strstr(e->d_name, mid);
		struct stat st;
		char path[PATH_MAX];
		if (!m || m == e->d_name || len < 7 ||
		    strcmp(e->d_name + len - 7, ".ctrace") != 0 ||
		    snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
		    stat(path, &st) != 0 || (long long)st.st_mtime < fo->start_s - 1)
			continue; /* not this run's (an older process with the same pid) */
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			char **nn = realloc(names, nc * sizeof *nn);
			if (!nn)
				break;
			names = nn;
			cap = nc;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str); /* UTC time, then serial: in order */
	if (n == 0)
		fprintf(stderr, "ctrace run: no dump written in %s\n", dir);
	else
		fprintf(stderr, "ctrace run: %zu dump%s in %s:\n", n, n == 1 ? "" : "s", dir);
	for (size_t k = 0; k < n; k++) {
		fprintf(stderr, "  %s/%s\n", dir, names[k]);
		free(names[k]);
	}
	free(names);
}

void flight_opts_free(struct flight_opts *fo)
{
	free(fo->slow_task);
	free(fo->slo);
	fo->slow_task = fo->slo = NULL;
}
