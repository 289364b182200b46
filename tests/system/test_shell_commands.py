#!/usr/bin/env python3
"""System test: the interactive shell against real and hand-made nodes
(issue 11): Ctrl-C cancels every command that waits (stat, du, rm, cd,
tree, wait-nodes) on the node too and says "cancelled" once; durations the
operator types are checked; rm asks the node's policy first; cd follows an
in-root symlink as ls does; put --all notifies only nodes that got the file;
non-ASCII characters typed at the prompt arrive intact.

The server runs on a pty (an interactive shell; Ctrl-C is a SIGINT to it),
with stderr on the same pty so errors are seen wherever they are routed.
"""

import os
import pty
import re
import signal
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RawNode  # noqa: E402
from test_cancel import PtyServer  # noqa: E402

# Heartbeats far apart: a RawNode only reads while a test waits on it.
SERVER_ARGS = ["--heartbeat-interval=30s", "--request-timeout=30s"]
TAG_DU_REQUEST = 20
TAG_REMOVE_REQUEST = 21
TAG_DU_REPLY = 36
ALL_POLICIES = 0x3F  # list, stat, hash, download, upload, delete
READ_ONLY = 0x07


def node_text(proc):
    """What a node printed and logged."""
    return proc.stderr_text() + harness.read_text(proc.stdout_path)


def shell_text(text):
    """The shell's own output: without log lines (stderr is on the pty)."""
    return "\n".join(x for x in text.splitlines()
                     if not re.match(r"\d{4}-\d\d-\d\dT", x))


def request_id(payload):
    return struct.unpack(">I", payload[:4])[0]


def du_reply_body(req_id, type_, size, files, dirs):
    return bytes([TAG_DU_REPLY]) + struct.pack(">IBQQQ", req_id, type_, size,
                                               files, dirs)


