#!/usr/bin/env bash
# `cmake --install` gives headers, both libraries, the command and a
# pkg-config file that a program can build against, shared and static.
set -euo pipefail
build=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in include/ctrace.h include/ctrace_reader.h include/ctrace_events.h bin/ctrace; do
	[ -e "$tmp/prefix/$f" ] || { echo "missing $f"; exit 1; }
done
libdir=$(dirname "$(find "$tmp/prefix" -name ctrace.pc | head -n1)")/..
[ -e "$libdir/libctrace.a" ] || { echo "missing libctrace.a"; exit 1; }
ls "$libdir"/libctrace.so* >/dev/null || { echo "missing libctrace.so"; exit 1; }
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shared
cc -o "$tmp/pipeline" "$src/examples/pipeline.c" $(pkg-config --cflags --libs ctrace) -lpthread
LD_LIBRARY_PATH="$libdir" "$tmp/pipeline" -q -n 50 -o "$tmp/shared.ct"
"$tmp/prefix/bin/ctrace" report "$tmp/shared.ct" >/dev/null
# the reading API is exported from the shared library too
cat >"$tmp/count.c" <<'C'
#include <stdio.h>
#include <ctrace_reader.h>
int main(int argc, char **argv)
{
	ct_reader *r;
	struct ct_event ev;
	long n = 0;
	if (argc != 2 || ct_reader_open(argv[1], &r) != 0)
		return 1;
	while (ct_reader_next(r, &ev) == 1)
		n += ev.type == CT_EV_TASK_END;
	ct_reader_close(r);
	printf("%ld\n", n);
	return 0;
}
C
cc -o "$tmp/count" "$tmp/count.c" $(pkg-config --cflags --libs ctrace)
[ "$(LD_LIBRARY_PATH="$libdir" "$tmp/count" "$tmp/shared.ct")" = 50 ] ||
	{ echo "reader through the shared library did not count 50 tasks"; exit 1; }
# static: the archive in place of -lctrace, the private dependencies after it
static_libs=$(pkg-config --libs --static ctrace | sed "s|-lctrace|$libdir/libctrace.a|")
cc -o "$tmp/pipeline-static" "$src/examples/pipeline.c" $(pkg-config --cflags ctrace) $static_libs
"$tmp/pipeline-static" -q -n 50 -o "$tmp/static.ct"
"$tmp/prefix/bin/ctrace" report "$tmp/static.ct" >/dev/null
echo "install: headers, libraries, command and pkg-config work (shared and static)"
