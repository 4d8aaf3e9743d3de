#!/usr/bin/env bash
# Run the container image and send it a preflight on 127.0.0.1.
#
#   deploy/test-image.sh             # builds the image first if it is missing
#   REBUILD=1 deploy/test-image.sh   # always builds it (deploy/build-image.sh)
#
# The image's binary runs with `buildah run --isolation chroot`, which shares
# the host's network (podman run cannot start containers on every machine:
# cgroups, setrlimit). A configuration on free loopback ports is mounted over
# /etc/preflight, laid out as a Kubernetes ConfigMap volume, and updated as the
# kubelet updates it, then SIGHUP; a small upstream named by `localhost`
# checks that the static binary resolves names without the host's libraries. Everything is bounded
# in time, and the container is removed at the end, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

IMAGE=${IMAGE:-localhost/preflight:latest}
ORIGIN=https://app.example.com

fail() { echo "test-image: FAIL: $*" >&2; exit 1; }
command -v buildah >/dev/null || fail "buildah is not installed (apt-get install -y buildah)"
command -v curl >/dev/null || fail "curl is not installed"

if [ -n "${REBUILD:-}" ] || ! buildah inspect --type image "$IMAGE" >/dev/null 2>&1; then
  IMAGE=$IMAGE deploy/build-image.sh
fi

echo "== image $IMAGE"
user=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$IMAGE")
entrypoint=$(buildah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$IMAGE")
size=$(buildah images --format '{{.Size}}' "$IMAGE" | head -n1)
echo "user $user, entrypoint $entrypoint, size $size"
[ "$user" = "65532:65532" ] || fail "the image runs as '$user', not 65532:65532"
[ "$entrypoint" = '[/preflight serve]' ] || fail "entrypoint is $entrypoint"

tmp=$(mktemp -d)
ctr=""
gateway=""
upstream=""
cleanup() {
  for pid in $gateway $upstream; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

read -r listen admin up < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

mkdir -p "$tmp/upstream/api"
echo '{"ok": true}' > "$tmp/upstream/api/hello"
timeout 120 python3 -m http.server "$up" --bind 127.0.0.1 --directory "$tmp/upstream" \
  >"$tmp/upstream.log" 2>&1 &
upstream=$!

# The mounted directory is laid out as the kubelet lays out a ConfigMap
# volume: the file is a symlink through `..data`, a symlink to a timestamped
# directory; an update writes a new directory and renames a new `..data`
# link over the old one.
config_version() { # name origins
  mkdir -p "$tmp/etc/$1"
  cat > "$tmp/etc/$1/preflight.toml" <<TOML
[server]
listen = "127.0.0.1:$listen"
admin = "127.0.0.1:$admin"
grace_period = "2s"

[cors]
allow_origins = [$2]
allow_headers = ["content-type"]

[[routes]]
path = "/api/{*rest}"
methods = ["GET", "PUT"]
upstream = "http://localhost:$up"
TOML
  chmod 755 "$tmp/etc/$1"
  chmod 644 "$tmp/etc/$1/preflight.toml"
  ln -sfn "$1" "$tmp/etc/..data_tmp"
  mv -T "$tmp/etc/..data_tmp" "$tmp/etc/..data"
}
mkdir -p "$tmp/etc"
chmod 755 "$tmp" "$tmp/etc"
config_version ..2026_12_01_first "\"$ORIGIN\""
ln -s ..data/preflight.toml "$tmp/etc/preflight.toml"

echo "== buildah run --isolation chroot (listen $listen, admin $admin)"
ctr=$(buildah from --pull-never "$IMAGE")
timeout 60 buildah run --isolation chroot -v "$tmp/etc:/etc/preflight:ro" "$ctr" \
  /preflight serve --config /etc/preflight/preflight.toml >"$tmp/gateway.log" 2>&1 &
gateway=$!

ready=""
for _ in $(seq 1 100); do
  if curl -fsS --max-time 1 "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$gateway" 2>/dev/null || { cat "$tmp/gateway.log" >&2; fail "the gateway exited"; }
  sleep 0.1
done
[ -n "$ready" ] || { cat "$tmp/gateway.log" >&2; fail "/readyz not 200 within 10 s"; }

echo "== preflight"
headers=$(curl -sS --max-time 5 -o /dev/null -D - -X OPTIONS "http://127.0.0.1:$listen/api/users/1" \
  -H "Origin: $ORIGIN" -H "Access-Control-Request-Method: PUT" \
  -H "Access-Control-Request-Headers: content-type" | tr -d '\r')
echo "$headers"
echo "$headers" | head -n1 | grep -q '^HTTP/1.1 204 ' || fail "the preflight did not get 204"
echo "$headers" | grep -qix "access-control-allow-origin: $ORIGIN" \
  || fail "no Access-Control-Allow-Origin: $ORIGIN"

echo "== a request proxied to http://localhost:$up"
body=$(curl -sS --max-time 5 -D "$tmp/get.headers" "http://127.0.0.1:$listen/api/hello" -H "Origin: $ORIGIN")
status=$(head -n1 "$tmp/get.headers" | tr -d '\r')
echo "$status $body"
[[ "$status" == "HTTP/1.1 200 "* ]] || { cat "$tmp/gateway.log" >&2; fail "the proxied GET got: $status"; }
[ "$body" = '{"ok": true}' ] || fail "the proxied GET answered: $body"

# buildah run does not pass signals on to the container (it kills it on
# SIGTERM): signals go to the gateway itself, the process listening on our port.
pid=$(ss -Hltnp "sport = :$listen" | sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -n1)
[ -n "$pid" ] || fail "no process found listening on port $listen"
[ "$(tr '\0' ' ' < "/proc/$pid/cmdline")" = "/preflight serve --config /etc/preflight/preflight.toml " ] \
  || fail "port $listen is held by another program (pid $pid)"

echo "== a ConfigMap-style update (new ..data), applied on SIGHUP"
NEW=https://new.example.com
preflight_status() { # origin
  curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X OPTIONS "http://127.0.0.1:$listen/api/users/1" \
    -H "Origin: $1" -H "Access-Control-Request-Method: PUT"
}
[ "$(preflight_status "$NEW")" = 403 ] || fail "$NEW is allowed before the update"
config_version ..2026_12_01_second "\"$ORIGIN\", \"$NEW\""
kill -HUP "$pid"
reloaded=""
for _ in $(seq 1 50); do
  if [ "$(preflight_status "$NEW")" = 204 ]; then reloaded=1; break; fi
  sleep 0.1
done
[ -n "$reloaded" ] || { cat "$tmp/gateway.log" >&2; fail "$NEW not allowed 5 s after SIGHUP"; }
echo "$NEW allowed after SIGHUP"

echo "== SIGTERM: drains and exits 0"
kill -TERM "$pid"
stopped=""
for _ in $(seq 1 100); do
  if ! kill -0 "$gateway" 2>/dev/null; then stopped=1; break; fi
  sleep 0.1
done
[ -n "$stopped" ] || { cat "$tmp/gateway.log" >&2; fail "still running 10 s after SIGTERM"; }
rc=0
wait "$gateway" || rc=$?
gateway=""
echo "exit status $rc"
[ "$rc" = 0 ] || { cat "$tmp/gateway.log" >&2; fail "exit status $rc after SIGTERM"; }
grep -q "shutting down" "$tmp/gateway.log" || fail "no shutdown in the log"
if curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$admin/healthz"; then
  fail "the admin listener still answers after the exit"
fi

echo "== the gateway's log"
cat "$tmp/gateway.log"
echo "test-image: OK ($IMAGE, $size, $(( $(date +%s) - started )) s)"
