#!/usr/bin/env python3
"""System test: the server's side of requests, against a node written by
hand (harness.RawNode, over TLS like a real node). Checks what the operator
sees for exactly known wire answers, request timeouts and cancels, late or
unknown frames, and nodes that send invalid entries or names."""

import datetime
import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (RawNode, enc_entry, entries_chunk_body,  # noqa: E402
                     list_end_body, stat_reply_body, request_failed_body)

# Heartbeats far apart: a RawNode only reads while a test waits on it.
SERVER_ARGS = ["--heartbeat-interval=30s", "--request-timeout=2s",
               "--handshake-timeout=5s"]

DIGEST = bytes(range(32))
NS = 10 ** 9


def seconds_of(rfc3339):
    dt = datetime.datetime.fromisoformat(rfc3339)
    # timestamp() would lose whole seconds to float rounding far from 1970.
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    delta = dt - epoch
    return delta.days * 86400 + delta.seconds


class RawNodeTests(harness.SystemTest):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server(args=SERVER_ARGS)

    def raw_node(self, name="raw"):
        node = RawNode(self.srv, name)
        self.addCleanup(node.close)
        self.assertIn(name, self.srv.node_names())
        return node

    def error_line(self, timeout=harness.DEFAULT_TIMEOUT):
        _, line = self.srv.read_until(lambda x: True, timeout=timeout)
        self.assertTrue(line.startswith("error:"), line)
        return line

    # -- rendering of exactly known answers

    def test_listing_rendered_from_wire(self):
        node = self.raw_node()
        self.srv.send("ls --json raw:/dir")
        req_id, path, flags = node.expect(harness.TAG_LIST_REQUEST)
        self.assertEqual(path, b"/dir")
        self.assertEqual(flags, 1, "ls asks for hashes (with_hashes)")
        entries = [
            enc_entry("x.txt", "file", 1_000_000_000 * NS + NS - 1, 5,
                      sha256=DIGEST),
            enc_entry(b"new\nline\xff", "file", -1_500_000_000, 0,
                      sha256=bytes(32)),
            enc_entry("sub", "dir", 0, 4096, items=7),
            enc_entry("ln", "symlink", 0, 6, target=b"../t\\x"),
            enc_entry("fifo", "other", 0, 0,
                      error=("not_readable", "cannot read a FIFO")),
            enc_entry("ancient", "file", -2 ** 63, 1, sha256=DIGEST),
            enc_entry("future", "file", 2 ** 63 - 1, 2 ** 64 - 1,
                      sha256=DIGEST),
        ]
        # Three chunks: the server acknowledges each one.
        for part in (entries[:2], entries[2:5], entries[5:]):
            node.send(entries_chunk_body(req_id, part))
            ack_id, _, _ = node.expect(harness.TAG_CHUNK_ACK)
            self.assertEqual(ack_id, req_id)
        node.send(list_end_body(req_id, len(entries)))
        lines = []
        for _ in entries:
            _, line = self.srv.read_until(lambda x: True)
            lines.append(line)
        got = [harness.json.loads(x) for x in lines]
        self.assertEqual([x["name"] for x in got], [
            "x.txt", "new\\x0aline\\xff", "sub", "ln", "fifo", "ancient",
            "future"])
        self.assertEqual({x["node"] for x in got}, {"raw"})
        self.assertEqual({x["path"] for x in got}, {"/dir"})
        x = got[0]
        self.assertEqual((x["type"], x["size"], x["sha256"]),
                         ("file", 5, DIGEST.hex()))
        self.assertEqual(seconds_of(x["mtime"]), 1_000_000_000)
        self.assertEqual(seconds_of(got[1]["mtime"]), -2)
        self.assertEqual(got[1]["sha256"], "00" * 32)
        self.assertEqual((got[2]["type"], got[2]["items"]), ("dir", 7))
        self.assertNotIn("sha256", got[2])
        self.assertEqual((got[3]["type"], got[3]["target"]),
                         ("symlink", "../t\\\\x"))
        self.assertEqual(got[4]["type"], "other")
        self.assertEqual(got[4]["error"], "cannot read a FIFO")
        self.assertEqual(got[4]["error_code"], "not_readable")
        self.assertEqual(seconds_of(got[5]["mtime"]), -2 ** 63 // NS)
        self.assertEqual(seconds_of(got[6]["mtime"]), (2 ** 63 - 1) // NS)
        self.assertEqual(got[6]["size"], 2 ** 64 - 1)
        # The same answer as a table.
        self.srv.send("ls raw:/dir")
        req_id, path, _ = node.expect(harness.TAG_LIST_REQUEST)
        node.send(entries_chunk_body(req_id, entries[:4]))
        node.expect(harness.TAG_CHUNK_ACK)
        node.send(list_end_body(req_id, 4, sorted_=False))
        out = []
        for _ in range(6):
            _, line = self.srv.read_until(lambda x: True)
            out.append(line)
        self.assertTrue(out[0].startswith("TYPE"), out)
        self.assertEqual(out[-1], "4 entries (directory order: too large "
                         "to sort)")
        self.assertEqual(out[1].split()[2:], ["5", DIGEST.hex(), "x.txt"])
        self.assertEqual(out[3].split()[2:], ["4096", "7", "items", "sub"])
        self.assertTrue(out[4].endswith("ln -> ../t\\\\x"), out[4])

    def test_stat_rendered_from_wire(self):
        node = self.raw_node()
        self.srv.send("stat --json raw:/d/x.txt")
        req_id, path, _ = node.expect(harness.TAG_STAT_REQUEST)
        self.assertEqual(path, b"/d/x.txt")
        node.send(stat_reply_body(req_id, enc_entry(
            "x.txt", "file", 5 * NS, 3, sha256=DIGEST)))
        _, line = self.srv.read_until(lambda x: True)
        x = harness.json.loads(line)
        self.assertEqual((x["node"], x["path"], x["name"], x["size"],
                          x["sha256"]), ("raw", "/d/x.txt", "x.txt", 3,
                                         DIGEST.hex()))
        self.assertEqual(seconds_of(x["mtime"]), 5)

    def test_request_failed_is_shown(self):
        node = self.raw_node()
        for code in ("not_found", "permission_denied", "io_error"):
            self.srv.send("ls raw:/gone")
            req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
            node.send(request_failed_body(req_id, code, "the %s text" % code))
            line = self.error_line()
            self.assertIn("the %s text" % code, line)
            self.assertIn(code, line)
        # not_a_directory makes `ls` show the entry itself, as ls(1) does.
        self.srv.send("ls --json raw:/file")
        req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
        node.send(request_failed_body(req_id, "not_a_directory", "a file"))
        req_id, path, _ = node.expect(harness.TAG_STAT_REQUEST)
        self.assertEqual(path, b"/file")
        node.send(stat_reply_body(req_id, enc_entry("file", "file", 0, 1,
                                                    sha256=DIGEST)))
        _, line = self.srv.read_until(lambda x: True)
        self.assertEqual(harness.json.loads(line)["name"], "file")
        node.quiet_for(0.3)
        self.assertIn("raw", self.srv.node_names())

    def test_request_log(self):
        # README: every request is logged with node, address:port, command,
        # path, status, error type and message.
        node = self.raw_node()
        self.srv.send("ls raw:/logged")
        req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
        node.send(request_failed_body(req_id, "permission_denied",
                                      "nope, not you"))
        self.error_line()
        self.srv.command("nodes")
        port = [x["port"] for x in self.srv.nodes() if x["name"] == "raw"][0]
        for text in (self.srv.log_text(), self.srv.stderr_text()):
            lines = [x for x in text.splitlines() if "/logged" in x]
            self.assertEqual(len(lines), 1, text[-2000:])
            for part in ("raw", "127.0.0.1:%d" % port, "ls",
                         "permission_denied", "nope, not you"):
                self.assertIn(part, lines[0])

    def test_node_supplied_text_is_escaped(self):
        # PRODUCT BUG (reported): text that comes from a node (its hostname
        # in `use`, request_failed messages, entry error messages in `ls` and
        # `stat`) is printed raw: invalid UTF-8 and terminal control
        # sequences (ESC) reach the operator's terminal. PROTOCOL.md: such
        # fields are "meant to be UTF-8. Receivers must not rely on it."
        evil = b"\x1b[2J\x1b]0;owned\x07\xff"
        node = RawNode(self.srv, "evil", hostname=b"host" + evil,
                       root=b"/root" + evil)
        self.addCleanup(node.close)
        outputs = {}
        outputs["use"] = self.srv.command("use evil")
        outputs["nodes"] = self.srv.command("nodes")
        outputs["nodes --json"] = self.srv.command("nodes --json")
        self.srv.send("ls evil:/failing")
        req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
        node.send(request_failed_body(req_id, "io_error", b"oops" + evil))
        outputs["request_failed"] = [self.srv.read_line()]
        for json_flag in ("", " --json"):
            self.srv.send("ls%s evil:/dir" % json_flag)
            req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
            node.send(entries_chunk_body(req_id, [enc_entry(
                "f", "file", 0, 0, error=("io_error", b"bad" + evil))]))
            node.expect(harness.TAG_CHUNK_ACK)
            node.send(list_end_body(req_id, 1))
            outputs["ls" + json_flag] = self.srv.command("pwd")
        self.srv.send("stat evil:/f")
        req_id, _, _ = node.expect(harness.TAG_STAT_REQUEST)
        node.send(stat_reply_body(req_id, enc_entry(
            "f", "file", 0, 0, error=("io_error", b"bad" + evil))))
        outputs["stat"] = self.srv.command("pwd")
        bad = {}
        for what, lines in outputs.items():
            for line in lines:
                if line.startswith("<<INVALID UTF-8>>") or any(
                        ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f
                        for c in line):
                    bad.setdefault(what, []).append(line)
        self.assertEqual(bad, {}, "raw node text on the operator's screen")

    # -- timeouts, cancel and late frames

    def test_request_timeout_and_cancel(self):
        node = self.raw_node()
        start = time.monotonic()
        self.srv.send("ls --json raw:/slow")
        req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
        line = self.error_line(timeout=6)
        elapsed = time.monotonic() - start
        self.assertIn("timeout", line)
        self.assertGreater(elapsed, 1.5, "--request-timeout=2s")
        self.assertLess(elapsed, 4.5)
        cancel_id, _, _ = node.expect(harness.TAG_CANCEL, timeout=2)
        self.assertEqual(cancel_id, req_id)
        # The node stays connected; its late answer is ignored.
        node.send(request_failed_body(req_id, "cancelled", "cancelled"))
        node.send(list_end_body(req_id, 0))
        node.quiet_for(0.5)
        self.assertIn("raw", self.srv.node_names())
        # And it is still usable.
        self.srv.send("ls --json raw:/")
        req2, _, _ = node.expect(harness.TAG_LIST_REQUEST)
        self.assertNotEqual(req2, req_id)
        node.send(entries_chunk_body(req2, [enc_entry("ok", "dir", 0, 0,
                                                      items=0)]))
        node.expect(harness.TAG_CHUNK_ACK)
        node.send(list_end_body(req2, 1))
        _, line = self.srv.read_until(lambda x: True)
        self.assertEqual(harness.json.loads(line)["name"], "ok")

    def test_chunks_keep_a_slow_listing_alive(self):
        # The timeout counts silence, not the whole listing (help: "time the
        # shell waits for a node that sends nothing while answering").
        node = self.raw_node()
        self.srv.send("ls --json raw:/")
        req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
        for i in range(4):  # 4 x 0.8 s > 2 s timeout, no gap > 2 s
            time.sleep(0.8)
            node.send(entries_chunk_body(req_id, [enc_entry(
                "e%d" % i, "file", 0, 0, sha256=DIGEST)]))
            node.expect(harness.TAG_CHUNK_ACK)
        node.send(list_end_body(req_id, 4))
        lines = [self.srv.read_until(lambda x: True)[1] for _ in range(4)]
        self.assertEqual([harness.json.loads(x)["name"] for x in lines],
                         ["e0", "e1", "e2", "e3"])

    def test_frames_for_unknown_ids_are_ignored(self):
        node = self.raw_node()
        node.send(list_end_body(999, 0))
        node.send(request_failed_body(998, "not_found", "x"))
        node.send(entries_chunk_body(997, [enc_entry("zz", "file", 0, 0)]))
        node.send(stat_reply_body(996, enc_entry("zz", "file", 0, 0)))
        node.quiet_for(0.5)
        self.assertIn("raw", self.srv.node_names())

    # -- invalid answers end the connection, nothing else

    def test_invalid_entry_names(self):
        for i, bad in enumerate((b"a/b", b"..", b".", b"", b"x\x00y")):
            name = "bad%d" % i
            node = self.raw_node(name)
            self.srv.send("ls --json %s:/" % name)
            req_id, _, _ = node.expect(harness.TAG_LIST_REQUEST)
            node.send(entries_chunk_body(req_id, [
                enc_entry("fine", "file", 0, 0, sha256=DIGEST),
                enc_entry(bad, "file", 0, 0, sha256=DIGEST)]))
            got = node.next_frame(timeout=3)
            while got is not None and got[0] == harness.TAG_CHUNK_ACK:
                got = node.next_frame(timeout=3)
            self.assertIsNotNone(got, "closed without goodbye (%r)" % bad)
            self.assertEqual(got[0], harness.TAG_GOODBYE, (bad, got))
            code, reason = harness.decode_code_reason(got[1])
            self.assertEqual(code, "protocol_error", (bad, reason))
            self.assertIsNone(node.next_frame(timeout=3))
            # The listing fails as a whole: no half-answer is printed.
            line = self.error_line()
            harness.wait_for(lambda: name not in self.srv.node_names(), 3,
                             what="%s to be dropped" % name)
        self.assertEqual(self.srv.nodes(), [])
        self.assertTrue(self.srv.running())

    def test_invalid_node_names_rejected(self):
        for bad in (b"", b"a:b", b"a/b", b"a b", b"x" * 65, b"caf\xc3\xa9",
                    b"tab\there", b"back\\slash"):
            sock = harness.raw_connect(self.srv, timeout=5)
            self.addCleanup(sock.close)
            sock.sendall(harness.frame(harness.hello_body(
                bad, token=self.srv.token())))
            frames, closed = harness.read_until_closed(sock, 3)
            self.assertTrue(closed)
            self.assertEqual([t for t, _ in frames], [harness.TAG_REJECT],
                             (bad, frames))
            code, _ = harness.decode_code_reason(frames[0][1])
            self.assertEqual(code, "bad_request", bad)
        self.assertEqual(self.srv.nodes(), [])
        # 64 characters is still fine.
        self.raw_node("y" * 64)


if __name__ == "__main__":
    harness.main()
