#!/usr/bin/env python3
"""Issue 10's table: each dirscope case next to its anchor, in one run.

  get 1 GiB (TLS)          vs  scp -c aes256-gcm@openssh.com (download)
  put 1 GiB (TLS)          vs  scp, same cipher (upload)
  ls 10,000 x 4 KiB, cold  vs  find | xargs openssl dgst -sha256
  stat of 1 GiB, cold hash vs  openssl dgst -sha256

Runs A B A B ... (--runs pairs, default 5), prints the median of each and the
median of the paired ratios A/B (below 1: dirscope is faster), CPU-seconds of
both sides for the transfers, and the load average before and after.

Files live in /dev/shm (no disk writeback). "Cold" means the node's hash
cache cannot answer: the files' times are touched before each run (new
ctime), so the node reads and hashes every byte again, as openssl does.

The scp anchors run against a private sshd (openssh-server; `make bench`
installs it) on a free loopback port, with a temporary host key and
authorized key and an empty HOME on both ends, so no shell start-up or user
configuration counts. Without /usr/sbin/sshd those rows are skipped.

usage: bench/issue10_bench.py [--bin-dir build] [--runs 5] [--mib 1024]
                              [--files 10000] [--size 4096]
                              [--cases get,put,ls,hash]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import harness  # noqa: E402

SSHD = "/usr/sbin/sshd"
CIPHER = "aes256-gcm@openssh.com"
TICK = os.sysconf("SC_CLK_TCK")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_of(pid, children=False):
    """CPU-seconds (user + system) of `pid`, or of its reaped children."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is 14, stime 15, cutime 16, cstime 17
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / TICK


def children_cpu():
    r = os.times()
    return r.children_user + r.children_system


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def touch_all(paths):
    """New ctime (and mtime) on every file: the node's hash cache misses."""
    now = time.time()
    for p in paths:
        os.utime(p, (now, now))


