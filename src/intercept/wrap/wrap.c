/* Link-time wrappers (libctrace-wrap.a): `-Wl,--wrap=X` sends the
 * program's calls of X to __wrap_X, which traces them around __real_X.
 * cmake/ctrace-wrap.flags lists the flags; the set matches the preload
 * library's. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "intercept/intercept.h"

/* Pulls the capture's object out of the archive with the wrappers: its
 * constructor starts tracing from CTRACE_OUTPUT, and nothing else in a
 * program that only has wrapped calls would reference it. */
__attribute__((used)) static int (*const keep_capture)(void) = ct_active;

extern __typeof__(pthread_mutex_lock) __real_pthread_mutex_lock;
extern __typeof__(pthread_mutex_timedlock) __real_pthread_mutex_timedlock;
extern __typeof__(pthread_rwlock_rdlock) __real_pthread_rwlock_rdlock;
extern __typeof__(pthread_rwlock_wrlock) __real_pthread_rwlock_wrlock;
extern __typeof__(pthread_rwlock_timedrdlock) __real_pthread_rwlock_timedrdlock;
extern __typeof__(pthread_rwlock_timedwrlock) __real_pthread_rwlock_timedwrlock;
extern __typeof__(pthread_cond_wait) __real_pthread_cond_wait;
extern __typeof__(pthread_cond_timedwait) __real_pthread_cond_timedwait;
extern __typeof__(sem_wait) __real_sem_wait;
extern __typeof__(sem_timedwait) __real_sem_timedwait;
extern __typeof__(pthread_join) __real_pthread_join;
extern __typeof__(pthread_barrier_wait) __real_pthread_barrier_wait;
extern __typeof__(read) __real_read;
extern __typeof__(write) __real_write;
extern __typeof__(pread) __real_pread;
extern __typeof__(pwrite) __real_pwrite;
extern __typeof__(readv) __real_readv;
extern __typeof__(writev) __real_writev;
extern __typeof__(recv) __real_recv;
extern __typeof__(recvfrom) __real_recvfrom;
extern __typeof__(recvmsg) __real_recvmsg;
extern __typeof__(send) __real_send;
extern __typeof__(sendto) __real_sendto;
extern __typeof__(sendmsg) __real_sendmsg;
extern __typeof__(accept) __real_accept;
extern __typeof__(accept4) __real_accept4;
extern __typeof__(connect) __real_connect;
extern __typeof__(fsync) __real_fsync;
extern __typeof__(fdatasync) __real_fdatasync;
extern __typeof__(open) __real_open;
extern __typeof__(open64) __real_open64;
extern __typeof__(openat) __real_openat;
extern __typeof__(openat64) __real_openat64;
extern __typeof__(close) __real_close;
extern __typeof__(socket) __real_socket;
extern __typeof__(pipe) __real_pipe;
extern __typeof__(pipe2) __real_pipe2;
extern __typeof__(dup2) __real_dup2;
extern __typeof__(dup3) __real_dup3;
extern __typeof__(poll) __real_poll;
extern __typeof__(ppoll) __real_ppoll;
extern __typeof__(select) __real_select;
extern __typeof__(pselect) __real_pselect;
extern __typeof__(epoll_wait) __real_epoll_wait;
extern __typeof__(epoll_pwait) __real_epoll_pwait;
extern __typeof__(nanosleep) __real_nanosleep;
extern __typeof__(clock_nanosleep) __real_clock_nanosleep;
extern __typeof__(usleep) __real_usleep;
extern __typeof__(sleep) __real_sleep;
extern __typeof__(pthread_mutex_clocklock) __real_pthread_mutex_clocklock;
extern __typeof__(pthread_rwlock_clockrdlock) __real_pthread_rwlock_clockrdlock;
extern __typeof__(pthread_rwlock_clockwrlock) __real_pthread_rwlock_clockwrlock;
extern __typeof__(pthread_cond_clockwait) __real_pthread_cond_clockwait;
extern __typeof__(sem_clockwait) __real_sem_clockwait;
extern __typeof__(pthread_timedjoin_np) __real_pthread_timedjoin_np;
extern __typeof__(pthread_clockjoin_np) __real_pthread_clockjoin_np;
extern __typeof__(pread64) __real_pread64;
extern __typeof__(pwrite64) __real_pwrite64;
extern __typeof__(preadv) __real_preadv;
extern __typeof__(pwritev) __real_pwritev;
extern __typeof__(preadv64) __real_preadv64;
extern __typeof__(pwritev64) __real_pwritev64;
extern __typeof__(preadv2) __real_preadv2;
extern __typeof__(pwritev2) __real_pwritev2;
extern __typeof__(preadv64v2) __real_preadv64v2;
extern __typeof__(pwritev64v2) __real_pwritev64v2;
extern __typeof__(recvmmsg) __real_recvmmsg;
extern __typeof__(sendmmsg) __real_sendmmsg;
extern __typeof__(creat) __real_creat;
extern __typeof__(creat64) __real_creat64;
extern __typeof__(epoll_pwait2) __real_epoll_pwait2;
extern __typeof__(socketpair) __real_socketpair;
extern __typeof__(dup) __real_dup;
extern __typeof__(__read_chk) __real___read_chk;
extern __typeof__(__pread_chk) __real___pread_chk;
extern __typeof__(__pread64_chk) __real___pread64_chk;
extern __typeof__(__recv_chk) __real___recv_chk;
extern __typeof__(__recvfrom_chk) __real___recvfrom_chk;
extern __typeof__(__poll_chk) __real___poll_chk;
extern __typeof__(__ppoll_chk) __real___ppoll_chk;
extern __typeof__(__open_2) __real___open_2;
extern __typeof__(__open64_2) __real___open64_2;
extern __typeof__(__openat_2) __real___openat_2;
extern __typeof__(__openat64_2) __real___openat64_2;
extern __typeof__(pthread_create) __real_pthread_create;
extern __typeof__(_exit) __real__exit;
extern __typeof__(_Exit) __real__Exit;

