#!/usr/bin/env bash
# bench/compare.sh (make bench-compare): the harness's load engine against
# wrk, the vegeta CLI and k6 on the same trivial loopback endpoint with the
# same connection count, one after another, in rounds. Prints requests/s,
# generator CPU per request and peak memory per tool, and the harness's rate
# as a ratio to each. Generator and server share this machine's cores.
#
# Env: CONNS (64), DURATION (5s), ROUNDS (5: every tool once per round,
# ratios per round and their median), GO (go), K6=skip, K6_VERSION,
# BENCH_MILLION=1 also sends one million requests through the engine and
# reports its peak memory.
set -euo pipefail

CONNS=${CONNS:-64}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-5}
GO=${GO:-go}
VEGETA_VERSION=v12.13.0
K6_VERSION=${K6_VERSION:-v1.8.1}
cd "$(dirname "$0")/.."
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "compare: ROUNDS=$ROUNDS: want a whole number of rounds, 1 or more" >&2; exit 2; }

tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

[[ -x /usr/bin/time ]] || { echo "compare: GNU time (/usr/bin/time) is needed to measure CPU: apt-get install time" >&2; exit 1; }

echo "compare: building the trivial server and the engine driver" >&2
CGO_ENABLED=0 $GO build -o "$tmp/trivial" ./bench/cmd/trivial
CGO_ENABLED=0 $GO build -o "$tmp/engine" ./bench/cmd/engine

