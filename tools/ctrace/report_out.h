/* The two renderings of `ctrace report`: human text and JSON (the JSON
 * schema is docs/REPORT-JSON.md). */
#ifndef CTRACE_TOOL_REPORT_OUT_H
#define CTRACE_TOOL_REPORT_OUT_H

#include <stdio.h>

#include "analysis/report.h"

struct report_view {
	const char *path;
	const struct report_result *res;
	const struct report_file *file;
	unsigned top_tasks, top_regions; /* as asked on the command line */
};

void report_print_text(FILE *out, const struct report_view *v);
void report_print_json(FILE *out, const struct report_view *v);

/* Header metadata value for key, or NULL. */
const char *report_meta(const struct report_file *f, const char *key);
/* Name of a loss reason ("buffer full", ...) and its JSON key ("buffer_full"). */
const char *report_loss_reason(unsigned reason, int json);
/* Name of an event kind of format 1.0, or NULL for other kinds. */
const char *report_kind_name(unsigned kind);

#endif
