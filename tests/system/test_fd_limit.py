#!/usr/bin/env python3
"""System test (issue 9): the server under a low file-descriptor limit.
It says at start that max-clients cannot fit; filled with connections it
stops accepting without spinning (CPU time of the process stays low), logs
that once, and accepts again once connections close."""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import frame, hello_body  # noqa: E402

LIMIT = 64
SHORTAGE = "cannot accept nodes"


def cpu_seconds(pid):
    """utime + stime of process `pid`, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of proc(5); fields[0] here is field 3.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class FdLimit(harness.SystemTest):

    def start_limited_server(self):
        last = ""
        for _ in range(5):
            port = harness.free_port()
            log = os.path.join(self.workdir, "server-%d.log" % port)
            argv = ["prlimit", "--nofile=%d:%d" % (LIMIT, LIMIT), "--",
                    harness.server_bin(),
                    "--state-dir=" + os.path.join(self.workdir, "state"),
                    "--tls=false", "--require-token=false",
                    "--bind", "127.0.0.1", "--port", str(port),
                    "--log-file=" + log, "--handshake-timeout=60s",
                    "--max-clients=1000"]
            srv = harness.Server(self.workdir, port, argv=argv, tls=False,
                                 name="server-%d" % port)
            srv.log_path = log
            self.addCleanup(srv.kill)
            if srv.wait_listening():
                return srv
            last = srv.stderr_text()
        self.fail("server did not start:\n" + last)

    def test_out_of_descriptors_pauses_accepting_without_spinning(self):
        srv = self.start_limited_server()
        # Said at start: 1000 nodes do not fit in 64 descriptors.
        self.assertIn("max-clients=1000 needs about", srv.stderr_text())
        self.assertIn("the limit is %d" % LIMIT, srv.stderr_text())
        # More connections than descriptors: the kernel completes them all
        # (listen backlog); the server runs out while accepting.
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for _ in range(LIMIT + 40):
            socks.append(socket.create_connection(("127.0.0.1", srv.port),
                                                  timeout=5))
        harness.wait_for(lambda: SHORTAGE in srv.log_text(), 15,
                         what="the server to log the descriptor shortage")
        # Not spinning: CPU time over a few seconds stays far below the
        # wall-clock time a busy accept() loop burns (~100 % of a core).
        before = cpu_seconds(srv.pid)
        time.sleep(3)
        used = cpu_seconds(srv.pid) - before
        self.assertLess(used, 1.0, "server used %.2f s of CPU in 3 s while "
                        "out of descriptors" % used)
        self.assertEqual(srv.log_text().count(SHORTAGE), 1, srv.log_text())
        self.assertIn("Too many open files", srv.log_text())
        # Connections close: the server accepts again and serves a node.
        for s in socks:
            s.close()
        socks.clear()
        sock = harness.raw_connect(srv, timeout=15, tls=False)
        self.addCleanup(sock.close)
        sock.sendall(frame(hello_body("fresh")))
        got = harness.recv_frame(sock, timeout=15)
        self.assertIsNotNone(got, "server closed the new connection")
        self.assertEqual(got[0], harness.TAG_WELCOME, got)
        harness.wait_for(lambda: "accepting nodes" in srv.log_text(), 10,
                         what="the log to say accepting again")
        # The closed connections still queued in the listen backlog may fill
        # the table once more (a second shortage, a clean-clone CI saw it),
        # but each shortage is said once and followed by its recovery:
        # never a line per retry.
        said = [x for x in srv.log_text().splitlines()
                if SHORTAGE in x or "free again" in x]
        for first, second in zip(said, said[1:]):
            self.assertFalse(SHORTAGE in first and SHORTAGE in second,
                             srv.log_text())
        self.assertIn("free again", said[-1], srv.log_text())
        self.assertEqual(srv.node_names(), ["fresh"])


if __name__ == "__main__":
    harness.main()
