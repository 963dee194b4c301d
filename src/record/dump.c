/* Flight-recorder dumps: the window written as a standalone trace with
 * what triggered it in its header, the pending trigger (one slot, filled
 * from any thread or signal handler), and triggered dumps into the dump
 * directory with their cooldown and retention. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "record/crash.h"
#include "record/dumplog.h"
#include "record/flight.h"
#include "record/rec.h"
#include "record/watch.h"
#include "record/writer_int.h"

/* One pending trigger at a time: 0 free, 1 being filled, 2 ready. Set from
 * any thread or signal handler, taken by the writer at its next round. */
static _Atomic int trig_state;
static struct dump_trigger trig_pending;
static _Atomic uint64_t trig_dropped; /* since the capture started */
static _Atomic int triggers_on;
/* The crash's own slot (crash.h CRASH_*): a crash is never dropped for a
 * pending trigger or the cooldown. */
static _Atomic int crash_state;
static struct dump_trigger crash_pending;

/* Header metadata: key/value pairs, values formatted into owned slots. */
struct kv {
	const char *k[40];
	const char *v[40];
	char vals[40][32];
	int n;
};

static void kv_str(struct kv *m, const char *k, const char *v)
{
	if (m->n < 40 && v && *v) {
		m->k[m->n] = k;
		m->v[m->n] = v;
		m->n++;
	}
}

static void kv_u64(struct kv *m, const char *k, uint64_t v)
{
	if (m->n < 40) {
		snprintf(m->vals[m->n], sizeof m->vals[0], "%llu", (unsigned long long)v);
		kv_str(m, k, m->vals[m->n]);
	}
}

static uint64_t last_dump_seq; /* writer thread: the dumplog entry of the last dump */

/* Writes the window's frames to fd, oldest first, compressing those the
 * window kept uncompressed (writer.c keep_raw); adds the bytes written to
 * *size. Frames next to each other that need no change go out in one
 * write. */
static int write_frames(struct writer *w, int fd, uint64_t *size)
{
	const void *fp;
	size_t flen, i = 0;
	const uint8_t *run = NULL;
	size_t run_len = 0;
	int rc = 0;
	for (; !rc && flight_frame(w->flight, i, &fp, &flen) == 0; i++) {
		const uint8_t *f = fp;
		size_t zn = 0;
		if (flen > CT_GEN_HEADER_SIZE && ct_get_u32le(f + 4) == 0)
			zn = writer_zcompress(w, f + CT_GEN_HEADER_SIZE, flen - CT_GEN_HEADER_SIZE,
					      NULL, 0);
		if (!zn) {
			if (run && run + run_len == f) {
				run_len += flen;
			} else {
				if (run)
					rc = fd_write_all(fd, run, run_len);
				run = f;
				run_len = flen;
			}
			*size += flen;
			continue;
		}
		if (run)
			rc = fd_write_all(fd, run, run_len);
		run = NULL;
		uint8_t h[CT_GEN_HEADER_SIZE];
		frame_header(h, CT_GEN_MAGIC, CT_GEN_FLAG_ZSTD, ct_get_u64le(f + 8), (uint32_t)zn,
			     (uint32_t)(flen - CT_GEN_HEADER_SIZE),
			     (uint32_t)crc32(0, w->zbuf, (uInt)zn));
		if (!rc)
			rc = fd_write_all(fd, h, sizeof h);
		if (!rc)
			rc = fd_write_all(fd, w->zbuf, zn);
		*size += sizeof h + zn;
	}
	if (!rc && run)
		rc = fd_write_all(fd, run, run_len);
	return rc;
}

/* Writes the window as a trace: a header saying what the window holds and
 * why it was written, its generations, an end frame. The current
 * generation was just cut. */
