/* The traced versions of the sync, I/O and sleep calls, shared by the
 * LD_PRELOAD library (preload/) and the link-time wrappers (wrap/): each is
 * given the real function and the caller's frame, so that the recorded stack
 * starts at the program's call site. Return values and errno are the real
 * call's. */
#ifndef CT_INTERCEPT_H
#define CT_INTERCEPT_H

#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "record/rec.h"

/* Set while the thread is inside an interposer: the tracer's own calls
 * (thread registration, stack walks) and signal handlers that interrupt a
 * traced call go straight to the real function. */
extern __thread int ic_guard __attribute__((tls_model("initial-exec")));

/* Enters the traced path: 1 when the call is to be recorded (guard taken),
 * 0 when the caller must just call the real function. The writer thread is
 * marked dead and never records. */
static inline int ic_enter(void)
{
	if (ic_guard || ct_tls.dead ||
	    atomic_load_explicit(&g_epoch, memory_order_relaxed) == EPOCH_INACTIVE)
		return 0;
	ic_guard = 1;
	return 1;
}

static inline void ic_leave(void)
{
	ic_guard = 0;
}

/* An empty barrier after the body's call keeps the interposer from turning
 * it into a tail call, which would free the frame that the stack walk
 * starts from. */
#define IC_NO_TAILCALL() __asm__ volatile("" ::: "memory")

/* For the interposer definitions (preload/ and wrap/): the recorded stack
 * starts at the definition's frame, which it keeps (no tail call), so that
 * frame 0 is the program's call site. */
#define FRAME __builtin_frame_address(0)
#define RET(expr)                                                                                  \
	do {                                                                                       \
		__typeof__(expr) r_ = (expr);                                                      \
		IC_NO_TAILCALL();                                                                  \
		return r_;                                                                         \
	} while (0)

/* fd kinds (fdkind.c): the wait reason of an fd, cached per fd (0 = not
 * known yet). A cache hit, the case of every traced call on an fd after
 * its first, is inlined into the traced call. */
#define FD_CACHE 65536
extern _Atomic uint8_t fd_kinds[FD_CACHE] CT_INTERNAL;
unsigned fd_reason_slow(int fd);
static inline unsigned fd_reason(int fd)
{
	if (likely((unsigned)fd < FD_CACHE)) {
		unsigned k = atomic_load_explicit(&fd_kinds[fd], memory_order_relaxed);
		if (likely(k))
			return k;
	}
	return fd_reason_slow(fd);
}
void fd_forget(int fd);
void fd_set_reason(int fd, unsigned reason);

/* ---- sync (sync.c) ---- */

/* An uncontended lock records nothing and is the hot case, so the try is
 * inlined into the interposer and is all it does: no guard, no capture
 * check, no saved registers beyond the mutex. Whatever else the try says
 * (busy, an error) goes to the out-of-line path with its result. */
int ic_mutex_lock_slow(int (*real)(pthread_mutex_t *), pthread_mutex_t *m, void *frame, int rc);
static inline int ic_mutex_lock(int (*real)(pthread_mutex_t *), pthread_mutex_t *m, void *frame)
{
	int rc = pthread_mutex_trylock(m);
	if (likely(rc == 0))
		return 0;
	return ic_mutex_lock_slow(real, m, frame, rc);
}
int ic_mutex_timedlock(int (*real)(pthread_mutex_t *, const struct timespec *), pthread_mutex_t *m,
		       const struct timespec *ts, void *frame);
int ic_rwlock_rdlock(int (*real)(pthread_rwlock_t *), pthread_rwlock_t *l, void *frame);
int ic_rwlock_wrlock(int (*real)(pthread_rwlock_t *), pthread_rwlock_t *l, void *frame);
int ic_rwlock_timedrdlock(int (*real)(pthread_rwlock_t *, const struct timespec *),
			  pthread_rwlock_t *l, const struct timespec *ts, void *frame);
int ic_rwlock_timedwrlock(int (*real)(pthread_rwlock_t *, const struct timespec *),
			  pthread_rwlock_t *l, const struct timespec *ts, void *frame);
int ic_cond_wait(int (*real)(pthread_cond_t *, pthread_mutex_t *), pthread_cond_t *c,
		 pthread_mutex_t *m, void *frame);
int ic_cond_timedwait(int (*real)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *),
		      pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts,
		      void *frame);
int ic_sem_wait(int (*real)(sem_t *), sem_t *s, void *frame);
int ic_sem_timedwait(int (*real)(sem_t *, const struct timespec *), sem_t *s,
		     const struct timespec *ts, void *frame);
int ic_join(int (*real)(pthread_t, void **), pthread_t th, void **ret, void *frame);
int ic_barrier_wait(int (*real)(pthread_barrier_t *), pthread_barrier_t *b, void *frame);

