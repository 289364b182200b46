#!/usr/bin/env python3
"""Local reads of the server during `put --resume`: a file of --mib MiB
whose first --held-mib MiB already sit on the node as its partial file
(.dirscope-partial-SIZE-MTIME-NAME, as a broken put leaves it). Reports the
server's rchar (/proc/PID/io) and the wall time of each resume; with two
--bin-dir values the builds run interleaved (A B A B ...).

usage: bench/resume_bench.py --bin-dir old --bin-dir build [--mib 1024]
       [--held-mib 900] [--runs 3]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import harness  # noqa: E402
from test_transfer_resume import rchar  # noqa: E402


def one_run(bin_dir, tmp, src, held):
    harness.parse_bin_dir(["--bin-dir", bin_dir])
    root = os.path.join(tmp, "root")
    work = os.path.join(tmp, "work")
    for d in (root, work):
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
    st = os.stat(src)
    partial = os.path.join(root, ".dirscope-partial-%d-%d-big"
                           % (st.st_size, st.st_mtime_ns))
    with open(src, "rb") as f, open(partial, "wb") as out:
        left = held
        while left:
            b = f.read(min(left, 8 << 20))
            out.write(b)
            left -= len(b)
    subprocess.run(["cat", src, partial], stdout=subprocess.DEVNULL,
                   check=True)
    cleanups = []
    try:
        server = harness.start_server(work, cleanups.append,
                                      args=["--request-timeout=600s"])
        node = harness.start_client(work, cleanups.append, server, root,
                                    "b1", args=["--allow-upload",
                                                "--log-level=warn"])
        server.wait_nodes(1)
        node_before = rchar(node.pid)
        before = rchar(server.pid)
        t0 = time.monotonic()
        out = server.command("put --resume %s b1:/big" % src, timeout=600)
        wall = time.monotonic() - t0
        read = rchar(server.pid) - before
        node_read = rchar(node.pid) - node_before
        if not any(x.startswith("put ") for x in out) or any(
                x.startswith("error:") for x in out):
            sys.exit("put failed: %r" % out)
        if "verified bytes" not in server.log_text():
            sys.exit("the put did not resume")
    finally:
        for f in reversed(cleanups):
            f()
    return read, wall, node_read


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", action="append", required=True)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--held-mib", type=int, default=900)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    size = args.mib << 20
    with tempfile.TemporaryDirectory(prefix="dirscope-resume-bench-") as tmp:
        src = os.path.join(tmp, "big")
        with open(src, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        res = {b: [] for b in args.bin_dir}
        for i in range(args.runs):
            for b in args.bin_dir:
                read, wall, node_read = one_run(b, tmp, src,
                                                args.held_mib << 20)
                load = os.getloadavg()[0]
                res[b].append((read, wall))
                print("run %d %s: server rchar %.1f MiB (%.2f x file), node"
                      " rchar %.1f MiB, wall %.2f s, load %.2f"
                      % (i, b, read / 2**20, read / size, node_read / 2**20,
                         wall, load), flush=True)
        for b in args.bin_dir:
            reads = [x[0] for x in res[b]]
            walls = [x[1] for x in res[b]]
            print("%s: median rchar %.1f MiB (%.2f x file), median wall "
                  "%.2f s" % (b, statistics.median(reads) / 2**20,
                              statistics.median(reads) / size,
                              statistics.median(walls)))
        if len(args.bin_dir) == 2:
            a, b = args.bin_dir
            ratios = [y[1] / x[1] for x, y in zip(res[a], res[b])]
            print("wall %s / %s: median of paired ratios %.2f"
                  % (b, a, statistics.median(ratios)))


if __name__ == "__main__":
    main()
