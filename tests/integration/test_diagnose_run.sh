# `ctrace diagnose` on real incidents (tests/integration/diag_prog.c run
# through `ctrace run`): each names the right category and site: a lock
# held across fsync (the holder, by name and tid, and its fsync), a
# CPU-bound task (the hot function, from CPU samples), an oversubscribed
# pool (runnable, threads wanting a CPU against the CPUs), a slow
# downstream (the socket, recv and its site), a page-fault storm (minor
# faults, the region). A flight recorder's dump is diagnosed for its
# triggering task by default; --task, --top; bad flags, a missing file, an
# unknown task id and a damaged trace give one line on stderr and the
# documented exit code; --json parses and has the keys. A synthetic dump
# (diag_trace.c) whose trigger is not in its window: the slowest instead.
#
#   bash test_diagnose_run.sh PATH/TO/ctrace BUILD_DIR
set -u

CTRACE=${1:?usage: test_diagnose_run.sh CTRACE BUILD_DIR}
BUILD=${2:?usage: test_diagnose_run.sh CTRACE BUILD_DIR}
PROG="$BUILD/tests/diag_prog"
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

fact() { # FILE KEY
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# expect NAME JSON JQ-FILTER: the filter is true on the JSON
expect() {
	jq -e "$3" "$2" >/dev/null || fail "$1: $3 is not true in: $(jq -c '.tasks[0] | del(.states, .categories)' "$2")"
}

run_mode() { # MODE [ctrace run options...]
	local mode=$1
	shift
	"$CTRACE" run "$@" -o "$TMP/$mode.ctrace" -- "$PROG" "$mode" "$TMP/$mode.facts" \
		2>"$TMP/$mode.runerr" || fail "$mode: ctrace run failed: $(cat "$TMP/$mode.runerr")"
}

diag_json() { # MODE: the diagnosis of the mode's one task
	local task
	task=$(fact "$TMP/$1.facts" task)
	"$CTRACE" diagnose --json --task "$task" "$TMP/$1.ctrace" >"$TMP/$1.json" 2>"$TMP/err" ||
		fail "$1: diagnose exit $?: $(cat "$TMP/err")"
	jq -e . "$TMP/$1.json" >/dev/null || fail "$1: the JSON does not parse"
}

# ---- a lock held across file I/O ----
run_mode lock
diag_json lock
J=$TMP/lock.json
HOLDER=$(fact "$TMP/lock.facts" holder_tid)
expect lock "$J" '.tasks | length == 1'
expect lock "$J" '.tasks[0].category == "lock" and .tasks[0].category_share > 0.5'
expect lock "$J" '.tasks[0].site.function == "lock_site" and (.tasks[0].site.file | endswith("diag_prog.c"))'
expect lock "$J" '.tasks[0].stack[0].function == "lock_site" and .tasks[0].stack[1].function == "run_lock"'
expect lock "$J" ".tasks[0].cause.holder.tid == $HOLDER and .tasks[0].cause.holder.name == \"store-writer\""
expect lock "$J" '.tasks[0].cause.holder.state == "file" and .tasks[0].cause.holder.call == "fsync"'
expect lock "$J" '.tasks[0].cause.holder.site.function == "fsync_site"'
expect lock "$J" '.tasks[0].cause.holder.ns > 0 and .tasks[0].cause.holder.ns <= .tasks[0].cause.wait_ns'
expect lock "$J" '.tasks[0].summary | test("held by store-writer \\(tid [0-9]+\\), which spent .* in fsync")'
expect lock "$J" '.tasks[0].next | test("fsync_site")'
"$CTRACE" diagnose --task "$(fact "$TMP/lock.facts" task)" "$TMP/lock.ctrace" >"$TMP/lock.txt" 2>"$TMP/err" ||
	fail "lock: text diagnose failed"
grep -q "held by store-writer (tid $HOLDER)" "$TMP/lock.txt" || fail "lock: text does not name the holder: $(cat "$TMP/lock.txt")"
grep -q "^  next: " "$TMP/lock.txt" || fail "lock: text has no next step"

# ---- a CPU-bound task, with CPU samples ----
run_mode cpu --cpu-hz 1000
diag_json cpu
J=$TMP/cpu.json
# On a machine busy with other work, the spinning task may wait for a CPU
# longer than it runs: then it is runnable, crowded out by other processes
# (its one thread never wanted more CPUs than there are), and its CPU time
# the runner-up, with the same cause.
CROWDED='.tasks[0].category == "runnable" and .tasks[0].categories.runnable > .tasks[0].categories.cpu and .tasks[0].cause.other_processes == true and .tasks[0].also.category == "cpu"'
expect cpu "$J" ".tasks[0].category == \"cpu\" or ($CROWDED)"
expect cpu "$J" '.tasks[0].site.function == "hot_function"'
expect cpu "$J" '(.tasks[0] | if .category == "cpu" then . else .also end) | .cause.functions[0].function == "hot_function" and .site.function == "hot_function"'
expect cpu "$J" '.tasks[0].category != "cpu" or (.tasks[0].next | test("ctrace profile --type cpu"))'
# ...and without: the next step says how to get them
run_mode cpu
mv "$TMP/cpu.ctrace" "$TMP/cpu_nosamples.ctrace"
"$CTRACE" diagnose --json "$TMP/cpu_nosamples.ctrace" >"$TMP/cpu0.json" 2>"$TMP/err" || fail "cpu0: diagnose failed"
expect cpu0 "$TMP/cpu0.json" ".tasks[0].category == \"cpu\" or ($CROWDED)"
expect cpu0 "$TMP/cpu0.json" '.tasks[0].site == null'
expect cpu0 "$TMP/cpu0.json" '.tasks[0].category != "cpu" or (.tasks[0].next | test("--cpu-hz 1000") and test("CTRACE_CPU_HZ"))'

# ---- an oversubscribed pool ----
run_mode pool
SRC=$("$CTRACE" report --json "$TMP/pool.ctrace" | jq -r '.cpu.sched_source')
if [ "$SRC" = "none" ] || [ -z "$SRC" ]; then
	echo "pool: no scheduler data on this machine ($SRC): skipped" >&2
else
	"$CTRACE" diagnose --json --top 2 "$TMP/pool.ctrace" >"$TMP/pool.json" 2>"$TMP/err" || fail "pool: diagnose failed"
	J=$TMP/pool.json
	expect pool "$J" '.tasks | length == 2'
	expect pool "$J" '.tasks[0].category == "runnable" and .tasks[1].category == "runnable"'
	expect pool "$J" '.tasks[0].latency_ns >= .tasks[1].latency_ns'
	expect pool "$J" '.tasks[0].cause.cpus > 0'
	if [ "$SRC" = "perf" ]; then
		expect pool "$J" '.tasks[0].cause.measured == "task" and .tasks[0].cause.peak > .tasks[0].cause.cpus'
	fi
	expect pool "$J" '.tasks[0].next | test("fewer threads")'
fi

# ---- a slow downstream ----
run_mode net
diag_json net
J=$TMP/net.json
FD=$(fact "$TMP/net.facts" fd)
expect net "$J" '.tasks[0].category == "network"'
expect net "$J" ".tasks[0].cause.fd == $FD and .tasks[0].cause.call == \"recv\""
expect net "$J" '.tasks[0].site.function == "recv_site"'
expect net "$J" '.tasks[0].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736" and .tasks[0].cause.trace_id == .tasks[0].trace_id'
expect net "$J" '.tasks[0].span_id | test("^[0-9a-f]{16}$")'
expect net "$J" '.tasks[0].next | test("distributed trace 4bf92f3577b34da6a3ce929d0e0e4736")'
expect lock "$TMP/lock.json" '.tasks[0].trace_id == null'

# ---- a page-fault storm ----
run_mode fault --cpu-hz 1000
diag_json fault
J=$TMP/fault.json
# (or, when other processes had the CPUs, runnable first and the faults,
# with their cause, as the runner-up)
expect fault "$J" '.tasks[0].category == "page-fault" or (.tasks[0].category == "runnable" and .tasks[0].cause.other_processes and .tasks[0].also.category == "page-fault")'
expect fault "$J" '.tasks[0].categories["page-fault"] > .tasks[0].categories.cpu'
FC='(.tasks[0] | if .category == "page-fault" then .cause else .also.cause end)'
expect fault "$J" "$FC.minor > 10000 and $FC.region == \"build_index\""
expect fault "$J" "$FC.minor_estimate_ns > 0"

# ---- a dump: its triggering task by default ----
mkdir "$TMP/dumps"
"$CTRACE" run --flight --slow-task 'checkout=1ms' --dump-dir "$TMP/dumps" -- \
	"$PROG" lock "$TMP/dump.facts" "$TMP/dumps" 2>"$TMP/err" || fail "dump: ctrace run failed: $(cat "$TMP/err")"
DUMP=$(find "$TMP/dumps" -name '*.ctrace' | head -1)
if [ -z "$DUMP" ]; then
	fail "dump: no dump written"
else
	"$CTRACE" diagnose --json "$DUMP" >"$TMP/dump.json" 2>"$TMP/err" || fail "dump: diagnose failed: $(cat "$TMP/err")"
	TASK=$(fact "$TMP/dump.facts" task)
	expect dump "$TMP/dump.json" ".trigger.kind == \"slow-task\" and .trigger.task == $TASK"
	expect dump "$TMP/dump.json" ".tasks | length == 1"
	expect dump "$TMP/dump.json" ".tasks[0].id == $TASK and .tasks[0].trigger == true and .tasks[0].category == \"lock\""
	"$CTRACE" diagnose "$DUMP" | grep -q "triggered the dump" || fail "dump: the text does not mark the trigger"
	# --top adds the slowest besides (this program has one task: still one)
	"$CTRACE" diagnose --json --top 3 "$DUMP" | jq -e '.tasks[0].trigger == true' >/dev/null ||
		fail "dump --top: the trigger is not first"
fi
# A dump whose triggering task is not in its window: the slowest instead,
# said so; the slowest there waited with no thread working for it (queued)
"$BUILD/tests/diag_trace" "$TMP/synth.ct" || fail "synth: diag_trace failed"
"$CTRACE" diagnose --json "$TMP/synth.ct" >"$TMP/synth.json" 2>"$TMP/err" || fail "synth: diagnose failed"
expect synth "$TMP/synth.json" '.trigger.task == 99 and .trigger.task_in_trace == false'
expect synth "$TMP/synth.json" '(.tasks | length) == 2 and .tasks[0].id == 1 and .tasks[0].trigger == false'
expect synth "$TMP/synth.json" '.tasks[0].category == "queued" and .tasks[0].queued_ns == 8900000 and .tasks[0].site == null'
expect synth "$TMP/synth.json" '.tasks[0].summary | test("no thread working for it")'
# the runner-up: none under 20% (task 1: 89% queued, 11% running); task 2
# waited for the mutex 60% of its time and ran 40%
expect synth "$TMP/synth.json" '.tasks[0].also == null'
expect synth "$TMP/synth.json" '.tasks[1].id == 2 and .tasks[1].category == "lock" and .tasks[1].category_share == 0.6'
expect synth "$TMP/synth.json" '.tasks[1].also.category == "cpu" and .tasks[1].also.category_share == 0.4 and .tasks[1].also.category_ns == 800000'
expect synth "$TMP/synth.json" '.tasks[1].also.summary == "It also spent 40% of its time running on a CPU; the trace has no CPU samples to say where."'
"$CTRACE" diagnose --top 2 "$TMP/synth.ct" >"$TMP/synth.txt"
grep -q '^  category: lock, 60% of its time; then cpu, 40%$' "$TMP/synth.txt" ||
	fail "synth: the text does not give the runner-up: $(grep category: "$TMP/synth.txt")"
grep -q '^  It also spent 40% of its time running on a CPU' "$TMP/synth.txt" ||
	fail "synth: the text has no runner-up sentence"
"$CTRACE" diagnose "$TMP/synth.ct" | grep -q "triggering task 99 is not in what the trace holds" ||
	fail "synth: the text does not say the trigger is missing"
# A trace that is no dump has "trigger": null
expect lock "$TMP/lock.json" '.trigger == null'

# ---- the keys other tools rely on ----
expect keys "$TMP/lock.json" '(.tasks[0] | has("id") and has("type") and has("latency_ns") and has("begin_ns") and has("trigger") and has("trace_id") and has("span_id") and has("states") and has("category") and has("category_ns") and has("category_share") and has("site") and has("stack") and has("cause") and has("summary") and has("next")) and has("file") and has("trigger") and has("tasks")'
expect keys "$TMP/lock.json" '.tasks[0].cause.holder | has("tid") and has("name") and has("state") and has("call") and has("site") and has("ns")'

# ---- errors ----
"$CTRACE" diagnose --bogus "$TMP/lock.ctrace" >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "bad flag: exit code"
one_line_error "bad flag"
"$CTRACE" diagnose --top 0 "$TMP/lock.ctrace" >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "--top 0: exit code"
one_line_error "--top 0"
"$CTRACE" diagnose --task abc "$TMP/lock.ctrace" >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "--task abc: exit code"
one_line_error "--task abc"
"$CTRACE" diagnose >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "no file: exit code"
one_line_error "no file"
"$CTRACE" diagnose "$TMP/missing.ctrace" >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] || fail "missing file: exit code"
one_line_error "missing file"
"$CTRACE" diagnose --task 987654321 "$TMP/lock.ctrace" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] || fail "unknown task: exit code"
one_line_error "unknown task"
[ -s "$TMP/out" ] && fail "unknown task: something on stdout"
printf 'not a trace at all' >"$TMP/junk.ctrace"
"$CTRACE" diagnose "$TMP/junk.ctrace" >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] || fail "junk file: exit code"
one_line_error "junk file"
# damaged: the end cut off mid-generation; what was read is diagnosed (a
# trace of several generations, so that one is whole before the cut)
CTRACE_GENERATION=20ms "$CTRACE" run -o "$TMP/gens.ctrace" -- "$PROG" pool "$TMP/gens.facts" 2>/dev/null ||
	fail "gens: ctrace run failed"
