#!/usr/bin/env bash
# The codebase's structural rules, checked in CI:
# no module cycle inside any crate, no Rust source file over 700 lines, and no
# pointer to notes that live outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

echo "-- module cycles"
python3 tools/module-cycles.py || status=1

echo "-- files over 700 lines"
long=$(git ls-files '*.rs' | xargs wc -l | awk '$2 != "total" && $1 > 700 {print "  " $1 " " $2}')
if [ -n "$long" ]; then echo "$long"; status=1; else echo "  none"; fi

echo "-- pointers outside the repository"
if git grep -n -e 'shared/docs' -e '\.\./shared' -e 'DESIGN\.md' -e 'CORS-RULES' -e 'WPT-CASES' -- '*.rs' '*.md' '*.toml' ':!.ci'; then
  status=1
else
  echo "  none"
fi
exit $status
