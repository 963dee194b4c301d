/* pprof writer: profiles are written, gunzipped and decoded by a minimal
 * protobuf reader here, then checked for structure and accumulated values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "export/pprof.h"
#include "pprof_known.h"

/* ---- a minimal decoder of the profile.proto subset we write ---- */

struct rd {
	const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		assert_true(r->p < r->end);
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	fail_msg("varint too long");
	return 0;
}

/* Next field: returns 0 at the end; *val holds a varint, *sub a length-
 * delimited payload. */
static int rd_field(struct rd *r, int *wt, uint64_t *val, struct rd *sub)
{
	if (r->p == r->end)
		return 0;
	uint64_t key = rd_varint(r);
	*wt = (int)(key & 7);
	if (*wt == 0) {
		*val = rd_varint(r);
	} else if (*wt == 2) {
		uint64_t len = rd_varint(r);
		assert_true(len <= (uint64_t)(r->end - r->p));
		sub->p = r->p;
		sub->end = r->p + len;
		r->p += len;
	} else {
		fail_msg("unexpected wire type %d", *wt);
	}
	return (int)(key >> 3);
}

struct dline {
	uint64_t fn;
	int64_t line;
};
struct dloc {
	uint64_t id, mapping, address;
	struct dline lines[8];
	int nlines;
};
struct dfn {
	uint64_t id, name, sysname, file;
};
struct dmap {
	uint64_t id, start, limit, offset, file, build_id, flags[4];
};
struct dlabel {
	uint64_t key, str, unit;
	int64_t num;
};
struct dsample {
	uint64_t locs[16];
	int nlocs;
	int64_t values[4];
	int nvalues;
	struct dlabel labels[4];
	int nlabels;
};

struct decoded {
	uint8_t *raw; /* the gunzipped protobuf; strings point into it */
	char **str;
	size_t nstr;
	uint64_t types[4][2];
	int ntypes;
	struct dsample *smp;
	size_t nsmp;
	struct dloc *loc;
	size_t nloc;
	struct dfn *fn;
	size_t nfn;
	size_t *loc_by_id, *fn_by_id; /* id -> index + 1; the writer's ids are dense */
	struct dmap map[8];
	size_t nmap;
	int64_t time_nanos, duration_nanos, period;
	uint64_t period_type[2], comments[4], default_type;
	int ncomments;
};

static uint8_t *gunzip(const uint8_t *in, size_t n, size_t *outn)
{
	z_stream z = {0};
	assert_int_equal(inflateInit2(&z, 15 + 32), Z_OK);
	size_t cap = 1 << 16, len = 0;
	uint8_t *out = malloc(cap);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	int r;
	do {
		if (len == cap)
			out = realloc(out, cap *= 2);
		z.next_out = out + len;
		z.avail_out = (uInt)(cap - len);
		r = inflate(&z, Z_NO_FLUSH);
		assert_true(r == Z_OK || r == Z_STREAM_END);
		len = cap - z.avail_out;
	} while (r != Z_STREAM_END);
	inflateEnd(&z);
	*outn = len;
	return out;
}

static char *pstr(struct rd s)
{
	size_t n = (size_t)(s.end - s.p);
	char *c = malloc(n + 1);
	memcpy(c, s.p, n);
	c[n] = 0;
	return c;
}

static void decode_sample(struct dsample *d, struct rd r)
{
	int wt, f;
	uint64_t v;
	struct rd sub, lab;
	memset(d, 0, sizeof(*d));
	while ((f = rd_field(&r, &wt, &v, &sub))) {
		if (f == 1) {
			assert_int_equal(wt, 2); /* packed */
			while (sub.p < sub.end) {
				assert_true(d->nlocs < 16);
				d->locs[d->nlocs++] = rd_varint(&sub);
			}
		} else if (f == 2) {
			assert_int_equal(wt, 2);
			while (sub.p < sub.end) {
				assert_true(d->nvalues < 4);
				d->values[d->nvalues++] = (int64_t)rd_varint(&sub);
			}
		} else if (f == 3) {
			assert_true(d->nlabels < 4);
			struct dlabel *l = &d->labels[d->nlabels++];
			int lf;
			while ((lf = rd_field(&sub, &wt, &v, &lab))) {
				if (lf == 1)
					l->key = v;
				else if (lf == 2)
					l->str = v;
				else if (lf == 3)
					l->num = (int64_t)v;
				else if (lf == 4)
					l->unit = v;
			}
		}
	}
}

