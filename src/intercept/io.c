/* Traced I/O, poll and sleep calls. A call is recorded as a wait when it
 * lasted at least the capture's syscall threshold (CTRACE_SYSCALL_MIN,
 * default 2 us: a call that returned at once did not wait): the reason comes
 * from the fd's kind (fdkind.c), the detail is the call (enum
 * ct_wait_call), the result is the return value or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "intercept/intercept.h"

/* Calls `call` and, when tracing and the call lasted call_min_ticks or more,
 * records it as a wait (call_begin/call_end, rec.h); errno on return is the
 * real call's, and the one before the call is kept across the recording. */
#define TRACE_CALL(T, reason, object, detail, frame, call)                                         \
	({                                                                                         \
		T r_;                                                                              \
		struct trec *c_;                                                                   \
		uint64_t t0_;                                                                      \
		int e_ = errno;                                                                    \
		if (!ic_enter()) {                                                                 \
			r_ = (call);                                                               \
		} else if (!(c_ = call_begin((reason), (uint64_t)(object), (detail), (frame),      \
					     &t0_))) {                                             \
			ic_leave();                                                                \
			errno = e_;                                                                \
			r_ = (call);                                                               \
		} else {                                                                           \
			errno = e_; /* a first call registers the thread: syscalls */              \
			r_ = (call);                                                               \
			e_ = errno;                                                                \
			call_end(c_, t0_, r_ < 0 ? -(int64_t)e_ : (int64_t)r_, (frame));           \
			errno = e_;                                                                \
			ic_leave();                                                                \
		}                                                                                  \
		r_;                                                                                \
	})

#define FD_CALL(T, fd, call_kind, frame, call)                                                     \
	TRACE_CALL(T, fd_reason(fd), (int64_t)(fd), (call_kind), (frame), (call))

ssize_t ic_rw(rw_fn real, int fd, void *buf, size_t n, unsigned call, void *frame)
{
	return FD_CALL(ssize_t, fd, call, frame, real(fd, buf, n));
}

ssize_t ic_prw(prw_fn real, int fd, void *buf, size_t n, off_t off, unsigned call, void *frame)
{
	return FD_CALL(ssize_t, fd, call, frame, real(fd, buf, n, off));
}

ssize_t ic_rwv(rwv_fn real, int fd, const struct iovec *iov, int cnt, unsigned call, void *frame)
{
	return FD_CALL(ssize_t, fd, call, frame, real(fd, iov, cnt));
}

ssize_t ic_xfer(xfer_fn real, int fd, void *buf, size_t n, int flags, unsigned call, void *frame)
{
	return FD_CALL(ssize_t, fd, call, frame, real(fd, buf, n, flags));
}

ssize_t ic_sendto(sendto_fn real, int fd, const void *buf, size_t n, int flags,
		  const struct sockaddr *to, socklen_t tolen, void *frame)
{
	return FD_CALL(ssize_t, fd, CT_CALL_SEND, frame, real(fd, buf, n, flags, to, tolen));
}

ssize_t ic_recvfrom(recvfrom_fn real, int fd, void *buf, size_t n, int flags, struct sockaddr *from,
		    socklen_t *fromlen, void *frame)
{
	return FD_CALL(ssize_t, fd, CT_CALL_RECV, frame, real(fd, buf, n, flags, from, fromlen));
}

ssize_t ic_msg(msg_fn real, int fd, struct msghdr *msg, int flags, unsigned call, void *frame)
{
	return FD_CALL(ssize_t, fd, call, frame, real(fd, msg, flags));
}

int ic_accept(int (*real)(int, struct sockaddr *, socklen_t *), int fd, struct sockaddr *a,
	      socklen_t *alen, void *frame)
{
	int r = FD_CALL(int, fd, CT_CALL_ACCEPT, frame, real(fd, a, alen));
	if (r >= 0)
		fd_set_reason(r, CT_WAIT_NET);
	return r;
}

