/* Traced lock, condition variable, semaphore, join and barrier calls. Locks
 * and semaphores record only when contended: a try first, and a wait only
 * when it fails, naming the holder from glibc's lock word. */
#include <errno.h>

#include "intercept/intercept.h"

__thread int ic_guard __attribute__((tls_model("initial-exec")));

/* Records the wait, calls the real blocking function, records its result;
 * errno is the real call's. */
#define TRACED_WAIT(reason, object, detail, frame, call)                                           \
	({                                                                                         \
		int e0_ = errno;                                                                   \
		wait_begin_at((reason), (uint64_t)(uintptr_t)(object), (detail), (frame));         \
		errno = e0_;                                                                       \
		int rc_ = (call);                                                                  \
		int e_ = errno;                                                                    \
		ct_wait_end(rc_);                                                                  \
		errno = e_;                                                                        \
		rc_;                                                                               \
	})

/* glibc keeps the holder's kernel tid in the lock (DESIGN.md): read only on
 * the contended path, racy by nature, 0 when the lock was just released. */
static uint64_t mutex_holder(const pthread_mutex_t *m)
{
#ifdef __GLIBC__
	return (uint64_t)(uint32_t)__atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
#else
	(void)m;
	return 0;
#endif
}

static uint64_t rwlock_writer(const pthread_rwlock_t *l)
{
#ifdef __GLIBC__
	return (uint64_t)(uint32_t)__atomic_load_n(&l->__data.__cur_writer, __ATOMIC_RELAXED);
#else
	(void)l;
	return 0;
#endif
}

/* rc is the try's result (intercept.h), not 0. EOWNERDEAD (a robust lock
 * taken from a dead owner) is the answer the real lock gives too; EBUSY is
 * contention, or an error-checking mutex we hold (the real call says
 * EDEADLK); other errors come from the real call. */
int ic_mutex_lock_slow(int (*real)(pthread_mutex_t *), pthread_mutex_t *m, void *frame, int rc)
{
	if (rc == EOWNERDEAD)
		return rc;
	if (rc != EBUSY || !ic_enter())
		return real(m);
	rc = TRACED_WAIT(CT_WAIT_MUTEX, m, mutex_holder(m), frame, real(m));
	ic_leave();
	return rc;
}

int ic_mutex_timedlock(int (*real)(pthread_mutex_t *, const struct timespec *), pthread_mutex_t *m,
		       const struct timespec *ts, void *frame)
{
	if (!ic_enter())
		return real(m, ts);
	int rc = pthread_mutex_trylock(m);
	if (rc == EBUSY)
		rc = TRACED_WAIT(CT_WAIT_MUTEX, m, mutex_holder(m), frame, real(m, ts));
	else if (rc != 0 && rc != EOWNERDEAD)
		rc = real(m, ts);
	ic_leave();
	return rc;
}

/* The try variants of rwlocks report EBUSY for contention; EDEADLK and
 * EAGAIN (too many readers) come back from the real call too. */
static int rw_common(int (*trylock)(pthread_rwlock_t *), pthread_rwlock_t *l, unsigned reason,
		     void *frame, int (*real)(pthread_rwlock_t *),
		     int (*treal)(pthread_rwlock_t *, const struct timespec *),
		     const struct timespec *ts)
{
	int rc = trylock(l);
	if (rc == 0)
		return 0;
	if (rc != EBUSY)
		return real ? real(l) : treal(l, ts);
	return TRACED_WAIT(reason, l, rwlock_writer(l), frame, real ? real(l) : treal(l, ts));
}

/* The untimed locks try before anything else, as mutexes do: an
 * uncontended lock costs the try and no capture check. */
static int rw_untimed(int (*trylock)(pthread_rwlock_t *), pthread_rwlock_t *l, unsigned reason,
		      void *frame, int (*real)(pthread_rwlock_t *))
{
	int rc = trylock(l);
	if (likely(rc == 0))
		return 0;
	if (rc != EBUSY || !ic_enter())
		return real(l);
	rc = TRACED_WAIT(reason, l, rwlock_writer(l), frame, real(l));
	ic_leave();
	return rc;
}

int ic_rwlock_rdlock(int (*real)(pthread_rwlock_t *), pthread_rwlock_t *l, void *frame)
{
	return rw_untimed(pthread_rwlock_tryrdlock, l, CT_WAIT_RWLOCK_READ, frame, real);
}