class ShellCommandTests(harness.SystemTest):

    def start(self, env=None):
        self.srv = PtyServer(self, self.workdir, SERVER_ARGS, env=env,
                             stderr_to_pty=True)
        # Keys typed before libedit takes the terminal may be dropped.
        self.srv.wait_output("dirscope> ")
        return self.srv

    def run_line(self, line, expect, timeout=20):
        """Types `line`, waits for `expect` in what follows, returns it."""
        mark = len(self.srv.output())
        self.srv.type(line)
        self.srv.wait_output(expect, since=mark, timeout=timeout)
        return self.srv.output()[mark:]

    def raw_node(self, name, capabilities=ALL_POLICIES):
        node = RawNode(self.srv, name, capabilities=capabilities)
        self.addCleanup(node.close)
        return node

    def ctrl_c(self, mark):
        """SIGINT; returns the output since `mark` once it says cancelled."""
        self.srv.proc.send_signal(signal.SIGINT)
        self.srv.wait_output("cancelled", since=mark)
        # The next prompt: the shell is ready again.
        self.srv.wait_output("dirscope>", since=self.srv.output().rindex(
            "cancelled"))
        return self.srv.output()[mark:]

    def assert_cancelled_once(self, text):
        shown = shell_text(text)
        self.assertEqual(len(re.findall(r"^cancelled\r?$", shown, re.M)), 1,
                         text)
        self.assertNotIn("error", shown)
        self.assertNotIn("unreadable", shown)

    def test_ctrl_c_cancels_every_waiting_command_on_the_node_too(self):
        self.start()
        node = self.raw_node("raw")
        cases = [("stat raw:/x", harness.TAG_STAT_REQUEST),
                 ("cd raw:/d", harness.TAG_STAT_REQUEST),
                 ("du raw:/x", TAG_DU_REQUEST),
                 ("rm -y raw:/x", TAG_DU_REQUEST),
                 ("ls raw:/", harness.TAG_LIST_REQUEST),
                 ("tree raw:/", harness.TAG_LIST_REQUEST)]
        for line, tag in cases:
            with self.subTest(line=line):
                mark = len(self.srv.output())
                self.srv.type(line)
                got = node.expect(tag)
                req_id = got[0] if isinstance(got, tuple) else request_id(got)
                text = self.ctrl_c(mark)
                self.assert_cancelled_once(text)
                cancel_id, _, _ = node.expect(harness.TAG_CANCEL)
                self.assertEqual(cancel_id, req_id)
                if line.startswith("tree"):
                    # The walk stops: no further listing is asked for.
                    node.quiet_for(0.5)

        # rm while the node deletes: the remove_request is cancelled.
        mark = len(self.srv.output())
        self.srv.type("rm -y raw:/f")
        du_id = request_id(node.expect(TAG_DU_REQUEST))
        node.send(du_reply_body(du_id, 0, 5, 1, 0))
        rm_id = request_id(node.expect(TAG_REMOVE_REQUEST))
        self.assert_cancelled_once(self.ctrl_c(mark))
        cancel_id, _, _ = node.expect(harness.TAG_CANCEL)
        self.assertEqual(cancel_id, rm_id)

        # wait-nodes: cancelled, and the shell works on.
        mark = len(self.srv.output())
        self.srv.type("wait-nodes 5 --timeout 1h")
        # Typed and accepted (libedit ends the line) before the SIGINT.
        self.srv.wait_output("1h\r\n", since=mark)
        self.assert_cancelled_once(self.ctrl_c(mark))
        self.run_line("wait-nodes 1", "1 node(s) connected")
        self.srv.type("quit")
        self.assertEqual(self.srv.proc.wait(timeout=10), 0)

    def test_typed_durations_are_checked(self):
        self.start()
        out = self.run_line("wait-nodes 1 --timeout 1e12", "too large")
        self.assertIn("--timeout value too large: '1e12'", out)
        out = self.run_line("wait-nodes 1 --timeout 90000", "at most")
        self.assertIn("--timeout must be at most 24h", out)

    def test_rm_asks_the_policy_first(self):
        self.start()
        # rm on a read-only node: refused at once, nothing asked.
        node = self.raw_node("ro", capabilities=READ_ONLY)
        out = self.run_line("rm ro:/x", "not permitted by node policy")
        self.assertNotIn("[y/N]", out)
        node.quiet_for(0.3)

    def test_cd_follows_in_root_symlinks_like_ls(self):
        self.start()
        root = self.make_dir("root")
        os.mkdir(os.path.join(root, "real"))
        with open(os.path.join(root, "real", "inside.txt"), "w") as f:
            f.write("x")
        os.symlink("real", os.path.join(root, "link"))
        outside = self.make_dir("outside")
        os.symlink(outside, os.path.join(root, "out"))
        self.start_real_node(root, "n1")
        self.run_line("wait-nodes 1", "1 node(s) connected")
        self.run_line("ls n1:/link", "inside.txt")
        self.run_line("cd n1:/link", "dirscope n1:/link>")
        self.run_line("ls", "inside.txt")
        out = self.run_line("cd n1:/out", "error")
        self.assertIn("outside_root", out)
        self.run_line("pwd", "n1:/link\r\n")

    def test_put_all_notifies_only_nodes_that_got_the_file(self):
        self.start()
        up = self.start_real_node(self.make_dir("up"), "up",
                                  ["--allow-upload"])
        ro = self.start_real_node(self.make_dir("ro"), "ro")
        self.run_line("wait-nodes 2", "2 node(s) connected")
        src = os.path.join(self.tmp, "new.txt")
        with open(src, "w") as f:
            f.write("hello\n")
        out = self.run_line("put --all %s /" % src, "on 1 of 2 nodes")
        self.assertIn("up: ok", out)
        self.assertIn("not_permitted", out)
        harness.wait_for(lambda: "new file available: /new.txt"
                         in node_text(up), 10, what="notice on up")
        # Notices reach a node in order: once "marker" is there, a notice
        # about the file would be too.
        self.run_line("broadcast marker", "notice sent to 2 nodes")
        harness.wait_for(lambda: "marker" in node_text(ro), 10,
                         what="marker on ro")
        self.assertNotIn("new file available", node_text(ro))

    def test_non_ascii_keys_reach_the_shell(self):
        # No locale at all in the environment: the shell still takes UTF-8.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("LC_") and k != "LANG"}
        env["HOME"] = self.workdir
        self.start(env=env)
        root = self.make_dir("root")
        with open(os.path.join(root, "café.txt"), "w") as f:
            f.write("x")
        self.start_real_node(root, "n1")
        self.run_line("wait-nodes 1", "1 node(s) connected")
        out = self.run_line("stat n1:/café.txt", "dirscope>")
        self.assertIn("path: /café.txt", out)
        self.assertNotIn("caf.txt", out)
        out = self.run_line("frobnicé", "unknown command")
        self.assertIn("unknown command 'frobnicé'", out)

    def test_an_echo_does_not_break_the_line_being_typed(self):
        self.start()
        root = self.make_dir("root")
        with open(os.path.join(root, "x"), "w") as f:
            f.write("x")
        # The node's stdin is a terminal: lines typed there become echoes.
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        self.start_real_node(root, "n1", stdin=slave)
        os.close(slave)
        self.run_line("wait-nodes 1", "1 node(s) connected")
        self.srv.wait_output("dirscope> ", since=len(self.srv.output()) - 10)
        mark = len(self.srv.output())
        self.srv.write("stat n1:/")  # half a line, no Enter
        self.srv.wait_output("stat n1:/", since=mark)
        os.write(master, b"hello from n1\n")
        self.srv.wait_output("[n1] hello from n1", since=mark)
        # The echo sits on a line of its own, then the prompt and the typed
        # text are drawn again.
        self.srv.wait_output("dirscope> stat n1:/", since=self.srv.output()
                             .index("[n1] hello from n1", mark))
        shown = self.srv.output()[mark:]
        self.assertNotIn("n1:/[n1]", shown)
        self.srv.type("x")  # completes the line: "stat n1:/x"
        self.srv.wait_output("path: /x", since=mark)

    def start_real_node(self, root, name, args=(), stdin=subprocess.DEVNULL):
        argv = harness.client_argv(self.srv.port, root, name,
                                   args=self.srv.client_args()
                                   + ["--reconnect-min=200ms"] + list(args))
        node = harness.Process("client-" + name, argv, self.workdir,
                               stdin=stdin)
        self.addCleanup(node.kill)
        return node


if __name__ == "__main__":
    harness.main()
