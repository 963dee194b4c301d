/* A growable byte buffer for the writer thread (never used on the hot path). */
#ifndef CT_RECORD_BUF_H
#define CT_RECORD_BUF_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/varint.h"

struct buf {
	uint8_t *p;
	size_t len, cap;
	int oom; /* an allocation failed: the content is incomplete */
};

static inline int buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static inline void buf_put(struct buf *b, const void *src, size_t n)
{
	if (n && buf_reserve(b, n) == 0) {
		memcpy(b->p + b->len, src, n);
		b->len += n;
	}
}

static inline void buf_u8(struct buf *b, uint8_t v)
{
	buf_put(b, &v, 1);
}

static inline void buf_uv(struct buf *b, uint64_t v)
{
	if (buf_reserve(b, CT_VARINT_MAX) == 0)
		b->len = (size_t)(ct_put_uvarint(b->p + b->len, v) - b->p);
}

static inline void buf_str(struct buf *b, const char *s, size_t n)
{
	buf_uv(b, n);
	buf_put(b, s, n);
}

/* Appends a section: kind, length, then the body held in `body`. */
static inline void buf_section(struct buf *b, uint8_t kind, const struct buf *body)
{
	buf_u8(b, kind);
	buf_uv(b, body->len);
	buf_put(b, body->p, body->len);
}

static inline void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Writes all n bytes to fd, retrying short writes and EINTR; 0 or -errno. */
static inline int fd_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

#endif
