/* The annotation API: tasks, regions and logs. Each function is one hot path:
 * check the capture, take a timestamp, append a few varints to the thread's
 * chunk, publish. No lock, no syscall, no allocation. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "record/intern.h"
#include "record/logfmt.h"
#include "record/rec.h"
#include "record/stacks.h"

/* Frame 0 of a stack is the caller of the function, so these keep a
 * frame of their own. */
#define NOINLINE __attribute__((noinline))

ct_name ct_intern(const char *s)
{
	return intern(s);
}

/* The id of the caller's stack from frame; 0 when none could be taken. */
static __attribute__((noinline)) uint32_t stack_of(struct tls *t, void *frame)
{
	uint64_t pcs[STACK_MAX_DEPTH];
	struct trec *r = t->rec;
	uint64_t h;
	int n = stack_walk(frame, r->stack_lo, r->stack_hi, pcs, t->stack_depth, &h);
	return n ? stack_id_cached(r->stack_cache, STACK_CACHE_BITS, pcs, n, h) : 0;
}

/* Captures the caller's stack; the id goes after the event's arguments and
 * bit 7 of its type byte says it is there. Out of line, so that the
 * stackless hot paths keep a small frame. */
static uint8_t *stack_slow(struct tls *t, uint8_t *type_byte, uint8_t *p, void *frame)
{
	uint32_t id = stack_of(t, frame);
	if (!id)
		return p;
	*type_byte |= CT_TYPE_STACK_BIT;
	return ct_put_uvarint(p, id);
}

static inline __attribute__((always_inline)) uint8_t *
put_stack(struct tls *t, unsigned kind, uint8_t *type_byte, uint8_t *p, void *frame)
{
	if (likely(!(t->stack_mask & kind)))
		return p;
	return stack_slow(t, type_byte, p, frame);
}

uint32_t call_stack_now(struct tls *t, void *frame)
{
	return t->stack_mask & CT_STACK_WAIT ? stack_of(t, frame) : 0;
}

/* ---- tasks ---- */

static ct_task next_task_id(struct tls *t)
{
	static _Atomic uint64_t blocks;
	if (unlikely(t->task_next == t->task_end)) {
		uint64_t b = atomic_fetch_add_explicit(&blocks, 1, memory_order_relaxed);
		t->task_next = b * 256 + 1;
		t->task_end = t->task_next + 256;
	}
	return t->task_next++;
}

static void push_task(struct tls *t, ct_task id)
{
	if (t->ntasks < sizeof t->tasks / sizeof t->tasks[0])
		t->tasks[t->ntasks++] = id;
	else /* deeper than anyone nests: keep the newest on top */
		t->tasks[t->ntasks - 1] = id;
}

static void remove_task(struct tls *t, ct_task id)
{
	for (uint32_t i = t->ntasks; i-- > 0;) {
		if (t->tasks[i] == id) {
			memmove(&t->tasks[i], &t->tasks[i + 1],
				(t->ntasks - i - 1) * sizeof(ct_task));
			t->ntasks--;
			return;
		}
	}
}

static inline void emit_task(uint8_t type, ct_task id, ct_name tname, ct_task parent, void *frame)
{
	struct tls *t = ev_begin();
	if (!t)
		return;
	uint8_t *tb;
	uint8_t *p = ev_head(t, type, 0, &tb);
	if (!p)
		return;
	p = ct_put_uvarint(p, id);
	if (type == CT_EV_TASK_BEGIN) {
		p = ct_put_uvarint(p, tname);
		p = ct_put_uvarint(p, parent);
	}
	p = put_stack(t, CT_STACK_TASK, tb, p, frame);
	ev_commit(t, p);
}

NOINLINE ct_task ct_task_begin_n(ct_name type, ct_task parent)
{
	struct tls *t = &ct_tls;
	ct_task id = next_task_id(t);
	push_task(t, id);
	emit_task(CT_EV_TASK_BEGIN, id, type, parent, __builtin_frame_address(0));
	return id;
}

NOINLINE ct_task ct_task_begin(const char *type, ct_task parent)
{
	struct tls *t = &ct_tls;
	ct_task id = next_task_id(t);
	push_task(t, id);
	emit_task(CT_EV_TASK_BEGIN, id, intern(type), parent, __builtin_frame_address(0));
	return id;
}

NOINLINE void ct_task_end(ct_task id)
{
	if (!id)
		return;
	remove_task(&ct_tls, id);
	emit_task(CT_EV_TASK_END, id, 0, 0, __builtin_frame_address(0));
}

NOINLINE void ct_task_enter(ct_task id)
{
	if (!id)
		return;
	push_task(&ct_tls, id);
	emit_task(CT_EV_TASK_ENTER, id, 0, 0, __builtin_frame_address(0));
}

