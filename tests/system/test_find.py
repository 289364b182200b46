#!/usr/bin/env python3
"""System test: `find` on the node (issue 7 item 2) and `tree` on the same
walk (item 3), through the real binaries.

Every filter is checked against an independent computation on the same
tree: os.walk / os.lstat (types, sizes, mtimes), fnmatch, the `find`
binary and the `sha256sum` binary. Root confinement: symlinks pointing out
of the root, `..` in paths, names with newlines and non-UTF-8 bytes, an
unreadable directory.
"""

import fnmatch
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import escape_name  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--request-timeout=20s"]
DAY = 86400
NOW = time.time()


def write(path, data, age_days=None):
    with open(path, "wb") as f:
        f.write(data)
    if age_days is not None:
        t = NOW - age_days * DAY
        os.utime(path, (t, t))


def build(root):
    r = os.fsencode(root)
    j = os.path.join
    write(j(r, b"a.txt"), b"abc", age_days=30)
    write(j(r, b"big.bin"), b"x" * 5000)
    write(j(r, b"same1.dat"), b"same content\n")
    os.makedirs(j(r, b"sub/deeper/deepest"))
    write(j(r, b"sub/same2.dat"), b"same content\n", age_days=3)
    write(j(r, b"sub/k1024"), b"k" * 1024, age_days=10)
    write(j(r, b"sub/deeper/c.txt"), b"c" * 2000)
    write(j(r, b"sub/deeper/deepest/d.txt"), b"")
    write(j(r, b"sub/new\nline.txt"), b"nl")
    write(j(r, b"sub/bad\xff\xfename.txt"), b"raw bytes")
    os.symlink(b"/etc", j(r, b"link_out"))
    os.symlink(b"../../..", j(r, b"sub/up_link"))
    os.symlink(b"sub", j(r, b"link_in"))
    os.makedirs(j(r, b"locked/inner"))
    write(j(r, b"locked/inner/secret.txt"), b"secret")
    os.makedirs(j(r, b"empty"))


def sha256sum(path):
    out = subprocess.run(["sha256sum", "--", path], check=True,
                         stdout=subprocess.PIPE).stdout
    # sha256sum marks names it had to escape with a leading backslash.
    return out.split()[0].decode().lstrip("\\")


def rel_of(obj, base):
    """The relative path (escaped) of a find --json object under `base`."""
    if obj["path"] == "/" and obj["name"] == "/":
        return "."
    full = obj["path"].rstrip("/") + "/" + obj["name"]
    if full == base:
        return "."
    prefix = base.rstrip("/") + "/"
    assert full.startswith(prefix), (full, base)
    return full[len(prefix):]


def type_of(st):
    import stat as s
    if s.S_ISREG(st.st_mode):
        return "file"
    if s.S_ISDIR(st.st_mode):
        return "dir"
    if s.S_ISLNK(st.st_mode):
        return "symlink"
    return "other"