/* ---- sync ---- */

int __wrap_pthread_mutex_lock(pthread_mutex_t *m)
{
	int rc = pthread_mutex_trylock(m);
	if (likely(rc == 0))
		return 0;
	RET(ic_mutex_lock_slow(__real_pthread_mutex_lock, m, FRAME, rc));
}

int __wrap_pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts)
{
	RET(ic_mutex_timedlock(__real_pthread_mutex_timedlock, m, ts, FRAME));
}

int __wrap_pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	RET(ic_rwlock_rdlock(__real_pthread_rwlock_rdlock, l, FRAME));
}

int __wrap_pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	RET(ic_rwlock_wrlock(__real_pthread_rwlock_wrlock, l, FRAME));
}

int __wrap_pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	RET(ic_rwlock_timedrdlock(__real_pthread_rwlock_timedrdlock, l, ts, FRAME));
}

int __wrap_pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	RET(ic_rwlock_timedwrlock(__real_pthread_rwlock_timedwrlock, l, ts, FRAME));
}

int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	RET(ic_cond_wait(__real_pthread_cond_wait, c, m, FRAME));
}

int __wrap_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts)
{
	RET(ic_cond_timedwait(__real_pthread_cond_timedwait, c, m, ts, FRAME));
}

int __wrap_sem_wait(sem_t *s)
{
	RET(ic_sem_wait(__real_sem_wait, s, FRAME));
}

int __wrap_sem_timedwait(sem_t *s, const struct timespec *ts)
{
	RET(ic_sem_timedwait(__real_sem_timedwait, s, ts, FRAME));
}

int __wrap_pthread_join(pthread_t th, void **ret)
{
	RET(ic_join(__real_pthread_join, th, ret, FRAME));
}

int __wrap_pthread_barrier_wait(pthread_barrier_t *b)
{
	RET(ic_barrier_wait(__real_pthread_barrier_wait, b, FRAME));
}

