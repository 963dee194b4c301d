/* Tests of the writer's symbolizer on this very process: DWARF names and
 * lines, inlined frames, libc's symbol table, unknown memory, dlopen. */
#include <dlfcn.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "record/symbolize.h"

/* noclone: a clone (plain_function.constprop.0) would still be named
 * plain_function by DWARF, but keep the code where the test expects it. */
#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

/* The address of the call instruction in the caller, as the recorder will
 * pass it (return address - 1). */
static NOINLINE uintptr_t call_site(void)
{
	return (uintptr_t)__builtin_return_address(0) - 1;
}

/* The empty asm after each call keeps it from becoming a tail call, which
 * would lose the caller's frame. */
static NOINLINE uintptr_t plain_function(int *line)
{
	*line = __LINE__ + 1;
	uintptr_t pc = call_site();
	__asm__ volatile("" : "+r"(pc));
	return pc;
}

static inline __attribute__((always_inline)) uintptr_t inlined_leaf(int *line)
{
	*line = __LINE__ + 1;
	uintptr_t pc = call_site();
	__asm__ volatile("" : "+r"(pc));
	return pc;
}

static inline __attribute__((always_inline)) uintptr_t inlined_middle(int *leaf, int *middle)
{
	*middle = __LINE__ + 1;
	uintptr_t pc = inlined_leaf(leaf);
	__asm__ volatile("" : "+r"(pc));
	return pc;
}

static NOINLINE uintptr_t inline_caller(int *leaf, int *outer)
{
	*outer = __LINE__ + 1;
	uintptr_t pc = inlined_leaf(leaf);
	__asm__ volatile("" : "+r"(pc));
	return pc;
}

static NOINLINE uintptr_t nested_caller(int *leaf, int *middle, int *outer)
{
	*outer = __LINE__ + 1;
	uintptr_t pc = inlined_middle(leaf, middle);
	__asm__ volatile("" : "+r"(pc));
	return pc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void assert_frame(const struct sym_frame *f, const char *function, int line)
{
	assert_string_equal(f->function, function);
	assert_true(ends_with(f->file, "test_symbolize.c"));
	assert_int_equal(f->line, line);
}

static void test_plain_function(void **state)
{
	(void)state;
	struct symbolizer *s = sym_open();
	assert_non_null(s);
	int line;
	uintptr_t pc = plain_function(&line);
	struct sym_frame f[SYM_MAX_FRAMES];
	uint32_t m = 0;

	assert_int_equal(sym_lookup(s, pc, f, SYM_MAX_FRAMES, &m), 1);
	assert_frame(&f[0], "plain_function", line);
	assert_int_not_equal(m, 0);

	/* Cached: the same frames, the same (interned) strings. */
	struct sym_frame g[SYM_MAX_FRAMES];
	uint32_t m2 = 0;
	assert_int_equal(sym_lookup(s, pc, g, SYM_MAX_FRAMES, &m2), 1);
	assert_ptr_equal(g[0].function, f[0].function);
	assert_ptr_equal(g[0].file, f[0].file);
	assert_int_equal(m2, m);
	sym_close(s);
}

static void test_inlined_frames(void **state)
{
	(void)state;
	struct symbolizer *s = sym_open();
	assert_non_null(s);
	int leaf, outer;
	uintptr_t pc = inline_caller(&leaf, &outer);
	struct sym_frame f[SYM_MAX_FRAMES];

	assert_int_equal(sym_lookup(s, pc, f, SYM_MAX_FRAMES, NULL), 2);
	assert_frame(&f[0], "inlined_leaf", leaf);
	assert_frame(&f[1], "inline_caller", outer);

	/* A short buffer keeps the innermost frames. */
	assert_int_equal(sym_lookup(s, pc, f, 1, NULL), 1);
	assert_frame(&f[0], "inlined_leaf", leaf);
	assert_int_equal(sym_lookup(s, pc, f, 0, NULL), 0);
	sym_close(s);
}

static void test_nested_inlined_frames(void **state)
{
	(void)state;
	struct symbolizer *s = sym_open();
	assert_non_null(s);
	int leaf, middle, outer;
	uintptr_t pc = nested_caller(&leaf, &middle, &outer);
	struct sym_frame f[SYM_MAX_FRAMES];

	assert_int_equal(sym_lookup(s, pc, f, SYM_MAX_FRAMES, NULL), 3);
	assert_frame(&f[0], "inlined_leaf", leaf);
	assert_frame(&f[1], "inlined_middle", middle);
	assert_frame(&f[2], "nested_caller", outer);
	sym_close(s);
}

static void test_libc_symbol(void **state)
{
	(void)state;
	struct symbolizer *s = sym_open();
	assert_non_null(s);
	/* dlsym, not &getpid: in a non-PIE build that could be a PLT stub. */
	void *fn = dlsym(RTLD_DEFAULT, "getpid");
	assert_non_null(fn);
	struct sym_frame f[SYM_MAX_FRAMES];
	uint32_t m = 0;

	assert_true(sym_lookup(s, (uintptr_t)fn, f, SYM_MAX_FRAMES, &m) >= 1);
	assert_non_null(strstr(f[0].function, "getpid"));
	assert_non_null(f[0].file); /* "" without libc's debuginfo */

	const struct sym_mapping *maps;
	size_t n = sym_mappings(s, &maps);
	assert_in_range(m, 1, n);
	assert_non_null(strstr(maps[m - 1].path, "libc.so"));
	assert_true(maps[m - 1].start <= (uintptr_t)fn && (uintptr_t)fn < maps[m - 1].end);
	assert_true(maps[m - 1].build_id_len > 0);
	sym_close(s);
}

static void test_unknown_memory(void **state)
{
	(void)state;
	struct symbolizer *s = sym_open();
	assert_non_null(s);
	long page = sysconf(_SC_PAGESIZE);
	/* Executable anonymous memory, as a JIT would have: after the refresh it
	 * is in /proc/self/maps but in no file. */
	uint8_t *jit = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(jit != MAP_FAILED);
	jit[0] = 0xc3;
	assert_true(sym_refresh(s) >= 0);

	int on_stack;
	const uint64_t addrs[] = {0,
				  1,
				  4096,
				  (uintptr_t)jit,
				  (uintptr_t)jit + 100,
				  (uintptr_t)&on_stack,
				  (uintptr_t)state,
				  0xffffffffff600000ull,
				  UINT64_MAX,
				  1ull << 62};
	struct sym_frame f[SYM_MAX_FRAMES];
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		uint32_t m = 123;
		assert_int_equal(sym_lookup(s, addrs[i], f, SYM_MAX_FRAMES, &m), 0);
		assert_int_equal(m, 0);
	}
	/* Again, from the cache. */
	uint32_t m = 123;
	assert_int_equal(sym_lookup(s, (uintptr_t)jit, f, SYM_MAX_FRAMES, &m), 0);
	assert_int_equal(m, 0);
	munmap(jit, page);
	sym_close(s);
}

