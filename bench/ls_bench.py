#!/usr/bin/env python3
"""Times `ls` of a directory of many small files through the real binaries.

Cold: the node's hash cache is empty (files are in the page cache).
Warm: the same listing again; the cache answers, no file is read.
Reference in the same run: `sha256sum` over the same files (one process).
The server and node run as in the system tests (TLS, CA, enrollment token).

usage: bench/ls_bench.py [--bin-dir build] [--files 10000] [--size 1024]
"""
import argparse
import os
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
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    harness.isolate_home()
    with tempfile.TemporaryDirectory(prefix="dirscope-ls-bench-") as tmp:
        root = os.path.join(tmp, "root")
        work = os.path.join(tmp, "work")
        os.mkdir(root)
        os.mkdir(work)
        for i in range(args.files):
            with open(os.path.join(root, f"f{i:06d}"), "wb") as f:
                f.write(os.urandom(args.size))
        names = sorted(os.listdir(root))
        t0 = time.monotonic()
        subprocess.run(["sha256sum", *names], cwd=root, check=True,
                       stdout=subprocess.DEVNULL)
        ref = time.monotonic() - t0
        cleanups = []
        try:
            server = harness.start_server(work, cleanups.append)
            harness.start_client(work, cleanups.append, server, root,
                                 "bench", args=["--log-level=warn",
                                                "--reconnect-min=100ms"])
            server.wait_nodes(1, timeout=30)
            footer = f"{args.files} entries"

            def run(cmd):
                start = time.monotonic()
                server.send(cmd)
                server.read_until(lambda l: l.startswith(footer), timeout=300)
                return time.monotonic() - start

            cold = run("ls bench:/")
            warm = run("ls bench:/")
        finally:
            for f in reversed(cleanups):
                f()
        print(f"ls of {args.files} files of {args.size} B over loopback:")
        print(f"  cold (hash cache empty): {cold:.3f} s")
        print(f"  warm (hash cache full):  {warm:.3f} s")
        print(f"  sha256sum of the same files: {ref:.3f} s")
        print(f"  ratio cold/sha256sum: {cold / ref:.2f}, "
              f"warm/sha256sum: {warm / ref:.2f}")


if __name__ == "__main__":
    sys.exit(main())
