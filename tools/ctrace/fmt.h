/* Output helpers shared by the ctrace subcommands: human durations, counts
 * and sizes, aligned text tables, and JSON strings. */
#ifndef CTRACE_TOOL_FMT_H
#define CTRACE_TOOL_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FMT_BUF 32

/* "950ns", "1.23µs", "12.3ms", "123ms", "1.50s", "4321s": 3 significant
 * digits from a microsecond up. */
const char *fmt_dur(char buf[FMT_BUF], uint64_t ns);
/* The same with a leading '+', for offsets from the trace or task start. */
const char *fmt_offset(char buf[FMT_BUF], uint64_t ns);
/* Parses a duration for a command line: "1.5s", "200ms", "10us", "500ns",
 * "2m" (a unit is required) into ns. 0, or -1 if malformed or over 1e18 ns. */
int fmt_parse_dur(const char *s, uint64_t *out);
/* Prints "ctrace: PATH: MSG" on stderr, or "ctrace: MSG" when the reader's
 * message already starts with the path (files it could not open). */
void fmt_trace_error(const char *path, const char *msg);
/* "12,345,678" */
const char *fmt_count(char buf[FMT_BUF], uint64_t n);
/* "512 B", "4.00 KiB", "70.1 MiB" */
const char *fmt_bytes(char buf[FMT_BUF], uint64_t n);

/* Copies s into buf (cap bytes) for a terminal: control characters become
 * '?', invalid UTF-8 bytes become '?', and it is cut to max_cols columns
 * with a trailing "…" (0: no limit). Returns buf. */
const char *fmt_safe(char *buf, size_t cap, const char *s, size_t len, unsigned max_cols);

/* Display columns of a UTF-8 string (one per code point). */
unsigned fmt_cols(const char *s);

/* A text table: columns left- ('l') or right-aligned ('r'), widths fitted
 * to the content, two spaces between columns; headers may be NULL. */
struct table;
struct table *table_new(unsigned ncols, const char *align, const char *const *headers);
/* Adds a row of ncols cells (copied; NULL prints as empty). */
void table_row(struct table *t, const char *const *cells);
void table_print(struct table *t, FILE *out, const char *indent);
void table_free(struct table *t);

/* Writes s as a JSON string: escapes, and invalid UTF-8 as U+FFFD, so the
 * output always parses whatever bytes a trace holds. */
void json_str(FILE *out, const char *s, size_t len);
static inline void json_cstr(FILE *out, const char *s)
{
	json_str(out, s ? s : "", s ? __builtin_strlen(s) : 0);
}

#endif