int ic_accept4(int (*real)(int, struct sockaddr *, socklen_t *, int), int fd, struct sockaddr *a,
	       socklen_t *alen, int flags, void *frame)
{
	int r = FD_CALL(int, fd, CT_CALL_ACCEPT, frame, real(fd, a, alen, flags));
	if (r >= 0)
		fd_set_reason(r, CT_WAIT_NET);
	return r;
}

int ic_connect(int (*real)(int, const struct sockaddr *, socklen_t), int fd,
	       const struct sockaddr *a, socklen_t alen, void *frame)
{
	return FD_CALL(int, fd, CT_CALL_CONNECT, frame, real(fd, a, alen));
}

int ic_fsync(int (*real)(int), int fd, void *frame)
{
	return FD_CALL(int, fd, CT_CALL_FSYNC, frame, real(fd));
}

/* An open has no fd yet: the object is the directory fd (AT_FDCWD for
 * open), the new fd is the result. A FIFO may block here too; the reason
 * says FILE, the kind of the opened fd is learnt on its first use. */
int ic_openat(int (*real)(int, const char *, int, ...), int dirfd, const char *path, int flags,
	      mode_t mode, void *frame)
{
	int r = TRACE_CALL(int, CT_WAIT_FILE, (int64_t)dirfd, CT_CALL_OPEN, frame,
			   real(dirfd, path, flags, mode));
	fd_forget(r);
	return r;
}

int ic_open(int (*real)(const char *, int, ...), const char *path, int flags, mode_t mode,
	    void *frame)
{
	int r = TRACE_CALL(int, CT_WAIT_FILE, (int64_t)AT_FDCWD, CT_CALL_OPEN, frame,
			   real(path, flags, mode));
	fd_forget(r);
	return r;
}

int ic_close(int (*real)(int), int fd, void *frame)
{
	if (!ic_enter()) {
		fd_forget(fd);
		return real(fd);
	}
	unsigned reason = fd_reason(fd);
	/* Forget before closing: once closed, another thread may get the
	 * number (and its open resets the entry again). */
	fd_forget(fd);
	uint64_t t0;
	int e = errno;
	struct trec *c = call_begin(reason, (uint64_t)(int64_t)fd, CT_CALL_CLOSE, frame, &t0);
	errno = e;
	int r = real(fd);
	e = errno;
	if (c)
		call_end(c, t0, r < 0 ? -(int64_t)e : r, frame);
	errno = e;
	ic_leave();
	return r;
}

int ic_socket(int (*real)(int, int, int), int dom, int type, int proto)
{
	int r = real(dom, type, proto);
	fd_set_reason(r, CT_WAIT_NET);
	return r;
}

int ic_pipe2(int (*real)(int[2], int), int fds[2], int flags)
{
	int r = real(fds, flags);
	if (r == 0) {
		fd_set_reason(fds[0], CT_WAIT_PIPE);
		fd_set_reason(fds[1], CT_WAIT_PIPE);
	}
	return r;
}

int ic_dup2(int (*real)(int, int), int oldfd, int newfd)
{
	int r = real(oldfd, newfd);
	fd_forget(newfd);
	return r;
}

int ic_dup3(int (*real)(int, int, int), int oldfd, int newfd, int flags)
{
	int r = real(oldfd, newfd, flags);
	fd_forget(newfd);
	return r;
}

/* ---- event-loop waits: the object is the number of fds or the epoll fd ---- */

int ic_poll(int (*real)(struct pollfd *, nfds_t, int), struct pollfd *fds, nfds_t n, int ms,
	    void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, n, 0, frame, real(fds, n, ms));
}

int ic_ppoll(int (*real)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *),
	     struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
	     void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, n, 0, frame, real(fds, n, ts, mask));
}

int ic_select(int (*real)(int, fd_set *, fd_set *, fd_set *, struct timeval *), int n, fd_set *r,
	      fd_set *w, fd_set *e, struct timeval *tv, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, (int64_t)n, 0, frame, real(n, r, w, e, tv));
}

int ic_pselect(int (*real)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
			   const sigset_t *),
	       int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
	       const sigset_t *mask, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, (int64_t)n, 0, frame, real(n, r, w, e, ts, mask));
}

