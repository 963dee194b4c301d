#!/usr/bin/env bash
# A mutex-heavy and a syscall-heavy program (bench/progs) run plain, under
# `ctrace run`, with the preload library but no capture, and under LTTng-UST's
# pthread wrapper with a recording session and without one: REPS rounds, the
# variants interleaved in each round, the median of each printed beside the
# plain run and the ratio. Wall time and CPU time (user + system of the
# program and what it waits for; for LTTng, plus the CPU its consumer daemon
# spent) are both shown: on a shared 2-core machine the CPU time is the
# steadier figure.
#
#   bench/bench_run.sh BUILD_DIR [REPS]
#
# LTTng is skipped, with a message, when lttng-tools or liblttng-ust are not
# installed (Debian: lttng-tools liblttng-ust1). It needs a root session
# daemon or one of the current user; the script starts one if none answers
# and stops it at the end.
set -euo pipefail

build=${1:?usage: bench_run.sh BUILD_DIR [REPS]}
reps=${2:-5}
ctrace=$build/ctrace
preload=$build/libctrace-preload.so
progs=("$build/bench/bench_prog_mutex_heavy 2 40000000" "$build/bench/bench_prog_syscall_heavy 2 200000")
for f in "$ctrace" "$preload" "$build/bench/bench_prog_mutex_heavy" "$build/bench/bench_prog_syscall_heavy"; do
	[[ -e $f ]] || { echo "bench_run.sh: $f is missing: build $build first" >&2; exit 2; }
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "bench_run.sh: REPS must be a positive number" >&2; exit 2; }