static void test_executable_mapping(void **state)
{
	(void)state;
	struct symbolizer *s = sym_open();
	assert_non_null(s);
	const struct sym_mapping *maps;
	size_t n = sym_mappings(s, &maps);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		assert_true(maps[i].start < maps[i].end);
		assert_non_null(maps[i].path);
		assert_true(maps[i].path[0] != '\0');
		if (i > 0)
			assert_true(maps[i - 1].end <= maps[i].start);
	}

	int line;
	uint32_t m = 0;
	struct sym_frame f[SYM_MAX_FRAMES];
	assert_int_equal(sym_lookup(s, plain_function(&line), f, SYM_MAX_FRAMES, &m), 1);
	assert_in_range(m, 1, n);
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(len > 0);
	exe[len] = '\0';
	assert_string_equal(maps[m - 1].path, exe);
	assert_true(maps[m - 1].build_id_len >= 16);

	/* Nothing changed: the refresh is a no-op and the table stays. */
	assert_int_equal(sym_refresh(s), 0);
	const struct sym_mapping *again;
	assert_int_equal(sym_mappings(s, &again), n);
	assert_ptr_equal(again, maps);
	sym_close(s);
}

/* A library this process has not loaded yet, and one of its functions. */
static void *load_new_library(const char **name, void **fn)
{
	static const char *const libs[][2] = {
		{"libcrypt.so.1", "crypt"},
		{"libbz2.so.1.0", "BZ2_bzlibVersion"},
		{"libresolv.so.2", "ns_name_uncompress"},
		{"libz.so.1", "zlibVersion"},
	};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		void *h = dlopen(libs[i][0], RTLD_NOW | RTLD_NOLOAD);
		if (h) {
			dlclose(h);
			continue;
		}
		h = dlopen(libs[i][0], RTLD_NOW | RTLD_LOCAL);
		if (!h)
			continue;
		*fn = dlsym(h, libs[i][1]);
		if (*fn) {
			*name = libs[i][0];
			return h;
		}
		dlclose(h);
	}
	return NULL;
}

static void test_dlopen_after_open(void **state)
{
	(void)state;
	struct symbolizer *s = sym_open();
	assert_non_null(s);
	int line;
	struct sym_frame f[SYM_MAX_FRAMES], g[SYM_MAX_FRAMES];
	uint32_t m_before = 0, m_after = 0;
	uintptr_t pc = plain_function(&line);
	assert_int_equal(sym_lookup(s, pc, f, SYM_MAX_FRAMES, &m_before), 1);

	const char *name = NULL;
	void *fn = NULL;
	void *h = load_new_library(&name, &fn);
	if (!h)
		skip();

	/* Not known before the refresh (and that answer is cached)... */
	uint32_t m = 0;
	assert_int_equal(sym_lookup(s, (uintptr_t)fn, f, SYM_MAX_FRAMES, &m), 0);
	assert_int_equal(m, 0);

	/* ...but found after it. */
	assert_int_equal(sym_refresh(s), 1);
	assert_true(sym_lookup(s, (uintptr_t)fn, f, SYM_MAX_FRAMES, &m) >= 1);
	const struct sym_mapping *maps;
	size_t n = sym_mappings(s, &maps);
	assert_in_range(m, 1, n);
	assert_non_null(strstr(maps[m - 1].path, name));
	assert_true(maps[m - 1].build_id_len > 0);
	assert_true(f[0].function[0] != '\0');

	/* What was cached for unchanged mappings survives, renumbered. */
	assert_int_equal(sym_lookup(s, pc, g, SYM_MAX_FRAMES, &m_after), 1);
	assert_string_equal(g[0].function, "plain_function");
	assert_in_range(m_after, 1, n);
	assert_true(maps[m_after - 1].start <= pc && pc < maps[m_after - 1].end);
	assert_int_equal(sym_refresh(s), 0);

	/* Unloaded again: the library's addresses are forgotten. */
	dlclose(h);
	if (sym_refresh(s) == 1)
		assert_int_equal(sym_lookup(s, (uintptr_t)fn, f, SYM_MAX_FRAMES, &m), 0);
	sym_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_function),
		cmocka_unit_test(test_inlined_frames),
		cmocka_unit_test(test_nested_inlined_frames),
		cmocka_unit_test(test_libc_symbol),
		cmocka_unit_test(test_unknown_memory),
		cmocka_unit_test(test_executable_mapping),
		cmocka_unit_test(test_dlopen_after_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
