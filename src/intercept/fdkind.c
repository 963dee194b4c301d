/* What kind of file an fd is (socket, file, pipe, other), cached per fd so
 * that a traced read or write costs no extra syscall after the first. */
#include <sys/stat.h>

#include "intercept/intercept.h"

/* 0 = not known yet, else an enum ct_wait_reason. Entries are reset where
 * an fd number gets a new file through an interposed call (open, socket,
 * accept, pipe, dup2, close); fds made by calls not interposed (fopen's
 * internal open, fclose) keep the kind of the last file seen on that
 * number until one of those resets it. */
_Atomic uint8_t fd_kinds[FD_CACHE];

static unsigned stat_reason(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return CT_WAIT_OTHER_FD;
	switch (st.st_mode & S_IFMT) {
	case S_IFSOCK:
		return CT_WAIT_NET;
	case S_IFREG:
	case S_IFBLK:
		return CT_WAIT_FILE;
	case S_IFIFO:
		return CT_WAIT_PIPE;
	default:
		return CT_WAIT_OTHER_FD;
	}
}

/* A miss of fd_reason() (intercept.h): a new fd, or one out of range. */
unsigned fd_reason_slow(int fd)
{
	if (fd < 0 || fd >= FD_CACHE)
		return fd < 0 ? CT_WAIT_OTHER_FD : stat_reason(fd);
	unsigned k = stat_reason(fd);
	atomic_store_explicit(&fd_kinds[fd], (uint8_t)k, memory_order_relaxed);
	return k;
}

void fd_forget(int fd)
{
	if (fd >= 0 && fd < FD_CACHE)
		atomic_store_explicit(&fd_kinds[fd], 0, memory_order_relaxed);
}

void fd_set_reason(int fd, unsigned reason)
{
	if (fd >= 0 && fd < FD_CACHE)
		atomic_store_explicit(&fd_kinds[fd], (uint8_t)reason, memory_order_relaxed);
}