/* ---- I/O: write-side calls share the read-side bodies (same ABI) ---- */

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	RET(ic_rw(__real_read, fd, buf, n, CT_CALL_READ, FRAME));
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	RET(ic_rw((rw_fn)__real_write, fd, (void *)buf, n, CT_CALL_WRITE, FRAME));
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
	RET(ic_prw(__real_pread, fd, buf, n, off, CT_CALL_READ, FRAME));
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	RET(ic_prw((prw_fn)__real_pwrite, fd, (void *)buf, n, off, CT_CALL_WRITE, FRAME));
}

ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt)
{
	RET(ic_rwv(__real_readv, fd, iov, cnt, CT_CALL_READ, FRAME));
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt)
{
	RET(ic_rwv(__real_writev, fd, iov, cnt, CT_CALL_WRITE, FRAME));
}

ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags)
{
	RET(ic_xfer(__real_recv, fd, buf, n, flags, CT_CALL_RECV, FRAME));
}

ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags)
{
	RET(ic_xfer((xfer_fn)__real_send, fd, (void *)buf, n, flags, CT_CALL_SEND, FRAME));
}

ssize_t __wrap_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
			socklen_t *fromlen)
{
	RET(ic_recvfrom(__real_recvfrom, fd, buf, n, flags, from, fromlen, FRAME));
}

ssize_t __wrap_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
		      socklen_t tolen)
{
	RET(ic_sendto(__real_sendto, fd, buf, n, flags, to, tolen, FRAME));
}

ssize_t __wrap_recvmsg(int fd, struct msghdr *msg, int flags)
{
	RET(ic_msg(__real_recvmsg, fd, msg, flags, CT_CALL_RECV, FRAME));
}

ssize_t __wrap_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	RET(ic_msg((msg_fn)__real_sendmsg, fd, (struct msghdr *)msg, flags, CT_CALL_SEND, FRAME));
}

int __wrap_accept(int fd, struct sockaddr *a, socklen_t *alen)
{
	RET(ic_accept(__real_accept, fd, a, alen, FRAME));
}

int __wrap_accept4(int fd, struct sockaddr *a, socklen_t *alen, int flags)
{
	RET(ic_accept4(__real_accept4, fd, a, alen, flags, FRAME));
}

int __wrap_connect(int fd, const struct sockaddr *a, socklen_t alen)
{
	RET(ic_connect(__real_connect, fd, a, alen, FRAME));
}

int __wrap_fsync(int fd)
{
	RET(ic_fsync(__real_fsync, fd, FRAME));
}

int __wrap_fdatasync(int fd)
{
	RET(ic_fsync(__real_fdatasync, fd, FRAME));
}

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags)                                                                           \
	({                                                                                         \
		mode_t m_ = 0;                                                                     \
		if ((flags)&O_CREAT || ((flags)&O_TMPFILE) == O_TMPFILE) {                         \
			va_list ap;                                                                \
			va_start(ap, flags);                                                       \
			m_ = va_arg(ap, mode_t);                                                   \
			va_end(ap);                                                                \
		}                                                                                  \
		m_;                                                                                \
	})

int __wrap_open(const char *path, int flags, ...)
{
	RET(ic_open(__real_open, path, flags, OPEN_MODE(flags), FRAME));
}

int __wrap_open64(const char *path, int flags, ...)
{
	RET(ic_open(__real_open64, path, flags, OPEN_MODE(flags), FRAME));
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	RET(ic_openat(__real_openat, dirfd, path, flags, OPEN_MODE(flags), FRAME));
}

int __wrap_openat64(int dirfd, const char *path, int flags, ...)
{
	RET(ic_openat(__real_openat64, dirfd, path, flags, OPEN_MODE(flags), FRAME));
}

int __wrap_close(int fd)
{
	RET(ic_close(__real_close, fd, FRAME));
}

int __wrap_socket(int dom, int type, int proto)
{
	return ic_socket(__real_socket, dom, type, proto);
}

int __wrap_pipe(int fds[2])
{
	int r = __real_pipe(fds);
	if (r == 0) {
		fd_set_reason(fds[0], CT_WAIT_PIPE);
		fd_set_reason(fds[1], CT_WAIT_PIPE);
	}
	return r;
}

