/* A tiny pretty-printing JSON emitter for the subcommands' --json output:
 * commas and indentation handled here (js.h). */
#include <inttypes.h>

#include "fmt.h"
#include "js.h"

void js_key(struct js *j, const char *key)
{
	if (!j->first)
		fputc(',', j->f);
	if (j->depth > 0)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	if (key) {
		json_cstr(j->f, key);
		fputs(": ", j->f);
	}
	j->first = 0;
}

void js_open(struct js *j, const char *key, char c)
{
	js_key(j, key);
	fputc(c, j->f);
	j->depth++;
	j->first = 1;
}

void js_close(struct js *j, char c)
{
	j->depth--;
	if (!j->first)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(c, j->f);
	j->first = 0;
}

void js_u64(struct js *j, const char *key, uint64_t v)
{
	js_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void js_i64(struct js *j, const char *key, int64_t v)
{
	js_key(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void js_bool(struct js *j, const char *key, int v)
{
	js_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void js_str(struct js *j, const char *key, const char *s)
{
	js_key(j, key);
	if (s)
		json_cstr(j->f, s);
	else
		fputs("null", j->f);
}

void js_double(struct js *j, const char *key, double v)
{
	js_key(j, key);
	fprintf(j->f, "%.4g", v);
}
