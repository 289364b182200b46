#!/usr/bin/env python3
"""System test (issue 9): `nodes` for a fleet. Several real nodes and a few
hundred raw ones (more than one page of rows): rows in name order, the
summary line, name globs, --match, --count, and --json unchanged per row."""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import frame, hello_body  # noqa: E402

REAL = ["web-2", "db-1", "web-1", "cache"]
RAW = 620  # more than one page (500 rows)
JSON_KEYS = {"id", "name", "hostname", "root", "address", "port",
             "connected_since", "last_heartbeat", "policy"}


class NodesFleet(harness.SystemTest):

    def setUp(self):
        super().setUp()
        self.srv = self.start_server(tls=False,
                                     args=["--max-clients=1000",
                                           "--require-token=false"])
        self.nodes = []
        for name in REAL:
            root = self.make_dir("root-" + name)
            self.nodes.append(self.start_client(self.srv, root, name))
        self.srv.wait_nodes(len(REAL), watch=self.nodes, timeout=30)

    def lines(self, command):
        return self.srv.command(command, timeout=30)

    def test_rows_in_name_order_with_a_summary(self):
        out = self.lines("nodes")
        self.assertTrue(out[0].startswith("ID "), out)
        names = [line.split()[1] for line in out[1:-1]]
        self.assertEqual(names, sorted(REAL))
        self.assertEqual(out[-1], "4 nodes: 4 up, 0 late")

    def test_globs_match_and_count(self):
        out = self.lines("nodes web*")
        self.assertEqual([x.split()[1] for x in out[1:-1]], ["web-1", "web-2"])
        self.assertEqual(out[-1], "2 of 4 nodes match: 2 up, 0 late")
        out = self.lines("nodes 'db-?' cache")
        self.assertEqual([x.split()[1] for x in out[1:-1]], ["cache", "db-1"])
        # "DB-": the temp dir's random letters (in every root) may hold "db".
        out = self.lines("nodes --match DB-")
        self.assertEqual([x.split()[1] for x in out[1:-1]], ["db-1"])
        # --match looks at the root too (each node serves root-NAME).
        out = self.lines("nodes --match root-web --count")
        self.assertEqual(out, ["2 of 4 nodes match: 2 up, 0 late"])
        self.assertEqual(self.lines("nodes --count"),
                         ["4 nodes: 4 up, 0 late"])
        self.assertEqual(self.lines("nodes nomatch*"),
                         ["0 of 4 nodes match: 0 up, 0 late"])
        got = self.srv.command_json("nodes web* --count --json")
        self.assertEqual(got, [{"matching": 2, "total": 4, "up": 2,
                                "late": 0, "joining": 0}])
        help_text = "\n".join(self.lines("help nodes"))
        self.assertIn("--match T", help_text)
        self.assertIn("hostname", help_text)

    def test_json_rows_over_several_pages(self):
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        names = ["raw-%04d" % i for i in range(RAW)]
        for name in names:
            sock = harness.raw_connect(self.srv, timeout=10, tls=False)
            socks.append(sock)
            sock.sendall(frame(hello_body(name)))
        for sock in socks:
            tag, _ = harness.recv_frame(sock, timeout=20)
            self.assertEqual(tag, harness.TAG_WELCOME)
        rows = self.srv.command_json("nodes --json", timeout=30)
        got = [x["name"] for x in rows]
        self.assertEqual(got, sorted(names + REAL))
        for x in rows:
            self.assertTrue(JSON_KEYS <= set(x), x)
        out = self.lines("nodes")
        self.assertEqual(len(out), 1 + RAW + len(REAL) + 1)
        self.assertEqual(out[-1], "%d nodes: %d up, 0 late"
                         % (RAW + 4, RAW + 4))
        # Columns line up across pages: every NAME starts where the
        # header says.
        col = out[0].index("NAME")
        for line in out[1:-1]:
            self.assertNotEqual(line[col], " ", line)
            self.assertEqual(line[col - 1], " ", line)
        out = self.lines("nodes raw-00* --count")
        self.assertEqual(out, ["100 of %d nodes match: 100 up, 0 late"
                               % (RAW + 4)])


if __name__ == "__main__":
    harness.main()
