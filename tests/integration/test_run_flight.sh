# `ctrace run --flight` and the CTRACE_FLIGHT variables: bad option values
# fail with one line and create nothing; a program that gets the dump
# signal (raised by itself, or sent to `ctrace run`, which forwards it)
# leaves a readable dump, 0600 in a 0700 directory, which `ctrace run`
# lists; --flight alone streams no file, with -o both; --dump-signal none
# leaves the signal alone; --dump-on-crash dumps and the program still dies
# of its signal; the same through CTRACE_* with the wrappers.
#
#   bash test_run_flight.sh PATH/TO/ctrace BUILD_DIR
set -u

CTRACE=${1:?usage: test_run_flight.sh CTRACE BUILD_DIR}
BUILD=${2:?usage: test_run_flight.sh CTRACE BUILD_DIR}
PROG="$BUILD/tests/flight_prog"
PROG_WRAP="$BUILD/tests/flight_prog_wrap"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
FAILS=0

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

# The error contract: exactly one line on stderr, starting with "ctrace".
one_line_error() {
	local n
	n=$(wc -l <"$TMP/err")
	[ "$n" -eq 1 ] || fail "$1: $n lines on stderr, want 1: $(cat "$TMP/err")"
	grep -q '^ctrace' "$TMP/err" || fail "$1: stderr does not start with 'ctrace': $(cat "$TMP/err")"
}

# meta FILE KEY: a header metadata value of a trace.
meta() {
	"$CTRACE" report --json "$1" 2>/dev/null | jq -r --arg k "$2" '.file.metadata[$k] // empty'
}

dumps_in() { # DIR: how many dumps
	find "$1" -maxdepth 1 -name '*.ctrace' 2>/dev/null | wc -l
}

# ---- bad values: exit 2, one line, no dump directory ----

for args in "--flight=abc" "--flight=5ms" "--flight=10s,1K" "--flight=10s,10Q" "--flight=" \
	"--flight --dump-signal KILL" "--flight --dump-signal BOGUS" \
	"--flight --dump-cooldown 5x" "--flight --dump-max-files 0" \
	"--flight --dump-max-files -3" "--flight --dump-max-bytes lots" \
	"--dump-dir $TMP/bad" "--slow-task x=1s" "--dump-on-crash" "--slo x:p99>1s"; do
	# shellcheck disable=SC2086 # word splitting intended
	"$CTRACE" run $args --dump-dir "$TMP/bad" -- "$PROG" "$TMP/bad" none >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ "$rc" -eq 2 ] || fail "ctrace run $args: exit $rc, want 2"
	one_line_error "ctrace run $args"
	[ -e "$TMP/bad" ] && fail "ctrace run $args: created the dump directory"
	rm -rf "$TMP/bad"
done
"$CTRACE" run --flight=abc -- "$PROG" x none >/dev/null 2>"$TMP/err"
grep -q -- "--flight: bad value 'abc'" "$TMP/err" || fail "--flight=abc: error does not name the option: $(cat "$TMP/err")"
"$CTRACE" run --dump-dir "$TMP/bad" -- "$PROG" x none >/dev/null 2>"$TMP/err"
grep -q -- "--dump-dir needs --flight" "$TMP/err" || fail "--dump-dir alone: $(cat "$TMP/err")"
"$CTRACE" run --flight --dump-dir /proc/self/nope -- "$PROG" x none >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" -eq 2 ] || fail "uncreatable dump directory: exit $rc, want 2"
one_line_error "uncreatable dump directory"
"$CTRACE" run --help >"$TMP/out"
for o in --flight --dump-dir --dump-signal --dump-on-crash --slow-task --slo --dump-cooldown \
	--dump-max-files --dump-max-bytes; do
	grep -q -- "$o" "$TMP/out" || fail "ctrace run --help does not describe $o"
done

# ---- the wrappers: CTRACE_* variables only (also in sanitized builds) ----

