#!/usr/bin/env bash
# preflight serve against nginx and its peers, CPU per request, in one run;
# regenerates the load section of BENCHMARKS.md and bench/ratios.svg.
#
#   bench/run.sh                    # ROUNDS=3 DUR=5 WARM=1 CONNS=50
#   SKIP_CRITERION=1 bench/run.sh   # keep the criterion figures of the last run
#   NO_INSTALL=1 bench/run.sh       # fail instead of installing a missing peer
#
# Method: every server on core 1, `wrk -t1 -cCONNS --latency` on core 0, the
# upstream (an nginx answering a small fixed body) on core 1 too. Access logs
# off, except in the "logs on" pair (nginx `access_log` to a file with a
# buffer; preflight's access log to a file). A server's CPU time is
# utime+stime of its process (all threads) from /proc/PID/stat, read before
# and after each point, divided by the requests wrk counted. Every
# configuration's answer is checked with curl before it is timed. A warm-up
# point of each, then ROUNDS interleaved rounds, in ABBA order (one round
# forward, the next backward); the report takes the median of the rounds.
# 127.0.0.1 only; every wrk run is bounded (DUR seconds, plus 10 s of timeout).
set -euo pipefail
ROUNDS="${ROUNDS:-3}"
DUR="${DUR:-5}"
WARM="${WARM:-1}"
CONNS="${CONNS:-50}"
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="${OUT:-$HERE/results}"
WORK="$(mktemp -d)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
START_TIME=$(date +%s)
PGIDS=()
BUILD_PID=
cleanup() {
    # The background build, if the script ends before it does.
    if [ -n "$BUILD_PID" ] && kill -0 "$BUILD_PID" 2>/dev/null; then
        pkill -TERM -P "$BUILD_PID" 2>/dev/null || true
        kill -TERM "$BUILD_PID" 2>/dev/null || true
    fi
    # Each server was started in its own process group (setsid): end those.
    for g in "${PGIDS[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    sleep 0.5
    for g in "${PGIDS[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "== $*" >&2; }

# ---- build, while the peers install ----------------------------------------
# The Rust builds are the long part from nothing (a clean machine): they run
# in the background while apt, pip and npm fetch the peers; the criterion
# benchmarks are built with them, so that the measurements later run on a
# quiet machine.
say "building preflight (release), its criterion benchmarks and the Rust peers (log: $WORK/build.log)"
(
    set -e
    cd "$ROOT"
    cargo build --release -q -j2 -p preflight
    if [ -z "${SKIP_CRITERION:-}" ]; then
        cargo bench --no-run -q -j2 -p preflight-core --bench decide
        cargo bench --no-run -q -j2 -p preflight-tower --bench layer
    fi
    cd "$HERE/peers"
    CARGO_TARGET_DIR="$HERE/peers/target" cargo build --release -q -j2
) > "$WORK/build.log" 2>&1 &
BUILD_PID=$!
PREFLIGHT="$CARGO_TARGET_DIR/release/preflight"
PEERS_BIN="$HERE/peers/target/release"

# ---- peers: install what is missing ----------------------------------------
need_apt=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v go >/dev/null || need_apt+=(golang)
command -v curl >/dev/null || need_apt+=(curl)
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v valgrind >/dev/null || need_apt+=(valgrind)
[ -d /usr/share/gocode/src/github.com/rs/cors ] || need_apt+=(golang-github-rs-cors-dev)
if [ "${#need_apt[@]}" -gt 0 ]; then
    [ -z "${NO_INSTALL:-}" ] || { echo "missing: ${need_apt[*]}" >&2; exit 2; }
    say "apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin"
if ! python3 -c 'import matplotlib' 2>/dev/null; then
    [ -z "${NO_INSTALL:-}" ] || { echo "missing: matplotlib" >&2; exit 2; }
    say "pip install matplotlib"
    python3 -m pip install -q matplotlib
fi
EXPRESS_DIR="$HERE/peers/express"
if [ ! -d "$EXPRESS_DIR/node_modules/express" ] || [ ! -d "$EXPRESS_DIR/node_modules/cors" ]; then
    [ -z "${NO_INSTALL:-}" ] || { echo "missing: express, cors (npm)" >&2; exit 2; }
    say "npm install express cors (in bench/peers/express)"
    (cd "$EXPRESS_DIR" && npm install --silent --no-audit --no-fund)
fi

if ! wait "$BUILD_PID"; then
    echo "the build failed:" >&2; cat "$WORK/build.log" >&2; exit 1
fi
say "built ($(( $(date +%s) - START_TIME )) s since the start)"
GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$WORK/rscors" "$HERE/peers/rscors.go"

# ---- start every server ----------------------------------------------------
UP=18100
declare -A PORT=(
    [preflight]=18101 [nginx]=18102 [haproxy]=18103 [rs/cors]=18104
    [express]=18105 [axum]=18106 [hyper-204]=18107
    [preflight-log]=18108 [nginx-log]=18109 [upstream]=$UP
)
for p in "${PORT[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p is in use" >&2; exit 2; fi
done
fill() { # port access_log template out
    sed -e "s|@UP@|$UP|g" -e "s|@PORT@|$1|g" -e "s|@DIR@|$WORK|g" -e "s|@ACCESS_LOG@|$2|g" "$3" > "$4"
}
fill "$UP" off "$HERE/conf/nginx-upstream.conf.in" "$WORK/nginx-up.conf"
fill "${PORT[nginx]}" off "$HERE/conf/nginx-gateway.conf.in" "$WORK/nginx.conf"
fill "${PORT[nginx-log]}" "$WORK/nginx-access.log combined buffer=64k flush=1s" \
    "$HERE/conf/nginx-gateway.conf.in" "$WORK/nginx-log.conf"
fill "${PORT[haproxy]}" off "$HERE/conf/haproxy.cfg.in" "$WORK/haproxy.cfg"
fill "${PORT[preflight]}" off "$HERE/conf/preflight.toml.in" "$WORK/preflight.toml"
fill "${PORT[preflight-log]}" "$WORK/preflight-access.log" "$HERE/conf/preflight.toml.in" "$WORK/preflight-log.toml"

declare -A PID=()
start() { # name env... -- cmd...
    local name="$1"; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    setsid env "${envs[@]}" taskset -c "$SERVER_CPU" "$@" > "$WORK/$(echo "$name" | tr / _).out" 2>&1 &
    PID[$name]=$!
    PGIDS+=($!)
}
start upstream -- nginx -c "$WORK/nginx-up.conf" -e "$WORK/nginx-up-stderr.log"
start nginx -- nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-stderr.log"
start nginx-log -- nginx -c "$WORK/nginx-log.conf" -e "$WORK/nginx-log-stderr.log"
start haproxy -- haproxy -db -f "$WORK/haproxy.cfg"
start preflight RUST_LOG=warn -- "$PREFLIGHT" serve --config "$WORK/preflight.toml"
# The access log to a file: `[server] access_log = PATH`.
start preflight-log RUST_LOG=warn -- "$PREFLIGHT" serve --config "$WORK/preflight-log.toml"
start rs/cors GOMAXPROCS=1 -- "$WORK/rscors" "127.0.0.1:${PORT[rs/cors]}" "http://127.0.0.1:$UP"
start express NODE_ENV=production -- node "$EXPRESS_DIR/server.js" "${PORT[express]}"
start axum -- "$PEERS_BIN/axum_cors" "127.0.0.1:${PORT[axum]}"
start hyper-204 -- "$PEERS_BIN/hyper204" "127.0.0.1:${PORT[hyper-204]}"
for name in "${!PORT[@]}"; do
    p="${PORT[$name]}"
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$name did not listen on $p" >&2; cat "$WORK"/*.out >&2; exit 1; }
done

# ---- check every configuration's answer before it is timed -----------------
URL_PATH=/api/users/1
check() { # name workload
    local name="$1" workload="$2" port="${PORT[$1]}"
    local code acao
    if [ "$workload" = preflight ]; then
        code=$(curl -s -o /dev/null -D "$WORK/h" -w '%{http_code}' -X OPTIONS "http://127.0.0.1:$port$URL_PATH" \
            -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: PUT' \
            -H 'Access-Control-Request-Headers: content-type')
        acao=$(grep -i '^access-control-allow-origin:' "$WORK/h" | tr -d '\r' | cut -d' ' -f2 || true)
        if [ "$name" = hyper-204 ]; then :; elif ! grep -qi '^access-control-allow-methods:.*PUT' "$WORK/h"; then
            echo "$name: the preflight answer does not allow PUT" >&2; cat "$WORK/h" >&2; exit 1
        fi
        case "$code" in 200|204) ;; *) echo "$name: preflight answered $code" >&2; exit 1 ;; esac
    else
        code=$(curl -s -o "$WORK/b" -D "$WORK/h" -w '%{http_code}' "http://127.0.0.1:$port$URL_PATH" \
            -H 'Origin: https://app.example.com')
        acao=$(grep -i '^access-control-allow-origin:' "$WORK/h" | tr -d '\r' | cut -d' ' -f2 || true)
        [ "$name" = upstream ] && acao=https://app.example.com
        [ "$code" = 200 ] && [ "$(cat "$WORK/b")" = '{"id":1}' ] || {
            echo "$name: GET answered $code $(head -c 200 "$WORK/b")" >&2; exit 1; }
    fi
    if [ "$acao" != "https://app.example.com" ]; then
        echo "$name ($workload): Access-Control-Allow-Origin is '$acao'" >&2; cat "$WORK/h" >&2; exit 1
    fi
    echo "check $name ($workload): $code, ACAO $acao" >&2
}

