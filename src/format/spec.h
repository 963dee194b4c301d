/* The event spec table and the wire constants of the trace format (see
 * docs/FORMAT.md). One table drives the encoder, the writer's scan, the
 * reader and the file header, so a new event kind is one line here. */
#ifndef CT_FORMAT_SPEC_H
#define CT_FORMAT_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "ctrace_events.h"
#include "varint.h"

#define CT_FORMAT_MAGIC                                                                            \
	"\x7f"                                                                                     \
	"CTRACE\n" /* 8 bytes */
#define CT_FORMAT_MAGIC_LEN 8
#define CT_FORMAT_MAJOR	    1
#define CT_FORMAT_MINOR	    4

/* Generation frame header: 32 bytes. */
#define CT_GEN_MAGIC	   "CTGN"
#define CT_GEN_HEADER_SIZE 32
#define CT_GEN_FLAG_ZSTD   0x1u
/* A reader refuses generations whose decoded payload is larger than this:
 * it bounds the reader's memory whatever the file claims. */
#define CT_GEN_MAX_RAW (64u << 20)

/* Sections inside a generation payload: u8 kind, uvarint length, body. */
enum ct_section {
	CT_SEC_CLOCK = 1,
	CT_SEC_THREADS = 2,
	CT_SEC_STRINGS = 3,
	CT_SEC_LOCATIONS = 4,
	CT_SEC_STACKS = 5,
	CT_SEC_MAPPINGS = 6,
	CT_SEC_LOSS = 7,
	CT_SEC_BATCH = 8,
	CT_SEC_META = 9,
};

/* What an argument means, so a reader can resolve arguments of event kinds
 * it does not know. */
enum ct_arg_kind {
	CT_ARG_UINT = 0,
	CT_ARG_STRING = 1,   /* id in the generation's string table, 0 = none */
	CT_ARG_TASK = 2,     /* task id, 0 = none */
	CT_ARG_DURATION = 3, /* clock ticks */
	CT_ARG_THREAD = 4,   /* thread index, 0 = none */
	CT_ARG_ADDR = 5,     /* an address */
	CT_ARG_STACK = 6,    /* stack id, 0 = none */
	CT_ARG_INT = 7,	     /* a signed integer, zigzag-encoded (format 1.1) */
};

/* Spec flags. */
#define CT_SPEC_BYTES	   0x1u /* a length-prefixed byte string follows the args */
#define CT_SPEC_STACK_ABLE 0x2u /* may carry a stack (type byte bit 7) */

#define CT_TYPE_STACK_BIT 0x80u
#define CT_TYPE_MASK	  0x7fu
#define CT_MAX_ARGS	  6

struct ct_spec {
	uint8_t type;
	uint8_t argc;
	uint8_t flags;
	const char *name;
	uint8_t args[CT_MAX_ARGS]; /* enum ct_arg_kind */
};

/* Indexed by type; entries with name == NULL are unused. */
extern const struct ct_spec ct_spec_table[CT_EV_TYPE_COUNT];

/* Worst-case encoded size of an event without its byte string:
 * type + delta + args + stack id + byte-string length. */
#define CT_EVENT_MAX_FIXED (1 + CT_VARINT_MAX * (2 + CT_MAX_ARGS + 1))

/* Serialises the spec table as it appears in the file header (see
 * docs/FORMAT.md). Returns bytes written, or the size needed if cap is
 * too small (nothing written then). */
size_t ct_spec_encode(uint8_t *out, size_t cap);

#endif
