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

/* The one-sentence summary and the next step of a diagnosis. */
void diag_summary(char *buf, size_t cap, const struct diag_view *v, const struct diagnosis *d);
void diag_next(char *buf, size_t cap, const struct diag_view *v, const struct diagnosis *d);

#endif
