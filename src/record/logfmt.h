/* ct_logf's formatter (logfmt.c): vsnprintf's output for the common
 * conversions, several times faster. */
#ifndef CT_RECORD_LOGFMT_H
#define CT_RECORD_LOGFMT_H

#include <stdarg.h>
#include <stddef.h>

#define LOGFMT_UNSUPPORTED (-2)

/* Formats like vsnprintf(buf, cap, fmt, ap) and returns what it would: the
 * length of the whole output (buf holds at most cap - 1 bytes of it and a
 * NUL). Supports %d %i %u %x %X (with l, ll, z, j, t), %s and %.Ns, %c,
 * %p, %%, and %f / %.Nf up to 9 decimals for |x| < 2^63 / 10^N. Anything
 * else (widths, flags, other conversions, a NULL %s, a rounding mode other
 * than to nearest) returns LOGFMT_UNSUPPORTED, having used some of ap: the
 * caller formats from a copy with vsnprintf then. */
int logfmt(char *buf, size_t cap, const char *fmt, va_list ap);

#endif
