#!/usr/bin/env python3
"""Times fleet commands (issue 7 item 1) across N simulated nodes.

One server, one real node and N dirscope-swarm nodes (TLS 1.3, the real
protocol; each swarm node answers find from a small fixed tree holding
/etc/passwd). Then, interleaved (A B A B ...), `--runs` times each:

  find   find all:/etc --name passwd   (target: answered <= 3 s at 1,000)
  ls     ls all:/                      (beside it, for scale)

Each command runs until its summary line arrives on the server's stdout
(all rows read through the pipe, as an operator's terminal would); the
summary must say every node answered. Prints the medians and the load
average before and after.

usage: bench/fleet_bench.py [--bin-dir build] [--nodes 1000] [--runs 5]
       [--server-arg=--fleet-parallel=64]
"""
import os
import re
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench  # noqa: E402  (Fleet, the flags, loadavg)

SUMMARY = re.compile(r"^(\d+) nodes? answered, (\d+) failed, (\d+) timed out")


def run_fleet(server, line, expect, timeout=120):
    """Seconds until the summary line of `line`; checks the counts."""
    start = time.monotonic()
    server.send(line)
    rows = 0
    while True:
        out = server.read_line(timeout=timeout)
        if out is None:
            raise AssertionError("server ended during %r" % line)
        m = SUMMARY.match(out)
        if m:
            took = time.monotonic() - start
            answered, failed, timed_out = (int(x) for x in m.groups())
            if answered != expect or failed or timed_out:
                raise AssertionError("%r: %s" % (line, out))
            return took, rows, out
        rows += 1


def main():
    ap = scale_bench.bench_parser(__doc__, 1000)
    ap.add_argument("--runs", type=int, default=5)
    scale_bench.swarm_flags(ap, joining=True)
    args = scale_bench.parse_bench_args(ap)
    n = args.nodes
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0::/root:/bin/sh\n")
        with scale_bench.Fleet(tmp, n, args.server_arg) as fleet:
            server = fleet.server
            fleet.add_real_node(root)
            fleet.start_swarm(args)
            fleet.wait_joined(what="the swarm did not join")
            time.sleep(2)  # let admission settle
            cases = [("find", "find all:/etc --name passwd"),
                     ("ls", "ls all:/")]
            times = {name: [] for name, _ in cases}
            load_before = scale_bench.loadavg()
            for _ in range(args.runs):
                for name, line in cases:
                    t, rows, summary = run_fleet(server, line, n + 1)
                    times[name].append(t)
                    print("%-5s %6.3f s  %6d rows  %s"
                          % (name, t, rows, summary), flush=True)
            load_after = scale_bench.loadavg()
            print("nodes %d (+1 real), runs %d" % (n, args.runs))
            for name, line in cases:
                xs = times[name]
                print("%-5s median %.3f s  min %.3f  max %.3f   (%s)"
                      % (name, statistics.median(xs), min(xs), max(xs), line))
            print("load before: %s" % load_before)
            print("load after:  %s" % load_after)


if __name__ == "__main__":
    main()