if [ -x "$PROG_WRAP" ]; then
	CTRACE_FLIGHT=2s,1M CTRACE_DUMP_DIR="$TMP/w" CTRACE_DUMP_SIGNAL=USR1 CTRACE_DUMP_COOLDOWN=1m \
		"$PROG_WRAP" "$TMP/w" self 10 >"$TMP/out" 2>"$TMP/err" &
	wpid=$!
	mkdir -p "$TMP/w"
	wait $wpid
	rc=$?
	[ "$rc" -eq 0 ] || fail "CTRACE_FLIGHT (wrappers): exit $rc: $(cat "$TMP/err")"
	[ "$(dumps_in "$TMP/w")" -eq 1 ] || fail "CTRACE_FLIGHT (wrappers): $(dumps_in "$TMP/w") dumps, want 1"
	D=$(find "$TMP/w" -name '*.ctrace' | head -1)
	if [ -n "$D" ]; then
		[ "$(meta "$D" flight.min_age_ns)" = 2000000000 ] || fail "CTRACE_FLIGHT=2s,1M: flight.min_age_ns $(meta "$D" flight.min_age_ns)"
		[ "$(meta "$D" flight.max_bytes)" = 1048576 ] || fail "CTRACE_FLIGHT=2s,1M: flight.max_bytes $(meta "$D" flight.max_bytes)"
		[ "$(meta "$D" trigger.signal)" = 10 ] || fail "CTRACE_DUMP_SIGNAL=USR1: trigger.signal $(meta "$D" trigger.signal)"
	fi
	# Only the flight recorder: no streaming trace anywhere.
	[ -z "$(find "$TMP" -maxdepth 1 -name '*.ctrace')" ] || fail "CTRACE_FLIGHT alone wrote a streaming trace"
	# Under ctrace run, a program with ctrace linked in traces itself: no
	# second copy through the preload library (two would write one file).
	mkdir -p "$TMP/w2" "$TMP/o2"
	"$CTRACE" run --flight --dump-dir "$TMP/w2" -o "$TMP/o2/own.ctrace" -- \
		"$PROG_WRAP" "$TMP/w2" self >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ "$rc" -eq 0 ] || fail "ctrace run on the wrappers' build: exit $rc: $(cat "$TMP/err")"
	grep -q "is linked with ctrace: it traces itself" "$TMP/err" ||
		fail "ctrace run loaded the preload library into a program with ctrace: $(cat "$TMP/err")"
	[ "$(dumps_in "$TMP/w2")" -eq 1 ] || fail "ctrace run (wrappers): $(dumps_in "$TMP/w2") dumps, want 1"
	"$CTRACE" report --json "$TMP/o2/own.ctrace" >"$TMP/j" 2>"$TMP/rerr" ||
		fail "ctrace run (wrappers): its trace is unreadable: $(cat "$TMP/rerr")"
	jq -e '.file.complete == true' "$TMP/j" >/dev/null 2>&1 ||
		fail "ctrace run (wrappers): trace not complete: $(jq -c .file "$TMP/j")"
	CTRACE_FLIGHT=sometimes "$PROG_WRAP" "$TMP/w" none >"$TMP/out" 2>"$TMP/err"
	grep -q "CTRACE_FLIGHT: bad value 'sometimes'" "$TMP/err" || fail "bad CTRACE_FLIGHT not reported: $(cat "$TMP/err")"
else
	fail "$PROG_WRAP not built"
fi

if [ -n "${CTRACE_SANITIZED:-}" ]; then
	echo "skip: ctrace run of a program in a sanitized build (a sanitized preload library cannot go into a plain program)"
	[ "$FAILS" -eq 0 ] || exit 1
	echo "test_run_flight: all passed"
	exit 0
fi

# ---- the program raises the dump signal ----

# Another process's dump in the directory: ctrace run does not list it.
mkdir -m 700 "$TMP/d1"
: >"$TMP/d1/other-1-20200101T000000.000Z-1-signal.ctrace"
"$CTRACE" run --flight --dump-dir "$TMP/d1" -- "$PROG" "$TMP/d1" self >"$TMP/out" 2>"$TMP/err"
rc=$?
rm -f "$TMP/d1/other-1-20200101T000000.000Z-1-signal.ctrace"
[ "$rc" -eq 0 ] || fail "--flight, self: exit $rc: $(cat "$TMP/err")"
[ "$(dumps_in "$TMP/d1")" -eq 1 ] || fail "--flight, self: $(dumps_in "$TMP/d1") dumps, want 1"
grep -q "other-1-" "$TMP/err" && fail "ctrace run lists another process's dump: $(cat "$TMP/err")"
[ "$(stat -c %a "$TMP/d1")" = 700 ] || fail "dump directory mode $(stat -c %a "$TMP/d1"), want 700"
D=$(find "$TMP/d1" -name '*.ctrace' | head -1)
if [ -n "$D" ]; then
	[ "$(stat -c %a "$D")" = 600 ] || fail "dump mode $(stat -c %a "$D"), want 600"
	case "$(basename "$D")" in
	flight_prog-[0-9]*-*-signal.ctrace) ;;
	*) fail "dump name $(basename "$D")" ;;
	esac
	grep -qF "1 dump in $TMP/d1" "$TMP/err" || fail "ctrace run does not say where the dump went: $(cat "$TMP/err")"
	grep -qF "$D" "$TMP/err" || fail "ctrace run does not list $D: $(cat "$TMP/err")"
	"$CTRACE" report --json "$D" >"$TMP/j" 2>"$TMP/rerr" || fail "report of the dump failed: $(cat "$TMP/rerr")"
	jq -e '.file.complete and .file.metadata["dump.reason"] == "signal"
		and .file.metadata["trigger.kind"] == "signal" and .file.metadata["trigger.signal"] == "12"
		and .file.metadata["flight.max_bytes"] == "10485760"
		and .file.metadata["flight.min_age_ns"] == "10000000000"' "$TMP/j" >/dev/null ||
		fail "dump metadata: $(jq -c .file.metadata "$TMP/j")"
	# The contention before the signal is in the window, with its holder.
	jq -e '[.threads[]] | length >= 2' "$TMP/j" >/dev/null || fail "dump does not show both threads"
	jq -e '[.waits.top_sites[] | select(.reason == "mutex" and .function == "waiter" and .holder != null)] | length == 1' "$TMP/j" >/dev/null ||
		fail "dump does not show the mutex wait and its holder: $(jq -c '.waits.top_sites' "$TMP/j")"
