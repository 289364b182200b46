#!/usr/bin/env python3
"""System test: the server against nodes that break the rules on purpose
(issue 11): windows overrun, output never read, TLS closed early, names
with terminal escapes, connections that never say hello. Every wait is
bounded; memory bounds are generous (RSS of the server from /proc)."""

import os
import socket
import ssl
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (RawNode, enc_entry, entries_chunk_body,  # noqa: E402
                     frame, hello_body, read_until_closed)

SERVER_ARGS = ["--heartbeat-interval=30s", "--request-timeout=10s",
               "--handshake-timeout=5s"]

TAG_DU_REQUEST = 20
TAG_ECHO = 38
TAG_DU_REPLY = 36
TAG_DOWNLOAD_REQUEST = 24
TAG_DATA_CHUNK = 27
CAP_READ = 7
CAP_DOWNLOAD = 8
MiB = 1024 * 1024


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def request_id(payload):
    return struct.unpack(">I", payload[:4])[0]


def du_reply_body(req_id, size):
    return bytes([TAG_DU_REPLY]) + struct.pack(">IBQQQ", req_id, 0, size, 1,
                                               0)


def data_chunk_body(req_id, offset, data):
    return (bytes([TAG_DATA_CHUNK]) + struct.pack(">IQI", req_id, offset,
                                                  len(data)) + data)


def echo_body(text):
    return bytes([TAG_ECHO]) + struct.pack(">I", len(text)) + text


def goodbye_of(frames):
    for tag, payload in frames:
        if tag == harness.TAG_GOODBYE:
            return harness.decode_code_reason(payload)
    return None


