/* Reader under damage: every validation rule, truncation at every byte,
 * corruption at every byte (with and without checksums fixed up). The
 * promise: every complete generation before the damage comes back intact,
 * then one error naming an offset at or after the damaged generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ctrace.h"
#include "ctrace_reader.h"
#include "reader_sample.h"
#include "read/internal.h"
#include "tracebuilder.h"

#define MAXGEN 8

struct readout {
	int open_rc;
	int rc;		/* last return of next_generation / next */
	unsigned ngens; /* generations loaded */
	uint64_t digest[MAXGEN + 4];
	int complete;
	char msg[512];
};

/* Reads everything, digesting each generation's events in `order`. */
static void read_all(const uint8_t *buf, size_t len, enum ct_order order, struct readout *o)
{
	memset(o, 0, sizeof(*o));
	/* An exact-size copy, so ASan sees any read past the end. */
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	ct_reader *r;
	o->open_rc = ct_reader_open_mem(copy, len, &r);
	if (o->open_rc) {
		if (r)
			snprintf(o->msg, sizeof(o->msg), "%s", ct_reader_error(r));
		ct_reader_close(r);
		free(copy);
		o->rc = o->open_rc;
		return;
	}
	ct_reader_set_order(r, order);
	const struct ct_generation *g;
	int rc;
	while ((rc = ct_reader_next_generation(r, &g)) == 1) {
		struct ct_event ev;
		uint64_t h = 14695981039346656037ull;
		while (ct_reader_next_in_generation(r, &ev) == 1)
			h = digest_event(h, &ev);
		if (o->ngens < MAXGEN + 4)
			o->digest[o->ngens] = h;
		o->ngens++;
	}
	o->rc = rc;
	o->complete = ct_reader_complete(r);
	if (ct_reader_error(r))
		snprintf(o->msg, sizeof(o->msg), "%s", ct_reader_error(r));
	ct_reader_close(r);
	free(copy);
}

/* The offset an error message names ("at byte N"), or -1. */
static long long msg_offset(const char *msg)
{
	const char *p = strstr(msg, "at byte ");
	return p ? atoll(p + 8) : -1;
}

