"""Shared harness for the dirscope system tests.

Standard library only. Each test script does:

    import harness
    class T(harness.SystemTest): ...
    if __name__ == "__main__":
        harness.main()

and is run as `python3 tests/system/test_x.py --bin-dir <cmake build dir>`.

The harness starts the real binaries on loopback, on free ports, with every
wait bounded by a deadline and every process and temp dir cleaned up.
"""

import argparse
import atexit
import json
import os
import queue
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN_DIR = None  # set by main() / parse_bin_dir()
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# Generous but bounded: the machine is shared with other builds.
DEFAULT_TIMEOUT = 10.0

# A line of the programs' log (spdlog pattern "%Y-%m-%dT%H:%M:%S.%e%z ...").
LOG_LINE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}"
                      rb"(Z|[+-]\d\d:?\d\d) ")


def parse_bin_dir(argv=None):
    global BIN_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True,
                        help="CMake build directory holding the binaries")
    args, rest = parser.parse_known_args(argv)
    BIN_DIR = os.path.abspath(args.bin_dir)
    for exe in ("dirscope-server", "dirscope-client"):
        path = os.path.join(BIN_DIR, exe)
        if not os.access(path, os.X_OK):
            sys.exit("harness: %s is missing or not executable" % path)
    return rest


# Every child process, so that a watchdog or exit can always end them (they
# run in their own sessions and would outlive us otherwise).
_CHILDREN = []
WATCHDOG_SECONDS = 150


def kill_all_children():
    for p in list(_CHILDREN):
        try:
            p.kill()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _watchdog():
    sys.stderr.write("harness: watchdog: %s still running after %d s; "
                     "killing its processes\n"
                     % (os.path.basename(sys.argv[0]), WATCHDOG_SECONDS))
    sys.stderr.flush()
    kill_all_children()
    os._exit(3)


def isolate_home():
    """Gives this test run, and so every child process, its own empty HOME:
    an interactive shell writes ~/.dirscope_history, and nothing a test
    starts may touch the real home directory. Removed at exit."""
    if os.environ.get("DIRSCOPE_TEST_HOME") == os.environ.get("HOME"):
        return os.environ["HOME"]  # already isolated (nested run)
    home = tempfile.mkdtemp(prefix="dirscope-home-")
    atexit.register(shutil.rmtree, home, True)
    os.environ["HOME"] = home
    os.environ["DIRSCOPE_TEST_HOME"] = home
    return home


def main():
    rest = parse_bin_dir()
    isolate_home()  # removed after the children are killed (atexit: LIFO)
    atexit.register(kill_all_children)
    watchdog = threading.Timer(WATCHDOG_SECONDS, _watchdog)
    watchdog.daemon = True
    watchdog.start()
    start = time.monotonic()
    prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    print("%s: %.1f s" % (os.path.basename(sys.argv[0]),
                          time.monotonic() - start), file=sys.stderr)
    sys.exit(0 if prog.result.wasSuccessful() else 1)


def server_bin():
    return os.path.join(BIN_DIR, "dirscope-server")


def client_bin():
    return os.path.join(BIN_DIR, "dirscope-client")


_OPTIONS = {}


