#!/usr/bin/env python3
"""Times `get` of a 1 GiB file (random bytes, in the page cache) from a node
over loopback (TLS, the product default) through the real binaries, next to
`openssl dgst -sha256` of the same file in the same run. Median of 3.

usage: bench/get_bench.py --bin-dir build [--mib 1024] [--runs 3]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    size = args.mib << 20
    with tempfile.TemporaryDirectory(prefix="dirscope-get-bench-") as tmp:
        root = os.path.join(tmp, "root")
        work = os.path.join(tmp, "work")
        dl = os.path.join(tmp, "dl")
        os.mkdir(root)
        os.mkdir(work)
        src = os.path.join(root, "big")
        with open(src, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        subprocess.run(["cat", src], stdout=subprocess.DEVNULL, check=True)
        cleanups = []
        try:
            server = harness.start_server(
                work, cleanups.append,
                args=["--download-dir=" + dl])
            harness.start_client(work, cleanups.append, server, root, "b1",
                                 args=["--allow-download",
                                       "--log-level=warn"])
            server.wait_nodes(1)
            gets, dgsts = [], []
            for i in range(args.runs):
                target = os.path.join(dl, "run%d" % i)
                t0 = time.monotonic()
                out = server.command("get b1:/big " + target, timeout=600)
                gets.append(time.monotonic() - t0)
                if not any(x.startswith("got ") for x in out):
                    sys.exit("get failed: %r" % out)
                os.unlink(target)
                t0 = time.monotonic()
                subprocess.run(["openssl", "dgst", "-sha256", src],
                               stdout=subprocess.DEVNULL, check=True)
                dgsts.append(time.monotonic() - t0)
        finally:
            for f in reversed(cleanups):
                f()
    g, d = statistics.median(gets), statistics.median(dgsts)
    mb = size / 1e6
    print("| run | seconds | MB/s |")
    print("|---|---:|---:|")
    print("| `get` %d MiB over loopback (TLS) | %.3f | %.0f |" % (args.mib, g,
                                                               mb / g))
    print("| `openssl dgst -sha256` same file | %.3f | %.0f |" % (d, mb / d))
    print("get runs: %s; dgst runs: %s" % (
        ", ".join("%.3f" % x for x in gets),
        ", ".join("%.3f" % x for x in dgsts)))


if __name__ == "__main__":
    main()
