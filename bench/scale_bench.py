#!/usr/bin/env python3
"""Fleet benchmark (issue 9): one server, one real node, N simulated nodes.

For each N it starts a fresh dirscope-server (temp state dir, free port,
descriptor limit raised to the hard limit), one dirscope-client serving a
small temp directory, then dirscope-swarm with N nodes over TLS 1.3, and
measures, inside that one running server session through its piped console:

  admission   time from starting the swarm until the server has N+1 nodes
              (`wait-nodes`), and the rate that makes
  RSS         the server's VmRSS once all are in and idle
  idle CPU    server CPU-seconds (utime+stime, /proc/PID/stat) over the idle
              window (--idle-seconds, 60 by default) as % of one core; the
              swarm's own share beside it
  nodes       `nodes --json` wall time, median of --nodes-runs
  ls          `ls` of the real node's root, p50 of --ls-runs
  failures    what the swarm counted before the restart: connects or TLS
              handshakes that failed, rejects, connections lost, servers
              silent, protocol errors
  quit        `quit` until the server exited, and how many "left" log lines
              it wrote of N+1
  restart     a new server on the same port and state: time until all N
              swarm nodes are back, and the swarm's failed attempts meanwhile
              (connects refused while no server listens do not count). The
              swarm nodes come back on their own jittered backoff, unpaced,
              as real nodes do after a server crash or a network cut (a real
              node stops on goodbye(shutdown); a swarm node comes back).

Every command is timed from writing it to the console until the `echo`
line that follows it comes back (the console runs commands in order).

usage: bench/scale_bench.py [--bin-dir build] [--nodes 1000,5000,10000]
                            [--idle-seconds 60] [--results]
(`make bench-scale`; SCALE_NODES=1000,5000 and SCALE_ARGS=... override.)
"""
import argparse
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "system"))
import harness  # noqa: E402  (the system tests' process helpers)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def fd_hard_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().strip()


def swarm_argv(bin_dir, server, count, connect_rate=2000, max_joining=64,
               rejoin_max_joining=None, report=1, tls=True):
    """dirscope-swarm's command line: `count` nodes joining `server` (its
    host, port, ca_file and token_file), over TLS 1.3 or plain TCP."""
    argv = [os.path.join(bin_dir, "dirscope-swarm"),
            "--server", "%s:%d" % (server.host, server.port),
            "--count", str(count), "--connect-rate", str(connect_rate),
            "--max-joining", str(max_joining)]
    if rejoin_max_joining is not None:
        argv += ["--rejoin-max-joining", str(rejoin_max_joining)]
    argv += ["--report", str(report)]
    argv.append("--ca-file=" + server.ca_file if tls else "--tls=false")
    if server.token_file:
        argv.append("--token-file=" + server.token_file)
    return argv


