#!/usr/bin/env bash
# Runs libFuzzer harnesses for a fixed time each and prints one line per
# harness: executions, corpus size, coverage and the result.
#
# Usage: fuzz/run.sh BUILD_DIR SECONDS [HARNESS...]   (default: all)
# Corpora persist in BUILD_DIR/fuzz-work/corpus/<harness> between runs;
# seeds are regenerated every run; crashes land in
# BUILD_DIR/fuzz-work/artifacts/<harness>/. Exits 1 if any harness failed.
set -uo pipefail

build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [HARNESS...]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [HARNESS...]}
shift 2
all=(fuzz_frame fuzz_message fuzz_names fuzz_paths fuzz_command fuzz_tls
     fuzz_tar)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")

work=$build/fuzz-work
# Seeds of this run only: runs of different harnesses may overlap.
seeds=$work/seeds-$$
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$work/logs"
"$build/fuzz/make_seeds" "$seeds" || { echo "make_seeds failed" >&2; exit 1; }

printf '%-13s %6s %11s %8s %8s %7s  %s\n' harness secs execs exec/s corpus cov result
failed=0
for h in "${harnesses[@]}"; do
  exe=$build/fuzz/$h
  [ -x "$exe" ] || { echo "no harness $exe" >&2; failed=1; continue; }
  corpus=$work/corpus/$h
  artifacts=$work/artifacts/$h
  log=$work/logs/$h.log
  mkdir -p "$corpus" "$artifacts" "$seeds/$h"
  start=$(date +%s)
  "$exe" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$seeds/$h" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o ' cov: [0-9]*' "$log" | tail -1 | tr -dc 0-9)
  units=$(find "$corpus" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc; log $log)"
    failed=1
  fi
  printf '%-13s %6s %11s %8s %8s %7s  %s\n' "$h" "$took" "${execs:-?}" \
    "${rate:-?}" "$units" "${cov:-?}" "$result"
  if [ $rc -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|property violated|Test unit written' "$log" \
      | head -20 | sed 's/^/    /'
  fi
done
exit $failed