static void assert_complete_count(const char *msg, unsigned n)
{
	char want[64];
	snprintf(want, sizeof(want), "; %u complete generation%s read", n, n == 1 ? "" : "s");
	if (!strstr(msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", msg, want);
}

/* ---- validation rules --------------------------------------------------- */

enum bad {
	BAD_STRING_ID,
	BAD_STACK_ID,
	BAD_THREAD,
	BAD_STACK_BIT,
	BAD_TYPE,
	BAD_COUNT,
	BAD_TIME_BACK,
	BAD_NO_CLOCK,
	BAD_TWO_CLOCKS,
	BAD_DUP_STRING,
	BAD_MAPPING,
	BAD_LOCATION,
	BAD_LOC_STRING,
	BAD_LOSS_THREAD,
	BAD_COUNT_FIT,
	BAD_LEFTOVER,
	BAD_VARINT,
	BAD_BYTES,
	BAD_SECTION_LEN,
	BAD_FRAME_FLAGS,
	BAD_RAW_SIZE,
	BAD_ZSTD,
	BAD_COUNT_OF_CASES
};

static const struct {
	const char *msg;
	int err;
} bad_expect[] = {
	[BAD_STRING_ID] = {"batch of thread 1 references string id 99 not in the generation",
			   CT_EFORMAT},
	[BAD_STACK_ID] = {"references stack id 50 not in the generation", CT_EFORMAT},
	[BAD_THREAD] = {"batch of thread 9: thread not in the generation", CT_EFORMAT},
	[BAD_STACK_BIT] = {"has a stack but its kind cannot carry one", CT_EFORMAT},
	[BAD_TYPE] = {"has type 100, not in the spec table", CT_EFORMAT},
	[BAD_COUNT] = {"header says 5 events, found 1", CT_EFORMAT},
	[BAD_TIME_BACK] = {"goes back before", CT_EFORMAT},
	[BAD_NO_CLOCK] = {"no clock section", CT_EFORMAT},
	[BAD_TWO_CLOCKS] = {"second clock section", CT_EFORMAT},
	[BAD_DUP_STRING] = {"string id 4 listed twice", CT_EFORMAT},
	[BAD_MAPPING] = {"references mapping 5, the generation has 0", CT_EFORMAT},
	[BAD_LOCATION] = {"references location 9, the generation has 1", CT_EFORMAT},
	[BAD_LOC_STRING] = {"function references string id 77 not in the generation", CT_EFORMAT},
	[BAD_LOSS_THREAD] = {"loss section: thread 4 not in the generation", CT_EFORMAT},
	[BAD_COUNT_FIT] = {"strings section: count 5 does not fit", CT_EFORMAT},
	[BAD_LEFTOVER] = {"strings section: 1 byte left over", CT_EFORMAT},
	[BAD_VARINT] = {"is cut or has a bad varint", CT_EFORMAT},
	[BAD_BYTES] = {"byte string of event 0 runs past the batch", CT_EFORMAT},
	[BAD_SECTION_LEN] = {"length 1000 runs past the payload", CT_EFORMAT},
	[BAD_FRAME_FLAGS] = {"unknown frame flags 0x2", CT_EFORMAT},
	[BAD_RAW_SIZE] = {"exceeds the 64 MiB limit", CT_EFORMAT},
	[BAD_ZSTD] = {"payload decompressed to", CT_EFORMAT},
};

static void fix_frame_crc(uint8_t *h)
{
	ct_put_u32le(h + 28, (uint32_t)crc32(0, h, 28));
}

/* Generation 1 is the good sample; generation 2 has defect `which`. */
static void build_bad(struct tb *b, enum bad which)
{
	tb_init(b);
	sample_gen(b, 1, 0, 0);
	size_t g2 = b->out.len;
	tb_gen_begin(b, 2);
	tb_thread(b, 1, 1, "t", 0);
	tb_string(b, 4, "four");
	uint64_t body[16];
	struct tb_buf raw = {0};
	tb_batch_begin(b, which == BAD_THREAD ? 9 : 1, 100);
	switch (which) {
	case BAD_STRING_ID:
		TB_EV(b, CT_EV_REGION_BEGIN, 1, 99);
		break;
	case BAD_STACK_ID:
		TB_EVS(b, CT_EV_REGION_BEGIN, 1, 50, 4);
		break;
	case BAD_STACK_BIT:
		tb_event(b, CT_EV_LOSS, 1, TB_ARGS(1, 2, 3), 3, 1, NULL, 0);
		break;
	case BAD_TYPE:
		TB_EV0(b, 100, 1);
		break;
	case BAD_COUNT:
		b->force_nevents = 5; /* fallthrough */
	default:
		TB_EV0(b, CT_EV_REGION_END, 1);
		break;
	}
	tb_batch_end(b);
	if (which == BAD_TIME_BACK) {
		tb_batch_begin(b, 1, 50);
		TB_EV0(b, CT_EV_REGION_END, 1);
		tb_batch_end(b);
	}
	(void)body;
	switch (which) {
	case BAD_NO_CLOCK:
		b->no_clock = 1;
		break;
	case BAD_TWO_CLOCKS:
		tb_raw_section(b, CT_SEC_CLOCK, "\x01\x01\x00\x00\x00\x00\x00", 7);
		break;
	case BAD_DUP_STRING:
		tb_string(b, 4, "again");
		break;
	case BAD_MAPPING:
		tb_location(b, 1, 5, 0, NULL);
		break;
	case BAD_LOCATION:
		tb_location(b, 1, 0, 0, NULL);
		tb_stack(b, 3, 2, (uint64_t[]){1, 9});
		break;
	case BAD_LOC_STRING:
		tb_location(b, 1, 0, 1, (struct tb_frame[]){{77, 4, 1}});
		break;
	case BAD_LOSS_THREAD:
		tb_loss(b, 4, 1, 0, 0, 0);
		break;
	case BAD_COUNT_FIT:
		tb_raw_section(b, CT_SEC_STRINGS, "\x05\x01\x00", 3);
		break;
	case BAD_LEFTOVER:
		tb_raw_section(b, CT_SEC_STRINGS,
			       "\x01\x07\x01"
			       "a"
			       "\x00",
			       5);
		break;
	case BAD_VARINT:
		/* thread 1, base 0, 1 event: type 6, an unterminated delta. */
		tb_raw_section(b, CT_SEC_BATCH, "\x01\x00\x01\x06\xff", 5);
		break;
	case BAD_BYTES:
		/* A log whose message claims 100 bytes. */
		tb_raw_section(b, CT_SEC_BATCH, "\x01\x00\x01\x07\x00\x04\x64xx", 9);
		break;
	case BAD_SECTION_LEN:
		tb_uv(&raw, 1000);
		tb_raw_section(b, 3, NULL, 0);
		b->extra.len -= 1; /* replace the length 0 with 1000 */
		tb_bytes(&b->extra, raw.p, raw.len);
		break;
	default:
		break;
	}
	free(raw.p);
	tb_gen_end(b, which == BAD_ZSTD);
	uint8_t *h = b->out.p + g2;
	if (which == BAD_FRAME_FLAGS) {
		ct_put_u32le(h + 4, 2);
		fix_frame_crc(h);
	} else if (which == BAD_RAW_SIZE) {
		ct_put_u32le(h + 16, 65u << 20);
		ct_put_u32le(h + 20, 65u << 20);
		fix_frame_crc(h);
	} else if (which == BAD_ZSTD) {
		ct_put_u32le(h + 20, ct_get_u32le(h + 20) + 1);
		fix_frame_crc(h);
	}
	/* A third, good generation that must not be reached. */
	sample_gen(b, 3, 0, 0);
	tb_end(b, 0, 0, 3);
}

static void test_validation_rules(void **state)
{
	(void)state;
	struct tb good;
	tb_init(&good);
	sample_gen(&good, 1, 0, 0);
	struct readout ref;
	read_all(good.out.p, good.out.len, CT_ORDER_TIME, &ref);
	assert_int_equal(ref.ngens, 1);
	size_t g2 = good.out.len;
	tb_free(&good);

	for (int which = 0; which < BAD_COUNT_OF_CASES; which++) {
		struct tb b;
		build_bad(&b, which);
		for (int order = 0; order < 2; order++) {
			struct readout o;
			read_all(b.out.p, b.out.len, order, &o);
			if (o.rc != bad_expect[which].err || !strstr(o.msg, bad_expect[which].msg))
				fail_msg("case %d: rc %d, message \"%s\", want \"%s\"", which, o.rc,
					 o.msg, bad_expect[which].msg);
			assert_int_equal(o.ngens, 1);
			if (order == 0)
				assert_int_equal(o.digest[0], ref.digest[0]);
			assert_true(msg_offset(o.msg) >= (long long)g2);
			assert_non_null(strstr(o.msg, "generation 2 at byte"));
			assert_complete_count(o.msg, 1);
			assert_int_equal(o.complete, 0);
		}
		tb_free(&b);
	}
}

/* The error is sticky and ct_reader_next reports it after the events. */
static void test_error_after_events(void **state)
{
	(void)state;
	struct tb b;
	build_bad(&b, BAD_STRING_ID);
	ct_reader *r;
	assert_int_equal(ct_reader_open_mem(b.out.p, b.out.len, &r), 0);
	struct ct_event ev;
	int n = 0, rc;
	while ((rc = ct_reader_next(r, &ev)) == 1)
		n++;
	assert_int_equal(n, SAMPLE_EVENTS_PER_GEN);
	assert_int_equal(rc, CT_EFORMAT);
	assert_int_equal(ct_reader_next(r, &ev), CT_EFORMAT);
	const struct ct_generation *g;
	assert_int_equal(ct_reader_next_generation(r, &g), CT_EFORMAT);
	assert_int_equal(ct_reader_next_in_generation(r, &ev), 0);
	ct_reader_close(r);
	tb_free(&b);
}

/* ---- truncation and corruption ------------------------------------------ */

#define NG 3

struct sample {
	struct tb b;
	size_t bounds[NG + 1];
	size_t header_len;
	struct readout ref[2];
};

static void sample_build(struct sample *s, int compress)
{
	sample_trace(&s->b, NG, 1, compress, 1, s->bounds);
	s->header_len = s->bounds[0];
	for (int order = 0; order < 2; order++) {
		read_all(s->b.out.p, s->b.out.len, order, &s->ref[order]);
		assert_int_equal(s->ref[order].rc, 0);
		assert_int_equal(s->ref[order].ngens, NG);
		assert_int_equal(s->ref[order].complete, 1);
	}
}

/* Generations before k came back exactly as from the undamaged file. */
static void assert_prefix(const struct sample *s, const struct readout *o, enum ct_order order,
			  unsigned k)
{
	for (unsigned i = 0; i < k && i < o->ngens; i++)
		assert_int_equal(o->digest[i], s->ref[order].digest[i]);
}

static void truncate_all(int compress)
{
	struct sample s;
	sample_build(&s, compress);
	size_t len = s.b.out.len;
	for (size_t cut = 0; cut < len; cut++) {
		enum ct_order order = cut & 1;
		struct readout o;
		read_all(s.b.out.p, cut, order, &o);
		if (cut < s.header_len) {
			assert_int_equal(o.open_rc, CT_ETRUNCATED);
			assert_non_null(strstr(o.msg, cut ? "truncated header" : "empty file"));
			continue;
		}
		unsigned whole = 0;
		while (whole < NG && s.bounds[whole + 1] <= cut)
			whole++;
		assert_int_equal(o.ngens, whole);
		assert_prefix(&s, &o, order, whole);
		assert_int_equal(o.complete, 0);
		if (whole < NG ? cut == s.bounds[whole] : cut == s.bounds[NG]) {
			/* Cut at a boundary: a clean but incomplete end. */
			if (o.rc != 0)
				fail_msg("cut %zu: %s", cut, o.msg);
			continue;
		}
		if (o.rc != CT_ETRUNCATED)
			fail_msg("cut %zu: rc %d %s", cut, o.rc, o.msg);
		char want[96];
		if (whole == NG && cut >= s.bounds[NG] + 32)
			snprintf(want, sizeof(want), "truncated end frame at byte %zu",
				 s.bounds[NG]);
		else
			snprintf(want, sizeof(want), "truncated generation %u at byte %zu",
				 whole + 1, s.bounds[whole]);
		if (!strstr(o.msg, want))
			fail_msg("cut %zu: \"%s\" lacks \"%s\"", cut, o.msg, want);
		assert_complete_count(o.msg, whole);
	}
	/* The whole file: complete. */
	struct readout o;
	read_all(s.b.out.p, len, CT_ORDER_TIME, &o);
	assert_int_equal(o.complete, 1);
	tb_free(&s.b);
}

static void test_truncate_every_byte(void **state)
{
	(void)state;
	truncate_all(0);
	truncate_all(1);
}

/* Which generation (0-based, NG = the end frame) holds byte `off`. */
static unsigned gen_at(const struct sample *s, size_t off)
{
	unsigned k = 0;
	while (k < NG && s->bounds[k + 1] <= off)
		k++;
	return k;
}

static void corrupt_all(int compress, int fixup)
{
	struct sample s;
	sample_build(&s, compress);
	size_t len = s.b.out.len;
	uint8_t *buf = malloc(len);
	static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x10};
	unsigned errors = 0, survivors = 0;
	for (size_t off = 0; off < len; off++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			enum ct_order order = (off + f) & 1;
			memcpy(buf, s.b.out.p, len);
			buf[off] ^= flips[f];
			unsigned k = gen_at(&s, off);
			size_t start = k < NG ? s.bounds[k] : s.bounds[NG];
			if (fixup && off >= s.header_len) {
				uint8_t *h = buf + start;
				size_t hdr_end = start + 28;
				if (off >= hdr_end && off < start + 32)
					continue; /* the header CRC itself */
				if (off >= start + 32) {
					size_t n = ct_get_u32le(h + 16);
					if (start + 32 + n <= len)
						ct_put_u32le(h + 24,
							     (uint32_t)crc32(0, h + 32, (uInt)n));
				}
				fix_frame_crc(h);
			}
			struct readout o;
			read_all(buf, len, order, &o);
			if (off < s.header_len) {
				/* The header CRC catches every single-byte change. */
				assert_true(o.open_rc < 0);
				assert_true(strstr(o.msg, "header") || strstr(o.msg, "version"));
				continue;
			}
			assert_prefix(&s, &o, order, k);
			if (o.rc == 0) {
				/* Only possible when checksums were fixed: the damage
				 * still made a valid trace (a changed name, say). */
				assert_true(fixup);
				assert_true(o.ngens >= k);
				survivors++;
				continue;
			}
			errors++;
			/* With checksums fixed, damage can leave generation k valid
			 * (a changed name) and hit a later one instead. */
			if (fixup ? o.ngens < k : o.ngens != k)
				fail_msg(
					"off %zu flip %x: %u generations before error, want %u: %s",
					off, flips[f], o.ngens, k, o.msg);
			long long at = msg_offset(o.msg);
			if (at < (long long)start)
				fail_msg("off %zu: message names byte %lld before generation start "
					 "%zu: %s",
					 off, at, start, o.msg);
			assert_complete_count(o.msg, o.ngens);
		}
	}
	assert_true(errors > 0);
	if (!fixup)
		assert_int_equal(survivors, 0);
	free(buf);
	tb_free(&s.b);
}