int write_dump(struct writer *w, int fd, const struct dump_trigger *t)
{
	struct flight_window fw;
	flight_window(w->flight, &fw);
	uint64_t now = mono_ns();
	/* the size cap cut the history short of min_age when it dropped data
	 * younger than that */
	int capped = fw.evicted_until_ns && fw.evicted_until_ns + w->cfg.flight_min_age_ns > now;
	struct kv m = {.n = 0};
	kv_u64(&m, "flight.min_age_ns", w->cfg.flight_min_age_ns);
	kv_u64(&m, "flight.max_bytes", w->cfg.flight_max_bytes);
	kv_u64(&m, "dump.window_ns", fw.max_ns > fw.min_ns ? fw.max_ns - fw.min_ns : 0);
	kv_str(&m, "dump.size_capped", capped ? "1" : "0");
	kv_u64(&m, "dump.time_ns", now);
	kv_str(&m, "dump.reason", t->reason[0] ? t->reason : "manual");
	kv_u64(&m, "dump.triggers_dropped", atomic_load(&trig_dropped));
	kv_str(&m, "trigger.kind", t->kind);
	if (t->task) {
		kv_u64(&m, "trigger.task", t->task);
		kv_str(&m, "trigger.task_type", t->task_type);
		if (t->task_begin_ns) {
			kv_u64(&m, "trigger.task_begin_ns", t->task_begin_ns);
			kv_str(&m, "trigger.task_begin_in_window",
			       fw.events && t->task_begin_ns >= fw.min_ns ? "1" : "0");
		}
	} else {
		kv_str(&m, "trigger.task_type", t->task_type);
	}
	if (t->threshold_ns)
		kv_u64(&m, "trigger.threshold_ns", t->threshold_ns);
	if (t->observed_ns)
		kv_u64(&m, "trigger.observed_ns", t->observed_ns);
	if (t->percentile)
		kv_u64(&m, "trigger.percentile", t->percentile);
	if (t->count)
		kv_u64(&m, "trigger.count", t->count);
	if (t->signal)
		kv_u64(&m, "trigger.signal", (uint64_t)t->signal);
	kv_str(&m, "trigger.detail", t->detail);
	if (!strcmp(t->kind, "crash"))
		kv_str(&m, "dump.crash_path", "writer"); /* crash.c writes "handler" */
	const char *extra[80];
	for (int i = 0; i < m.n; i++) {
		extra[2 * i] = m.k[i];
		extra[2 * i + 1] = m.v[i];
	}
	struct buf hb = {0};
	int rc = build_header(w, &hb, extra, 2 * m.n);
	if (rc == 0)
		rc = fd_write_all(fd, hb.p, hb.len);
	uint64_t size = hb.len + CT_GEN_HEADER_SIZE; /* for the status page */
	buf_free(&hb);
	if (rc == 0)
		rc = write_frames(w, fd, &size);
	if (rc == 0) {
		struct buf b = {0};
		buf_uv(&b, fw.events);
		buf_uv(&b, 0);
		buf_uv(&b, fw.frames);
		uint8_t h[CT_GEN_HEADER_SIZE];
		frame_header(h, "CTEN", 0, fw.frames, (uint32_t)b.len, (uint32_t)b.len,
			     (uint32_t)crc32(0, b.p, (uInt)b.len));
		rc = b.oom ? -ENOMEM : fd_write_all(fd, h, sizeof h);
		if (rc == 0)
			rc = fd_write_all(fd, b.p, b.len);
		size += b.len;
		buf_free(&b);
	}
	last_dump_seq = dumplog_add(t->reason[0] ? t->reason : "manual", t->kind, size,
				    fw.max_ns > fw.min_ns ? fw.max_ns - fw.min_ns : 0, rc);
	return rc;
}

/* ---- triggered dumps (ct_flight_trigger) ---- */

void triggers_enable(int on)
{
	if (on)
		atomic_store(&trig_dropped, 0);
	atomic_store(&triggers_on, on);
	if (!on) {
		atomic_store(&trig_state, 0);
		atomic_store(&crash_state, CRASH_NONE);
		crash_disarm(); /* the window is about to go */
	}
}

/* Keeps letters, digits, '-' and '_' of s, at most cap - 1 of them. */
static size_t clean_name(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (const char *c = s ? s : ""; *c && n < cap - 1; c++)
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_')
			out[n++] = *c;
	out[n] = 0;
	return n;
}

int writer_trigger_ex(const struct dump_trigger *t)
{
	if (!atomic_load(&triggers_on))
		return CT_ENOTRUNNING;
	int expect = 0;
	if (!atomic_compare_exchange_strong(&trig_state, &expect, 1)) {
		atomic_fetch_add(&trig_dropped, 1); /* one is pending already */
		return 0;
	}
	trig_pending = *t;
	if (clean_name(trig_pending.reason, sizeof trig_pending.reason, t->reason) == 0)
		memcpy(trig_pending.reason, "manual", 7);
	trig_pending.kind[sizeof trig_pending.kind - 1] = 0;
	trig_pending.task_type[sizeof trig_pending.task_type - 1] = 0;
	trig_pending.detail[sizeof trig_pending.detail - 1] = 0;
	atomic_store_explicit(&trig_state, 2, memory_order_release);
	return 0;
}

