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
import argparse
import os
import re
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench  # noqa: E402  (Swarm, start_server, wait_all, loadavg)
from scale_bench import harness  # noqa: E402

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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--connect-rate", type=int, default=2000)
    ap.add_argument("--max-joining", type=int, default=64)
    ap.add_argument("--rejoin-max-joining", type=int, default=0)
    ap.add_argument("--server-arg", action="append", default=[])
    args = ap.parse_args()
    args.bin_dir = os.path.abspath(args.bin_dir)
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    scale_bench.raise_nofile()
    n = args.nodes
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0::/root:/bin/sh\n")
        port = harness.free_port()
        server = scale_bench.start_server(tmp, port, None, n, args.server_arg)
        swarm = node = None
        try:
            node = harness.Process(
                "node", harness.client_argv(port, root, "real-node",
                                            args=server.client_args()),
                tmp)
            if scale_bench.wait_all(server, 1, 30) is None:
                raise AssertionError("the real node did not join")
            swarm = scale_bench.Swarm(args.bin_dir, server, n, tmp, args)
            if scale_bench.wait_all(server, n + 1, 120 + n // 20) is None:
                raise AssertionError("the swarm did not join")
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
        finally:
            if swarm is not None:
                swarm.stop()
            if node is not None:
                node.kill()
            server.kill()


if __name__ == "__main__":
    main()
