#!/usr/bin/env bash
# The overhead budget of tracing a whole service: `hey -z Ns -c C` against
# the demo service (examples/demo-service) in alternating runs with tracing
# off, the flight recorder on, and a full streaming capture to a file.
# Prints throughput, p50/p99 and the service's CPU time per request per mode
# (medians over the rounds), their ratios against "off", and the run-to-run
# spread of each mode.
#
# Then the paired runs: on this shared VM a mode's CPU time per request
# drifts by 10-30% from one run to the next, more than tracing costs, so
# each traced mode also runs at the same time as an untraced service, each
# under its own hey (saturating by default; -q: a fixed rate), and the
# ratio of their CPU time per request is taken within each such pair:
# whatever the machine does to one it does to both. From that ratio and the
# machine's CPU time per request in the sequential untraced runs (all
# processes: the service, hey, the price service, the kernel), an estimate
# of the throughput lost at saturation: a traced service adds
# (ratio - 1) x its CPU per request to what the machine spends on one.
#
#   bench/overhead/overhead.sh [-d SECONDS] [-r ROUNDS] [-c CONCURRENCY] [-b BUILD_DIR]
#                              [-x] [-B] [-q QPS] [-p ROUNDS] [-a]
# The flight recorder runs as the demo does (a flight recorder alone: the
# schedstat scheduler source); the full capture gets perf context switches.
# -x adds two modes: the flight recorder with perf context switches
# (CTRACE_SCHED=perf), to tell the kernel's cost per switch of a perf event
# (docs/PERFORMANCE.md) from ctrace's own; and the full capture with an
# event per CPU instead of per thread (CTRACE_SCHED=perf-cpu, where this
# user may open them: root, CAP_PERFMON).
# -B adds the flight recorder's cost by part, each taken away with the
# setting an operator would use: without stacks (CTRACE_STACKS=none),
# without fd-call waits (CTRACE_SYSCALL_MIN=1s: only calls blocked a second
# or more are waits), without the scheduler, fault and cgroup sources
# (CTRACE_SCHED, CTRACE_FAULTS, CTRACE_CGROUP off), and without all three:
# what is left is tasks, regions, logs, the interposers and the writer.
# -q: requests per second per connection in the paired runs (default 0:
# as many as each service answers; 20 is 1,000 a second with -c 50) and in
# the attribution's fixed load (default 20); -p: paired rounds per mode
# (default: ROUNDS; 0 skips them).
# -a: then ctrace's own share of each traced service's CPU, by attribution:
# `perf record -g` of the service alone, under the fixed load and
# saturated (the throughput target's condition, where the writer's
# per-round costs weigh least), each
# sample charged to ctrace when it is on ctrace's writer thread or inside
# ctrace's code (not the real call an interposer made). Less noisy than a
# difference of two services' CPU; blind to what ctrace makes the kernel
# or libc do outside its frames (the kernel's cost per switch with perf:
# bench_sched; libc's formatting of ct_logf, whose frames perf cannot walk).
# After the table, the program's threads' share by ctrace's outermost
# function (the interposer or API call it went into), six each.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=10
rounds=5
conc=50
build=build
extra=0
parts=0
qps=
prounds=
attrib=0
while getopts "d:r:c:b:xBq:p:ah" o; do
	case $o in
	d) secs=$OPTARG ;;
	r) rounds=$OPTARG ;;
	c) conc=$OPTARG ;;
	b) build=$OPTARG ;;
	x) extra=1 ;;
	B) parts=1 ;;
	q) qps=$OPTARG ;;
	p) prounds=$OPTARG ;;
	a) attrib=1 ;;
	*)
		sed -n '2,47p' "$0"
		exit 2
		;;
	esac
done
prounds=${prounds:-$rounds}
for v in "$secs" "$rounds" "$conc"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || {
		echo "overhead: -d, -r and -c take positive integers" >&2
		exit 2
	}
