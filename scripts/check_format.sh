#!/usr/bin/env bash
# Fails when clang-format (.clang-format) would change a tracked C++ file, and
# names those files. CI runs it first: a format slip costs seconds, not a run.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: clang-format would change: ${bad[*]}"
  echo "check_format: run clang-format -i on them"
  exit 1
fi
echo "check_format: every C++ file is formatted"
