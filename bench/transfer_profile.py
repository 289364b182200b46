#!/usr/bin/env python3
"""perf profile of the server and the node during `get`s (or `put`s) of one
file in /dev/shm over TLS: where the CPU of a transfer goes, per thread.

usage: bench/transfer_profile.py [--bin-dir build] [--mib 512] [--runs 2]
                                 [--mode get|put] [--out perf.data]
then:  perf report -i perf.data --no-children --sort pid,dso,symbol

Needs `perf`. The first pid in the report is the server's (started first).
"""
import argparse
import os
import shutil
import signal
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
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--mode", choices=("get", "put"), default="get")
    ap.add_argument("--out", default="perf.data")
    ap.add_argument("--call-graph", default="fp",
                    help="perf's --call-graph (dwarf: callers of libc's "
                         "memmove too, at a larger profile)")
    ap.add_argument("--freq", type=int, default=999)
    args = ap.parse_args()
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    harness.isolate_home()
    tmp = tempfile.mkdtemp(prefix="dirscope-profile-", dir="/dev/shm")
    cleanups = []
    try:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "up"))
        big = os.path.join(root, "big")
        with open(big, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        server = harness.start_server(
            work, cleanups.append,
            args=["--download-dir=" + os.path.join(tmp, "dl")])
        client = harness.start_client(
            work, cleanups.append, server, root, "b1",
            args=["--allow-download", "--allow-upload", "--log-level=warn"])
        server.wait_nodes(1, timeout=30)
        perf = subprocess.Popen(
            ["perf", "record", "-F", str(args.freq), "--call-graph",
             args.call_graph, "-o", args.out, "-p",
             "%d,%d" % (server.pid, client.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        for i in range(args.runs):
            t0 = time.monotonic()
            if args.mode == "get":
                out = os.path.join(tmp, "g%d" % i)
                server.command("get b1:/big " + out, timeout=600)
                os.unlink(out)
            else:
                server.command("put %s b1:/up/p%d" % (big, i), timeout=600)
                os.unlink(os.path.join(root, "up", "p%d" % i))
            print("%s %d MiB: %.3f s" % (args.mode, args.mib,
                                         time.monotonic() - t0))
        perf.send_signal(signal.SIGINT)
        perf.wait()
        print("server pid %d, node pid %d; profile in %s"
              % (server.pid, client.pid, args.out))
    finally:
        for f in reversed(cleanups):
            f()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