static void test_corrupt_every_byte(void **state)
{
	(void)state;
	corrupt_all(0, 0);
	corrupt_all(1, 0);
}

static void test_corrupt_checksums_fixed(void **state)
{
	(void)state;
	corrupt_all(0, 1);
	corrupt_all(1, 1);
}

/* Pseudo-random multi-byte damage with fixed checksums: a cheap in-tree
 * fuzzer for paths single flips do not reach. */
static void test_random_damage(void **state)
{
	(void)state;
	struct sample s;
	sample_build(&s, 0);
	size_t len = s.b.out.len;
	uint8_t *buf = malloc(len);
	uint64_t seed = 7;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(buf, s.b.out.p, len);
		unsigned k = (unsigned)(iter % NG);
		size_t start = s.bounds[k], end = s.bounds[k + 1];
		int nflip = 1 + iter % 6;
		for (int i = 0; i < nflip; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			size_t off = start + 32 + (size_t)((seed >> 33) % (end - start - 32));
			buf[off] = (uint8_t)(seed >> 13);
		}
		ct_put_u32le(buf + start + 24,
			     (uint32_t)crc32(0, buf + start + 32, (uInt)(end - start - 32)));
		struct readout o;
		read_all(buf, len, iter & 1, &o);
		assert_prefix(&s, &o, iter & 1, k);
		if (o.rc < 0) {
			assert_true(o.ngens >= k);
			assert_true(msg_offset(o.msg) >= (long long)start);
			assert_complete_count(o.msg, o.ngens);
		}
	}
	free(buf);
	tb_free(&s.b);
}