int ic_rwlock_wrlock(int (*real)(pthread_rwlock_t *), pthread_rwlock_t *l, void *frame)
{
	return rw_untimed(pthread_rwlock_trywrlock, l, CT_WAIT_RWLOCK_WRITE, frame, real);
}

int ic_rwlock_timedrdlock(int (*real)(pthread_rwlock_t *, const struct timespec *),
			  pthread_rwlock_t *l, const struct timespec *ts, void *frame)
{
	if (!ic_enter())
		return real(l, ts);
	int rc = rw_common(pthread_rwlock_tryrdlock, l, CT_WAIT_RWLOCK_READ, frame, NULL, real, ts);
	ic_leave();
	return rc;
}

int ic_rwlock_timedwrlock(int (*real)(pthread_rwlock_t *, const struct timespec *),
			  pthread_rwlock_t *l, const struct timespec *ts, void *frame)
{
	if (!ic_enter())
		return real(l, ts);
	int rc =
		rw_common(pthread_rwlock_trywrlock, l, CT_WAIT_RWLOCK_WRITE, frame, NULL, real, ts);
	ic_leave();
	return rc;
}

/* Condition variables always record: the wait is for work, not for the
 * lock. The mutex re-acquired inside is glibc's internal path, not traced. */
int ic_cond_wait(int (*real)(pthread_cond_t *, pthread_mutex_t *), pthread_cond_t *c,
		 pthread_mutex_t *m, void *frame)
{
	if (!ic_enter())
		return real(c, m);
	int rc = TRACED_WAIT(CT_WAIT_CONDVAR, c, 0, frame, real(c, m));
	ic_leave();
	return rc;
}

int ic_cond_timedwait(int (*real)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *),
		      pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts, void *frame)
{
	if (!ic_enter())
		return real(c, m, ts);
	int rc = TRACED_WAIT(CT_WAIT_CONDVAR, c, 0, frame, real(c, m, ts));
	ic_leave();
	return rc;
}

/* Semaphores return -1/errno: the result recorded is -errno on failure. */
static int sem_result(int rc)
{
	int e = errno;
	ct_wait_end(rc < 0 ? -e : rc);
	errno = e;
	return rc;
}

int ic_sem_wait(int (*real)(sem_t *), sem_t *s, void *frame)
{
	if (!ic_enter())
		return real(s);
	int e = errno;
	int rc = sem_trywait(s);
	if (rc != 0 && errno == EAGAIN) {
		errno = e;
		wait_begin_at(CT_WAIT_SEMAPHORE, (uintptr_t)s, 0, frame);
		rc = sem_result(real(s));
	} else if (rc != 0) {
		rc = real(s); /* EINVAL and the like: the real call's own errno */
	}
	ic_leave();
	return rc;
}

int ic_sem_timedwait(int (*real)(sem_t *, const struct timespec *), sem_t *s,
		     const struct timespec *ts, void *frame)
{
	if (!ic_enter())
		return real(s, ts);
	int e = errno;
	int rc = sem_trywait(s);
	if (rc != 0 && errno == EAGAIN) {
		errno = e;
		wait_begin_at(CT_WAIT_SEMAPHORE, (uintptr_t)s, 0, frame);
		rc = sem_result(real(s, ts));
	} else if (rc != 0) {
		rc = real(s, ts);
	}
	ic_leave();
	return rc;
}

/* The joined thread's tid is not public (glibc keeps it in struct pthread,
 * whose layout changes between versions): the detail stays 0. */
int ic_join(int (*real)(pthread_t, void **), pthread_t th, void **ret, void *frame)
{
	if (!ic_enter())
		return real(th, ret);
	int rc = TRACED_WAIT(CT_WAIT_JOIN, th, 0, frame, real(th, ret));
	ic_leave();
	return rc;
}

int ic_barrier_wait(int (*real)(pthread_barrier_t *), pthread_barrier_t *b, void *frame)
{
	if (!ic_enter())
		return real(b);
	int rc = TRACED_WAIT(CT_WAIT_BARRIER, b, 0, frame, real(b));
	ic_leave();
	return rc;
}