static void decode_location(struct dloc *d, struct rd r)
{
	int wt, f, lf;
	uint64_t v;
	struct rd sub, x;
	memset(d, 0, sizeof(*d));
	while ((f = rd_field(&r, &wt, &v, &sub))) {
		if (f == 1)
			d->id = v;
		else if (f == 2)
			d->mapping = v;
		else if (f == 3)
			d->address = v;
		else if (f == 4) {
			assert_true(d->nlines < 8);
			struct dline *l = &d->lines[d->nlines++];
			while ((lf = rd_field(&sub, &wt, &v, &x)))
				if (lf == 1)
					l->fn = v;
				else if (lf == 2)
					l->line = (int64_t)v;
		}
	}
}

/* Appends to a decoded array, doubling at powers of two. */
#define PUSH(arr, n)                                                                               \
	((n & (n - 1)) == 0 ? (void)(arr = realloc(arr, (n ? 2 * n : 1) * sizeof(*arr)))           \
			    : (void)0,                                                             \
	 &arr[n++])

static void decode(struct decoded *d, const uint8_t *gz, size_t n)
{
	memset(d, 0, sizeof(*d));
	size_t len;
	d->raw = gunzip(gz, n, &len);
	struct rd r = {d->raw, d->raw + len}, sub, x;
	int wt, f, g;
	uint64_t v;
	while ((f = rd_field(&r, &wt, &v, &sub))) {
		switch (f) {
		case 1:
			assert_true(d->ntypes < 4);
			while ((g = rd_field(&sub, &wt, &v, &x)))
				d->types[d->ntypes][g - 1] = v;
			d->ntypes++;
			break;
		case 2:
			decode_sample(PUSH(d->smp, d->nsmp), sub);
			break;
		case 3: {
			assert_true(d->nmap < 8);
			struct dmap *m = &d->map[d->nmap++];
			memset(m, 0, sizeof(*m));
			while ((g = rd_field(&sub, &wt, &v, &x))) {
				uint64_t *fld[] = {&m->id,	 &m->start,    &m->limit,
						   &m->offset,	 &m->file,     &m->build_id,
						   &m->flags[0], &m->flags[1], &m->flags[2],
						   &m->flags[3]};
				assert_true(g >= 1 && g <= 10);
				*fld[g - 1] = v;
			}
			break;
		}
		case 4:
			decode_location(PUSH(d->loc, d->nloc), sub);
			break;
		case 5: {
			struct dfn *fn = PUSH(d->fn, d->nfn);
			memset(fn, 0, sizeof(*fn));
			while ((g = rd_field(&sub, &wt, &v, &x))) {
				uint64_t *fld[] = {&fn->id, &fn->name, &fn->sysname, &fn->file};
				if (g <= 4)
					*fld[g - 1] = v;
			}
			break;
		}
		case 6:
			*PUSH(d->str, d->nstr) = pstr(sub);
			break;
		case 9:
			d->time_nanos = (int64_t)v;
			break;
		case 10:
			d->duration_nanos = (int64_t)v;
			break;
		case 11:
			while ((g = rd_field(&sub, &wt, &v, &x)))
				d->period_type[g - 1] = v;
			break;
		case 12:
			d->period = (int64_t)v;
			break;
		case 13:
			assert_true(d->ncomments < 4);
			d->comments[d->ncomments++] = v;
			break;
		case 14:
			d->default_type = v;
			break;
		default:
			fail_msg("unexpected profile field %d", f);
		}
	}
}

static void decoded_free(struct decoded *d)
{
	for (size_t i = 0; i < d->nstr; i++)
		free(d->str[i]);
	free(d->str);
	free(d->smp);
	free(d->loc);
	free(d->fn);
	free(d->loc_by_id);
	free(d->fn_by_id);
	free(d->raw);
}

static const char *S(const struct decoded *d, uint64_t i)
{
	assert_true(i < d->nstr);
	return d->str[i];
}

static const struct dloc *find_loc(const struct decoded *d, uint64_t id)
{
	if (id == 0 || id > d->nloc || !d->loc_by_id[id])
		fail_msg("location %llu not found", (unsigned long long)id);
	return &d->loc[d->loc_by_id[id] - 1];
}

static const struct dfn *find_fn(const struct decoded *d, uint64_t id)
{
	if (id == 0 || id > d->nfn || !d->fn_by_id[id])
		fail_msg("function %llu not found", (unsigned long long)id);
	return &d->fn[d->fn_by_id[id] - 1];
}

