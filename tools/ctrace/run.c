/* `ctrace run [options] -- PROG ARGS`: runs a program with the LD_PRELOAD
 * library (libctrace-preload.so) so that it is traced, locks, I/O and
 * sleeps included, without rebuilding it; exits with the program's status. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "ctrace.h"
#include "http/parse.h"
#include "run_flight.h"

#define PRELOAD_NAME "libctrace-preload.so"

void cmd_run_help(FILE *out)
{
	fputs("usage: ctrace run [options] -- PROG [ARGS...]\n"
	      "\n"
	      "Runs PROG traced through LD_PRELOAD: its waits on locks, condition\n"
	      "variables, I/O, poll and sleeps are recorded with their stacks, with no\n"
	      "rebuild. Programs it starts in turn are not traced.\n"
	      "\n"
	      "options:\n"
	      "  -o FILE         write the trace to FILE (default PROG.ctrace here)\n"
	      "  --stacks LIST   events with stacks: none, all, or a list of\n"
	      "                  task,region,log,wait (default wait)\n"
	      "  --buffer SIZE   buffer memory, e.g. 64M (default 64M)\n"
	      "  --cpu-hz N      CPU samples per second of each thread's CPU time,\n"
	      "                  with stacks (default 0: off; at most 10000)\n"
	      "  --no-cgroup     do not record the cgroup's CPU quota and throttling\n"
	      "  --sched SRC     where runnable time comes from: auto (perf context\n"
	      "                  switches, else schedstat samples; --flight alone:\n"
	      "                  schedstat), perf, perf-cpu (an event per CPU, not\n"
	      "                  per thread: needs CAP_PERFMON), schedstat, off\n"
	      "                  (default auto)\n"
	      "  --no-faults     do not record page faults\n"
	      "  -h, --help      show this help\n"
	      "\n"
	      "flight recorder (the last seconds in memory, written out on a trigger):\n"
	      "  --flight[=MINAGE,MAXSIZE]  keep at least MINAGE of history in at most\n"
	      "                  MAXSIZE (default 10s,10M); without -o, no trace file\n"
	      "                  is streamed, only dumps are written\n"
	      "  --dump-dir DIR  where dumps go (default ./ctrace-dumps; created, 0700)\n"
	      "  --dump-signal SIG  the signal that dumps: USR1, USR2, RTMIN+N...,\n"
	      "                  or none (default USR2), sent to the program or to\n"
	      "                  ctrace run, which passes it on\n"
	      "  --dump-on-crash dump on SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT\n"
	      "  --slow-task TYPE=DUR  dump when a task of TYPE (* for any) lasts DUR\n"
	      "                  or more (repeatable)\n"
	      "  --slo TYPE:pNN>DUR[/WINDOW]  dump when the NNth percentile of TYPE's\n"
	      "                  latency over WINDOW exceeds DUR (repeatable)\n"
	      "  --dump-cooldown DUR    at most one dump per DUR (default 10s)\n"
	      "  --dump-max-files N     keep the newest N dumps (default 10)\n"
	      "  --dump-max-bytes SIZE  keep at most SIZE of dumps (default 1G)\n"
	      "When the program ends, the dumps it wrote are listed on stderr.\n"
	      "\n"
	      "admin endpoint (README \"Admin endpoint\"):\n"
	      "  --http ADDR     serve /debug/ctrace/{trace,flight,status} on ADDR\n"
	      "                  (e.g. 127.0.0.1:6060); without -o, no trace file is\n"
	      "                  streamed: captures are asked for over HTTP\n"
	      "  --http-token-file F  clients must send \"Authorization: Bearer\n"
	      "                  <first line of F>\"; needed off loopback\n"
	      "\n"
	      "Other settings come from CTRACE_* variables (README.md). A statically\n"
	      "linked program cannot be traced this way: link it with libctrace-wrap.a.\n"
	      "\n"
	      "exit status: the program's (128+N when killed by signal N), 2 bad\n"
	      "command line or a program that cannot be run\n",
	      out);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("ctrace run: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see 'ctrace run --help')\n", stderr);
	return EXIT_USAGE;
}

/* The preload library next to this binary (build tree), else in the lib
 * directories of the installation prefix. */
