/* Trace reader front end: the byte source (path, fd, memory), the file
 * header, generation frames (checksums, zstd) and the error messages.
 * Section parsing lives in generation.c, event iteration in merge.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "ctrace.h"
#include "internal.h"

int rdr_vec_reserve(void **p, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	if (nc > SIZE_MAX / elsz)
		return -ENOMEM;
	void *q = realloc(*p, nc * elsz);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

static int vset(struct rerr *e, int err, const char *fmt, va_list ap)
{
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->err = err;
	return err;
}

static int set_err(struct rerr *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_err(struct rerr *e, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(e, err, fmt, ap);
	va_end(ap);
	return err;
}

/* An error of the header, reported right away by ct_reader_open*. */
static int fail(ct_reader *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ct_reader *r, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(&r->e, err, fmt, ap);
	va_end(ap);
	return err;
}

static const char *plural(uint32_t n)
{
	return n == 1 ? "" : "s";
}

/* A frame-level error of generation r->nloaded + 1 (or of the end frame)
 * starting at `at`, kept with the load until the caller reaches it. */
static int frame_fail(ct_reader *r, struct gen *g, int err, uint64_t at, const char *what, ...)
	__attribute__((format(printf, 5, 6)));
static int frame_fail(ct_reader *r, struct gen *g, int err, uint64_t at, const char *what, ...)
{
	char buf[256], name[32] = "end frame";
	va_list ap;
	va_start(ap, what);
	vsnprintf(buf, sizeof(buf), what, ap);
	va_end(ap);
	if (!r->in_end_frame)
		snprintf(name, sizeof(name), "generation %u", r->nloaded + 1);
	return set_err(&g->e, err, "%s %s at byte %llu: %s; %u complete generation%s read",
		       err == CT_ETRUNCATED ? "truncated" : "corrupt", name,
		       (unsigned long long)at, buf, r->nloaded, plural(r->nloaded));
}

int rdr_gen_fail(struct gen *g, const uint8_t *at, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	uint64_t pos = (uint64_t)(at - g->payload);
	if (g->compressed)
		return set_err(&g->e, CT_EFORMAT,
			       "generation %u at byte %llu (decoded payload byte %llu): %s; "
			       "%u complete generation%s read",
			       g->nbefore + 1, (unsigned long long)g->frame_off,
			       (unsigned long long)pos, buf, g->nbefore, plural(g->nbefore));
	return set_err(&g->e, CT_EFORMAT,
		       "generation %u at byte %llu: %s; %u complete generation%s read",
		       g->nbefore + 1,
		       (unsigned long long)(g->frame_off + CT_GEN_HEADER_SIZE + pos), buf,
		       g->nbefore, plural(g->nbefore));
}

/* Waits until the pipe has data or the reader is closing: a prefetch
 * thread must not sit in read(2) on a pipe that ct_reader_close cannot
 * interrupt. Regular files never wait for a writer. */
static int src_wait(ct_reader *r, struct rerr *e)
{
	if (r->is_file || r->wake[0] < 0)
		return 0;
	struct pollfd pf[2] = {{.fd = r->fd, .events = POLLIN}, {.fd = r->wake[0], .events = POLLIN}};
	while (poll(pf, 2, -1) < 0)
		if (errno != EINTR)
			return set_err(e, -errno, "poll error at byte %llu: %s",
				       (unsigned long long)r->off, strerror(errno));
	if (pf[1].revents)
		return set_err(e, -ECANCELED, "reading stopped at byte %llu: the reader was closed",
			       (unsigned long long)r->off);
	return 0;
}

/* Makes the next `need` bytes of the source available at *out and consumes
 * them. Returns how many there are (fewer than need only at the end of the
 * data) or a negative error, described in *e. A file source reads into
 * *buf, growing it as data actually arrives, so a frame that claims 64 MiB
 * in a short file does not allocate 64 MiB. */
