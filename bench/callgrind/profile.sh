#!/usr/bin/env bash
# Instructions per request of the release `preflight serve`, counted with
# callgrind (steady under load, unlike wall-clock figures), and where they go.
#
#   bench/callgrind/profile.sh [preflight|get|preflight-log|preflight-stderr] [N]   # default: preflight 4000
#   PREFLIGHT=/tmp/old TAG=before bench/callgrind/profile.sh get     # another binary
#
# The gateway runs under callgrind twice, serving N/4 and then N requests
# (bench/callgrind/client.py, 4 kept-alive connections, one request at a
# time); the difference of the two totals over the difference of the counts
# is the cost of one request, start-up and shutdown cancelled. The upstream
# (nginx, bench/conf/nginx-upstream.conf.in) runs natively. Prints the
# per-request count and writes the larger run's profile to
# bench/results/callgrind.KIND.out (read it with `callgrind_annotate
# --inclusive=yes`). 127.0.0.1 only; every wait is bounded.
set -euo pipefail
KIND="${1:-preflight}"
N="${2:-4000}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$ROOT/bench/results"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
PGIDS=()
cleanup() {
    for g in "${PGIDS[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
export PATH="$PATH:/usr/sbin"
UP=18120
PORT=18121
# PREFLIGHT=path/to/binary profiles that binary instead (a before/after pair).
if [ -z "${PREFLIGHT:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -j2 -p preflight)
    PREFLIGHT="$CARGO_TARGET_DIR/release/preflight"
fi
sed -e "s|@UP@|$UP|g" -e "s|@PORT@|$UP|g" -e "s|@DIR@|$WORK|g" "$ROOT/bench/conf/nginx-upstream.conf.in" > "$WORK/up.conf"
ACCESS=off
[ "$KIND" = preflight-log ] && ACCESS="$WORK/access.log"
[ "$KIND" = preflight-stderr ] && ACCESS=stderr
sed -e "s|@UP@|$UP|g" -e "s|@PORT@|$PORT|g" -e "s|@ACCESS_LOG@|$ACCESS|g" "$ROOT/bench/conf/preflight.toml.in" > "$WORK/preflight.toml"
setsid nginx -c "$WORK/up.conf" -e "$WORK/up.err" > /dev/null 2>&1 &
PGIDS+=($!)
log=warn
client_kind=$KIND
# preflight-log: to a file ([server] access_log); preflight-stderr: the
# tracing event, to stderr.
case "$KIND" in preflight-log) client_kind=preflight ;; preflight-stderr) log=info; client_kind=preflight ;; esac

one() { # requests -> total instructions of the run
    local n="$1" pid
    rm -f "$WORK/cg.out"
    setsid env RUST_LOG=$log taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
        "$PREFLIGHT" serve --config "$WORK/preflight.toml" > "$WORK/pf.log" 2>&1 &
    pid=$!
    PGIDS+=($pid)
    for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
    timeout 600 python3 "$HERE/client.py" "$PORT" "$n" "$client_kind"
    kill -TERM "$pid"
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "preflight did not stop" >&2; exit 1; }
    awk '/^summary:/ {print $2}' "$WORK/cg.out"
}
small=$((N / 4))
a=$(one "$small")
b=$(one "$N")
TAG="${TAG:-$KIND}"
cp "$WORK/cg.out" "$OUT/callgrind.$TAG.out"
per=$(( (b - a) / (N - small) ))
echo "$TAG: $per instructions per request ($a for $small requests, $b for $N)"
echo "$TAG	$per" >> "$OUT/callgrind.tsv"
