/* The `pprof -top` table of a profile being built, for the CLI's text mode:
 * same aggregation (per function), order and number formatting as pprof, so
 * the two can be compared line by line. */
#include "export/pprof_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* pprof's unit families: a value is converted to the family's base unit,
 * then shown in the largest unit in which it is at least 1. */
struct unit_def {
	const char *name;
	const char *aliases; /* '|'-separated, lowercase, singular */
	double factor;
};

static const struct unit_def bytes_units[] = {
	{"B", "b|byte", 1},
	{"kB", "kb|kbyte|kilobyte", 1024.0},
	{"MB", "mb|mbyte|megabyte", 1048576.0},
	{"GB", "gb|gbyte|gigabyte", 1073741824.0},
	{"TB", "tb|tbyte|terabyte", 1099511627776.0},
	{"PB", "pb|pbyte|petabyte", 1125899906842624.0},
	{NULL, NULL, 0},
};

static const struct unit_def time_units[] = {
	{"ns", "ns|nanosecond", 1},    {"us", "\xce\xbcs|us|microsecond", 1e3},
	{"ms", "ms|millisecond", 1e6}, {"s", "s|sec|second", 1e9},
	{"hrs", "hour|hr", 3600e9},    {NULL, NULL, 0},
};

static const struct unit_def *const families[] = {bytes_units, time_units};
static const int family_default[] = {0, 3}; /* B, s */

static int has_alias(const char *aliases, const char *u)
{
	size_t n = strlen(u);
	for (const char *a = aliases; *a;) {
		size_t k = strcspn(a, "|");
		if (k == n && memcmp(a, u, n) == 0)
			return 1;
		a += k + (a[k] == '|');
	}
	return 0;
}

enum { INLINED = 1, NOT_INLINED = 2 };

/* A row: a function, or an address without symbols. */
struct node {
	int64_t flat, cum;
	size_t seen; /* sample index + 1 that last counted cum */
	int inl;
	int kept;      /* shown in the table */
	char name[24]; /* address rows only */
};

struct text_ctx {
	const struct pprof *p;
	struct node *n;
};