# The points: workload:server. Ratios are taken within a workload.
POINTS=(
    preflight:preflight preflight:nginx preflight:haproxy preflight:rs/cors
    preflight:express preflight:axum preflight:hyper-204
    get:preflight get:nginx get:haproxy get:upstream
    preflight-log:preflight-log preflight-log:nginx-log
    get-log:preflight-log get-log:nginx-log
)
for pt in "${POINTS[@]}"; do
    w="${pt%%:*}"; s="${pt#*:}"
    case "$w" in preflight*) check "$s" preflight ;; get*) check "$s" get ;; esac
done

# ---- measure ---------------------------------------------------------------
HZ=$(getconf CLK_TCK)
cpu_ticks() { # utime+stime of the process, all its threads (fields 14, 15)
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# A server's own process: the child of taskset's exec (same PID) for all.
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"
printf 'round\tworkload\tserver\trequests\tseconds\tcpu_s\trps\tp50\tp99\trss_kib\terrors\n' > "$RESULTS"
point() { # round workload server dur
    local round="$1" w="$2" s="$3" dur="$4" pid="${PID[$3]}" port="${PORT[$3]}"
    local script="$HERE/wrk/get.lua"
    case "$w" in preflight*) script="$HERE/wrk/preflight.lua" ;; esac
    local before after
    before=$(cpu_ticks "$pid")
    taskset -c "$CLIENT_CPU" timeout $((dur + 10)) wrk -t1 -c"$CONNS" -d"${dur}s" --latency -s "$script" \
        "http://127.0.0.1:$port$URL_PATH" > "$WORK/wrk.txt"
    after=$(cpu_ticks "$pid")
    [ "$round" = warm ] && return 0
    local requests seconds rps p50 p99 errs
    requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
    seconds=$(awk '/requests in/ {sub(/s,$/, "", $4); print $4}' "$WORK/wrk.txt")
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
    errs=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' "$WORK/wrk.txt")
    local cpu
    cpu=$(awk -v a="$before" -v b="$after" -v hz="$HZ" 'BEGIN {printf "%.3f", (b - a) / hz}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$w" "$s" "$requests" "$seconds" \
        "$cpu" "$rps" "$p50" "$p99" "$(hwm_kib "$pid")" "${errs:--}" >> "$RESULTS"
    echo "round $round $w $s: $rps req/s, cpu $cpu s for $requests, p99 $p99 ${errs}" >&2
}
say "warm-up (${WARM} s each)"
for pt in "${POINTS[@]}"; do point warm "${pt%%:*}" "${pt#*:}" "$WARM"; done
for r in $(seq "$ROUNDS"); do
    say "round $r of $ROUNDS"
    order=("${POINTS[@]}")
    if [ $((r % 2)) = 0 ]; then
        order=(); for ((i = ${#POINTS[@]} - 1; i >= 0; i--)); do order+=("${POINTS[$i]}"); done
    fi
    for pt in "${order[@]}"; do point "$r" "${pt%%:*}" "${pt#*:}" "$DUR"; done
done
[ -s "$WORK/nginx-access.log" ] || { echo "nginx-log wrote no access log" >&2; exit 1; }
grep -q 'cors=preflight-allowed' "$WORK/preflight-access.log" || { echo "preflight-log wrote no access log" >&2; exit 1; }

# ---- versions, criterion, report -------------------------------------------
{
    echo "cpu	$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "cores	$(nproc)"
    echo "kernel	$(uname -r)"
    echo "preflight	$("$PREFLIGHT" --version 2>/dev/null || echo "?") ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?"))"
    echo "rustc	$(rustc --version)"
    echo "nginx	$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    echo "haproxy	$(haproxy -v 2>&1 | head -1)"
    echo "wrk	$(wrk -v 2>&1 | head -1)"
    echo "go	$(go version) rs/cors $(dpkg-query -W -f '${Version}' golang-github-rs-cors-dev 2>/dev/null)"
    echo "node	$(node --version) express $(node -p "require('$EXPRESS_DIR/node_modules/express/package.json').version") cors $(node -p "require('$EXPRESS_DIR/node_modules/cors/package.json').version")"
    echo "axum	$(awk '/^name = "axum"$/ {getline; print $3}' "$HERE/peers/Cargo.lock" | tr -d '"') tower-http $(awk '/^name = "tower-http"$/ {getline; print $3}' "$HERE/peers/Cargo.lock" | tr -d '"') hyper $(awk '/^name = "hyper"$/ {getline; print $3}' "$HERE/peers/Cargo.lock" | tr -d '"')"
    echo "load	$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "params	ROUNDS=$ROUNDS DUR=$DUR WARM=$WARM CONNS=$CONNS"
} > "$OUT/machine.tsv"
cleanup_servers() { for g in "${PGIDS[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done; PGIDS=(); }
cleanup_servers
if [ -z "${SKIP_CRITERION:-}" ]; then
    say "criterion: preflight-core decide, preflight-tower layer"
    (cd "$ROOT" && cargo bench -q -j2 -p preflight-core --bench decide -- --warm-up-time 1 --measurement-time 2 >&2)
    (cd "$ROOT" && cargo bench -q -j2 -p preflight-tower --bench layer -- --warm-up-time 1 --measurement-time 2 >&2)
fi
echo "elapsed	$(( $(date +%s) - START_TIME )) s" >> "$OUT/machine.tsv"
python3 "$HERE/report.py" --results "$RESULTS" --machine "$OUT/machine.tsv" \
    --criterion "$CARGO_TARGET_DIR/criterion" --benchmarks "$ROOT/BENCHMARKS.md" --chart "$HERE/ratios.svg"
say "done in $(( $(date +%s) - START_TIME )) s: BENCHMARKS.md, bench/ratios.svg, $RESULTS"