done
[[ ${qps:-0} =~ ^[0-9]+$ ]] || {
	echo "overhead: -q takes a number of requests per second per connection (0: no limit)" >&2
	exit 2
}
# the paired runs' load: hey's -q, or none (saturating); the attribution's fixed load
pload=()
[ "${qps:-0}" -gt 0 ] && pload=(-q "$qps")
aqps=${qps:-20}
[ "$aqps" -gt 0 ] || aqps=20
[[ $prounds =~ ^[0-9]+$ ]] || {
	echo "overhead: -p takes a number of rounds (0: none)" >&2
	exit 2
}
svc=$build/examples/demo-service
down=$build/examples/demo-downstream
for b in "$svc" "$down"; do
	[ -x "$b" ] || {
		echo "overhead: $b not built (cmake --build $build)" >&2
		exit 2
	}
done
command -v hey >/dev/null || {
	echo "overhead: hey is not installed (apt-get install hey)" >&2
	exit 2
}

work=$(mktemp -d /tmp/ctrace-overhead.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# Free loopback ports, picked by the kernel.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

wait_port() { # port: until it accepts, at most 10 s
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "overhead: nothing listens on port $1" >&2
	return 1
}

dport=$(free_port)
"$down" --listen "127.0.0.1:$dport" >/dev/null &
pids+=($!)
wait_port "$dport"

# Starts the service in a mode on a port; its pid in svc_pid.
start_svc() {
	local mode=$1 port=$2 trace sched='' more=()
	local nosrc=(CTRACE_SCHED=off CTRACE_FAULTS=off CTRACE_CGROUP=off)
	case $mode in
	off) trace=off ;;
	flight) trace=flight ;;
	flight-perf) trace=flight sched=perf ;;
	flight-nostacks) trace=flight more=(CTRACE_STACKS=none) ;;
	flight-nowaits) trace=flight more=(CTRACE_SYSCALL_MIN=1s) ;;
	flight-nosrc) trace=flight more=("${nosrc[@]}") ;;
	flight-bare) trace=flight more=(CTRACE_STACKS=none CTRACE_SYSCALL_MIN=1s "${nosrc[@]}") ;;
	stream) trace="stream=$work/stream-$port.ctrace" ;;
	stream-cpu) trace="stream=$work/stream-$port.ctrace" sched=perf-cpu ;;
	esac
	env CTRACE_SCHED="${sched:-auto}" "${more[@]}" "$svc" --listen "127.0.0.1:$port" --downstream "127.0.0.1:$dport" --trace "$trace" \
		--dump-dir "$work/dumps-$port" --data-dir "$work/data-$port" --admin off >/dev/null 2>&1 &
	svc_pid=$!
	pids+=("$svc_pid")
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The machine's busy time, all CPUs (user, nice, system, irq, softirq), in ticks.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }

# One run: starts the service in a mode, warms it up, measures, stops it.
# Prints "rps p50_s p99_s cpu_us_per_request machine_cpu_us_per_request".
run_mode() {
	local mode=$1 port svc_pid out
	port=$(free_port)
	start_svc "$mode" "$port"
	wait_port "$port"
	hey -z 1s -c "$conc" "http://127.0.0.1:$port/catalog?item=7" >/dev/null
	# the service's CPU time (user + system, all its threads) around the run:
	# CPU per request is not moved by time other processes took from it
	local c0 c1 m0 m1
	c0=$(cpu_ticks "$svc_pid")
	m0=$(busy_ticks)
	out=$(hey -z "${secs}s" -c "$conc" "http://127.0.0.1:$port/catalog?item=7")
	m1=$(busy_ticks)
	c1=$(cpu_ticks "$svc_pid")
	kill -TERM "$svc_pid"
	wait "$svc_pid" 2>/dev/null || true
	rm -f "$work"/stream-*.ctrace
	awk -v cpu_s="$(((c1 - c0)))" -v mach_s="$((m1 - m0))" -v hz="$(getconf CLK_TCK)" '
	     /Requests\/sec:/ {rps=$2} /^ +50%+ in/ {p50=$3} /^ +99%+ in/ {p99=$3}
	     /Status code distribution/ {codes=1} codes && /\[[0-9]+\]/ {
		gsub(/[\[\]]/, "", $1); n += $2; if ($1 != 200) bad += $2 }
	     END { if (bad) print "non-200 answers: " bad > "/dev/stderr"
		   printf "%s %s %s %.2f %.2f\n", rps, p50, p99, n ? cpu_s / hz * 1e6 / n : 0, n ? mach_s / hz * 1e6 / n : 0 }' <<<"$out"
}

