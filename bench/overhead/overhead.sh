#!/usr/bin/env bash
# The overhead budget of tracing a whole service: `hey -z Ns -c C` against
# the demo service (examples/demo-service) in alternating runs with tracing
# off, the flight recorder on, and a full streaming capture to a file.
# Prints throughput, p50/p99 and the service's CPU time per request per mode
# (medians over the rounds), their ratios against "off", and the run-to-run
# spread of each mode.
#
#   bench/overhead/overhead.sh [-d SECONDS] [-r ROUNDS] [-c CONCURRENCY] [-b BUILD_DIR]
#                              [-x]
# -x adds a fourth mode: the flight recorder with the schedstat scheduler
# source instead of perf context switches, to tell the kernel's cost per
# switch of a perf event (docs/PERFORMANCE.md) from ctrace's own.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=10
rounds=5
conc=50
build=build
extra=0
while getopts "d:r:c:b:xh" o; do
	case $o in
	d) secs=$OPTARG ;;
	r) rounds=$OPTARG ;;
	c) conc=$OPTARG ;;
	b) build=$OPTARG ;;
	x) extra=1 ;;
	*)
		sed -n '2,13p' "$0"
		exit 2
		;;
	esac
done
for v in "$secs" "$rounds" "$conc"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || {
		echo "overhead: -d, -r and -c take positive integers" >&2
		exit 2
	}
done
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

# One run: starts the service in a mode, warms it up, measures, stops it.
# Prints "rps p50_s p99_s".
run_mode() {
	local mode=$1 port trace svc_pid out sched=
	port=$(free_port)
	case $mode in
	off) trace=off ;;
	flight) trace=flight ;;
	flight-schedstat) trace=flight sched=schedstat ;;
	stream) trace="stream=$work/stream.ctrace" ;;
	esac
	CTRACE_SCHED=${sched:-auto} "$svc" --listen "127.0.0.1:$port" --downstream "127.0.0.1:$dport" --trace "$trace" \
		--dump-dir "$work/dumps" --data-dir "$work/data" --admin off >/dev/null 2>&1 &
	svc_pid=$!
	wait_port "$port"
	hey -z 1s -c "$conc" "http://127.0.0.1:$port/catalog?item=7" >/dev/null
	# the service's CPU time (user + system, all its threads) around the run:
	# CPU per request is not moved by time other processes took from it
	local c0 c1
	c0=$(awk '{print $14 + $15}' "/proc/$svc_pid/stat")
	out=$(hey -z "${secs}s" -c "$conc" "http://127.0.0.1:$port/catalog?item=7")
	c1=$(awk '{print $14 + $15}' "/proc/$svc_pid/stat")
	kill -TERM "$svc_pid"
	wait "$svc_pid" 2>/dev/null || true
	rm -f "$work/stream.ctrace"
	awk -v cpu_s="$(((c1 - c0)))" -v hz="$(getconf CLK_TCK)" '
	     /Requests\/sec:/ {rps=$2} /^ +50%+ in/ {p50=$3} /^ +99%+ in/ {p99=$3}
	     /Status code distribution/ {codes=1} codes && /\[[0-9]+\]/ {
		gsub(/[\[\]]/, "", $1); n += $2; if ($1 != 200) bad += $2 }
	     END { if (bad) print "non-200 answers: " bad > "/dev/stderr"
		   printf "%s %s %s %.2f\n", rps, p50, p99, n ? cpu_s / hz * 1e6 / n : 0 }' <<<"$out"
}

modes=(off flight stream)
[ "$extra" = 1 ] && modes+=(flight-schedstat)
nm=${#modes[@]}
declare -A res
echo "overhead: $rounds rounds of ${secs}s per mode, hey -c $conc, GET /catalog; modes rotate each round" >&2
for ((r = 0; r < rounds; r++)); do
	for ((k = 0; k < nm; k++)); do
		m=${modes[$(((r + k) % nm))]}
		line=$(run_mode "$m")
		res[$m]+="$line"$'\n'
		printf '  round %d %-7s %s req/s, p50 %s s, p99 %s s, %s us CPU/req\n' $((r + 1)) "$m" $line >&2
	done
done

# Medians and spread per mode, ratios against off.
summary() { # mode -> "rps_med p50_med p99_med rps_spread p99_spread cpu_med cpu_spread"
	printf '%s' "${res[$1]}" | awk '
		function med(a, n,   i, j, t) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
		function spread(a, n,   i, lo, hi) { lo = hi = a[1]
			for (i = 2; i <= n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
			return lo > 0 ? (hi - lo) / lo : 0 }
		NF == 4 { n++; r[n] = $1; p5[n] = $2; p9[n] = $3; r2[n] = $1; q9[n] = $3; c[n] = $4; c2[n] = $4 }
		END { printf "%.1f %.6f %.6f %.4f %.4f %.2f %.4f\n", med(r, n), med(p5, n), med(p9, n), spread(r2, n), spread(q9, n), med(c, n), spread(c2, n) }'
}
read -r off_rps off_p50 off_p99 off_rs off_ps off_cpu off_cs < <(summary off)
echo
echo "Overhead budget: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hey -z ${secs}s -c $conc, $rounds rounds per mode (medians); spread = (max-min)/min over the rounds"
echo
printf '| %-23s | %10s | %8s | %9s | %8s | %9s | %8s | %10s | %10s | %11s | %8s | %10s |\n' mode "req/s" ratio "p50 ms" ratio "p99 ms" ratio "req/s spr" "p99 spread" "CPU us/req" ratio "CPU spread"
printf '|%s|\n' "-------------------------|------------|----------|-----------|----------|-----------|----------|------------|------------|-------------|----------|------------"
for m in "${modes[@]}"; do
	read -r rps p50 p99 rs ps cpu cs < <(summary "$m")
	name=$m
	[ "$m" = off ] && name="off (baseline)"
	[ "$m" = flight ] && name="flight recorder"
	[ "$m" = stream ] && name="full capture (stream)"
	[ "$m" = flight-schedstat ] && name="flight, sched schedstat"
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
	read -r _ _ p99 _ ps _ _ < <(summary "$m")
	awk -v m="$m" -v p="$p99" -v b="$off_p99" -v bs="$off_ps" -v ms="$ps" 'BEGIN {
		d = b > 0 ? (p - b) / b : 0; sp = bs > ms ? bs : ms
		printf "p99, %s vs off: %+.1f%%; run-to-run spread of p99 (the larger of the two modes): %.1f%%: %s\n",
			m, d * 100, sp * 100, (d < 0 ? -d : d) <= sp ? "within the spread" : "OUTSIDE the spread" }'
done
