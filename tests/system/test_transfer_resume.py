#!/usr/bin/env python3
"""System test: issue 10 item 4, get --resume and put --resume.

A transfer broken by kill -9 of the sending side keeps a partial file next
to the target (.dirscope-partial-SIZE-MTIME-NAME); after a restart
--resume continues it, and the result is checked against sha256 of the
source. A source that changed meanwhile is never spliced.
"""

import hashlib
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--request-timeout=30s"]
CLIENT_ARGS = ["--reconnect-min=200ms", "--reconnect-max=1s"]
SIZE = 384 << 20
KILL_AT = 24 << 20  # the receiver holds at least this much when we kill
BIG_TIMEOUT = 120


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def make_big(path):
    """Random blocks at a few places in a sparse file: a splice at the
    wrong offset or of another version cannot hash the same."""
    with open(path, "wb") as f:
        f.truncate(SIZE)
        for i in range(0, SIZE, 16 << 20):
            f.seek(i)
            f.write(os.urandom(1 << 20))


def temp_file_size(pid):
    """Largest regular file the process has open for writing (its unnamed
    temporary file), 0 if none."""
    best = 0
    fd_dir = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return 0
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
            if "(deleted)" not in target:
                continue
            st = os.stat(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if st.st_size > best:
            best = st.st_size
    return best


def rchar(pid):
    """Bytes the process has read (any read(), cached or not, sockets too)."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar in /proc/%d/io" % pid)


def partials(top):
    return sorted(x for x in os.listdir(top)
                  if x.startswith(".dirscope-partial-"))


def errors(out):
    return [x for x in out if x.startswith("error:")]


class TransferResumeTest(harness.SystemTest):

    def setUp(self):
        super().setUp()
        self.dl = os.path.join(self.tmp, "downloads")
        self.root = self.make_dir("root")

    def server_args(self):
        return SERVER_ARGS + ["--download-dir=" + self.dl]

    def wait_receiving(self, pid):
        harness.wait_for(lambda: temp_file_size(pid) >= KILL_AT, 60,
                         interval=0.01, what="partial data on the receiver")

    def assert_got(self, out, prefix):
        self.assertFalse(errors(out), out)
        self.assertTrue(any(x.startswith(prefix) for x in out), out)

    # -- get: the node (sender) dies

    def broken_get(self, server):
        client = self.start_client(server, self.root, "n1",
                                   args=CLIENT_ARGS + ["--allow-download"])
        server.wait_nodes(1)
        server.send("get n1:/big")
        self.wait_receiving(server.pid)
        client.signal(signal.SIGKILL)
        _, line = server.read_until(lambda x: x.startswith("error:"),
                                    timeout=30)
        self.assertIn("disconnected", line)
        kept = partials(os.path.join(self.dl, "n1"))
        self.assertEqual(len(kept), 1, kept)
        held = os.path.getsize(os.path.join(self.dl, "n1", kept[0]))
        self.assertGreater(held, 0)
        self.assertLess(held, SIZE)
        return kept[0], held

    def test_get_resumes_after_the_node_was_killed(self):
        src = os.path.join(self.root, "big")
        make_big(src)
        server = self.start_server(args=self.server_args())
        kept, held = self.broken_get(server)
        self.assertTrue(kept.startswith(".dirscope-partial-%d-" % SIZE), kept)
        self.assertTrue(kept.endswith("-big"), kept)
        client = self.start_client(server, self.root, "n1",
                                   args=CLIENT_ARGS + ["--allow-download"])
        server.wait_nodes(1)
        out = server.command("get n1:/big --resume", timeout=BIG_TIMEOUT)
        self.assert_got(out, "got n1:/big")
        target = os.path.join(self.dl, "n1", "big")
        self.assertEqual(sha256_of(target), sha256_of(src))
        self.assertEqual(partials(os.path.join(self.dl, "n1")), [])
        # The node really sent only the rest.
        harness.wait_for(lambda: "sending /big from offset " in
                         client.stderr_text(), 5, what="node log")
        offsets = [int(x.split("from offset ")[1].split()[0])
                   for x in client.stderr_text().splitlines()
                   if "sending /big from offset " in x]
        self.assertGreater(offsets[-1], 0)
        self.assertLessEqual(offsets[-1], held)

    def test_get_resume_of_a_changed_file_starts_over(self):
        src = os.path.join(self.root, "big")
        make_big(src)
        server = self.start_server(args=self.server_args())
        self.broken_get(server)
        # Same size, other bytes at the start, another mtime.
        with open(src, "r+b") as f:
            f.write(os.urandom(1 << 20))
        self.start_client(server, self.root, "n1",
                          args=CLIENT_ARGS + ["--allow-download"])
        server.wait_nodes(1)
        out = server.command("get n1:/big --resume", timeout=BIG_TIMEOUT)
        self.assert_got(out, "got n1:/big")
        self.assertEqual(sha256_of(os.path.join(self.dl, "n1", "big")),
                         sha256_of(src))
        self.assertEqual(partials(os.path.join(self.dl, "n1")), [])

    # -- put: the server (sender) dies

    def broken_put(self, src):
        server = self.start_server(args=self.server_args())
        client = self.start_client(server, self.root, "n1",
                                   args=CLIENT_ARGS + ["--allow-upload"])
        server.wait_nodes(1)
        server.send("put %s n1:/big" % src)
        self.wait_receiving(client.pid)
        server.kill()
        # The node notices the lost server and keeps what it has.
        harness.wait_for(lambda: partials(self.root), 20,
                         what="partial file on the node")
        kept = partials(self.root)
        self.assertEqual(len(kept), 1, kept)
        held = os.path.getsize(os.path.join(self.root, kept[0]))
        self.assertGreater(held, 0)
        self.assertLess(held, SIZE)
        # Same port and state: the node reconnects by itself.
        server = self.start_server(args=self.server_args(), port=server.port)
        server.wait_nodes(1, timeout=20)
        return server, client, held

    def test_put_resumes_after_the_server_was_killed(self):
        src = os.path.join(self.make_dir("src"), "big")
        make_big(src)
        server, client, held = self.broken_put(src)
        out = server.command("put --resume %s n1:/big" % src,
                             timeout=BIG_TIMEOUT)
        self.assert_got(out, "put ")
        self.assertEqual(sha256_of(os.path.join(self.root, "big")),
                         sha256_of(src))
        self.assertEqual(partials(self.root), [])
        self.assertRegex(server.log_text(),
                         r"put --resume .*: the node holds \d+ verified bytes")
        resumed = [int(x.split("holds ")[1].split()[0])
                   for x in server.log_text().splitlines()
                   if "verified bytes" in x]
        self.assertGreater(resumed[-1], 0)
        self.assertLessEqual(resumed[-1], held)

    def test_put_resume_of_a_changed_file_starts_over(self):
        src = os.path.join(self.make_dir("src"), "big")
        make_big(src)
        server, _, _ = self.broken_put(src)
        with open(src, "r+b") as f:
            f.write(os.urandom(1 << 20))
        out = server.command("put --resume %s n1:/big" % src,
                             timeout=BIG_TIMEOUT)
        self.assert_got(out, "put ")
        self.assertEqual(sha256_of(os.path.join(self.root, "big")),
                         sha256_of(src))
        self.assertEqual(partials(self.root), [])

    def test_put_resume_reads_the_held_prefix_once(self):
        """The server reads its file once for a resume: the prefix the node
        holds is hashed by the reader that then sends the rest (before, it
        was hashed once to compare and once more to continue the whole
        file's hash: 1.75 x the file here)."""
        size, held = 8 << 20, 6 << 20
        src = os.path.join(self.make_dir("src"), "big")
        with open(src, "wb") as f:
            f.write(os.urandom(size))
        st = os.stat(src)
        # What a broken put leaves on the node.
        with open(src, "rb") as f, open(os.path.join(
                self.root, ".dirscope-partial-%d-%d-big"
                % (size, st.st_mtime_ns)), "wb") as out:
            out.write(f.read(held))
        server = self.start_server(args=self.server_args())
        self.start_client(server, self.root, "n1",
                          args=CLIENT_ARGS + ["--allow-upload"])
        server.wait_nodes(1)
        before = rchar(server.pid)
        out = server.command("put --resume %s n1:/big" % src,
                             timeout=BIG_TIMEOUT)
        read = rchar(server.pid) - before
        self.assert_got(out, "put ")
        self.assertIn("the node holds %d verified bytes" % held,
                      server.log_text())
        self.assertEqual(sha256_of(os.path.join(self.root, "big")),
                         sha256_of(src))
        self.assertEqual(partials(self.root), [])
        self.assertGreaterEqual(read, size - held)
        self.assertLess(read, 1.3 * size,
                        "the server read %d bytes for a %d-byte file"
                        % (read, size))

    def test_put_resume_over_a_differing_partial_starts_over(self):
        """A partial file named for this source whose bytes differ: the
        hashed prefix does not match, the put starts over from 0 with a
        fresh reader and the node drops what it held."""
        size = 4 << 20
        src = os.path.join(self.make_dir("src"), "big")
        with open(src, "wb") as f:
            f.write(os.urandom(size))
        st = os.stat(src)
        with open(os.path.join(self.root, ".dirscope-partial-%d-%d-big"
                               % (size, st.st_mtime_ns)), "wb") as out:
            out.write(os.urandom(3 << 20))
        server = self.start_server(args=self.server_args())
        self.start_client(server, self.root, "n1",
                          args=CLIENT_ARGS + ["--allow-upload"])
        server.wait_nodes(1)
        out = server.command("put --resume %s n1:/big" % src,
                             timeout=BIG_TIMEOUT)
        self.assert_got(out, "put ")
        self.assertIn("the node's partial file differs, starting over",
                      server.log_text())
        self.assertEqual(sha256_of(os.path.join(self.root, "big")),
                         sha256_of(src))
        self.assertEqual(partials(self.root), [])


if __name__ == "__main__":
    harness.main()