/* Ids index the tables; a repeated or out-of-range id fails the test. */
static void index_ids(struct decoded *d)
{
	d->loc_by_id = calloc(d->nloc + 1, sizeof(size_t));
	d->fn_by_id = calloc(d->nfn + 1, sizeof(size_t));
	for (size_t i = 0; i < d->nloc; i++) {
		uint64_t id = d->loc[i].id;
		assert_true(id >= 1 && id <= d->nloc && !d->loc_by_id[id]);
		d->loc_by_id[id] = i + 1;
	}
	for (size_t i = 0; i < d->nfn; i++) {
		uint64_t id = d->fn[i].id;
		assert_true(id >= 1 && id <= d->nfn && !d->fn_by_id[id]);
		d->fn_by_id[id] = i + 1;
	}
}

/* Every id is nonzero and unique, every reference resolves. */
static void check_structure(struct decoded *d)
{
	assert_true(d->nstr >= 1);
	assert_string_equal(d->str[0], "");
	index_ids(d);
	for (size_t i = 0; i < d->nfn; i++) {
		assert_true(d->fn[i].id != 0);
		assert_ptr_equal(find_fn(d, d->fn[i].id), &d->fn[i]);
		S(d, d->fn[i].name);
		S(d, d->fn[i].file);
	}
	for (size_t i = 0; i < d->nloc; i++) {
		const struct dloc *l = &d->loc[i];
		assert_true(l->id != 0);
		assert_ptr_equal(find_loc(d, l->id), l);
		assert_true(l->mapping <= d->nmap);
		for (int j = 0; j < l->nlines; j++)
			find_fn(d, l->lines[j].fn);
	}
	for (size_t i = 0; i < d->nmap; i++) {
		assert_int_equal(d->map[i].id, i + 1);
		S(d, d->map[i].file);
		S(d, d->map[i].build_id);
	}
	for (size_t i = 0; i < d->nsmp; i++) {
		assert_int_equal(d->smp[i].nvalues, d->ntypes);
		for (int j = 0; j < d->smp[i].nlocs; j++)
			find_loc(d, d->smp[i].locs[j]);
		for (int j = 0; j < d->smp[i].nlabels; j++) {
			S(d, d->smp[i].labels[j].key);
			S(d, d->smp[i].labels[j].str);
			S(d, d->smp[i].labels[j].unit);
		}
	}
}

/* Writes p to memory and decodes it. */
static void roundtrip(struct pprof *p, struct decoded *d)
{
	int fd = memfd_create("pprof", 0);
	assert_true(fd >= 0);
	assert_int_equal(pprof_write(p, fd), 0);
	off_t n = lseek(fd, 0, SEEK_CUR);
	assert_true(n > 18); /* at least a gzip header and trailer */
	uint8_t *gz = malloc((size_t)n);
	assert_int_equal(pread(fd, gz, (size_t)n, 0), n);
	assert_int_equal(gz[0], 0x1f); /* gzip magic */
	assert_int_equal(gz[1], 0x8b);
	close(fd);
	decode(d, gz, (size_t)n);
	free(gz);
	check_structure(d);
}

/* ---- tests ---- */

static const char *const types[] = {"contentions", "delay"};
static const char *const units[] = {"count", "nanoseconds"};

/* The profile all tests check (tests/pprof_known.h). */
static struct pprof *sample_profile(void)
{
	struct pprof *p = pprof_known_profile("made by test_pprof");
	assert_non_null(p);
	return p;
}

