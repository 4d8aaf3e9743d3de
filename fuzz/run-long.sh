#!/usr/bin/env bash
# Run every cargo-fuzz target (`cargo fuzz list`) for a long time: 10 minutes
# a target unless told otherwise. Prints, for each target, libFuzzer's final
# figures (executions, peak memory); exits non-zero on the first finding,
# whose input is saved under fuzz/artifacts/<target>/.
#
#   fuzz/run-long.sh [SECONDS]       # default 600 s a target
#
# The corpus grows in fuzz/corpus/<target>/ and is reused by the next run.
set -euo pipefail

seconds="${1:-600}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: fuzz/run-long.sh [SECONDS]" >&2; exit 2 ;;
esac
exec "$(dirname "$0")/run-short.sh" "$seconds"
