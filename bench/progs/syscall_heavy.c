/* A syscall-heavy program for bench_run.sh: THREADS threads each write 64
 * bytes into their own pipe and read them back, and read 4 KiB of a file
 * (in the page cache) at an offset, N times: three syscalls per round, none
 * of which waits. Exits non-zero if any call comes back short.
 *
 *   syscall_heavy [THREADS [N]]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long n = 200000;
static int file_fd;
#define FILE_BYTES (1 << 20)

static void *worker(void *arg)
{
	(void)arg;
	int p[2];
	if (pipe(p))
		return (void *)1;
	char msg[64], back[64], page[4096];
	memset(msg, 'm', sizeof msg);
	for (long i = 0; i < n; i++) {
		off_t off = (off_t)((i * 4096) % FILE_BYTES);
		if (write(p[1], msg, sizeof msg) != (ssize_t)sizeof msg ||
		    read(p[0], back, sizeof back) != (ssize_t)sizeof back ||
		    pread(file_fd, page, sizeof page, off) != (ssize_t)sizeof page)
			return (void *)1;
	}
	close(p[0]);
	close(p[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 2;
	if (argc > 2)
		n = atol(argv[2]);
	if (threads < 1 || threads > 64 || n < 1) {
		fprintf(stderr, "usage: syscall_heavy [THREADS [N]]\n");
		return 2;
	}
	char path[] = "/tmp/syscall_heavy-XXXXXX";
	file_fd = mkstemp(path);
	if (file_fd < 0) {
		perror("syscall_heavy: mkstemp");
		return 1;
	}
	unlink(path);
	static char block[FILE_BYTES];
	memset(block, 'f', sizeof block);
	if (write(file_fd, block, sizeof block) != (ssize_t)sizeof block) {
		perror("syscall_heavy: write");
		return 1;
	}
	pthread_t th[64];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, worker, NULL)) {
			perror("syscall_heavy: pthread_create");
			return 1;
		}
	int bad = 0;
	for (int i = 0; i < threads; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad |= r != NULL;
	}
	close(file_fd);
	printf("%ld\n", bad ? -1L : (long)threads * n * 3);
	return bad;
}