static int find_preload(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	char *dir = dirname(self);
	snprintf(out, cap, "%s/%s", dir, PRELOAD_NAME);
	if (access(out, R_OK) == 0)
		return 0;
	char pat[PATH_MAX + 64];
	const char *pats[] = {"%s/../lib*/" PRELOAD_NAME, "%s/../lib*/*/" PRELOAD_NAME};
	for (size_t i = 0; i < 2; i++) {
		snprintf(pat, sizeof pat, pats[i], dir);
		glob_t g;
		if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
			int ok = !realpath(g.gl_pathv[0], out) ? -1 : 0;
			globfree(&g);
			if (ok == 0)
				return 0;
		} else {
			globfree(&g);
		}
	}
	return -1;
}

/* PROG as execvp would find it. */
static int find_program(const char *prog, char *out, size_t cap)
{
	if (strchr(prog, '/')) {
		snprintf(out, cap, "%s", prog);
		return access(out, X_OK);
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		int len = (int)(end - path);
		snprintf(out, cap, "%.*s%s%s", len, path, len ? "/" : "", prog);
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		path = *end ? end + 1 : end;
	}
	return -1;
}

/* 1 when the file is an ELF executable without an interpreter: the dynamic
 * loader never runs, so LD_PRELOAD has no effect. Scripts are not static. */
static int is_static_elf(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	Elf64_Ehdr eh;
	int stat_elf = 0;
	if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
	    !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64) {
		stat_elf = 1;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * eh.e_phentsize)) !=
			    (ssize_t)sizeof ph)
				break;
			if (ph.p_type == PT_INTERP) {
				stat_elf = 0;
				break;
			}
		}
	}
	close(fd);
	return stat_elf;
}

/* 1 when the ELF file has a section named .ctrace.runtime: it was linked
 * with libctrace or its wrappers (src/record/capture.c), so it traces itself
 * and the preload library would be a second copy of ctrace in it. */
static int has_ctrace_runtime(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	Elf64_Ehdr eh;
	Elf64_Shdr strs;
	int found = 0;
	if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
	    !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	    eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_shstrndx < eh.e_shnum &&
	    pread(fd, &strs, sizeof strs, (off_t)(eh.e_shoff + eh.e_shstrndx * sizeof strs)) ==
		    (ssize_t)sizeof strs) {
		static const char want[] = ".ctrace.runtime";
		for (unsigned i = 0; i < eh.e_shnum && !found; i++) {
			Elf64_Shdr sh;
			char name[sizeof want];
			if (pread(fd, &sh, sizeof sh, (off_t)(eh.e_shoff + i * sizeof sh)) !=
				    (ssize_t)sizeof sh ||
			    sh.sh_name >= strs.sh_size)
				break;
			found = pread(fd, name, sizeof name,
				      (off_t)(strs.sh_offset + sh.sh_name)) ==
					(ssize_t)sizeof name &&
				!memcmp(name, want, sizeof want);
		}
	}
	close(fd);
	return found;
}

/* --http and --http-token-file into CTRACE_HTTP*, checked here so that a
 * bad address is one line from us rather than from the program. */
