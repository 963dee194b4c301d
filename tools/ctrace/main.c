/* ctrace: the command-line tool. Dispatches to one subcommand per file
 * (cmd.h); handles --help, --version and `ctrace help COMMAND`. */
#include <string.h>

#include "cmd.h"
#include "ctrace.h"
#include "format/spec.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*help)(FILE *out);
	const char *summary;
};

static const struct command commands[] = {
	{"report", cmd_report, cmd_report_help,
	 "summarize a trace: threads, loss, task latencies, slowest tasks, regions"},
	{"diagnose", cmd_diagnose, cmd_diagnose_help,
	 "why tasks were slow: the dominant cause, its site, who held the lock, what next"},
	{"profile", cmd_profile, cmd_profile_help,
	 "blocking profiles (sync, syscall, net, sched, cpu) as pprof or a top table"},
	{"tasks", cmd_tasks, cmd_tasks_help,
	 "list tasks by type, latency or distributed trace id (--trace-id)"},
	{"run", cmd_run, cmd_run_help, "run a program traced, waits included: ctrace run -- PROG"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fputs("usage: ctrace <command> [options] [FILE]\n"
	      "\n"
	      "ctrace explains execution traces of C programs recorded with libctrace.\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("  help       show the help of a command: ctrace help report\n"
	      "\n"
	      "options:\n"
	      "  -h, --help     show this help\n"
	      "  --version      show the version\n"
	      "\n"
	      "exit status: 0 success, 1 unreadable or damaged trace, 2 bad command line\n",
	      out);
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("ctrace: missing command (see 'ctrace --help')\n", stderr);
		return EXIT_USAGE;
	}
	const char *arg = argv[1];
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(arg, "--version") == 0) {
		printf("ctrace %s (trace format %d.%d)\n", CT_VERSION_STRING, CT_FORMAT_MAJOR,
		       CT_FORMAT_MINOR);
		return EXIT_OK;
	}
	if (strcmp(arg, "help") == 0) {
		if (argc == 2) {
			usage(stdout);
			return EXIT_OK;
		}
		const struct command *c = find(argv[2]);
		if (!c || argc > 3) {
			fprintf(stderr, "ctrace: no help for '%s' (see 'ctrace --help')\n",
				c ? argv[3] : argv[2]);
			return EXIT_USAGE;
		}
		c->help(stdout);
		return EXIT_OK;
	}
	if (arg[0] == '-') {
		fprintf(stderr, "ctrace: unknown option '%s' (see 'ctrace --help')\n", arg);
		return EXIT_USAGE;
	}
	const struct command *c = find(arg);
	if (!c) {
		fprintf(stderr, "ctrace: unknown command '%s' (see 'ctrace --help')\n", arg);
		return EXIT_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
