/* A tiny pretty-printing JSON emitter shared by `ctrace report --json` and
 * `ctrace diagnose --json`: commas and indentation are handled here. A NULL
 * key writes an array element. */
#ifndef CTRACE_TOOL_JS_H
#define CTRACE_TOOL_JS_H

#include <stdint.h>
#include <stdio.h>

struct js {
	FILE *f;
	int depth;
	int first; /* no value yet at the current depth */
};

void js_key(struct js *j, const char *key);
void js_open(struct js *j, const char *key, char c); /* '{' or '[' */
void js_close(struct js *j, char c);
void js_u64(struct js *j, const char *key, uint64_t v);
void js_i64(struct js *j, const char *key, int64_t v);
void js_bool(struct js *j, const char *key, int v);
void js_str(struct js *j, const char *key, const char *s); /* NULL: null */
void js_double(struct js *j, const char *key, double v);

#endif