class FindTest(harness.SystemTest):

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="dirscope-find-")
        cls.addClassCleanup(tmp.cleanup)
        cls.tmp = tmp.name
        cls.workdir = os.path.join(cls.tmp, "work")
        os.mkdir(cls.workdir)
        cls.root = os.path.join(cls.tmp, "root")
        os.mkdir(cls.root)
        build(cls.root)
        cls.locked = os.path.join(cls.root, "locked")
        cls.as_root = os.geteuid() == 0
        os.chmod(cls.locked, 0)
        cls.addClassCleanup(os.chmod, cls.locked, 0o755)
        cls.server = harness.start_server(cls.workdir, cls.addClassCleanup,
                                          args=SERVER_ARGS)
        cls.n1 = harness.start_client(cls.workdir, cls.addClassCleanup,
                                      cls.server, cls.root, "n1")
        cls.server.wait_nodes(1, watch=[cls.n1])

    # -- the independent view of the tree

    def local_entries(self, top=None, max_depth=None):
        """{escaped relative path: (raw rel, lstat)} as os.walk sees it,
        never following links, unreadable directories not entered."""
        top = os.fsencode(top or self.root)
        result = {".": (b".", os.lstat(top))}
        for d, dirs, files, in ((a, b, c) for a, b, c, in
                                _walk(top)):
            for name in dirs + files:
                full = os.path.join(d, name)
                rel = os.path.relpath(full, top)
                depth = rel.count(b"/") + 1
                if max_depth is not None and depth > max_depth:
                    continue
                result[escape_name(rel)] = (rel, os.lstat(full))
        return result

    def find_json(self, args, base="/", resolved=None):
        got = self.server.command_json("find --json n1:%s %s" % (base, args),
                                       timeout=30)
        base = resolved or base
        rows = {}
        for x in got:
            self.assertEqual(x["node"], "n1")
            rel = rel_of(x, base)
            self.assertNotIn(rel, rows, "match reported twice")
            rows[rel] = x
        return rows

    # -- tests

    def test_all_entries_match_os_walk(self):
        rows = self.find_json("")
        local = self.local_entries()
        self.assertEqual(sorted(rows), sorted(local))
        for rel, (raw, st) in local.items():
            x = rows[rel]
            self.assertEqual(x["type"], type_of(st), rel)
            if x["type"] != "dir" and "error" not in x:
                self.assertEqual(x["size"], st.st_size, rel)
            self.assertNotIn("sha256", x, rel)  # hashing only when asked
        # Symlinks are entries, never followed: nothing beneath them.
        for rel in rows:
            self.assertFalse(rel.startswith(("link_out/", "link_in/",
                                             "sub/up_link/")), rel)
        self.assertEqual(rows["link_out"]["target"], "/etc")
        # Raw names come back escaped, as ls shows them.
        self.assertIn("sub/new\\x0aline.txt", rows)
        self.assertIn("sub/bad\\xff\\xfename.txt", rows)

    def test_unreadable_directory_is_an_entry_and_the_walk_goes_on(self):
        if self.as_root:
            self.skipTest("root reads every directory")
        rows = self.find_json("")
        self.assertIn("error", rows["locked"])
        self.assertEqual(rows["locked"]["error_code"], "permission_denied")
        self.assertNotIn("locked/inner", rows)
        self.assertIn("sub/deeper/deepest/d.txt", rows)
        self.assertIn("empty", rows)

    def test_name_and_type_against_find_binary(self):
        rows = self.find_json("--type f --name '*.txt'")
        out = subprocess.run(
            ["find", self.root, "-type", "f", "-name", "*.txt",
             "-printf", "%P\\0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        want = sorted(escape_name(x) for x in out.split(b"\0") if x)
        self.assertEqual(sorted(rows), want)
        for t, letter in (("dir", "d"), ("symlink", "l"), ("file", "f")):
            rows = self.find_json("--type %s" % letter)
            local = self.local_entries()
            want = sorted(r for r, (_, st) in local.items()
                          if type_of(st) == t)
            self.assertEqual(sorted(rows), want, t)

    def test_path_glob(self):
        rows = self.find_json("--path 'sub/deeper/*'")
        local = self.local_entries()
        want = sorted(r for r in local
                      if fnmatch.fnmatchcase(r, "sub/deeper/*"))
        self.assertEqual(sorted(rows), want)
        self.assertIn("sub/deeper/deepest/d.txt", rows)

    def test_size_filters(self):
        local = self.local_entries()
        files = {r: st.st_size for r, (_, st) in local.items()
                 if type_of(st) == "file"}
        cases = [("+1k", lambda n: n > 1024), ("-1k", lambda n: n < 1024),
                 ("1024", lambda n: n == 1024), ("+1999", lambda n: n > 1999)]
        for arg, pred in cases:
            rows = self.find_json("--type f --size=%s" % arg)
            self.assertEqual(sorted(rows),
                             sorted(r for r, n in files.items() if pred(n)),
                             arg)

    def test_mtime_and_newer(self):
        local = self.local_entries()
        now = time.time()
        rows = self.find_json("--type f --mtime -7d")
        want = sorted(r for r, (_, st) in local.items()
                      if type_of(st) == "file" and st.st_mtime > now - 7 * DAY)
        self.assertEqual(sorted(rows), want)
        self.assertNotIn("a.txt", rows)
        self.assertIn("sub/same2.dat", rows)
        rows = self.find_json("--type f --mtime +7d")
        self.assertEqual(sorted(rows), ["a.txt", "sub/k1024"])
        cut = int(now - 5 * DAY)
        rows = self.find_json("--type f --newer @%d" % cut)
        want = sorted(r for r, (_, st) in local.items()
                      if type_of(st) == "file" and st.st_mtime > cut)
        self.assertEqual(sorted(rows), want)
        out = self.server.command("find n1:/ --newer @1 --mtime -1d")
        self.assertTrue(any("not both" in x for x in out), out)

    def test_sha256_and_hash_against_sha256sum(self):
        digest = sha256sum(os.path.join(self.root, "same1.dat"))
        rows = self.find_json("--sha256 %s" % digest)
        self.assertEqual(sorted(rows), ["same1.dat", "sub/same2.dat"])
        for x in rows.values():
            self.assertEqual(x["sha256"], digest)
        rows = self.find_json("--type f --hash", base="/sub")
        for rel, x in rows.items():
            if "error" in x:
                continue
            raw = os.fsencode(os.path.join(self.root, "sub")) + b"/" + \
                self.local_entries(os.path.join(self.root, "sub"))[rel][0]
            self.assertEqual(x["sha256"], sha256sum(raw), rel)
        # Text rows: the hash in the details column, a footer with counts.
        out = self.server.command("find n1:/ --sha256 %s" % digest)
        self.assertTrue(out[-1].startswith("2 matches ("), out)
        self.assertEqual(sum(digest in line for line in out), 2, out)

    def test_max_depth(self):
        for depth in (0, 1, 2):
            rows = self.find_json("--max-depth %d" % depth)
            self.assertEqual(sorted(rows),
                             sorted(self.local_entries(max_depth=depth)),
                             depth)

    def test_confinement(self):
        # A symlink out of the root is reported, never entered.
        rows = self.find_json("", base="/link_out")
        self.assertEqual(list(rows), ["."])
        self.assertEqual(rows["."]["type"], "symlink")
        out = self.server.command("find n1:/link_out/passwd")
        self.assertTrue(any("outside_root" in x or "outside" in x
                            for x in out), out)
        # `..` stops at the root: the walk is the root's, nothing above.
        rows = self.find_json("--max-depth 1", base="/sub/../../..",
                              resolved="/")
        self.assertEqual(sorted(rows),
                         sorted(self.local_entries(max_depth=1)))
        for rel in self.find_json(""):
            if rel != ".":
                self.assertTrue(os.path.lexists(os.path.join(
                    os.fsencode(self.root),
                    harness_unescape(rel))), rel)

    def test_bad_options(self):
        for args, what in (("--type x", "--type"), ("--size=-0", "nothing"),
                           ("--sha256 abc", "64 hex"),
                           ("--mtime 3y", "--mtime"),
                           ("--newer 2026-13-01", "time")):
            out = self.server.command("find n1:/ %s" % args)
            self.assertTrue(any(what in x for x in out), (args, out))
        out = self.server.command("find n1:/nope")
        self.assertTrue(any("not_found" in x or "No such" in x for x in out),
                        out)

    def test_help(self):
        out = "\n".join(self.server.command("help find"))
        for word in ("--name", "--path", "--type", "--size", "--newer",
                     "--mtime", "--sha256", "--max-depth", "--hash",
                     "--json"):
            self.assertIn(word, out)

    def test_tree_streams_on_the_walk(self):
        out = self.server.command("tree n1:/sub --depth 2")
        self.assertEqual(out[0], "n1:/sub")
        self.assertEqual(out[1:4], [
            "\u251c\u2500\u2500 bad\\xff\\xfename.txt (9 bytes)",
            "\u251c\u2500\u2500 deeper/ (2 items)",
            "\u2502   \u251c\u2500\u2500 c.txt (2000 bytes)",
        ])
        self.assertEqual(out[-1], "2 directories, 6 other entries")
        # One request for the whole tree, not one listing per directory.
        log = self.server.log_text()
        self.assertIn("cmd=find path=/sub", log)


def _walk(top):
    for d, dirs, files in os.walk(top, followlinks=False):
        # Links to directories are entries, not directories to enter.
        links = [x for x in dirs if os.path.islink(os.path.join(d, x))]
        for x in links:
            dirs.remove(x)
        yield d, dirs, files + links


def harness_unescape(text):
    out = bytearray()
    i = 0
    b = text.encode()
    while i < len(b):
        if b[i:i + 2] == b"\\\\":
            out += b"\\"
            i += 2
        elif b[i:i + 2] == b"\\x":
            out.append(int(b[i + 2:i + 4], 16))
            i += 4
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


if __name__ == "__main__":
    harness.main()