# The name a mode has in the tables.
mode_name() {
	case $1 in
	off) echo "off (baseline)" ;;
	flight) echo "flight recorder" ;;
	stream) echo "full capture (stream)" ;;
	flight-perf) echo "flight, sched perf" ;;
	stream-cpu) echo "full, sched perf-cpu" ;;
	flight-nostacks) echo "flight, no stacks" ;;
	flight-nowaits) echo "flight, no call waits" ;;
	flight-nosrc) echo "flight, no sched/faults" ;;
	flight-bare) echo "flight, none of the 3" ;;
	*) echo "$1" ;;
	esac
}

modes=(off flight stream)
[ "$extra" = 1 ] && modes+=(flight-perf stream-cpu)
[ "$parts" = 1 ] && modes+=(flight-nostacks flight-nowaits flight-nosrc flight-bare)
nm=${#modes[@]}
declare -A res
echo "overhead: $rounds rounds of ${secs}s per mode, hey -c $conc, GET /catalog; modes rotate each round" >&2
for ((r = 0; r < rounds; r++)); do
	for ((k = 0; k < nm; k++)); do
		m=${modes[$(((r + k) % nm))]}
		line=$(run_mode "$m")
		res[$m]+="$line"$'\n'
		printf '  round %d %-7s %s req/s, p50 %s s, p99 %s s, %s us CPU/req, machine %s us/req\n' $((r + 1)) "$m" $line >&2
	done
done

# One paired run: an untraced service and one in mode, side by side, each
# under its own hey (pload); first says which starts first
# (it alternates). Prints "off_cpu_us mode_cpu_us ratio" per request.
paired_run() {
	local mode=$1 first=$2 pa pb a b k
	pa=$(free_port)
	pb=$(free_port)
	while [ "$pb" = "$pa" ]; do pb=$(free_port); done
	if [ "$first" = 0 ]; then
		start_svc off "$pa" && a=$svc_pid
		start_svc "$mode" "$pb" && b=$svc_pid
	else
		start_svc "$mode" "$pb" && b=$svc_pid
		start_svc off "$pa" && a=$svc_pid
	fi
	wait_port "$pa"
	wait_port "$pb"
	hey -z 1s -c "$conc" "${pload[@]}" "http://127.0.0.1:$pa/catalog?item=7" >/dev/null &
	k=$!
	hey -z 1s -c "$conc" "${pload[@]}" "http://127.0.0.1:$pb/catalog?item=7" >/dev/null
	wait "$k"
	local ca0 cb0 ca1 cb1
	ca0=$(cpu_ticks "$a")
	cb0=$(cpu_ticks "$b")
	hey -z "${secs}s" -c "$conc" "${pload[@]}" "http://127.0.0.1:$pa/catalog?item=7" >"$work/pa.out" &
	k=$!
	hey -z "${secs}s" -c "$conc" "${pload[@]}" "http://127.0.0.1:$pb/catalog?item=7" >"$work/pb.out"
	wait "$k"
	ca1=$(cpu_ticks "$a" 2>/dev/null || echo 0)
	cb1=$(cpu_ticks "$b" 2>/dev/null || echo 0)
	for p in "$a" "$b"; do
		kill -0 "$p" 2>/dev/null || echo "overhead: a $([ "$p" = "$a" ] && echo untraced || echo "$mode") service exited during its paired run" >&2
	done
	kill -TERM "$a" "$b" 2>/dev/null || true
	wait "$a" "$b" 2>/dev/null || true
	rm -f "$work"/stream-*.ctrace
	local na nb
	na=$(awk '/^[ \t]*\[200\]/ {n += $2} END {print n + 0}' "$work/pa.out")
	nb=$(awk '/^[ \t]*\[200\]/ {n += $2} END {print n + 0}' "$work/pb.out")
	awk -v a="$((ca1 - ca0))" -v b="$((cb1 - cb0))" -v na="${na:-0}" -v nb="${nb:-0}" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN {
		na += 0; nb += 0
		if (na <= 0 || nb <= 0 || a <= 0 || b <= 0) {
			printf "overhead: pair left out: %d and %d answers, %d and %d CPU ticks\n", na, nb, a, b > "/dev/stderr"
			print "0 0 0"; exit }
		x = a / hz * 1e6 / na; y = b / hz * 1e6 / nb
		printf "%.2f %.2f %.4f\n", x, y, y / x }'
}

declare -A pres
if [ "$prounds" -gt 0 ]; then
	echo "overhead: $prounds paired rounds of ${secs}s per traced mode, each beside an untraced service, hey -c $conc ${pload[*]:-(no rate limit)} each" >&2
	for ((r = 0; r < prounds; r++)); do
		for m in "${modes[@]}"; do
			[ "$m" = off ] && continue
			line=$(paired_run "$m" $((r % 2)))
			pres[$m]+="$line"$'\n'
			printf '  pair %d %-16s off %s us/req, traced %s us/req, ratio %s\n' $((r + 1)) "$m" $line >&2
		done
	done
fi

# The median of a[1..n] (sorts a), for the awk programs below.
AWK_MED='function med(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
'
# Medians and spread per mode, ratios against off.
summary() { # mode -> "rps_med p50_med p99_med rps_spread p99_spread cpu_med cpu_spread machine_cpu_med"
	printf '%s' "${res[$1]}" | awk "$AWK_MED"'
		function spread(a, n,   i, lo, hi) { lo = hi = a[1]
			for (i = 2; i <= n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
			return lo > 0 ? (hi - lo) / lo : 0 }
		NF == 5 { n++; r[n] = $1; p5[n] = $2; p9[n] = $3; r2[n] = $1; q9[n] = $3; c[n] = $4; c2[n] = $4; mc[n] = $5 }
		END { printf "%.1f %.6f %.6f %.4f %.4f %.2f %.4f %.2f\n", med(r, n), med(p5, n), med(p9, n), spread(r2, n), spread(q9, n), med(c, n), spread(c2, n), med(mc, n) }'
}
read -r off_rps off_p50 off_p99 _ off_ps off_cpu _ off_mach < <(summary off)
echo
echo "Overhead budget: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hey -z ${secs}s -c $conc, $rounds rounds per mode (medians); spread = (max-min)/min over the rounds"
echo
printf '| %-23s | %10s | %8s | %9s | %8s | %9s | %8s | %10s | %10s | %11s | %8s | %10s |\n' mode "req/s" ratio "p50 ms" ratio "p99 ms" ratio "req/s spr" "p99 spread" "CPU us/req" ratio "CPU spread"
printf '|%s|\n' "-------------------------|------------|----------|-----------|----------|-----------|----------|------------|------------|-------------|----------|------------"
for m in "${modes[@]}"; do
	read -r rps p50 p99 rs ps cpu cs _ < <(summary "$m")
	name=$(mode_name "$m")
	awk -v n="$name" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v rs="$rs" -v ps="$ps" \
		-v cpu="$cpu" -v cs="$cs" -v b_cpu="$off_cpu" \
		-v b_rps="$off_rps" -v b_p50="$off_p50" -v b_p99="$off_p99" 'BEGIN {
		printf "| %-23s | %10.1f | %8.3f | %9.3f | %8.3f | %9.3f | %8.3f | %9.1f%% | %9.1f%% | %11.1f | %8.3f | %9.1f%% |\n",
			n, rps, rps / b_rps, p50 * 1e3, p50 / b_p50, p99 * 1e3, p99 / b_p99, rs * 100, ps * 100,
			cpu, (b_cpu > 0 ? cpu / b_cpu : 0), cs * 100 }'
done
echo
awk -v f="$(summary flight | cut -d' ' -f1)" -v s="$(summary stream | cut -d' ' -f1)" -v b="$off_rps" 'BEGIN {
	printf "throughput loss: flight recorder %.2f%% (target <= 1%%), full capture %.2f%% (target <= 3%%)\n",
		(1 - f / b) * 100, (1 - s / b) * 100 }'