NOINLINE void ct_task_leave(ct_task id)
{
	if (!id)
		return;
	remove_task(&ct_tls, id);
	emit_task(CT_EV_TASK_LEAVE, id, 0, 0, __builtin_frame_address(0));
}

ct_task ct_task_current(void)
{
	struct tls *t = &ct_tls;
	return t->ntasks ? t->tasks[t->ntasks - 1] : 0;
}

/* ---- regions ---- */

/* The full path of a region begin: registration, a new chunk, a stack. */
static __attribute__((noinline)) void region_begin_full(ct_name name, void *frame)
{
	struct tls *t = ev_begin();
	if (!t)
		return;
	uint8_t *tb;
	uint8_t *p = ev_head(t, CT_EV_REGION_BEGIN, 0, &tb);
	if (!p)
		return;
	p = ct_put_uvarint(p, name);
	p = put_stack(t, CT_STACK_REGION, tb, p, frame);
	ev_commit(t, p);
}

NOINLINE void ct_region_begin_n(ct_name name)
{
	struct tls *t;
	uint8_t *p = ev_fast(&t, CT_EV_REGION_BEGIN, CT_STACK_REGION);
	if (unlikely(!p)) {
		if (atomic_load_explicit(&g_epoch, memory_order_relaxed) != EPOCH_INACTIVE)
			region_begin_full(name, __builtin_frame_address(0));
		return;
	}
	if (likely(name < 128))
		*p++ = (uint8_t)name;
	else
		p = ct_put_uvarint(p, name);
	ev_commit(t, p);
}

NOINLINE void ct_region_begin(const char *name)
{
	/* Not a tail call into ct_region_begin_n: the stack must start here. */
	struct tls *t = ev_begin();
	if (!t)
		return;
	ct_name n = intern(name);
	uint8_t *tb;
	uint8_t *p = ev_head(t, CT_EV_REGION_BEGIN, 0, &tb);
	if (!p)
		return;
	p = ct_put_uvarint(p, n);
	p = put_stack(t, CT_STACK_REGION, tb, p, __builtin_frame_address(0));
	ev_commit(t, p);
}

static __attribute__((noinline)) void region_end_full(void *frame)
{
	struct tls *t = ev_begin();
	if (!t)
		return;
	uint8_t *tb;
	uint8_t *p = ev_head(t, CT_EV_REGION_END, 0, &tb);
	if (!p)
		return;
	p = put_stack(t, CT_STACK_REGION, tb, p, frame);
	ev_commit(t, p);
}

NOINLINE void ct_region_end(void)
{
	struct tls *t;
	uint8_t *p = ev_fast(&t, CT_EV_REGION_END, CT_STACK_REGION);
	if (unlikely(!p)) {
		if (atomic_load_explicit(&g_epoch, memory_order_relaxed) != EPOCH_INACTIVE)
			region_end_full(__builtin_frame_address(0));
		return;
	}
	ev_commit(t, p);
}

/* ---- waits ---- */

/* frame: where the stack starts; an interposer passes its own frame, so
 * that frame 0 is the program's call site, not the interposer. */
void wait_begin_at(unsigned reason, uint64_t object, uint64_t detail, void *frame)
{
	struct tls *t = ev_begin();
	if (!t)
		return;
	uint8_t *tb;
	uint8_t *p = ev_head(t, CT_EV_WAIT_BEGIN, 0, &tb);
	if (!p)
		return;
	p = ct_put_uvarint(p, reason);
	p = ct_put_uvarint(p, object);
	p = ct_put_uvarint(p, detail);
	p = put_stack(t, CT_STACK_WAIT, tb, p, frame);
	ev_commit(t, p);
}

/* Writes an event header at timestamp ts (not now): for a wait recorded
 * after the fact. A timestamp before the thread's last event is moved up to
 * it (a signal handler's event may have come in between). */
void call_record(struct trec *r, uint64_t t0, uint64_t t1, int64_t result, void *frame, int begin)
{
	struct tls *t = ev_begin();
	if (!t || t->rec != r) {
		if (t)
			ev_abort(t);
		return;
	}
	uint8_t *tb, *p;
	if (begin) {
		if (!(p = ev_head_at(t, CT_EV_WAIT_BEGIN, t0, &tb)))
			return;
		p = ct_put_uvarint(p, r->call_reason);
		p = ct_put_uvarint(p, r->call_object);
		p = ct_put_uvarint(p, r->call_detail);
		if (r->call_stack) { /* walked at the start: call_begin */
			*tb |= CT_TYPE_STACK_BIT;
			p = ct_put_uvarint(p, r->call_stack);
		} else {
			p = put_stack(t, CT_STACK_WAIT, tb, p, frame);
		}
		ev_commit(t, p);
		/* the end as its own event, so that a full chunk loses one, not both */
		if (!(t = ev_begin()))
			return;
	}
	p = ev_head_at(t, CT_EV_WAIT_END, t1, NULL);
	if (!p)
		return;
	p = ct_put_uvarint(p, ct_zigzag(result));
	ev_commit(t, p);
}

