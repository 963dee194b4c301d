/* Writes the synthetic trace of tests/profile_trace.h to a file, for
 * test_profile_cli.sh to profile with the CLI and go tool pprof. */
#include <stdio.h>

#include "profile_trace.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: profile_trace OUT.ct\n");
		return 2;
	}
	struct tb b = profile_trace();
	int rc = tb_write_file(&b, argv[1]);
	tb_free(&b);
	if (rc) {
		fprintf(stderr, "profile_trace: cannot write %s\n", argv[1]);
		return 1;
	}
	return 0;
}
