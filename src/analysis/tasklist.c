/* Task listing: open tasks in a hash table keyed by id (linear probing,
 * deletion by backward shift, so no tombstones pile up over a long trace);
 * task types interned once, since a generation's strings do not outlive it. */
#include "analysis/tasklist.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPES 65536 /* distinct task types kept by name; more are "(other)" */

struct open {
	struct tasklist_task t; /* t.id == 0: a free slot */
};

struct tasklist {
	tasklist_fn fn;
	void *arg;
	struct open *slots;
	uint64_t cap, n; /* cap a power of two */
	uint64_t first_ns;
	int has_first;
	char **types; /* interned, open addressing over their hash */
	uint32_t types_cap, ntypes;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

struct tasklist *tasklist_new(tasklist_fn fn, void *arg)
{
	struct tasklist *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->fn = fn;
	l->arg = arg;
	l->cap = 1024;
	l->slots = calloc(l->cap, sizeof *l->slots);
	l->types_cap = 256;
	l->types = calloc(l->types_cap, sizeof *l->types);
	if (!l->slots || !l->types) {
		tasklist_free(l);
		return NULL;
	}
	return l;
}

void tasklist_free(struct tasklist *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; l->types && i < l->types_cap; i++)
		free(l->types[i]);
	free(l->types);
	free(l->slots);
	free(l);
}

void tasklist_set_start(struct tasklist *l, uint64_t first_ns)
{
	if (!l->has_first) {
		l->first_ns = first_ns;
		l->has_first = 1;
	}
}

uint64_t tasklist_open(const struct tasklist *l)
{
	return l->n;
}

static const char *intern_type(struct tasklist *l, const char *s)
{
	if (!s || !*s)
		return "";
	if (l->ntypes * 2 >= l->types_cap) {
		if (l->types_cap >= 2 * MAX_TYPES)
			goto full;
		uint32_t ncap = l->types_cap * 2;
		char **n = calloc(ncap, sizeof *n);
		if (!n)
			goto full;
		for (uint32_t i = 0; i < l->types_cap; i++) {
			if (!l->types[i])
				continue;
			uint32_t j = (uint32_t)str_hash(l->types[i]) & (ncap - 1);
			while (n[j])
				j = (j + 1) & (ncap - 1);
			n[j] = l->types[i];
		}
		free(l->types);
		l->types = n;
		l->types_cap = ncap;
	}
	uint32_t j = (uint32_t)str_hash(s) & (l->types_cap - 1);
	while (l->types[j]) {
		if (strcmp(l->types[j], s) == 0)
			return l->types[j];
		j = (j + 1) & (l->types_cap - 1);
	}
	l->types[j] = strdup(s);
	if (!l->types[j])
		return "(other)";
	l->ntypes++;
	return l->types[j];
full:
	/* only an existing name, no new one */
	j = (uint32_t)str_hash(s) & (l->types_cap - 1);
	while (l->types[j]) {
		if (strcmp(l->types[j], s) == 0)
			return l->types[j];
		j = (j + 1) & (l->types_cap - 1);
	}
	return "(other)";
}

static struct open *find(struct tasklist *l, uint64_t id)
{
	for (uint64_t j = mix(id) & (l->cap - 1);; j = (j + 1) & (l->cap - 1)) {
		if (l->slots[j].t.id == id)
			return &l->slots[j];
		if (l->slots[j].t.id == 0)
			return NULL;
	}
}

static int grow(struct tasklist *l)
{
	uint64_t ncap = l->cap * 2;
	struct open *n = calloc(ncap, sizeof *n);
	if (!n)
		return -1;
	for (uint64_t i = 0; i < l->cap; i++) {
		if (!l->slots[i].t.id)
			continue;
		uint64_t j = mix(l->slots[i].t.id) & (ncap - 1);
		while (n[j].t.id)
			j = (j + 1) & (ncap - 1);
		n[j] = l->slots[i];
	}
	free(l->slots);
	l->slots = n;
	l->cap = ncap;
	return 0;
}

/* A new open task, or NULL when memory ran out (the task is then not
 * listed; the caller counts nothing more: a listing is best effort here,
 * as it never drops a task it has memory for). */
static struct open *insert(struct tasklist *l, uint64_t id)
{
	if ((l->n + 1) * 4 > l->cap * 3 && grow(l) != 0)
		return NULL;
	uint64_t j = mix(id) & (l->cap - 1);
	while (l->slots[j].t.id)
		j = (j + 1) & (l->cap - 1);
	memset(&l->slots[j], 0, sizeof l->slots[j]);
	l->slots[j].t.id = id;
	l->n++;
	return &l->slots[j];
}

