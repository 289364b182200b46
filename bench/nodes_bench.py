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
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench as sb  # noqa: E402

COMMANDS = [
    ("anchor: echo", "echo x"),
    ("full --json", "nodes --json"),
    ("full table", "nodes"),
    ("filtered glob", "nodes swarm-0001*"),
    ("--match", "nodes --match swarm-00012"),
    ("--count", "nodes --count"),
]


def main():
    ap = sb.bench_parser(__doc__, 10000)
    ap.add_argument("--rounds", type=int, default=5)
    sb.swarm_flags(ap)
    args = sb.parse_bench_args(ap)
    times = {name: [] for name, _ in COMMANDS}
    rows = {}
    with tempfile.TemporaryDirectory(prefix="dirscope-nodes-") as tmp:
        with sb.Fleet(tmp, args.nodes, args.server_arg,
                      os.path.join(tmp, "state")) as fleet:
            server = fleet.server
            fleet.start_swarm(args)
            fleet.wait_joined()
            load_start = sb.loadavg()
            for _ in range(args.rounds):
                for name, line in COMMANDS:
                    t, out = sb.timed(server, line, 120)
                    times[name].append(t)
                    rows[name] = len(out)
            load_end = sb.loadavg()
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