/* ---- I/O and sleeps (io.c) ----
 * One body per signature; `call` is the enum ct_wait_call recorded. */
typedef ssize_t (*rw_fn)(int, void *, size_t);
typedef ssize_t (*prw_fn)(int, void *, size_t, off_t);
typedef ssize_t (*rwv_fn)(int, const struct iovec *, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*msg_fn)(int, struct msghdr *, int);
typedef ssize_t (*xfer_fn)(int, void *, size_t, int);

ssize_t ic_rw(rw_fn real, int fd, void *buf, size_t n, unsigned call, void *frame);
ssize_t ic_prw(prw_fn real, int fd, void *buf, size_t n, off_t off, unsigned call, void *frame);
ssize_t ic_rwv(rwv_fn real, int fd, const struct iovec *iov, int cnt, unsigned call, void *frame);
ssize_t ic_xfer(xfer_fn real, int fd, void *buf, size_t n, int flags, unsigned call, void *frame);
ssize_t ic_sendto(sendto_fn real, int fd, const void *buf, size_t n, int flags,
		  const struct sockaddr *to, socklen_t tolen, void *frame);
ssize_t ic_recvfrom(recvfrom_fn real, int fd, void *buf, size_t n, int flags, struct sockaddr *from,
		    socklen_t *fromlen, void *frame);
ssize_t ic_msg(msg_fn real, int fd, struct msghdr *msg, int flags, unsigned call, void *frame);
int ic_accept(int (*real)(int, struct sockaddr *, socklen_t *), int fd, struct sockaddr *a,
	      socklen_t *alen, void *frame);
int ic_accept4(int (*real)(int, struct sockaddr *, socklen_t *, int), int fd, struct sockaddr *a,
	       socklen_t *alen, int flags, void *frame);
int ic_connect(int (*real)(int, const struct sockaddr *, socklen_t), int fd,
	       const struct sockaddr *a, socklen_t alen, void *frame);
int ic_fsync(int (*real)(int), int fd, void *frame);
int ic_openat(int (*real)(int, const char *, int, ...), int dirfd, const char *path, int flags,
	      mode_t mode, void *frame);
int ic_open(int (*real)(const char *, int, ...), const char *path, int flags, mode_t mode,
	    void *frame);
int ic_close(int (*real)(int), int fd, void *frame);
int ic_socket(int (*real)(int, int, int), int dom, int type, int proto);
int ic_pipe2(int (*real)(int[2], int), int fds[2], int flags);
int ic_dup2(int (*real)(int, int), int oldfd, int newfd);
int ic_dup3(int (*real)(int, int, int), int oldfd, int newfd, int flags);

int ic_poll(int (*real)(struct pollfd *, nfds_t, int), struct pollfd *fds, nfds_t n, int ms,
	    void *frame);
int ic_ppoll(int (*real)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *),
	     struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
	     void *frame);
int ic_select(int (*real)(int, fd_set *, fd_set *, fd_set *, struct timeval *), int n, fd_set *r,
	      fd_set *w, fd_set *e, struct timeval *tv, void *frame);
int ic_pselect(int (*real)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
			   const sigset_t *),
	       int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
	       const sigset_t *mask, void *frame);
int ic_epoll_wait(int (*real)(int, struct epoll_event *, int, int), int epfd,
		  struct epoll_event *ev, int max, int ms, void *frame);
int ic_epoll_pwait(int (*real)(int, struct epoll_event *, int, int, const sigset_t *), int epfd,
		   struct epoll_event *ev, int max, int ms, const sigset_t *mask, void *frame);

int ic_nanosleep(int (*real)(const struct timespec *, struct timespec *),
		 const struct timespec *req, struct timespec *rem, void *frame);
int ic_clock_nanosleep(int (*real)(clockid_t, int, const struct timespec *, struct timespec *),
		       clockid_t clk, int flags, const struct timespec *req, struct timespec *rem,
		       void *frame);
int ic_usleep(int (*real)(useconds_t), useconds_t us, void *frame);
unsigned ic_sleep(unsigned (*real)(unsigned), unsigned s, void *frame);

/* ---- the clock variants and timed joins (sync.c) ---- */
int ic_mutex_clocklock(int (*real)(pthread_mutex_t *, clockid_t, const struct timespec *),
		       pthread_mutex_t *m, clockid_t clk, const struct timespec *ts, void *frame);
int ic_rwlock_clockrdlock(int (*real)(pthread_rwlock_t *, clockid_t, const struct timespec *),
			  pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts,
			  void *frame);
int ic_rwlock_clockwrlock(int (*real)(pthread_rwlock_t *, clockid_t, const struct timespec *),
			  pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts,
			  void *frame);
