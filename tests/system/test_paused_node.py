#!/usr/bin/env python3
"""System test (issue 9, item 6): a node paused longer than the heartbeat
timeout (SIGSTOP here; a VM pause or heavy swap in life) finds the server's
goodbye(timeout) when it resumes. A timeout is not a dismissal: the node
reconnects with backoff and rejoins under the same name. Only `kick` and a
stopping server end a node.

A short heartbeat (500 ms, 3 misses) makes the pause a few seconds."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HEARTBEAT = ["--heartbeat-interval=500ms", "--heartbeat-misses=3"]


class PausedNode(harness.SystemTest):
    def setUp(self):
        super().setUp()
        self.root = self.make_dir("root")
        with open(os.path.join(self.root, "a.txt"), "w") as f:
            f.write("a\n")
        self.node_log = os.path.join(self.tmp, "node.log")
        self.server = self.start_server(args=HEARTBEAT)

    def start_node(self, name="paused"):
        node = self.start_client(self.server, self.root, name,
                                 args=["--reconnect-min=100ms",
                                       "--reconnect-max=1s",
                                       "--log-file=" + self.node_log])
        self.server.wait_nodes(1, watch=[node])
        return node

    def pause_past_timeout(self, node):
        """SIGSTOPs `node` until the server dropped it for silence, plus a
        moment so that its goodbye(timeout) waits in the node's socket."""
        node.signal(signal.SIGSTOP)
        try:
            harness.wait_for(lambda: self.server.node_names() == [], 20,
                             interval=0.2,
                             what="the server dropping the paused node")
            time.sleep(0.5)
        finally:
            node.signal(signal.SIGCONT)

    def test_a_paused_node_rejoins_under_its_name(self):
        node = self.start_node()
        self.pause_past_timeout(node)
        # Back: the same name, from the same (still running) process.
        deadline = time.monotonic() + 20
        while self.server.node_names() != ["paused"]:
            self.assertIsNone(node.poll(),
                              "the node exited after the pause:\n%s"
                              % harness.read_text(self.node_log)[-3000:])
            self.assertLess(time.monotonic(), deadline,
                            "the node did not come back:\n%s"
                            % harness.read_text(self.node_log)[-3000:])
            time.sleep(0.2)
        self.assertIsNone(node.poll())
        log = harness.read_text(self.node_log)
        self.assertIn("reconnecting in", log)
        self.assertIn("left: the node stopped answering heartbeats",
                      self.server.log_text())
        # It serves again.
        out = self.server.command("ls paused:/")
        self.assertTrue(any("a.txt" in x for x in out), out)

    def test_kick_still_ends_the_node(self):
        node = self.start_node("kicked")
        out = self.server.command("kick kicked")
        self.assertTrue(out and out[0].startswith("kicked kicked"), out)
        self.assertExitsWith(node, 0, timeout=20)
        self.assertEqual(self.server.node_names(), [])


if __name__ == "__main__":
    harness.main()
