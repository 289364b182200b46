#!/usr/bin/env bash
# Starts a dirscope server on 127.0.0.1 with two local nodes serving the
# bundled sample trees, and puts you in the server's shell. Logs go to a
# temporary directory that is printed at the start and removed at the end.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
port=${DIRSCOPE_DEMO_PORT:-3443}
logs=$(mktemp -d /tmp/dirscope-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$logs"
}
trap cleanup EXIT

# The server's identity (private CA, certificate) and the enrollment token
# are created once; the nodes pin the certificate's fingerprint.
state="$logs/state"
fingerprint=$("$here/$build/dirscope-server" --init --state-dir="$state" \
  --log-level=error | awk '/^fingerprint:/ {print $2}')

# alpha lets the operator fetch files (get); beta stays read-only.
declare -A policy=([alpha]="--allow-download" [beta]="")
for node in alpha beta; do
  "$here/$build/dirscope-client" --server "127.0.0.1:$port" \
    --root "$here/samples/$node" --name "$node" --reconnect-min=200ms \
    ${policy[$node]} \
    --server-fingerprint="$fingerprint" --token-file="$state/enrollment.token" \
    --log-file="$logs/$node.log" 2>/dev/null &
  pids+=($!)
done

cat <<TXT
dirscope demo: server on 127.0.0.1:$port, nodes 'alpha' and 'beta', over
TLS 1.3 (server fingerprint $fingerprint)
and enrolled with a token (logs and state in $logs). Try: nodes, use alpha, ls, cd docs, ls --json, tree /,
stat beta:/README.txt, get alpha:/docs (into server_data/ here), help.
Leave with quit or Ctrl-D.

TXT
"$here/$build/dirscope-server" --bind 127.0.0.1 --port "$port" \
  --state-dir="$state" --log-file="$logs/server.log"
