"""Issue 10 item 2: a big file's hash never stalls the other rows of a
listing, nor a stat; long hashes report progress (hash_progress, tag 45,
capability / feature bit 9) and older peers keep working.

The big files are sparse (no disk): hashing 2 GiB takes the node well over
a second, the grace a batch waits (250 ms) several times over. No timing is
asserted: only the order in which rows and replies arrive.
"""

import hashlib
import os
import socket
import struct
import time

import harness

GiB = 1 << 30
MiB = 1 << 20

TAG_ENTRIES_CHUNK = 32
TAG_LIST_END = 33
TAG_STAT_REPLY = 34
TAG_REQUEST_FAILED = 35
TAG_LIST_PROGRESS = 41
TAG_HASH_PROGRESS = 45
TAG_CHUNK_ACK = 18

CAP_FEATURES = 1 << 7
CAP_HASH_PROGRESS = 1 << 9
FEATURE_LIST_PROGRESS = 1 << 0
FEATURE_HASH_PROGRESS = 1 << 9


# SHA-256 of 2 GiB and 4 GiB of zero bytes, computed once with
# `head -c SIZE /dev/zero | sha256sum` (hashing them here would double the
# test's time).
ZEROS_SHA256 = {
    2 * GiB: "a7c744c13cc101ed66c29f672f92455547889cc586ce6d44fe76ae824958ea51",
    4 * GiB: "8479e43911dc45e89f934fe48d01297e16f51d17aa561d4d1c216b1ae0fcddca",
}


def zeros_sha256(size):
    return ZEROS_SHA256[size]


def sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


def small(path, text):
    with open(path, "w") as f:
        f.write(text)


# -- a fake server speaking the wire protocol to a real node ------------------

def welcome_body(features=None, heartbeat_ms=10000):
    body = (bytes([harness.TAG_WELCOME])
            + struct.pack(">QqII", 1, time.time_ns(), heartbeat_ms, MiB))
    if features is not None:
        body += struct.pack(">I", features)
    return body


def list_request_body(req_id, path, flags):
    return (bytes([harness.TAG_LIST_REQUEST]) + struct.pack(">I", req_id)
            + harness.enc_bytes(path) + bytes([flags]))


def stat_request_body(req_id, path):
    return (bytes([harness.TAG_STAT_REQUEST]) + struct.pack(">I", req_id)
            + harness.enc_bytes(path))


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        x = self.data[self.at:self.at + n]
        self.at += n
        return x

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def bytes(self):
        return self.take(self.u32())


def read_entry(r):
    name = r.bytes()
    r.take(1 + 8)  # type, mtime
    size = r.u64()
    if r.u8():
        r.u64()
    sha = r.take(32).hex() if r.u8() else None
    if r.u8():
        r.bytes()
    if r.u8():
        r.take(2)
        r.bytes()
    return name.decode(), size, sha


