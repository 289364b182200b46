#!/usr/bin/env python3
"""System test: Ctrl-C in the interactive shell cancels the running
command (issue 4, part 3).

The server runs on a pty (so its shell is interactive): SIGINT during a
1 GiB `get`, a 1 GiB `put` and a `put -r` makes the shell say "cancelled"
and stay up; no temporary file or directory is left on either side; `nodes`
still works; SIGINT at an idle prompt only prints a hint; `quit` stops it.
Without a terminal SIGINT still stops the server with exit 0.
"""

import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--request-timeout=30s"]
CLIENT_ARGS = ["--reconnect-min=200ms", "--allow-download", "--allow-upload"]


def everything(top):
    result = []
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            result.append(os.path.relpath(os.path.join(dirpath, n), top))
    return sorted(result)


class PtyServer:
    """dirscope-server with its stdin and stdout on a pty."""

    def __init__(self, test, workdir, args, env=None, stderr_to_pty=False):
        port = harness.free_port()
        self.port = port
        self.host = "127.0.0.1"
        self.tls = harness.server_has("tls")
        self.state_dir = os.path.join(workdir, "state")
        self.log_path = os.path.join(workdir, "server.log")
        self.stderr_path = os.path.join(workdir, "server.stderr")
        argv = [harness.server_bin(), "--state-dir=" + self.state_dir,
                "--bind", "127.0.0.1", "--port", str(port),
                "--log-file=" + self.log_path] + list(args)
        if harness.server_has("api") and not any(
                str(a).startswith("--api") for a in args):
            argv.append("--api=false")  # never the fixed default port
        self.master, slave = pty.openpty()
        self._err = open(self.stderr_path, "wb")
        if env is None:
            # Never the user's real ~/.dirscope_history.
            env = dict(os.environ, HOME=workdir)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave,
                                     stderr=slave if stderr_to_pty
                                     else self._err, env=env,
                                     start_new_session=True)
        os.close(slave)
        test.addCleanup(self.kill)
        self.text = ""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        # Interactive: the log goes to the log file only.
        harness.wait_for(lambda: "listening on"
                         in harness.read_text(self.log_path), 10,
                         what="server listening")

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.text += data.decode("utf-8", "replace")

    def output(self):
        with self.lock:
            return self.text

    def type(self, line):
        os.write(self.master, (line + "\r").encode())

    def write(self, text):
        """Keys without Enter."""
        os.write(self.master, text.encode())

    def wait_output(self, what, since=0, timeout=20):
        harness.wait_for(lambda: what in self.output()[since:], timeout,
                         what=repr(what) + " in " + repr(self.output()[-500:]))

    client_args = harness.Server.client_args
    ca_file = harness.Server.ca_file
    token_file = harness.Server.token_file
    token = harness.Server.token

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._err.close()
        try:
            os.close(self.master)
        except OSError:
            pass


class CancelTest(harness.SystemTest):

    def test_ctrl_c_cancels_transfers_and_the_shell_stays_up(self):
        dl = os.path.join(self.tmp, "downloads")
        server = PtyServer(self, self.workdir,
                           SERVER_ARGS + ["--download-dir=" + dl])
        root = self.make_dir("root")
        argv = harness.client_argv(server.port, root, "n1",
                                   args=server.client_args() + CLIENT_ARGS)
        client = harness.Process("client-n1", argv, self.workdir,
                                 stdin=subprocess.DEVNULL)
        self.addCleanup(client.kill)
        with open(os.path.join(root, "big"), "wb") as f:
            f.truncate(1 << 30)
        os.mkdir(os.path.join(root, "tree"))
        with open(os.path.join(root, "tree", "zeros"), "wb") as f:
            f.truncate(4 << 30)
        node_files = ["big", "tree", os.path.join("tree", "zeros")]
        src = self.make_dir("src")
        with open(os.path.join(src, "big"), "wb") as f:
            f.truncate(1 << 30)
        os.mkdir(os.path.join(src, "tree"))
        with open(os.path.join(src, "tree", "zeros"), "wb") as f:
            f.truncate(4 << 30)
        mark = len(server.output())
        server.type("wait-nodes 1")
        server.wait_output("1 node", since=mark)

        # A download: the node stops sending, nothing lands locally.
        mark = len(server.output())
        server.type("get n1:/big")
        harness.wait_for(lambda: "sending /big" in client.stderr_text(), 10,
                         what="download start")
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGINT)
        server.wait_output("\ncancelled", since=mark)
        self.assertNotIn("error:", server.output()[mark:])
        self.assertIsNone(server.proc.poll())
        harness.wait_for(lambda: re.search(r"download \d+ cancelled by the "
                                           "server", client.stderr_text()), 5,
                         what="node saw the cancel: %s\n%s" % (
                             client.stderr_text()[-1500:],
                             server.output()[-1500:]))
        self.assertEqual(everything(dl) if os.path.exists(dl) else [],
                         ["n1"] if os.path.exists(os.path.join(dl, "n1"))
                         else [])

        # A tree download: its temporary directory goes away.
        mark = len(server.output())
        server.type("get n1:/tree")
        harness.wait_for(lambda: "sending tree /tree" in client.stderr_text(),
                         10, what="tree download start")
        harness.wait_for(lambda: any(".dirscope-upload" in x
                                     for x in everything(dl)), 10,
                         what="server temporary directory")
        server.proc.send_signal(signal.SIGINT)
        server.wait_output("\ncancelled", since=mark)
        # The directory the get made goes with it (issue 10).
        self.assertEqual(everything(dl) if os.path.exists(dl) else [], [])

        # An upload and a tree upload: the node drops its temporary files.
        for line, marker in (("put %s/big n1:/up" % src, "receiving /up"),
                             ("put -r %s/tree n1:/t" % src,
                              "receiving tree /t")):
            mark = len(server.output())
            server.type(line)
            harness.wait_for(lambda: marker in client.stderr_text(), 10,
                             what="upload start")
            time.sleep(0.5)
            server.proc.send_signal(signal.SIGINT)
            server.wait_output("cancelled", since=mark)
            harness.wait_for(lambda: everything(root) == node_files, 10,
                             what="node temporary files gone: %r"
                             % everything(root))

        # The shell is still up and works.
        mark = len(server.output())
        server.type("nodes")
        server.wait_output("n1", since=mark)
        # Idle: a hint, no exit.
        mark = len(server.output())
        server.proc.send_signal(signal.SIGINT)
        server.wait_output("type quit", since=mark)
        time.sleep(0.3)
        self.assertIsNone(server.proc.poll())
        server.type("quit")
        try:
            self.assertEqual(server.proc.wait(timeout=10), 0)
        except subprocess.TimeoutExpired:
            self.fail("quit did not stop the server: %r\n%s"
                      % (server.output()[-300:],
                         harness.read_text(server.log_path)[-3000:]))

    def test_sigint_without_a_terminal_still_quits(self):
        server = self.start_server(args=SERVER_ARGS)
        self.start_client(server, self.make_dir("root"), "n1")
        server.wait_nodes(1)
        server.signal(signal.SIGINT)
        self.assertExitsWith(server, 0)


if __name__ == "__main__":
    harness.main()
