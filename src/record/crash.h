/* Crash dumps (ct_config.dump_on_crash, crash.c): on a crash signal the
 * flight recorder's window goes into the dump directory, written by the
 * writer thread or, when it does not answer in time, by the handler. */
#ifndef CT_RECORD_CRASH_H
#define CT_RECORD_CRASH_H

#include <signal.h>
#include <stdint.h>

#include "ctrace.h"

struct writer;
struct dump_trigger;

/* Installs the handlers of SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT
 * (keeping the program's) when c asks for crash dumps and has a flight
 * recorder and a dump directory; crash_uninstall puts the program's back
 * where ours are still installed, and waits for a handler writing a dump.
 * Under the capture's control lock. */
void crash_install(const struct ct_config *c);
void crash_uninstall(void);
/* 1 while our handler is installed for sig (tests). */
int crash_installed(int sig);
/* Removes the crash signals from set: the writer thread, which blocks every
 * other signal, still takes its own faults to the handler (writer.c). */
void crash_sigs_unblock(sigset_t *set);

/* Writer thread, each round (dump.c trigger_take): prepares what the
 * handler needs to write the window by itself (a file header built now),
 * once per flight recorder, when crash dumps are on. */
void crash_prepare(struct writer *w);
/* Before the flight recorder goes (dump.c triggers_enable(0)): the handler
 * no longer writes it; waits for one writing it now. Any thread. */
void crash_disarm(void);

/* dump.c, for the handler: the crash's own trigger slot, which a cooldown
 * never drops and the writer takes before any other. Async-signal-safe. */
enum {
	CRASH_NONE = 0,
	CRASH_FILLING = 1,
	CRASH_ASKED = 2,
	CRASH_WRITING = 3, /* taken by the writer */
	CRASH_WRITTEN = 4,
	CRASH_FAILED = 5,
};
int writer_crash_request(const struct dump_trigger *t); /* 0 or CT_ENOTRUNNING */
int writer_crash_state(void);

#endif
