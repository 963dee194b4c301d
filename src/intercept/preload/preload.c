/* libctrace-preload.so: defines the libc and pthread calls that
 * src/intercept traces, for programs run with LD_PRELOAD (`ctrace run`).
 * The real functions are resolved with dlsym(RTLD_NEXT) in a constructor,
 * before the program has threads; a call that comes earlier (another
 * library's constructor) resolves its own function on the spot. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intercept/intercept.h"

#define EXPORT __attribute__((visibility("default")))

/* The symbol version to ask for first: glibc keeps old condition variable
 * code under the base version, and dlsym without a version could bind an
 * old one on some releases. */
static void *resolve(const char *name, const char *version)
{
	void *p = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	if (!p)
		abort(); /* no libc function to call: nothing sensible to return */
	return p;
}

#define REAL_V(f, ver)                                                                             \
	static __typeof__(&f) real_##f;                                                            \
	static inline __typeof__(&f) get_##f(void)                                                 \
	{                                                                                          \
		__typeof__(&f) p = __atomic_load_n(&real_##f, __ATOMIC_ACQUIRE);                   \
		if (unlikely(!p)) {                                                                \
			p = (__typeof__(&f))resolve(#f, ver);                                      \
			__atomic_store_n(&real_##f, p, __ATOMIC_RELEASE);                          \
		}                                                                                  \
		return p;                                                                          \
	}
#define REAL(f) REAL_V(f, NULL)

REAL(pthread_mutex_lock)
REAL(pthread_mutex_timedlock)
REAL(pthread_rwlock_rdlock)
REAL(pthread_rwlock_wrlock)
REAL(pthread_rwlock_timedrdlock)
REAL(pthread_rwlock_timedwrlock)
REAL_V(pthread_cond_wait, "GLIBC_2.3.2")
REAL_V(pthread_cond_timedwait, "GLIBC_2.3.2")
REAL(sem_wait)
REAL(sem_timedwait)
REAL(pthread_join)
REAL(pthread_barrier_wait)
REAL(read)
REAL(write)
REAL(pread)
REAL(pwrite)
REAL(readv)
REAL(writev)
REAL(recv)
REAL(recvfrom)
REAL(recvmsg)
REAL(send)
REAL(sendto)
REAL(sendmsg)
REAL(accept)
REAL(accept4)
REAL(connect)
REAL(fsync)
REAL(fdatasync)
REAL(open)
REAL(open64)
REAL(openat)
REAL(openat64)
REAL(close)
REAL(socket)
REAL(pipe)
REAL(pipe2)
REAL(dup2)
REAL(dup3)
REAL(poll)
REAL(ppoll)
REAL(select)
REAL(pselect)
REAL(epoll_wait)
REAL(epoll_pwait)
REAL(nanosleep)
REAL(clock_nanosleep)
REAL(usleep)
REAL(sleep)
REAL(pthread_mutex_clocklock)
REAL(pthread_rwlock_clockrdlock)
REAL(pthread_rwlock_clockwrlock)
REAL(pthread_cond_clockwait)
REAL(sem_clockwait)
REAL(pthread_timedjoin_np)
REAL(pthread_clockjoin_np)
REAL(pread64)
REAL(pwrite64)
REAL(preadv)
REAL(pwritev)
REAL(preadv64)
REAL(pwritev64)
REAL(preadv2)
REAL(pwritev2)
REAL(preadv64v2)
REAL(pwritev64v2)
REAL(recvmmsg)
REAL(sendmmsg)
REAL(creat)
REAL(creat64)
REAL(epoll_pwait2)
REAL(socketpair)
REAL(dup)
REAL(__read_chk)
REAL(__pread_chk)
REAL(__pread64_chk)
REAL(__recv_chk)
REAL(__recvfrom_chk)
REAL(__poll_chk)
REAL(__ppoll_chk)
REAL(__open_2)
REAL(__open64_2)
REAL(__openat_2)
REAL(__openat64_2)
REAL(pthread_create)
REAL(_exit)
REAL(_Exit)

/* Before the capture's auto-start constructor (default priority): resolve
 * everything while single-threaded, and keep programs that `ctrace run`'s
 * target starts (fork + exec) from writing into the same file. */
__attribute__((constructor(101))) static void preload_init(void)
{
	const char *pid = getenv("CTRACE_RUN_PID");
	if (pid && strtol(pid, NULL, 10) != (long)getpid())
		unsetenv("CTRACE_OUTPUT"), unsetenv("CTRACE_FLIGHT"), unsetenv("CTRACE_HTTP");
	get_pthread_mutex_lock(), get_pthread_mutex_timedlock(), get_pthread_rwlock_rdlock();
	get_pthread_rwlock_wrlock(), get_pthread_rwlock_timedrdlock();
	get_pthread_rwlock_timedwrlock(), get_pthread_cond_wait(), get_pthread_cond_timedwait();
	get_sem_wait(), get_sem_timedwait(), get_pthread_join(), get_pthread_barrier_wait();
	get_read(), get_write(), get_pread(), get_pwrite(), get_readv(), get_writev();
	get_recv(), get_recvfrom(), get_recvmsg(), get_send(), get_sendto(), get_sendmsg();
	get_accept(), get_accept4(), get_connect(), get_fsync(), get_fdatasync();
	get_open(), get_open64(), get_openat(), get_openat64(), get_close(), get_socket();
	get_pipe(), get_pipe2(), get_dup2(), get_dup3(), get_poll(), get_ppoll();
	get_select(), get_pselect(), get_epoll_wait(), get_epoll_pwait(), get_nanosleep();
	get_clock_nanosleep(), get_usleep(), get_sleep();
	get_pthread_mutex_clocklock(), get_pthread_rwlock_clockrdlock();
	get_pthread_rwlock_clockwrlock(), get_pthread_cond_clockwait(), get_sem_clockwait();
	get_pthread_timedjoin_np(), get_pthread_clockjoin_np(), get_pread64(), get_pwrite64();
	get_preadv(), get_pwritev(), get_preadv64(), get_pwritev64(), get_preadv2();
	get_pwritev2(), get_preadv64v2(), get_pwritev64v2(), get_recvmmsg(), get_sendmmsg();
	get_creat(), get_creat64(), get_epoll_pwait2(), get_socketpair(), get_dup();
	get___read_chk(), get___pread_chk(), get___pread64_chk(), get___recv_chk();
	get___recvfrom_chk(), get___poll_chk(), get___ppoll_chk(), get___open_2();
	get___open64_2(), get___openat_2(), get___openat64_2();
	get_pthread_create(), get__exit(), get__Exit();
}

/* ---- sync ---- */

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	/* The uncontended lock is a bare try; the real function is looked up
	 * only on the contended path, so the try needs no register beyond m. */
	int rc = pthread_mutex_trylock(m);
	if (likely(rc == 0))
		return 0;
	RET(ic_mutex_lock_slow(get_pthread_mutex_lock(), m, FRAME, rc));
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts)
{
	RET(ic_mutex_timedlock(get_pthread_mutex_timedlock(), m, ts, FRAME));
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	RET(ic_rwlock_rdlock(get_pthread_rwlock_rdlock(), l, FRAME));
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	RET(ic_rwlock_wrlock(get_pthread_rwlock_wrlock(), l, FRAME));
}

EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	RET(ic_rwlock_timedrdlock(get_pthread_rwlock_timedrdlock(), l, ts, FRAME));
}

EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	RET(ic_rwlock_timedwrlock(get_pthread_rwlock_timedwrlock(), l, ts, FRAME));
}

EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	RET(ic_cond_wait(get_pthread_cond_wait(), c, m, FRAME));
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts)
{
	RET(ic_cond_timedwait(get_pthread_cond_timedwait(), c, m, ts, FRAME));
}

EXPORT int sem_wait(sem_t *s)
{
	RET(ic_sem_wait(get_sem_wait(), s, FRAME));
}

EXPORT int sem_timedwait(sem_t *s, const struct timespec *ts)
{
	RET(ic_sem_timedwait(get_sem_timedwait(), s, ts, FRAME));
}

EXPORT int pthread_join(pthread_t th, void **ret)
{
	RET(ic_join(get_pthread_join(), th, ret, FRAME));
}

EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
	RET(ic_barrier_wait(get_pthread_barrier_wait(), b, FRAME));
}

/* ---- I/O: write-side calls share the read-side bodies (same ABI) ---- */

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	RET(ic_rw(get_read(), fd, buf, n, CT_CALL_READ, FRAME));
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	RET(ic_rw((rw_fn)get_write(), fd, (void *)buf, n, CT_CALL_WRITE, FRAME));
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	RET(ic_prw(get_pread(), fd, buf, n, off, CT_CALL_READ, FRAME));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	RET(ic_prw((prw_fn)get_pwrite(), fd, (void *)buf, n, off, CT_CALL_WRITE, FRAME));
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	RET(ic_rwv(get_readv(), fd, iov, cnt, CT_CALL_READ, FRAME));
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	RET(ic_rwv(get_writev(), fd, iov, cnt, CT_CALL_WRITE, FRAME));
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	RET(ic_xfer(get_recv(), fd, buf, n, flags, CT_CALL_RECV, FRAME));
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	RET(ic_xfer((xfer_fn)get_send(), fd, (void *)buf, n, flags, CT_CALL_SEND, FRAME));
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
			socklen_t *fromlen)
{
	RET(ic_recvfrom(get_recvfrom(), fd, buf, n, flags, from, fromlen, FRAME));
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
		      socklen_t tolen)
{
	RET(ic_sendto(get_sendto(), fd, buf, n, flags, to, tolen, FRAME));
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	RET(ic_msg(get_recvmsg(), fd, msg, flags, CT_CALL_RECV, FRAME));
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	RET(ic_msg((msg_fn)get_sendmsg(), fd, (struct msghdr *)msg, flags, CT_CALL_SEND, FRAME));
}