int ic_epoll_wait(int (*real)(int, struct epoll_event *, int, int), int epfd,
		  struct epoll_event *ev, int max, int ms, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, (int64_t)epfd, 0, frame, real(epfd, ev, max, ms));
}

int ic_epoll_pwait(int (*real)(int, struct epoll_event *, int, int, const sigset_t *), int epfd,
		   struct epoll_event *ev, int max, int ms, const sigset_t *mask, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, (int64_t)epfd, 0, frame,
			  real(epfd, ev, max, ms, mask));
}

/* ---- sleeps: the detail is the requested time in ns ---- */

static uint64_t ts_ns(const struct timespec *ts)
{
	if (!ts || ts->tv_sec < 0 || ts->tv_nsec < 0)
		return 0;
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

int ic_nanosleep(int (*real)(const struct timespec *, struct timespec *),
		 const struct timespec *req, struct timespec *rem, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_SLEEP, 0, ts_ns(req), frame, real(req, rem));
}

/* Absolute deadlines are turned into the time left when the call starts. */
static uint64_t until_ns(clockid_t clk, int flags, const struct timespec *req)
{
	uint64_t want = ts_ns(req);
	if (!(flags & TIMER_ABSTIME))
		return want;
	struct timespec now;
	if (clock_gettime(clk, &now) != 0)
		return 0;
	uint64_t n = ts_ns(&now);
	return want > n ? want - n : 0;
}

int ic_clock_nanosleep(int (*real)(clockid_t, int, const struct timespec *, struct timespec *),
		       clockid_t clk, int flags, const struct timespec *req, struct timespec *rem,
		       void *frame)
{
	/* clock_nanosleep returns an error number, not -1: the result
	 * recorded is that number negated. */
	if (!ic_enter())
		return real(clk, flags, req, rem);
	uint64_t t0;
	int e = errno;
	struct trec *c = call_begin(CT_WAIT_SLEEP, 0, until_ns(clk, flags, req), frame, &t0);
	errno = e;
	int r = real(clk, flags, req, rem);
	e = errno;
	if (c)
		call_end(c, t0, -(int64_t)r, frame);
	errno = e;
	ic_leave();
	return r;
}

int ic_usleep(int (*real)(useconds_t), useconds_t us, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_SLEEP, 0, (uint64_t)us * 1000u, frame, real(us));
}

unsigned ic_sleep(unsigned (*real)(unsigned), unsigned s, void *frame)
{
	/* The result is the seconds left (non-zero when a signal woke it). */
	int64_t r = TRACE_CALL(int64_t, CT_WAIT_SLEEP, 0, (uint64_t)s * 1000000000u, frame,
			       (int64_t)real(s));
	return (unsigned)r;
}

/* ---- more ways into the same waits: vectored calls at an offset, batched
 * socket calls, creat, epoll_pwait2 ---- */

ssize_t ic_prwv(prwv_fn real, int fd, const struct iovec *iov, int cnt, off_t off, unsigned call,
		void *frame)
{
	return FD_CALL(ssize_t, fd, call, frame, real(fd, iov, cnt, off));
}

ssize_t ic_prwv2(prwv2_fn real, int fd, const struct iovec *iov, int cnt, off_t off, int flags,
		 unsigned call, void *frame)
{
	return FD_CALL(ssize_t, fd, call, frame, real(fd, iov, cnt, off, flags));
}

int ic_recvmmsg(int (*real)(int, struct mmsghdr *, unsigned, int, struct timespec *), int fd,
		struct mmsghdr *v, unsigned n, int flags, struct timespec *ts, void *frame)
{
	return FD_CALL(int, fd, CT_CALL_RECV, frame, real(fd, v, n, flags, ts));
}

int ic_sendmmsg(int (*real)(int, struct mmsghdr *, unsigned, int), int fd, struct mmsghdr *v,
		unsigned n, int flags, void *frame)
{
	return FD_CALL(int, fd, CT_CALL_SEND, frame, real(fd, v, n, flags));
}

