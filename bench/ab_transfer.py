#!/usr/bin/env python3
"""Two builds of dirscope against each other, and scp as the anchor, in one
run: `get` and `put` of one file over TLS, interleaved A B S A B S ...

  A = --bin-dir (the change), B = --base-dir (before it, e.g. a build of
  main), S = scp -c aes256-gcm@openssh.com against a private sshd
  (as bench/issue10_bench.py).

Prints per case the median wall time and CPU-seconds per GiB of each, and
the medians of the paired ratios A/B and A/S, B/S, with the load average.

usage: bench/ab_transfer.py --bin-dir build --base-dir ../main/build
                            [--runs 5] [--mib 1024] [--cases get,put]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import harness  # noqa: E402
import issue10_bench as b10  # noqa: E402


def start(bin_dir, tmp, name, root, cleanups):
    """A Dirscope pair from `bin_dir` (the harness reads its global)."""
    harness.BIN_DIR = os.path.abspath(bin_dir)
    d = os.path.join(tmp, name)
    os.mkdir(d)
    return b10.Dirscope(bin_dir, d, root, cleanups)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--base-dir", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--cases", default="get,put")
    ap.add_argument("--shm", default="/dev/shm")
    args = ap.parse_args()
    harness.parse_bin_dir(["--bin-dir", args.base_dir])
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    harness.isolate_home()
    load_before = b10.loadavg()
    tmp = tempfile.mkdtemp(prefix="dirscope-ab-", dir=args.shm)
    cleanups = []
    sshd = None
    rows = []
    try:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "up"))
        big = os.path.join(root, "big")
        with open(big, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        a = start(args.bin_dir, tmp, "a", root, cleanups)
        b = start(args.base_dir, tmp, "b", root, cleanups)
        sshd = b10.Sshd(tmp)
        scratch = os.path.join(tmp, "scratch")
        os.mkdir(scratch)
        scp_cpu = lambda: b10.children_cpu() + sshd.session_cpu()  # noqa

        def get(ds):
            def run(i):
                out = os.path.join(scratch, "g%d" % i)
                ds.command("get b1:/big " + out, "got ")
                os.unlink(out)
            return run

        def put(ds):
            def run(i):
                ds.command("put %s b1:/up/p%d" % (big, i), "put ")
                os.unlink(os.path.join(root, "up", "p%d" % i))
            return run

        def scp_get(i):
            out = os.path.join(scratch, "s%d" % i)
            sshd.scp(sshd.remote(big), out)
            os.unlink(out)

        def scp_put(i):
            dst = os.path.join(root, "up", "s%d" % i)
            sshd.scp(big, sshd.remote(dst))
            os.unlink(dst)

        for case in args.cases.split(","):
            fa, fb, fs = ((get(a), get(b), scp_get) if case == "get"
                          else (put(a), put(b), scp_put))
            res = []
            for i in range(args.runs):
                ra = b10.timed(lambda: fa(i), a.cpu)
                rb = b10.timed(lambda: fb(i), b.cpu)
                rs = b10.timed(lambda: fs(i), scp_cpu)
                res.append((ra, rb, rs))
                print("  %s run %d: A %.3f s, B %.3f s, scp %.3f s"
                      % (case, i + 1, ra[0], rb[0], rs[0]), file=sys.stderr)
            rows.append((case, res))
    finally:
        for f in reversed(cleanups):
            f()
        if sshd:
            sshd.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    gib = args.mib / 1024
    print("load average before %s, after %s; %d interleaved runs; A = %s, "
          "B = %s" % (load_before, b10.loadavg(), args.runs, args.bin_dir,
                      args.base_dir))
    print()
    print("| case | A | B | scp | A/B | A/scp | B/scp |")
    print("|---|---|---|---|---|---|---|")
    med = statistics.median
    for case, res in rows:
        def cell(k):
            return "%.3f s, %.2f CPU-s/GiB" % (
                med(r[k][0] for r in res), med(r[k][1] for r in res) / gib)

        def ratio(x, y):
            return "%.2f×" % med(r[x][0] / r[y][0] for r in res)
        print("| `%s` %d MiB | %s | %s | %s | %s | %s | %s |"
              % (case, args.mib, cell(0), cell(1), cell(2), ratio(0, 1),
                 ratio(0, 2), ratio(1, 2)))


if __name__ == "__main__":
    main()