for m in flight stream; do
	read -r _ _ p99 _ ps _ _ _ < <(summary "$m")
	awk -v m="$m" -v p="$p99" -v b="$off_p99" -v bs="$off_ps" -v ms="$ps" 'BEGIN {
		d = b > 0 ? (p - b) / b : 0; sp = bs > ms ? bs : ms
		printf "p99, %s vs off: %+.1f%%; run-to-run spread of p99 (the larger of the two modes): %.1f%%: %s\n",
			m, d * 100, sp * 100, (d < 0 ? -d : d) <= sp ? "within the spread" : "OUTSIDE the spread" }'
done

paired_table() {
[ "$prounds" -gt 0 ] || return 0
echo
if [ ${#pload[@]} -gt 0 ]; then
	echo "Paired runs: each traced mode beside an untraced service at the same time, hey -z ${secs}s -c $conc -q $qps each"
	echo "($((conc * qps)) requests/s per service), $prounds pairs per mode; CPU = the service's user + system time per request"
else
	echo "Paired runs: each traced mode beside an untraced service at the same time, each under its own hey -z ${secs}s -c $conc"
	echo "(no rate limit: the two share the machine saturated), $prounds pairs per mode; CPU = the service's user + system time per request"
fi
echo
printf '| %-23s | %11s | %15s | %12s | %17s |\n' mode "CPU us/req" "untraced us/req" "ratio (med)" "ratio min - max"
printf '|%s|\n' "-------------------------|-------------|-----------------|--------------|-------------------"
for m in "${modes[@]}"; do
	[ "$m" = off ] && continue
	name=$(mode_name "$m")
	printf '%s' "${pres[$m]}" | awk -v n="$name" "$AWK_MED"'
		NF == 3 && $3 > 0 { k++; o[k] = $1; t[k] = $2; q[k] = $3; if (k == 1 || $3 < lo) lo = $3; if (k == 1 || $3 > hi) hi = $3 }
		END { if (!k) { printf "| %-23s | %11s | %15s | %12s | %17s |\n", n, "-", "-", "-", "no valid pair"; exit }
		      printf "| %-23s | %11.1f | %15.1f | %12.3f | %7.3f - %7.3f |\n", n, med(t, k), med(o, k), med(q, k), lo, hi }'
done
# The throughput lost at saturation, estimated: with the machine's CPUs
# busy, req/s = CPUs / (the machine's CPU per request); tracing adds
# (ratio - 1) x the service's CPU per request to the latter.
echo
echo "Throughput loss at saturation, estimated from the paired ratio: the untraced service takes $off_cpu us of CPU a request"
echo "and the machine (every process and the kernel) $off_mach us (sequential runs, medians); loss = d / ($off_mach + d), d = (ratio - 1) x $off_cpu"
for m in "${modes[@]}"; do
	[ "$m" = off ] && continue
	name=$(mode_name "$m")
	printf '%s' "${pres[$m]}" | awk -v n="$name" -v m="$m" -v s="$off_cpu" -v mc="$off_mach" "$AWK_MED"'
		function loss(r,   d) { d = (r - 1) * s; return mc + d > 0 ? 100 * d / (mc + d) : 0 }
		NF == 3 && $3 > 0 { k++; q[k] = $3; if (k == 1 || $3 < lo) lo = $3; if (k == 1 || $3 > hi) hi = $3 }
		END { if (!k || mc <= 0) exit
		      tg = m ~ /^stream/ ? 3 : m == "flight" ? 1 : 0
		      printf "  %-23s %.2f%% (pairs: %.2f%% to %.2f%%)%s\n", n, loss(med(q, k)), loss(lo), loss(hi),
			     tg ? sprintf(", target <= %d%%", tg) : "" }'
done
}
paired_table

# The attribution (-a): one traced service alone under the fixed load,
# profiled. Prints "total ctrace writer threads" sample counts.
attribute() { # mode load: load is "-q QPS" or "" (saturated)
	local mode=$1 load=$2 port svc_pid k
	port=$(free_port)
	start_svc "$mode" "$port"
	wait_port "$port"
	# shellcheck disable=SC2086 # load is zero or two words
	hey -z 1s -c "$conc" $load "http://127.0.0.1:$port/catalog?item=7" >/dev/null
	# shellcheck disable=SC2086
	hey -z "$((secs + 2))s" -c "$conc" $load "http://127.0.0.1:$port/catalog?item=7" >/dev/null &
	k=$!
	sleep 1
	perf record -q -g -F 1999 -p "$svc_pid" -o "$work/attr.data" -- sleep "$secs" >/dev/null 2>&1 || true
	wait "$k"
	kill -TERM "$svc_pid"
	wait "$svc_pid" 2>/dev/null || true
	rm -f "$work"/stream-*.ctrace
	perf script -i "$work/attr.data" -F comm,ip,sym 2>/dev/null |
		python3 -c "$ATTRIB_PY" "$work/ctsyms" "$work/where-$mode-${load:+fixed}"
}
ATTRIB_PY='
import sys, collections
ct = set(l.strip() for l in open(sys.argv[1]))
def isct(s): return s.split(".")[0] in ct
tot = mine = wr = th = 0
where = collections.Counter()  # the program s threads: ctrace s outermost function
comm = None; stack = []
def flush():
    global tot, mine, wr, th
    if comm is None or not stack: return
    tot += 1
    if comm.startswith("ctrace-"):
        mine += 1; wr += 1; return
    for i, s in enumerate(stack):
        if isct(s):
            inner = stack[i - 1] if i > 0 else None
            # an interposer that called the real function: the program s cost
            if (s.startswith("__wrap_") or s.startswith("ic_")) and inner is not None and not isct(inner):
                return
            mine += 1; th += 1
            where[[t for t in stack[i:] if isct(t)][-1].split(".")[0]] += 1
            return
for line in sys.stdin:
    if not line.strip():
        flush(); comm = None; stack = []; continue
    if line[0] not in " \t":
        comm = line.split()[0]; continue
    p = line.split(None, 1)
    stack.append(p[1].rsplit(" (", 1)[0].strip() if len(p) > 1 else "?")
flush()
print(tot, mine, wr, th)
with open(sys.argv[2], "w") as f:
    for s, n in where.most_common(6):
        f.write("%.2f%% %s\n" % (100.0 * n / max(tot, 1), s))
'

[ "$attrib" = 1 ] || exit 0
if ! command -v perf >/dev/null || ! perf record -q -o /dev/null -- true >/dev/null 2>&1; then
	echo "overhead: -a needs perf (and perf_event_paranoid allowing it); skipped" >&2
	exit 0
fi
objs=$(find "$build/examples/CMakeFiles/demo-service.dir" -name '*.o')
# ctrace's functions: those of its libraries, less the demo's own names (without
# the compiler's suffixes, .isra.0 and the like, which isct() takes off too)
comm -23 <(nm --defined-only "$build"/libctrace.a "$build"/libctrace-wrap.a 2>/dev/null |
	awk '$2 ~ /^[tTwW]$/ {sub(/\..*/, "", $3); print $3}' | sort -u) \
	<(nm --defined-only $objs | awk '$2 ~ /^[tTwW]$/ {sub(/\..*/, "", $3); print $3}' | sort -u) >"$work/ctsyms"
echo
echo "ctrace's own share of the traced service's CPU (perf record -g -F 1999 of the service alone, ${secs}s,"
echo "hey -c $conc, at -q $aqps and saturated): samples on ctrace's threads or inside its code, of all the service's samples"
echo
printf '| %-23s | %-15s | %8s | %13s | %14s | %16s |\n' mode load samples "ctrace share" "writer threads" "program threads"
printf '|%s|\n' "-------------------------|-----------------|----------|---------------|----------------|------------------"
# Untraced, saturated: the interposers and API calls still run (to find
# tracing off) and the samples that land after a real call's return (the
# return's misprediction or the kernel exit) still fall in their frames; the
# traced modes' estimates below are taken net of this.
read -r tot mine wr th < <(attribute off "")
awk -v t="$tot" -v m="$mine" -v w="$wr" -v h="$th" 'BEGIN {
	if (!t) { printf "| %-23s | %-15s | %8s | %13s | %14s | %16s |\n", "off (baseline)", "saturated", 0, "-", "-", "-"; exit }
	printf "| %-23s | %-15s | %8d | %12.2f%% | %13.2f%% | %15.2f%% |\n", "off (baseline)", "saturated", t, 100 * m / t, 100 * w / t, 100 * h / t }'
off_share=0
[ "$tot" -gt 0 ] && off_share=$(awk -v m="$mine" -v t="$tot" 'BEGIN { printf "%.6f", m / t }')
for m in "${modes[@]}"; do
	[ "$m" = off ] && continue
	name=$(mode_name "$m")
	for load in "-q $aqps" ""; do
		read -r tot mine wr th < <(attribute "$m" "$load")
		awk -v n="$name" -v l="${load:-saturated}" -v t="$tot" -v m="$mine" -v w="$wr" -v h="$th" 'BEGIN {
			if (!t) { printf "| %-23s | %-15s | %8s | %13s | %14s | %16s |\n", n, l, 0, "-", "-", "-"; exit }
			printf "| %-23s | %-15s | %8d | %12.2f%% | %13.2f%% | %15.2f%% |\n", n, l, t, 100 * m / t, 100 * w / t, 100 * h / t }'
		# saturated: what ctrace's share of a request's CPU is of the machine's
		[ -z "$load" ] && [ "$tot" -gt 0 ] &&
			ashare+="$name $(awk -v m="$mine" -v t="$tot" 'BEGIN { printf "%.6f", m / t }')"$'\n'
	done
