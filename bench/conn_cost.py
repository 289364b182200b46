#!/usr/bin/env python3
"""Per-connection cost of the server at idle (issue 9 item 2).

For each transport (plain TCP, TLS 1.3) it starts a fresh dirscope-server,
reads its VmRSS with no node, lets dirscope-swarm connect N nodes, waits
until all are in, lets them idle through at least one heartbeat round
(--settle-seconds, 12 by default: every connection has been written to
and read from since joining), then reads VmRSS again and the server's CPU
over --idle-seconds. Prints, per transport:

  rss0     MB with no node          rssN   MB with N idle nodes
  per-conn (rssN - rss0) / N in KB  cpu    idle CPU, % of one core

usage: bench/conn_cost.py [--bin-dir build] [--nodes 1000] [--repeat 1]
                          [--idle-seconds 20] [--server-arg=--x=y ...]
"""
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench as sb  # noqa: E402  (Fleet, rss, cpu helpers)


def run_one(args, tls, tmp):
    workdir = tempfile.mkdtemp(dir=tmp)
    with sb.Fleet(workdir, args.nodes, args.server_arg, tls=tls) as fleet:
        server = fleet.server
        time.sleep(1)
        rss0 = sb.rss_mb(server.proc.pid)
        fleet.start_swarm(args, tls=tls, report=5)
        fleet.wait_joined(timeout=300)
        time.sleep(args.settle_seconds)
        rss_n = sb.rss_mb(server.proc.pid)
        cpu0 = sb.cpu_seconds(server.proc.pid)
        t0 = time.monotonic()
        time.sleep(args.idle_seconds)
        cpu = (sb.cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic()
                                                          - t0)
        return rss0, rss_n, (rss_n - rss0) * 1024.0 / args.nodes, cpu * 100


def main():
    ap = sb.bench_parser(__doc__, 1000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--settle-seconds", type=float, default=12)
    ap.add_argument("--idle-seconds", type=float, default=20)
    ap.add_argument("--server-arg", action="append", default=[])
    ap.add_argument("--only", choices=["plain", "tls"], default=None)
    args = sb.parse_bench_args(ap)
    print("load before: %s" % sb.loadavg())
    print("%-6s %6s %8s %8s %12s %8s" % ("mode", "nodes", "rss0 MB", "rssN MB",
                                         "KB/conn", "cpu %"))
    with tempfile.TemporaryDirectory() as tmp:
        for tls in (False, True):
            mode = "tls" if tls else "plain"
            if args.only and args.only != mode:
                continue
            rows = [run_one(args, tls, tmp) for _ in range(args.repeat)]
            for rss0, rss_n, per, cpu in rows:
                print("%-6s %6d %8.1f %8.1f %12.1f %8.1f"
                      % (mode, args.nodes, rss0, rss_n, per, cpu), flush=True)
            if len(rows) > 1:
                print("%-6s median KB/conn %.1f" % (
                    mode, statistics.median(r[2] for r in rows)))
    print("load after: %s" % sb.loadavg())


if __name__ == "__main__":
    main()