static ssize_t src_take(ct_reader *r, struct rerr *e, uint8_t **buf, size_t *cap, size_t need,
			const uint8_t **out)
{
	if (r->is_mem) {
		size_t avail = r->mem_len - (size_t)r->off;
		size_t n = need < avail ? need : avail;
		*out = r->mem + r->off;
		r->off += n;
		return (ssize_t)n;
	}
	size_t got = 0;
	while (got < need) {
		if (got == *cap) {
			size_t nc = *cap < (1u << 20) ? (1u << 20) : *cap * 2;
			if (nc > need)
				nc = need;
			uint8_t *q = realloc(*buf, nc);
			if (!q)
				return set_err(e, -ENOMEM,
					       "out of memory reading %zu bytes at byte %llu", need,
					       (unsigned long long)r->off);
			*buf = q;
			*cap = nc;
		}
		int rc = src_wait(r, e);
		if (rc)
			return rc;
		size_t want = (*cap < need ? *cap : need) - got;
		ssize_t k = read(r->fd, *buf + got, want);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			return set_err(e, -err, "read error at byte %llu: %s",
				       (unsigned long long)(r->off + got), strerror(err));
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	*out = *buf;
	r->off += got;
	return (ssize_t)got;
}

static const char *hdr_str(ct_reader *r, const uint8_t **pp, const uint8_t *end, size_t *alen)
{
	uint64_t n;
	if (ct_get_uvarint(pp, end, &n) || n > (uint64_t)(end - *pp))
		return NULL;
	char *s = r->hdr_arena + *alen;
	memcpy(s, *pp, n);
	s[n] = 0;
	*alen += n + 1;
	*pp += n;
	return s;
}

static int parse_header(ct_reader *r)
{
	uint8_t fixed[16];
	const uint8_t *h;
	uint8_t *tmp = NULL;
	size_t tcap = 0;
	ssize_t n;

	if (r->is_mem) {
		n = src_take(r, &r->e, NULL, NULL, 16, &h);
	} else {
		n = src_take(r, &r->e, &tmp, &tcap, 16, &h);
		if (n > 0)
			memcpy(fixed, h, (size_t)n);
		free(tmp);
		h = fixed;
	}
	if (n < 0)
		return (int)n;
	if (n == 0)
		return fail(r, CT_ETRUNCATED, "empty file: not a ctrace trace");
	size_t cmp = (size_t)n < CT_FORMAT_MAGIC_LEN ? (size_t)n : CT_FORMAT_MAGIC_LEN;
	if (memcmp(h, CT_FORMAT_MAGIC, cmp) != 0)
		return fail(r, CT_EFORMAT,
			    "corrupt header at byte 0: bad magic, not a ctrace trace");
	if (n < 16)
		return fail(r, CT_ETRUNCATED,
			    "truncated header at byte 0: header needs 16 bytes, file ends at %zd",
			    n);
	uint16_t major = ct_get_u16le(h + 8), minor = ct_get_u16le(h + 10);
	uint32_t size = ct_get_u32le(h + 12);
	if (major != CT_FORMAT_MAJOR)
		return fail(r, CT_EVERSION,
			    "unsupported format version %u.%u at byte 8: this reader knows %u.x",
			    major, minor, CT_FORMAT_MAJOR);
	if (size < 16 + 2 + 4 || size > HEADER_MAX)
		return fail(r, CT_EFORMAT, "corrupt header at byte 12: header size %u out of range",
			    size);
	r->info.version_major = major;
	r->info.version_minor = minor;

	/* The whole header in one buffer, to check its CRC. */
	const uint8_t *rest;
	if (r->is_mem) {
		n = src_take(r, &r->e, NULL, NULL, size - 16, &rest);
		h = r->mem;
	} else {
		uint8_t *buf = malloc(size);
		if (!buf)
			return fail(r, -ENOMEM, "out of memory reading the header");
		r->hdr = buf;
		memcpy(buf, fixed, 16);
		uint8_t *b2 = buf + 16;
		size_t c2 = size - 16;
		n = src_take(r, &r->e, &b2, &c2, size - 16, &rest);
		h = buf;
	}
	if (n < 0)
		return (int)n;
	if ((size_t)n < size - 16)
		return fail(r, CT_ETRUNCATED,
			    "truncated header at byte 16: header needs %u bytes, file ends at %llu",
			    size, (unsigned long long)r->off);
	if (crc32(0, h, size - 4) != ct_get_u32le(h + size - 4))
		return fail(r, CT_EFORMAT, "corrupt header at byte %u: header checksum mismatch",
			    size - 4);

	/* Every string of the header fits in its size plus one NUL each. */
	r->hdr_arena = malloc(2 * (size_t)size);
	if (!r->hdr_arena)
		return fail(r, -ENOMEM, "out of memory reading the header");
	size_t alen = 0;
	const uint8_t *p = h + 16, *end = h + size - 4;
	uint64_t nspec;
	if (ct_get_uvarint(&p, end, &nspec) || nspec > 127)
		return fail(r, CT_EFORMAT, "corrupt header at byte %td: bad spec table count",
			    p - h);
	for (uint64_t i = 0; i < nspec; i++) {
		const uint8_t *at = p;
		if (end - p < 4)
			return fail(r, CT_EFORMAT,
				    "corrupt header at byte %td: spec entry runs past "
				    "the header",
				    at - h);
		uint8_t type = p[0], argc = p[1], flags = p[2], nl = p[3];
		p += 4;
		if (type == 0 || type > 127 || argc > CT_MAX_ARGS ||
		    (flags & ~(CT_SPEC_BYTES | CT_SPEC_STACK_ABLE)))
			return fail(r, CT_EFORMAT,
				    "corrupt header at byte %td: bad spec entry (type %u, argc %u, "
				    "flags 0x%x)",
				    at - h, type, argc, flags);
		if (r->specs[type].name)
			return fail(r, CT_EFORMAT,
				    "corrupt header at byte %td: event type %u specified twice",
				    at - h, type);
		if ((size_t)(end - p) < (size_t)nl + argc)
			return fail(r, CT_EFORMAT,
				    "corrupt header at byte %td: spec entry runs past "
				    "the header",
				    at - h);
		char *name = r->hdr_arena + alen;
		memcpy(name, p, nl);
		name[nl] = 0;
		alen += nl + 1u;
		p += nl;
		memcpy(r->spec_kinds[type], p, argc);
		p += argc;
		r->specs[type] =
			(struct ct_event_spec){type, argc, flags, name, r->spec_kinds[type]};
	}
	uint64_t nmeta;
	if (ct_get_uvarint(&p, end, &nmeta) || nmeta > (uint64_t)(end - p) / 2)
		return fail(r, CT_EFORMAT, "corrupt header at byte %td: bad metadata count", p - h);
	r->hdr_meta = calloc(2 * nmeta + 1, sizeof(char *));
	if (!r->hdr_meta)
		return fail(r, -ENOMEM, "out of memory reading the header");
	for (uint64_t i = 0; i < 2 * nmeta; i++) {
		const uint8_t *at = p;
		r->hdr_meta[i] = hdr_str(r, &p, end, &alen);
		if (!r->hdr_meta[i])
			return fail(
				r, CT_EFORMAT,
				"corrupt header at byte %td: metadata string runs past the header",
				at - h);
	}
	if (p != end)
		return fail(r, CT_EFORMAT,
			    "corrupt header at byte %td: %td unexpected bytes after the metadata",
			    p - h, end - p);
	r->info.nmeta = (uint32_t)(2 * nmeta);
	r->info.meta = r->hdr_meta;

	/* The compact array of specs for ct_reader_info, and the decode table. */
	struct ct_event_spec *list = calloc(nspec + 1, sizeof(*list));
	if (!list)
		return fail(r, -ENOMEM, "out of memory reading the header");
	uint32_t ns = 0;
	for (unsigned t = 1; t < 128; t++) {
		const struct ct_event_spec *s = &r->specs[t];
		if (!s->name)
			continue;
		list[ns++] = *s;
		struct evdesc d = {.flags = DESC_VALID, .argc = s->argc, .name = s->name};
		if (s->flags & CT_SPEC_BYTES)
			d.flags |= DESC_BYTES;
		for (unsigned a = 0; a < s->argc; a++) {
			d.kinds[a] = s->arg_kinds[a];
			if (d.kinds[a] == CT_ARG_STRING || d.kinds[a] == CT_ARG_THREAD ||
			    d.kinds[a] == CT_ARG_STACK)
				d.check |= 1u << a;
			if (d.kinds[a] == CT_ARG_STRING)
				d.strs |= 1u << a;
			if (d.kinds[a] == CT_ARG_DURATION)
				d.durs |= 1u << a;
			if (d.kinds[a] == CT_ARG_INT)
				d.ints |= 1u << a;
		}
		if (d.durs)
			d.flags |= DESC_DUR;
		if (d.ints)
			d.flags |= DESC_INT;
		r->desc[t] = d;
		if (s->flags & CT_SPEC_STACK_ABLE) {
			d.flags |= DESC_STACK;
			r->desc[t | CT_TYPE_STACK_BIT] = d;
		}
	}
	r->info.nspecs = ns;
	r->info.specs = list;
	return 0;
}

static int open_common(ct_reader *r, ct_reader **out)
{
	*out = r;
	r->order = CT_ORDER_TIME;
	int rc = parse_header(r);
	r->cur_off = r->off;
	return rc;
}

static ct_reader *alloc_reader(void)
{
	ct_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fd = -1;
	r->wake[0] = r->wake[1] = -1;
	for (int i = 0; i < 2; i++)
		r->slot[i].desc = r->desc;
	r->g = &r->slot[0];
	const char *env = getenv("CTRACE_READER_THREADS");
	r->prefetch = !(env && *env && strtol(env, NULL, 10) == 0);
	return r;
}

int ct_reader_open_mem(const void *buf, size_t len, ct_reader **out)
{
	*out = NULL;
	ct_reader *r = alloc_reader();
	if (!r)
		return -ENOMEM;
	r->is_mem = 1;
	r->mem = buf ? buf : (const void *)""; /* no arithmetic on NULL */
	r->mem_len = len;
	r->file_size = len;
	return open_common(r, out);
}

int ct_reader_open_fd(int fd, ct_reader **out)
{
	*out = NULL;
	ct_reader *r = alloc_reader();
	if (!r)
		return -ENOMEM;
	r->fd = fd;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		r->file_size = (uint64_t)st.st_size;
		r->is_file = 1;
	}
	return open_common(r, out);
}

