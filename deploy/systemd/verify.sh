#!/usr/bin/env bash
# Check deploy/systemd/preflight.service offline: `systemd-analyze verify`
# (syntax, directives, the binary exists) and the exposure score of
# `systemd-analyze security`, failing above 2.0.
#
#   deploy/systemd/verify.sh [PATH-TO-PREFLIGHT]
#
# verify insists that ExecStart's program exists; the unit names
# /usr/local/bin/preflight, so a copy of it naming PATH-TO-PREFLIGHT (default:
# target/release/preflight, else target/debug/preflight) is checked.
set -euo pipefail
cd "$(dirname "$0")/../.."
UNIT=deploy/systemd/preflight.service
BIN=${1:-}
if [ -z "$BIN" ]; then
  for b in target/release/preflight target/debug/preflight; do
    if [ -x "$b" ]; then BIN=$b; break; fi
  done
fi
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "verify: no preflight binary (cargo build -p preflight, or pass its path)" >&2; exit 1; }
BIN=$(realpath "$BIN")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/preflight|$BIN|g" "$UNIT" > "$tmp/preflight.service"

echo "== systemd-analyze verify $UNIT (ExecStart=$BIN)"
out=$(systemd-analyze verify "$tmp/preflight.service" 2>&1) || { echo "$out" >&2; exit 1; }
# verify exits 0 on some problems that it only prints.
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi

echo "== systemd-analyze security (offline)"
score=$(systemd-analyze security --offline=true "$tmp/preflight.service" 2>&1 \
  | sed -n 's/.*Overall exposure level for preflight.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "verify: no exposure score" >&2; exit 1; }
echo "exposure $score (0 is best, 10 worst)"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "verify: exposure $score above 2.0" >&2; exit 1; }
echo "ok"
