# The ctrace command line: help and usage errors, unreadable files, and
# `ctrace report` on a trace recorded by examples/pipeline, as text and as
# JSON (checked against docs/REPORT-JSON.md), complete, cut short and damaged.
#
#   bash test_cli.sh PATH/TO/ctrace BUILD_DIR
set -u

CTRACE=${1:?usage: test_cli.sh CTRACE BUILD_DIR}
BUILD=${2:?usage: test_cli.sh CTRACE BUILD_DIR}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

# run EXPECTED_STATUS ARGS...: runs ctrace, output in $TMP/out and $TMP/err.
run() {
	local want=$1
	shift
	"$CTRACE" "$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	[ "$got" -eq "$want" ] || fail "ctrace $*: exit $got, want $want ($(head -c 300 "$TMP/err"))"
}

# The error contract: exactly one line on stderr, starting with "ctrace".
one_line_error() {
	local n
	n=$(wc -l <"$TMP/err")
	[ "$n" -eq 1 ] || fail "$1: $n lines on stderr, want 1: $(cat "$TMP/err")"
	grep -q '^ctrace' "$TMP/err" || fail "$1: stderr does not start with 'ctrace': $(cat "$TMP/err")"
}

jq_true() { # FILE FILTER DESCRIPTION
	jq -e "$2" "$1" >/dev/null 2>&1 || fail "$3: jq '$2' is not true"
}

# ---- help, version, usage errors ----

run 0 --help
grep -q 'report' "$TMP/out" || fail "--help does not list the report command"
run 0 --version
grep -q '^ctrace [0-9]' "$TMP/out" || fail "--version: $(cat "$TMP/out")"
run 0 help report
grep -q -- '--json' "$TMP/out" || fail "help report does not describe --json"
run 0 report --help
grep -q -- '--top' "$TMP/out" || fail "report --help does not describe --top"

for args in "" "--bogus" "nosuchcommand" "help nosuchcommand" "report" "report --bogus x.ct" \
	"report --top" "report --top -1 x.ct" "report --top 1x x.ct" "report --top 100000 x.ct" \
	"report --regions=abc x.ct" "report a.ct b.ct"; do
	# shellcheck disable=SC2086 # word splitting intended
	run 2 $args
	one_line_error "ctrace $args"
	[ -s "$TMP/out" ] && fail "ctrace $args: printed on stdout"
done

# ---- unreadable files ----

run 1 report "$TMP/missing.ct"
one_line_error "missing file"
grep -q "missing.ct" "$TMP/err" || fail "missing file: error does not name the file"
[ -s "$TMP/out" ] && fail "missing file: printed a report"

printf 'not a trace at all\n' >"$TMP/text.ct"
run 1 report "$TMP/text.ct"
one_line_error "not a trace"
run 1 report --json "$TMP/text.ct"
one_line_error "not a trace, --json"

: >"$TMP/empty.ct"
run 1 report "$TMP/empty.ct"
one_line_error "empty file"

run 1 report "$TMP"
one_line_error "a directory"

# ---- a real trace ----

PIPELINE="$BUILD/examples/pipeline"
if [ ! -x "$PIPELINE" ]; then
	echo "note: $PIPELINE not built; skipping the tests on a recorded trace"
	[ "$FAILS" -eq 0 ] || exit 1
	exit 0
fi
T="$TMP/pipe.ct"
# Short generations so the trace has several, for the damage tests below.
if ! CTRACE_GENERATION=20ms "$PIPELINE" -o "$T" -n 200 -q; then
	fail "examples/pipeline could not record a trace"
	exit 1
fi

run 0 report --no-progress "$T"
for section in '^Trace ' '^Threads ' '^Loss ' '^Tasks ' '^Slowest tasks ' '^Top regions '; do
	grep -q "$section" "$TMP/out" || fail "text report has no section '$section'"
done
grep -q 'request' "$TMP/out" || fail "text report does not show the task type 'request'"
grep -q 'complete' "$TMP/out" || fail "text report does not say the trace is complete"
[ -s "$TMP/err" ] && fail "clean trace: stderr not empty: $(cat "$TMP/err")"

run 0 report --json --top 5 "$T"
J="$TMP/pipe.json"
cp "$TMP/out" "$J"
jq . "$J" >/dev/null 2>&1 || fail "--json output does not parse"

# Every documented object has its documented fields (docs/REPORT-JSON.md).
jq_true "$J" '.schema == "ctrace.report" and .schema_version == 1' "schema"
jq_true "$J" 'has("dump") and .dump == null' "dump is null for a trace that is not a dump"
jq_true "$J" 'has("ctrace_version") and has("file") and has("trace") and has("threads")
	and has("loss") and has("tasks") and has("slowest_tasks") and has("regions")' "top level"
jq_true "$J" '.file | has("path") and has("bytes") and has("format_version") and has("complete")
	and has("damaged") and has("error") and has("metadata")' "file"
jq_true "$J" '.file.complete == true and .file.damaged == false and .file.error == null' "file status"
jq_true "$J" '.trace | has("start_ns") and has("end_ns") and has("duration_ns")
	and has("start_realtime_ns") and has("events") and has("bytes_per_event") and has("generations")
	and has("first_generation_seq") and has("last_generation_seq")
	and has("missing_generations") and has("clock") and has("events_by_kind")' "trace"
jq_true "$J" '.trace.duration_ns == .trace.end_ns - .trace.start_ns and .trace.events > 0
	and .trace.generations >= 1 and .trace.missing_generations == 0' "trace values"
