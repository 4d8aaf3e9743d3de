#!/usr/bin/env bash
# Run every cargo-fuzz target (`cargo fuzz list`) for a short time, as CI
# does; fuzz/run-long.sh runs the same for longer.
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

# Every target runs even when an earlier one finds a crash; the exit
# status says whether any did.
failed=()
for target in $(cargo fuzz list); do
    dict=""
    case "$target" in
        origin_parse) dict="-dict=origin.dict" ;;
        origin_match) dict="-dict=origin.dict" ;;
        header_list) dict="-dict=header_list.dict" ;;
        config_parse) dict="-dict=config.dict" ;;
        request_path) dict="-dict=request.dict" ;;
    esac
    echo "== fuzz $target for ${seconds}s"
    mkdir -p "corpus/$target"
    if [ "$target" = config_parse ] && [ -z "$(ls -A corpus/config_parse)" ]; then
        # Start from the example configuration (the target skips `openapi`).
        grep -v openapi ../examples/preflight.toml >corpus/config_parse/example.toml
    fi
    if [ "$target" = request_path ] && [ -z "$(ls -A corpus/request_path)" ]; then
        # Start from a preflight and a credentialed GET (the input format is
        # in fuzz_targets/request_path.rs).
        printf '\000OPTIONS\n/api/users/1\norigin: https://app.example.com\naccess-control-request-method: PUT\naccess-control-request-headers: content-type, x-a\n' \
            >corpus/request_path/preflight
        printf '\000GET\n/api/public/a/../b?q=1\norigin: https://a.example.com\ncookie: a=1\n\nbody' \
            >corpus/request_path/get
    fi
    log="$(mktemp)"
    # libFuzzer prints a line per new input; keep it in a file and show the
    # summary, or the whole tail when the target fails.
    if ! cargo fuzz run --target-dir "$target_dir" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" $dict -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $target FAILED; the input is under fuzz/artifacts/$target" >&2
        failed+=("$target")
        rm -f "$log"
        continue
    fi
    # The last status line (`DONE cov: ft: corp:`) and the final stats.
    grep -E "DONE|^Done|stat::number_of_executed_units|stat::peak_rss" "$log" || tail -n 3 "$log"
    rm -f "$log"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: ${#failed[@]} target(s) found a crash: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: every target ran ${seconds}s without a finding"
