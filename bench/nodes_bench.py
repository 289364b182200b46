#!/usr/bin/env python3
"""`nodes` at fleet size (issue 9, item 3).

One dirscope-server with N swarm nodes (default 10,000, TLS 1.3); then, in
interleaved rounds, times each command from writing it to the console until
the `echo` after it returns (the console runs commands in order), with
`echo` alone as the anchor measured in the same rounds:

  full --json   nodes --json (N rows)
  full table    nodes (N rows and the summary)
  filtered      nodes swarm-0001* (10 rows at N = 10,000)
  --match       nodes --match swarm-00012 (1 row)
  count         nodes --count

usage: bench/nodes_bench.py [--bin-dir build] [--nodes 10000] [--rounds 5]
"""
import argparse
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench as sb  # noqa: E402
harness = sb.harness

COMMANDS = [
    ("anchor: echo", "echo x"),
    ("full --json", "nodes --json"),
    ("full table", "nodes"),
    ("filtered glob", "nodes swarm-0001*"),
    ("--match", "nodes --match swarm-00012"),
    ("--count", "nodes --count"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--connect-rate", type=int, default=2000)
    ap.add_argument("--server-arg", action="append", default=[])
    args = ap.parse_args()
    args.bin_dir = os.path.abspath(args.bin_dir)
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    sb.raise_nofile()
    times = {name: [] for name, _ in COMMANDS}
    rows = {}
    with tempfile.TemporaryDirectory(prefix="dirscope-nodes-") as tmp:
        server = sb.start_server(tmp, harness.free_port(),
                                 os.path.join(tmp, "state"), args.nodes,
                                 args.server_arg)
        swarm = None
        try:
            swarm = sb.Swarm(args.bin_dir, server, args.nodes, tmp,
                             args.connect_rate)
            if sb.wait_all(server, args.nodes, 120 + args.nodes // 20) \
                    is None:
                raise AssertionError("not all nodes joined")
            load_start = sb.loadavg()
            for _ in range(args.rounds):
                for name, line in COMMANDS:
                    t, out = sb.timed(server, line, 120)
                    times[name].append(t)
                    rows[name] = len(out)
            load_end = sb.loadavg()
        finally:
            if swarm is not None:
                swarm.stop()
            server.kill()
    anchor = times[COMMANDS[0][0]]
    print("\n%d nodes, %d rounds, load at start %s, at end %s\n"
          % (args.nodes, args.rounds, load_start, load_end))
    print("| command | output lines | median | ratio to echo (median of "
          "paired) |")
    print("|---|---|---|---|")
    for name, line in COMMANDS:
        ratios = [b / a for a, b in zip(anchor, times[name])]
        print("| %s (`%s`) | %d | %.1f ms | %.1f |"
              % (name, line, rows[name], 1000 * statistics.median(times[name]),
                 statistics.median(ratios)))


if __name__ == "__main__":
    main()
