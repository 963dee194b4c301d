# pprof export read by the real `go tool pprof`: function names, values with
# units, labels, inlined frames and mappings come out as written, and ctrace's
# own -top table (pprof_write_text) is line for line what pprof prints, on a
# known profile and on random ones (recursion, inlining, dropped rows, top N).
#
#   bash test_pprof_go.sh PATH/TO/ctrace BUILD_DIR
set -u

BUILD=${2:?usage: test_pprof_go.sh CTRACE BUILD_DIR}
SAMPLE="$BUILD/tests/pprof_sample"
if ! command -v go >/dev/null 2>&1; then
	echo "test_pprof_go: skipped: go not installed (scripts/deps installs golang-go)"
	exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

# A clean, offline Go: no network, no symbolization, nothing read or written
# outside $TMP, dates printed in UTC.
export HOME="$TMP/home" GOCACHE="$TMP/home/gocache" GOPATH="$TMP/home/go" PPROF_TMPDIR="$TMP/home"
export GOPROXY=off GOFLAGS= GOTOOLCHAIN=local TZ=UTC
mkdir -p "$HOME"
cd "$TMP" || exit 1

pprof() { # OUT ARGS...: go tool pprof, stdout in OUT
	local out=$1
	shift
	go tool pprof -symbolize=none "$@" >"$out" 2>"$TMP/err" ||
		fail "go tool pprof $*: exit $? ($(head -c 300 "$TMP/err"))"
}

# same_table MINE PPROF WHAT: the tables agree from "Showing nodes" on (the
# lines above are pprof's file header).
same_table() {
	if ! diff <(sed -n '/^Showing nodes/,$p' "$1") <(sed -n '/^Showing nodes/,$p' "$2") >"$TMP/diff"; then
		fail "$3: ctrace's table differs from go tool pprof -top:"
		cat "$TMP/diff" >&2
	fi
	grep -q '^Showing nodes' "$2" || fail "$3: no table from go tool pprof"
}

# ---- a known profile ----
"$SAMPLE" "$TMP/s.pb.gz" >"$TMP/mine.txt" || fail "pprof_sample failed"

pprof "$TMP/traces.txt" -traces "$TMP/s.pb.gz"
for want in 'Build ID: deadbeef01' 'ctrace pprof_sample' 'Type: delay' 'Duration: 3s'; do
	grep -qF "$want" "$TMP/traces.txt" || fail "-traces header lacks '$want'"
done
# Samples in order; labels sorted, strings then numbers (with their unit);
# the value of the default type (delay) scaled; the inlined frame marked.
cat >"$TMP/want_traces.txt" <<'EOF'
-----------+-------------------------------------------------------
    thread:  worker-1
       tid:  1234
        2s   lock_wait (inline)
             mutex_lock_slow
             handle_request
             main
-----------+-------------------------------------------------------
    thread:  worker-2
     750ms   lock_wait (inline)
             mutex_lock_slow
             handle_request
             main
-----------+-------------------------------------------------------
    thread:  worker-1
     bytes:  4kB
     250ms   read_socket
             handle_request
             main
-----------+-------------------------------------------------------
EOF
if ! diff "$TMP/want_traces.txt" <(sed -n '/^-----------+/,$p' "$TMP/traces.txt") >"$TMP/diff"; then
	fail "-traces output differs from the profile written:"
	cat "$TMP/diff" >&2
fi

# -raw: both value types with units, the default marked, the accumulated
# values, file and line of every frame, the mapping fully symbolized.
pprof "$TMP/raw.txt" -raw "$TMP/s.pb.gz"
for want in 'contentions/count delay/nanoseconds[dflt]' \
	'          2 2000000000: 1 2 3 ' \
	'          3  750000000: 1 2 3 ' \
	'          5  250000000: 4 5 3 ' \
	'                bytes:[4096 bytes]' \
	'     1: 0x401010 M=1 lock_wait src/lock.h:12 s=0' \
	'             mutex_lock_slow src/lock.c:40 s=0' \
	'     5: 0x401210 M=1 handle_request src/server.c:92 s=0' \
	'1: 0x400000/0x500000/0x0 /usr/bin/demo deadbeef01 [FN][FL][LN][IN]' \
	'PeriodType: contentions count'; do
	grep -qxF -- "$want" "$TMP/raw.txt" || fail "-raw lacks the line '$want'"
done

pprof "$TMP/top.txt" -top "$TMP/s.pb.gz"
grep -qxF '    2750ms 91.67% 91.67%     2750ms 91.67%  lock_wait (inline)' "$TMP/top.txt" ||
	fail "-top: lock_wait row wrong: $(grep lock_wait "$TMP/top.txt")"
same_table "$TMP/mine.txt" "$TMP/top.txt" "known profile"

pprof "$TMP/top_count.txt" -top -sample_index=contentions "$TMP/s.pb.gz"
for want in '         5 50.00% 50.00%          5 50.00%  lock_wait (inline)' \
	'         0     0%   100%         10   100%  handle_request'; do
	grep -qxF -- "$want" "$TMP/top_count.txt" || fail "-top -sample_index=contentions lacks '$want'"
done

# ---- random profiles: the table matches pprof's, all rows and top 10 ----
for seed in 1 2 3 4 5 6; do
	for top in 0 10; do
		"$SAMPLE" --random "$seed" "$top" "$TMP/r.pb.gz" >"$TMP/mine.txt" ||
			fail "pprof_sample --random $seed failed"
		nodecount=()
		[ "$top" -gt 0 ] && nodecount=(-nodecount="$top")
		pprof "$TMP/top.txt" -top "${nodecount[@]}" "$TMP/r.pb.gz"
		same_table "$TMP/mine.txt" "$TMP/top.txt" "random profile $seed, top $top"
	done
done

[ "$FAILS" -eq 0 ] || {
	echo "$FAILS failure(s)" >&2
	exit 1
}
echo "test_pprof_go: all passed"
