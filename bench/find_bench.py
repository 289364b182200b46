#!/usr/bin/env python3
"""Times node-side `find` and `tree` through the real binaries against
local `find`, interleaved (A B A B ...), and prints the median of the
paired ratios with the load average beside it.

Cases (issue 7 items 2-3):
  find   `find bench:/` over a 100,000-entry tree  vs  find ROOT -printf '%y %s %T@ %P\n'
  hash   `find bench:/ --hash --type f` (node hash cache cold: a fresh node
         per run)  vs  find ROOT -type f -exec openssl dgst -sha256 {} +
  walk   (diagnosis) `find bench:/ --name no-such-name`: the walk and
         the protocol without rendering a row, same anchor as find
  tree   `tree bench:/ --depth 64` over a 1,110-directory tree  vs
         find ROOT -printf '%y %s %T@ %P\n'

Each server command runs until its footer line arrives on the server's
stdout (rows are written to the pipe and read by this script, as an
operator's terminal would). The anchors write to a pipe read the same way.

usage: bench/find_bench.py [--bin-dir build] [--runs 5] [--cases find,hash,tree]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import harness  # noqa: E402


def build_wide(root, entries=100_000, per_dir=100, size=256):
    """~`entries` entries: directories of `per_dir` small files."""
    n = 0
    d = 0
    while n < entries:
        sub = os.path.join(root, "d%04d" % (d // 10), "e%05d" % d)
        os.makedirs(sub, exist_ok=True)
        n += 1 if d % 10 else 2
        for i in range(per_dir - 1):
            with open(os.path.join(sub, "f%03d" % i), "wb") as f:
                f.write(b"x" * size)
            n += 1
        d += 1
    return n


def build_tree(root):
    """1,110 directories: 10 x 10 x 10 plus their parents, a file in each."""
    for a in range(10):
        for b in range(10):
            for c in range(10):
                p = os.path.join(root, "a%d" % a, "b%d" % b, "c%d" % c)
                os.makedirs(p, exist_ok=True)
                with open(os.path.join(p, "f"), "wb") as f:
                    f.write(b"y")


def count_entries(root):
    n = 0
    for _, dirs, files in os.walk(root):
        n += len(dirs) + len(files)
    return n


def timed(argv):
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


class Session:
    def __init__(self, work, root):
        self.cleanups = []
        self.server = harness.start_server(work, self.cleanups.append,
                                           args=["--request-timeout=120s"])
        self.work = work
        self.root = root
        self.node = None
        self.start_node()

    def start_node(self):
        if self.node is not None:
            self.node.kill()
            self.server.command("wait-nodes 0", timeout=30)
        self.node = harness.start_client(
            self.work, self.cleanups.append, self.server, self.root, "bench",
            args=["--log-level=warn", "--reconnect-min=100ms"])
        self.server.wait_nodes(1, timeout=30)

    def run(self, cmd, footer):
        t0 = time.monotonic()
        self.server.send(cmd)
        self.server.read_until(lambda l: footer(l), timeout=600)
        return time.monotonic() - t0

    def close(self):
        for f in reversed(self.cleanups):
            f()


def median_ratio(pairs):
    return statistics.median(a / b for a, b in pairs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cases", default="find,hash,tree")
    ap.add_argument("--entries", type=int, default=100_000)
    args = ap.parse_args()
    cases = args.cases.split(",")
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    harness.isolate_home()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dirscope-find-bench-") as tmp:
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        if "find" in cases or "hash" in cases or "walk" in cases:
            root = os.path.join(tmp, "wide")
            os.mkdir(root)
            build_wide(root, args.entries)
            total = count_entries(root)
            s = Session(work, root)
            try:
                if "find" in cases:
                    pairs = []
                    load = open("/proc/loadavg").read().split()[0]
                    for _ in range(args.runs):
                        a = s.run("find bench:/", lambda l: l.endswith(
                            "entries looked at)"))
                        b = timed(["find", root, "-printf",
                                   "%y %s %T@ %P\n"])
                        pairs.append((a, b))
                    rows.append(("find, %d entries" % total, pairs,
                                 "find -printf '%y %s %T@ %P\\n'", "1.5", load))
                if "walk" in cases:
                    # Diagnosis: the walk and the protocol without rows.
                    pairs = []
                    load = open("/proc/loadavg").read().split()[0]
                    for _ in range(args.runs):
                        a = s.run("find bench:/ --name no-such-name",
                                  lambda l: l.endswith("entries looked at)"))
                        b = timed(["find", root, "-printf",
                                   "%y %s %T@ %P\n"])
                        pairs.append((a, b))
                    rows.append(("find, no match (no rows), %d entries"
                                 % total, pairs,
                                 "find -printf '%y %s %T@ %P\\n'", "-",
                                 load))
                if "hash" in cases:
                    pairs = []
                    load = open("/proc/loadavg").read().split()[0]
                    for _ in range(args.runs):
                        s.start_node()  # cold hash cache
                        a = s.run("find bench:/ --hash --type f",
                                  lambda l: l.endswith("entries looked at)"))
                        b = timed(["find", root, "-type", "f", "-exec",
                                   "openssl", "dgst", "-sha256", "{}", "+"])
                        pairs.append((a, b))
                    rows.append(("find --hash (cold), %d entries" % total,
                                 pairs, "find -exec openssl dgst -sha256 {} +",
                                 "1.5", load))
            finally:
                s.close()
        if "tree" in cases:
            root = os.path.join(tmp, "tree")
            os.mkdir(root)
            build_tree(root)
            s = Session(work, root)
            try:
                pairs = []
                load = open("/proc/loadavg").read().split()[0]
                for _ in range(args.runs):
                    a = s.run("tree bench:/ --depth 64",
                              lambda l: "directories," in l)
                    b = timed(["find", root, "-printf",
                               "%y %s %T@ %P\n"])
                    pairs.append((a, b))
                rows.append(("tree, 1,110 directories", pairs,
                             "find -printf '%y %s %T@ %P\\n'", "2", load))
            finally:
                s.close()
    print("| case | dirscope median (s) | anchor | anchor median (s) | "
          "median ratio | target | load (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for name, pairs, anchor, target, load in rows:
        print("| %s | %.3f | `%s` | %.3f | %.2fx | <= %sx | %s |"
              % (name, statistics.median(a for a, _ in pairs), anchor,
                 statistics.median(b for _, b in pairs), median_ratio(pairs),
                 target, load))
    print("runs per case: %d, interleaved; load after: %s"
          % (args.runs, open("/proc/loadavg").read().strip()))


if __name__ == "__main__":
    sys.exit(main())