def options_of(exe):
    """The long options a binary lists in --help (cached)."""
    if exe not in _OPTIONS:
        res = subprocess.run([exe, "--help"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=10)
        _OPTIONS[exe] = set(re.findall(r"--([a-z][a-z0-9-]*)",
                                       res.stdout.decode("utf-8", "replace")))
    return _OPTIONS[exe]


def server_has(option):
    return option in options_of(server_bin())


def client_has(option):
    return option in options_of(client_bin())


# A syntactically valid pin for clients that never reach a server (TLS is
# on by default and a client refuses to start without a way to verify).
DUMMY_FINGERPRINT = ":".join(["ab"] * 32)


def unreachable_client_args():
    """Trust arguments for a client that is expected never to connect."""
    if client_has("server-fingerprint"):
        return ["--server-fingerprint=" + DUMMY_FINGERPRINT]
    return []


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A port that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a true value or `timeout` passes.
    Returns the value; raises AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# -- processes ----------------------------------------------------------------

class Process:
    """A child process with stdout/stderr captured to files (or stdout to a
    line queue for the server). Always call kill() eventually."""

    def __init__(self, name, argv, workdir, stdin=None, line_stdout=False,
                 cwd=None, env=None):
        self.name = name
        self.argv = argv
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self._stderr_file = open(self.stderr_path, "wb")
        self.lines = None
        self._reader = None
        if line_stdout:
            stdout = subprocess.PIPE
            stderr = subprocess.PIPE
        else:
            self._stdout_file = open(self.stdout_path, "wb")
            stdout = self._stdout_file
            stderr = self._stderr_file
        if env is not None:
            env = dict(os.environ, **env)
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout,
                                     stderr=stderr, cwd=cwd,
                                     env=env, start_new_session=True)
        self.pid = self.proc.pid
        _CHILDREN.append(self)
        if line_stdout:
            self.lines = queue.Queue()
            self.transcript = []  # every line queued, for failure messages
            self._reader = threading.Thread(target=self._read_streams,
                                            daemon=True)
            self._reader.start()

    def _queue_line(self, raw):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = "<<INVALID UTF-8>> " + raw.decode("utf-8", "replace")
        self.transcript.append(line)
        self.lines.put(line)

    def _read_streams(self):
        """Queues stdout lines and the console's own stderr lines (error:
        ..., not log lines), and copies stderr to the stderr file. Two pipes
        have no common order: stdout is read first, then stderr, and the
        stderr lines are queued first. So everything written to stderr
        before a stdout line precedes it (a command's error precedes the
        `echo` that command() syncs on); a command's own results and its
        error may come out as error first."""
        out_fd = self.proc.stdout.fileno()
        err_fd = self.proc.stderr.fileno()
        os.set_blocking(out_fd, False)
        os.set_blocking(err_fd, False)
        pending = {out_fd: b"", err_fd: b""}
        open_fds = [out_fd, err_fd]

        def drain(fd):
            while fd in open_fds:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    return
                if not data:
                    open_fds.remove(fd)
                    return
                if fd == err_fd:
                    self._stderr_file.write(data)
                    self._stderr_file.flush()
                pending[fd] += data

        def lines_of(fd, final=False):
            *complete, rest = pending[fd].split(b"\n")
            if final and rest:
                complete.append(rest)
                rest = b""
            pending[fd] = rest
            return complete

        while open_fds:
            select.select(open_fds, [], [])
            drain(out_fd)
            drain(err_fd)
            done = not open_fds
            for raw in lines_of(err_fd, done):
                if not LOG_LINE.match(raw):
                    self._queue_line(raw)
            for raw in lines_of(out_fd, done):
                self._queue_line(raw)
        self.lines.put(None)  # EOF marker

    def stderr_text(self):
        return read_text(self.stderr_path)

    def poll(self):
        code = self.proc.poll()
        if code is not None:
            self._join_reader()
        return code

    def running(self):
        return self.proc.poll() is None

    def wait(self, timeout=DEFAULT_TIMEOUT):
        """Exit code, or AssertionError if still running after `timeout`."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "%s (pid %d) still running after %.1f s\nstderr:\n%s"
                % (self.name, self.pid, timeout, self.stderr_text()[-3000:]))
        self._join_reader()
        return code

    def _join_reader(self):
        # After exit, stderr_text() must hold everything the process wrote.
        if self._reader is not None:
            self._reader.join(timeout=5)

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def kill(self):
        """SIGKILL if still running; reap; close files. Idempotent."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._join_reader()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
        for attr in ("_stderr_file", "_stdout_file"):
            f = getattr(self, attr, None)
            if f is not None:
                f.close()