fi
[ -z "$(find "$TMP" -maxdepth 1 -name '*.ctrace')" ] || fail "--flight without -o wrote a streaming trace"

# ---- the dump signal sent to ctrace run goes on to the program ----

"$CTRACE" run --flight --dump-dir "$TMP/d2" -- "$PROG" "$TMP/d2" wait >"$TMP/out2" 2>"$TMP/err2" &
cpid=$!
for _ in $(seq 1 1000); do
	grep -q ready "$TMP/out2" 2>/dev/null && break
	sleep 0.01
done
if grep -q ready "$TMP/out2"; then
	kill -USR2 $cpid
	wait $cpid
	rc=$?
	[ "$rc" -eq 0 ] || fail "USR2 to ctrace run: exit $rc: $(cat "$TMP/err2")"
	[ "$(dumps_in "$TMP/d2")" -eq 1 ] || fail "USR2 to ctrace run: $(dumps_in "$TMP/d2") dumps, want 1"
else
	kill $cpid
	wait $cpid
	fail "flight_prog under ctrace run never got ready: $(cat "$TMP/err2")"
fi

# ---- with -o: a streaming trace and the dump; other options reach the program ----

"$CTRACE" run -o "$TMP/both.ct" --flight=2s,2M --dump-dir "$TMP/d3" --dump-signal USR1 \
	--dump-max-files 3 -- "$PROG" "$TMP/d3" self 10 >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] || fail "-o and --flight: exit $rc: $(cat "$TMP/err")"
[ "$(dumps_in "$TMP/d3")" -eq 1 ] || fail "-o and --flight: $(dumps_in "$TMP/d3") dumps, want 1"
"$CTRACE" report --json "$TMP/both.ct" >"$TMP/j" 2>/dev/null || fail "-o and --flight: streaming trace unreadable"
jq -e '.file.complete and (.file.metadata["dump.reason"] == null)' "$TMP/j" >/dev/null ||
	fail "-o and --flight: the streaming trace is not a complete capture"
D=$(find "$TMP/d3" -name '*.ctrace' | head -1)
[ -n "$D" ] && { [ "$(meta "$D" flight.max_bytes)" = 2097152 ] || fail "--flight=2s,2M: flight.max_bytes $(meta "$D" flight.max_bytes)"; }

# ---- --dump-signal none: the program's signal is its own (USR2 kills it) ----

"$CTRACE" run --flight --dump-dir "$TMP/d4" --dump-signal none -- "$PROG" "$TMP/d4" self \
	>"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq $((128 + 12)) ] || fail "--dump-signal none: exit $rc, want 140 (killed by SIGUSR2)"
[ "$(dumps_in "$TMP/d4")" -eq 0 ] || fail "--dump-signal none: a dump was written"
grep -q "no dump written in $TMP/d4" "$TMP/err" || fail "--dump-signal none: $(cat "$TMP/err")"

# ---- --dump-on-crash: a crash dump, and the program still dies of its signal ----

"$CTRACE" run --flight --dump-dir "$TMP/d5" --dump-on-crash -- sh -c 'kill -SEGV $$' \
	>"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq $((128 + 11)) ] || fail "--dump-on-crash: exit $rc, want 139 (SIGSEGV): $(cat "$TMP/err")"
D=$(find "$TMP/d5" -name '*-crash-SIGSEGV.ctrace' | head -1)
if [ -z "$D" ]; then
	fail "--dump-on-crash: no crash dump in $TMP/d5: $(ls "$TMP/d5" 2>&1)"
else
	"$CTRACE" report --json "$D" >"$TMP/j" 2>/dev/null || fail "crash dump unreadable"
	jq -e '.dump.kind == "crash" and .dump.trigger.signal == 11' "$TMP/j" >/dev/null ||
		fail "crash dump: $(jq -c .dump "$TMP/j")"
	grep -qF "$D" "$TMP/err" || fail "ctrace run does not list the crash dump: $(cat "$TMP/err")"
fi

[ "$FAILS" -eq 0 ] || {
	echo "$FAILS failure(s)" >&2
	exit 1
}
echo "test_run_flight: all passed"
