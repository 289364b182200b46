#!/usr/bin/env bash
# Compares the node's SHA-256 (Crypto++ over 64 KiB reads) with
# `openssl dgst -sha256` on one page-cached file.
#
# usage: bench/hash_bench.sh [SIZE]     SIZE in head -c syntax (default 1G)
# env:   SHA256_BENCH=path/to/sha256_bench   skip building it
#        RUNS=3                              runs per tool (median is used)
set -euo pipefail

size=${1:-1G}
runs=${RUNS:-3}
src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ -z ${SHA256_BENCH:-} ]]; then
  build_dir=$src_dir/build-bench
  cmake -S "$src_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build_dir" --target sha256_bench -j2 >/dev/null
  SHA256_BENCH=$build_dir/bench/sha256_bench
fi

work=$(mktemp -d /tmp/dirscope-hash-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
file=$work/data
head -c "$size" /dev/urandom >"$file"
bytes=$(stat -c %s "$file")
cat "$file" >/dev/null # into the page cache: we measure hashing, not disk

now() { date +%s.%N; }

calc() { awk "BEGIN { printf \"%.9f\", $1 }"; }

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

openssl_times=()
for ((i = 0; i < runs; ++i)); do
  t0=$(now)
  openssl_digest=$(openssl dgst -sha256 -r "$file" | cut -d' ' -f1)
  t1=$(now)
  openssl_times+=("$(calc "$t1 - $t0")")
done

node_times=()
for ((i = 0; i < runs; ++i)); do
  read -r node_digest _ secs < <("$SHA256_BENCH" "$file")
  node_times+=("$secs")
done

if [[ $openssl_digest != "$node_digest" ]]; then
  echo "digest mismatch: openssl $openssl_digest, node $node_digest" >&2
  exit 1
fi

openssl_s=$(printf '%s\n' "${openssl_times[@]}" | median)
node_s=$(printf '%s\n' "${node_times[@]}" | median)
openssl_mbs=$(calc "$bytes / $openssl_s / 1000000")
node_mbs=$(calc "$bytes / $node_s / 1000000")

printf 'file:             %d bytes, page-cached, median of %d runs\n' \
  "$bytes" "$runs"
printf 'digest:           %s (both agree)\n' "$node_digest"
printf 'openssl dgst:     %8.1f MB/s (%.3f s, whole process)\n' \
  "$openssl_mbs" "$openssl_s"
printf 'node sha256_fd:   %8.1f MB/s (%.3f s, hashing only)\n' \
  "$node_mbs" "$node_s"
printf 'ratio node/openssl: %.2f\n' "$(calc "$node_mbs / $openssl_mbs")"