int writer_crash_request(const struct dump_trigger *t)
{
	if (!atomic_load(&triggers_on))
		return CT_ENOTRUNNING;
	int expect = CRASH_NONE;
	if (!atomic_compare_exchange_strong(&crash_state, &expect, CRASH_FILLING))
		return CT_ENOTRUNNING; /* one crash dump per capture */
	crash_pending = *t;
	atomic_store_explicit(&crash_state, CRASH_ASKED, memory_order_release);
	return 0;
}

int writer_crash_state(void)
{
	return atomic_load_explicit(&crash_state, memory_order_acquire);
}

int writer_trigger(const char *reason)
{
	struct dump_trigger t;
	memset(&t, 0, sizeof t);
	clean_name(t.reason, sizeof t.reason, reason);
	memcpy(t.kind, "api", 4);
	return writer_trigger_ex(&t);
}

int trigger_take(struct writer *w, struct dump_trigger *t)
{
	crash_prepare(w);
	uint64_t now = mono_ns();
	if (atomic_load_explicit(&crash_state, memory_order_acquire) == CRASH_ASKED) {
		*t = crash_pending; /* before any other, whatever the cooldown */
		atomic_store(&crash_state, CRASH_WRITING);
		w->last_trigger_ns = now;
		dump_cooldown_note(now);
		return 1;
	}
	if (atomic_load_explicit(&trig_state, memory_order_acquire) != 2)
		return 0;
	int take = 0;
	/* the cooldown is shared with the admin endpoint's dumps (dumplog.h) */
	if (dump_cooldown_take(now, NULL, NULL)) {
		*t = trig_pending;
		w->last_trigger_ns = now;
		take = 1;
	} else {
		atomic_fetch_add(&trig_dropped, 1);
	}
	atomic_store_explicit(&trig_state, 0, memory_order_release);
	return take;
}

struct dumpfile {
	char name[256];
	uint64_t size;
	struct timespec mtime;
};

static int cmp_dumpfile(const void *a, const void *b)
{
	const struct dumpfile *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Removes the program's oldest dumps in the directory beyond the limits
 * (never the newest one). */
static void retention(struct writer *w, const char *prefix)
{
	DIR *d = opendir(w->dump_dir);
	if (!d)
		return;
	struct dumpfile *f = NULL;
	size_t n = 0, cap = 0;
	size_t plen = strlen(prefix);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l <= plen + 7 || strncmp(e->d_name, prefix, plen) ||
		    strcmp(e->d_name + l - 7, ".ctrace") || l >= sizeof f->name)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct dumpfile *nf = realloc(f, nc * sizeof *nf);
			if (!nf)
				break;
			f = nf;
			cap = nc;
		}
		memcpy(f[n].name, e->d_name, l + 1);
		f[n].size = (uint64_t)st.st_size;
		f[n].mtime = st.st_mtim;
		n++;
	}
	if (n) {
		qsort(f, n, sizeof *f, cmp_dumpfile);
		uint64_t total = 0;
		for (size_t i = 0; i < n; i++)
			total += f[i].size;
		for (size_t i = 0; i + 1 < n; i++) {
			if (n - i <= w->cfg.dump_max_files && total <= w->cfg.dump_max_bytes)
				break;
			if (unlinkat(dirfd(d), f[i].name, 0) == 0)
				total -= f[i].size;
		}
	}
	free(f);
	closedir(d);
}

/* Writes a triggered dump into the dump directory. */
static int write_triggered(struct writer *w, const struct dump_trigger *t)
{
	char prefix[96], name[512], tmp[600], stamp[32];
	snprintf(prefix, sizeof prefix, "%s-%d-", program_invocation_short_name, (int)getpid());
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
	snprintf(name, sizeof name, "%s/%s%s.%03ldZ-%llu-%s.ctrace", w->dump_dir, prefix, stamp,
		 now.tv_nsec / 1000000, (unsigned long long)++w->dump_serial, t->reason);
	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_dump(w, fd, t);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, name) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	dumplog_set_file(last_dump_seq, name);
	retention(w, prefix);
	notify_dump(name, t->reason); /* ct_config.on_dump */
	return 0;
}

void triggered_dump(struct writer *w, const struct dump_trigger *t)
{
	int rc = write_triggered(w, t);
	if (!strcmp(t->kind, "crash")) {
		/* the crashing thread waits for this (crash.c) */
		int expect = CRASH_WRITING;
		atomic_compare_exchange_strong(&crash_state, &expect,
					       rc == 0 ? CRASH_WRITTEN : CRASH_FAILED);
	}
}
