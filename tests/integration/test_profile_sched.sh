# `ctrace profile` on real scheduler and CPU-sample traces: cpu_prog runs
# more spinning threads than CPUs inside a task and a region; the cpu
# profile must find burn_site and add up to the CPU time the threads
# measured, the sched profile must find their run-queue time, from perf
# context switches (or the schedstat fallback where perf is refused) and
# from the schedstat source forced.
#
#   bash test_profile_sched.sh PATH/TO/ctrace BUILD_DIR
set -u

CTRACE=${1:?usage: test_profile_sched.sh CTRACE BUILD_DIR}
BUILD=${2:?usage: test_profile_sched.sh CTRACE BUILD_DIR}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0
SKIPPED=()

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

run() { # EXPECTED_STATUS ARGS...: output in $TMP/out and $TMP/err
	local want=$1
	shift
	"$CTRACE" "$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	[ "$got" -eq "$want" ] || fail "ctrace $*: exit $got, want $want ($(head -c 300 "$TMP/err"))"
}

to_ns() { # "1.18s" "950ms" "12.5µs" "800ns" -> integer ns
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		m = u == "s" ? 1e9 : u == "ms" ? 1e6 : (u == "µs" || u == "us") ? 1e3 : u == "ns" ? 1 : -1
		if (m < 0) exit 1
		printf "%.0f\n", n * m }'
}
total_ns() { # the time value of the "Total:" line of $TMP/out
	to_ns "$(sed -n 's/^Total: [0-9,]* [a-z]*, \([0-9.]*[µnums]*\) [a-z]*$/\1/p' "$TMP/out")"
}

ncpu=$(nproc)
threads=$((2 * ncpu < 4 ? 4 : 2 * ncpu))
CTRACE_SCHED=auto CTRACE_CPU_HZ=1000 timeout 120 "$BUILD/tests/cpu_prog" "$threads" 150 "$TMP/cpu.ct" \
	"$TMP/cpu.facts" || fail "cpu_prog (auto, 1000 Hz) failed"
cpu_ns=$(sed -n 's/^cpu_ns //p' "$TMP/cpu.facts")
run 0 profile -t cpu "$TMP/cpu.ct"
if grep -q 'recorded without CPU sampling' "$TMP/err"; then
	SKIPPED+=("cpu profile of a real trace (CPU sampling unavailable: $(cat "$TMP/err"))")
else
	# Most samples are in burn_site's loop, and the samples' weights add up
	# to the CPU time the threads measured themselves (within 25%).
	top=$(sed -n '/^ *flat  flat%/{n;p;q}' "$TMP/out")
	case "$top" in
	*"  burn_site") ;;
	*) fail "real cpu: top row is not burn_site: '$top'" ;;
	esac
	got=$(total_ns)
	[ -n "$got" ] && awk "BEGIN{exit !($got >= 0.75 * $cpu_ns && $got <= 1.25 * $cpu_ns)}" ||
		fail "real cpu: samples stand for ${got:-?} ns, the threads used $cpu_ns ns"
	[ "$(grep -c '  cpu_prog (' "$TMP/out")" -eq "$threads" ] ||
		fail "real cpu: not one row per thread: $(cat "$TMP/out")"
fi
# A build whose capture has no scheduler source writes sched.source off:
# the profile says so, and the sched checks are skipped (said below).
run 0 profile -t sched -n 0 "$TMP/cpu.ct"
if grep -q 'recorded without a scheduler source' "$TMP/err"; then
	SKIPPED+=("sched profiles of real traces (no scheduler source in this build: $(cat "$TMP/err"))")
