#!/usr/bin/env python3
"""Where an idle fleet's cost goes on the server (issue 9 close-out).

One fresh dirscope-server (TLS 1.3), N dirscope-swarm nodes; once all are in
and a settle period has passed (every node has heard a heartbeat), it
prints, for the server process:

  rss         VmRSS, and /proc/PID/smaps_rollup (anonymous, heap, ...)
  cpu         CPU-seconds over --idle-seconds as % of one core, with
              /proc/loadavg before and after
  perf        with --perf S: `perf record -g` for S seconds, then the top
              of `perf report --no-children` (self time) by symbol
  malloc      with --malloc-stats: glibc's malloc_stats() per arena,
              called through gdb (the server stops for a moment)
  quit        `quit` until the server exited, and "left" log lines of N

usage: bench/idle_probe.py [--bin-dir build] [--nodes 10000]
                           [--idle-seconds 30] [--perf 20] [--malloc-stats]
                           [--server-arg=--x=y ...]
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "system"))
import harness  # noqa: E402
import scale_bench as sb  # noqa: E402  (Fleet, rss, cpu helpers)


def smaps_rollup(pid):
    keep = ("Rss", "Anonymous", "Private_Dirty", "Shared_Clean")
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keep:
                out[k] = int(v.split()[0]) // 1024
    return out


def heap_mappings(pid):
    """MB of [heap] and of anonymous mappings of >= 32 MB (malloc arenas
    reserve 64 MB each) and of the rest."""
    heap = arenas = other = 0
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" not in parts[0]:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                cur = ("heap" if parts[-1] == "[heap]" else
                       "arena" if len(parts) == 5 and hi - lo >= 32 << 20
                       else "other")
            elif parts[0] == "Rss:":
                kb = int(parts[1])
                if cur == "heap":
                    heap += kb
                elif cur == "arena":
                    arenas += kb
                else:
                    other += kb
    return heap // 1024, arenas // 1024, other // 1024


def main():
    ap = sb.bench_parser(__doc__, 10000)
    ap.add_argument("--settle-seconds", type=float, default=12)
    ap.add_argument("--idle-seconds", type=float, default=30)
    ap.add_argument("--perf", type=float, default=0)
    ap.add_argument("--malloc-stats", action="store_true")
    ap.add_argument("--perf-quit", action="store_true",
                    help="perf record the server from `quit` to its exit")
    ap.add_argument("--server-arg", action="append", default=[])
    ap.add_argument("--wrap", default="",
                    help="run the server under this command, e.g. "
                         "'heaptrack -o /tmp/x' (then --idle-seconds 0)")
    args = sb.parse_bench_args(ap)
    tmp = tempfile.mkdtemp(prefix="idle-probe-")
    port = harness.free_port()
    argv = None
    state = os.path.join(tmp, "state")
    if args.wrap:
        argv = args.wrap.split() + [
            harness.server_bin(), "--state-dir=" + state, "--bind",
            "127.0.0.1", "--port", str(port),
            "--log-file=" + os.path.join(tmp, "server.log"),
            "--max-clients=%d" % (args.nodes + 10)] + args.server_arg
    fleet = sb.Fleet(tmp, args.nodes, args.server_arg, state, port,
                     argv=argv)
    server = fleet.server
    try:
        pid = server.proc.pid
        if args.wrap:  # the server is the wrapper's child
            pid = [int(x) for x in subprocess.run(
                ["pgrep", "-f", "--", "--port %d" % port],
                capture_output=True, text=True).stdout.split()
                if os.path.realpath("/proc/%s/exe" % x).endswith(
                    "dirscope-server")][0]
        time.sleep(1)
        rss0 = sb.rss_mb(pid)
        swarm = fleet.start_swarm(args, report=5)
        t0 = time.monotonic()
        if args.wrap:
            # A wrapper may give the server no stdin: the swarm says it.
            harness.wait_for(lambda: "all %d welcomed" % args.nodes
                             in harness.read_text(swarm.out_path), 600)
        else:
            fleet.wait_joined(timeout=600)
        print("admission %.1f s" % (time.monotonic() - t0))
        time.sleep(args.settle_seconds)
        rss = sb.rss_mb(pid)
        print("rss %.0f MB (empty server %.0f MB; %.1f KB per node)"
              % (rss, rss0, (rss - rss0) * 1024 / args.nodes))
        print("smaps_rollup MB", smaps_rollup(pid))
        print("heap %d MB, 64 MB arenas %d MB, other %d MB"
              % heap_mappings(pid))
        load0 = sb.loadavg()
        c0, t0 = sb.cpu_seconds(pid), time.monotonic()
        time.sleep(args.idle_seconds)
        cpu = (sb.cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100
        print("idle cpu %.1f %% of a core over %.0f s (load %s -> %s)"
              % (cpu, args.idle_seconds, load0, sb.loadavg()))
        if args.perf:
            data = os.path.join(tmp, "perf.data")
            subprocess.run(["perf", "record", "-g", "-o", data, "-p",
                            str(pid), "--", "sleep", str(args.perf)],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            rep = subprocess.run(["perf", "report", "-i", data,
                                  "--no-children", "--stdio", "-g", "none",
                                  "--percent-limit", "0.7"],
                                 capture_output=True, text=True).stdout
            print("\n".join(x for x in rep.splitlines()
                            if x and not x.startswith("#")))
            print("perf data:", data)
        if args.malloc_stats:
            # Last: gdb may stop a thread holding malloc's lock, and the
            # server may not quit cleanly afterwards.
            subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex",
                            "call (void)malloc_stats()"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            err = server.stderr_text()
            i = err.rfind("Arena 0:")
            print(err[i:] if i >= 0 else "(no malloc_stats output)")
            return
        if args.wrap:
            os.kill(pid, 15)  # SIGTERM: the server stops like on `quit`
            server.wait(timeout=300)
            return
        quit_perf = None
        if args.perf_quit:
            data = os.path.join(tmp, "perf-quit.data")
            quit_perf = subprocess.Popen(
                ["perf", "record", "-g", "-o", data, "-p", str(pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        t0 = time.monotonic()
        server.send("quit")
        server.wait(timeout=120)
        if quit_perf is not None:
            quit_perf.wait(timeout=60)
            rep = subprocess.run(["perf", "report", "-i", data,
                                  "--no-children", "--stdio", "-g", "none",
                                  "--sort", "comm,dso,sym",
                                  "--percent-limit", "0.7"],
                                 capture_output=True, text=True).stdout
            print("\n".join(x[:160] for x in rep.splitlines()
                            if x and not x.startswith("#")))
            print("perf data:", data)
        log = server.log_text().splitlines()
        stamps = [x.split()[0] for x in log if " left: " in x
                  or "shutting down" in x or "server stopped" in x]
        if stamps:
            print("log: shutting down %s, first left %s, last left %s, "
                  "stopped %s" % (stamps[0][11:23], stamps[1][11:23],
                                  stamps[-2][11:23], stamps[-1][11:23]))
        print("quit %.1f s, %d of %d left lines"
              % (time.monotonic() - t0,
                 server.log_text().count(" left: "), args.nodes))
    finally:
        fleet.stop()
        print("work dir:", tmp)


if __name__ == "__main__":
    main()
