#!/usr/bin/env python3
"""System test: Tab completion in the interactive shell (issue 7 item 7).

The server runs on a pty with libedit; real nodes on loopback. Tab
completes command names, node names (with the ':'), remote directories
(with the '/') and files, names that need a backslash before a space or a
\\xNN escape, and names relative to the working directory after `use`.
Each completed line is then run, so the check is what the command did,
not how the terminal drew it.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_cancel import PtyServer  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--request-timeout=30s"]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class CompletionTest(harness.SystemTest):

    def setUp(self):
        super().setUp()
        root = self.make_dir("root")
        write(os.path.join(root, "etc", "motd"), b"hello\n")
        write(os.path.join(root, "etc", "hostname"), b"web1\n")
        write(os.path.join(root, "with space", "inner.txt"), b"inner\n")
        write(os.fsencode(root) + b"/caf\xe9.txt", b"latin-1 name\n")
        self.srv = PtyServer(self, self.workdir, SERVER_ARGS,
                             env=dict(os.environ, HOME=self.workdir))
        self.srv.wait_output("dirscope> ")
        for name, top in [("web1", root), ("db2", self.make_dir("other"))]:
            self.start_client(self.srv.port, top, name,
                              args=self.srv.client_args()
                              + ["--allow-download"])
        for _ in range(100):
            if "2 nodes: 2 up" in self.keys("nodes", "dirscope> "):
                break
            time.sleep(0.2)
        else:
            self.fail("the two nodes did not join")

    def keys(self, keys, expect, *shown):
        """Types `keys` (Tab as \\t) and Enter; returns the output once
        `expect` is in it, and checks that each of `shown` is too."""
        out = harness.type_keys(self.srv, keys, expect)
        for text in shown:
            self.assertIn(text, out)
        return out

    def runs_clean(self, keys, expect, *shown):
        """keys(), and the command said no error."""
        self.assertNotIn("error", self.keys(keys, expect, *shown))

    def test_command_and_node_names(self):
        # "hel" -> "help", "tre" -> "tree": the command runs.
        self.keys("hel\t", "Commands", "help")
        # "we" is only web1: "web1:" and no space, so the path follows.
        self.runs_clean("ls we\t/et\t", "hostname", "motd")

    def test_names_that_need_escapes(self):
        self.runs_clean("ls web1:/wi\t", "inner.txt")
        self.runs_clean("stat web1:/ca\t", "sha256", "caf\\xe9.txt")

    def test_relative_to_the_working_directory(self):
        self.keys("use web1", "using node web1")
        self.keys("cd et\t", "dirscope")
        self.runs_clean("pwd", "web1:/etc")
        self.runs_clean("cat mo\t", "hello")


if __name__ == "__main__":
    harness.main()
