#!/usr/bin/env bash
# Runs ctest in an ASan+UBSan build directory with every sanitizer report
# written to BUILD_DIR/sanitizer-logs, then fails if any report exists:
# a report from a process whose exit status no test looks at (a server a
# system test kills at the end) still fails the run.
#
# Usage: scripts/sanitized-ctest.sh BUILD_DIR TEST_REGEX JOBS
# DETECT_LEAKS=0 turns LeakSanitizer off (default on).
set -uo pipefail
build=$(cd "${1:?usage: sanitized-ctest.sh BUILD_DIR TEST_REGEX JOBS}" && pwd)
regex=${2:?usage: sanitized-ctest.sh BUILD_DIR TEST_REGEX JOBS}
jobs=${3:-2}
logs=$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=${DETECT_LEAKS:-1}"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="log_path=$logs/lsan"
cd "$build" || exit 1
ctest --output-on-failure --timeout 600 -j "$jobs" -R "$regex"
rc=$?
reports=$(find "$logs" -type f -size +0 | sort)
if [ -n "$reports" ]; then
  echo "sanitizer reports:" >&2
  for f in $reports; do
    echo "== $f" >&2
    head -60 "$f" >&2
  done
  rc=1
fi
exit $rc
