/* `ctrace diagnose`'s renderings (diagnose_out.c): the sentences a user
 * reads (summary, cause, next step), as text or JSON. */
#ifndef CTRACE_TOOL_DIAGNOSE_OUT_H
#define CTRACE_TOOL_DIAGNOSE_OUT_H

#include <stdio.h>

#include "analysis/diagnose.h"
#include "report_out.h"

struct diag_view {
	const struct report_view *rv;
	const char *prog; /* the traced program (header "program"), for commands */
	uint32_t ntasks;
	const struct report_task *const *tasks;
};

void diag_print_text(FILE *out, const struct diag_view *v);
void diag_print_json(FILE *out, const struct diag_view *v);

/* Phrases (diagnose_words.c), written into buf: whether a site is known;
 * " at store.c:88 (save)" or ""; "worker-3 (tid 1234)"; what a wait waited
 * for ("mutex 0x1000", "fsync on fd 5"); a lock holder's largest state. */
int diag_has_site(const struct report_site *s);
const char *diag_at_site(char *buf, size_t cap, const struct report_site *s);
const char *diag_thread_words(char *buf, size_t cap, const char *name, uint32_t tid);
const char *diag_wait_words(char *buf, size_t cap, const struct report_wait *w);
const char *diag_holding_words(char *buf, size_t cap, const struct report_holding *h);

/* The one-sentence summary and the next step of a diagnosis; the sentence
 * of a runner-up ("It also spent 41% of its time on page faults ..."),
 * diagnosed with diagnose_task_as. */
void diag_summary(char *buf, size_t cap, const struct diag_view *v, const struct diagnosis *d);
void diag_next(char *buf, size_t cap, const struct diag_view *v, const struct diagnosis *d);
void diag_also(char *buf, size_t cap, const struct diagnosis *also);

#endif