"$tmp/trivial" -max-duration 10m >"$tmp/addr" &
server_pid=$!
for _ in $(seq 50); do [[ -s $tmp/addr ]] && break; sleep 0.1; done
url=$(head -n1 "$tmp/addr")
[[ $url == http://127.0.0.1:* ]] || { echo "compare: trivial server did not start" >&2; exit 1; }
echo "compare: endpoint $url, $CONNS connections, $DURATION each" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

rows=()   # round|name|requests|seconds|cpu_s|maxrss_kb
notes=()

# timed NAME CMD...: runs CMD under GNU time; sets T_CPU (s) and T_RSS (KB).
timed() {
	/usr/bin/time -f '%U %S %M' -o "$tmp/time" "$@"
	read -r u s m <"$tmp/time"
	T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')
	T_RSS=$m
}

# Set up each tool once; a tool that cannot run is a note, not a failure.
have_wrk=
if command -v wrk >/dev/null; then have_wrk=1; else notes+=("wrk: not installed (apt-get install wrk); skipped"); fi

have_vegeta=
if GOBIN="$tmp/gobin" $GO install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" 2>"$tmp/vegeta-install.log"; then
	have_vegeta=1
	echo "GET $url" >"$tmp/targets"
else
	notes+=("vegeta CLI: go install failed ($(tail -n1 "$tmp/vegeta-install.log")); skipped")
fi

# k6: the one on PATH, else built once with go install into a cache dir
# (about 3 minutes the first time); K6=skip leaves it out.
k6bin=
if [[ ${K6:-} != skip ]]; then
	k6bin=$(command -v k6 || true)
	if [[ -z $k6bin ]]; then
		k6dir=${XDG_CACHE_HOME:-$HOME/.cache}/ahsp-harness/k6-$K6_VERSION
		if [[ ! -x $k6dir/k6 ]]; then
			echo "compare: building k6 $K6_VERSION with go install (once, into $k6dir; K6=skip to leave it out)" >&2
			GOBIN="$k6dir" $GO install "go.k6.io/k6@$K6_VERSION" 2>"$tmp/k6-install.log" || true
		fi
		[[ -x $k6dir/k6 ]] && k6bin=$k6dir/k6
	fi
fi
if [[ -n $k6bin ]]; then
	cat >"$tmp/k6.js" <<JS
import http from 'k6/http';
export const options = { vus: $CONNS, duration: '$DURATION', discardResponseBodies: true };
export default function () { http.get('$url'); }
JS
	k6name="k6 $($k6bin version 2>/dev/null | awk '{print $2; exit}') ($CONNS VUs)"
else
	notes+=("k6: not on PATH and not built (${K6:-go install failed: $(tail -n1 "$tmp/k6-install.log" 2>/dev/null)}); skipped")
fi

# Each round runs every tool once, one after another; rounds repeat that,
# so load from other work on a shared machine falls on every tool alike
# and the median of the per-round ratios is the figure to quote. Even
# rounds run the tools in reverse order, so no tool always runs right
# after the same other one.
run_wrk() {
	[[ -n $have_wrk ]] || return 0
	timed wrk -t2 -c"$CONNS" -d"$DURATION" "$url" >"$tmp/wrk.out"
	n=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
	el=$(awk '/requests in/ {gsub(/s,?/,"",$4); print $4}' "$tmp/wrk.out")
	rows+=("$round|wrk (2 threads)|$n|$el|$T_CPU|$T_RSS")
}
run_vegeta() {
	[[ -n $have_vegeta ]] || return 0
	timed "$tmp/gobin/vegeta" attack -targets="$tmp/targets" -rate=0 -workers="$CONNS" -max-workers="$CONNS" \
		-connections="$CONNS" -max-connections="$CONNS" -duration="$DURATION" -output="$tmp/vegeta.bin"
	"$tmp/gobin/vegeta" report -type=json "$tmp/vegeta.bin" >"$tmp/vegeta.json"
	read -r n el < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"], (r["duration"]+r["wait"])/1e9)' "$tmp/vegeta.json")
	rows+=("$round|vegeta CLI $VEGETA_VERSION|$n|$el|$T_CPU|$T_RSS")
}
run_k6() {
	[[ -n $k6bin ]] || return 0
	timed "$k6bin" run --quiet --summary-export "$tmp/k6.json" "$tmp/k6.js" >/dev/null
	read -r n el < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metrics"]["http_reqs"]; print(m["count"], m["count"]/m["rate"])' "$tmp/k6.json")
	rows+=("$round|$k6name|$n|$el|$T_CPU|$T_RSS")
}
run_engine() {
	# No User-Agent, as wrk sends none: the server parses the same request.
	timed "$tmp/engine" -url "$url" -connections "$CONNS" -duration "$DURATION" -user-agent "" >"$tmp/engine.json"
	read -r n el < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"], r["seconds"])' "$tmp/engine.json")
	rows+=("$round|harness engine|$n|$el|$T_CPU|$T_RSS")
}
for round in $(seq "$ROUNDS"); do
	echo "compare: round $round of $ROUNDS (load average $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown))" >&2
	if ((round % 2)); then
		run_wrk; run_vegeta; run_k6; run_engine
	else
		run_engine; run_k6; run_vegeta; run_wrk
	fi
done

printf '%s\n' "${rows[@]}" >"$tmp/rows"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
harness = {r[0]: float(r[2]) / float(r[3]) for r in rows if r[1] == "harness engine"}
print("\n| generator | round | requests | requests/s | generator CPU µs/request | peak RSS MB | harness rate ÷ this |")
print("|---|---:|---:|---:|---:|---:|---:|")
ratios, cpu = {}, {}
for rnd, name, n, el, c, rss in rows:
    rate = float(n) / float(el)
    ratio = harness[rnd] / rate
    ratios.setdefault(name, []).append(ratio)
    cpu.setdefault(name, []).append(float(c) / float(n) * 1e6)
    print("| %s | %s | %d | %.0f | %.1f | %.0f | %.2f |" % (name, rnd, int(n), rate, float(c) / float(n) * 1e6, float(rss) / 1024, ratio))
if len(harness) > 1:
    print("\n| generator | rounds | median CPU µs/request | harness rate ÷ this, median (min–max) |")
    print("|---|---:|---:|---:|")
    for name in ratios:
        r = ratios[name]
        print("| %s | %d | %.1f | %.2f (%.2f–%.2f) |" % (name, len(r), statistics.median(cpu[name]), statistics.median(r), min(r), max(r)))
PY
for n in "${notes[@]}"; do echo "note: $n"; done
echo "note: generator and server share this machine's $(nproc) cores; CPU is the generator's own (user+system); compare ratios within a round."
echo "note: load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (other work on the machine takes cores from every tool)"

if [[ ${BENCH_MILLION:-} == 1 ]]; then
	echo "compare: one million requests through the engine (constant-memory metrics)" >&2
	timed "$tmp/engine" -url "$url" -connections "$CONNS" -requests 1000000 >"$tmp/million.json"
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("engine, 1,000,000 requests: %d sent, %d errors, %.0f/s, peak RSS %.0f MB, heap in use %.1f MB at the end" % (r["requests"], r["errors"], r["rate_per_s"], r["max_rss_mb"], r["heap_inuse_mb"]))' "$tmp/million.json"
fi
