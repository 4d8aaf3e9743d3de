#!/usr/bin/env bash
# The gateway's resident memory idle and under load, for the memory request
# and limit in deploy/kubernetes/deployment.yaml (docs/deploying.md,
# "Resources"). Needs wrk (apt-get install -y wrk), curl and python3.
#
#   deploy/measure-rss.sh [PATH-TO-PREFLIGHT]   # default: the static build
#
# Preflights (answered by the gateway itself) with 64, 512 and 2048 open
# connections, then GETs proxied to a local upstream with 256; after each run
# it prints VmRSS and the peak VmHWM of the gateway process.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target-static/x86_64-unknown-linux-gnu/release/preflight}
[ -x "$BIN" ] || { echo "measure-rss: no $BIN (deploy/build-image.sh builds it)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "measure-rss: wrk is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
gw=""
up=""
cleanup() {
  for pid in $gw $up; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

read -r listen admin port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
mkdir -p "$tmp/up/api"
echo '{"ok": true}' > "$tmp/up/api/hello"
timeout 300 python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/up" >/dev/null 2>&1 &
up=$!
cat > "$tmp/gw.toml" <<TOML
[server]
listen = "127.0.0.1:$listen"
admin = "127.0.0.1:$admin"
[cors]
allow_origins = ["https://app.example.com"]
allow_headers = ["content-type"]
[[routes]]
path = "/api/{*rest}"
methods = ["GET", "PUT"]
upstream = "http://127.0.0.1:$port"
TOML
cat > "$tmp/preflight.lua" <<'LUA'
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "https://app.example.com"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type"
LUA
cat > "$tmp/get.lua" <<'LUA'
wrk.headers["Origin"] = "https://app.example.com"
LUA

# The access log on, as in production; written to a file.
RUST_LOG=info "$BIN" serve --config "$tmp/gw.toml" >"$tmp/gw.log" 2>&1 &
gw=$!
for _ in $(seq 1 100); do
  curl -fs --max-time 1 "http://127.0.0.1:$admin/readyz" >/dev/null && break
  sleep 0.1
done
curl -fs --max-time 1 "http://127.0.0.1:$admin/readyz" >/dev/null || { cat "$tmp/gw.log" >&2; exit 1; }

rss() {
  awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "VmRSS %.1f MB, peak %.1f MB\n", r/1024, h/1024}' "/proc/$gw/status"
}
echo "idle: $(rss)"
run() { # what connections script path
  local out
  out=$(timeout 60 wrk -t2 -c"$2" -d10s -s "$tmp/$3" "http://127.0.0.1:$listen$4")
  printf '%-10s %5s connections: %8s req/s; %s\n' "$1" "$2" \
    "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$(rss)"
  : > "$tmp/gw.log"
}
run preflight 64 preflight.lua /api/users/1
run preflight 512 preflight.lua /api/users/1
run preflight 2048 preflight.lua /api/users/1
run proxied 256 get.lua /api/hello
sleep 3
echo "3 s after: $(rss)"