jq_true "$J" '.trace.events == ([.trace.events_by_kind[]] | add)' "events_by_kind adds up"
jq_true "$J" '.threads | length > 0 and all(has("index") and has("tid") and has("name")
	and has("events") and has("lost_events") and has("loss_records") and has("exited"))' "threads"
jq_true "$J" '.trace.events == ([.threads[].events] | add)' "thread events add up"
jq_true "$J" '.loss | has("events") and has("records") and has("in_band") and has("section")
	and has("by_reason") and has("ranges") and has("ranges_omitted")
	and (.by_reason | has("buffer_full") and has("no_buffer") and has("sink") and has("encoding")
	and has("other"))' "loss"
jq_true "$J" '.tasks | has("begun") and has("finished") and has("unfinished")
	and has("began_before_trace") and .percentile_max_relative_error == 0.01' "tasks"
jq_true "$J" '.tasks.by_type | length > 0 and all(has("type") and has("count") and has("unfinished")
	and has("oldest_unfinished_start_ns") and has("min_ns") and has("p50_ns") and has("p90_ns")
	and has("p99_ns") and has("p999_ns") and has("max_ns") and has("mean_ns") and has("total_ns"))' \
	"tasks.by_type"
jq_true "$J" '.slowest_tasks | length == 5 and all(has("rank") and has("id") and has("type")
	and has("parent") and has("latency_ns") and has("start_ns") and has("end_ns")
	and has("start_offset_ns") and has("detail") and has("threads") and has("more_threads")
	and has("on_thread_ns") and has("outside_regions_ns") and has("off_thread_ns")
	and has("regions") and has("logs") and has("logs_omitted")
	and .trigger == false and .begin_in_trace and .ended)' "slowest_tasks"
jq_true "$J" '[.slowest_tasks[].regions[]] | length > 0 and all(has("name") and has("path")
	and has("depth") and has("parent") and has("count") and has("total_ns") and has("self_ns"))' \
	"slowest_tasks[].regions"
jq_true "$J" '[.slowest_tasks[].logs[]] | length > 0 and all(has("offset_ns") and has("thread")
	and has("category") and has("message"))' "slowest_tasks[].logs"
jq_true "$J" '.regions | has("names") and has("count") and has("unmatched_ends") and has("unclosed")
	and (.top | length > 0 and all(has("name") and has("count") and has("total_ns")
	and has("self_ns") and has("mean_ns") and has("max_ns")))' "regions"

# What the pipeline example does by construction: 200 "request" tasks, each
# begun by an acceptor, continued by a worker, ended by the responder, with
# lookup > {cache, database} nesting on the slow path.
jq_true "$J" '.tasks.finished == 200 and .tasks.unfinished == 0 and .tasks.began_before_trace == 0' \
	"task counts"
jq_true "$J" '.tasks.by_type[0] | .type == "request" and .count == 200
	and .min_ns <= .p50_ns and .p50_ns <= .p90_ns and .p90_ns <= .p99_ns and .p99_ns <= .max_ns' \
	"request percentiles ordered"
jq_true "$J" '.slowest_tasks[0].latency_ns == .tasks.by_type[0].max_ns' "slowest is the max"
jq_true "$J" '[.slowest_tasks[].latency_ns] | . == (sort | reverse)' "slowest first"
jq_true "$J" 'all(.slowest_tasks[]; .latency_ns == .end_ns - .start_ns and (.threads | length) >= 2)' \
	"tasks hop threads"
jq_true "$J" 'all(.slowest_tasks[]; ([.regions[].self_ns] | add) + .outside_regions_ns == .on_thread_ns)' \
	"self times add up"
jq_true "$J" 'any(.slowest_tasks[].regions[]; .path == ["lookup", "database"] and .depth == 1)' \
	"region nesting"
jq_true "$J" 'all(.slowest_tasks[]; . as $t | all(.regions | to_entries[];
	.value.parent < .key and (.value.parent < 0 or
	$t.regions[.value.parent].total_ns >= .value.total_ns)))' "region tree in pre-order"

run 0 report --json --top 0 --regions 2 "$T"
jq_true "$TMP/out" '(.slowest_tasks | length) == 0 and (.regions.top | length) == 2' "--top 0 --regions 2"

# ---- cut short and damaged copies ----

# The end frame is the last "CTEN" in the file.
END_AT=$(LC_ALL=C grep -obUa CTEN "$T" | tail -1 | cut -d: -f1)
if [ -z "$END_AT" ]; then
	fail "no end frame found in the recorded trace"
else
	head -c "$END_AT" "$T" >"$TMP/noend.ct"
	run 0 report --json "$TMP/noend.ct"
	jq_true "$TMP/out" '.file.complete == false and .file.damaged == false' "no end frame: JSON"
	one_line_error "no end frame"
	grep -q 'trace incomplete' "$TMP/err" || fail "no end frame: no 'trace incomplete' warning"

	# Cut inside the last generation: the ones before it are still reported.
	head -c $((END_AT - 10)) "$T" >"$TMP/cut.ct"
	run 1 report --json "$TMP/cut.ct"
	one_line_error "cut generation"
	jq_true "$TMP/out" '.file.damaged == true and .file.error != null and .trace.generations >= 1' \
		"cut generation: JSON of what was read"
	run 1 report "$TMP/cut.ct"
	grep -q 'DAMAGED' "$TMP/out" || fail "cut generation: text report does not say DAMAGED"
fi

[ "$FAILS" -eq 0 ] || {
	echo "$FAILS failure(s)" >&2
	exit 1
}
echo "test_cli: all passed"
