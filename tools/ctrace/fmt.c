/* Output helpers shared by the ctrace subcommands (see fmt.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

const char *fmt_dur(char buf[FMT_BUF], uint64_t ns)
{
	if (ns < 1000) {
		snprintf(buf, FMT_BUF, "%uns", (unsigned)ns);
		return buf;
	}
	static const struct {
		double div;
		const char *unit;
	} units[] = {{1e3, "µs"}, {1e6, "ms"}, {1e9, "s"}};
	unsigned u = ns < 1000000 ? 0 : ns < 1000000000 ? 1 : 2;
	for (;; u++) {
		double v = (double)ns / units[u].div;
		/* Decimals for 3 significant digits, judged after rounding so
		 * 999.7µs becomes 1.00ms, not 1000µs. */
		int dec = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
		if (u < 2 && v >= 999.5)
			continue;
		snprintf(buf, FMT_BUF, "%.*f%s", dec, v, units[u].unit);
		return buf;
	}
}

const char *fmt_offset(char buf[FMT_BUF], uint64_t ns)
{
	char d[FMT_BUF];
	snprintf(buf, FMT_BUF, "+%s", fmt_dur(d, ns));
	return buf;
}

const char *fmt_count(char buf[FMT_BUF], uint64_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
	char *p = buf;
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			*p++ = ',';
		*p++ = digits[i];
	}
	*p = 0;
	return buf;
}

const char *fmt_bytes(char buf[FMT_BUF], uint64_t n)
{
	if (n < 1024) {
		snprintf(buf, FMT_BUF, "%u B", (unsigned)n);
		return buf;
	}
	static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n / 1024;
	unsigned u = 0;
	while (v >= 999.5 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, FMT_BUF, "%.*f %s", v < 9.995 ? 2 : v < 99.95 ? 1 : 0, v, units[u]);
	return buf;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

const char *fmt_safe(char *buf, size_t cap, const char *s, size_t len, unsigned max_cols)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	if (!s)
		len = 0;
	size_t o = 0, i = 0;
	unsigned cols = 0;
	while (i < len) {
		size_t k = utf8_len(p + i, len - i);
		/* The last column left and more than one character to go. */
		if (max_cols && cols + 1 == max_cols && i + (k ? k : 1) < len) {
			if (o + 4 <= cap) {
				memcpy(buf + o, "…", 3); /* 3 bytes, 1 column */
				o += 3;
			}
			break;
		}
		if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			if (o + 2 > cap)
				break;
			buf[o++] = '?';
			i++;
		} else {
			if (o + k + 1 > cap)
				break;
			memcpy(buf + o, p + i, k);
			o += k;
			i += k;
		}
		cols++;
	}
	buf[o] = 0;
	return buf;
}

unsigned fmt_cols(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* ---- tables ---- */

struct table {
	unsigned ncols;
	char align[16];
	char **cells; /* rows x ncols, the headers first */
	size_t nrows, cap;
};

struct table *table_new(unsigned ncols, const char *align, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t || ncols > sizeof(t->align))
		abort();
	t->ncols = ncols;
	memcpy(t->align, align, ncols);
	if (headers)
		table_row(t, headers);
	return t;
}

void table_row(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(*t->cells));
		if (!t->cells)
			abort();
	}
	for (unsigned c = 0; c < t->ncols; c++) {
		char *s = strdup(cells[c] ? cells[c] : "");
		if (!s)
			abort();
		t->cells[t->nrows * t->ncols + c] = s;
	}
	t->nrows++;
}

void table_print(struct table *t, FILE *out, const char *indent)
{
	unsigned w[16] = {0};
	for (size_t r = 0; r < t->nrows; r++)
		for (unsigned c = 0; c < t->ncols; c++) {
			unsigned n = fmt_cols(t->cells[r * t->ncols + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(indent, out);
		/* Trailing padding is dropped so lines do not end in spaces. */
		unsigned pending = 0;
		for (unsigned c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			unsigned pad = w[c] - fmt_cols(s);
			if (c > 0)
				pending += 2;
			if (t->align[c] == 'r')
				pending += pad;
			if (*s) {
				fprintf(out, "%*s%s", (int)pending, "", s);
				pending = 0;
			}
			if (t->align[c] != 'r')
				pending += pad;
		}
		fputc('\n', out);
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* ---- JSON ---- */

void json_str(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', out);
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n':
				fputs("\\n", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			default:
				fprintf(out, "\\u%04x", c);
			}
			i++;
		} else {
			size_t k = utf8_len(p + i, len - i);
			if (k == 0) {
				fputs("\\ufffd", out);
				i++;
			} else {
				fwrite(p + i, 1, k, out);
				i += k;
			}
		}
	}
	fputc('"', out);
}

int fmt_parse_dur(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -1;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v * units[i].ns > 1e18)
				return -1;
			*out = (uint64_t)(v * units[i].ns);
			return 0;
		}
	return -1;
}

void fmt_trace_error(const char *path, const char *msg)
{
	size_t n = strlen(path);
	if (strncmp(msg, path, n) == 0 && msg[n] == ':')
		fprintf(stderr, "ctrace: %s\n", msg);
	else
		fprintf(stderr, "ctrace: %s: %s\n", path, msg);
}