/* The multiply-shift division against the hardware for many divisors. */
static void test_udiv(void **state)
{
	(void)state;
	uint64_t seed = 1;
	static const uint64_t fixed[] = {1,
					 2,
					 3,
					 7,
					 10,
					 1000000000,
					 2500000000ull,
					 2994374000ull,
					 (1ull << 63) + 1,
					 UINT64_MAX,
					 UINT64_MAX - 1,
					 1ull << 40};
	for (int k = 0; k < 2000; k++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t d = k < 12 ? fixed[k] : seed >> (seed & 63);
		if (!d)
			d = 1;
		struct udiv u;
		rdr_udiv_init(&u, d);
		for (int i = 0; i < 200; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t n = i < 4 ? (uint64_t[]){0, d - 1, d, UINT64_MAX}[i]
					   : seed >> (seed % 64);
			if (udiv_do(&u, n) != n / d)
				fail_msg("%llu / %llu", (unsigned long long)n,
					 (unsigned long long)d);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udiv),
		cmocka_unit_test(test_validation_rules),
		cmocka_unit_test(test_error_after_events),
		cmocka_unit_test(test_truncate_every_byte),
		cmocka_unit_test(test_corrupt_every_byte),
		cmocka_unit_test(test_corrupt_checksums_fixed),
		cmocka_unit_test(test_random_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