static int run_http_env(const char *addr, const char *token_file)
{
	if (!addr) {
		if (token_file)
			return usage_error("%s needs --http", "--http-token-file");
		return 0;
	}
	char host[64], tok[8], abs[PATH_MAX];
	unsigned port;
	int v6;
	const char *why;
	if (http_parse_address(addr, host, sizeof host, &port, &v6, &why)) {
		fprintf(stderr, "ctrace run: --http %s: %s\n", addr, why);
		return -1;
	}
	if (token_file) {
		int fd = open(token_file, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, tok, sizeof tok) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0 || tok[0] == '\n' || !realpath(token_file, abs)) {
			fprintf(stderr, "ctrace run: --http-token-file %s: %s\n", token_file,
				n == 0 || (n > 0 && tok[0] == '\n') ? "empty" : strerror(errno));
			return -1;
		}
		setenv("CTRACE_HTTP_TOKEN_FILE", abs, 1);
	} else if (!http_is_loopback(host, v6) && !getenv("CTRACE_HTTP_TOKEN")) {
		fprintf(stderr,
			"ctrace run: --http %s is not a loopback address: it needs "
			"--http-token-file\n",
			addr);
		return -1;
	}
	setenv("CTRACE_HTTP", addr, 1);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	const char *output = NULL, *stacks = NULL, *buffer = NULL, *cpu_hz = NULL;
	const char *sched = NULL, *http = NULL, *http_token = NULL;
	int no_cgroup = 0, no_faults = 0;
	static struct flight_opts fo; /* static: its lists stay reachable on early returns */
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cmd_run_help(stdout);
			return EXIT_OK;
		}
		if (!strcmp(a, "--no-cgroup")) {
			no_cgroup = 1;
			continue;
		}
		if (!strcmp(a, "--no-faults")) {
			no_faults = 1;
			continue;
		}
		int fr = flight_option(&fo, argc, argv, &i);
		if (fr < 0)
			return EXIT_USAGE;
		if (fr > 0)
			continue;
		const char **dst = !strcmp(a, "-o") || !strcmp(a, "--output") ? &output
				   : !strcmp(a, "--stacks")		      ? &stacks
				   : !strcmp(a, "--buffer")		      ? &buffer
				   : !strcmp(a, "--cpu-hz")		      ? &cpu_hz
				   : !strcmp(a, "--sched")		      ? &sched
				   : !strcmp(a, "--http")		      ? &http
				   : !strcmp(a, "--http-token-file")	      ? &http_token
									      : NULL;
		if (dst) {
			if (i + 1 >= argc)
				return usage_error("%s needs a value", a);
			*dst = argv[++i];
			continue;
		}
		if (a[0] == '-')
			return usage_error("unknown option '%s'", a);
		break; /* the program, without "--" */
	}
	if (i >= argc)
		return usage_error("%s", "missing program to run");
	char **prog_argv = argv + i;

	char prog[PATH_MAX], preload[PATH_MAX];
	if (find_program(prog_argv[0], prog, sizeof prog) != 0) {
		fprintf(stderr, "ctrace run: %s: no such program\n", prog_argv[0]);
		return EXIT_USAGE;
	}
	int own = has_ctrace_runtime(prog);
	if (!own && is_static_elf(prog)) {
		fprintf(stderr,
			"ctrace run: %s is statically linked: LD_PRELOAD cannot trace it "
			"(link it with libctrace-wrap.a)\n",
			prog);
		return EXIT_USAGE;
	}
	if (!own && find_preload(preload, sizeof preload) != 0) {
		fprintf(stderr, "ctrace run: cannot find %s next to ctrace or in ../lib*\n",
			PRELOAD_NAME);
		return EXIT_USAGE;
	}

	char defout[PATH_MAX], dump_dir[PATH_MAX];
	if (flight_env(&fo, dump_dir, sizeof dump_dir) != 0)
		return EXIT_USAGE;
	if (run_http_env(http, http_token) != 0)
		return EXIT_USAGE;
	if (!output && !fo.flight && !http) {
		snprintf(defout, sizeof defout, "%s.ctrace", basename(prog));
		output = defout;
	}
	if (output)
		setenv("CTRACE_OUTPUT", output, 1);
	else
		unsetenv("CTRACE_OUTPUT"); /* --flight alone: dumps only */
	if (stacks)
		setenv("CTRACE_STACKS", stacks, 1);
	if (buffer)
		setenv("CTRACE_BUFFER", buffer, 1);
	if (cpu_hz)
		setenv("CTRACE_CPU_HZ", cpu_hz, 1);
	if (no_cgroup)
		setenv("CTRACE_CGROUP", "off", 1);
	if (sched)
		setenv("CTRACE_SCHED", sched, 1);
	if (no_faults)
		setenv("CTRACE_FAULTS", "off", 1);
	/* Bad values are reported here, once, rather than by the program. */
	struct ct_config c;
	ct_config_init(&c);
	if (ct_config_from_env(&c) != 0) {
		fprintf(stderr, "ctrace run: %s\n", ct_last_error());
		return EXIT_USAGE;
	}
	if (own) {
		/* The program has ctrace in it: its own copy reads the same
		 * CTRACE_* variables; a second one would record beside it. */
		fprintf(stderr,
			"ctrace run: %s is linked with ctrace: it traces itself (no preload "
			"library)\n",
			prog);
	} else {
		const char *old = getenv("LD_PRELOAD");
		char *pre = NULL;
		if (asprintf(&pre, "%s%s%s", preload, old && *old ? ":" : "", old ? old : "") < 0)
			return EXIT_USAGE;
		setenv("LD_PRELOAD", pre, 1);
		free(pre);
	}

	/* Like time(1): a ^C is for the program; its status is ours. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ctrace run: fork: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		/* Only this process is traced into the file (preload.c). */
		char b[32];
		snprintf(b, sizeof b, "%ld", (long)getpid());
		setenv("CTRACE_RUN_PID", b, 1);
		flight_child(&fo);
		execv(prog, prog_argv);
		fprintf(stderr, "ctrace run: %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	flight_forward_signal(&fo, pid);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "ctrace run: waitpid: %s\n", strerror(errno));
			return EXIT_USAGE;
		}
	if (fo.flight)
		flight_list_dumps(&fo, dump_dir, pid);
	flight_opts_free(&fo);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}
