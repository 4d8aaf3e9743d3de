#!/usr/bin/env bash
# Load test of the gateway against its peers, in one run, on this machine:
#   preflight serve | nginx configured as a CORS gateway | Go's rs/cors in front of
#   httputil.ReverseProxy
# all with the same policy in front of the same upstream (a static nginx).
# Two workloads: an allowed preflight (answered at the edge) and an allowed GET
# (proxied). Each server is pinned to core 0; wrk and the upstream to core 1.
# Only 127.0.0.1 is used. Every wrk run is bounded (DUR seconds). Access logs
# are off for every server (nginx access_log off; preflight RUST_LOG=warn).
#
#   bench/load/run.sh            # DUR=10 CONNS=32
# Needs: wrk, nginx, golang, golang-github-rs-cors-dev (apt), cargo.
set -euo pipefail
DUR="${DUR:-10}"
CONNS="${CONNS:-32}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

UP=18100; NGX=18101; PF=18102; GOP=18103
for p in $UP $NGX $PF $GOP; do
    if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "port $p is in use" >&2; exit 2; fi
done

echo "== building" >&2
(cd "$ROOT" && cargo build --release -q -p preflight)
PREFLIGHT="${CARGO_TARGET_DIR:-$ROOT/target}/release/preflight"
GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$WORK/rscors" "$HERE/rscors_proxy.go"

fill() { sed -e "s|@UP@|$UP|g" -e "s|@PORT@|$1|g" -e "s|@DIR@|$WORK|g" "$2" > "$3"; }
fill "$NGX" "$HERE/nginx-upstream.conf.in" "$WORK/nginx-up.conf"
fill "$NGX" "$HERE/nginx-gateway.conf.in" "$WORK/nginx-gw.conf"
fill "$PF" "$HERE/preflight.toml.in" "$WORK/preflight.toml"

taskset -c 1 nginx -c "$WORK/nginx-up.conf" -e "$WORK/nginx-up-stderr.log" & PIDS+=($!)
taskset -c 0 nginx -c "$WORK/nginx-gw.conf" -e "$WORK/nginx-gw-stderr.log" & PIDS+=($!)
RUST_LOG="${RUST_LOG:-warn}" taskset -c 0 "$PREFLIGHT" serve --config "$WORK/preflight.toml" > "$WORK/preflight.log" 2>&1 & PIDS+=($!)
taskset -c 0 "$WORK/rscors" "127.0.0.1:$GOP" "http://127.0.0.1:$UP" > "$WORK/go.log" 2>&1 & PIDS+=($!)
for p in $UP $NGX $PF $GOP; do
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
done

# Each peer must give the right answers before it is timed.
for name_port in "preflight:$PF" "nginx:$NGX" "rs/cors:$GOP"; do
    name="${name_port%%:*}"; port="${name_port##*:}"
    pf=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "http://127.0.0.1:$port/api/users/1" \
        -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: PUT' \
        -H 'Access-Control-Request-Headers: content-type' -D "$WORK/h")
    acao=$(grep -i '^access-control-allow-origin:' "$WORK/h" | tr -d '\r' | cut -d' ' -f2)
    get=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/users/1" -H 'Origin: https://app.example.com' -D "$WORK/h2")
    acao2=$(grep -i '^access-control-allow-origin:' "$WORK/h2" | tr -d '\r' | cut -d' ' -f2)
    echo "check $name: preflight $pf ($acao), GET $get ($acao2)" >&2
    if [ "$acao" != "https://app.example.com" ] || [ "$acao2" != "https://app.example.com" ] || [ "$get" != 200 ]; then
        echo "$name does not answer as configured" >&2; exit 1
    fi
done

run() { # name port script
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s "$HERE/$3" "http://127.0.0.1:$2/api/users/1" > "$WORK/wrk.txt"
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
    errs=$(awk '/Non-2xx|Socket errors/ {print}' "$WORK/wrk.txt" | tr '\n' ' ')
    echo "$1|$rps|$p50|$p99|$errs"
}

echo "| workload | server | requests/s | p50 | p99 | ratio to preflight | notes |"
echo "|---|---|---:|---:|---:|---:|---|"
for workload in "allowed preflight:preflight.lua" "allowed GET, proxied:actual.lua"; do
    wname="${workload%%:*}"; script="${workload##*:}"
    base=""
    for name_port in "preflight:$PF" "nginx:$NGX" "rs/cors:$GOP"; do
        name="${name_port%%:*}"; port="${name_port##*:}"
        taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$HERE/$script" "http://127.0.0.1:$port/api/users/1" > /dev/null
        IFS='|' read -r n rps p50 p99 errs <<< "$(run "$name" "$port" "$script")"
        [ -z "$base" ] && base="$rps"
        ratio=$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
        echo "| $wname | $n | $rps | $p50 | $p99 | $ratio | $errs |"
    done
done
