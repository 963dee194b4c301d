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
# static: the archive in place of -lctrace, the private dependencies after it
static_libs=$(pkg-config --libs --static ctrace | sed "s|-lctrace|$libdir/libctrace.a|")
cc -o "$tmp/pipeline-static" "$src/examples/pipeline.c" $(pkg-config --cflags ctrace) $static_libs
"$tmp/pipeline-static" -q -n 50 -o "$tmp/static.ct"
"$tmp/prefix/bin/ctrace" report "$tmp/static.ct" >/dev/null
echo "install: headers, libraries, command and pkg-config work (shared and static)"
