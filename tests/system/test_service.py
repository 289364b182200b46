#!/usr/bin/env python3
"""System test (issue 8, item 1): `dirscope-server --service` runs without a
console (its stdin is ignored), stops on SIGTERM or SIGINT with exit status
0, and tells every node it is restarting: the nodes keep running and rejoin
a server started again on the same port and state dir."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class ServiceMode(harness.SystemTest):
    def setUp(self):
        super().setUp()
        self.root = self.make_dir("root")
        with open(os.path.join(self.root, "a.txt"), "w") as f:
            f.write("a\n")
        self.node_log = os.path.join(self.tmp, "node.log")

    def joins_in_log(self, server):
        return harness.read_text(server.log_path).count("node web1 joined")

    def start_service(self, port=None):
        kw = {"args": ["--service"], "name": "service"}
        if port is not None:
            kw["port"] = port
        return self.start_server(**kw)

    def stop_service(self, server, sig):
        server.signal(sig)
        self.assertExitsWith(server, 0, timeout=30)
        log = harness.read_text(server.log_path)
        self.assertIn("restarting: saying goodbye to 1 node(s)", log)
        self.assertIn("node web1", log.split("restarting:")[-1])

    def check_restart(self, sig):
        server = self.start_service()
        node = self.start_client(server, self.root, "web1",
                                 args=["--reconnect-min=100ms",
                                       "--reconnect-max=500ms",
                                       "--log-file=" + self.node_log])
        harness.wait_for(lambda: self.joins_in_log(server) == 1, 20,
                         what="web1 joining the service")
        # Commands on stdin are ignored: there is no console.
        server.send("quit")
        time.sleep(0.3)
        self.assertIsNone(server.poll(), "the service read its stdin")
        self.stop_service(server, sig)
        # The node was told the server restarts: it keeps running.
        harness.wait_for(
            lambda: "server restarting" in harness.read_text(self.node_log),
            20, what="the node logging the restart")
        self.assertIsNone(node.poll(), "the node exited on goodbye(restarting)")
        again = self.start_server(port=server.port, name="service2",
                                  args=["--service"],
                                  state_dir=server.state_dir)
        try:
            harness.wait_for(lambda: "node web1 joined"
                             in harness.read_text(again.log_path), 30,
                             what="web1 rejoining the restarted server")
        except AssertionError:
            self.fail("web1 did not rejoin.\nnode log:\n%s\nserver log:\n%s"
                      % (harness.read_text(self.node_log)[-3000:],
                         harness.read_text(again.log_path)[-3000:]))
        self.assertIsNone(node.poll())
        self.stop_service(again, signal.SIGTERM)

    def test_sigterm_restarts_and_nodes_come_back(self):
        self.check_restart(signal.SIGTERM)

    def test_sigint_too(self):
        self.check_restart(signal.SIGINT)

    def test_help_names_service_mode(self):
        out = subprocess.run([harness.server_bin(), "--help"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0)
        self.assertIn("--service", out.stdout)


if __name__ == "__main__":
    harness.main()