done
# The attribution's estimate: ctrace's own CPU (share x the service's CPU per
# request, that of a traced request) over the machine's CPU per request.
# Unlike the paired estimate, it cannot see what ctrace makes the kernel do
# outside its frames (perf's context switches), so it is a floor for perf.
if [ -n "${ashare:-}" ] && awk -v m="$off_mach" 'BEGIN { exit !(m > 0) }'; then
	echo
	echo "Throughput loss at saturation, estimated from the attribution: (share - the untraced service's $(awk -v s="$off_share" 'BEGIN { printf "%.2f%%", 100 * s }'))"
	echo "x $off_cpu us / $off_mach us (a floor with perf: the kernel's part of a context switch is outside ctrace's frames)"
	printf '%s' "$ashare" | while read -r line; do
		s=${line##* }
		n=${line% *}
		awk -v n="$n" -v s="$s" -v o="$off_share" -v c="$off_cpu" -v m="$off_mach" 'BEGIN {
			s -= o; if (s < 0) s = 0
			d = s / (1 - s) * c; printf "  %-23s %.2f%%\n", n, 100 * d / (m + d) }'
	done
fi
echo
echo "Where the program's threads spent ctrace's share (ctrace's outermost function, % of the service's samples):"
for m in "${modes[@]}"; do
	[ "$m" = off ] && continue
	for w in fixed ""; do
		f="$work/where-$m-$w"
		[ -s "$f" ] || continue
		printf '  %s, %s: %s\n' "$(mode_name "$m")" "${w:-saturated}" "$(paste -sd';' "$f" | sed 's/;/; /g')"
	done
done