NOINLINE void ct_wait_begin(unsigned reason, uint64_t object, uint64_t detail)
{
	wait_begin_at(reason, object, detail, __builtin_frame_address(0));
}

NOINLINE void ct_wait_end(int64_t result)
{
	struct tls *t = ev_begin();
	if (!t)
		return;
	uint8_t *p = ev_head(t, CT_EV_WAIT_END, 0, NULL);
	if (!p)
		return;
	p = ct_put_uvarint(p, ct_zigzag(result));
	ev_commit(t, p);
}

/* ---- logs ---- */

/* Short messages are the common case; the inlined memcpy of an unknown
 * length became `rep movsq`, whose start-up cost doubled a log event. */
static inline void copy_msg(uint8_t *dst, const char *src, size_t n)
{
	if (n >= 16 && n <= 32) {
		uint64_t a[2], b[2];
		memcpy(a, src, 16);
		memcpy(b, src + n - 16, 16);
		memcpy(dst, a, 16);
		memcpy(dst + n - 16, b, 16);
	} else if (n >= 8 && n < 16) {
		uint64_t a, b;
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n < 8) {
		for (size_t i = 0; i < n; i++)
			dst[i] = (uint8_t)src[i];
	} else {
		memcpy(dst, src, n);
	}
}

static inline void emit_log(ct_name cat, const char *msg, size_t len, void *frame)
{
	static const char marker[] = "...";
	int cut = len > CT_LOG_MAX;
	size_t keep = cut ? CT_LOG_MAX - (sizeof marker - 1) : len;
	struct tls *t = ev_begin();
	if (!t)
		return;
	uint8_t *tb;
	uint8_t *p = ev_head(t, CT_EV_LOG, CT_LOG_MAX + 4, &tb);
	if (!p)
		return;
	p = ct_put_uvarint(p, cat);
	p = put_stack(t, CT_STACK_LOG, tb, p, frame);
	p = ct_put_uvarint(p, keep + (cut ? sizeof marker - 1 : 0));
	copy_msg(p, msg, keep);
	p += keep;
	if (cut) {
		memcpy(p, marker, sizeof marker - 1);
		p += sizeof marker - 1;
	}
	ev_commit(t, p);
}

NOINLINE void ct_log_n(ct_name category, const char *message, size_t len)
{
	emit_log(category, message ? message : "", message ? len : 0, __builtin_frame_address(0));
}

NOINLINE void ct_log(const char *category, const char *message)
{
	if (atomic_load_explicit(&g_epoch, memory_order_relaxed) == EPOCH_INACTIVE)
		return;
	if (!message)
		message = "";
	emit_log(intern(category), message, strnlen(message, CT_LOG_MAX + 1),
		 __builtin_frame_address(0));
}

/* Formats and emits a log of category cat (0: interned from category). */
static void logf_emit(ct_name cat, const char *category, void *frame, const char *fmt, va_list ap)
{
	char buf[CT_LOG_MAX + 1];
	va_list again;
	va_copy(again, ap);
	int n = logfmt(buf, sizeof buf, fmt, ap);
	if (n == LOGFMT_UNSUPPORTED)
		n = vsnprintf(buf, sizeof buf, fmt, again);
	va_end(again);
	if (n < 0)
		return;
	/* n > CT_LOG_MAX means vsnprintf cut it: emit_log adds the marker. */
	size_t len = (size_t)n;
	emit_log(cat ? cat : intern(category), buf, len > CT_LOG_MAX ? CT_LOG_MAX + 1 : len, frame);
}

NOINLINE void ct_logf(const char *category, const char *fmt, ...)
{
	if (atomic_load_explicit(&g_epoch, memory_order_relaxed) == EPOCH_INACTIVE)
		return;
	va_list ap;
	va_start(ap, fmt);
	logf_emit(0, category, __builtin_frame_address(0), fmt, ap);
	va_end(ap);
}

NOINLINE void ct_logf_n(ct_name category, const char *fmt, ...)
{
	if (atomic_load_explicit(&g_epoch, memory_order_relaxed) == EPOCH_INACTIVE)
		return;
	va_list ap;
	va_start(ap, fmt);
	logf_emit(category, NULL, __builtin_frame_address(0), fmt, ap);
	va_end(ap);
}