class Sshd:
    """A private sshd on loopback with a temporary host key, one authorized
    key and an empty HOME for the sessions."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "ssh")
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        for key in ("host", "user"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                            "-f", os.path.join(self.dir, key)], check=True)
        shutil.copy(os.path.join(self.dir, "user.pub"),
                    os.path.join(self.dir, "authorized_keys"))
        self.port = free_port()
        conf = os.path.join(self.dir, "sshd_config")
        with open(conf, "w") as f:
            f.write("\n".join([
                "Port %d" % self.port, "ListenAddress 127.0.0.1",
                "HostKey " + os.path.join(self.dir, "host"),
                "AuthorizedKeysFile " + os.path.join(self.dir,
                                                     "authorized_keys"),
                "PidFile none", "StrictModes no", "UsePAM no",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password", "PrintMotd no",
                "SetEnv HOME=" + self.home,
                "Subsystem sftp internal-sftp", ""]))
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation dir
        self.log = open(os.path.join(self.dir, "sshd.log"), "w")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", conf],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise SystemExit("sshd did not start; see %s" % self.log.name)

    def scp(self, src, dst):
        argv = ["scp", "-q", "-F", "/dev/null", "-i",
                os.path.join(self.dir, "user"), "-o",
                "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-c", CIPHER, "-P", str(self.port),
                src, dst]
        env = dict(os.environ, HOME=self.home)
        subprocess.run(argv, env=env, check=True)

    def remote(self, path):
        return "root@127.0.0.1:" + path

    def session_cpu(self):
        """CPU-seconds of every finished session (reaped by the listener)."""
        return cpu_of(self.proc.pid, children=True)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


class Dirscope:
    def __init__(self, bin_dir, tmp, root, cleanups):
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        self.dl = os.path.join(tmp, "dl")
        self.server = harness.start_server(
            work, cleanups.append,
            args=["--download-dir=" + self.dl])
        self.client = harness.start_client(
            work, cleanups.append, self.server, root, "b1",
            args=["--allow-download", "--allow-upload", "--log-level=warn"])
        self.server.wait_nodes(1, timeout=30)

    def cpu(self):
        return cpu_of(self.server.pid) + cpu_of(self.client.pid)

    def command(self, line, expect):
        out = self.server.command(line, timeout=900)
        if not any(x.lstrip().startswith(expect) for x in out):
            raise SystemExit("%r failed: %r" % (line, out[-5:]))

    def until(self, line, predicate):
        self.server.send(line)
        self.server.read_until(predicate, timeout=900)


def timed(fn, cpu=None):
    c0 = cpu() if cpu else 0.0
    t0 = time.monotonic()
    fn()
    wall = time.monotonic() - t0
    if cpu:
        time.sleep(0.2)  # lets sshd reap the session
    return wall, (cpu() - c0) if cpu else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--cases", default="get,put,ls,hash")
    ap.add_argument("--shm", default="/dev/shm")
    args = ap.parse_args()
    harness.parse_bin_dir(["--bin-dir", args.bin_dir])
    harness.isolate_home()
    cases = args.cases.split(",")
    have_sshd = os.access(SSHD, os.X_OK)
    load_before = loadavg()
    rows = []
    tmp = tempfile.mkdtemp(prefix="dirscope-bench10-", dir=args.shm)
    cleanups = []
    sshd = None
    try:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "up"))
        big = os.path.join(root, "big")
        with open(big, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        many = os.path.join(root, "many")
        os.mkdir(many)
        small = []
        for i in range(args.files if "ls" in cases else 0):
            small.append(os.path.join(many, "f%06d" % i))
            with open(small[-1], "wb") as f:
                f.write(os.urandom(args.size))
        ds = Dirscope(args.bin_dir, tmp, root, cleanups)
        if have_sshd and ({"get", "put"} & set(cases)):
            sshd = Sshd(tmp)
        scratch = os.path.join(tmp, "scratch")
        os.mkdir(scratch)
        gib = "%s MiB" % args.mib if args.mib != 1024 else "1 GiB"

        def pairs(name, anchor, a, b, cpu_a=None, cpu_b=None):
            res = []
            for i in range(args.runs):
                ta, ca = timed(lambda: a(i), cpu_a)
                tb, cb = timed(lambda: b(i), cpu_b)
                res.append((ta, tb, ca, cb))
                print("  %s run %d: %.3f s vs %.3f s" % (name, i + 1, ta, tb),
                      file=sys.stderr)
            rows.append((name, anchor, res))

        if "get" in cases and sshd:
            def get_a(i):
                out = os.path.join(scratch, "g%d" % i)
                ds.command("get b1:/big " + out, "got ")
                os.unlink(out)

            def get_b(i):
                out = os.path.join(scratch, "s%d" % i)
                sshd.scp(sshd.remote(big), out)
                os.unlink(out)
            pairs("`get` %s, TLS" % gib, "`scp -c %s` (download)" % CIPHER,
                  get_a, get_b, ds.cpu,
                  lambda: children_cpu() + sshd.session_cpu())
        if "put" in cases and sshd:
            def put_a(i):
                ds.command("put %s b1:/up/p%d" % (big, i), "put ")
                os.unlink(os.path.join(root, "up", "p%d" % i))

            def put_b(i):
                dst = os.path.join(root, "up", "s%d" % i)
                sshd.scp(big, sshd.remote(dst))
                os.unlink(dst)
            pairs("`put` %s, TLS" % gib, "scp upload, same cipher", put_a,
                  put_b, ds.cpu, lambda: children_cpu() + sshd.session_cpu())
        if "ls" in cases:
            footer = "%d entries" % args.files

            def ls_a(i):
                touch_all(small)
                ds.until("ls b1:/many", lambda x: x.startswith(footer))

            def ls_b(i):
                touch_all(small)
                subprocess.run("find . -type f -print0 | xargs -0 openssl dgst "
                               "-sha256 >/dev/null", shell=True, cwd=many,
                               check=True)
            pairs("`ls` %d x %d B, cold" % (args.files, args.size),
                  "`find | xargs openssl dgst -sha256`", ls_a, ls_b)
        if "hash" in cases:
            def hash_a(i):
                touch_all([big])
                ds.command("stat b1:/big", "sha256")

            def hash_b(i):
                touch_all([big])
                subprocess.run(["openssl", "dgst", "-sha256", big],
                               stdout=subprocess.DEVNULL, check=True)
            pairs("hash of %s (`stat`, cold)" % gib, "`openssl dgst -sha256`",
                  hash_a, hash_b)
    finally:
        for f in reversed(cleanups):
            f()
        if sshd:
            sshd.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = loadavg()
    print("load average before %s, after %s; %d interleaved pairs per case; "
          "cores: %d" % (load_before, load_after, args.runs, os.cpu_count()))
    print()
    print("| case | dirscope | anchor | ratio (median of pairs) |")
    print("|---|---|---|---|")
    for name, anchor, res in rows:
        ta = statistics.median(r[0] for r in res)
        tb = statistics.median(r[1] for r in res)
        ratio = statistics.median(r[0] / r[1] for r in res)
        a, b = "%.3f s" % ta, "%.3f s" % tb
        if res[0][2] is not None:
            gibs = args.mib / 1024
            a += ", %.2f CPU-s/GiB" % (statistics.median(r[2] for r in res)
                                       / gibs)
            b += ", %.2f CPU-s/GiB" % (statistics.median(r[3] for r in res)
                                       / gibs)
        print("| %s | %s | %s %s | %.2f× |" % (name, a, anchor, b, ratio))
    if not have_sshd:
        print("\n(scp rows skipped: %s missing; `make bench` installs "
              "openssh-server)" % SSHD)


if __name__ == "__main__":
    main()
