#!/usr/bin/env python3
"""System test: what the operator sees when listing nodes' trees.

Two real nodes serve real trees; every `ls --json`/`stat --json` answer is
checked against an independent computation: os.lstat for type, size and
mtime, os.listdir for item counts, os.readlink for link targets and the
`sha256sum` binary for file contents.
"""

import datetime
import json
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import escape_name  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--request-timeout=20s"]
CLIENT_ARGS = ["--reconnect-min=200ms"]

BIG = 5 * 1024 * 1024
NS = 10 ** 9
MANY = 1000

# Awkward raw names (bytes) at the root of n1, with their display form as
# PROTOCOL.md section 3 specifies it, written out by hand.
ODD_NAMES = {
    b"bad\xffname": "bad\\xffname",
    b"back\\slash": "back\\\\slash",
    b"ctl\x01char": "ctl\\x01char",
    b"c1\xc2\x85x": "c1\\xc2\\x85x",
    "h\u00e9llo_\u00fc.txt".encode(): "h\u00e9llo_\u00fc.txt",
    b"name with spaces.txt": "name with spaces.txt",
    b"new\nline": "new\\x0aline",
    b"tab\there": "tab\\x09here",
    b"del\x7f": "del\\x7f",
    b"it's.txt": "it's.txt",
    b"a:b": "a:b",
    b"--odd": "--odd",
    b"L" * 255: "L" * 255,
}
WIDE = 3000  # entries with 200-byte names: many chunks, flow control


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def build_n1(root):
    write(os.path.join(root, "empty.txt"), b"")
    write(os.path.join(root, "one.bin"), b"x")
    write(os.path.join(root, "b65536.bin"), os.urandom(65536))
    write(os.path.join(root, "b65537.bin"), os.urandom(65537))
    write(os.path.join(root, "big5m.bin"), os.urandom(BIG))
    for raw in ODD_NAMES:
        write(os.path.join(os.fsencode(root), raw), b"odd " + raw)
    os.mkfifo(os.path.join(root, "fifo"))
    # A UNIX socket, and (as root) endless and empty character devices:
    # none may be opened, let alone hashed.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.path.join(root, "sock"))
    finally:
        sock.close()
    if os.geteuid() == 0:
        os.mknod(os.path.join(root, "zero"), stat.S_IFCHR | 0o666,
                 os.makedev(1, 5))
        os.mknod(os.path.join(root, "null"), stat.S_IFCHR | 0o666,
                 os.makedev(1, 3))
    os.symlink("/etc", os.path.join(root, "link_out"))
    os.symlink("/etc/passwd", os.path.join(root, "link_passwd"))
    os.symlink("../../..", os.path.join(root, "link_up"))
    os.symlink("nested", os.path.join(root, "link_in"))
    os.symlink("does-not-exist", os.path.join(root, "link_dangling"))
    os.symlink("link_loop", os.path.join(root, "link_loop"))
    os.mkdir(os.path.join(root, "emptydir"))
    # nested/{a/b/c.txt, x.txt, lnk -> a/b}
    os.makedirs(os.path.join(root, "nested", "a", "b"))
    write(os.path.join(root, "nested", "a", "b", "c.txt"), b"deep")
    write(os.path.join(root, "nested", "x.txt"), b"12345")
    os.symlink("a/b", os.path.join(root, "nested", "lnk"))
    wide = os.path.join(root, "wide")
    os.mkdir(wide)
    for i in range(WIDE):
        write(os.path.join(wide, "%05d" % i + "w" * 195), b"%d" % (i % 7))
    many = os.path.join(root, "many")
    os.mkdir(many)
    for i in range(MANY):
        write(os.path.join(many, "f%04d" % i), (b"%d," % i) * (i % 37))
    # Times: nanoseconds just below a second boundary, and before 1970.
    old = os.path.join(root, "old.txt")
    write(old, b"old")
    os.utime(old, ns=(981173106_999999999, 981173106_999999999))
    pre = os.path.join(root, "pre_epoch.txt")
    write(pre, b"pre")
    os.utime(pre, ns=(-1_500_000_000, -1_500_000_000))