static void erase(struct tasklist *l, struct open *o)
{
	uint64_t i = (uint64_t)(o - l->slots), mask = l->cap - 1;
	l->slots[i].t.id = 0;
	l->n--;
	/* backward shift: move up entries whose probe passed through i */
	for (uint64_t j = (i + 1) & mask; l->slots[j].t.id; j = (j + 1) & mask) {
		uint64_t home = mix(l->slots[j].t.id) & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			l->slots[i] = l->slots[j];
			l->slots[j].t.id = 0;
			i = j;
		}
	}
}

static void set_trace(struct tasklist_task *t, const struct ct_event *ev)
{
	if (t->has_trace || ev->nargs < 6 || (ev->args[1] == 0 && ev->args[2] == 0))
		return;
	t->has_trace = 1;
	snprintf(t->trace_id, sizeof t->trace_id, "%016" PRIx64 "%016" PRIx64, ev->args[1],
		 ev->args[2]);
	snprintf(t->span_id, sizeof t->span_id, "%016" PRIx64, ev->args[3]);
	snprintf(t->parent_id, sizeof t->parent_id, "%016" PRIx64, ev->args[4]);
	t->trace_flags = (uint8_t)ev->args[5];
}

/* A task whose begin is not in the trace: it began before the first event. */
static struct open *before_trace(struct tasklist *l, uint64_t id)
{
	struct open *o = insert(l, id);
	if (o) {
		o->t.type = "";
		o->t.begin_ns = l->first_ns;
	}
	return o;
}

void tasklist_event(struct tasklist *l, const struct ct_event *ev)
{
	unsigned type = ev->type & 127;
	if ((type != CT_EV_TASK_BEGIN && type != CT_EV_TASK_END && type != CT_EV_TASK_TRACE) ||
	    ev->nargs < 1 || ev->args[0] == 0)
		return;
	uint64_t id = ev->args[0];
	if (!l->has_first)
		tasklist_set_start(l, ev->ts);
	struct open *o = find(l, id);
	switch (type) {
	case CT_EV_TASK_BEGIN:
		if (o) /* a second begin of a live id: the trace is odd; keep the first */
			return;
		o = insert(l, id);
		if (!o)
			return;
		o->t.type = intern_type(l, ev->nargs > 1 ? ev->strs[1] : NULL);
		o->t.parent = ev->nargs > 2 ? ev->args[2] : 0;
		o->t.begin_ns = ev->ts;
		o->t.begin_in_trace = 1;
		o->t.thread = ev->thread ? ev->thread->index : 0;
		break;
	case CT_EV_TASK_TRACE:
		if (!o)
			o = before_trace(l, id);
		if (o)
			set_trace(&o->t, ev);
		break;
	case CT_EV_TASK_END: {
		struct tasklist_task t;
		if (o) {
			t = o->t;
		} else {
			memset(&t, 0, sizeof t);
			t.id = id;
			t.type = "";
			t.begin_ns = l->first_ns;
		}
		t.end_ns = ev->ts;
		t.ended = 1;
		t.end_thread = ev->thread ? ev->thread->index : 0;
		t.latency_ns = t.end_ns > t.begin_ns ? t.end_ns - t.begin_ns : 0;
		if (o)
			erase(l, o);
		l->fn(l->arg, &t);
		break;
	}
	}
}

static int by_begin(const void *a, const void *b)
{
	const struct tasklist_task *x = a, *y = b;
	return x->begin_ns < y->begin_ns ? -1 : x->begin_ns > y->begin_ns ? 1 : 0;
}

uint64_t tasklist_finish(struct tasklist *l, uint64_t end_ns)
{
	uint64_t n = 0;
	struct tasklist_task *all = l->n ? malloc(l->n * sizeof *all) : NULL;
	for (uint64_t i = 0; i < l->cap; i++) {
		if (!l->slots[i].t.id)
			continue;
		struct tasklist_task t = l->slots[i].t;
		t.end_ns = end_ns > t.begin_ns ? end_ns : t.begin_ns;
		t.latency_ns = t.end_ns - t.begin_ns;
		if (all)
			all[n] = t;
		else
			l->fn(l->arg, &t); /* no memory to order them: as they are */
		n++;
		l->slots[i].t.id = 0;
	}
	l->n = 0;
	if (all) {
		qsort(all, n, sizeof *all, by_begin);
		for (uint64_t i = 0; i < n; i++)
			l->fn(l->arg, &all[i]);
		free(all);
	}
	return n;
}

int tasklist_parse_trace_id(const char *s, char out[33])
{
	if (!s)
		return -1;
	size_t n = strlen(s);
	const char *hex = s;
	/* a traceparent: "00-<trace id>-<span>-<flags>" */
	if (n >= 55 && s[2] == '-' && s[35] == '-')
		hex = s + 3;
	else if (n != 32)
		return -1;
	int nonzero = 0;
	for (int i = 0; i < 32; i++) {
		if (!isxdigit((unsigned char)hex[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)hex[i]);
		nonzero |= out[i] != '0';
	}
	out[32] = 0;
	return nonzero ? 0 : -1;
}