int ic_cond_clockwait(int (*real)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
				  const struct timespec *),
		      pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
		      const struct timespec *ts, void *frame);
int ic_sem_clockwait(int (*real)(sem_t *, clockid_t, const struct timespec *), sem_t *s,
		     clockid_t clk, const struct timespec *ts, void *frame);
int ic_timedjoin(int (*real)(pthread_t, void **, const struct timespec *), pthread_t th, void **ret,
		 const struct timespec *ts, void *frame);
int ic_clockjoin(int (*real)(pthread_t, void **, clockid_t, const struct timespec *), pthread_t th,
		 void **ret, clockid_t clk, const struct timespec *ts, void *frame);

/* ---- more I/O entry points (io.c) ----
 * The 64-bit-offset names (pread64, preadv64...) share the bodies: off_t is
 * off64_t on the LP64 targets ctrace builds for. */
typedef ssize_t (*prwv_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*prwv2_fn)(int, const struct iovec *, int, off_t, int);

ssize_t ic_prwv(prwv_fn real, int fd, const struct iovec *iov, int cnt, off_t off, unsigned call,
		void *frame);
ssize_t ic_prwv2(prwv2_fn real, int fd, const struct iovec *iov, int cnt, off_t off, int flags,
		 unsigned call, void *frame);
int ic_recvmmsg(int (*real)(int, struct mmsghdr *, unsigned, int, struct timespec *), int fd,
		struct mmsghdr *v, unsigned n, int flags, struct timespec *ts, void *frame);
int ic_sendmmsg(int (*real)(int, struct mmsghdr *, unsigned, int), int fd, struct mmsghdr *v,
		unsigned n, int flags, void *frame);
int ic_creat(int (*real)(const char *, mode_t), const char *path, mode_t mode, void *frame);
int ic_epoll_pwait2(int (*real)(int, struct epoll_event *, int, const struct timespec *,
				const sigset_t *),
		    int epfd, struct epoll_event *ev, int max, const struct timespec *ts,
		    const sigset_t *mask, void *frame);
int ic_socketpair(int (*real)(int, int, int, int[2]), int dom, int type, int proto, int sv[2]);
int ic_dup(int (*real)(int), int fd);

/* _FORTIFY_SOURCE entry points: each calls the real checked function. */
ssize_t ic_read_chk(ssize_t (*real)(int, void *, size_t, size_t), int fd, void *buf, size_t n,
		    size_t buflen, void *frame);
ssize_t ic_pread_chk(ssize_t (*real)(int, void *, size_t, off_t, size_t), int fd, void *buf,
		     size_t n, off_t off, size_t buflen, void *frame);
ssize_t ic_recv_chk(ssize_t (*real)(int, void *, size_t, size_t, int), int fd, void *buf, size_t n,
		    size_t buflen, int flags, void *frame);
ssize_t ic_recvfrom_chk(ssize_t (*real)(int, void *, size_t, size_t, int, struct sockaddr *,
					socklen_t *),
			int fd, void *buf, size_t n, size_t buflen, int flags,
			struct sockaddr *from, socklen_t *fromlen, void *frame);
int ic_poll_chk(int (*real)(struct pollfd *, nfds_t, int, size_t), struct pollfd *fds, nfds_t n,
		int ms, size_t fdslen, void *frame);
int ic_ppoll_chk(int (*real)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *,
			     size_t),
		 struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
		 size_t fdslen, void *frame);
int ic_open2(int (*real)(const char *, int), const char *path, int flags, void *frame);
int ic_openat2(int (*real)(int, const char *, int), int dirfd, const char *path, int flags,
	       void *frame);

/* glibc declares these only under _FORTIFY_SOURCE. */
extern ssize_t __read_chk(int, void *, size_t, size_t);
extern ssize_t __pread_chk(int, void *, size_t, off_t, size_t);
extern ssize_t __pread64_chk(int, void *, size_t, off64_t, size_t);
extern ssize_t __recv_chk(int, void *, size_t, size_t, int);
extern ssize_t __recvfrom_chk(int, void *__restrict, size_t, size_t, int,
			      struct sockaddr *__restrict, socklen_t *__restrict);
extern int __poll_chk(struct pollfd *, nfds_t, int, size_t);
extern int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);
extern int __open_2(const char *, int);
extern int __open64_2(const char *, int);
extern int __openat_2(int, const char *, int);
extern int __openat64_2(int, const char *, int);

/* Thread start and process end (thread.c). */
typedef int (*ic_pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
				    void *);
int ic_pthread_create(ic_pthread_create_fn real, pthread_t *th, const pthread_attr_t *attr,
		      void *(*fn)(void *), void *arg);
/* Before _exit or _Exit: stops the capture if that is safe. */
void ic_exit(void);

#endif
