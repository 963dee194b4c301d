# `ctrace profile`: flags and errors; every profile type of a synthetic
# trace with known values (tests/profile_trace.h), as ctrace's table and as
# read by the real `go tool pprof`; and real traces of waits_prog (a
# contended mutex, a late socket peer) recorded through `ctrace run`.
#
#   bash test_profile_cli.sh PATH/TO/ctrace BUILD_DIR
set -u

CTRACE=${1:?usage: test_profile_cli.sh CTRACE BUILD_DIR}
BUILD=${2:?usage: test_profile_cli.sh CTRACE BUILD_DIR}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0
SKIPPED=()

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

# to_ms 100594.36us -> 100 (whole milliseconds, rounded down)
to_ms() {
	echo "$1" | awk '{ v = $0 + 0; u = $0; sub(/^[0-9.]+/, "", u);
		f = (u == "ns") ? 1e-6 : (u == "us" || u == "µs") ? 1e-3 : (u == "ms") ? 1 : 1000;
		printf "%d\n", v * f }'
}

# run EXPECTED_STATUS ARGS...: runs ctrace, output in $TMP/out and $TMP/err.
run() {
	local want=$1
	shift
	"$CTRACE" "$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	[ "$got" -eq "$want" ] || fail "ctrace $*: exit $got, want $want ($(head -c 300 "$TMP/err"))"
}

one_line_error() {
	local n
	n=$(wc -l <"$TMP/err")
	[ "$n" -eq 1 ] || fail "$1: $n lines on stderr, want 1: $(cat "$TMP/err")"
	grep -q '^ctrace' "$TMP/err" || fail "$1: stderr does not start with 'ctrace': $(cat "$TMP/err")"
}

has_line() { # FILE LINE WHAT: FILE has exactly that line
	grep -qxF -- "$2" "$1" || fail "$3: no line '$2' in: $(head -c 1500 "$1")"
}

"$BUILD/tests/profile_trace" "$TMP/s.ct" || fail "profile_trace failed"
S="$TMP/s.ct"

# ---- help and usage errors ----

run 0 --help
grep -q '^  profile' "$TMP/out" || fail "--help does not list profile"
run 0 help profile
grep -q -- '--include-idle' "$TMP/out" || fail "help profile does not describe --include-idle"
run 0 profile --help
grep -q -- '--type' "$TMP/out" || fail "profile --help does not describe --type"

for args in "profile" "profile $S" "profile --type" "profile --type mutex $S" \
	"profile --type sync" "profile --type sync --bogus $S" "profile -t sync $S $S" \
	"profile -t sync -n -1 $S" "profile -t sync -n 1x $S" "profile -t sync --top=abc $S" \
	"profile -t sync --from 10 $S" "profile -t sync --from=1h $S" "profile -t sync --to -1s $S" \
	"profile -t sync --from 2s --to 1s $S" "profile -t sync -o $S" "profile -t sync --output= $S" \
	"profile -t=sync $S"; do
	# shellcheck disable=SC2086 # word splitting intended
	run 2 $args
	one_line_error "ctrace $args"
	[ -s "$TMP/out" ] && fail "ctrace $args: printed on stdout"
done

# ---- unreadable traces ----

run 1 profile -t sync "$TMP/missing.ct"
one_line_error "missing file"
grep -q "missing.ct" "$TMP/err" || fail "missing file: error does not name the file"

printf 'not a trace at all\n' >"$TMP/text.ct"
run 1 profile -t cpu "$TMP/text.ct"
one_line_error "not a trace"
run 1 profile -t sync -o "$TMP/no/such/dir/x.pb.gz" "$S"
one_line_error "unwritable output"
grep -q 'no/such/dir/x.pb.gz' "$TMP/err" || fail "unwritable output: error does not name it"
: >"$TMP/empty.ct"
run 1 profile -t cpu -o "$TMP/x.pb.gz" "$TMP/empty.ct"
one_line_error "empty file"
[ -e "$TMP/x.pb.gz" ] && fail "empty file: a profile was written"

# Damage in the first generation: nothing readable.
size=$(stat -c %s "$S")
cp "$S" "$TMP/corrupt.ct"
printf '\xff\xff\xff\xff' | dd of="$TMP/corrupt.ct" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
run 1 profile -t sync "$TMP/corrupt.ct"
one_line_error "corrupt trace"
[ -s "$TMP/out" ] && fail "corrupt trace: printed a profile"