tmp=$(mktemp -d /tmp/bench_run.XXXXXX)
started_sessiond=
cleanup() {
	if [[ -n $started_sessiond ]]; then
		lttng destroy --all >/dev/null 2>&1 || true
		kill "$started_sessiond" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- LTTng: present, and a session daemon that answers ----
lttng_wrapper=$(ldconfig -p 2>/dev/null | awk '/liblttng-ust-pthread-wrapper\.so/ {print $NF; exit}')
lttng_ok=
if ! command -v lttng >/dev/null || [[ -z $lttng_wrapper ]]; then
	echo "bench_run.sh: LTTng skipped: lttng-tools or liblttng-ust1 is not installed" >&2
elif ! lttng list >/dev/null 2>&1; then
	if lttng-sessiond --background --no-kernel >"$tmp/sessiond.log" 2>&1; then
		rundir=$([[ $(id -u) == 0 ]] && echo /var/run/lttng || echo "$HOME/.lttng")
		started_sessiond=$(cat "$rundir/lttng-sessiond.pid" 2>/dev/null || true)
		lttng list >/dev/null 2>&1 && lttng_ok=1
	fi
	[[ -n $lttng_ok ]] || echo "bench_run.sh: LTTng skipped: no session daemon could be started ($(tail -1 "$tmp/sessiond.log"))" >&2
else
	lttng_ok=1
fi

# CPU seconds (user + system) of every lttng-consumerd: the part of LTTng's
# recording that runs outside the traced program.
consumerd_cpu() {
	local hz total=0 pid
	hz=$(getconf CLK_TCK)
	for pid in $(pgrep -x lttng-consumerd 2>/dev/null || true); do
		# fields 14 and 15 of /proc/PID/stat, after the ")" of the name
		total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
	done
	awk -v t="$total" -v hz="$hz" 'BEGIN { printf "%.3f", t / hz }'
}

# Runs one variant of a program once; appends "wall cpu note" to its file.
run_one() {
	local variant=$1 prog=$2 out=$3 note=-
	local -a cmd env=()
	read -r -a cmd <<<"$prog"
	local c0=0
	case $variant in
	plain) ;;
	ctrace) cmd=("$ctrace" run -o "$tmp/trace.ct" -- "${cmd[@]}") ;;
	preload) env=(LD_PRELOAD="$preload") ;;
	lttng-rec)
		lttng create bench --output="$tmp/lttng" >/dev/null
		lttng enable-channel -u ch --subbuf-size=4M --num-subbuf=8 >/dev/null
		lttng enable-event -u -c ch 'lttng_ust_pthread:*' >/dev/null
		lttng start >/dev/null
		env=(LD_PRELOAD="$lttng_wrapper")
		c0=$(consumerd_cpu)
		;;
	lttng-nosession) env=(LD_PRELOAD="$lttng_wrapper") ;;
	esac
	/usr/bin/time -f "%e %U %S" -o "$tmp/time" env "${env[@]}" CTRACE_OUTPUT= \
		"${cmd[@]}" >"$tmp/stdout" 2>"$tmp/stderr" || {
		echo "bench_run.sh: $variant: ${cmd[*]} failed:" >&2
		cat "$tmp/stderr" >&2
		exit 1
	}
	local wall user sys
	read -r wall user sys <"$tmp/time"
	local cpu
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')
	case $variant in
	ctrace)
		note="$(($(stat -c %s "$tmp/trace.ct") / 1024)) KiB trace"
		rm -f "$tmp/trace.ct"
		;;
	lttng-rec)
		local stopmsg c1
		stopmsg=$(lttng stop 2>&1 || true)
		c1=$(consumerd_cpu)
		cpu=$(awk -v c="$cpu" -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", c + b - a }')
		local lost
		lost=$(grep -o '[0-9]* events were discarded' <<<"$stopmsg" | awk '{print $1}' || true)
		note="$(($(du -sk "$tmp/lttng" | cut -f1))) KiB trace, ${lost:-0} discarded"
		lttng destroy bench >/dev/null
		rm -rf "$tmp/lttng"
		;;
	esac
	echo "$wall $cpu $note" >>"$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

variants=(plain ctrace preload)
[[ -n $lttng_ok ]] && variants+=(lttng-rec lttng-nosession)
declare -A label=([plain]="plain" [ctrace]="ctrace run (recording)"
	[preload]="ctrace preload, no capture" [lttng-rec]="LTTng pthread wrapper, session recording"
	[lttng-nosession]="LTTng pthread wrapper, no session")

echo "bench_run.sh: $reps rounds, variants interleaved; median wall and CPU seconds"
echo
echo "| program | variant | wall s | wall ratio | CPU s | CPU ratio | recorded |"
echo "|---|---|---|---|---|---|---|"
for prog in "${progs[@]}"; do
	name=$(basename "${prog%% *}")
	name=${name#bench_prog_}
	for v in "${variants[@]}"; do : >"$tmp/$v"; done
	for ((r = 0; r < reps; r++)); do
		# rotate the order each round so no variant always runs first
		for ((i = 0; i < ${#variants[@]}; i++)); do
			v=${variants[$(((i + r) % ${#variants[@]}))]}
			run_one "$v" "$prog" "$tmp/$v"
		done
	done
	pw=$(cut -d' ' -f1 "$tmp/plain" | median)
	pc=$(cut -d' ' -f2 "$tmp/plain" | median)
	for v in "${variants[@]}"; do
		w=$(cut -d' ' -f1 "$tmp/$v" | median)
		c=$(cut -d' ' -f2 "$tmp/$v" | median)
		note=$(tail -1 "$tmp/$v" | cut -d' ' -f3-)
		awk -v n="$name ${prog#* }" -v l="${label[$v]}" -v w="$w" -v c="$c" -v pw="$pw" \
			-v pc="$pc" -v note="$note" 'BEGIN {
			printf "| %s | %s | %.2f | %.2f | %.2f | %.2f | %s |\n", n, l, w, w / pw, c, c / pc, note }'
	done
done
[[ -n $lttng_ok ]] && echo && echo "LTTng's wrapper traces pthread mutex calls only: on syscall_heavy it records nothing."
exit 0