EXPORT int accept(int fd, struct sockaddr *a, socklen_t *alen)
{
	RET(ic_accept(get_accept(), fd, a, alen, FRAME));
}

EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *alen, int flags)
{
	RET(ic_accept4(get_accept4(), fd, a, alen, flags, FRAME));
}

EXPORT int connect(int fd, const struct sockaddr *a, socklen_t alen)
{
	RET(ic_connect(get_connect(), fd, a, alen, FRAME));
}

EXPORT int fsync(int fd)
{
	RET(ic_fsync(get_fsync(), fd, FRAME));
}

EXPORT int fdatasync(int fd)
{
	RET(ic_fsync(get_fdatasync(), fd, FRAME));
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

EXPORT int open(const char *path, int flags, ...)
{
	RET(ic_open(get_open(), path, flags, OPEN_MODE(flags), FRAME));
}

EXPORT int open64(const char *path, int flags, ...)
{
	RET(ic_open(get_open64(), path, flags, OPEN_MODE(flags), FRAME));
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	RET(ic_openat(get_openat(), dirfd, path, flags, OPEN_MODE(flags), FRAME));
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	RET(ic_openat(get_openat64(), dirfd, path, flags, OPEN_MODE(flags), FRAME));
}

EXPORT int close(int fd)
{
	RET(ic_close(get_close(), fd, FRAME));
}

EXPORT int socket(int dom, int type, int proto)
{
	return ic_socket(get_socket(), dom, type, proto);
}

EXPORT int pipe(int fds[2])
{
	int r = get_pipe()(fds);
	if (r == 0) {
		fd_set_reason(fds[0], CT_WAIT_PIPE);
		fd_set_reason(fds[1], CT_WAIT_PIPE);
	}
	return r;
}

EXPORT int pipe2(int fds[2], int flags)
{
	return ic_pipe2(get_pipe2(), fds, flags);
}

EXPORT int dup2(int oldfd, int newfd)
{
	return ic_dup2(get_dup2(), oldfd, newfd);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return ic_dup3(get_dup3(), oldfd, newfd, flags);
}

/* ---- event loops and sleeps ---- */

EXPORT int poll(struct pollfd *fds, nfds_t n, int ms)
{
	RET(ic_poll(get_poll(), fds, n, ms, FRAME));
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	RET(ic_ppoll(get_ppoll(), fds, n, ts, mask, FRAME));
}

EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	RET(ic_select(get_select(), n, r, w, e, tv, FRAME));
}

EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
		   const sigset_t *mask)
{
	RET(ic_pselect(get_pselect(), n, r, w, e, ts, mask, FRAME));
}

EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
	RET(ic_epoll_wait(get_epoll_wait(), epfd, ev, max, ms, FRAME));
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int ms, const sigset_t *mask)
{
	RET(ic_epoll_pwait(get_epoll_pwait(), epfd, ev, max, ms, mask, FRAME));
}

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	RET(ic_nanosleep(get_nanosleep(), req, rem, FRAME));
}

EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			   struct timespec *rem)
{
	RET(ic_clock_nanosleep(get_clock_nanosleep(), clk, flags, req, rem, FRAME));
}

EXPORT int usleep(useconds_t us)
{
	RET(ic_usleep(get_usleep(), us, FRAME));
}

EXPORT unsigned sleep(unsigned s)
{
	RET(ic_sleep(get_sleep(), s, FRAME));
}

/* ---- the clock variants and timed joins ---- */

EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *ts)
{
	RET(ic_mutex_clocklock(get_pthread_mutex_clocklock(), m, clk, ts, FRAME));
}

EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts)
{
	RET(ic_rwlock_clockrdlock(get_pthread_rwlock_clockrdlock(), l, clk, ts, FRAME));
}

EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts)
{
	RET(ic_rwlock_clockwrlock(get_pthread_rwlock_clockwrlock(), l, clk, ts, FRAME));
}

EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				  const struct timespec *ts)
{
	RET(ic_cond_clockwait(get_pthread_cond_clockwait(), c, m, clk, ts, FRAME));
}

EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *ts)
{
	RET(ic_sem_clockwait(get_sem_clockwait(), s, clk, ts, FRAME));
}