class PtyProcess:
    """A child on a pseudo-terminal, as in a terminal window: stdin, stdout
    and stderr are the pty, which is the controlling terminal of the
    child's new session, so typing Ctrl-C sends SIGINT to the foreground
    process group. Everything shown is collected in output()."""

    def __init__(self, name, argv, cwd=None, env=None):
        import fcntl
        import pty
        import termios
        self.name = name
        self.argv = argv
        self.master, slave = pty.openpty()

        def own_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        full_env = dict(os.environ, TERM="xterm", **(env or {}))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave,
                                     stderr=slave, cwd=cwd, env=full_env,
                                     preexec_fn=own_terminal)
        os.close(slave)
        self.pid = self.proc.pid
        _CHILDREN.append(self)
        self._text = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO once every holder of the slave is gone
                return
            if not data:
                return
            with self._lock:
                self._text += data.decode("utf-8", "replace")

    def output(self):
        with self._lock:
            return self._text

    def type(self, line):
        os.write(self.master, (line + "\r").encode())

    def ctrl_c(self):
        os.write(self.master, b"\x03")

    def wait_output(self, what, since=0, timeout=20):
        """Waits until `what` shows after offset `since`; returns the offset
        just past it."""
        def seen():
            i = self.output().find(what, since)
            return i + len(what) if i >= 0 else None
        return wait_for(seen, timeout, what="%r on the terminal; shown:\n%s"
                        % (what, self.output()[-1500:]))

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout=DEFAULT_TIMEOUT):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s still running after %.1f s; shown:\n%s"
                                 % (self.name, timeout,
                                    self.output()[-1500:]))

    def stderr_text(self):
        return self.output()

    def kill(self):
        """SIGKILL to its process group if still running; idempotent."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._reader.join(timeout=2)
        try:
            os.close(self.master)
        except OSError:
            pass


def wait_quiet(term, quiet=0.3, timeout=10):
    """Waits until the pty `term` (a PtyProcess, or any object with
    output()) shows nothing new for `quiet` s."""
    last = [len(term.output()), 0]

    def settled():
        n = len(term.output())
        if n != last[0]:
            last[0], last[1] = n, 0
            return False
        last[1] += 1
        return last[1] * 0.05 >= quiet
    wait_for(settled, timeout, interval=0.05, what="a quiet terminal")


def type_keys(term, keys, expect, timeout=20):
    """Types `keys` on the pty `term` (a PtyProcess, or any object with
    `master` and output()), Tab as \\t, then Enter; after each Tab it waits
    until the terminal is quiet, so the completion (maybe a round trip to a
    node) lands before the next keys. Returns what the terminal showed from
    the first key on, once `expect` is among it."""
    mark = len(term.output())
    for part in re.split(r"(\t)", keys):
        if part:
            os.write(term.master, part.encode())
        if part == "\t":
            wait_quiet(term)
    os.write(term.master, b"\r")
    wait_for(lambda: expect in term.output()[mark:], timeout,
             what="%r on the terminal; shown:\n%s"
             % (expect, term.output()[-1500:]))
    return term.output()[mark:]


class Server(Process):
    """dirscope-server with stdin open for commands and stdout read
    line by line by a thread."""

    _sync_counter = 0

    def __init__(self, workdir, port, bind="127.0.0.1", args=(), name="server",
                 log_file=True, cwd=None, port_args=None, tls=True,
                 state_dir=None, env=None, argv=None):
        """port_args: None for `--bind BIND --port PORT`, else the list of
        arguments that set them, or a function of the port giving it.
        tls: the product default (TLS 1.3, enrollment token, a CA in the
        state dir, by default `workdir/state`); False adds --tls=false.
        argv: the whole command line instead of one built from the other
        arguments (e.g. only --config-file; then `port` must match it)."""
        self.port = port
        self.bind = bind
        self.host = bind if bind not in ("0.0.0.0", "::") else "127.0.0.1"
        self.log_path = os.path.join(workdir, name + ".log")
        self.tls = tls and server_has("tls")
        self.state_dir = None
        given_argv = argv
        argv = [server_bin()]
        if server_has("state-dir"):
            # Never the default ./dirscope-state in the caller's directory.
            self.state_dir = state_dir or os.path.join(workdir, "state")
            argv.append("--state-dir=" + self.state_dir)
        if not tls and server_has("tls"):
            argv.append("--tls=false")
        if callable(port_args):
            port_args = port_args(port)
        if port_args is None:
            argv += ["--bind", bind, "--port", str(port)]
        else:
            argv += list(port_args)
        if log_file:
            argv.append("--log-file=" + self.log_path)
        argv += list(args)
        if server_has("api") and not any(str(a).startswith("--api")
                                         for a in args):
            # The operator API's default port (8443) is one for the whole
            # machine: a test that wants the API gives --api-listen.
            argv.append("--api=false")
        if given_argv is not None:
            argv = list(given_argv)
            self.state_dir = state_dir
        super().__init__(name, argv, workdir, stdin=subprocess.PIPE,
                         line_stdout=True, cwd=cwd, env=env)

    # -- startup

    def wait_listening(self, timeout=DEFAULT_TIMEOUT):
        """True once the server logged 'listening on'; False if it exited
        (e.g. cannot listen)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "listening on" in self.stderr_text():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        raise AssertionError("server did not start listening within %.1f s:\n%s"
                             % (timeout, self.stderr_text()))

    # -- commands

    def send(self, line):
        self.proc.stdin.write((line + "\n").encode("utf-8", "surrogateescape"))
        self.proc.stdin.flush()

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def read_line(self, timeout=DEFAULT_TIMEOUT):
        """Next stdout line; None at EOF; AssertionError on timeout."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                "no output from the server within %.1f s; last lines:\n%s"
                % (timeout, "\n".join(self.transcript[-20:])))
        if line is None:
            self.lines.put(None)  # keep reporting EOF
        return line

    def read_until(self, predicate, timeout=DEFAULT_TIMEOUT):
        """Reads lines until predicate(line) is true; returns (lines before,
        matching line). Bounded by `timeout` in total."""
        deadline = time.monotonic() + timeout
        before = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    "expected line not seen within %.1f s; got:\n%s"
                    % (timeout, "\n".join(before[-40:])))
            line = self.read_line(timeout=left)
            if line is None:
                raise AssertionError(
                    "server stdout ended (exit %r) before the expected line;"
                    " got:\n%s\nstderr:\n%s"
                    % (self.proc.poll(), "\n".join(before[-40:]),
                       self.stderr_text()[-3000:]))
            if predicate(line):
                return before, line
            before.append(line)

    def command(self, line, timeout=DEFAULT_TIMEOUT):
        """Runs one command and returns its output lines (results from
        stdout, then its error line from stderr, if any). Synchronises by
        following it with `echo TOKEN`: the server runs commands strictly
        in order, and a command that succeeds keeps the exit status 0."""
        Server._sync_counter += 1
        token = "sync-%d-done" % Server._sync_counter
        self.send(line)
        self.send("echo %s" % token)
        before, _ = self.read_until(lambda x: x == token, timeout=timeout)
        return before

    def command_json(self, line, timeout=DEFAULT_TIMEOUT):
        """Runs a --json command; returns parsed objects. Fails on a line
        that is not JSON (e.g. an error)."""
        out = self.command(line, timeout=timeout)
        result = []
        for x in out:
            try:
                result.append(json.loads(x))
            except ValueError:
                raise AssertionError("%r: non-JSON output line %r (all: %r)"
                                     % (line, x, out))
        return result

    def nodes(self, timeout=DEFAULT_TIMEOUT):
        return self.command_json("nodes --json", timeout=timeout)

    def node_names(self, timeout=DEFAULT_TIMEOUT):
        return sorted(x["name"] for x in self.nodes(timeout=timeout))

    def wait_nodes(self, n, timeout=DEFAULT_TIMEOUT, watch=()):
        """Waits (bounded) until at least n nodes are connected. Fails
        early, with its stderr, if a process in `watch` exits meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.1, min(1.0, deadline - time.monotonic()))
            out = self.command("wait-nodes %d --timeout %.2f" % (n, left),
                               timeout=left + 5)
            if len(out) == 1 and out[0].endswith("node(s) connected"):
                return out
            for p in watch:
                if p.poll() is not None:
                    raise AssertionError(
                        "%s exited %r before %d node(s) connected\n"
                        "its stderr:\n%s" % (p.name, p.poll(), n,
                                              p.stderr_text()[-3000:]))
            if time.monotonic() >= deadline:
                raise AssertionError(
                    "wait-nodes %d failed: %r\nserver stderr:\n%s"
                    % (n, out, self.stderr_text()[-3000:]))

    def log_text(self):
        return read_text(self.log_path)

    # -- what a node needs to join

    @property
    def ca_file(self):
        return os.path.join(self.state_dir, "ca.crt") if self.state_dir \
            else None

    @property
    def token_file(self):
        if not self.state_dir:
            return None
        path = os.path.join(self.state_dir, "enrollment.token")
        return path if os.path.exists(path) else None

    def token(self):
        """The enrollment token as a node presents it (b"" if none)."""
        path = self.token_file
        if not path:
            return b""
        with open(path, "rb") as f:
            return f.read().strip()

    def operator_token(self):
        """The operator API's token (str), from the state dir."""
        with open(os.path.join(self.state_dir, "operator.token")) as f:
            return f.read().strip()

    def client_args(self):
        """Arguments a dirscope-client needs to join this server."""
        result = []
        if self.tls:
            result.append("--ca-file=" + self.ca_file)
        elif client_has("tls"):
            result.append("--tls=false")
        if self.token_file and client_has("token-file"):
            result.append("--token-file=" + self.token_file)
        return result