class FakeServer:
    def __init__(self, test):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        test.addCleanup(self.sock.close)
        self.test = test

    def accept(self, features):
        """Accepts the node; returns its hello capabilities."""
        self.sock.settimeout(harness.DEFAULT_TIMEOUT)
        self.conn, _ = self.sock.accept()
        self.test.addCleanup(self.conn.close)
        tag, body = harness.recv_frame(self.conn)
        assert tag == harness.TAG_HELLO, tag
        r = Reader(body)
        r.u32(), r.take(2), r.bytes(), r.bytes(), r.bytes()
        caps = r.u32()
        # Only a node that understands the field gets it (PROTOCOL.md).
        self.send(welcome_body(features if caps & CAP_FEATURES else None))
        return caps

    def send(self, body):
        self.conn.sendall(harness.frame(body))

    def frames(self, timeout=60):
        """Frames from the node until the deadline: (tag, payload)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = harness.recv_frame(self.conn,
                                     timeout=deadline - time.monotonic())
            if got is None:
                return
            yield got
        raise AssertionError("the node did not finish within %d s" % timeout)


class LateRowsTest(harness.SystemTest):

    def big_root(self):
        root = self.make_dir("root")
        small(os.path.join(root, "a.txt"), "a\n")
        sparse(os.path.join(root, "b-big.bin"), 2 * GiB)
        small(os.path.join(root, "c.txt"), "c\n")
        return root

    # -- through the real server and its shell --------------------------------

    def test_other_rows_do_not_wait_for_a_big_files_hash(self):
        root = self.big_root()
        srv = self.start_server()
        self.start_client(srv, root, "n1")
        srv.wait_nodes(1)
        rows = srv.command_json("ls n1:/ --json", timeout=60)
        names = [x["name"] for x in rows]
        # The small files' rows came first; the big file's row followed
        # once its hash was done, with that hash.
        self.assertEqual(names, ["a.txt", "c.txt", "b-big.bin"], rows)
        self.assertEqual(rows[2]["sha256"], zeros_sha256(2 * GiB))
        self.assertEqual(rows[0]["sha256"],
                         hashlib.sha256(b"a\n").hexdigest())
        # Hashed once, cached: the next listing is in name order again.
        again = [x["name"] for x in srv.command_json("ls n1:/ --json")]
        self.assertEqual(again, ["a.txt", "b-big.bin", "c.txt"])

    def test_stat_of_a_huge_file_outlasts_the_request_timeout(self):
        # 4 GiB take the node several seconds to hash (about 3 s on a quiet
        # machine), longer than the 2 s request timeout; the node's
        # hash_progress keeps the request alive until the reply.
        root = self.make_dir("root")
        sparse(os.path.join(root, "huge.bin"), 4 * GiB)
        srv = self.start_server(args=["--request-timeout=2s"])
        self.start_client(srv, root, "n1")
        srv.wait_nodes(1)
        out = srv.command("stat n1:/huge.bin --json", timeout=90)
        self.assertEqual(len(out), 1, out)
        self.assertIn('"sha256":"%s"' % zeros_sha256(4 * GiB), out[0])

    # -- a real node against a fake server: the wire --------------------------

    def test_node_sends_rows_first_and_reports_progress(self):
        root = self.big_root()
        sparse(os.path.join(root, "huge.bin"), 1 * GiB)
        fake = FakeServer(self)
        self.start_client(fake.port, root, "n1", args=["--tls=false"])
        caps = fake.accept(FEATURE_LIST_PROGRESS | FEATURE_HASH_PROGRESS)
        self.assertTrue(caps & CAP_HASH_PROGRESS, hex(caps))
        # with_hashes | late_rows, then a stat of another huge file and of a
        # small one: the stats are answered while the listing hashes.
        fake.send(list_request_body(1, "/", 0b11))
        fake.send(stat_request_body(2, "/huge.bin"))
        fake.send(stat_request_body(3, "/a.txt"))
        events, listed, progress = [], [], []
        ended = set()
        for tag, body in fake.frames():
            r = Reader(body)
            req = r.u32()
            if tag == TAG_ENTRIES_CHUNK:
                for _ in range(r.u32()):
                    listed.append(read_entry(r))
                    events.append(("row", listed[-1][0]))
                fake.send(bytes([TAG_CHUNK_ACK]) + struct.pack(">I", req))
            elif tag == TAG_HASH_PROGRESS:
                name, size, hashed = r.bytes(), r.u64(), r.u64()
                progress.append((req, name, size, hashed))
            elif tag in (TAG_LIST_END, TAG_STAT_REPLY):
                events.append(("end", req))
                ended.add(req)
            else:
                self.fail("unexpected frame tag %d" % tag)
            if ended == {1, 2, 3}:
                break
        names = [x[0] for x in listed]
        self.assertEqual(sorted(names),
                         ["a.txt", "b-big.bin", "c.txt", "huge.bin"])
        # The small stat never waited behind a hash: it ended before the
        # listing and the big stat; the small rows came before the big ones.
        self.assertLess(events.index(("end", 3)), events.index(("end", 1)))
        self.assertLess(events.index(("end", 3)), events.index(("end", 2)))
        self.assertLess(events.index(("row", "c.txt")),
                        events.index(("row", "b-big.bin")))
        # Progress named the listing's big file, or came for the stat with
        # no name; never more bytes than the file holds.
        self.assertTrue(progress, "no hash_progress at all")
        for req, name, size, hashed in progress:
            self.assertIn(req, (1, 2))
            if req == 1:
                self.assertIn(name, (b"b-big.bin", b"huge.bin"))
            else:
                self.assertEqual((name, size), (b"", 1 * GiB))
            self.assertLessEqual(hashed, size)

    def test_a_cancelled_stat_stops_hashing(self):
        # 16 GiB take the node over 10 s to hash; once the stat is cancelled
        # nobody waits for that hash, so the node must stop reading the file
        # (it used to read all of it).
        root = self.make_dir("root")
        sparse(os.path.join(root, "huge.bin"), 16 * GiB)
        fake = FakeServer(self)
        node = self.start_client(fake.port, root, "n1", args=["--tls=false"])
        fake.accept(FEATURE_LIST_PROGRESS | FEATURE_HASH_PROGRESS)
        fake.send(stat_request_body(2, "/huge.bin"))
        for tag, body in fake.frames():
            if tag == TAG_HASH_PROGRESS:
                break  # the bulk worker is hashing
            self.fail("unexpected frame tag %d" % tag)
        fake.send(bytes([harness.TAG_CANCEL]) + struct.pack(">I", 2))
        for tag, body in fake.frames():
            if tag == harness.TAG_REQUEST_FAILED:
                self.assertEqual(Reader(body).u32(), 2)
                break
            self.assertEqual(tag, TAG_HASH_PROGRESS)

        def bytes_read():
            with open("/proc/%d/io" % node.pid) as f:
                for line in f:
                    if line.startswith("rchar:"):
                        return int(line.split()[1])
            raise AssertionError("no rchar in /proc/%d/io" % node.pid)

        # Allow the read in progress at the cancel to end, then watch: a
        # hash that went on would read hundreds of MiB in two seconds even
        # on a loaded machine.
        time.sleep(0.5)
        before = bytes_read()
        time.sleep(2)
        self.assertLess(bytes_read() - before, 64 * MiB)

    def test_older_server_gets_rows_in_order_and_no_new_frames(self):
        root = self.big_root()
        fake = FakeServer(self)
        self.start_client(fake.port, root, "n1", args=["--tls=false"])
        # A server from before bit 9: list_progress only, no late_rows flag.
        fake.accept(FEATURE_LIST_PROGRESS)
        fake.send(list_request_body(1, "/", 0b01))
        names = []
        for tag, body in fake.frames():
            self.assertIn(tag, (TAG_ENTRIES_CHUNK, TAG_LIST_END,
                                TAG_LIST_PROGRESS), "tag %d" % tag)
            r = Reader(body)
            req = r.u32()
            if tag == TAG_ENTRIES_CHUNK:
                names += [read_entry(r)[0] for _ in range(r.u32())]
                fake.send(bytes([TAG_CHUNK_ACK]) + struct.pack(">I", req))
            if tag == TAG_LIST_END:
                break
        self.assertEqual(names, ["a.txt", "b-big.bin", "c.txt"])

    def test_server_sends_late_rows_only_to_nodes_that_know_them(self):
        srv = self.start_server()
        old = harness.RawNode(srv, "old", capabilities=7)
        self.addCleanup(old.close)
        new = harness.RawNode(srv, "new", capabilities=7 | CAP_HASH_PROGRESS)
        self.addCleanup(new.close)
        srv.send("ls old:/")
        req, _, flags = old.expect(harness.TAG_LIST_REQUEST)
        self.assertEqual(flags, 0b01)
        old.send(harness.list_end_body(req, 0))
        srv.read_until(lambda line: line.startswith("0 entries"))
        srv.send("ls new:/")
        req, _, flags = new.expect(harness.TAG_LIST_REQUEST)
        self.assertEqual(flags, 0b11)
        # The server accepts hash_progress for it, and the listing ends.
        new.send(bytes([TAG_HASH_PROGRESS]) + struct.pack(">I", req)
                 + harness.enc_bytes(b"x.bin") + struct.pack(">QQ", 10, 5))
        new.send(harness.list_end_body(req, 0))
        srv.read_until(lambda line: line.startswith("0 entries"))


if __name__ == "__main__":
    harness.main()