# Cut inside generation 2: generation 1's profile, then the error.
head -c $((size - 60)) "$S" >"$TMP/cut.ct"
run 1 profile -t sched "$TMP/cut.ct"
one_line_error "trace cut inside a generation"
grep -q 'truncated\|cut\|short' "$TMP/err" || fail "cut trace: error does not say so: $(cat "$TMP/err")"
has_line "$TMP/out" 'Total: 4 delays, 1.90µs runnable' "cut trace: generation 1's profile"

# Cut at the end frame: complete generations, a warning, status 0.
head -c $((size - 35)) "$S" >"$TMP/noend.ct"
run 0 profile -t sync "$TMP/noend.ct"
grep -q 'no end frame' "$TMP/err" || fail "no end frame: no warning: $(cat "$TMP/err")"
has_line "$TMP/out" 'Total: 3 contentions, 15.0µs delay' "no end frame: the whole profile"

# ---- the synthetic trace: ctrace's table ----

run 0 profile -t sync "$S"
has_line "$TMP/out" 'Total: 3 contentions, 15.0µs delay' "sync total"
has_line "$TMP/out" '      15us   100%   100%       15us   100%  lock_site' "sync top row"
has_line "$TMP/out" '  10.0µs  66.7%      1  tid 999' "sync by holder"
has_line "$TMP/out" '  3.00µs  20.0%      1  worker (102)' "sync by holder"
has_line "$TMP/out" '  2.00µs  13.3%      1  late (104)' "sync by holder (named in a later generation)"
run 0 profile -t sync --include-idle "$S"
has_line "$TMP/out" 'Total: 4 contentions, 17.0µs delay' "sync --include-idle total"
run 0 profile -t syscall -n 1 "$S"
has_line "$TMP/out" 'Showing top 1 nodes out of 6' "-n 1"
has_line "$TMP/out" '       3us 66.67% 66.67%        3us 66.67%  read_site' "syscall -n 1 row"
run 0 profile -t sched --thread worker "$S"
has_line "$TMP/out" 'Total: 3 delays, 1.20µs runnable' "sched --thread worker"
run 0 profile -t sync --task-type request "$S"
has_line "$TMP/out" 'Total: 1 contentions, 3.00µs delay' "sync --task-type request"
run 0 profile -t sync --from=2.4us --to 3.9us "$S"
has_line "$TMP/out" 'Total: 1 contentions, 1.50µs delay' "sync --from --to"

# No data: said on stderr, status 0, and -o still writes a (empty) profile.
run 0 profile -t sync --thread nobody "$S"
one_line_error "no data"
grep -q 'no sync contention in this trace (3 left out by' "$TMP/err" || fail "no data: $(cat "$TMP/err")"
[ -s "$TMP/out" ] && fail "no data: printed a table"
run 0 profile -t cpu -o "$TMP/none.pb.gz" "$TMP/noend.ct" --thread pool
[ -s "$TMP/none.pb.gz" ] || fail "no data: -o wrote nothing"

# ---- the synthetic trace read by go tool pprof ----

if command -v go >/dev/null 2>&1; then
	export HOME="$TMP/home" GOCACHE="$TMP/home/gocache" GOPATH="$TMP/home/go" PPROF_TMPDIR="$TMP/home"
	export GOPROXY=off GOFLAGS= GOTOOLCHAIN=local TZ=UTC
	mkdir -p "$HOME"
	pprof() { # OUT ARGS...
		local out=$1
		shift
		(cd "$TMP" && go tool pprof -symbolize=none "$@") >"$out" 2>"$TMP/perr" ||
			fail "go tool pprof $*: exit $? ($(head -c 300 "$TMP/perr"))"
	}
	# type: the top row pprof must print, and the same table as ctrace's.
	while IFS='|' read -r type row; do
		run 0 profile -t "$type" -o "$TMP/$type.pb.gz" "$S"
		[ -s "$TMP/out" ] && fail "$type -o: printed on stdout"
		pprof "$TMP/$type.top" -top "$TMP/$type.pb.gz"
		has_line "$TMP/$type.top" "$row" "go tool pprof -top, $type"
		run 0 profile -t "$type" -n 0 "$S"
		if ! diff <(sed -n '/^Showing nodes/,/^$/p' "$TMP/out" | sed '/^$/d') \
			<(sed -n '/^Showing nodes/,$p' "$TMP/$type.top") >"$TMP/diff"; then
			fail "$type: ctrace's table differs from go tool pprof -top:"
			cat "$TMP/diff" >&2
		fi
	done <<'EOF'
