#!/bin/bash
# fuzz_main runs every mutation it is asked for, or fails: a run that hits
# --max_seconds first exits 1 and says how many of them ran, instead of
# passing having checked less (doc/fuzzing.md). A complete run exits 0 and
# reports its executions.
#
# Usage (by Bazel): fuzz_main_deadline_test.sh FUZZ_TEST_BINARY CORPUS_DIR
set -u
binary="$1"
corpus="$2"
log="${TEST_TMPDIR:-/tmp}/fuzz_main_deadline.log"

"$binary" --mutations=100000000 --max_seconds=0 "$corpus" 2> "$log"
status=$?
if [[ $status -ne 1 ]]; then
  echo "a run past --max_seconds exited $status, not 1"; cat "$log"; exit 1
fi
if ! grep -q "FAILED: only .* of 100000000 mutations ran" "$log"; then
  echo "a run past --max_seconds did not say how much it ran"; cat "$log"
  exit 1
fi

"$binary" --mutations=200 --max_seconds=600 "$corpus" 2> "$log"
status=$?
if [[ $status -ne 0 ]]; then
  echo "a complete run exited $status"; cat "$log"; exit 1
fi
if ! grep -q "and 200 mutations (seed 1), [0-9]* executions" "$log"; then
  echo "a complete run did not report its executions"; cat "$log"; exit 1
fi
echo "PASS"
