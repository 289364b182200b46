#!/usr/bin/env python3
"""Node memory over many cancelled tree downloads (issue 11: each one
leaked its gzip state). The server runs on a pty, as an operator's shell:
`get NODE:/tree` of a 4 GiB sparse file (never done in time), and Ctrl-C
(SIGINT) once the node says it is sending, N times. Prints the node's
VmRSS after a warm-up and at the end.

usage: bench/tree_cancel_bench.py --bin-dir build [--cancels 1500]
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import harness  # noqa: E402
from test_cancel import PtyServer  # noqa: E402

WARMUP = 20


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Bench(harness.SystemTest):
    cancels = 1500

    def test_cancels(self):
        dl = os.path.join(self.tmp, "downloads")
        server = PtyServer(self, self.workdir,
                           ["--heartbeat-interval=5s",
                            "--request-timeout=30s",
                            "--download-dir=" + dl])
        root = self.make_dir("root")
        os.mkdir(os.path.join(root, "tree"))
        with open(os.path.join(root, "tree", "zeros"), "wb") as f:
            f.truncate(4 << 30)
        argv = harness.client_argv(server.port, root, "n1",
                                   args=server.client_args()
                                   + ["--allow-download"])
        client = harness.Process("client-n1", argv, self.workdir,
                                 stdin=subprocess.DEVNULL)
        self.addCleanup(client.kill)
        mark = len(server.output())
        server.type("wait-nodes 1")
        server.wait_output("1 node", since=mark)
        started = time.monotonic()
        before = None
        for i in range(1, self.cancels + 1):
            mark = len(server.output())
            server.type("get n1:/tree")
            harness.wait_for(
                lambda: len(re.findall("sending tree /tree",
                                       client.stderr_text())) >= i,
                20, interval=0.005, what="tree download %d" % i)
            server.proc.send_signal(signal.SIGINT)
            server.wait_output("\ncancelled", since=mark)
            if i == WARMUP:
                harness.wait_for(
                    lambda: len(re.findall(r"download \d+ cancelled",
                                           client.stderr_text())) >= i,
                    20, what="node saw the cancels")
                before = rss_kib(client.proc.pid)
        harness.wait_for(
            lambda: len(re.findall(r"download \d+ cancelled",
                                   client.stderr_text())) >= self.cancels,
            60, what="node saw every cancel")
        time.sleep(1)
        after = rss_kib(client.proc.pid)
        print("\n%d cancelled tree downloads in %.0f s: node VmRSS %d KiB "
              "after %d, %d KiB after %d: +%.1f MiB (%.0f KiB per cancel)"
              % (self.cancels, time.monotonic() - started, before, WARMUP,
                 after, self.cancels, (after - before) / 1024.0,
                 (after - before) / float(self.cancels - WARMUP)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--cancels", type=int, default=1500)
    args = ap.parse_args()
    Bench.cancels = args.cancels
    harness.WATCHDOG_SECONDS = 3600
    sys.argv = [sys.argv[0], "--bin-dir", args.bin_dir]
    harness.main()


if __name__ == "__main__":
    main()