int ct_reader_open(const char *path, ct_reader **out)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ct_reader *r = alloc_reader();
		if (!r)
			return -ENOMEM;
		*out = r;
		return fail(r, -e, "%s: %s", path, strerror(e));
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	int rc = ct_reader_open_fd(fd, out);
	if (*out)
		(*out)->own_fd = 1;
	else
		close(fd);
	return rc;
}

static void stop_prefetch(ct_reader *r)
{
	if (!r->running)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->to_loader);
	pthread_mutex_unlock(&r->lock);
	if (r->wake[1] >= 0) {
		ssize_t k;
		do
			k = write(r->wake[1], "x", 1);
		while (k < 0 && errno == EINTR);
	}
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->to_loader);
	pthread_cond_destroy(&r->to_caller);
	r->running = 0;
}

void ct_reader_close(ct_reader *r)
{
	if (!r)
		return;
	stop_prefetch(r);
	for (int i = 0; i < 2; i++)
		if (r->wake[i] >= 0)
			close(r->wake[i]);
	if (r->own_fd)
		close(r->fd);
	free(r->hdr);
	free(r->hdr_arena);
	free(r->hdr_meta);
	free((void *)r->info.specs);
	free(r->stored);
	ZSTD_freeDCtx(r->zstd);
	for (int i = 0; i < 2; i++) {
		free(r->slot[i].buf);
		rdr_gen_free(&r->slot[i]);
	}
	free(r);
}

