/* Writes the fuzzer's seed traces (tests/fuzz/corpus/) with the test trace
 * builder. Not built by CMake; run by hand when the format changes:
 *   gcc -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -Itests src/format/spec.c \
 *       tests/fuzz/make_corpus.c -lzstd -lz -o /tmp/make_corpus
 *   /tmp/make_corpus tests/fuzz/corpus */
#include <stdio.h>

#include "reader_sample.h"
#include "tracebuilder.h"

static void save(struct tb *b, const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (tb_write_file(b, path))
		perror(path);
	tb_free(b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	struct tb b;
	sample_trace(&b, 2, 0, 0, 1, NULL);
	save(&b, dir, "plain-2gen.ct");
	sample_trace(&b, 2, 1, 1, 1, NULL);
	save(&b, dir, "tsc-zstd-2gen.ct");
	sample_trace(&b, 1, 1, 0, 0, NULL);
	save(&b, dir, "tsc-noend.ct");

	/* A newer writer's event kind and an unknown section. */
	tb_init(&b);
	static const uint8_t kinds[] = {1, 0, 3, 4, 6};
	tb_add_spec(&b, 42, 5, 3, "future.thing", kinds);
	tb_gen_begin(&b, 1);
	tb_thread(&b, 1, 7, "t", 0);
	tb_thread(&b, 2, 8, "u", 1);
	tb_string(&b, 5, "five");
	tb_location(&b, 0x10, 0, 0, NULL);
	tb_stack(&b, 9, 1, (uint64_t[]){1});
	tb_batch_begin(&b, 1, 100);
	tb_event(&b, 42, 2, TB_ARGS(5, 6, 7, 2, 9), 5, 9, "xyz", 3);
	TB_EV0(&b, CT_EV_REGION_END, 3);
	tb_batch_end(&b);
	tb_batch_begin(&b, 2, 100);
	TB_EV(&b, CT_EV_REGION_BEGIN, 2, 5);
	tb_batch_end(&b);
	tb_raw_section(&b, 200, "\x01\x02", 2);
	tb_gen_end(&b, 0);
	tb_end(&b, 3, 0, 1);
	save(&b, dir, "newer-writer.ct");
	return 0;
}