EXPORT int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *ts)
{
	RET(ic_timedjoin(get_pthread_timedjoin_np(), th, ret, ts, FRAME));
}

EXPORT int pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk, const struct timespec *ts)
{
	RET(ic_clockjoin(get_pthread_clockjoin_np(), th, ret, clk, ts, FRAME));
}

/* ---- the 64-bit-offset names (-D_FILE_OFFSET_BITS=64 calls them), vectored
 * calls at an offset, batched socket calls, creat, epoll_pwait2 ---- */

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	RET(ic_prw(get_pread64(), fd, buf, n, off, CT_CALL_READ, FRAME));
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	RET(ic_prw((prw_fn)get_pwrite64(), fd, (void *)buf, n, off, CT_CALL_WRITE, FRAME));
}

EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	RET(ic_prwv(get_preadv(), fd, iov, cnt, off, CT_CALL_READ, FRAME));
}

EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	RET(ic_prwv(get_pwritev(), fd, iov, cnt, off, CT_CALL_WRITE, FRAME));
}

EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	RET(ic_prwv(get_preadv64(), fd, iov, cnt, off, CT_CALL_READ, FRAME));
}

EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	RET(ic_prwv(get_pwritev64(), fd, iov, cnt, off, CT_CALL_WRITE, FRAME));
}

EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	RET(ic_prwv2(get_preadv2(), fd, iov, cnt, off, flags, CT_CALL_READ, FRAME));
}

EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	RET(ic_prwv2(get_pwritev2(), fd, iov, cnt, off, flags, CT_CALL_WRITE, FRAME));
}

EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	RET(ic_prwv2(get_preadv64v2(), fd, iov, cnt, off, flags, CT_CALL_READ, FRAME));
}

EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	RET(ic_prwv2(get_pwritev64v2(), fd, iov, cnt, off, flags, CT_CALL_WRITE, FRAME));
}

EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *ts)
{
	RET(ic_recvmmsg(get_recvmmsg(), fd, v, n, flags, ts, FRAME));
}

EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	RET(ic_sendmmsg(get_sendmmsg(), fd, v, n, flags, FRAME));
}

EXPORT int creat(const char *path, mode_t mode)
{
	RET(ic_creat(get_creat(), path, mode, FRAME));
}

EXPORT int creat64(const char *path, mode_t mode)
{
	RET(ic_creat(get_creat64(), path, mode, FRAME));
}

EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts,
			const sigset_t *mask)
{
	RET(ic_epoll_pwait2(get_epoll_pwait2(), epfd, ev, max, ts, mask, FRAME));
}

EXPORT int socketpair(int dom, int type, int proto, int sv[2])
{
	return ic_socketpair(get_socketpair(), dom, type, proto, sv);
}

EXPORT int dup(int fd)
{
	return ic_dup(get_dup(), fd);
}

/* ---- _FORTIFY_SOURCE's checked versions (-O2 -D_FORTIFY_SOURCE=2) ---- */

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	RET(ic_read_chk(get___read_chk(), fd, buf, n, buflen, FRAME));
}

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	RET(ic_pread_chk(get___pread_chk(), fd, buf, n, off, buflen, FRAME));
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	RET(ic_pread_chk(get___pread64_chk(), fd, buf, n, off, buflen, FRAME));
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	RET(ic_recv_chk(get___recv_chk(), fd, buf, n, buflen, flags, FRAME));
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			      struct sockaddr *from, socklen_t *fromlen)
{
	RET(ic_recvfrom_chk(get___recvfrom_chk(), fd, buf, n, buflen, flags, from, fromlen, FRAME));
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
	RET(ic_poll_chk(get___poll_chk(), fds, n, ms, fdslen, FRAME));
}

EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		       const sigset_t *mask, size_t fdslen)
{
	RET(ic_ppoll_chk(get___ppoll_chk(), fds, n, ts, mask, fdslen, FRAME));
}

EXPORT int __open_2(const char *path, int flags)
{
	RET(ic_open2(get___open_2(), path, flags, FRAME));
}

EXPORT int __open64_2(const char *path, int flags)
{
	RET(ic_open2(get___open64_2(), path, flags, FRAME));
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	RET(ic_openat2(get___openat_2(), dirfd, path, flags, FRAME));
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	RET(ic_openat2(get___openat64_2(), dirfd, path, flags, FRAME));
}

/* ---- threads and the process's end ---- */

EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	return ic_pthread_create(get_pthread_create(), th, attr, fn, arg);
}

EXPORT void _exit(int status)
{
	ic_exit();
	get__exit()(status);
	__builtin_unreachable();
}

EXPORT void _Exit(int status)
{
	ic_exit();
	get__Exit()(status);
	__builtin_unreachable();
}