sync|      15us   100%   100%       15us   100%  lock_site
syscall|    3000ns 66.67% 66.67%     3000ns 66.67%  read_site
net|       3us   100%   100%        3us   100%  read_site
sched|     700ns 36.84% 36.84%      700ns 36.84%  [thread pool]
cpu|      10ms   100%   100%       10ms   100%  spin (inline)
EOF
	# Counts, labels, the sampling period, units.
	pprof "$TMP/count.top" -top -sample_index=contentions "$TMP/sync.pb.gz"
	has_line "$TMP/count.top" '         3   100%   100%          3   100%  lock_site' "sync contentions"
	pprof "$TMP/late.top" -top -tagfocus=holder=late "$TMP/sync.pb.gz"
	has_line "$TMP/late.top" '       2us 13.33% 13.33%        2us 13.33%  lock_site' "-tagfocus holder=late"
	pprof "$TMP/tags" -tags "$TMP/syscall.pb.gz"
	for want in '3.0us (85.71%): recv' '3.0us (85.71%): socket' '500.0ns (14.29%): fsync'; do
		grep -qF -- "$want" "$TMP/tags" || fail "syscall -tags lacks '$want': $(cat "$TMP/tags")"
	done
	pprof "$TMP/raw" -raw "$TMP/cpu.pb.gz"
	for want in 'PeriodType: cpu nanoseconds' 'Period: 10000000' 'samples/count cpu/nanoseconds[dflt]'; do
		has_line "$TMP/raw" "$want" "cpu -raw"
	done
	pprof "$TMP/none.top" -top "$TMP/none.pb.gz"
	grep -q 'Showing nodes accounting for 0, 0% of 0 total' "$TMP/none.top" ||
		fail "empty profile: $(cat "$TMP/none.top" "$TMP/perr")"
else
	SKIPPED+=("go tool pprof checks (go not installed; scripts/deps installs golang-go)")
fi

# ---- real traces: waits_prog through ctrace run ----
# (each run under `timeout 60`: a hang is a failure, not a stuck test)

sanitized=$(sed -n 's/^CTRACE_SANITIZE:STRING=//p; s/^CTRACE_FUZZ:BOOL=ON$/fuzz/p' "$BUILD/CMakeCache.txt" 2>/dev/null)
if [ -n "$sanitized" ]; then
	# A sanitized preload library cannot go into a plain program.
	SKIPPED+=("ctrace run of waits_prog (sanitized build: $sanitized)")