int ic_creat(int (*real)(const char *, mode_t), const char *path, mode_t mode, void *frame)
{
	int r = TRACE_CALL(int, CT_WAIT_FILE, (int64_t)AT_FDCWD, CT_CALL_OPEN, frame,
			   real(path, mode));
	fd_forget(r);
	return r;
}

int ic_epoll_pwait2(int (*real)(int, struct epoll_event *, int, const struct timespec *,
				const sigset_t *),
		    int epfd, struct epoll_event *ev, int max, const struct timespec *ts,
		    const sigset_t *mask, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, (int64_t)epfd, 0, frame,
			  real(epfd, ev, max, ts, mask));
}

/* New fds: a socketpair's are sockets; a dup's kind is learnt on first use. */
int ic_socketpair(int (*real)(int, int, int, int[2]), int dom, int type, int proto, int sv[2])
{
	int r = real(dom, type, proto, sv);
	if (r == 0) {
		fd_set_reason(sv[0], CT_WAIT_NET);
		fd_set_reason(sv[1], CT_WAIT_NET);
	}
	return r;
}

int ic_dup(int (*real)(int), int fd)
{
	int r = real(fd);
	fd_forget(r);
	return r;
}

/* ---- _FORTIFY_SOURCE: with -O1 and up, glibc's headers send read, pread,
 * recv, recvfrom, poll and ppoll with a buffer of known size to __X_chk, and
 * open/openat with non-constant flags and no mode to __open_2/__openat_2.
 * The real checked function is called, so an overflow still aborts the
 * same way. ---- */

ssize_t ic_read_chk(ssize_t (*real)(int, void *, size_t, size_t), int fd, void *buf, size_t n,
		    size_t buflen, void *frame)
{
	return FD_CALL(ssize_t, fd, CT_CALL_READ, frame, real(fd, buf, n, buflen));
}

ssize_t ic_pread_chk(ssize_t (*real)(int, void *, size_t, off_t, size_t), int fd, void *buf,
		     size_t n, off_t off, size_t buflen, void *frame)
{
	return FD_CALL(ssize_t, fd, CT_CALL_READ, frame, real(fd, buf, n, off, buflen));
}

ssize_t ic_recv_chk(ssize_t (*real)(int, void *, size_t, size_t, int), int fd, void *buf, size_t n,
		    size_t buflen, int flags, void *frame)
{
	return FD_CALL(ssize_t, fd, CT_CALL_RECV, frame, real(fd, buf, n, buflen, flags));
}

ssize_t ic_recvfrom_chk(ssize_t (*real)(int, void *, size_t, size_t, int, struct sockaddr *,
					socklen_t *),
			int fd, void *buf, size_t n, size_t buflen, int flags,
			struct sockaddr *from, socklen_t *fromlen, void *frame)
{
	return FD_CALL(ssize_t, fd, CT_CALL_RECV, frame,
		       real(fd, buf, n, buflen, flags, from, fromlen));
}

int ic_poll_chk(int (*real)(struct pollfd *, nfds_t, int, size_t), struct pollfd *fds, nfds_t n,
		int ms, size_t fdslen, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, n, 0, frame, real(fds, n, ms, fdslen));
}

int ic_ppoll_chk(int (*real)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *,
			     size_t),
		 struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
		 size_t fdslen, void *frame)
{
	return TRACE_CALL(int, CT_WAIT_POLL, n, 0, frame, real(fds, n, ts, mask, fdslen));
}

int ic_open2(int (*real)(const char *, int), const char *path, int flags, void *frame)
{
	int r = TRACE_CALL(int, CT_WAIT_FILE, (int64_t)AT_FDCWD, CT_CALL_OPEN, frame,
			   real(path, flags));
	fd_forget(r);
	return r;
}

int ic_openat2(int (*real)(int, const char *, int), int dirfd, const char *path, int flags,
	       void *frame)
{
	int r = TRACE_CALL(int, CT_WAIT_FILE, (int64_t)dirfd, CT_CALL_OPEN, frame,
			   real(dirfd, path, flags));
	fd_forget(r);
	return r;
}