class Swarm:
    """dirscope-swarm with its status lines read by a thread (and copied to
    WORKDIR/swarm.out). options: those of swarm_argv()."""

    STATUS = re.compile(r"swarm: t=\S+ (.*)")

    def __init__(self, bin_dir, server, count, workdir, **options):
        argv = swarm_argv(bin_dir, server, count, **options)
        self.out_path = os.path.join(workdir, "swarm.out")
        self._out = open(self.out_path, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=self._out, text=True,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.status = {}
        self.reasons = []  # "swarm: COUNT x WHY" lines printed at the end
        self.lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self._out.write(line)
            self._out.flush()
            if re.match(r"swarm: \d+ x ", line):
                self.reasons.append(line.rstrip())
            m = self.STATUS.match(line)
            if m:
                fields = dict(kv.split("=") for kv in m.group(1).split())
                with self.lock:
                    self.status = fields

    def counters(self):
        with self.lock:
            return dict(self.status)

    FAILURES = ("lost", "connect_failed", "tls_failed", "rejected",
                "silent", "protocol_errors")

    def failures(self, since=None):
        """Sum of the failure counters (minus those in `since`, an earlier
        counters()); `refused` (nothing listening) is not a failure."""
        s = self.counters()
        since = since or {}
        return sum(int(s.get(k, 0)) - int(since.get(k, 0))
                   for k in self.FAILURES)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Its last lines (the reasons) are still being copied to the file.
        self._reader.join(timeout=5)
        self._out.close()


def timed(server, line, timeout):
    """Seconds from writing `line` to the console until the echo after it."""
    start = time.monotonic()
    out = server.command(line, timeout=timeout)
    return time.monotonic() - start, out


def start_server(workdir, port, state_dir, count, extra, name="server",
                 **more):
    """A dirscope-server with room for `count` nodes, listening; more:
    other harness.Server arguments (tls, argv)."""
    server = harness.Server(workdir, port, name=name, state_dir=state_dir,
                            args=["--max-clients=%d" % (count + 10)]
                            + list(extra), **more)
    try:
        server.wait_listening(timeout=60)
    except BaseException:
        server.kill()
        raise
    return server


def wait_all(server, n, timeout):
    """Runs `wait-nodes n`; returns seconds until it said so, or None."""
    start = time.monotonic()
    out = server.command("wait-nodes %d --timeout %ds" % (n, timeout),
                         timeout=timeout + 30)
    ok = len(out) == 1 and out[0].endswith("node(s) connected")
    return (time.monotonic() - start) if ok else None


class Fleet:
    """What every fleet bench starts: a fresh dirscope-server (free port
    unless given, room for `count` nodes), then on request one real node
    and `count` swarm nodes; stop(), or leaving a `with` block, ends the
    swarm, the node and the server. server: other start_server()
    arguments (name, tls, argv)."""

    def __init__(self, workdir, count, extra=(), state_dir=None, port=None,
                 **server):
        self.workdir = workdir
        self.count = count
        self.swarm = self.node = None
        self.server = start_server(workdir, port or harness.free_port(),
                                   state_dir, count, extra, **server)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def add_real_node(self, root, name="real-node", args=()):
        """A dirscope-client serving `root`; returns once it has joined."""
        self.node = harness.Process(
            "node", harness.client_argv(self.server.port, root, name,
                                        args=self.server.client_args()
                                        + list(args)),
            self.workdir)
        self.wait_joined(1, "the real node did not join", timeout=30)

    def start_swarm(self, args, target=None, **options):
        """The swarm's `count` nodes joining `target` (default the server).
        args: the script's flags: bin_dir, and connect_rate, max_joining,
        rejoin_max_joining where it has them; options: other swarm_argv()
        ones (report, tls). Does not wait: see wait_joined()."""
        for key in ("connect_rate", "max_joining", "rejoin_max_joining"):
            if hasattr(args, key):
                options.setdefault(key, getattr(args, key))
        self.swarm = Swarm(args.bin_dir, target or self.server, self.count,
                           self.workdir, **options)
        return self.swarm

    def wait_joined(self, n=None, what="not all nodes joined",
                    timeout=None):
        """Seconds until the server has `n` nodes (default: the swarm's, and
        the real node if any); AssertionError(what) if not within `timeout`
        (default 120 s + 1 s a 20 nodes)."""
        if n is None:
            n = self.count + (self.node is not None)
        t = wait_all(self.server, n, timeout or 120 + self.count // 20)
        if t is None:
            raise AssertionError(what)
        return t

    def stop(self):
        if self.swarm is not None:
            self.swarm.stop()
        if self.node is not None:
            self.node.kill()
        self.server.kill()


def bench_parser(doc, nodes):
    """A fleet bench's flags start with --bin-dir and --nodes (default
    `nodes`); the first line of `doc` describes it."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--nodes", type=int, default=nodes)
    return ap


def swarm_flags(ap, joining=False, server_arg=True):
    """--connect-rate (and with `joining` --max-joining and
    --rejoin-max-joining), and --server-arg unless told not to."""
    ap.add_argument("--connect-rate", type=int, default=2000,
                    help="swarm connects started per second")
    if joining:
        ap.add_argument("--max-joining", type=int, default=64,
                        help="most swarm connections between connect and "
                             "welcome at once (raise it for a storm that "
                             "does not wait for the server)")
        ap.add_argument("--rejoin-max-joining", type=int, default=0,
                        help="the same for swarm nodes coming back after a "
                             "restart (default 0: no limit, each node "
                             "reconnects when its jittered backoff says, as "
                             "a fleet would)")
    if server_arg:
        ap.add_argument("--server-arg", action="append", default=[],
                        help="extra server option, e.g. "
                             "--server-arg=--foo=1")


def parse_bench_args(ap):
    """Parses the flags; the binaries come from --bin-dir (made absolute),
    and the descriptor limit is raised (inherited by server and swarm)."""
    args = ap.parse_args()
    args.bin_dir = os.path.abspath(args.bin_dir)
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    raise_nofile()
    return args


def run_one(args, n, tmp):
    workdir = os.path.join(tmp, "n%d" % n)
    os.makedirs(workdir)
    state_dir = os.path.join(tmp, "state")  # one identity for all runs
    root = os.path.join(workdir, "root")
    os.makedirs(os.path.join(root, "sub"))
    for name in ("a.txt", "b.txt"):
        with open(os.path.join(root, name), "w") as f:
            f.write(name * 100)
    port = harness.free_port()
    row = {"n": n, "load_before": loadavg()}
    fleet = Fleet(workdir, n, args.server_arg, state_dir, port)
    server = fleet.server
    try:
        fleet.add_real_node(root, args=["--reconnect-min=100ms"])
        node = fleet.node
        # -- admission
        admit_timeout = 120 + n // 20
        start = time.monotonic()
        swarm = fleet.start_swarm(args)
        t = wait_all(server, n + 1, admit_timeout)
        row["admission"] = None if t is None else time.monotonic() - start
        # -- idle
        time.sleep(args.settle_seconds)
        s0, w0 = cpu_seconds(server.pid), cpu_seconds(swarm.pid)
        t0 = time.monotonic()
        time.sleep(args.idle_seconds)
        dt = time.monotonic() - t0
        row["idle_cpu"] = 100.0 * (cpu_seconds(server.pid) - s0) / dt
        row["swarm_cpu"] = 100.0 * (cpu_seconds(swarm.pid) - w0) / dt
        row["idle_window"] = dt
        row["rss"] = rss_mb(server.pid)
        # -- commands in the running session
        row["nodes"] = statistics.median(
            timed(server, "nodes --json", 120)[0]
            for _ in range(args.nodes_runs))
        ls = []
        for _ in range(args.ls_runs):
            t, out = timed(server, "ls real-node:/", 30)
            if not any(x.startswith("3 entries") for x in out):
                raise AssertionError("ls of the real node: %r" % out[-3:])
            ls.append(t)
        ls.sort()
        row["ls"] = statistics.median(ls)
        row["ls_max"] = ls[-1]
        row["failures"] = swarm.failures()
        row["real_node_ok"] = node.running()
        # -- quit and restart (reconnect storm)
        time.sleep(1.5)  # the swarm reports once a second
        before_quit = swarm.counters()
        start = time.monotonic()
        server.send("quit")
        try:
            server.wait(timeout=args.quit_timeout)
            row["quit"] = time.monotonic() - start
        except AssertionError:
            row["quit_hung"] = True  # killed below; said in the table
        row["left"] = server.log_text().count(" left: ")
        start = time.monotonic()
        server.kill()
        server = fleet.server = start_server(workdir, port, state_dir, n,
                                             args.server_arg, name="server2")
        t = wait_all(server, n, 120 + n // 20)
        row["restart"] = None if t is None else time.monotonic() - start
        time.sleep(1.5)
        # Each of the n nodes losing its connection at `quit` is expected.
        row["restart_failures"] = swarm.failures(before_quit) - n
        row["load_after"] = loadavg()
        server.send("quit")
        try:
            server.wait(timeout=args.quit_timeout)
        except AssertionError:
            pass  # measured above; killed below
    finally:
        fleet.stop()
        if fleet.swarm is not None:
            for line in fleet.swarm.reasons:
                print("  " + line, file=sys.stderr)
    return row


def fmt(x, spec, unit=""):
    return "-" if x is None else format(x, spec) + unit


def table(rows, args):
    head = ("| nodes | admission | server RSS | idle CPU (swarm) | "
            "`nodes --json` | `ls` p50 (max) | failures | `quit` (left lines)"
            " | back after restart (failures) |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    body = ""
    for r in rows:
        adm = r.get("admission")
        rate = "" if not adm else " (%.0f/s)" % (r["n"] / adm)
        body += ("| {:,} | {}{} | {} | {} ({}) | {} | {} ({}) | {}{} | {} "
                 "({}/{}) | {} ({}) |\n").format(
            r["n"], fmt(adm, ".1f", " s"), rate, fmt(r.get("rss"), ".0f",
                                                     " MB"),
            fmt(r.get("idle_cpu"), ".1f", " %"),
            fmt(r.get("swarm_cpu"), ".1f", " %"),
            fmt(None if r.get("nodes") is None else r["nodes"] * 1e3, ".0f",
                " ms"),
            fmt(None if r.get("ls") is None else r["ls"] * 1e3, ".1f",
                " ms"),
            fmt(None if r.get("ls_max") is None else r["ls_max"] * 1e3,
                ".0f", " ms"),
            r.get("failures", "-"),
            "" if r.get("real_node_ok", True) else " (real node gone)",
            ("> %.0f s, killed" % args.quit_timeout) if r.get("quit_hung")
            else fmt(r.get("quit"), ".1f", " s"), r.get("left", "-"),
            r["n"] + 1,
            fmt(r.get("restart"), ".1f", " s"),
            r.get("restart_failures", "-"))
    return head + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default="build")
    default_nodes = os.environ.get("SCALE_NODES", "")
    ap.add_argument("--nodes", default=default_nodes,
                    help="comma-separated N (default 1000,5000,10000 and "
                         "20000 if the descriptor limit allows)")
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--settle-seconds", type=float, default=5)
    ap.add_argument("--ls-runs", type=int, default=20)
    ap.add_argument("--nodes-runs", type=int, default=5)
    swarm_flags(ap, joining=True)
    ap.add_argument("--quit-timeout", type=float, default=60,
                    help="how long `quit` may take before the server is "
                         "killed (the table says so)")
    ap.add_argument("--results", action="store_true",
                    help="append the table to bench/RESULTS.md")
    ap.add_argument("--note", default="",
                    help="a line to write under the table (with --results)")
    args = parse_bench_args(ap)
    harness.isolate_home()
    if not os.access(os.path.join(args.bin_dir, "dirscope-swarm"), os.X_OK):
        sys.exit("scale_bench: %s/dirscope-swarm is missing (cmake --build "
                 "%s --target dirscope-swarm)" % (args.bin_dir, args.bin_dir))
    hard = fd_hard_limit()
    if args.nodes:
        ns = [int(x) for x in args.nodes.split(",") if x]
    else:
        ns = [1000, 5000, 10000] + ([20000] if hard >= 20000 + 100 else [])
    for n in ns:
        if n + 100 > hard:
            sys.exit("scale_bench: %d nodes need more descriptors than the "
                     "hard limit (%d) allows" % (n, hard))
    rows = []
    tmp = tempfile.mkdtemp(prefix="dirscope-scale-")
    try:
        for n in ns:
            print("scale_bench: %d nodes (load %s)..." % (n, loadavg()),
                  file=sys.stderr, flush=True)
            rows.append(run_one(args, n, tmp))
            print(table(rows[-1:], args), file=sys.stderr, flush=True)
    finally:
        harness.kill_all_children()
        shutil.rmtree(tmp, ignore_errors=True)
    text = table(rows, args)
    loads = "; ".join("%d: %s → %s" % (r["n"], r["load_before"],
                                       r.get("load_after", "?"))
                      for r in rows)
    print(text)
    print("load average (/proc/loadavg) before → after each N: " + loads)
    if args.results:
        argv = []
        skip = False
        for a in sys.argv[1:]:  # the note goes under the table, not here
            if skip or a.startswith("--note"):
                skip = a == "--note"
                continue
            argv.append(a)
        cmd = "python3 bench/scale_bench.py " + " ".join(argv)
        with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
            f.write("\n## issue 9: fleet scale, %s\n\n"
                    % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
            f.write("- Command: `%s` (idle window %.0f s; `git describe`: "
                    "%s).\n" % (cmd, args.idle_seconds, git_describe()))
            f.write("- Load average before → after each N: %s.\n\n" % loads)
            f.write(text)
            if args.note:
                f.write("\n" + args.note + "\n")


def git_describe():
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"],
                              cwd=HERE, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001 - informative only
        return "?"


if __name__ == "__main__":
    main()