def build_n2(root):
    # Same name as in n1, different contents: answers must not mix nodes.
    write(os.path.join(root, "empty.txt"), b"not empty on n2\n")
    write(os.path.join(root, "only_in_n2.txt"), b"n2")
    os.makedirs(os.path.join(root, "sub", "inner"))
    write(os.path.join(root, "sub", "f"), b"f" * 100)


def sha256sum(directory, raw_names):
    """Hex digests of the given files (bytes names in `directory`), by the
    coreutils binary, in order."""
    if not raw_names:
        return {}
    out = subprocess.run(["sha256sum", "--"] + list(raw_names),
                         cwd=directory, stdout=subprocess.PIPE, check=True,
                         timeout=60).stdout.decode("ascii", "replace")
    lines = out.splitlines()
    assert len(lines) == len(raw_names), out
    return {name: line.lstrip("\\")[:64]
            for name, line in zip(raw_names, lines)}


def type_name(mode):
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


def expected_entries(directory):
    """Display name -> expected JSON fields, for every entry of the local
    directory (bytes walk), plus the bytewise sorted order of names."""
    bdir = os.fsencode(directory)
    names = sorted(os.listdir(bdir))
    infos = {n: os.lstat(os.path.join(bdir, n)) for n in names}
    hashes = sha256sum(bdir, [n for n in names
                              if stat.S_ISREG(infos[n].st_mode)])
    result = {}
    for n in names:
        st = infos[n]
        e = {"name": escape_name(n), "type": type_name(st.st_mode),
             "size": st.st_size, "mtime_s": st.st_mtime_ns // 10**9}
        if stat.S_ISDIR(st.st_mode):
            e["items"] = len(os.listdir(os.path.join(bdir, n)))
        if n in hashes:
            e["sha256"] = hashes[n]
        if stat.S_ISLNK(st.st_mode):
            e["target"] = escape_name(os.readlink(os.path.join(bdir, n)))
        result[e["name"]] = e
    return result, [escape_name(n) for n in names]


def rfc3339_seconds(text):
    dt = datetime.datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise AssertionError("mtime %r has no UTC offset" % text)
    return int(dt.timestamp())


class Listing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="dirscope-listing-")
        cls.addClassCleanup(tmp.cleanup)
        cls.tmp = tmp.name
        cls.workdir = os.path.join(cls.tmp, "work")
        os.mkdir(cls.workdir)
        cls.root1 = os.path.join(cls.tmp, "root1")
        cls.root2 = os.path.join(cls.tmp, "root2")
        os.mkdir(cls.root1)
        os.mkdir(cls.root2)
        build_n1(cls.root1)
        build_n2(cls.root2)
        cls.server = harness.start_server(cls.workdir, cls.addClassCleanup,
                                          args=SERVER_ARGS)
        cls.n1 = harness.start_client(cls.workdir, cls.addClassCleanup,
                                      cls.server,
                                      cls.root1, "n1", args=CLIENT_ARGS)
        cls.n2 = harness.start_client(cls.workdir, cls.addClassCleanup,
                                      cls.server,
                                      cls.root2, "n2", args=CLIENT_ARGS)
        cls.n3 = harness.start_client(cls.workdir, cls.addClassCleanup,
                                      cls.server,
                                      os.path.join(cls.root1, "many"), "n3",
                                      args=CLIENT_ARGS + ["--sort-limit=100"])
        cls.server.wait_nodes(3, watch=[cls.n1, cls.n2, cls.n3])

    # -- helpers

    def ls_json(self, target):
        return self.server.command_json("ls --json %s" % target, timeout=30)

    def assert_entry(self, got, exp, context):
        where = "%s: entry %r" % (context, exp["name"])
        self.assertEqual(got.get("name"), exp["name"], where)
        self.assertEqual(got.get("type"), exp["type"], where)
        self.assertEqual(got.get("size"), exp["size"], where)
        self.assertEqual(rfc3339_seconds(got["mtime"]), exp["mtime_s"],
                         "%s: mtime %s" % (where, got["mtime"]))
        for key in ("items", "sha256", "target"):
            self.assertEqual(got.get(key), exp.get(key),
                             "%s: %s" % (where, key))
        self.assertNotIn("error", got, where)

    def check_listing(self, node, node_path, local_dir):
        """`ls --json node:node_path` must match local_dir exactly, in
        bytewise name order."""
        got = self.ls_json("%s:%s" % (node, node_path))
        expected, order = expected_entries(local_dir)
        context = "ls %s:%s" % (node, node_path)
        self.assertEqual([x.get("name") for x in got], order, context)
        for x in got:
            self.assertEqual(x.get("node"), node, context)
            self.assertEqual(x.get("path"), node_path, context)
            self.assert_entry(x, expected[x["name"]], context)
        return got

    # -- tests

    def test_root_listing_matches_filesystem(self):
        got = self.check_listing("n1", "/", self.root1)
        names = {x["name"] for x in got}
        # The awkward names arrive in the display form written by hand too.
        for shown in ODD_NAMES.values():
            self.assertIn(shown, names)
        by_name = {x["name"]: x for x in got}
        self.assertEqual(by_name["empty.txt"]["sha256"],
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        self.assertEqual(by_name["big5m.bin"]["size"], BIG)
        self.assertEqual(by_name["link_out"]["target"], "/etc")
        self.assertEqual(by_name["link_in"]["target"], "nested")
        self.assertEqual(by_name["many"]["items"], MANY)
        self.assertEqual(by_name["fifo"]["type"], "other")
        self.assertNotIn("sha256", by_name["fifo"])
        # Second precision, rounded down, also before the epoch.
        self.assertEqual(rfc3339_seconds(by_name["old.txt"]["mtime"]),
                         981173106)
        self.assertEqual(rfc3339_seconds(by_name["pre_epoch.txt"]["mtime"]),
                         -2)

    def test_second_node_and_no_mixing(self):
        got = self.check_listing("n2", "/", self.root2)
        by_name = {x["name"]: x for x in got}
        self.assertEqual(by_name["empty.txt"]["size"], 16)
        self.check_listing("n2", "/sub", os.path.join(self.root2, "sub"))
        self.check_listing("n1", "/nested", os.path.join(self.root1, "nested"))
        err = self.server.command("ls --json n2:/many")
        self.assertEqual(len(err), 1, err)
        self.assertTrue(err[0].startswith("error:"), err)

    def test_nested_and_big_directory(self):
        self.check_listing("n1", "/nested/a", os.path.join(self.root1,
                                                           "nested", "a"))
        self.check_listing("n1", "/nested/a/b", os.path.join(
            self.root1, "nested", "a", "b"))
        self.check_listing("n1", "/emptydir", os.path.join(self.root1,
                                                           "emptydir"))
        got = self.check_listing("n1", "/many", os.path.join(self.root1,
                                                             "many"))
        self.assertEqual(len(got), MANY)
        text = self.server.command("ls n1:/many", timeout=30)
        self.assertEqual(len(text), MANY + 2, text[:3] + text[-3:])
        self.assertTrue(text[0].startswith("TYPE"), text[0])
        self.assertEqual(text[-1], "%d entries" % MANY)

    def test_text_listing_row(self):
        out = self.server.command("ls n1:/nested")
        self.assertTrue(out[0].split() == ["TYPE", "MTIME", "SIZE",
                                           "ITEMS/SHA256", "NAME"], out)
        self.assertEqual(out[-1], "3 entries")
        rows = {line.split()[-1]: line.split() for line in out[1:-1]}
        digest = sha256sum(os.path.join(self.root1, "nested"),
                           [b"x.txt"])[b"x.txt"]
        self.assertEqual(rows["x.txt"][0], "file")
        self.assertEqual(rows["x.txt"][2], "5")
        self.assertEqual(rows["x.txt"][3], digest)
        self.assertEqual(rows["a"][0], "dir")
        self.assertEqual(rows["a"][3:5], ["1", "item"])
        link = [line for line in out if "lnk -> a/b" in line]
        self.assertEqual(len(link), 1, out)
        self.assertTrue(link[0].startswith("link"), link)

    def test_fifo_never_blocks(self):
        start = time.monotonic()
        specials = ["sock"] + (["zero", "null"] if os.geteuid() == 0 else [])
        for name in specials:
            got = self.server.command_json("stat --json n1:/" + name,
                                           timeout=5)
            self.assertEqual(got[0]["type"], "other", got)
            self.assertNotIn("sha256", got[0])
        got = self.server.command_json("stat --json n1:/fifo", timeout=5)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["type"], "other")
        self.assertNotIn("sha256", got[0])
        got = self.server.command_json("ls --json n1:/fifo", timeout=5)
        self.assertEqual([x["type"] for x in got], ["other"])
        self.assertLess(time.monotonic() - start, 5)

    def test_stat(self):
        got = self.server.command_json("stat --json n1:/big5m.bin")
        self.assertEqual(len(got), 1, got)
        exp, _ = expected_entries(self.root1)
        self.assertEqual(got[0]["node"], "n1")
        # "path" is the entry's own path, as in the text form (issue 11).
        self.assertEqual(got[0]["path"], "/big5m.bin")
        self.assert_entry(got[0], exp["big5m.bin"], "stat big5m.bin")
        got = self.server.command_json("stat --json n1:/nested/a/b/c.txt")
        exp, _ = expected_entries(os.path.join(self.root1, "nested", "a", "b"))
        self.assertEqual(got[0]["path"], "/nested/a/b/c.txt")
        self.assert_entry(got[0], exp["c.txt"], "stat c.txt")
        got = self.server.command_json("stat --json n1:/link_out")
        self.assertEqual(got[0]["type"], "symlink")
        self.assertEqual(got[0]["target"], "/etc")
        # The text form.
        out = self.server.command("stat n1:/")
        fields = dict(line.split(": ", 1) for line in out)
        self.assertEqual(fields["node"], "n1")
        self.assertEqual(fields["path"], "/")
        self.assertEqual(fields["type"], "dir")
        self.assertEqual(int(fields["items"]), len(os.listdir(self.root1)))
        self.assertEqual(rfc3339_seconds(fields["mtime"]),
                         os.lstat(self.root1).st_mtime_ns // 10**9)

    def test_odd_names_addressed_back(self):
        bdir = os.fsencode(self.root1)
        exp, _ = expected_entries(self.root1)
        for raw, shown in ODD_NAMES.items():
            if " " in shown:
                typed = '"n1:/%s"' % shown
            elif "'" in shown:
                typed = '"n1:/%s"' % shown
            else:
                typed = "n1:/" + shown
            got = self.server.command_json("stat --json %s" % typed)
            self.assertEqual(len(got), 1, (typed, got))
            self.assert_entry(got[0], exp[shown], "stat %s" % typed)
            digest = sha256sum(bdir, [raw])[raw]
            self.assertEqual(got[0]["sha256"], digest)
        # Space escaped with a backslash instead of quotes.
        got = self.server.command_json(
            "stat --json n1:/name\\ with\\ spaces.txt")
        self.assertEqual(got[0]["name"], "name with spaces.txt")
        # Single quotes keep escapes working (help ls: 'with space/caf\xe9').
        got = self.server.command_json("stat --json 'n1:/bad\\xffname'")
        self.assertEqual(got[0]["name"], "bad\\xffname")
        # A colon after the first slash is part of the name; ./a:b is the
        # relative spelling; -- ends the options.
        self.server.command("use n1")
        self.server.command("cd /")
        got = self.server.command_json("stat --json ./a:b")
        self.assertEqual((got[0]["path"], got[0]["name"]), ("/a:b", "a:b"))
        got = self.server.command_json("ls --json -- --odd")
        self.assertEqual([x["name"] for x in got], ["--odd"])
        # A bad escape is refused, not guessed.
        out = self.server.command("stat --json n1:/bad\\qname")
        self.assertEqual(len(out), 1, out)
        self.assertTrue(out[0].startswith("error:"), out)

    def test_use_cd_pwd_relative(self):
        out = self.server.command("use n1")
        self.assertEqual(out, ["using node n1 (%s, root %s)"
                               % (socket.gethostname(),
                                  os.path.realpath(self.root1))])
        self.assertEqual(self.server.command("cd /"), [])
        self.assertEqual(self.server.command("pwd"), ["n1:/"])
        # .. at the root stays at the root.
        self.assertEqual(self.server.command("cd .."), [])
        self.assertEqual(self.server.command("pwd"), ["n1:/"])
        self.assertEqual(self.server.command("cd ../../.."), [])
        self.assertEqual(self.server.command("pwd"), ["n1:/"])
        got = self.ls_json("..")
        self.assertEqual({x["path"] for x in got}, {"/"})
        self.assertEqual(len(got), len(os.listdir(self.root1)))
        # Relative paths.
        self.assertEqual(self.server.command("cd nested"), [])
        self.assertEqual(self.server.command("pwd"), ["n1:/nested"])
        got = self.server.command_json("ls --json")
        self.assertEqual(sorted(x["name"] for x in got),
                         ["a", "lnk", "x.txt"])
        self.assertEqual({x["path"] for x in got}, {"/nested"})
        got = self.ls_json("a/b")
        self.assertEqual([(x["path"], x["name"]) for x in got],
                         [("/nested/a/b", "c.txt")])
        got = self.ls_json("./a/../a/./b")
        self.assertEqual([(x["path"], x["name"]) for x in got],
                         [("/nested/a/b", "c.txt")])
        got = self.ls_json("../../../nested/a")
        self.assertEqual({x["path"] for x in got}, {"/nested/a"})
        self.assertEqual(self.server.command("cd a/b"), [])
        self.assertEqual(self.server.command("pwd"), ["n1:/nested/a/b"])
        self.assertEqual(self.server.command("cd ../.."), [])
        self.assertEqual(self.server.command("pwd"), ["n1:/nested"])
        # cd into a file or a missing dir fails and keeps the directory.
        out = self.server.command("cd x.txt")
        self.assertEqual(len(out), 1, out)
        self.assertTrue(out[0].startswith("error:"), out)
        out = self.server.command("cd missing")
        self.assertEqual(len(out), 1, out)
        self.assertTrue(out[0].startswith("error:"), out)
        self.assertEqual(self.server.command("pwd"), ["n1:/nested"])
        # cd NODE:PATH switches node; each node keeps its own directory.
        self.assertEqual(self.server.command("cd n2:/sub"), [])
        self.assertEqual(self.server.command("pwd"), ["n2:/sub"])
        got = self.server.command_json("ls --json inner")
        self.assertEqual(got, [])
        got = self.server.command_json("ls --json")
        self.assertEqual(sorted(x["name"] for x in got), ["f", "inner"])
        self.assertEqual({x["node"] for x in got}, {"n2"})
        self.server.command("use n1")
        self.assertEqual(self.server.command("pwd"), ["n1:/nested"])
        self.server.command("cd /")

    def test_tree_depth_2(self):
        out = self.server.command("tree n1:/nested --depth 2")
        self.assertEqual(out, [
            "n1:/nested",
            "\u251c\u2500\u2500 a/ (1 item)",
            "\u2502   \u2514\u2500\u2500 b/ (1 item)",
            "\u251c\u2500\u2500 lnk -> a/b",
            "\u2514\u2500\u2500 x.txt (5 bytes)",
            "2 directories, 2 other entries",
        ])
        got = self.server.command_json("tree --json n1:/nested --depth 3")
        self.assertEqual([(x["path"], x["name"]) for x in got], [
            ("/nested", "a"), ("/nested/a", "b"), ("/nested/a/b", "c.txt"),
            ("/nested", "lnk"), ("/nested", "x.txt")])

    def test_nodes_json(self):
        got = [x for x in self.server.nodes() if x["name"] != "n3"]
        self.assertEqual(sorted(x["name"] for x in got), ["n1", "n2"])
        roots = {x["name"]: x["root"] for x in got}
        self.assertEqual(roots["n1"], os.path.realpath(self.root1))
        self.assertEqual(roots["n2"], os.path.realpath(self.root2))
        self.assertEqual(len({x["id"] for x in got}), 2)
        for x in got:
            self.assertEqual(x["address"], "127.0.0.1")
            self.assertIsInstance(x["port"], int)
            self.assertGreater(x["port"], 0)
            self.assertEqual(x["hostname"], socket.gethostname())
            since = datetime.datetime.fromisoformat(x["connected_since"])
            age = time.time() - since.timestamp()
            self.assertTrue(-5 < age < 120, x)
        # A node can be named by id too.
        ident = {x["name"]: x["id"] for x in got}["n2"]
        out = self.server.command("use %d" % ident)
        self.assertTrue(out and out[0].startswith("using node n2"), out)

    def test_errors(self):
        out = self.server.command("ls --json nosuchnode:/")
        self.assertEqual(len(out), 1, out)
        self.assertTrue(out[0].startswith("error:"), out)
        self.assertIn("nosuchnode", out[0])
        for cmd in ("ls --json n1:/does/not/exist", "stat n1:/nope.txt",
                    "ls n1:/nested/nope"):
            out = self.server.command(cmd)
            self.assertEqual(len(out), 1, (cmd, out))
            self.assertTrue(out[0].startswith("error:"), (cmd, out))
            self.assertTrue("not_found" in out[0]
                            or "not found" in out[0].lower(), (cmd, out))
        # The shell goes on after errors.
        self.assertEqual(len(self.ls_json("n1:/nested")), 3)

    def test_symlink_out_of_root_reveals_nothing(self):
        etc_names = {n for n in os.listdir("/etc") if len(n) >= 5}
        self.assertIn("passwd", etc_names)
        for cmd in ("ls --json n1:/link_out", "ls n1:/link_out/",
                    "ls --json n1:/link_out/ssl", "stat n1:/link_out/passwd",
                    "stat --json n1:/link_out/hostname",
                    "ls --json n1:/link_up", "ls --json n1:/link_up/etc",
                    "ls --json n1:/../../../etc", "cd n1:/link_out",
                    "ls --json n1:/link_passwd", "ls n1:/link_dangling",
                    "ls --json n1:/link_loop"):
            out = self.server.command(cmd)
            self.assertTrue(out, cmd)
            text = "\n".join(out)
            for n in etc_names:
                if n in cmd:
                    continue  # e.g. "passwd" in the path typed
                self.assertNotIn(n, text,
                                 "%s revealed /etc/%s: %r" % (cmd, n, out))
            self.assertNotIn("root:x:0", text)
            if cmd.startswith("ls") and "link_passwd" not in cmd \
                    and "link_dangling" not in cmd:
                self.assertEqual(len(out), 1, (cmd, out))
                self.assertTrue(out[0].startswith("error:"), (cmd, out))
        # tree through the link must not descend into /etc either.
        out = self.server.command("tree --json n1:/link_out --depth 2")
        self.assertNotIn("passwd", "\n".join(out))
        # `ls LINK` to a file shows the link itself, never the target's
        # contents or hash.
        out = self.server.command_json("stat --json n1:/link_passwd")
        self.assertEqual(out[0]["type"], "symlink")
        self.assertEqual(out[0]["target"], "/etc/passwd")
        self.assertNotIn("sha256", out[0])

    def test_symlink_inside_root(self):
        got = self.server.command_json("stat --json n1:/link_in")
        self.assertEqual(got[0]["type"], "symlink")
        self.assertEqual(got[0]["target"], "nested")
        if not self.kernel_has_openat2():
            print("note: kernel without openat2, links inside are refused")
            return
        # Links that stay inside the root resolve (node/confine.hpp).
        got = self.ls_json("n1:/link_in")
        self.assertEqual(sorted(x["name"] for x in got),
                         ["a", "lnk", "x.txt"])
        self.assertEqual({x["path"] for x in got}, {"/link_in"})
        got = self.ls_json("n1:/nested/lnk")
        self.assertEqual([x["name"] for x in got], ["c.txt"])

    def test_ls_of_a_file_shows_the_file(self):
        got = self.server.command_json("ls --json n1:/one.bin")
        self.assertEqual(len(got), 1, got)
        exp, _ = expected_entries(self.root1)
        self.assertEqual(got[0]["path"], "/")
        self.assert_entry(got[0], exp["one.bin"], "ls one.bin")

    def test_wide_directory_many_chunks(self):
        got = self.check_listing("n1", "/wide",
                                 os.path.join(self.root1, "wide"))
        self.assertEqual(len(got), WIDE)

    def test_unsorted_large_directory(self):
        # n3 lists at most 100 entries sorted (--sort-limit=100).
        got = self.server.command_json("ls --json n3:/", timeout=30)
        expected, _ = expected_entries(os.path.join(self.root1, "many"))
        self.assertEqual(sorted(x["name"] for x in got), sorted(expected))
        for x in got:
            self.assert_entry(x, expected[x["name"]], "ls n3:/")
        out = self.server.command("ls n3:/", timeout=30)
        self.assertEqual(out[-1], "%d entries (directory order: too large "
                         "to sort)" % MANY)

    def test_symlink_loop(self):
        got = self.server.command_json("stat --json n1:/link_loop")
        self.assertEqual((got[0]["type"], got[0]["target"]),
                         ("symlink", "link_loop"))
        for cmd in ("ls --json n1:/link_loop", "ls --json n1:/link_loop/x",
                    "cd n1:/link_loop"):
            out = self.server.command(cmd, timeout=5)
            self.assertEqual(len(out), 1, (cmd, out))
            self.assertTrue(out[0].startswith("error:"), (cmd, out))

    def test_path_too_long(self):
        out = self.server.command("ls --json n1:/" + "x/" * 2100)
        self.assertEqual(len(out), 1, out)
        self.assertTrue(out[0].startswith("error:"), out)
        self.assertIn("bad_request", out[0])

    def test_unreadable_directory(self):
        if os.geteuid() == 0:
            self.skipTest("running as root: permissions are not enforced")
        locked = os.path.join(self.root1, "locked")
        os.mkdir(locked)
        self.addCleanup(os.rmdir, locked)
        os.chmod(locked, 0)
        self.addCleanup(os.chmod, locked, 0o755)
        out = self.server.command("ls --json n1:/locked")
        self.assertEqual(len(out), 1, out)
        self.assertIn("permission_denied", out[0])

    def test_hashes_follow_content_changes(self):
        mut = os.path.join(self.root2, "mut")
        os.makedirs(mut, exist_ok=True)
        path = os.path.join(mut, "data.bin")
        write(path, b"A" * 4096)
        self.check_listing("n2", "/mut", mut)  # the node may cache it now
        # A normal rewrite: new contents, new mtime.
        time.sleep(0.01)
        write(path, b"B" * 4096)
        self.check_listing("n2", "/mut", mut)
        # PRODUCT BUG (reported): the node's hash cache is keyed by
        # (dev, inode, size, mtime) only, so a same-size rewrite in place
        # whose mtime is put back (touch -r, cp -p, or anyone hiding a
        # change) keeps showing the old SHA-256. ctime would catch it.
        before = os.lstat(path).st_mtime_ns
        with open(path, "r+b") as f:
            f.write(b"C" * 4096)
        os.utime(path, ns=(before, before))
        got = self.check_listing("n2", "/mut", mut)
        self.assertEqual(got[0]["sha256"], sha256sum(
            os.fsencode(mut), [b"data.bin"])[b"data.bin"])

    def test_shell_errors_and_help(self):
        for line in ("frobnicate", 'ls "unterminated', "wait-nodes abc",
                     "tree --depth -1 n1:/", "ls --bogus n1:/", "use",
                     "help nosuch", "cd", "stat", "kick",
                     "ls n1:/" + "x" * 100000):
            out = self.server.command(line)
            self.assertEqual(len(out), 1, (line[:40], out))
            self.assertTrue(out[0].startswith("error: "), (line[:40], out))
        self.assertEqual(self.server.command(""), [])
        self.assertEqual(self.server.command("   "), [])
        text = "\n".join(self.server.command("help"))
        for cmd in ("nodes", "use", "pwd", "cd", "ls", "stat", "tree",
                    "kick", "wait-nodes", "help", "quit"):
            self.assertRegex(text, r"(?m)^\s*%s\b" % re.escape(cmd))
        out = self.server.command("help ls")
        self.assertTrue(out[0].startswith("usage: ls"), out)
        # Options may follow the path, or use --opt=value.
        got = self.server.command_json("ls n1:/nested --json")
        self.assertEqual(len(got), 3)
        got = self.server.command_json("tree n1:/nested --depth=1 --json")
        self.assertEqual(sorted(x["name"] for x in got), ["a", "lnk",
                                                          "x.txt"])

    @staticmethod
    def kernel_has_openat2():
        release = os.uname().release.split(".")
        try:
            return (int(release[0]), int(release[1].split("-")[0])) >= (5, 6)
        except (ValueError, IndexError):
            return False


class TimeZones(harness.SystemTest):
    """mtime is shown in the server's local time: RFC 3339 with the zone's
    offset in JSON (UTC when the offset has seconds, as old local mean
    times do), plain local time in the table. Checked against zoneinfo."""

    TIMES = {
        "y2001.txt": 981173106_500000000,   # 2001-02-03T04:05:06.5Z
        "summer.txt": 1_690_000_000 * NS,   # 2023-07-22, DST in the north
        "y1920.txt": -1_564_531_200 * NS,   # 1920-06-01: LMT-style offsets
        "pre_epoch.txt": -1_500_000_000,    # 1969-12-31T23:59:58.5Z
    }

    def test_local_time_zones(self):
        root = self.make_dir("tz")
        for name, ns in self.TIMES.items():
            path = os.path.join(root, name)
            write(path, b"t")
            os.utime(path, ns=(ns, ns))
        actual = {n: os.lstat(os.path.join(root, n)).st_mtime_ns // NS
                  for n in self.TIMES}
        for tz in ("Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam",
                   "UTC"):
            if not os.path.exists(os.path.join("/usr/share/zoneinfo", tz)):
                print("note: no zoneinfo for %s; skipped" % tz)
                continue
            zone = zoneinfo.ZoneInfo(tz)
            srv = self.start_server(env={"TZ": tz}, name="server-" +
                                    tz.replace("/", "-"))
            node = self.start_client(srv, root, "tz")
            srv.wait_nodes(1, watch=[node])
            got = {x["name"]: x for x in srv.command_json("ls --json tz:/")}
            table = {line.split()[-1]: line.split()[1]
                     for line in srv.command("ls tz:/")[1:-1]}
            for name, secs in actual.items():
                local = datetime.datetime.fromtimestamp(secs, zone)
                offset = local.utcoffset()
                if offset.total_seconds() % 60:
                    want = datetime.datetime.fromtimestamp(
                        secs, datetime.timezone.utc).isoformat()
                else:
                    want = local.isoformat()
                self.assertEqual(got[name]["mtime"], want, (tz, name))
                self.assertEqual(table[name],
                                 local.strftime("%Y-%m-%dT%H:%M:%S"),
                                 (tz, name))
            srv.send("quit")
            self.assertExitsWith(srv, 0, timeout=5)
            self.assertExitsWith(node, 0, timeout=5)


if __name__ == "__main__":
    harness.main()