static const struct dsample *find_sample(const struct decoded *d, const char *thread,
					 const char *leaf)
{
	for (size_t i = 0; i < d->nsmp; i++) {
		const struct dsample *s = &d->smp[i];
		int match = 0;
		for (int j = 0; j < s->nlabels; j++)
			match |= !strcmp(S(d, s->labels[j].key), "thread") &&
				 !strcmp(S(d, s->labels[j].str), thread);
		const struct dloc *l = find_loc(d, s->locs[0]);
		if (match && !strcmp(S(d, find_fn(d, l->lines[0].fn)->name), leaf))
			return s;
	}
	fail_msg("no sample for %s in %s", thread, leaf);
	return NULL;
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct pprof *p = sample_profile();
	struct decoded d;
	roundtrip(p, &d);

	assert_int_equal(d.ntypes, 2);
	assert_string_equal(S(&d, d.types[0][0]), "contentions");
	assert_string_equal(S(&d, d.types[0][1]), "count");
	assert_string_equal(S(&d, d.types[1][0]), "delay");
	assert_string_equal(S(&d, d.types[1][1]), "nanoseconds");
	assert_string_equal(S(&d, d.default_type), "delay");
	assert_string_equal(S(&d, d.period_type[0]), "contentions");
	assert_int_equal(d.period, 1);
	assert_int_equal(d.time_nanos, 1700000000000000000);
	assert_int_equal(d.duration_nanos, 3000000000);
	assert_int_equal(d.ncomments, 1);
	assert_string_equal(S(&d, d.comments[0]), "made by test_pprof");

	assert_int_equal(d.nmap, 1);
	assert_string_equal(S(&d, d.map[0].file), "/usr/bin/demo");
	assert_string_equal(S(&d, d.map[0].build_id), "deadbeef01");
	assert_int_equal(d.map[0].start, 0x400000);
	assert_int_equal(d.map[0].limit, 0x500000);
	for (int i = 0; i < 4; i++) /* symbolized: pprof must not re-symbolize */
		assert_int_equal(d.map[0].flags[i], 1);

	/* Functions deduplicated by (name, file): handle_request once. */
	assert_int_equal(d.nfn, 5);
	assert_int_equal(d.nloc, 5);
	assert_int_equal(d.nsmp, 3);

	/* Identical stack and labels (given in another order) accumulated. */
	const struct dsample *s = find_sample(&d, "worker-1", "lock_wait");
	assert_int_equal(s->values[0], 2);
	assert_int_equal(s->values[1], 2000000000);
	assert_int_equal(s->nlabels, 2);
	int tid = 0;
	for (int j = 0; j < s->nlabels; j++)
		if (!strcmp(S(&d, s->labels[j].key), "tid")) {
			tid = 1;
			assert_int_equal(s->labels[j].num, 1234);
			assert_int_equal(s->labels[j].str, 0);
		}
	assert_true(tid);

	/* The inlined frame comes first, its caller last, in one location. */
	const struct dloc *l = find_loc(&d, s->locs[0]);
	assert_int_equal(l->address, 0x401010);
	assert_int_equal(l->mapping, 1);
	assert_int_equal(l->nlines, 2);
	assert_string_equal(S(&d, find_fn(&d, l->lines[0].fn)->name), "lock_wait");
	assert_string_equal(S(&d, find_fn(&d, l->lines[0].fn)->file), "src/lock.h");
	assert_int_equal(l->lines[0].line, 12);
	assert_string_equal(S(&d, find_fn(&d, l->lines[1].fn)->name), "mutex_lock_slow");
	assert_int_equal(l->lines[1].line, 40);
	assert_int_equal(s->nlocs, 3);
	assert_string_equal(S(&d, find_fn(&d, find_loc(&d, s->locs[2])->lines[0].fn)->name),
			    "main");

	s = find_sample(&d, "worker-2", "lock_wait");
	assert_int_equal(s->values[0], 3);
	assert_int_equal(s->values[1], 750000000);
	s = find_sample(&d, "worker-1", "read_socket");
	assert_int_equal(s->values[1], 250000000);
	int bytes = 0;
	for (int j = 0; j < s->nlabels; j++)
		if (!strcmp(S(&d, s->labels[j].key), "bytes")) {
			bytes = 1;
			assert_int_equal(s->labels[j].num, 4096);
			assert_string_equal(S(&d, s->labels[j].unit), "bytes");
		}
	assert_true(bytes);

	/* Interned: no string twice. */
	for (size_t i = 0; i < d.nstr; i++)
		for (size_t j = i + 1; j < d.nstr; j++)
			assert_string_not_equal(d.str[i], d.str[j]);
	decoded_free(&d);
	pprof_free(p);
}

