/* The /proc parsers behind the schedstat fallback and the fault counts:
 * command names with spaces and parentheses, short and malformed lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "record/src_sched.h"

static void test_schedstat(void **state)
{
	(void)state;
	uint64_t run, delay, slices;
	assert_int_equal(
		src_sched_parse_schedstat("123456789 987654321 42\n", &run, &delay, &slices), 0);
	assert_int_equal(run, 123456789);
	assert_int_equal(delay, 987654321);
	assert_int_equal(slices, 42);
	assert_int_equal(
		src_sched_parse_schedstat("18446744073709551615 0 1", &run, &delay, &slices), 0);
	assert_true(run == UINT64_MAX);
	assert_int_equal(src_sched_parse_schedstat("1 2\n", &run, &delay, &slices), -1);
	assert_int_equal(src_sched_parse_schedstat("", &run, &delay, &slices), -1);
	assert_int_equal(src_sched_parse_schedstat("x 2 3", &run, &delay, &slices), -1);
}

static void test_stat(void **state)
{
	(void)state;
	uint64_t minflt, majflt, stime;
	/* pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt ... */
	const char *plain = "4242 (worker) S 1 4242 4242 0 -1 4194368 1500 7 3 0 12 4 0 0 20 0 "
			    "5 0 1234 0 0\n";
	assert_int_equal(src_sched_parse_stat(plain, &minflt, &majflt, &stime), 0);
	assert_int_equal(minflt, 1500);
	assert_int_equal(majflt, 3);
	assert_int_equal(stime, 4);
	/* a name with spaces and parentheses: only the last ')' ends it */
	const char *odd = "7 (a) b (c) d) R 1 7 7 0 -1 4194304 99 0 11 0 1 1\n";
	assert_int_equal(src_sched_parse_stat(odd, &minflt, &majflt, &stime), 0);
	assert_int_equal(minflt, 99);
	assert_int_equal(majflt, 11);
	assert_int_equal(stime, 1);
	assert_int_equal(
		src_sched_parse_stat("7 (short) R 1 7 7 0 -1 4194304 99", &minflt, &majflt, &stime),
		-1);
	/* cut before stime */
	assert_int_equal(src_sched_parse_stat("7 (short) R 1 7 7 0 -1 4194304 99 0 11 0 1", &minflt,
					      &majflt, &stime),
			 -1);
	assert_int_equal(src_sched_parse_stat("no parenthesis here", &minflt, &majflt, &stime), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedstat),
		cmocka_unit_test(test_stat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