else
	# More runnable threads than CPUs: they wait for one, inside region
	# "crunch" of a "batch" task; with perf and CPU samples, at burn_site.
	got=$(total_ns)
	[ -n "$got" ] && [ "$got" -gt 0 ] || fail "real sched (auto): no runnable time: $(cat "$TMP/out" "$TMP/err")"
	for row in '\[region crunch\]' '\[task batch\]' '\[thread cpu_prog\]'; do
		grep -Eq "[0-9.]+(ns|us|ms|s) +[0-9.]+%  $row$" "$TMP/out" ||
			fail "real sched (auto): no $row row: $(cat "$TMP/out")"
	done
	if grep -Eq '^Sources: [1-9][0-9,]* preempted intervals' "$TMP/out"; then
		if ! grep -q 'recorded without CPU sampling' "$TMP/err"; then
			top=$(sed -n '/^ *flat  flat%/{n;p;q}' "$TMP/out")
			case "$top" in
			*"  burn_site") ;;
			*) fail "real sched (perf): top row is not the sampled burn_site: '$top'" ;;
			esac
		fi
	else
		SKIPPED+=("sched from perf context switches (perf refused here: $(grep '^Sources' "$TMP/out"))")
	fi
	# The schedstat fallback, forced.
	CTRACE_SCHED=schedstat timeout 120 "$BUILD/tests/cpu_prog" "$threads" 100 "$TMP/cpus.ct" "$TMP/cpus.facts" ||
		fail "cpu_prog (schedstat) failed"
	run 0 profile -t sched "$TMP/cpus.ct"
	grep -Eq '^Sources: 0 preempted intervals \(perf\), [1-9][0-9,]* schedstat samples$' "$TMP/out" ||
		fail "real sched (schedstat): $(cat "$TMP/out" "$TMP/err")"
	got=$(total_ns)
	[ -n "$got" ] && [ "$got" -gt 0 ] || fail "real sched (schedstat): no runnable time"
	grep -Eq '[0-9.]+(ns|us|ms|s) +[0-9.]+%  \[region crunch\]$' "$TMP/out" ||
		fail "real sched (schedstat): no [region crunch] row: $(cat "$TMP/out")"
	run 0 profile -t cpu "$TMP/cpus.ct"
	grep -q 'no CPU samples in this trace: it was recorded without CPU sampling' "$TMP/err" ||
		fail "cpu profile without sampling: $(cat "$TMP/err")"
fi

# The report's states on the same traces: twice as many spinning threads
# as CPUs, so together they wait for a CPU about as long as they run (each
# one less or more, depending on when it started): their runnable (or
# throttled, under a quota) time adds up to at least 0.4 of their running
# time, each has some, and no wait state has any time.
report_states() { # TRACE NAME
	if ! "$CTRACE" report --json "$1" >"$TMP/r.json" 2>"$TMP/err"; then
		fail "report $2: $(head -c 300 "$TMP/err")"
		return
	fi
	local src
	src=$(jq -r '[.threads[] | select(.name == "cpu_prog") | .sched_source] | unique | join(",")' \
		"$TMP/r.json")
	case "$src" in
	*none*|"") SKIPPED+=("report states of $2 (no scheduler data: '$src')"); return ;;
	esac
	jq -e --argjson n "$threads" '
		[.threads[] | select(.name == "cpu_prog" and .span_ns > 0)
		 | select(.states.running_ns > 0.05 * .span_ns)] as $sp
		| ($sp | length) >= $n
		and ([$sp[] | .states.runnable_ns + .states.throttled_ns] | add)
			>= 0.4 * ([$sp[] | .states.running_ns] | add)
		and all($sp[]; (.states.runnable_ns + .states.throttled_ns) > 0
			and (.states.mutex_ns + .states.file_ns + .states.net_ns
			     + .states.sleep_ns + .states.poll_ns + .states.fd_ns) == 0)' \
		"$TMP/r.json" >/dev/null ||
		fail "report $2: the spinners are not runnable as long as expected: $(jq -c \
			'[.threads[] | select(.name == "cpu_prog") | {sched_source, span_ns, states}]' "$TMP/r.json")"
}
if [ -s "$TMP/cpu.ct" ]; then report_states "$TMP/cpu.ct" "auto"; fi
if [ -s "$TMP/cpus.ct" ]; then report_states "$TMP/cpus.ct" "schedstat"; fi

for s in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do
	echo "test_profile_sched: skipped: $s"
done
[ "$FAILS" -eq 0 ] || {
	echo "$FAILS failure(s)" >&2
	exit 1
}
echo "test_profile_sched: all passed"
