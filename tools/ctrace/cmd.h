/* The ctrace subcommands: each lives in its own file and is listed in
 * main.c's command table. Exit codes are shared by all of them. */
#ifndef CTRACE_TOOL_CMD_H
#define CTRACE_TOOL_CMD_H

#include <stdio.h>

#define EXIT_OK	   0
#define EXIT_TRACE 1 /* the trace could not be read, or only partly */
#define EXIT_USAGE 2 /* bad command line */

/* argv[0] is the subcommand's name. */
int cmd_report(int argc, char **argv);
void cmd_report_help(FILE *out);
int cmd_profile(int argc, char **argv);
void cmd_profile_help(FILE *out);
int cmd_tasks(int argc, char **argv);
void cmd_tasks_help(FILE *out);
int cmd_diagnose(int argc, char **argv);
void cmd_diagnose_help(FILE *out);
int cmd_run(int argc, char **argv);
void cmd_run_help(FILE *out);

#endif