static const char *node_name(const struct text_ctx *c, size_t i)
{
	if (i < c->p->nfn)
		return c->p->str[c->p->fn[i].name];
	return c->n[i].name;
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* The family and index of a unit name, matched as pprof does: lowercase,
 * a plural "s" dropped. Returns NULL when the unit is in no family. */
static const struct unit_def *find_unit(const char *unit, int *family)
{
	char u[64];
	size_t n = 0;
	for (; unit[n] && n < sizeof(u) - 1; n++)
		u[n] = (char)tolower((unsigned char)unit[n]);
	u[n] = 0;
	if (n > 2 && u[n - 1] == 's')
		u[n - 1] = 0;
	for (int f = 0; f < (int)(sizeof(families) / sizeof(families[0])); f++)
		for (int i = 0; families[f][i].name; i++)
			if (has_alias(families[f][i].aliases, u)) {
				*family = f;
				return &families[f][i];
			}
	return NULL;
}

static int is_auto(const char *to)
{
	return !strcmp(to, "minimum") || !strcmp(to, "auto");
}

/* pprof's measurement.Scale: value in unit `from` expressed in unit `to`,
 * or in the largest unit where it is >= 1 when `to` is "minimum". */
static double scale(int64_t value, const char *from, const char *to, const char **suffix)
{
	if (value < 0 && -value > 0)
		return -scale(-value, from, to, suffix);
	int f, g;
	const struct unit_def *fu = find_unit(from, &f);
	if (!fu) {
		int plain = !strcmp(to, "count") || !strcmp(to, "sample") || !strcmp(to, "unit") ||
			    is_auto(to);
		*suffix = plain ? "" : to;
		return (double)value;
	}
	const struct unit_def *fam = families[f], *tu = &fam[family_default[f]];
	double v = (double)value * fu->factor;
	if (is_auto(to)) {
		double best = 0;
		for (int j = 0; fam[j].name; j++)
			if (fam[j].factor >= best && v / fam[j].factor >= 1.0) {
				best = fam[j].factor;
				tu = &fam[j];
			}
	} else {
		const struct unit_def *t = find_unit(to, &g);
		if (t && g == f)
			tu = t;
	}
	*suffix = tu->name;
	return v / tu->factor;
}

/* pprof's measurement.ScaledLabel: "1.50s", "12kB", "3", "0". */
static void format_value(char *buf, size_t len, int64_t value, const char *from, const char *to)
{
	const char *suffix;
	double v = scale(value, from, to, &suffix);
	char num[64];
	snprintf(num, sizeof(num), "%.2f", v);
	size_t k = strlen(num);
	if (k > 3 && !strcmp(num + k - 3, ".00"))
		num[k - 3] = 0;
	if (!strcmp(num, "0") || !strcmp(num, "-0"))
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%s%s", num, suffix);
}

/* pprof's selectOutputUnit: one unit for the whole table, that of the
 * smallest row, unless the largest value is over 100 times bigger. */
static const char *output_unit(const struct node *n, const size_t *rows, size_t nrows,
			       int64_t total, const char *unit)
{
	int64_t min = 0;
	for (size_t i = 0; i < nrows; i++) {
		int64_t v = abs64(n[rows[i]].flat);
		if (!v)
			v = abs64(n[rows[i]].cum);
		if (v > 0 && (!min || v < min))
			min = v;
	}
	if (!min)
		min = total;
	const char *umin, *umax, *u;
	scale(min, unit, "minimum", &umin);
	scale(total, unit, "minimum", &umax);
	u = umin;
	if (strcmp(umin, umax) && min < total / 100 + (total % 100 != 0))
		scale(100 * min, unit, "minimum", &u);
	return *u ? u : unit;
}

/* pprof's measurement.Percentage: at least two significant digits. */
static void format_pct(char *buf, size_t len, int64_t value, int64_t total)
{
	double r = total ? (double)value / (double)total * 100 : 0;
	if (r < 0)
		r = -r;
	if (r >= 99.95 && r <= 100.05)
		snprintf(buf, len, "  100%%");
	else if (r >= 1.0)
		snprintf(buf, len, "%5.2f%%", r);
	else
		snprintf(buf, len, "%5.2g%%", r);
}

/* pprof's FlatNameOrder: flat, then name, then cum. */
static int node_cmp(const void *a, const void *b, void *ctx)
{
	const struct text_ctx *sort_ctx = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct node *nx = &sort_ctx->n[x], *ny = &sort_ctx->n[y];
	if (abs64(nx->flat) != abs64(ny->flat))
		return abs64(nx->flat) > abs64(ny->flat) ? -1 : 1;
	int c = strcmp(node_name(sort_ctx, x), node_name(sort_ctx, y));
	if (c)
		return c;
	if (abs64(nx->cum) != abs64(ny->cum))
		return abs64(nx->cum) > abs64(ny->cum) ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* One sample's contribution, walked root first as pprof builds its graph:
 * cum once per row per sample, flat to the innermost frame. */
static void add_sample(struct text_ctx *c, size_t si, int64_t v)
{
	const struct pprof *p = c->p;
	const struct psample *s = &p->smp[si];
	size_t last = SIZE_MAX;
	for (uint32_t j = s->nlocs; j-- > 0;) {
		size_t li = p->slocs[s->locs + j] - 1;
		const struct ploc *l = &p->loc[li];
		uint32_t nl = l->nlines ? l->nlines : 1;
		for (uint32_t k = nl; k-- > 0;) {
			size_t ni = l->nlines ? p->lines[l->lines + k].fn : p->nfn + li;
			struct node *n = &c->n[ni];
			if (n->seen != si + 1) {
				n->seen = si + 1;
				n->cum += v;
			}
			last = ni;
		}
	}
	if (last != SIZE_MAX)
		c->n[last].flat += v;
}

/* pprof labels a row "(inline)" from its incoming call edges in the graph
 * it shows: an edge caller -> callee links shown rows (hidden ones are
 * skipped over), counts only its first occurrence in each sample, is inline
 * only if all those occurrences were inlined calls, and is dropped when its
 * weight is under 0.1% of the total. */
struct edge {
	uint64_t key; /* (caller + 1) << 32 | (callee + 1); 0 is empty */
	int64_t weight;
	size_t stamp; /* sample index + 1 that last counted it */
	int inlined;
};

struct emap {
	struct edge *e;
	size_t mask, n;
};

static struct edge *emap_slot(const struct emap *m, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & m->mask;
	while (m->e[i].key && m->e[i].key != key)
		i = (i + 1) & m->mask;
	return &m->e[i];
}

static struct edge *emap_get(struct emap *m, uint64_t key)
{
	if ((m->n + 1) * 2 > m->mask + 1) {
		struct emap g = {calloc((m->mask + 1) * 2, sizeof(struct edge)),
				 (m->mask + 1) * 2 - 1, m->n};
		if (!g.e)
			return NULL;
		for (size_t i = 0; i <= m->mask; i++)
			if (m->e[i].key)
				*emap_slot(&g, m->e[i].key) = m->e[i];
		free(m->e);
		*m = g;
	}
	struct edge *e = emap_slot(m, key);
	if (!e->key) {
		*e = (struct edge){key, 0, 0, 1};
		m->n++;
	}
	return e;
}

static int walk_edges(struct text_ctx *c, struct emap *m, size_t si, int64_t v)
{
	const struct pprof *p = c->p;
	const struct psample *s = &p->smp[si];
	size_t parent = SIZE_MAX;
	for (uint32_t j = s->nlocs; j-- > 0;) {
		size_t li = p->slocs[s->locs + j] - 1;
		const struct ploc *l = &p->loc[li];
		uint32_t nl = l->nlines ? l->nlines : 1;
		for (uint32_t k = nl; k-- > 0;) {
			size_t ni = l->nlines ? p->lines[l->lines + k].fn : p->nfn + li;
			if (!c->n[ni].kept)
				continue;
			if (parent != SIZE_MAX && parent != ni) {
				struct edge *e =
					emap_get(m, (uint64_t)(parent + 1) << 32 | (ni + 1));
				if (!e)
					return -ENOMEM;
				if (e->stamp != si + 1) {
					e->stamp = si + 1;
					e->weight += v;
					e->inlined &= k != nl - 1;
				}
			}
			parent = ni;
		}
	}
	return 0;
}

static int inline_labels(struct text_ctx *c, int vi, int64_t cutoff)
{
	const struct pprof *p = c->p;
	struct emap m = {calloc(64, sizeof(struct edge)), 63, 0};
	if (!m.e)
		return -ENOMEM;
	for (size_t i = 0; i < p->nsmp; i++) {
		int64_t v = p->values[i * (size_t)p->nvalues + (size_t)vi];
		if (v && walk_edges(c, &m, i, v)) {
			free(m.e);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i <= m.mask; i++)
		if (m.e[i].key && abs64(m.e[i].weight) >= cutoff)
			c->n[(m.e[i].key & 0xffffffffu) - 1].inl |=
				m.e[i].inlined ? INLINED : NOT_INLINED;
	free(m.e);
	return 0;
}

int pprof_write_text(struct pprof *p, FILE *f, int top)
{
	if (p->err)
		return p->err;
	int vi = pprof_default_index(p);
	const char *unit = p->str[p->unit[vi]];
	size_t nn = p->nfn + p->nloc;
	if (nn >= UINT32_MAX) /* rows are 32-bit in the edge keys */
		return -E2BIG;
	struct text_ctx c = {p, calloc(nn ? nn : 1, sizeof(struct node))};
	size_t *order = malloc((nn ? nn : 1) * sizeof(*order));
	if (!c.n || !order) {
		free(c.n);
		free(order);
		return -ENOMEM;
	}
	int64_t total = 0, flat_all = 0;
	for (size_t i = 0; i < p->nsmp; i++) {
		int64_t v = p->values[i * (size_t)p->nvalues + (size_t)vi];
		total += abs64(v);
		if (v) /* pprof skips samples without value: no row, no edge */
			add_sample(&c, i, v);
	}
	for (size_t i = 0; i < nn; i++)
		flat_all += c.n[i].flat;
	/* pprof -top's default node fraction: rows under 0.5% of cum go. */
	int64_t cutoff = abs64((int64_t)((double)flat_all * 0.005));
	size_t rows = 0, dropped = 0;
	for (size_t i = 0; i < nn; i++) {
		if (!c.n[i].seen || (!c.n[i].cum && !c.n[i].flat))
			continue;
		if (abs64(c.n[i].cum) < cutoff) {
			dropped++;
			continue;
		}
		if (i >= p->nfn) {
			uint64_t a = p->loc[i - p->nfn].address;
			snprintf(c.n[i].name, sizeof(c.n[i].name), a ? "%016" PRIx64 : "<unknown>",
				 a);
		}
		order[rows++] = i;
	}
	qsort_r(order, rows, sizeof(*order), node_cmp, &c);
	size_t shown = top > 0 && (size_t)top < rows ? (size_t)top : rows;
	for (size_t i = 0; i < shown; i++)
		c.n[order[i]].kept = 1;
	if (inline_labels(&c, vi, abs64((int64_t)((double)flat_all * 0.001)))) {
		free(c.n);
		free(order);
		return -ENOMEM;
	}
	const char *to = output_unit(c.n, order, shown, total, unit);

	char a[64], b[64], d[64];
	int64_t sum = 0;
	for (size_t i = 0; i < shown; i++)
		sum += c.n[order[i]].flat;
	fprintf(f, "Type: %s\n", p->str[p->type[vi]]);
	format_value(a, sizeof(a), sum, unit, to);
	format_pct(b, sizeof(b), sum, total);
	format_value(d, sizeof(d), total, unit, to);
	fprintf(f, "Showing nodes accounting for %s, %s of %s total\n", a, b + strspn(b, " "), d);
	if (dropped && total) {
		format_value(a, sizeof(a), abs64((int64_t)((double)total * 0.005)), unit, to);
		fprintf(f, "Dropped %zu node%s (cum <= %s)\n", dropped, dropped > 1 ? "s" : "", a);
	}
	if (shown < rows && total)
		fprintf(f, "Showing top %zu nodes out of %zu\n", shown, rows);
	fprintf(f, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
	sum = 0;
	for (size_t i = 0; i < shown; i++) {
		const struct node *n = &c.n[order[i]];
		char pf[16], ps[16], pc[16];
		sum += n->flat;
		format_value(a, sizeof(a), n->flat, unit, to);
		format_value(d, sizeof(d), n->cum, unit, to);
		format_pct(pf, sizeof(pf), n->flat, total);
		format_pct(ps, sizeof(ps), sum, total);
		format_pct(pc, sizeof(pc), n->cum, total);
		const char *inl = n->inl == INLINED		      ? " (inline)"
				  : n->inl == (INLINED | NOT_INLINED) ? " (partial-inline)"
								      : "";
		fprintf(f, "%10s %s %s %10s %s  %s%s\n", a, pf, ps, d, pc, node_name(&c, order[i]),
			inl);
	}
	free(c.n);
	free(order);
	return ferror(f) ? -EIO : 0;
}