def client_argv(port, root, name, host="127.0.0.1", args=()):
    server = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    return [client_bin(), "--server", server, "--root", root, "--name", name] \
        + list(args)


# -- wire protocol (PROTOCOL.md), for raw-socket tests ------------------------

MAGIC = 0x44534350
VERSION = 1

TAG_HELLO = 1
TAG_WELCOME = 2
TAG_REJECT = 3
TAG_HEARTBEAT = 4
TAG_HEARTBEAT_ACK = 5
TAG_GOODBYE = 6
TAG_LIST_REQUEST = 16
TAG_STAT_REQUEST = 17

CODES = {
    0: "ok", 1: "not_found", 2: "permission_denied", 3: "not_a_directory",
    4: "outside_root", 5: "bad_request", 6: "io_error",
    7: "too_many_requests", 8: "cancelled", 9: "protocol_error",
    10: "version_mismatch", 11: "name_taken", 12: "server_full",
    13: "shutdown", 14: "kicked", 15: "timeout", 16: "client_exit",
    17: "not_readable", 18: "symlink_loop", 19: "internal",
    20: "unauthorized", 21: "not_permitted", 22: "tls_failure",
    23: "tls_required",
}


def enc_bytes(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def frame(body):
    return struct.pack(">I", len(body)) + body


def hello_body(name, hostname="rawhost", root="/raw", version=VERSION,
               magic=MAGIC, capabilities=7, token=b""):
    return (bytes([TAG_HELLO]) + struct.pack(">IH", magic, version)
            + enc_bytes(name) + enc_bytes(hostname) + enc_bytes(root)
            + struct.pack(">I", capabilities) + enc_bytes(token))


def heartbeat_ack_body(seq):
    return bytes([TAG_HEARTBEAT_ACK]) + struct.pack(">Q", seq)


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None if not buf else buf  # EOF (possibly partial)
        buf += chunk
    return buf


def recv_frame(sock, timeout=DEFAULT_TIMEOUT):
    """(tag, payload bytes) of the next frame; None at a clean EOF.
    Raises socket.timeout on timeout, ConnectionResetError on reset."""
    deadline = time.monotonic() + timeout
    head = recv_exact(sock, 4, deadline)
    if head is None:
        return None
    if len(head) < 4:
        raise AssertionError("connection closed inside a frame header")
    (length,) = struct.unpack(">I", head)
    body = recv_exact(sock, length, deadline)
    if body is None or len(body) < length:
        raise AssertionError("connection closed inside a frame body")
    return body[0], body[1:]


def decode_code_reason(payload):
    """For reject/goodbye: (code name, reason str)."""
    (code,) = struct.unpack(">H", payload[:2])
    (n,) = struct.unpack(">I", payload[2:6])
    reason = payload[6:6 + n].decode("utf-8", "replace")
    return CODES.get(code, "internal(%d)" % code), reason


def decode_welcome(payload):
    session, server_time, heartbeat_ms, max_frame = struct.unpack(
        ">QqII", payload)
    return {"session_id": session, "server_time_ns": server_time,
            "heartbeat_ms": heartbeat_ms, "max_frame": max_frame}


def read_until_closed(sock, timeout):
    """Reads frames until the peer closes. Returns (frames, closed) where
    frames is a list of (tag, payload) and closed is True if EOF or reset
    came within `timeout`. Undecodable trailing bytes are ignored."""
    deadline = time.monotonic() + timeout
    frames = []
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return frames, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return frames, False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError,
                ssl.SSLZeroReturnError):
            return frames, True
        except ssl.SSLError as e:
            if "EOF" in str(e) or "closed" in str(e).lower():
                return frames, True
            raise
        if not chunk:
            return frames, True
        buf += chunk
        while len(buf) >= 4:
            (length,) = struct.unpack(">I", buf[:4])
            if len(buf) < 4 + length:
                break
            body = buf[4:4 + length]
            buf = buf[4 + length:]
            if body:
                frames.append((body[0], body[1:]))


