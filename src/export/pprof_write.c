/* pprof profile writer: the gzip'd protobuf encoder (profile.proto,
 * encoded by hand: varints and length prefixes), streamed through zlib. */
#include "export/pprof_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* A growable message buffer; an allocation failure is sticky (err) so the
 * encoders below need no checks of their own. */
struct pb {
	uint8_t *b;
	size_t n, cap;
	int err;
};

static void pb_put(struct pb *b, const void *d, size_t len)
{
	if (b->err || PPROF_GROW(b->b, b->cap, b->n + len)) {
		b->err = -ENOMEM;
		return;
	}
	memcpy(b->b + b->n, d, len);
	b->n += len;
}

static size_t varint_enc(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t t[10];
	pb_put(b, t, varint_enc(t, v));
}

enum { WT_VARINT = 0, WT_LEN = 2 };

static void pb_key(struct pb *b, int field, int wt)
{
	pb_varint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

/* proto3: zero is the default and is not written. int64 fields are plain
 * two's complement varints (not zigzag), as profile.proto declares them. */
static void pb_uint(struct pb *b, int field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, WT_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pb *b, int field, const void *d, size_t len)
{
	pb_key(b, field, WT_LEN);
	pb_varint(b, len);
	pb_put(b, d, len);
}

static void pb_packed_u32(struct pb *b, int field, const uint32_t *a, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += varint_len(a[i]);
	if (!len)
		return;
	pb_key(b, field, WT_LEN);
	pb_varint(b, len);
	for (size_t i = 0; i < n; i++)
		pb_varint(b, a[i]);
}

static void pb_packed_i64(struct pb *b, int field, const int64_t *a, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += varint_len((uint64_t)a[i]);
	if (!len)
		return;
	pb_key(b, field, WT_LEN);
	pb_varint(b, len);
	for (size_t i = 0; i < n; i++)
		pb_varint(b, (uint64_t)a[i]);
}

/* The gzip stream: top-level fields are encoded one message at a time into
 * a scratch buffer and fed to deflate, so a profile with a million samples
 * never exists encoded in memory all at once. */
struct zout {
	z_stream z;
	int fd;
	int err;
	size_t nin;
	uint8_t in[1 << 16];
	uint8_t out[1 << 16];
};

static int write_all(int fd, const uint8_t *d, size_t n)
{
	while (n) {
		ssize_t w = write(fd, d, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		d += w;
		n -= (size_t)w;
	}
	return 0;
}

static void zout_deflate(struct zout *o, int flush)
{
	if (o->err)
		return;
	o->z.next_in = o->in;
	o->z.avail_in = (uInt)o->nin;
	for (;;) {
		o->z.next_out = o->out;
		o->z.avail_out = sizeof(o->out);
		int r = deflate(&o->z, flush);
		if (r == Z_STREAM_ERROR) {
			o->err = -EIO;
			return;
		}
		o->err = write_all(o->fd, o->out, sizeof(o->out) - o->z.avail_out);
		if (o->err)
			return;
		/* With room left, deflate has consumed all input (NO_FLUSH). */
		if (flush == Z_FINISH ? r == Z_STREAM_END : o->z.avail_out != 0)
			break;
	}
	o->nin = 0;
}

static void zout_put(struct zout *o, const void *d, size_t len)
{
	const uint8_t *s = d;
	while (len && !o->err) {
		size_t k = sizeof(o->in) - o->nin < len ? sizeof(o->in) - o->nin : len;
		memcpy(o->in + o->nin, s, k);
		o->nin += k;
		s += k;
		len -= k;
		if (o->nin == sizeof(o->in))
			zout_deflate(o, Z_NO_FLUSH);
	}
}

/* Emits one top-level field holding message m (or raw bytes), resets m. */
static void zout_field(struct zout *o, int field, struct pb *m)
{
	uint8_t hdr[20];
	size_t n = varint_enc(hdr, (uint64_t)field << 3 | WT_LEN);
	n += varint_enc(hdr + n, m->n);
	zout_put(o, hdr, n);
	zout_put(o, m->b, m->n);
	m->n = 0;
}

static void zout_varint_field(struct zout *o, int field, uint64_t v)
{
	uint8_t t[20];
	if (!v)
		return;
	size_t n = varint_enc(t, (uint64_t)field << 3 | WT_VARINT);
	n += varint_enc(t + n, v);
	zout_put(o, t, n);
}

enum { HAS_FUNCTIONS = 1, HAS_FILENAMES = 2, HAS_LINES = 4 };

/* pprof (re)symbolizes mappings that do not claim to be symbolized; a
 * mapping is only as symbolized as the least symbolized of its locations. */
static uint8_t *mapping_flags(const struct pprof *p)
{
	uint8_t *f = malloc(p->nmap + 1);
	if (!f)
		return NULL;
	memset(f, HAS_FUNCTIONS | HAS_FILENAMES | HAS_LINES, p->nmap + 1);
	for (size_t i = 0; i < p->nloc; i++) {
		const struct ploc *l = &p->loc[i];
		uint8_t m = l->nlines ? HAS_FUNCTIONS | HAS_FILENAMES | HAS_LINES : 0;
		for (uint32_t j = 0; j < l->nlines; j++) {
			if (!p->fn[p->lines[l->lines + j].fn].file)
				m &= (uint8_t)~HAS_FILENAMES;
			if (p->lines[l->lines + j].line <= 0)
				m &= (uint8_t)~HAS_LINES;
		}
		f[l->mapping] &= m;
	}
	return f;
}

static void encode(struct pprof *p, struct zout *o, struct pb *m, struct pb *sub,
		   const uint8_t *mflags)
{
	for (int i = 0; i < p->nvalues; i++) {
		pb_uint(m, 1, p->type[i]);
		pb_uint(m, 2, p->unit[i]);
		zout_field(o, 1, m);
	}
	for (size_t i = 0; i < p->nsmp && !o->err; i++) {
		const struct psample *s = &p->smp[i];
		if (s->nlocs)
			pb_packed_u32(m, 1, &p->slocs[s->locs], s->nlocs);
		/* Values are written even when zero: their position is their type. */
		pb_packed_i64(m, 2, &p->values[i * (size_t)p->nvalues], (size_t)p->nvalues);
		for (uint32_t j = 0; j < s->nlabels; j++) {
			const struct plabel *l = &p->slabels[s->labels + j];
			sub->n = 0;
			pb_uint(sub, 1, l->key);
			pb_uint(sub, 2, l->str);
			pb_uint(sub, 3, (uint64_t)l->num);
			pb_uint(sub, 4, l->unit);
			pb_bytes(m, 3, sub->b, sub->n);
		}
		zout_field(o, 2, m);
	}
	for (size_t i = 0; i < p->nmap; i++) {
		const struct pmap *mp = &p->map[i];
		uint8_t f = mflags[i + 1];
		pb_uint(m, 1, i + 1);
		pb_uint(m, 2, mp->start);
		pb_uint(m, 3, mp->limit);
		pb_uint(m, 4, mp->offset);
		pb_uint(m, 5, mp->file);
		pb_uint(m, 6, mp->build_id);
		pb_uint(m, 7, !!(f & HAS_FUNCTIONS));
		pb_uint(m, 8, !!(f & HAS_FILENAMES));
		pb_uint(m, 9, !!(f & HAS_LINES));
		/* ctrace's symbolizer reports inlined frames whenever it has
		 * functions at all. */
		pb_uint(m, 10, !!(f & HAS_FUNCTIONS));
		zout_field(o, 3, m);
	}
	for (size_t i = 0; i < p->nloc && !o->err; i++) {
		const struct ploc *l = &p->loc[i];
		pb_uint(m, 1, i + 1);
		pb_uint(m, 2, l->mapping);
		pb_uint(m, 3, l->address);
		for (uint32_t j = 0; j < l->nlines; j++) {
			const struct pline *ln = &p->lines[l->lines + j];
			sub->n = 0;
			pb_uint(sub, 1, ln->fn + 1);
			pb_uint(sub, 2, (uint64_t)ln->line);
			pb_bytes(m, 4, sub->b, sub->n);
		}
		zout_field(o, 4, m);
	}
	for (size_t i = 0; i < p->nfn && !o->err; i++) {
		pb_uint(m, 1, i + 1);
		pb_uint(m, 2, p->fn[i].name);
		/* C has no separate mangled name; pprof shows it with -orig_fn_names. */
		pb_uint(m, 3, p->fn[i].name);
		pb_uint(m, 4, p->fn[i].file);
		zout_field(o, 5, m);
	}
	for (size_t i = 0; i < p->nstr && !o->err; i++) {
		pb_put(m, p->str[i], strlen(p->str[i]));
		zout_field(o, 6, m);
	}
	zout_varint_field(o, 9, (uint64_t)p->time_nanos);
	zout_varint_field(o, 10, (uint64_t)p->duration_nanos);
	if (p->period_type || p->period_unit) {
		pb_uint(m, 1, p->period_type);
		pb_uint(m, 2, p->period_unit);
		zout_field(o, 11, m);
	}
	zout_varint_field(o, 12, (uint64_t)p->period);
	for (size_t i = 0; i < p->ncomments; i++)
		zout_varint_field(o, 13, p->comments[i]);
	zout_varint_field(o, 14, p->default_type);
}

int pprof_write(struct pprof *p, int fd)
{
	if (p->err)
		return p->err;
	struct zout *o = calloc(1, sizeof(*o));
	uint8_t *mflags = mapping_flags(p);
	struct pb m = {0}, sub = {0};
	int err = -ENOMEM;
	if (!o || !mflags)
		goto out;
	o->fd = fd;
	/* windowBits 15 + 16: a gzip wrapper, which is what pprof expects. */
	if (deflateInit2(&o->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto out;
	encode(p, o, &m, &sub, mflags);
	if (m.err || sub.err)
		o->err = -ENOMEM;
	zout_deflate(o, Z_FINISH);
	deflateEnd(&o->z);
	err = o->err;
out:
	free(m.b);
	free(sub.b);
	free(mflags);
	free(o);
	return err;
}