static void test_dedup(void **state)
{
	(void)state;
	const char *t[] = {"samples"}, *u[] = {"count"};
	struct pprof *p = pprof_new(t, u, 1);
	assert_non_null(p);
	uint64_t m1 = pprof_mapping(p, 0x1000, 0x2000, 0, "/lib/a.so", NULL, 0);
	assert_int_equal(pprof_mapping(p, 0x1000, 0x2000, 0, "/lib/a.so", NULL, 0), m1);
	uint64_t m2 = pprof_mapping(p, 0x1000, 0x2000, 0, "/lib/b.so", NULL, 0);
	assert_int_not_equal(m1, m2);

	const struct pprof_line a = {"f", "a.c", 1}, a2 = {"f", "a.c", 2}, b = {"f", "b.c", 1};
	uint64_t la = pprof_location(p, 0x1100, m1, &a, 1);
	assert_int_equal(pprof_location(p, 0x1100, m1, &a, 1), la);
	uint64_t la2 = pprof_location(p, 0x1100, m1, &a2, 1); /* another line */
	uint64_t lb = pprof_location(p, 0x1100, m1, &b, 1);   /* another file */
	uint64_t lm = pprof_location(p, 0x1100, m2, &a, 1);   /* another mapping */
	uint64_t lx = pprof_location(p, 0x1104, m1, &a, 1);   /* another address */
	assert_true(la && la2 && lb && lm && lx);
	assert_int_equal(lx, 5);
	/* Unknown frames are skipped: an address-only location. */
	const struct pprof_line unk = {NULL, NULL, 0};
	uint64_t lu = pprof_location(p, 0x1200, m1, &unk, 1);
	assert_int_equal(pprof_location(p, 0x1200, m1, NULL, 0), lu);

	/* Labels make samples distinct; so do stack order and depth. */
	const uint64_t st1[] = {la, lb}, st2[] = {lb, la}, st3[] = {la};
	const struct pprof_label lab1 = {"k", "v", 0, NULL}, lab2 = {"k", "w", 0, NULL};
	const int64_t one = 1;
	assert_int_equal(pprof_add_sample(p, st1, 2, &one, NULL, 0), 0);
	assert_int_equal(pprof_add_sample(p, st1, 2, &one, &lab1, 1), 0);
	assert_int_equal(pprof_add_sample(p, st1, 2, &one, &lab2, 1), 0);
	assert_int_equal(pprof_add_sample(p, st2, 2, &one, NULL, 0), 0);
	assert_int_equal(pprof_add_sample(p, st3, 1, &one, NULL, 0), 0);
	assert_int_equal(pprof_add_sample(p, st1, 2, &one, &lab1, 1), 0);
	assert_int_equal(pprof_add_sample(p, NULL, 0, &one, NULL, 0), 0);
	assert_int_equal(pprof_sample_count(p), 6);

	struct decoded d;
	roundtrip(p, &d);
	assert_int_equal(d.nfn, 2); /* f in a.c, f in b.c */
	assert_int_equal(d.nloc, 6);
	assert_int_equal(d.nmap, 2);
	int64_t sum = 0;
	for (size_t i = 0; i < d.nsmp; i++)
		sum += d.smp[i].values[0];
	assert_int_equal(sum, 7);
	/* a mapping with an address-only location is not "symbolized" */
	assert_int_equal(d.map[0].flags[0], 0);
	assert_int_equal(d.map[1].flags[0], 1);
	assert_int_equal(find_loc(&d, lu)->nlines, 0);
	decoded_free(&d);
	pprof_free(p);
}

static void test_invalid(void **state)
{
	(void)state;
	const char *t[] = {"samples"}, *u[] = {"count"};
	assert_null(pprof_new(t, u, 0));
	struct pprof *p = pprof_new(t, u, 1);
	const struct pprof_line a = {"f", "a.c", 1};
	assert_int_equal(pprof_location(p, 0x10, 7, &a, 1), 0); /* no such mapping */
	uint64_t l = pprof_location(p, 0x10, 0, &a, 1);
	assert_int_equal(l, 1);
	const uint64_t bad[] = {l, 2}, zero[] = {0};
	const int64_t one = 1;
	const struct pprof_label nokey = {NULL, "v", 0, NULL};
	assert_int_equal(pprof_add_sample(p, bad, 2, &one, NULL, 0), -EINVAL);
	assert_int_equal(pprof_add_sample(p, zero, 1, &one, NULL, 0), -EINVAL);
	assert_int_equal(pprof_add_sample(p, &l, 1, &one, &nokey, 1), -EINVAL);
	assert_int_equal(pprof_add_sample(p, &l, -1, &one, NULL, 0), -EINVAL);
	assert_int_equal(pprof_sample_count(p), 0);
	/* A failed sample leaves nothing behind: the profile still writes. */
	assert_int_equal(pprof_add_sample(p, &l, 1, &one, NULL, 0), 0);
	struct decoded d;
	roundtrip(p, &d);
	assert_int_equal(d.nsmp, 1);
	assert_int_equal(d.smp[0].nlocs, 1);
	decoded_free(&d);
	/* Write errors are reported. */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	close(fds[1]);
	assert_int_equal(pprof_write(p, fds[1]), -EBADF);
	close(fds[0]);
	pprof_free(p);
}

