#!/usr/bin/env bash
# Starts a dirscope server on 127.0.0.1 with two local nodes serving the
# bundled sample trees, and puts you in the server's shell.
#
# The nodes run in their own sessions (setsid): Ctrl-C at the shell reaches
# only the server, and nothing the nodes print lands on your terminal; their
# output goes to log files in a temporary directory named in the banner.
# When the server exits, the nodes are stopped and the directory's keys and
# token are removed; the logs stay for you to read.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
case $build in
  /*) bin=$build ;;
  *) bin=$here/$build ;;
esac
port=${DIRSCOPE_DEMO_PORT:-3443}
logs=$(mktemp -d "${TMPDIR:-/tmp}/dirscope-demo.XXXXXX")
state="$logs/state"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Nodes say goodbye and exit at once; do not wait for a stuck one forever.
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
  echo "dirscope demo: logs kept in $logs"
}
trap cleanup EXIT

# The server's identity (private CA, certificate) and the enrollment token
# are created once; the nodes pin the certificate's fingerprint.
fingerprint=$("$bin/dirscope-server" --init --state-dir="$state" \
  --log-level=error --log-file="" | awk '/^fingerprint:/ {print $2}')

# alpha lets the operator fetch files (get); beta stays read-only.
declare -A policy=([alpha]="--allow-download" [beta]="")
for node in alpha beta; do
  # setsid execs the node (a background job is no process group leader),
  # so $! is the node itself.
  setsid "$bin/dirscope-client" --server "127.0.0.1:$port" \
    --root "$here/samples/$node" --name "$node" --reconnect-min=200ms \
    ${policy[$node]} \
    --server-fingerprint="$fingerprint" --token-file="$state/enrollment.token" \
    </dev/null >"$logs/$node.log" 2>&1 &
  pids+=($!)
done

cat <<TXT
dirscope demo: server on 127.0.0.1:$port, nodes 'alpha' and 'beta', over
TLS 1.3 (server fingerprint $fingerprint)
and enrolled with a token. Logs: $logs/{server,alpha,beta}.log
Try: nodes, use alpha, ls, cd docs, ls --json, tree /,
stat beta:/README.txt, get alpha:/docs (into server_data/ here), help.
Leave with quit or Ctrl-D (the nodes stop with the server).

TXT
status=0
"$bin/dirscope-server" --bind 127.0.0.1 --port "$port" \
  --state-dir="$state" --log-file="$logs/server.log" || status=$?
exit "$status"
