#!/usr/bin/env python3
"""System test: how servers and nodes start, stop, lose each other and
come back, as README.md promises (exit codes, goodbyes, reconnects)."""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--heartbeat-misses=3",
               "--handshake-timeout=2s", "--request-timeout=5s"]
NO_RECONNECT = ["--reconnect=false"]
FAST_RECONNECT = ["--reconnect-min=200ms", "--reconnect-max=500ms"]


class Lifecycle(harness.SystemTest):
    def setUp(self):
        super().setUp()
        self.root = self.make_dir("root")
        with open(os.path.join(self.root, "hello.txt"), "w") as f:
            f.write("hello\n")
        os.mkdir(os.path.join(self.root, "d"))

    def server_with_nodes(self, specs):
        """specs: list of (name, extra client args). Returns (server,
        {name: client})."""
        srv = self.start_server(args=SERVER_ARGS)
        clients = {name: self.start_client(srv, self.root, name,
                                           args=args)
                   for name, args in specs}
        srv.wait_nodes(len(specs), watch=list(clients.values()))
        self.assertEqual(srv.node_names(), sorted(clients))
        return srv, clients

    def assert_ls_works(self, srv, node):
        got = srv.command_json("ls --json %s:/" % node)
        self.assertEqual(sorted(x["name"] for x in got), ["d", "hello.txt"],
                         "ls %s:/ failed" % node)

    def wait_node_gone(self, srv, name, timeout):
        harness.wait_for(lambda: name not in srv.node_names(timeout=5),
                         timeout, interval=0.1,
                         what="node %s to leave the table" % name)

    # -- the operator ends sessions

    def test_kick_ends_that_node_only(self):
        # n1 would reconnect after a lost connection; a kick must end it.
        srv, c = self.server_with_nodes([("n1", FAST_RECONNECT),
                                         ("n2", NO_RECONNECT)])
        out = srv.command("kick n1")
        self.assertEqual(len(out), 1, out)
        self.assertTrue(out[0].startswith("kicked n1 ("), out)
        self.assertExitsWith(c["n1"], 0, timeout=5)
        self.assertIn("kicked", c["n1"].stderr_text())
        self.assertEqual(srv.node_names(), ["n2"])
        self.assert_ls_works(srv, "n2")
        time.sleep(0.7)  # longer than n1's reconnect delay: it stays away
        self.assertEqual(srv.node_names(), ["n2"])
        self.assertTrue(c["n2"].running())
        out = srv.command("kick n1")
        self.assertTrue(len(out) == 1 and out[0].startswith("error:"), out)
        out = srv.command("ls n1:/")
        self.assertTrue(len(out) == 1 and out[0].startswith("error:"), out)

    def check_server_stop(self, stop):
        srv, c = self.server_with_nodes([("n1", NO_RECONNECT),
                                         ("n2", FAST_RECONNECT)])
        self.assert_ls_works(srv, "n1")
        stop(srv)
        self.assertExitsWith(srv, 0, timeout=5)
        # Both exit 0, including the one that would reconnect after a loss.
        self.assertExitsWith(c["n1"], 0, timeout=5)
        self.assertExitsWith(c["n2"], 0, timeout=5)
        # Each node was told why (goodbye(shutdown)), not just cut off.
        for proc in c.values():
            self.assertIn("shutdown", proc.stderr_text())
        return srv, c

    def test_quit(self):
        def stop(srv):
            srv.send("quit")
        self.check_server_stop(stop)

    def test_exit_alias(self):
        self.check_server_stop(lambda srv: srv.send("exit"))

    def test_end_of_stdin(self):
        self.check_server_stop(lambda srv: srv.close_stdin())

    def test_sigterm_server(self):
        self.check_server_stop(lambda srv: srv.signal(signal.SIGTERM))

    def test_sigint_server(self):
        self.check_server_stop(lambda srv: srv.signal(signal.SIGINT))

    def test_quit_runs_after_queued_commands(self):
        srv, c = self.server_with_nodes([("n1", NO_RECONNECT)])
        # One write: the server may be gone (quit is fast) before a third
        # write could reach it, which broke the pipe in a clean-clone CI.
        srv.send("ls --json n1:/\nquit\nls --json n1:/")  # the 2nd ls never runs
        lines = []
        for _ in range(10):
            line = srv.read_line(timeout=5)
            if line is None:
                break
            lines.append(line)
        self.assertEqual(len(lines), 2, lines)
        self.assertExitsWith(srv, 0, timeout=5)
        self.assertExitsWith(c["n1"], 0, timeout=5)

    # -- nodes leave

    def test_sigint_and_sigterm_client(self):
        srv, c = self.server_with_nodes([("n1", FAST_RECONNECT),
                                         ("n2", FAST_RECONNECT),
                                         ("n3", NO_RECONNECT)])
        c["n1"].signal(signal.SIGINT)
        self.assertExitsWith(c["n1"], 0, timeout=5)
        self.wait_node_gone(srv, "n1", timeout=2)
        c["n2"].signal(signal.SIGTERM)
        self.assertExitsWith(c["n2"], 0, timeout=5)
        self.wait_node_gone(srv, "n2", timeout=2)
        self.assertEqual(srv.node_names(), ["n3"])
        self.assert_ls_works(srv, "n3")

    def test_kill9_client(self):
        srv, c = self.server_with_nodes([("n1", NO_RECONNECT),
                                         ("n2", NO_RECONNECT)])
        start = time.monotonic()
        c["n1"].signal(signal.SIGKILL)
        c["n1"].wait(timeout=5)
        # TCP closes at once: no need to wait for missed heartbeats (3 s).
        self.wait_node_gone(srv, "n1", timeout=2)
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertEqual(srv.node_names(), ["n2"])
        self.assert_ls_works(srv, "n2")
        out = srv.command("ls n1:/")
        self.assertTrue(len(out) == 1 and out[0].startswith("error:"), out)

    def test_kill9_server_and_reconnect(self):
        srv, c = self.server_with_nodes([("once", NO_RECONNECT),
                                         ("again", FAST_RECONNECT)])
        port = srv.port
        srv.signal(signal.SIGKILL)
        srv.wait(timeout=5)
        rc = self.assertExitsNonZero(c["once"], timeout=5)
        self.assertEqual(rc, 1, c["once"].stderr_text())
        self.assertTrue(c["again"].running(),
                        "a reconnecting node exited: %s"
                        % c["again"].stderr_text())
        time.sleep(0.6)  # it keeps trying while no server is there
        self.assertTrue(c["again"].running())
        new = self.start_server(args=SERVER_ARGS, port=port, name="server2",
                                attempts=20)
        new.wait_nodes(1, timeout=10, watch=[c["again"]])
        self.assertEqual(new.node_names(), ["again"])
        self.assert_ls_works(new, "again")
        new.send("quit")
        self.assertExitsWith(new, 0, timeout=5)
        self.assertExitsWith(c["again"], 0, timeout=5)

    def test_many_nodes_then_quit(self):
        specs = [("m%02d" % i, NO_RECONNECT if i % 2 else FAST_RECONNECT)
                 for i in range(12)]
        srv, c = self.server_with_nodes(specs)
        self.assertEqual(len({x["id"] for x in srv.nodes()}), 12)
        for name in ("m00", "m07", "m11"):
            self.assert_ls_works(srv, name)
        srv.send("quit")
        self.assertExitsWith(srv, 0, timeout=8)
        for name, proc in c.items():
            self.assertExitsWith(proc, 0, timeout=5)

    # -- stopping in the middle of a request

    def slow_tree(self):
        """A directory whose listing takes long: hashing a sparse 64 GiB
        file reads 64 GiB of zeros (40 s and more at ~1.5 GB/s). No disk
        is used; the node is killed at clean-up if still hashing."""
        slow = self.make_dir("slow")
        with open(os.path.join(slow, "huge.bin"), "wb") as f:
            f.truncate(64 * 1024 ** 3)
        return slow

    # PRODUCT BUG (reported): a node that is hashing a large file does not
    # exit on SIGTERM or when the server says goodbye until the hash is
    # done: it logs "stopped" at once but the process lingers for the rest
    # of the hash (17 s for 4 GiB on a loaded machine, minutes for bigger
    # files). The two tests below fail until hashing can be interrupted.

    def test_sigterm_server_during_request(self):
        srv = self.start_server(args=SERVER_ARGS)
        node = self.start_client(srv, self.slow_tree(), "slow",
                                 args=NO_RECONNECT)
        srv.wait_nodes(1, watch=[node])
        srv.send("ls --json slow:/")
        time.sleep(0.3)
        start = time.monotonic()
        srv.signal(signal.SIGTERM)
        self.assertExitsWith(srv, 0, timeout=3)
        self.assertExitsWith(node, 0, timeout=3)
        self.assertLess(time.monotonic() - start, 3.5)

    def test_sigterm_client_during_request(self):
        srv, c = self.server_with_nodes([("n1", NO_RECONNECT)])
        node = self.start_client(srv, self.slow_tree(), "slow",
                                 args=NO_RECONNECT)
        srv.wait_nodes(2, watch=[node])
        srv.send("ls --json slow:/")
        time.sleep(0.3)
        start = time.monotonic()
        node.signal(signal.SIGTERM)
        _, line = srv.read_until(lambda x: True, timeout=3)
        self.assertTrue(line.startswith("error:"), line)
        self.assertExitsWith(node, 0, timeout=3)
        self.assertLess(time.monotonic() - start, 3.5)
        self.wait_node_gone(srv, "slow", timeout=2)
        self.assert_ls_works(srv, "n1")

    # -- nodes that never get in

    def test_duplicate_name_rejected(self):
        srv, c = self.server_with_nodes([("n1", NO_RECONNECT)])
        for i, args in enumerate((NO_RECONNECT, FAST_RECONNECT)):
            dup = self.start_client(srv, self.root, "n1", args=args,
                                    proc_name="dup%d" % i)
            # A rejected node exits 1, even when it would reconnect.
            self.assertExitsWith(dup, 1, timeout=5)
            text = dup.stderr_text() + srv.stderr_text()
            self.assertRegex(text.lower(), r"name.{0,3}taken|taken",
                             "no word that the name is taken:\n" + text)
            self.assertIn("taken", dup.stderr_text().lower(),
                          "the rejected client does not say why")
        # The original is unharmed.
        nodes = srv.nodes()
        self.assertEqual([x["name"] for x in nodes], ["n1"])
        self.assertTrue(c["n1"].running())
        self.assert_ls_works(srv, "n1")

    def test_server_full(self):
        srv = self.start_server(args=SERVER_ARGS + ["--max-clients=1"])
        first = self.start_client(srv, self.root, "first",
                                  args=NO_RECONNECT)
        srv.wait_nodes(1, watch=[first])
        # Rejected: exit 1 even with reconnect on, and say why.
        extra = self.start_client(srv, self.root, "extra",
                                  args=FAST_RECONNECT)
        self.assertExitsWith(extra, 1, timeout=5)
        self.assertIn("full", extra.stderr_text().lower())
        self.assertEqual(srv.node_names(), ["first"])
        # A freed place can be taken.
        out = srv.command("kick first")
        self.assertTrue(out[0].startswith("kicked first"), out)
        again = self.start_client(srv, self.root, "extra", args=NO_RECONNECT,
                                  proc_name="again")
        srv.wait_nodes(1, watch=[again])
        self.assertEqual(srv.node_names(), ["extra"])

    def test_closed_port(self):
        port = harness.free_port()
        start = time.monotonic()
        cl = self.start_client(port, self.root, "lonely",
                               args=NO_RECONNECT
                               + harness.unreachable_client_args())
        rc = self.assertExitsNonZero(cl, timeout=5)
        self.assertEqual(rc, 1, cl.stderr_text())
        self.assertLess(time.monotonic() - start, 5)

    def test_wait_nodes_timeout(self):
        srv, c = self.server_with_nodes([("n1", NO_RECONNECT)])
        start = time.monotonic()
        out = srv.command("wait-nodes 3 --timeout 1", timeout=10)
        elapsed = time.monotonic() - start
        self.assertEqual(len(out), 1, out)
        self.assertTrue(out[0].startswith("error:"), out)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5)
        # The shell goes on.
        self.assertEqual(srv.node_names(), ["n1"])
        self.assert_ls_works(srv, "n1")
        out = srv.command("wait-nodes 1 --timeout 1")
        self.assertEqual(out, ["1 node(s) connected"])

    def test_wait_nodes_wakes_on_join(self):
        srv = self.start_server(args=SERVER_ARGS)
        srv.send("wait-nodes 1 --timeout 20")
        time.sleep(0.5)
        start = time.monotonic()
        self.start_client(srv, self.root, "late", args=NO_RECONNECT)
        line = srv.read_line(timeout=10)
        self.assertEqual(line, "1 node(s) connected")
        self.assertLess(time.monotonic() - start, 5)


if __name__ == "__main__":
    harness.main()
