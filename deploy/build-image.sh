#!/usr/bin/env bash
# Build the preflight container image from this checkout, offline:
#
#   deploy/build-image.sh            # -> localhost/preflight:latest
#   IMAGE=registry.example.com/preflight:1.0 deploy/build-image.sh
#
# 1. builds `preflight` statically linked (glibc, +crt-static) for
#    x86_64-unknown-linux-gnu, in a target directory of its own
#    (target-static/, so the ordinary target/ keeps its cache);
# 2. gathers the build context: the binary (symbols stripped), the host's CA
#    certificates and deploy/image/preflight.toml;
# 3. builds Containerfile with buildah, else podman, else docker (BUILDER=...
#    chooses).
#
# Environment: IMAGE (tag), BUILDER, STATIC_TARGET_DIR (default
# target-static), CARGO_BUILD_JOBS (cargo's own), CA_CERTS (default
# /etc/ssl/certs/ca-certificates.crt).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/preflight:latest}
TRIPLE=x86_64-unknown-linux-gnu
STATIC_TARGET_DIR=${STATIC_TARGET_DIR:-$PWD/target-static}
CA_CERTS=${CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}

if [ -z "${BUILDER:-}" ]; then
  for b in buildah podman docker; do
    if command -v "$b" >/dev/null; then BUILDER=$b; break; fi
  done
fi
[ -n "${BUILDER:-}" ] || { echo "build-image: no buildah, podman or docker" >&2; exit 1; }
[ -r "$CA_CERTS" ] || { echo "build-image: no CA bundle at $CA_CERTS (apt-get install -y ca-certificates)" >&2; exit 1; }

echo "== static binary ($TRIPLE, +crt-static) in $STATIC_TARGET_DIR"
CARGO_TARGET_DIR=$STATIC_TARGET_DIR CARGO_INCREMENTAL=0 \
  RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked --target "$TRIPLE" -p preflight
BIN=$STATIC_TARGET_DIR/$TRIPLE/release/preflight
if ldd "$BIN" 2>&1 | grep -q '=>'; then
  echo "build-image: $BIN is dynamically linked:" >&2
  ldd "$BIN" >&2
  exit 1
fi

echo "== build context"
CTX=$STATIC_TARGET_DIR/image-context
rm -rf "$CTX"
mkdir -p "$CTX"
# Without the symbol table (3 MB of 16); panics still print their message.
if command -v strip >/dev/null; then
  strip -o "$CTX/preflight" "$BIN"
else
  cp "$BIN" "$CTX/preflight"
fi
cp "$CA_CERTS" "$CTX/ca-certificates.crt"
cp deploy/image/preflight.toml "$CTX/preflight.toml"

echo "== $BUILDER: $IMAGE"
case "$BUILDER" in
  buildah) buildah build --quiet -f Containerfile -t "$IMAGE" "$CTX" ;;
  *) "$BUILDER" build -f Containerfile -t "$IMAGE" "$CTX" ;;
esac
echo "built $IMAGE"
