#!/usr/bin/env python3
"""Server idle CPU by CAF scheduler setting (issue 9, item 2).

For each round and, within it, each configuration (interleaved A B C A B C),
starts a fresh dirscope-server with that configuration's options, N swarm
nodes over TLS 1.3, waits until all are in, lets them settle, and measures
the server's CPU-seconds (utime+stime from /proc/PID/stat) over an idle
window (heartbeats only) as % of one core. Prints, per configuration, the
median idle CPU and the median of its per-round ratios to the first
configuration, with the load average at start and end.

usage: bench/scheduler_bench.py [--bin-dir build] [--nodes 2000]
          [--rounds 3] [--idle-seconds 60] [--config NAME=ARGS ...]
ARGS are server options separated by spaces, e.g.
  --config "sharing=--scheduler.policy=sharing"
"""
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench as sb  # noqa: E402

DEFAULT_CONFIGS = [
    ("stealing (CAF default)", "--scheduler.policy=stealing"),
    ("sharing", "--scheduler.policy=sharing"),
    ("stealing, relaxed 100ms",
     "--scheduler.policy=stealing --work-stealing.aggressive-poll-attempts=1"
     " --work-stealing.moderate-poll-attempts=1"
     " --work-stealing.relaxed-sleep-duration=100ms"),
]


def one_run(args, name, extra, tmp, index):
    workdir = os.path.join(tmp, "run%d" % index)
    os.makedirs(workdir)
    with sb.Fleet(workdir, args.nodes, extra.split(),
                  os.path.join(tmp, "state")) as fleet:
        server = fleet.server
        swarm = fleet.start_swarm(args)
        start = time.monotonic()
        fleet.wait_joined(what="%s: not all %d nodes joined"
                          % (name, args.nodes))
        admission = time.monotonic() - start
        time.sleep(args.settle_seconds)
        c0, t0 = sb.cpu_seconds(server.pid), time.monotonic()
        time.sleep(args.idle_seconds)
        cpu = 100.0 * (sb.cpu_seconds(server.pid) - c0) \
            / (time.monotonic() - t0)
        return {"cpu": cpu, "admission": admission,
                "rss": sb.rss_mb(server.pid), "failures": swarm.failures()}


def main():
    ap = sb.bench_parser(__doc__, 2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--settle-seconds", type=float, default=5)
    sb.swarm_flags(ap, server_arg=False)
    ap.add_argument("--config", action="append", default=[],
                    help="NAME=SERVER ARGS (repeatable; default: stealing, "
                         "sharing, stealing with relaxed polling)")
    args = sb.parse_bench_args(ap)
    configs = [tuple(c.split("=", 1)) for c in args.config] \
        or DEFAULT_CONFIGS
    load_start = sb.loadavg()
    results = {name: [] for name, _ in configs}
    with tempfile.TemporaryDirectory(prefix="dirscope-sched-") as tmp:
        index = 0
        for r in range(args.rounds):
            for name, extra in configs:
                index += 1
                row = one_run(args, name, extra, tmp, index)
                row["load"] = sb.loadavg()
                results[name].append(row)
                print("round %d %-28s idle CPU %5.2f %%  admission %5.1f s"
                      "  RSS %4.0f MB  failures %d  load %s"
                      % (r + 1, name, row["cpu"], row["admission"],
                         row["rss"], row["failures"], row["load"]),
                      file=sys.stderr, flush=True)
    anchor = results[configs[0][0]]
    print("\n%d idle nodes, %d rounds of %.0f s, load at start %s, at end "
          "%s\n" % (args.nodes, args.rounds, args.idle_seconds, load_start,
                    sb.loadavg()))
    print("| configuration | idle CPU (median) | ratio to %s (median of "
          "paired) | admission (median) |" % configs[0][0])
    print("|---|---|---|---|")
    for name, extra in configs:
        rows = results[name]
        ratios = [b["cpu"] / a["cpu"] for a, b in zip(anchor, rows)
                  if a["cpu"] > 0]
        print("| %s (`%s`) | %.2f %% | %.2f | %.1f s |"
              % (name, extra, statistics.median(x["cpu"] for x in rows),
                 statistics.median(ratios) if ratios else float("nan"),
                 statistics.median(x["admission"] for x in rows)))


if __name__ == "__main__":
    main()