int __wrap_pipe2(int fds[2], int flags)
{
	return ic_pipe2(__real_pipe2, fds, flags);
}

int __wrap_dup2(int oldfd, int newfd)
{
	return ic_dup2(__real_dup2, oldfd, newfd);
}

int __wrap_dup3(int oldfd, int newfd, int flags)
{
	return ic_dup3(__real_dup3, oldfd, newfd, flags);
}

/* ---- event loops and sleeps ---- */

int __wrap_poll(struct pollfd *fds, nfds_t n, int ms)
{
	RET(ic_poll(__real_poll, fds, n, ms, FRAME));
}

int __wrap_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	RET(ic_ppoll(__real_ppoll, fds, n, ts, mask, FRAME));
}

int __wrap_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	RET(ic_select(__real_select, n, r, w, e, tv, FRAME));
}

int __wrap_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
		   const sigset_t *mask)
{
	RET(ic_pselect(__real_pselect, n, r, w, e, ts, mask, FRAME));
}

int __wrap_epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
	RET(ic_epoll_wait(__real_epoll_wait, epfd, ev, max, ms, FRAME));
}

int __wrap_epoll_pwait(int epfd, struct epoll_event *ev, int max, int ms, const sigset_t *mask)
{
	RET(ic_epoll_pwait(__real_epoll_pwait, epfd, ev, max, ms, mask, FRAME));
}

int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
	RET(ic_nanosleep(__real_nanosleep, req, rem, FRAME));
}

int __wrap_clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			   struct timespec *rem)
{
	RET(ic_clock_nanosleep(__real_clock_nanosleep, clk, flags, req, rem, FRAME));
}

int __wrap_usleep(useconds_t us)
{
	RET(ic_usleep(__real_usleep, us, FRAME));
}

unsigned __wrap_sleep(unsigned s)
{
	RET(ic_sleep(__real_sleep, s, FRAME));
}

/* ---- the clock variants and timed joins ---- */

int __wrap_pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *ts)
{
	RET(ic_mutex_clocklock(__real_pthread_mutex_clocklock, m, clk, ts, FRAME));
}

int __wrap_pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts)
{
	RET(ic_rwlock_clockrdlock(__real_pthread_rwlock_clockrdlock, l, clk, ts, FRAME));
}

int __wrap_pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts)
{
	RET(ic_rwlock_clockwrlock(__real_pthread_rwlock_clockwrlock, l, clk, ts, FRAME));
}

int __wrap_pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				  const struct timespec *ts)
{
	RET(ic_cond_clockwait(__real_pthread_cond_clockwait, c, m, clk, ts, FRAME));
}

int __wrap_sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *ts)
{
	RET(ic_sem_clockwait(__real_sem_clockwait, s, clk, ts, FRAME));
}

int __wrap_pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *ts)
{
	RET(ic_timedjoin(__real_pthread_timedjoin_np, th, ret, ts, FRAME));
}

int __wrap_pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk, const struct timespec *ts)
{
	RET(ic_clockjoin(__real_pthread_clockjoin_np, th, ret, clk, ts, FRAME));
}

/* ---- the 64-bit-offset names (-D_FILE_OFFSET_BITS=64 calls them), vectored
 * calls at an offset, batched socket calls, creat, epoll_pwait2 ---- */

ssize_t __wrap_pread64(int fd, void *buf, size_t n, off64_t off)
{
	RET(ic_prw(__real_pread64, fd, buf, n, off, CT_CALL_READ, FRAME));
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	RET(ic_prw((prw_fn)__real_pwrite64, fd, (void *)buf, n, off, CT_CALL_WRITE, FRAME));
}

ssize_t __wrap_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	RET(ic_prwv(__real_preadv, fd, iov, cnt, off, CT_CALL_READ, FRAME));
}

ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	RET(ic_prwv(__real_pwritev, fd, iov, cnt, off, CT_CALL_WRITE, FRAME));
}

