#!/usr/bin/env python3
"""Times `ls` of a directory of many small files through the real binaries.

Cold: the node's hash cache is empty (files are in the page cache).
Warm: the same listing again; the cache answers, no file is read.
Reference in the same run: `sha256sum` over the same files (one process).

usage: bench/ls_bench.py [--bin-dir build] [--files 10000] [--size 1024]
"""
import argparse
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dirscope-ls-bench-") as tmp:
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        for i in range(args.files):
            with open(os.path.join(root, f"f{i:06d}"), "wb") as f:
                f.write(os.urandom(args.size))
        names = sorted(os.listdir(root))
        t0 = time.monotonic()
        subprocess.run(["sha256sum", *names], cwd=root, check=True,
                       stdout=subprocess.DEVNULL)
        ref = time.monotonic() - t0
        port = free_port()
        server = subprocess.Popen(
            [os.path.join(args.bin_dir, "dirscope-server"), "--bind",
             "127.0.0.1", "--port", str(port), "--log-level=warn",
             "--log-file=" + os.path.join(tmp, "server.log")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        client = subprocess.Popen(
            [os.path.join(args.bin_dir, "dirscope-client"), "--server",
             f"127.0.0.1:{port}", "--root", root, "--name", "bench",
             "--log-level=warn", "--reconnect-min=100ms"])
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in server.stdout],
                         daemon=True).start()

        def run(cmd, until, timeout=300):
            start = time.monotonic()
            server.stdin.write(cmd + "\n")
            server.stdin.flush()
            while True:
                line = lines.get(timeout=timeout)
                if until(line):
                    return time.monotonic() - start

        try:
            run("wait-nodes 1 --timeout 20", lambda l: "connected" in l
                or l.startswith("error"))
            footer = f"{args.files} entries"
            cold = run("ls bench:/", lambda l: l.startswith(footer))
            warm = run("ls bench:/", lambda l: l.startswith(footer))
            server.stdin.write("quit\n")
            server.stdin.flush()
            server.wait(timeout=20)
            client.wait(timeout=20)
        finally:
            for p in (server, client):
                if p.poll() is None:
                    p.kill()
        print(f"ls of {args.files} files of {args.size} B over loopback:")
        print(f"  cold (hash cache empty): {cold:.3f} s")
        print(f"  warm (hash cache full):  {warm:.3f} s")
        print(f"  sha256sum of the same files: {ref:.3f} s")
        print(f"  ratio cold/sha256sum: {cold / ref:.2f}, "
              f"warm/sha256sum: {warm / ref:.2f}")


if __name__ == "__main__":
    sys.exit(main())
