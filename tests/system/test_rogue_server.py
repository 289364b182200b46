"""A rogue server against a real node (dirscope-client).

A small fake server in Python accepts the node over plain TCP (both ends
--tls=false), welcomes it and then misbehaves. What is checked is what the
node does with it: it stays up or ends the session cleanly, and its memory
stays bounded.
"""

import os
import socket
import struct
import sys
import time

import harness

TAG_CHUNK_ACK = 18
TAG_DOWNLOAD_REQUEST = 24
TAG_GOODBYE = 6

MiB = 1 << 20


def welcome_body(max_frame=MiB, heartbeat_ms=10000):
    return (bytes([harness.TAG_WELCOME])
            + struct.pack(">QqII", 1, time.time_ns(), heartbeat_ms, max_frame))


def download_request_body(req_id, path, offset=0, flags=0):
    return (bytes([TAG_DOWNLOAD_REQUEST]) + struct.pack(">I", req_id)
            + harness.enc_bytes(path) + struct.pack(">QB", offset, flags))


def chunk_ack_body(req_id):
    return bytes([TAG_CHUNK_ACK]) + struct.pack(">I", req_id)


def status_kib(pid, field):
    """A memory figure of /proc/PID/status in KiB (None once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class FakeServer:
    """Listens on a free loopback port; accepts one node at a time."""

    def __init__(self, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # Inherited by accepted sockets: the kernel holds little of what
            # the node sends while we do not read.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]

    def accept(self, timeout=harness.DEFAULT_TIMEOUT, **welcome):
        """Accepts a node, reads its hello, welcomes it."""
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        tag, _ = harness.recv_frame(conn, timeout)
        assert tag == harness.TAG_HELLO, "expected hello, got tag %d" % tag
        conn.sendall(harness.frame(welcome_body(**welcome)))
        return conn

    def close(self):
        self.sock.close()


class RogueServerTest(harness.SystemTest):

    def start_node(self, port, root, *args):
        # It keeps reconnecting after a protocol error, so its peak memory
        # can be read after the session ended.
        return self.start_client(port, root, "victim",
                                 args=["--tls=false"] + list(args))

    def test_acks_without_reading_keep_node_memory_bounded(self):
        root = self.make_dir("root")
        size = 256 * MiB
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.truncate(size)  # sparse: reads cost no disk
        fake = FakeServer(rcvbuf=128 * 1024)
        self.addCleanup(fake.close)
        node = self.start_node(fake.port, root, "--allow-download")
        conn = fake.accept()
        self.addCleanup(conn.close)
        before = status_kib(node.pid, "VmRSS")
        self.assertIsNotNone(before)
        # Ack every chunk of the file, a window at a time, and never read
        # the socket.
        conn.sendall(harness.frame(download_request_body(1, "/big.bin")))
        window = harness.frame(chunk_ack_body(1)) * 16
        deadline = time.monotonic() + 30
        for _ in range(size // 65472 // 16 + 1):
            if time.monotonic() > deadline:
                break
            try:
                conn.sendall(window)
            except OSError:
                break  # the node ended the session
            time.sleep(0.01)
        # Wait (bounded) until the node's peak memory stops growing.
        peak, stable, deadline = 0, 0, time.monotonic() + 30
        while time.monotonic() < deadline and stable < 4:
            time.sleep(0.5)
            now = status_kib(node.pid, "VmHWM")
            self.assertIsNotNone(now, "the node died:\n" + node.stderr_text())
            stable = stable + 1 if now - peak < 1024 else 0
            peak = max(peak, now)
        growth_mib = (peak - before) / 1024.0
        sys.stderr.write("node RSS %.1f MiB before, peak %.1f MiB: +%.1f MiB "
                         "for a %d MiB file acked but never read\n"
                         % (before / 1024.0, peak / 1024.0, growth_mib,
                            size // MiB))
        self.assertLess(growth_mib, 64,
                        "the node buffered the file in memory")
        # Acks for chunks never written end the session as a protocol error.
        frames, closed = harness.read_until_closed(conn, 20)
        self.assertTrue(closed, "the node kept the connection")
        goodbyes = [harness.decode_code_reason(p) for t, p in frames
                    if t == TAG_GOODBYE]
        self.assertEqual([code for code, _ in goodbyes], ["protocol_error"])


if __name__ == "__main__":
    harness.main()