ssize_t __wrap_preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	RET(ic_prwv(__real_preadv64, fd, iov, cnt, off, CT_CALL_READ, FRAME));
}

ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	RET(ic_prwv(__real_pwritev64, fd, iov, cnt, off, CT_CALL_WRITE, FRAME));
}

ssize_t __wrap_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	RET(ic_prwv2(__real_preadv2, fd, iov, cnt, off, flags, CT_CALL_READ, FRAME));
}

ssize_t __wrap_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	RET(ic_prwv2(__real_pwritev2, fd, iov, cnt, off, flags, CT_CALL_WRITE, FRAME));
}

ssize_t __wrap_preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	RET(ic_prwv2(__real_preadv64v2, fd, iov, cnt, off, flags, CT_CALL_READ, FRAME));
}

ssize_t __wrap_pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	RET(ic_prwv2(__real_pwritev64v2, fd, iov, cnt, off, flags, CT_CALL_WRITE, FRAME));
}

int __wrap_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *ts)
{
	RET(ic_recvmmsg(__real_recvmmsg, fd, v, n, flags, ts, FRAME));
}

int __wrap_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	RET(ic_sendmmsg(__real_sendmmsg, fd, v, n, flags, FRAME));
}

int __wrap_creat(const char *path, mode_t mode)
{
	RET(ic_creat(__real_creat, path, mode, FRAME));
}

int __wrap_creat64(const char *path, mode_t mode)
{
	RET(ic_creat(__real_creat64, path, mode, FRAME));
}

int __wrap_epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts,
			const sigset_t *mask)
{
	RET(ic_epoll_pwait2(__real_epoll_pwait2, epfd, ev, max, ts, mask, FRAME));
}

int __wrap_socketpair(int dom, int type, int proto, int sv[2])
{
	return ic_socketpair(__real_socketpair, dom, type, proto, sv);
}

int __wrap_dup(int fd)
{
	return ic_dup(__real_dup, fd);
}

/* ---- _FORTIFY_SOURCE's checked versions (-O2 -D_FORTIFY_SOURCE=2) ---- */

ssize_t __wrap___read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	RET(ic_read_chk(__real___read_chk, fd, buf, n, buflen, FRAME));
}

ssize_t __wrap___pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	RET(ic_pread_chk(__real___pread_chk, fd, buf, n, off, buflen, FRAME));
}

ssize_t __wrap___pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	RET(ic_pread_chk(__real___pread64_chk, fd, buf, n, off, buflen, FRAME));
}

ssize_t __wrap___recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	RET(ic_recv_chk(__real___recv_chk, fd, buf, n, buflen, flags, FRAME));
}

ssize_t __wrap___recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			      struct sockaddr *from, socklen_t *fromlen)
{
	RET(ic_recvfrom_chk(__real___recvfrom_chk, fd, buf, n, buflen, flags, from, fromlen,
			    FRAME));
}

int __wrap___poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
	RET(ic_poll_chk(__real___poll_chk, fds, n, ms, fdslen, FRAME));
}

int __wrap___ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		       const sigset_t *mask, size_t fdslen)
{
	RET(ic_ppoll_chk(__real___ppoll_chk, fds, n, ts, mask, fdslen, FRAME));
}

int __wrap___open_2(const char *path, int flags)
{
	RET(ic_open2(__real___open_2, path, flags, FRAME));
}

int __wrap___open64_2(const char *path, int flags)
{
	RET(ic_open2(__real___open64_2, path, flags, FRAME));
}

int __wrap___openat_2(int dirfd, const char *path, int flags)
{
	RET(ic_openat2(__real___openat_2, dirfd, path, flags, FRAME));
}

int __wrap___openat64_2(int dirfd, const char *path, int flags)
{
	RET(ic_openat2(__real___openat64_2, dirfd, path, flags, FRAME));
}

/* ---- threads and the process's end ---- */

int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	return ic_pthread_create(__real_pthread_create, th, attr, fn, arg);
}

void __wrap__exit(int status)
{
	ic_exit();
	__real__exit(status);
}

void __wrap__Exit(int status)
{
	ic_exit();
	__real__Exit(status);
}
