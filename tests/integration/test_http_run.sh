# `ctrace run --http`: a program that knows nothing of ctrace serves the
# admin endpoint; curl gets a capture and a flight dump that `ctrace report`
# reads (the capture shows the program's mutex waits, the dump says
# "manual"), the status page, and the refusals; --http refuses a
# non-loopback address without a token file, and with one the token is
# required; bad values fail with one line.
#
#   bash test_http_run.sh PATH/TO/ctrace BUILD_DIR
set -u

CTRACE=${1:?usage: test_http_run.sh CTRACE BUILD_DIR}
BUILD=${2:?usage: test_http_run.sh CTRACE BUILD_DIR}
PROG="$BUILD/tests/http_prog"
TMP=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
FAILS=0

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

one_line_error() {
	local n
	n=$(wc -l <"$TMP/err")
	[ "$n" -eq 1 ] || fail "$1: $n lines on stderr, want 1: $(cat "$TMP/err")"
	grep -q '^ctrace' "$TMP/err" || fail "$1: stderr does not start with 'ctrace': $(cat "$TMP/err")"
}

# Bad command lines: one line, exit 2, nothing run.
"$CTRACE" run --http 0.0.0.0:0 -- "$PROG" 1 2>"$TMP/err"
[ $? -eq 2 ] || fail "--http 0.0.0.0:0 without a token did not exit 2"
one_line_error "--http 0.0.0.0:0"
grep -q "token" "$TMP/err" || fail "the refusal does not say a token is needed: $(cat "$TMP/err")"
"$CTRACE" run --http 127.0.0.1:notaport -- "$PROG" 1 2>"$TMP/err"
[ $? -eq 2 ] || fail "--http with a bad port did not exit 2"
one_line_error "--http bad port"
"$CTRACE" run --http-token-file /nonexistent -- "$PROG" 1 2>"$TMP/err"
[ $? -eq 2 ] || fail "--http-token-file without --http did not exit 2"
one_line_error "--http-token-file alone"

if [ -n "${CTRACE_SANITIZED:-}" ]; then
	# A sanitized preload library cannot go into a plain program.
	echo "skipped: ctrace run in a sanitized build (test_http covers the endpoint)"
	[ "$FAILS" -eq 0 ] && echo "ok" && exit 0
	exit 1
fi

# start ARGS...: runs the program under ctrace run in the background and
# sets PORT from the endpoint's "listening on" line.
start() {
	: >"$TMP/log"
	"$CTRACE" run "$@" -- "$PROG" 8 2>"$TMP/log" &
	PID=$!
	PORT=
	for _ in $(seq 1 200); do
		PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/log")
		[ -n "$PORT" ] && break
		sleep 0.05
	done
	[ -n "$PORT" ] || fail "no 'listening on' line: $(cat "$TMP/log")"
}

code() { # [curl options] URL: the HTTP status
	curl -s -o /dev/null -w '%{http_code}' "$@"
}
fetch() { # FILE URL: the body into FILE, and the HTTP status
	curl -s -o "$1" -w '%{http_code}' "$2"
}

# With a flight recorder: a capture, a dump, the status, the refusals.
start --flight --http 127.0.0.1:0
BASE="http://127.0.0.1:$PORT/debug/ctrace"
sleep 1 # some past for the flight recorder to hold
[ "$(fetch flight.ctrace "$BASE/flight")" = 200 ] || fail "flight dump not 200"
"$CTRACE" report --json flight.ctrace >flight.json 2>"$TMP/err" || fail "report of the dump: $(cat "$TMP/err")"
[ "$(jq -r '.file.metadata["dump.reason"]' flight.json)" = manual ] || fail "the dump's reason is not manual"
[ "$(code "$BASE/flight")" = 429 ] || fail "a second dump within the cooldown not 429"
[ "$(fetch cap.ctrace "$BASE/trace?seconds=1")" = 200 ] || fail "capture not 200"
"$CTRACE" report cap.ctrace >cap.txt 2>"$TMP/err" || fail "report of the capture: $(cat "$TMP/err")"
grep -q "complete" cap.txt || fail "the capture is not complete: $(head -5 cap.txt)"
grep -qi "mutex" cap.txt || fail "the capture shows no mutex wait"
# the endpoint's own thread is never traced: the program's three at most
"$CTRACE" report --json cap.ctrace |
	jq -e '([.threads[].name] | index("ctrace-http") == null) and (.threads | length) <= 3' >/dev/null ||
	fail "the endpoint's thread is in the capture: $("$CTRACE" report --json cap.ctrace | jq -c '[.threads[].name]')"
curl -s "$BASE/status" >status.json || fail "status"
jq -e '.recording and .outputs.flight and (.dumps.recent[0].reason == "manual")' status.json >/dev/null ||
	fail "status: $(cat status.json)"
[ "$(code "$BASE/trace?seconds=99")" = 400 ] || fail "seconds=99 not 400"
[ "$(code -X POST "$BASE/status")" = 405 ] || fail "POST not 405"
[ "$(code "http://127.0.0.1:$PORT/debug/pprof/trace")" = 404 ] || fail "the pprof alias is on by default"
[ "$(code "$BASE/status")" = 200 ] || fail "status after the refusals"
wait "$PID" || fail "the program did not exit 0"
PID=
grep -q "refused 405 POST" "$TMP/log" || fail "the 405 is not in the log"
grep -q "refused 429 GET /debug/ctrace/flight" "$TMP/log" || fail "the 429 is not in the log"

# Without a flight recorder: the capture starts the recording, no dump.
start --http 127.0.0.1:0
BASE="http://127.0.0.1:$PORT/debug/ctrace"
[ "$(code "$BASE/flight")" = 404 ] || fail "a dump without a flight recorder not 404"
[ "$(fetch cap2.ctrace "$BASE/trace?seconds=1")" = 200 ] || fail "capture (no flight) not 200"
"$CTRACE" report cap2.ctrace >/dev/null 2>"$TMP/err" || fail "report of the capture: $(cat "$TMP/err")"
kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
PID=
[ ! -e http_prog.ctrace ] || fail "--http alone streamed a trace file"

# A token file: required, and enough off loopback.
printf 'tok-%s\n' "$$" >token
chmod 600 token
start --http 127.0.0.1:0 --http-token-file token
BASE="http://127.0.0.1:$PORT/debug/ctrace"
[ "$(code "$BASE/status")" = 401 ] || fail "no token not 401"
[ "$(code -H "Authorization: Bearer wrong" "$BASE/status")" = 401 ] || fail "a wrong token not 401"
[ "$(code -H "Authorization: Bearer tok-$$" "$BASE/status")" = 200 ] || fail "the token not 200"
kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
PID=
grep -q "tok-$$" "$TMP/log" && fail "the token is in the log"

if [ "$FAILS" -eq 0 ]; then
	echo "ok"
	exit 0
fi
exit 1