def tls_wrap(sock, server):
    """Wraps a connected socket in TLS 1.3, trusting the server's CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # the CA is what we pin
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(server.ca_file)
    return ctx.wrap_socket(sock)


def raw_connect(server, timeout=DEFAULT_TIMEOUT, tls=None):
    """A connection to `server` that speaks frames by hand: in TLS when the
    server uses TLS (or tls=True), plain TCP otherwise (or tls=False)."""
    family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((server.host, server.port))
        if server.tls if tls is None else tls:
            sock = tls_wrap(sock, server)
            sock.settimeout(timeout)
        return sock
    except BaseException:
        sock.close()
        raise


def raw_handshake(server, name, timeout=DEFAULT_TIMEOUT, **hello):
    """Connects, sends a valid hello (with the server's token), returns
    (socket, welcome dict). The caller closes the socket."""
    sock = raw_connect(server, timeout=timeout)
    try:
        hello.setdefault("token", server.token())
        sock.sendall(frame(hello_body(name, **hello)))
        got = recv_frame(sock, timeout=timeout)
        if got is None or got[0] != TAG_WELCOME:
            if got is not None and got[0] in (TAG_REJECT, TAG_GOODBYE):
                got = (got[0], decode_code_reason(got[1]))
            raise AssertionError("expected welcome, got %r" % (got,))
        return sock, decode_welcome(got[1])
    except BaseException:
        sock.close()
        raise


# -- a hand-made node, for testing the server's side of requests -----------

TAG_CHUNK_ACK = 18
TAG_CANCEL = 19
TAG_ENTRIES_CHUNK = 32
TAG_LIST_END = 33
TAG_STAT_REPLY = 34
TAG_REQUEST_FAILED = 35

CODE_OF = {name: value for value, name in CODES.items()}
ENTRY_TYPES = {"file": 0, "dir": 1, "symlink": 2, "other": 3}


def _opt(value, encode):
    return b"\x00" if value is None else b"\x01" + encode(value)


def enc_entry(name, type="file", mtime_ns=0, size=0, items=None, sha256=None,
              target=None, error=None):
    """One `entry` (PROTOCOL.md section 5). error: (code name, message)."""
    if isinstance(name, str):
        name = name.encode()
    return (enc_bytes(name)
            + struct.pack(">BqQ", ENTRY_TYPES[type], mtime_ns, size)
            + _opt(items, lambda v: struct.pack(">Q", v))
            + _opt(sha256, lambda v: bytes(v))
            + _opt(target, enc_bytes)
            + _opt(error, lambda e: struct.pack(">H", CODE_OF[e[0]])
                   + enc_bytes(e[1])))


def entries_chunk_body(req_id, entries):
    return (bytes([TAG_ENTRIES_CHUNK]) + struct.pack(">II", req_id,
                                                     len(entries))
            + b"".join(entries))


def list_end_body(req_id, total, sorted_=True):
    return bytes([TAG_LIST_END]) + struct.pack(">IQB", req_id, total,
                                               1 if sorted_ else 0)


def stat_reply_body(req_id, entry):
    return bytes([TAG_STAT_REPLY]) + struct.pack(">I", req_id) + entry


def request_failed_body(req_id, code, message):
    return (bytes([TAG_REQUEST_FAILED])
            + struct.pack(">IH", req_id, CODE_OF[code]) + enc_bytes(message))


def decode_request(tag, payload):
    """list_request -> (id, path, flags); stat_request -> (id, path, None);
    chunk_ack / cancel -> (id, None, None)."""
    (req_id,) = struct.unpack(">I", payload[:4])
    if tag in (TAG_LIST_REQUEST, TAG_STAT_REQUEST):
        (n,) = struct.unpack(">I", payload[4:8])
        path = payload[8:8 + n]
        flags = payload[8 + n] if tag == TAG_LIST_REQUEST else None
        return req_id, path, flags
    return req_id, None, None


class RawNode:
    """A node written by hand over a socket (TLS when the server uses it).
    Single-threaded: it only reads while a test waits on it, so use a server
    whose heartbeat interval is longer than the test; heartbeats met while
    waiting are answered."""

    def __init__(self, server, name, **hello):
        self.sock, self.welcome = raw_handshake(server, name, **hello)
        self.name = name

    def send(self, body):
        self.sock.sendall(frame(body))

    def next_frame(self, timeout=DEFAULT_TIMEOUT):
        """Next frame other than a heartbeat: (tag, payload), or None when
        the server closed the connection."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("node %s: no frame within %.1f s"
                                     % (self.name, timeout))
            try:
                got = recv_frame(self.sock, timeout=left)
            except socket.timeout:
                continue
            except (ConnectionResetError, ssl.SSLEOFError,
                    ssl.SSLZeroReturnError):
                return None
            if got is None:
                return None
            if got[0] == TAG_HEARTBEAT:
                (seq,) = struct.unpack(">Q", got[1][:8])
                self.send(heartbeat_ack_body(seq))
                continue
            return got

    def expect(self, tag, timeout=DEFAULT_TIMEOUT):
        got = self.next_frame(timeout)
        if got is None or got[0] != tag:
            if got is not None and got[0] in (TAG_GOODBYE, TAG_REJECT):
                got = (got[0], decode_code_reason(got[1]))
            raise AssertionError("node %s: expected frame tag %d, got %r"
                                 % (self.name, tag, got))
        return decode_request(tag, got[1]) if tag in (
            TAG_LIST_REQUEST, TAG_STAT_REQUEST, TAG_CHUNK_ACK,
            TAG_CANCEL) else got[1]

    def quiet_for(self, seconds):
        """Asserts that nothing but heartbeats arrives for `seconds`, and
        that the connection stays open."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                got = recv_frame(self.sock, timeout=left)
            except socket.timeout:
                return
            if got is None:
                raise AssertionError("node %s: connection closed" % self.name)
            if got[0] == TAG_HEARTBEAT:
                (seq,) = struct.unpack(">Q", got[1][:8])
                self.send(heartbeat_ack_body(seq))
                continue
            if got[0] == TAG_GOODBYE:
                got = (got[0], decode_code_reason(got[1]))
            raise AssertionError("node %s: unexpected frame %r"
                                 % (self.name, got))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# -- display names (PROTOCOL.md section 3), computed independently ------------

def escape_name(raw):
    """Expected display form of a raw file-name: well-formed UTF-8 kept,
    backslash doubled, C0/DEL/C1 controls and invalid bytes as \\xNN."""
    if isinstance(raw, str):
        raw = os.fsencode(raw)
    text = raw.decode("utf-8", "surrogateescape")
    out = []
    for ch in text:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte
            out.append("\\x%02x" % (o - 0xDC00))
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif 0x80 <= o <= 0x9F:
            out.append("\\xc2\\x%02x" % o)
        else:
            out.append(ch)
    return "".join(out)


# -- starting processes -------------------------------------------------------

def start_server(workdir, cleanup, args=(), bind="127.0.0.1", port=None,
                 name="server", attempts=5, **kw):
    """Starts a server on a free port (retrying on 'cannot listen') and
    waits until it listens. `cleanup(fn)` registers the kill."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    last = ""
    for attempt in range(attempts):
        p = port if port is not None else free_port(family, bind)
        srv = Server(workdir, p, bind=bind, args=args,
                     name="%s-%d" % (name, attempt) if attempt else name, **kw)
        cleanup(srv.kill)
        if srv.wait_listening():
            return srv
        last = srv.stderr_text()
        srv.kill()
        if "cannot listen" not in last:
            break
        if port is not None:
            time.sleep(0.3)  # a fixed port: wait for it to free up
    raise AssertionError("server failed to start:\n%s" % last)