/* ---- the clock variants (glibc 2.30+) and the timed joins ----
 * The same waits with the deadline on a chosen clock. glibc rejects a clock
 * other than CLOCK_REALTIME and CLOCK_MONOTONIC before trying the lock, so
 * those go straight to the real call: a try first would take the lock where
 * the real call says EINVAL. */
static int clock_ok(clockid_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC;
}

/* rwlocks and semaphores check the deadline up front as well. */
static int deadline_ok(clockid_t clk, const struct timespec *ts)
{
	return clock_ok(clk) && ts && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

int ic_mutex_clocklock(int (*real)(pthread_mutex_t *, clockid_t, const struct timespec *),
		       pthread_mutex_t *m, clockid_t clk, const struct timespec *ts, void *frame)
{
	if (!clock_ok(clk) || !ic_enter())
		return real(m, clk, ts);
	int rc = pthread_mutex_trylock(m);
	if (rc == EBUSY)
		rc = TRACED_WAIT(CT_WAIT_MUTEX, m, mutex_holder(m), frame, real(m, clk, ts));
	else if (rc != 0 && rc != EOWNERDEAD)
		rc = real(m, clk, ts);
	ic_leave();
	return rc;
}

static int rw_clock(int (*trylock)(pthread_rwlock_t *), unsigned reason,
		    int (*real)(pthread_rwlock_t *, clockid_t, const struct timespec *),
		    pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts, void *frame)
{
	if (!deadline_ok(clk, ts) || !ic_enter())
		return real(l, clk, ts);
	int rc = trylock(l);
	if (rc == EBUSY)
		rc = TRACED_WAIT(reason, l, rwlock_writer(l), frame, real(l, clk, ts));
	else if (rc != 0)
		rc = real(l, clk, ts);
	ic_leave();
	return rc;
}

int ic_rwlock_clockrdlock(int (*real)(pthread_rwlock_t *, clockid_t, const struct timespec *),
			  pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts,
			  void *frame)
{
	return rw_clock(pthread_rwlock_tryrdlock, CT_WAIT_RWLOCK_READ, real, l, clk, ts, frame);
}

int ic_rwlock_clockwrlock(int (*real)(pthread_rwlock_t *, clockid_t, const struct timespec *),
			  pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts,
			  void *frame)
{
	return rw_clock(pthread_rwlock_trywrlock, CT_WAIT_RWLOCK_WRITE, real, l, clk, ts, frame);
}

int ic_cond_clockwait(int (*real)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
				  const struct timespec *),
		      pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
		      const struct timespec *ts, void *frame)
{
	if (!ic_enter())
		return real(c, m, clk, ts);
	int rc = TRACED_WAIT(CT_WAIT_CONDVAR, c, 0, frame, real(c, m, clk, ts));
	ic_leave();
	return rc;
}

int ic_sem_clockwait(int (*real)(sem_t *, clockid_t, const struct timespec *), sem_t *s,
		     clockid_t clk, const struct timespec *ts, void *frame)
{
	if (!deadline_ok(clk, ts) || !ic_enter())
		return real(s, clk, ts);
	int e = errno;
	int rc = sem_trywait(s);
	if (rc != 0 && errno == EAGAIN) {
		errno = e;
		wait_begin_at(CT_WAIT_SEMAPHORE, (uintptr_t)s, 0, frame);
		rc = sem_result(real(s, clk, ts));
	} else if (rc != 0) {
		rc = real(s, clk, ts);
	}
	ic_leave();
	return rc;
}

/* pthread_tryjoin_np never blocks: not interposed. */
int ic_timedjoin(int (*real)(pthread_t, void **, const struct timespec *), pthread_t th, void **ret,
		 const struct timespec *ts, void *frame)
{
	if (!ic_enter())
		return real(th, ret, ts);
	int rc = TRACED_WAIT(CT_WAIT_JOIN, th, 0, frame, real(th, ret, ts));
	ic_leave();
	return rc;
}

int ic_clockjoin(int (*real)(pthread_t, void **, clockid_t, const struct timespec *), pthread_t th,
		 void **ret, clockid_t clk, const struct timespec *ts, void *frame)
{
	if (!ic_enter())
		return real(th, ret, clk, ts);
	int rc = TRACED_WAIT(CT_WAIT_JOIN, th, 0, frame, real(th, ret, clk, ts));
	ic_leave();
	return rc;
}
