#!/usr/bin/env bash
# Run every cargo-fuzz target of preflight-core for a short time, as CI does.
#
#   fuzz/run-short.sh [SECONDS]      # default 20 s a target
#
# Installs cargo-fuzz when it is missing. libFuzzer needs unstable compiler
# flags: RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them. Exits non-zero
# when a target finds a crash; the input is saved under fuzz/artifacts/.
set -euo pipefail

seconds="${1:-20}"
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
target_dir="${FUZZ_TARGET_DIR:-target}"

for target in $(cargo fuzz list); do
    dict=""
    case "$target" in
        origin_parse) dict="-dict=origin.dict" ;;
        header_list) dict="-dict=header_list.dict" ;;
    esac
    echo "== fuzz $target for ${seconds}s"
    mkdir -p "corpus/$target"
    cargo fuzz run --target-dir "$target_dir" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" $dict -print_final_stats=1
done
echo "fuzz: every target ran ${seconds}s without a finding"