void ct_reader_set_order(ct_reader *r, enum ct_order order)
{
	r->order = order == CT_ORDER_THREAD ? CT_ORDER_THREAD : CT_ORDER_TIME;
}

int ct_reader_set_prefetch(ct_reader *r, int on)
{
	if (r->ngens || r->ended || r->e.err || r->running)
		return -EBUSY;
	r->prefetch = on != 0;
	return 0;
}

const struct ct_trace_info *ct_reader_info(const ct_reader *r)
{
	return &r->info;
}

/* ---- loading a frame (the caller's thread or the prefetch thread) ---- */

static int read_end_frame(ct_reader *r, struct gen *g, uint64_t at, const uint8_t *h)
{
	uint32_t flags = ct_get_u32le(h + 4);
	uint32_t stored = ct_get_u32le(h + 16), raw = ct_get_u32le(h + 20);
	if (flags != 0 || stored != raw || stored > 3 * CT_VARINT_MAX)
		return frame_fail(r, g, CT_EFORMAT, at, "bad flags 0x%x or size %u", flags,
				  stored);
	const uint8_t *p;
	ssize_t n = src_take(r, &g->e, &r->stored, &r->stored_cap, stored, &p);
	if (n < 0)
		return (int)n;
	if ((size_t)n < stored)
		return frame_fail(r, g, CT_ETRUNCATED, at,
				  "frame needs %u bytes, file ends at %llu",
				  CT_GEN_HEADER_SIZE + stored, (unsigned long long)r->off);
	if (crc32(0, p, stored) != ct_get_u32le(h + 24))
		return frame_fail(r, g, CT_EFORMAT, at, "payload checksum mismatch");
	const uint8_t *end = p + stored;
	uint64_t v[3];
	for (int i = 0; i < 3; i++)
		if (ct_get_uvarint(&p, end, &v[i]))
			return frame_fail(r, g, CT_EFORMAT, at, "bad payload");
	if (p != end)
		return frame_fail(r, g, CT_EFORMAT, at, "bad payload");
	g->complete = 1;
	return 0;
}