static char *table(struct pprof *p, int top)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(pprof_write_text(p, f, top), 0);
	fclose(f);
	return buf;
}

/* The expected text is what `go tool pprof -top` prints for the same
 * profile (checked by tests/integration/test_pprof_go.sh). */
static void test_text(void **state)
{
	(void)state;
	struct pprof *p = sample_profile();
	char *t = table(p, 0);
	assert_string_equal(t, "Type: delay\n"
			       "Showing nodes accounting for 3000ms, 100% of 3000ms total\n"
			       "      flat  flat%   sum%        cum   cum%\n"
			       "    2750ms 91.67% 91.67%     2750ms 91.67%  lock_wait (inline)\n"
			       "     250ms  8.33%   100%      250ms  8.33%  read_socket\n"
			       "         0     0%   100%     3000ms   100%  handle_request\n"
			       "         0     0%   100%     3000ms   100%  main\n"
			       "         0     0%   100%     2750ms 91.67%  mutex_lock_slow\n");
	free(t);
	t = table(p, 2);
	assert_non_null(strstr(t, "Showing top 2 nodes out of 5\n"));
	assert_null(strstr(t, "handle_request"));
	free(t);
	pprof_free(p);

	/* Bytes scale by 1024; small rows are dropped as pprof does. */
	const char *bt[] = {"space"}, *bu[] = {"bytes"};
	p = pprof_new(bt, bu, 1);
	const struct pprof_line big = {"big_alloc", "", 0}, tiny = {"tiny_alloc", "", 0};
	uint64_t lbig = pprof_location(p, 0, 0, &big, 1), ltiny = pprof_location(p, 0, 0, &tiny, 1);
	assert_int_equal(pprof_add_sample(p, &lbig, 1, (const int64_t[]){3 << 20}, NULL, 0), 0);
	assert_int_equal(pprof_add_sample(p, &ltiny, 1, (const int64_t[]){100}, NULL, 0), 0);
	t = table(p, 0);
	assert_string_equal(t, "Type: space\n"
			       "Showing nodes accounting for 3MB, 100% of 3MB total\n"
			       "Dropped 1 node (cum <= 0.02MB)\n"
			       "      flat  flat%   sum%        cum   cum%\n"
			       "       3MB   100%   100%        3MB   100%  big_alloc\n");
	free(t);
	pprof_free(p);
}

#ifndef SCALE_NLOC
#define SCALE_NLOC 100000
#define SCALE_NADD 1000000
#endif

/* ~1e5 locations and 1e6 samples: hash maps, not scans (a quadratic
 * builder would not finish). */
static void test_scale(void **state)
{
	(void)state;
	struct pprof *p = pprof_new(types, units, 2);
	enum { NLOC = SCALE_NLOC, NADD = SCALE_NADD, DEPTH = 8 };
	char name[32];
	for (int i = 0; i < NLOC; i++) {
		snprintf(name, sizeof(name), "fn_%d", i % (NLOC / 5));
		const struct pprof_line ln = {name, "big.c", i};
		assert_int_equal(pprof_location(p, 0x1000 + (uint64_t)i * 4, 0, &ln, 1),
				 (uint64_t)i + 1);
	}
	uint64_t st[DEPTH], x = 88172645463325252ull;
	int64_t sum = 0;
	for (int i = 0; i < NADD; i++) {
		/* every other add repeats the previous stack */
		if (!(i & 1)) {
			for (int j = 0; j < DEPTH; j++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				st[j] = x % NLOC + 1;
			}
		}
		int64_t v[2] = {1, i};
		sum += i;
		assert_int_equal(pprof_add_sample(p, st, DEPTH, v, NULL, 0), 0);
	}
	assert_int_equal(pprof_sample_count(p), NADD / 2);
	struct decoded d;
	roundtrip(p, &d);
	assert_int_equal(d.nsmp, NADD / 2);
	assert_int_equal(d.nloc, NLOC);
	assert_int_equal(d.nfn, NLOC / 5);
	int64_t dsum = 0, count = 0;
	for (size_t i = 0; i < d.nsmp; i++) {
		count += d.smp[i].values[0];
		dsum += d.smp[i].values[1];
	}
	assert_int_equal(count, NADD);
	assert_int_equal(dsum, sum);
	decoded_free(&d);
	pprof_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_invalid),	  cmocka_unit_test(test_text),
		cmocka_unit_test(test_scale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