def start_client(workdir, cleanup, server, root, name, host=None, args=(),
                 proc_name=None, cwd=None):
    """Starts a node. `server` is a Server (its address and the trust and
    token arguments are taken from it) or a bare port."""
    if isinstance(server, Server):
        port = server.port
        host = host or server.host
        args = server.client_args() + list(args)
    else:
        port = server
        host = host or "127.0.0.1"
    p = Process(proc_name or ("client-" + name),
                client_argv(port, root, name, host=host, args=args),
                workdir, stdin=subprocess.DEVNULL, cwd=cwd)
    cleanup(p.kill)
    return p


# -- test base class ----------------------------------------------------------

class SystemTest(unittest.TestCase):
    """Per-test temp dir and process cleanup. Helpers start processes and
    register their cleanup."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="dirscope-sys-")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = self._tmp.name
        self.workdir = os.path.join(self.tmp, "work")
        os.mkdir(self.workdir)

    def make_dir(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def start_server(self, **kw):
        return start_server(self.workdir, self.addCleanup, **kw)

    def start_client(self, server, root, name, **kw):
        return start_client(self.workdir, self.addCleanup, server, root, name,
                            **kw)

    def start_process(self, name, argv, cwd=None):
        p = Process(name, argv, self.workdir, stdin=subprocess.DEVNULL,
                    cwd=cwd)
        self.addCleanup(p.kill)
        return p

    def assertExitsWith(self, proc, expected, timeout=DEFAULT_TIMEOUT):
        rc = proc.wait(timeout=timeout)
        self.assertEqual(rc, expected,
                         "%s exited %r, expected %r\nstderr:\n%s"
                         % (proc.name, rc, expected,
                            proc.stderr_text()[-3000:]))

    def assertExitsNonZero(self, proc, timeout=DEFAULT_TIMEOUT):
        rc = proc.wait(timeout=timeout)
        self.assertNotEqual(rc, 0, "%s exited 0, expected failure\nstderr:\n%s"
                            % (proc.name, proc.stderr_text()[-3000:]))
        self.assertGreater(rc, 0, "%s died of signal %d\nstderr:\n%s"
                           % (proc.name, -rc, proc.stderr_text()[-3000:]))
        return rc