class HostileNodeTests(harness.SystemTest):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server(args=SERVER_ARGS)

    def raw_node(self, name="raw", capabilities=CAP_READ):
        node = RawNode(self.srv, name, capabilities=capabilities)
        self.addCleanup(node.close)
        self.assertIn(name, self.srv.node_names())
        return node

    def error_line(self):
        _, line = self.srv.read_until(lambda x: x.startswith("error:"))
        return line

    def assert_dropped_for_protocol_error(self, node):
        frames, closed = read_until_closed(node.sock, harness.DEFAULT_TIMEOUT)
        self.assertTrue(closed, "the server kept the connection")
        bye = goodbye_of(frames)
        self.assertIsNotNone(bye, "no goodbye before the close")
        self.assertEqual(bye[0], "protocol_error", bye)
        self.assertIn("window", bye[1])
        self.assertIn("window", self.error_line())
        # Rows printed before the drop are still queued: skip past them.
        self.srv.command("echo past-the-drop")
        harness.wait_for(lambda: "raw" not in self.srv.node_names(),
                         harness.DEFAULT_TIMEOUT, what="the node to leave")

    # -- flow control is enforced where data arrives

    def test_listing_window_overrun_is_a_protocol_error(self):
        node = self.raw_node()
        self.srv.send("ls raw:/")
        req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
        chunks = b"".join(
            frame(entries_chunk_body(req_id, [enc_entry("f%02d" % i)]))
            for i in range(5))
        node.sock.sendall(chunks)  # never waits for a chunk_ack
        self.assert_dropped_for_protocol_error(node)

    def test_data_window_overrun_is_a_protocol_error(self):
        node = self.raw_node(capabilities=CAP_READ | CAP_DOWNLOAD)
        target = os.path.join(self.tmp, "out.bin")
        self.srv.send("get raw:/f " + target)
        du = node.expect(TAG_DU_REQUEST)
        node.send(du_reply_body(request_id(du), 20 * 600 * 10))
        req_id = request_id(node.expect(TAG_DOWNLOAD_REQUEST))
        data = b"x" * 10
        # Far beyond the window of 16, never waiting for an ack. The server
        # acks a chunk once its writer has taken it, so a server that keeps
        # pace never sees 17 in flight: an overrun can only be seen among the
        # frames of one read. Tiny chunks put ~400 frames in one TLS record,
        # which the server decrypts and decodes as a whole before its writer
        # can ack any (1000-byte chunks, ~16 per record, flaked under load).
        chunks_per_burst, bursts = 600, 20
        try:
            # More bursts only if a record was split (bounded: 20 x 600).
            for b in range(bursts):
                first = b * chunks_per_burst
                node.sock.sendall(b"".join(
                    frame(data_chunk_body(req_id, i * len(data), data))
                    for i in range(first, first + chunks_per_burst)))
        except (ssl.SSLError, OSError):
            # Dropped mid-burst: the goodbye may be lost to the reset that
            # unread bytes cause, so only the server's side can be checked.
            self.assertIn("window", self.error_line())
            harness.wait_for(lambda: "raw" not in self.srv.node_names(),
                             harness.DEFAULT_TIMEOUT, what="the node to leave")
            self.assertFalse(os.path.exists(target))
            return
        self.assert_dropped_for_protocol_error(node)
        self.assertFalse(os.path.exists(target))

    # -- every transfer ends with its connection

    def test_quit_after_a_failed_get_and_a_large_get_returns(self):
        node = self.raw_node(capabilities=CAP_READ | CAP_DOWNLOAD)
        self.srv.send("get raw:/f " + os.path.join(self.tmp, "one.bin"))
        du = node.expect(TAG_DU_REQUEST)
        node.send(du_reply_body(request_id(du), 10))
        req_id = request_id(node.expect(TAG_DOWNLOAD_REQUEST))
        node.send(data_chunk_body(req_id, 5, b"x"))  # a gap: protocol error
        self.assertIn("protocol_error", self.error_line())
        root = self.make_dir("root")
        with open(os.path.join(root, "big"), "wb") as f:
            f.write(os.urandom(1 << 20) * 48)
        self.start_client(self.srv, root, "real", args=["--allow-download"])
        harness.wait_for(lambda: "real" in self.srv.node_names(),
                         harness.DEFAULT_TIMEOUT, what="the node")
        self.srv.send("get real:/big " + os.path.join(self.tmp, "two.bin"))
        self.srv.send("quit")
        # It returns; 1 because the first get failed (piped mode's status).
        self.assertEqual(self.srv.wait(timeout=60), 1)

    # -- TLS endings

    def test_close_notify_from_the_node_closes_at_once(self):
        node = self.raw_node()
        node.sock.settimeout(harness.DEFAULT_TIMEOUT)
        # unwrap() sends our close_notify and waits for the server's: before
        # the fix the server kept the connection until heartbeats ran out.
        node.sock.unwrap()
        harness.wait_for(lambda: "raw" not in self.srv.node_names(),
                         harness.DEFAULT_TIMEOUT, what="the node to leave")

    def test_goodbye_is_followed_by_close_notify(self):
        if not self.srv.tls:
            self.skipTest("plaintext build")
        sock = socket.create_connection((self.srv.host, self.srv.port),
                                        timeout=harness.DEFAULT_TIMEOUT)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        ctx.load_verify_locations(self.srv.ca_file)
        # A TCP close without close_notify raises instead of returning b"".
        sock = ctx.wrap_socket(sock, suppress_ragged_eofs=False)
        self.addCleanup(sock.close)
        sock.sendall(frame(hello_body("raw", token=self.srv.token())))
        got = harness.recv_frame(sock)
        self.assertEqual(got[0], harness.TAG_WELCOME)
        self.srv.command("kick raw")
        got = harness.recv_frame(sock)
        while got is not None and got[0] == harness.TAG_HEARTBEAT:
            got = harness.recv_frame(sock)
        self.assertEqual(got[0], harness.TAG_GOODBYE)
        self.assertEqual(harness.decode_code_reason(got[1])[0], "kicked")
        try:
            rest = sock.recv(1)
        except ssl.SSLEOFError:
            self.fail("the server closed TCP without a TLS close_notify")
        self.assertEqual(rest, b"")

    # -- node text in the server's log and terminal

    def test_hello_name_with_escapes_is_logged_escaped(self):
        sock = harness.raw_connect(self.srv)
        self.addCleanup(sock.close)
        name = b"\x1b]0;pwned\x07evil"
        # The hello and another frame in one segment: the second one is a
        # protocol error while the (unchecked) name is the node's.
        sock.sendall(frame(hello_body(name, token=self.srv.token()))
                     + frame(harness.heartbeat_ack_body(1)))
        _, closed = read_until_closed(sock, harness.DEFAULT_TIMEOUT)
        self.assertTrue(closed)
        harness.wait_for(lambda: "protocol error" in self.srv.log_text(),
                         harness.DEFAULT_TIMEOUT, what="the log line")
        self.srv.command("nodes")  # everything before it was printed
        for where, text in (("log", self.srv.log_text()),
                            ("stderr", self.srv.stderr_text()),
                            ("stdout", "\n".join(self.srv.transcript))):
            self.assertNotIn("\x1b", text, where)
            self.assertNotIn("\x07", text, where)
        self.assertIn("\\x1b]0;pwned\\x07evil", self.srv.log_text())

    # -- memory stays bounded

    def test_echo_flood_from_a_node_that_never_reads_stays_bounded(self):
        node = self.raw_node()
        before = rss_bytes(self.srv.pid)
        line = b"e" * 60000
        body = frame(echo_body(line))
        sent = 0
        node.sock.settimeout(3.0)  # a blocked send means we are held back
        try:
            while sent < 40 * MiB:
                node.sock.sendall(body)
                sent += len(body)
        except (socket.timeout, ssl.SSLError, OSError):
            pass
        time.sleep(0.5)
        grown = rss_bytes(self.srv.pid) - before
        self.assertLess(sent, 40 * MiB, "the server read everything, "
                        "its replies queued in memory")
        self.assertLess(grown, 16 * MiB,
                        "server RSS grew by %.1f MiB for %.1f MiB of echo"
                        % (grown / MiB, sent / MiB))

    def test_connections_that_never_say_hello_leave_no_memory(self):
        def churn(n):
            for _ in range(n):
                s = socket.create_connection((self.srv.host, self.srv.port),
                                             timeout=harness.DEFAULT_TIMEOUT)
                s.close()
        churn(300)  # warm up allocator and caches
        time.sleep(0.5)
        before = rss_bytes(self.srv.pid)
        churn(3000)
        time.sleep(0.5)
        grown = rss_bytes(self.srv.pid) - before
        self.assertLess(grown, 3 * MiB,
                        "server RSS grew by %.2f MiB for 3000 connections"
                        % (grown / MiB))
        # The server still serves.
        self.raw_node()


if __name__ == "__main__":
    harness.main()
