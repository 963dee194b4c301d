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
/* "3 main" for a thread index; "function file:line" for a site. */
const char *report_thread_label(char *buf, size_t cap, const struct report_result *res,
				uint32_t index);
const char *report_site_label(char *buf, size_t cap, const struct report_site *st);

/* A flight recorder dump's reason and trigger, when the trace is a dump
 * (report_dump.c). */
void report_print_dump(FILE *out, const struct report_view *v);

/* Thread states, CPU limits, faults, CPU samples (report_states.c). */
int report_show_states(const struct report_result *res);
void report_print_states(FILE *out, const struct report_view *v);
void report_print_cpu(FILE *out, const struct report_view *v);
void report_print_task_states(FILE *out, const struct report_result *res,
			      const struct report_task *tk);

#endif
