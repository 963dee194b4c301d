/* The name table and the per-thread caches in front of it (lftable.h):
 * the cache is keyed by a name's bytes, not its address; every id maps back
 * to its name; an entry mixed from two fills is a miss, not a wrong id; and
 * names interned by a signal handler on the same thread, in the middle of
 * the thread's own interns, keep every id right. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>

#include "record/intern.h"
#include "record/lftable.h"

static void assert_name(uint32_t id, const char *want)
{
	size_t len = 0;
	const char *s = intern_lookup(id, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(s, want, len);
}

static void test_same_bytes_same_id(void **state)
{
	(void)state;
	char buf[32];
	snprintf(buf, sizeof buf, "checkout");
	uint32_t a = intern("checkout");
	uint32_t b = intern(buf);
	assert_true(a != 0);
	assert_int_equal(a, b);
	/* the same buffer with other bytes: another name, though the address
	 * is the one the cache saw */
	snprintf(buf, sizeof buf, "catalog");
	uint32_t c = intern(buf);
	assert_true(c != 0 && c != a);
	assert_name(a, "checkout");
	assert_name(c, "catalog");
	assert_int_equal(intern(buf), c);
}

/* More names than the cache has entries, twice over: the second pass must
 * give the first pass's ids, whichever of them the cache still holds. */
static void test_many_names(void **state)
{
	(void)state;
	enum { N = 300 };
	uint32_t ids[N];
	char buf[32];
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < N; i++) {
			snprintf(buf, sizeof buf, "name-%d", i);
			uint32_t id = intern(buf);
			assert_true(id != 0);
			if (round == 0)
				ids[i] = id;
			else
				assert_int_equal(id, ids[i]);
			assert_name(id, buf);
		}
}

static void test_cache_check_word(void **state)
{
	(void)state;
	struct lft_cache_ent c[4];
	memset(c, 0, sizeof c);
	uint64_t h1 = 0x1234567890abcdefull | 1, h2 = 0x0fedcba987654321ull | 1;
	/* both go to entry 0 (the top two bits) */
	assert_int_equal(h1 >> 62, 0);
	assert_int_equal(h2 >> 62, 0);
	assert_int_equal(lft_cache_get(c, 2, h1), 0);
	lft_cache_put(c, 2, h1, 77);
	assert_int_equal(lft_cache_get(c, 2, h1), 77);
	assert_int_equal(lft_cache_get(c, 2, h2), 0);
	/* a fill of h2 interrupted after its first store, the rest of the
	 * entry from h1: neither hash may get h1's id */
	atomic_store(&c[0].hash, h2);
	assert_int_equal(lft_cache_get(c, 2, h2), 0);
	assert_int_equal(lft_cache_get(c, 2, h1), 0);
	lft_cache_put(c, 2, h2, 78);
	assert_int_equal(lft_cache_get(c, 2, h2), 78);
	assert_int_equal(lft_cache_get(c, 2, h1), 0);
}

/* A handler that interns names of its own, checking each id. */
static volatile sig_atomic_t handler_bad, handler_runs;

static void on_alarm(int sig)
{
	(void)sig;
	static const char *const mine[] = {"sig-a", "sig-b", "sig-c", "sig-d", "sig-e", "sig-f"};
	for (unsigned i = 0; i < sizeof mine / sizeof mine[0]; i++) {
		uint32_t id = intern(mine[i]);
		size_t len = 0;
		const char *s = intern_lookup(id, &len);
		if (!s || len != strlen(mine[i]) || memcmp(s, mine[i], len) != 0)
			handler_bad = 1;
	}
	handler_runs = handler_runs + 1;
}

static void test_signal_handler_interns(void **state)
{
	(void)state;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGPROF, &sa, NULL), 0);
	struct itimerval it = {{0, 50}, {0, 50}};
	assert_int_equal(setitimer(ITIMER_PROF, &it, NULL), 0);
	char buf[32];
	int bad = 0;
	/* until the handler ran often enough, bounded by iterations, not time */
	for (long i = 0; i < 20000000 && (handler_runs < 200 || i < 200000); i++) {
		snprintf(buf, sizeof buf, "main-%ld", i % 40);
		uint32_t id = intern(buf);
		size_t len = 0;
		const char *s = intern_lookup(id, &len);
		if (!s || len != strlen(buf) || memcmp(s, buf, len) != 0)
			bad++;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_PROF, &off, NULL);
	signal(SIGPROF, SIG_IGN);
	assert_int_equal(bad, 0);
	assert_int_equal(handler_bad, 0);
	assert_true(handler_runs > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_same_id),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_cache_check_word),
		cmocka_unit_test(test_signal_handler_interns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