/* Reads the next frame into g: 1 a generation, 0 the end of the trace, or
 * a negative error described in g->e. */
static int load_frame(ct_reader *r, struct gen *g)
{
	uint64_t at = r->off;
	const uint8_t *h;
	uint8_t hb[CT_GEN_HEADER_SIZE];
	ssize_t n;
	if (r->is_mem) {
		n = src_take(r, &g->e, NULL, NULL, CT_GEN_HEADER_SIZE, &h);
	} else {
		n = src_take(r, &g->e, &r->stored, &r->stored_cap, CT_GEN_HEADER_SIZE, &h);
		if (n > 0)
			memcpy(hb, h, (size_t)n);
		h = hb;
	}
	if (n < 0)
		return (int)n;
	if (n == 0)
		return 0; /* cut at a generation boundary: no end frame */
	if (n < CT_GEN_HEADER_SIZE)
		return frame_fail(r, g, CT_ETRUNCATED, at,
				  "frame header needs 32 bytes, file ends at %llu",
				  (unsigned long long)r->off);
	int is_end = memcmp(h, "CTEN", 4) == 0;
	if (!is_end && memcmp(h, CT_GEN_MAGIC, 4) != 0)
		return frame_fail(r, g, CT_EFORMAT, at, "bad frame magic %02x %02x %02x %02x",
				  h[0], h[1], h[2], h[3]);
	if (crc32(0, h, 28) != ct_get_u32le(h + 28))
		return frame_fail(r, g, CT_EFORMAT, at, "frame header checksum mismatch");
	if (is_end) {
		r->in_end_frame = 1;
		return read_end_frame(r, g, at, h);
	}

	uint32_t flags = ct_get_u32le(h + 4);
	uint64_t seq = ct_get_u64le(h + 8);
	uint32_t stored = ct_get_u32le(h + 16), raw = ct_get_u32le(h + 20);
	int zst = flags & CT_GEN_FLAG_ZSTD;
	if (flags & ~CT_GEN_FLAG_ZSTD)
		return frame_fail(r, g, CT_EFORMAT, at, "unknown frame flags 0x%x", flags);
	if (raw > CT_GEN_MAX_RAW)
		return frame_fail(r, g, CT_EFORMAT, at,
				  "payload of %u bytes exceeds the 64 MiB limit", raw);
	if (zst ? stored > ZSTD_compressBound(raw) : stored != raw)
		return frame_fail(r, g, CT_EFORMAT, at,
				  "stored size %u does not fit raw size %u", stored, raw);
	uint64_t need = CT_GEN_HEADER_SIZE + (uint64_t)stored;
	if (r->is_mem && at + need > r->mem_len)
		return frame_fail(r, g, CT_ETRUNCATED, at,
				  "frame needs %llu bytes, file ends at %zu",
				  (unsigned long long)need, r->mem_len);
	/* An uncompressed payload read from a file stays in the slot's own
	 * buffer: events point into it while the caller iterates. */
	const uint8_t *p;
	if (zst)
		n = src_take(r, &g->e, &r->stored, &r->stored_cap, stored, &p);
	else
		n = src_take(r, &g->e, &g->buf, &g->buf_cap, stored, &p);
	if (n < 0)
		return (int)n;
	if ((size_t)n < stored)
		return frame_fail(r, g, CT_ETRUNCATED, at,
				  "frame needs %llu bytes, file ends at %llu",
				  (unsigned long long)need, (unsigned long long)r->off);
	if (crc32(0, p, stored) != ct_get_u32le(h + 24))
		return frame_fail(r, g, CT_EFORMAT, at, "payload checksum mismatch");

	if (zst) {
		if (!r->zstd && !(r->zstd = ZSTD_createDCtx()))
			return set_err(&g->e, -ENOMEM, "out of memory creating a zstd context");
		if (VEC_RESERVE(g->buf, g->buf_cap, raw ? raw : 1))
			return set_err(&g->e, -ENOMEM, "out of memory for a %u-byte generation",
				       raw);
		size_t k = ZSTD_decompressDCtx(r->zstd, g->buf, raw, p, stored);
		if (ZSTD_isError(k))
			return frame_fail(r, g, CT_EFORMAT, at, "zstd: %s", ZSTD_getErrorName(k));
		if (k != raw)
			return frame_fail(r, g, CT_EFORMAT, at,
					  "payload decompressed to %zu bytes, frame says %u", k,
					  raw);
		p = g->buf;
	}
	g->frame_off = at;
	g->compressed = zst;
	int rc = rdr_gen_load(g, p, raw);
	if (rc < 0)
		return rc;
	struct ct_generation *gi = &g->info;
	gi->seq = seq;
	gi->offset = at;
	gi->size = need;
	gi->raw_size = raw;
	return 1;
}