else
	timeout 60 "$CTRACE" run -o "$TMP/mutex.ct" -- "$BUILD/tests/waits_prog" mutex "$TMP/mutex.facts" ||
		fail "ctrace run waits_prog mutex failed"
	holder=$(sed -n 's/^holder_tid //p' "$TMP/mutex.facts")
	run 0 profile -t sync -n 0 "$TMP/mutex.ct"
	# The waiter blocked on the lock at contended_lock_site, held by main.
	top=$(sed -n '/^ *flat  flat%/{n;p;q}' "$TMP/out")
	case "$top" in
	*" contended_lock_site") ;;
	*) fail "real mutex: top row is not contended_lock_site: '$top'" ;;
	esac
	grep -Eq "^ +[0-9.]+(ns|µs|ms|s) +[0-9.]+% +1  .*\($holder\)$" "$TMP/out" ||
		fail "real mutex: no holder row '($holder)': $(cat "$TMP/out")"
	if command -v go >/dev/null 2>&1; then
		cp "$TMP/out" "$TMP/mutex.mine"
		run 0 profile -t sync -o "$TMP/mutex.pb.gz" "$TMP/mutex.ct"
		pprof "$TMP/mutex.top" -top "$TMP/mutex.pb.gz"
		diff <(sed -n '/^Showing nodes/,/^$/p' "$TMP/mutex.mine" | sed '/^$/d') \
			<(sed -n '/^Showing nodes/,$p' "$TMP/mutex.top") >"$TMP/diff" ||
			fail "real mutex: ctrace's table differs from go tool pprof -top: $(cat "$TMP/diff")"
		pprof "$TMP/mutex.tags" -tags -tagfocus="holder=\($holder\)" "$TMP/mutex.pb.gz"
		grep -Eq "^ +[0-9.]+[nuµm]?s \( *100%\): mutex$" "$TMP/mutex.tags" ||
			fail "real mutex: go tool pprof -tags, holder $holder: $(cat "$TMP/mutex.tags")"
	fi

	# Idle workers on a condition variable are not contention.
	timeout 60 "$CTRACE" run -o "$TMP/cv.ct" -- "$BUILD/tests/waits_prog" condvar "$TMP/cv.facts" ||
		fail "ctrace run waits_prog condvar failed"
	run 0 profile -t sync "$TMP/cv.ct"
	n0=$(sed -n 's/^Total: \([0-9,]*\) contentions.*/\1/p' "$TMP/out" | tr -d ,)
	grep -Eq '^Left out: [0-9]+ condition-variable waits|[0-9]+ condition-variable waits' \
		"$TMP/out" "$TMP/err" || fail "real condvar: no word on the idle waits left out"
	run 0 profile -t sync --include-idle "$TMP/cv.ct"
	n1=$(sed -n 's/^Total: \([0-9,]*\) contentions.*/\1/p' "$TMP/out" | tr -d ,)
	[ -n "$n1" ] && [ "$n1" -gt "${n0:-0}" ] ||
		fail "real condvar: --include-idle gives ${n1:-none} contentions, without ${n0:-0}"
	grep -q 'Left out' "$TMP/out" && fail "real condvar: --include-idle still leaves waits out"

	timeout 60 "$CTRACE" run -o "$TMP/net.ct" -- "$BUILD/tests/waits_prog" net "$TMP/net.facts" ||
		fail "ctrace run waits_prog net failed"
	# Blocked when the trace ends (the pipe read, the lock main holds):
	# counted up to the trace's end, labelled unfinished. Older waits_prog
	# builds lack the mode (exit 2).
	timeout 60 "$CTRACE" run -o "$TMP/stuck.ct" -- "$BUILD/tests/waits_prog" stuck "$TMP/stuck.facts"
	case $? in
	0)
		holder=$(sed -n 's/^holder_tid //p' "$TMP/stuck.facts")
		run 0 profile -t sync "$TMP/stuck.ct"
		has_line "$TMP/out" "Unfinished: 1 still open at the trace's end, counted to it" \
			"stuck lock"
		grep -Eq "  contended_lock_site$" "$TMP/out" || fail "stuck lock: no site: $(cat "$TMP/out")"
		grep -Eq "^ +[0-9.]+[nµm]?s +100.0% +1  .*\($holder\)$" "$TMP/out" ||
			fail "stuck lock: holder ($holder) not named: $(cat "$TMP/out")"
		run 0 profile -t syscall "$TMP/stuck.ct"
		grep -q "^Unfinished: 1 " "$TMP/out" || fail "stuck read: not unfinished: $(cat "$TMP/out")"
		grep -Eq "  stuck_read_site$" "$TMP/out" || fail "stuck read: no site: $(cat "$TMP/out")"
		grep -Eq "^ +[0-9.]+[nµm]?s +100.0% +1  pipe$" "$TMP/out" ||
			fail "stuck read: not a pipe wait: $(cat "$TMP/out")"
		;;
	2) SKIPPED+=("threads blocked at the trace's end (this waits_prog has no 'stuck' mode)") ;;
	124) fail "ctrace run waits_prog stuck: still running after 60 s (a hang), killed" ;;
	*) fail "ctrace run waits_prog stuck failed" ;;
	esac

	# The peer answers after 100 ms: recv_site waits at least that long, the
	# top of the net profile; in syscall it is beside the peer's sleep.
	# (the table picks its unit from the values, as pprof does: any unit)
	run 0 profile -t net "$TMP/net.ct"
	top=$(sed -n '/^ *flat  flat%/{n;p;q}' "$TMP/out")
	ms=$(echo "$top" | sed -n 's/^ *\([0-9.]*[nuµm]*s\) .*recv_site.*$/\1/p')
	[ -n "$ms" ] && [ "$(to_ms "$ms")" -ge 100 ] ||
		fail "real net: top '$top', want recv_site >= 100ms"
	grep -Eq '^ +[0-9.]+[nuµm]*s +[0-9.]+% +[0-9]+  recv$' "$TMP/out" ||
		fail "real net: no recv row by call: $(cat "$TMP/out")"
	run 0 profile -t syscall "$TMP/net.ct"
	ms=$(sed -n 's/^ *\([0-9.]*[nuµm]*s\) .*recv_site.*$/\1/p' "$TMP/out" | head -1)
	[ -n "$ms" ] && [ "$(to_ms "$ms")" -ge 100 ] ||
		fail "real net, syscall: want recv_site >= 100ms: $(cat "$TMP/out")"
	grep -Eq '^ +[0-9.]+ms +[0-9.]+% +[0-9]+  sleep$' "$TMP/out" ||
		fail "real net, syscall: no sleep row by reason: $(cat "$TMP/out")"
fi

for s in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do
	echo "test_profile_cli: skipped: $s"
done
[ "$FAILS" -eq 0 ] || {
	echo "$FAILS failure(s)" >&2
	exit 1
}
echo "test_profile_cli: all passed"
