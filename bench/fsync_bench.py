#!/usr/bin/env python3
"""What the fsyncs before publishing a transferred file cost (issue 10
item 3): the same `get` and `put` through two server+node pairs in the same
run, one as shipped (fsync of the file and its directory) and one started
with DIRSCOPE_BENCH_NO_FSYNC=1 (skips them; for this bench only).
Interleaved A B / B A, median of the paired ratios, load average beside.

Cases: one file of --mib MiB (random bytes, page-cached source), and
--small files of 4 KiB one command each. The targets live in --dir
(default: a temp dir under /var/tmp, a real disk: on tmpfs fsync is free).

usage: bench/fsync_bench.py --bin-dir build [--mib 1024] [--small 200]
                            [--runs 5] [--dir DIR]
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


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def start_pair(work, cleanups, name, root, dl, no_fsync):
    # Children inherit the environment at spawn.
    if no_fsync:
        os.environ["DIRSCOPE_BENCH_NO_FSYNC"] = "1"
    try:
        server = harness.start_server(work, cleanups.append, name=name,
                                      args=["--download-dir=" + dl,
                                            "--request-timeout=600s"])
        harness.start_client(work, cleanups.append, server, root, "b1",
                             proc_name="client-" + name,
                             args=["--allow-download", "--allow-upload",
                                   "--log-level=warn"])
    finally:
        os.environ.pop("DIRSCOPE_BENCH_NO_FSYNC", None)
    server.wait_nodes(1)
    return server


def timed(server, lines):
    t0 = time.monotonic()
    for line in lines:
        out = server.command(line, timeout=600)
        if not any(x.startswith(("got ", "put ")) for x in out):
            sys.exit("%s failed: %r" % (line, out))
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/var/tmp")
    args = ap.parse_args()
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    with tempfile.TemporaryDirectory(prefix="dirscope-fsync-bench-",
                                     dir=args.dir) as tmp:
        src = os.path.join(tmp, "src")
        work = os.path.join(tmp, "work")
        for d in (src, work):
            os.mkdir(d)
        big = os.path.join(src, "big")
        with open(big, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        for i in range(args.small):
            with open(os.path.join(src, "s%04d" % i), "wb") as f:
                f.write(os.urandom(4096))
        pairs = {}
        cleanups = []
        try:
            for name, no_fsync in (("fsync", False), ("nofsync", True)):
                root = os.path.join(tmp, "root-" + name)
                dl = os.path.join(tmp, "dl-" + name)
                os.mkdir(root)
                os.mkdir(dl)
                # The node serves the same files for get (hard links).
                os.link(big, os.path.join(root, "big"))
                for i in range(args.small):
                    os.link(os.path.join(src, "s%04d" % i),
                            os.path.join(root, "s%04d" % i))
                pairs[name] = (start_pair(work, cleanups, name, root, dl,
                                          no_fsync), root, dl)
            subprocess.run(["cat", big], stdout=subprocess.DEVNULL,
                           check=True)

            def case_lines(kind, root, dl, run):
                if kind == "get big":
                    return ["get b1:/big %s/big%d" % (dl, run)]
                if kind == "put big":
                    return ["put %s b1:/up%d" % (big, run)]
                if kind == "get small":
                    return ["get b1:/s%04d %s/r%d/" % (i, dl, run)
                            for i in range(args.small)]
                return ["put %s/s%04d b1:/u%d/" % (src, i, run)
                        for i in range(args.small)]

            kinds = ["get big", "put big", "get small", "put small"]
            times = {(k, n): [] for k in kinds for n in pairs}
            loads = []
            for run in range(args.runs):
                order = ["fsync", "nofsync"] if run % 2 == 0 \
                    else ["nofsync", "fsync"]
                for kind in kinds:
                    for name in order:
                        server, root, dl = pairs[name]
                        if kind == "put small":
                            os.mkdir(os.path.join(root, "u%d" % run))
                        if kind == "get small":
                            os.mkdir(os.path.join(dl, "r%d" % run))
                        lines = case_lines(kind, root, dl, run)
                        times[(kind, name)].append(timed(server, lines))
                        # Keep the disk from filling; writeback of what was
                        # not synced still runs (that is the point).
                        for x in ("big%d" % run,):
                            p = os.path.join(dl, x)
                            if os.path.exists(p):
                                os.unlink(p)
                        p = os.path.join(root, "up%d" % run)
                        if os.path.exists(p):
                            os.unlink(p)
                loads.append(loadavg())
        finally:
            for f in reversed(cleanups):
                f()
    print("| case | with fsync (s) | without (s) | ratio with/without "
          "(median of %d paired) |" % args.runs)
    print("|---|---:|---:|---:|")
    labels = {"get big": "`get` %d MiB" % args.mib,
              "put big": "`put` %d MiB" % args.mib,
              "get small": "`get` %d x 4 KiB" % args.small,
              "put small": "`put` %d x 4 KiB" % args.small}
    for kind in kinds:
        a, b = times[(kind, "fsync")], times[(kind, "nofsync")]
        ratios = [x / y for x, y in zip(a, b)]
        print("| %s | %.3f | %.3f | %.2f |" % (
            labels[kind], statistics.median(a), statistics.median(b),
            statistics.median(ratios)))
    print("load average after each run: " + "; ".join(loads))


if __name__ == "__main__":
    main()