static int load(ct_reader *r, struct gen *g)
{
	g->nbefore = r->nloaded;
	g->e.err = 0;
	g->complete = 0;
	g->loaded = 0;
	g->fast = 0;
	int rc = load_frame(r, g);
	g->status = rc;
	g->end_off = r->off;
	if (rc == 1)
		r->nloaded++;
	return rc;
}

/* ---- prefetch ---- */

/* Loads generation after generation into the slot the caller does not
 * hold, one ahead at most; stops after the end or an error, which the
 * caller meets in order like any other load. */
static void *prefetch_main(void *arg)
{
	ct_reader *r = arg;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct gen *g = &r->slot[r->wslot];
		while (!r->stop && (g->ready || g->busy))
			pthread_cond_wait(&r->to_loader, &r->lock);
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->lock);
		int rc = load(r, g);
		pthread_mutex_lock(&r->lock);
		g->ready = 1;
		pthread_cond_signal(&r->to_caller);
		r->wslot ^= 1;
		if (rc <= 0)
			break;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Whether the source may hold another frame after the one just loaded: a
 * reader of one generation in memory (the report's second pass) then never
 * starts a thread. */
static int more_input(ct_reader *r)
{
	if (r->is_mem)
		return r->off < r->mem_len;
	if (r->is_file) {
		struct stat st;
		if (fstat(r->fd, &st) == 0 && (uint64_t)st.st_size <= r->off)
			return 0;
	}
	return 1;
}

/* Starts the thread after the caller loaded `cur` itself. Without a
 * thread (any failure here) loading simply stays synchronous. */
static void start_prefetch(ct_reader *r, struct gen *cur)
{
	if (!r->is_mem && !r->is_file && pipe2(r->wake, O_CLOEXEC) != 0) {
		r->wake[0] = r->wake[1] = -1;
		return;
	}
	if (pthread_mutex_init(&r->lock, NULL))
		return;
	pthread_cond_init(&r->to_loader, NULL);
	pthread_cond_init(&r->to_caller, NULL);
	cur->busy = 1;
	r->wslot = (unsigned)(cur - r->slot) ^ 1;
	r->next_slot = r->wslot;
	/* Signals are the application's business: not delivered here. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&r->thread, NULL, prefetch_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		cur->busy = 0;
		r->next_slot = (unsigned)(cur - r->slot);
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->to_loader);
		pthread_cond_destroy(&r->to_caller);
		return;
	}
	r->running = 1;
}

/* The next load, in order: from the prefetch thread when it runs, else
 * done here (and the thread started for the ones after it). */
static struct gen *take(ct_reader *r)
{
	struct gen *g = &r->slot[r->next_slot];
	if (!r->running) {
		if (load(r, g) == 1 && r->prefetch && more_input(r))
			start_prefetch(r, g);
		return g;
	}
	pthread_mutex_lock(&r->lock);
	struct gen *held = &r->slot[r->next_slot ^ 1];
	if (held->busy) {
		held->busy = 0;
		pthread_cond_signal(&r->to_loader);
	}
	while (!g->ready)
		pthread_cond_wait(&r->to_caller, &r->lock);
	g->ready = 0;
	g->busy = 1;
	pthread_mutex_unlock(&r->lock);
	r->next_slot ^= 1;
	return g;
}

int ct_reader_next_generation(ct_reader *r, const struct ct_generation **out)
{
	if (r->e.err)
		return r->e.err;
	r->g->loaded = 0;
	r->g->fast = 0;
	if (r->ended)
		return 0;
	struct gen *g = take(r);
	r->g = g;
	r->cur_off = g->end_off;
	if (g->status < 0) {
		r->e = g->e;
		return r->e.err;
	}
	if (g->status == 0) {
		r->ended = 1;
		r->complete = g->complete;
		return 0;
	}
	r->ngens++;
	g->loaded = 1;
	rdr_iter_reset(r);
	*out = &g->info;
	return 1;
}

int ct_reader_complete(const ct_reader *r)
{
	return r->complete;
}

uint64_t ct_reader_offset(const ct_reader *r)
{
	return r->cur_off;
}

uint64_t ct_reader_file_size(const ct_reader *r)
{
	return r->file_size;
}

const char *ct_reader_error(const ct_reader *r)
{
	return r->e.err ? r->e.msg : NULL;
}
