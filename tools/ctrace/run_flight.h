/* `ctrace run`'s flight-recorder options (--flight, --dump-*, --slow-task,
 * --slo): turned into CTRACE_* variables for the traced program, and the
 * dumps it wrote listed when it ends. */
#ifndef CT_TOOLS_RUN_FLIGHT_H
#define CT_TOOLS_RUN_FLIGHT_H

#include <stddef.h>
#include <sys/types.h>

struct flight_opts {
	int flight;	    /* --flight given */
	const char *spec;   /* its =MINAGE,MAXSIZE, or NULL */
	const char *dir;    /* --dump-dir */
	const char *signal; /* --dump-signal */
	const char *cooldown, *max_files, *max_bytes;
	int on_crash;
	char *slow_task, *slo;	    /* repeated options joined with ',' */
	const char *first_dump_opt; /* a dump option seen, for "needs --flight" */
	int signo;		    /* the dump signal, once flight_env succeeded */
	long long start_s;	    /* when flight_env ran: older dumps are not ours */
};

/* Consumes argv[*i] (and its value) if it is one of these options: returns
 * 1 then, 0 when it is not, -1 after printing a usage error. */
int flight_option(struct flight_opts *fo, int argc, char **argv, int *i);
/* Sets the CTRACE_* variables, creates the dump directory and puts its
 * absolute path in dir. 0, or -1 after printing one line. */
int flight_env(struct flight_opts *fo, char *dir, size_t cap);
/* In the child, before exec: the dump signal is ignored until the library
 * installs its handler, so one sent early does not end the program. */
void flight_child(const struct flight_opts *fo);
/* In the parent, once the program runs: the dump signal sent to `ctrace
 * run` goes on to the program. */
void flight_forward_signal(const struct flight_opts *fo, pid_t child);
/* Once the program ended: stops passing the signal on, and prints the
 * dumps in dir that it wrote. */
void flight_list_dumps(const struct flight_opts *fo, const char *dir, pid_t pid);
void flight_opts_free(struct flight_opts *fo);

#endif
