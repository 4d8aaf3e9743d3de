#!/usr/bin/env bash
# The long versions of the reliability tests under load, in one run, on this
# machine (RELIABILITY.md, "Load", "Reload under load", "Shutdown under
# load"):
#   - 10,000 connections held open at once, each served twice; the gateway's
#     memory per 1,000 connections; 30 s of preflights, GETs and 1 MiB uploads
#   - 30 s of load while the configuration file is replaced 50 times, every
#     fifth version invalid
#   - SIGTERM under load (64 connections in a loop, a slow upload, a streamed
#     response, a WebSocket tunnel), the end of the grace period, a second
#     SIGTERM
# They are the same tests `cargo test` runs in their short versions
# (crates/preflight/tests/{load,reload_under_load,shutdown_under_load}_cli.rs),
# built with --release and run with PREFLIGHT_RELIABILITY=long. On a machine
# with 2 cores or more the gateway is pinned to core 0 and the test's clients
# to core 1. Only 127.0.0.1 is used; every test is bounded (TEST_TIMEOUT
# seconds each, 300 by default); the tests take about 80 s once built (the
# release build from nothing takes minutes more: PROFILE=debug uses the
# build `cargo test` made). Prints every figure, then a summary; exits 1 if
# a test failed.
#
#   bench/reliability.sh              # PROFILE=release
#   PROFILE=debug bench/reliability.sh
# Needs: cargo, prlimit and taskset (util-linux), `ulimit -Hn` of 12000 or
# more.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TEST_TIMEOUT="${TEST_TIMEOUT:-300}"
PROFILE="${PROFILE:-release}"
case "$PROFILE" in
    release) BUILD=(--release) ;;
    debug) BUILD=() ;;
    *) echo "PROFILE is release or debug" >&2; exit 2 ;;
esac
TESTS=(load_cli reload_under_load_cli shutdown_under_load_cli)
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for tool in cargo prlimit taskset timeout; do
    command -v "$tool" > /dev/null || { echo "$tool is needed" >&2; exit 2; }
done

started=$(date +%s)
echo "== building ($PROFILE)" >&2
args=()
for t in "${TESTS[@]}"; do args+=(--test "$t"); done
(cd "$ROOT" && cargo test "${BUILD[@]}" -q -p preflight "${args[@]}" --no-run)
built=$(date +%s)

export PREFLIGHT_RELIABILITY=long
PIN=()
if [ "$(nproc)" -ge 2 ]; then
    export PREFLIGHT_GATEWAY_CPU=0
    PIN=(taskset -c 1)
fi

failed=()
for t in "${TESTS[@]}"; do
    echo "== $t (long)" >&2
    t0=$(date +%s)
    if (cd "$ROOT" && timeout "$TEST_TIMEOUT" "${PIN[@]}" cargo test "${BUILD[@]}" -q -p preflight --test "$t" \
            -- --nocapture --test-threads=1) > "$WORK/$t.log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$t")
    fi
    grep -E '^(test .* \.\.\. )?figure:|^test result:|panicked' "$WORK/$t.log" \
        | sed -e 's/^test .* \.\.\. figure:/figure:/' >&2 || true
    echo "$t: $status in $(( $(date +%s) - t0 )) s" >> "$WORK/summary"
    grep -E 'figure:' "$WORK/$t.log" | sed -e 's/^.*figure: /  /' >> "$WORK/summary" || true
    if [ "$status" = FAILED ]; then
        tail -n 40 "$WORK/$t.log" >&2
    fi
done

echo
echo "== reliability, long versions ($PROFILE, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, build $(( built - started )) s, tests $(( $(date +%s) - built )) s)"
cat "$WORK/summary"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
echo "all passed"