GENS=$("$CTRACE" report --json "$TMP/gens.ctrace" | jq '.trace.generations')
[ "$GENS" -ge 2 ] || fail "gens: $GENS generations, want several"
# The cut goes halfway into the last generation's frame, found by a first
# cut into its end (the end frame is 36 bytes): a fixed share of the size
# could land in the first generation when the load shifts the boundary.
SIZE=$(stat -c %s "$TMP/gens.ctrace")
head -c $((SIZE - 40)) "$TMP/gens.ctrace" >"$TMP/cut.ctrace"
"$CTRACE" diagnose --json "$TMP/cut.ctrace" >/dev/null 2>"$TMP/err"
read -r AT NEED < <(sed -n 's/.*truncated generation [0-9]* at byte \([0-9]*\): frame needs \([0-9]*\) bytes.*/\1 \2/p' "$TMP/err")
[ -n "${AT:-}" ] || fail "cut: no truncated generation 40 bytes before the end: $(cat "$TMP/err")"
head -c $((${AT:-0} + ${NEED:-0} / 2)) "$TMP/gens.ctrace" >"$TMP/cut.ctrace"
"$CTRACE" diagnose --json "$TMP/cut.ctrace" >"$TMP/cut.json" 2>"$TMP/err"
[ $? -eq 1 ] || fail "cut: exit code"
[ -s "$TMP/cut.json" ] || fail "cut: nothing diagnosed of what could be read"
jq -e '.file.complete == false and .file.damaged == true and (.file.error | test("truncated"))' \
	"$TMP/cut.json" >/dev/null || fail "cut: the JSON does not say it is damaged: $(cat "$TMP/cut.json")"
one_line_error "cut"
grep -q "diagnosed what was read" "$TMP/err" || fail "cut: stderr does not say what the diagnosis covers"
"$CTRACE" help diagnose | grep -q -- '--task ID' || fail "help diagnose"
"$CTRACE" --help | grep -q '^  diagnose' || fail "ctrace --help does not list diagnose"

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS failure(s)" >&2
	exit 1
fi
echo "test_diagnose_run: ok"
