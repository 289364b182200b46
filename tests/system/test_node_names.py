#!/usr/bin/env python3
"""System test: node names that could pass for node ids ("17") or that are
"." / ".." are refused by the server at the hello and by the client at
start, with a reason that says why (issue 11)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CONFUSABLE = (b"17", b"0", b"007", b".", b"..", b"--all")


class NodeNameTests(harness.SystemTest):
    def test_server_rejects_confusable_names(self):
        srv = self.start_server()
        for bad in CONFUSABLE:
            sock = harness.raw_connect(srv, timeout=5)
            self.addCleanup(sock.close)
            sock.sendall(harness.frame(harness.hello_body(
                bad, token=srv.token())))
            frames, closed = harness.read_until_closed(sock, 5)
            self.assertTrue(closed, bad)
            self.assertEqual([t for t, _ in frames], [harness.TAG_REJECT],
                             (bad, frames))
            code, reason = harness.decode_code_reason(frames[0][1])
            self.assertEqual(code, "bad_request", bad)
            self.assertIn("invalid node name", reason, bad)
        self.assertEqual(srv.nodes(), [])
        # Digits beside other characters are a name like any other.
        node = harness.RawNode(srv, "17a")
        self.addCleanup(node.close)
        self.assertIn("17a", srv.node_names())

    def test_client_refuses_confusable_names(self):
        srv = self.start_server()
        root = self.make_dir("root")
        for bad, why in (("17", "digits"), (".", "'.' or '..'"),
                         ("..", "'.' or '..'")):
            cl = self.start_client(srv, root, bad, proc_name="client-" + why)
            rc = cl.wait(timeout=harness.DEFAULT_TIMEOUT)
            self.assertNotEqual(rc, 0, bad)
            self.assertGreater(rc, 0, bad)
            err = cl.stderr_text()
            self.assertIn("--name", err, bad)
            self.assertIn(why, err, bad)
        self.assertEqual(srv.nodes(), [])


if __name__ == "__main__":
    harness.main()
