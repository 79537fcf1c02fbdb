#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, in build-fuzz/) and runs each
# for SECONDS (default 60) from its seed corpus in tests/fuzz/corpus/. New
# inputs go to a scratch copy, so the committed corpus never grows here. Exits
# non-zero when a target crashes, trips a sanitizer, fails one of its checks,
# leaks or hangs, and shows the input that did it. See README.md, "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build-fuzz

cmake --preset fuzz >/dev/null  # CMakePresets.json: clang, LAYERFS_FUZZ, in $build
cmake --build "$build" -j "$(nproc)" --target fuzzers

# The longest input each target tries: a layer of a few dozen members, a long
# command line, a PATH_MAX path, an image config with a long history.
declare -A max_len=([unpack]=65536 [mount_options]=4096 [whiteout]=8192 [oci_json]=65536)

work=$(mktemp -d /tmp/layerfs-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
for target in unpack mount_options whiteout oci_json; do
  echo "== fuzz_$target (${seconds}s)"
  mkdir -p "$work/$target/corpus" "$work/$target/found"
  cp tests/fuzz/corpus/"$target"/* "$work/$target/corpus/"
  log="$work/$target/log"
  rc=0
  # The unpacker makes its scratch dirs in TMPDIR: keep them in the scratch tree.
  TMPDIR="$work/$target" "$build/tests/fuzz/fuzz_$target" \
    -max_total_time="$seconds" -max_len="${max_len[$target]}" -timeout=30 \
    -dict="tests/fuzz/dict/$target.dict" -print_final_stats=1 \
    -artifact_prefix="$work/$target/found/" "$work/$target/corpus" >"$log" 2>&1 || rc=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
    "$log" || true
  found=$(find "$work/$target/found" -type f ! -name 'slow-unit-*' | sort)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    status=1
    echo "fuzz_$target FAILED (exit status $rc); the end of its log:"
    tail -n 60 "$log"
    for f in $found; do
      kept="$build/fuzz-findings/$target-$(basename "$f")"
      mkdir -p "$build/fuzz-findings"
      cp "$f" "$kept"
      echo "input: $kept ($(stat -c %s "$f") bytes); reproduce: $build/tests/fuzz/fuzz_$target $kept"
      od -A x -t x1z -v "$f" | head -n 32
    done
  fi
done
exit $status
