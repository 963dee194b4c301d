/* W3C trace context: parsing and formatting traceparent values, and stamping
 * a task with the distributed trace it belongs to (event task.trace). */
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "record/rec.h"

/* Lowercase hex only: the spec says so, and a value that differs only in
 * case would otherwise find no task under `ctrace tasks --trace-id`. */
static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_bytes(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* A span id nobody else picks: getrandom, or (no entropy yet, or a seccomp
 * filter refusing it) a per-thread generator seeded from the clock, the
 * thread and the address space. Never all zero, which would be invalid. */
static void new_span_id(uint8_t id[8])
{
	static __thread uint64_t state;
	do {
		if (getrandom(id, 8, GRND_NONBLOCK) == 8 && !all_zero(id, 8))
			return;
		if (!state) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
				((uint64_t)gettid() << 16) ^ (uint64_t)(uintptr_t)&state;
		}
		/* splitmix64 */
		uint64_t z = (state += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(id, &z, 8);
	} while (all_zero(id, 8));
}

int ct_traceparent_parse(const char *value, struct ct_trace_context *tc)
{
	if (!tc)
		return CT_ECONFIG;
	memset(tc, 0, sizeof *tc);
	if (!value)
		return CT_ECONFIG;
	while (*value == ' ' || *value == '\t')
		value++;
	size_t n = strlen(value);
	while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	/* version "-" trace-id "-" parent-id "-" flags; a later version may
	 * append "-" and more fields, which this version does not read. */
	if (n < CT_TRACEPARENT_LEN || value[2] != '-' || value[35] != '-' || value[52] != '-')
		return CT_ECONFIG;
	uint8_t version, flags;
	struct ct_trace_context t;
	memset(&t, 0, sizeof t);
	if (hex_bytes(value, &version, 1) || hex_bytes(value + 3, t.trace_id, 16) ||
	    hex_bytes(value + 36, t.parent_id, 8) || hex_bytes(value + 53, &flags, 1))
		return CT_ECONFIG;
	if (version == 0xff || (version == 0 && n != CT_TRACEPARENT_LEN) ||
	    (version != 0 && n > CT_TRACEPARENT_LEN && value[CT_TRACEPARENT_LEN] != '-'))
		return CT_ECONFIG;
	if (all_zero(t.trace_id, 16) || all_zero(t.parent_id, 8))
		return CT_ECONFIG;
	t.flags = flags;
	new_span_id(t.span_id);
	*tc = t;
	return 0;
}

static char *put_hex(char *p, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		*p++ = digits[b[i] >> 4];
		*p++ = digits[b[i] & 15];
	}
	return p;
}

int ct_traceparent_format(const struct ct_trace_context *tc, char *buf, size_t len)
{
	if (!tc || !buf || len < CT_TRACEPARENT_LEN + 1 || all_zero(tc->trace_id, 16) ||
	    all_zero(tc->span_id, 8))
		return CT_ECONFIG;
	char *p = buf;
	*p++ = '0';
	*p++ = '0';
	*p++ = '-';
	p = put_hex(p, tc->trace_id, 16);
	*p++ = '-';
	p = put_hex(p, tc->span_id, 8);
	*p++ = '-';
	p = put_hex(p, &tc->flags, 1);
	*p = 0;
	return CT_TRACEPARENT_LEN;
}

void ct_trace_context_child(const struct ct_trace_context *tc, struct ct_trace_context *child)
{
	struct ct_trace_context c;
	memset(&c, 0, sizeof c);
	if (tc) {
		memcpy(c.trace_id, tc->trace_id, 16);
		memcpy(c.parent_id, tc->span_id, 8);
		c.flags = tc->flags;
	}
	new_span_id(c.span_id);
	*child = c;
}

static uint64_t be64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

int ct_task_set_trace(ct_task task, const struct ct_trace_context *tc)
{
	if (!tc || all_zero(tc->trace_id, 16))
		return CT_ECONFIG;
	if (!task)
		task = ct_task_current();
	if (!task)
		return CT_ECONFIG;
	struct tls *t = ev_begin();
	if (!t)
		return CT_ENOTRUNNING;
	uint8_t *p = ev_head(t, CT_EV_TASK_TRACE, 0, NULL);
	if (!p)
		return 0; /* no buffer memory: counted as lost, in the trace */
	p = ct_put_uvarint(p, task);
	p = ct_put_uvarint(p, be64(tc->trace_id));
	p = ct_put_uvarint(p, be64(tc->trace_id + 8));
	p = ct_put_uvarint(p, be64(tc->span_id));
	p = ct_put_uvarint(p, be64(tc->parent_id));
	p = ct_put_uvarint(p, tc->flags);
	ev_commit(t, p);
	return 0;
}

int ct_task_set_traceparent(ct_task task, const char *value, struct ct_trace_context *out)
{
	struct ct_trace_context tc;
	int rc = ct_traceparent_parse(value, &tc);
	if (out)
		*out = tc; /* zeroed when malformed */
	if (rc)
		return rc;
	return ct_task_set_trace(task, &tc);
}
