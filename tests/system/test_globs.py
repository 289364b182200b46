#!/usr/bin/env python3
"""System test: globs in paths (issue 7 item 4) for ls, stat, get and rm.

A real server (piped shell) and a real node on loopback. What a glob
matches is checked against Python's glob over the same tree (hidden names
left out, '*' never crossing '/'); confinement: a symlink to a directory
outside the root is never walked into, '..' stops at the root, and names
with a newline or a byte that is not UTF-8 match and come back escaped.
"""

import glob
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def shown(raw):
    """A name as the shell shows it (protocol::escape_name, ASCII part)."""
    out = ""
    for b in raw:
        if b == 0x5C:
            out += "\\\\"
        elif b < 0x20 or b == 0x7F or b >= 0x80:
            out += "\\x%02x" % b
        else:
            out += chr(b)
    return out


class GlobTest(harness.SystemTest):

    def setUp(self):
        super().setUp()
        self.root = self.make_dir("root")
        self.outside = self.make_dir("outside")
        write(os.path.join(self.outside, "secret.log"), b"secret\n")
        log = os.path.join(self.root, "var", "log")
        for name in [b"a.log", b"b.log", b"c.txt", b".hidden.log",
                     b"caf\xe9.log", b"new\nline.log", b"sub/x.log",
                     b"sub/y.txt", b"d.log/inner"]:
            write(os.path.join(os.fsencode(log), name), b"data " + name)
        os.symlink(self.outside, os.path.join(log, "away"))
        os.symlink(os.path.join(self.outside, "secret.log"),
                   os.path.join(log, "out.log"))
        self.srv = self.start_server()
        self.start_client(self.srv, self.root, "n1",
                          args=["--allow-delete", "--allow-download"])
        self.srv.wait_nodes(1)

    def python_glob(self, pattern):
        """Relative names Python's glob finds (it never lists dotfiles)."""
        base = os.fsencode(os.path.join(self.root, "var", "log"))
        found = glob.glob(os.path.join(base, os.fsencode(pattern)))
        return sorted(os.path.relpath(x, base) for x in found)

    def test_ls_matches_what_a_shell_glob_matches(self):
        rows = self.srv.command_json("ls --json n1:/var/log/*.log")
        got = sorted(os.path.join(x["path"], x["name"])[len("/var/log/"):]
                     for x in rows)
        want = [shown(x) for x in self.python_glob("*.log")]
        self.assertEqual(got, sorted(want))
        self.assertIn("caf\\xe9.log", got)
        self.assertIn("new\\x0aline.log", got)
        self.assertNotIn(".hidden.log", got)
        by_name = {x["name"]: x for x in rows}
        self.assertEqual(by_name["out.log"]["type"], "symlink")
        self.assertEqual(by_name["d.log"]["type"], "dir")
        self.assertEqual(by_name["a.log"]["sha256"],
                         hashlib.sha256(b"data a.log").hexdigest())
        # Text rows end with the count.
        out = self.srv.command("ls n1:/var/log/?.log")
        self.assertEqual(out[-1], "3 matches")  # a.log b.log d.log

    def test_a_glob_never_leaves_the_root(self):
        # '*' in a middle component: sub/ matches, the symlink to a
        # directory outside the root is not walked into.
        rows = self.srv.command_json("ls --json n1:/var/log/*/*.log")
        got = sorted(x["path"] + "/" + x["name"] for x in rows)
        self.assertEqual(got, ["/var/log/sub/x.log"])
        out = self.srv.command("ls n1:/var/log/away/*")
        self.assertTrue(any("error" in x for x in out), out)
        self.assertFalse(any("secret" in x for x in out), out)
        # '..' stops at the root: the root's own entries.
        rows = self.srv.command_json("ls --json n1:/../../*")
        self.assertEqual(sorted(x["name"] for x in rows), ["var"])

    def test_stat_each_match(self):
        rows = self.srv.command_json("stat --json n1:/var/log/sub/*")
        self.assertEqual([(x["path"], x["name"]) for x in rows],
                         [("/var/log/sub/x.log", "x.log"),
                          ("/var/log/sub/y.txt", "y.txt")])
        self.assertEqual(rows[1]["sha256"],
                         hashlib.sha256(b"data sub/y.txt").hexdigest())
        out = self.srv.command("stat n1:/var/log/nothing*")
        self.assertTrue(any("no match" in x for x in out), out)

    def test_rm_lists_then_asks(self):
        log = os.path.join(self.root, "var", "log")
        # No: nothing goes.
        self.srv.send("rm n1:/var/log/*.txt")
        self.srv.send("n")
        out = self.srv.command("echo after-no")
        self.assertIn("1 entry matches:", "\n".join(out))
        self.assertIn("not deleted", out)
        self.assertTrue(os.path.exists(os.path.join(log, "c.txt")))
        # Yes: exactly the matches go; a directory needs -r.
        out = self.srv.command("rm -y n1:/var/log/*.log")
        self.assertTrue(any("needs -r" in x for x in out), out)
        self.assertTrue(os.path.exists(os.path.join(log, "a.log")))
        self.srv.send("rm -r n1:/var/log/[ab].log")
        self.srv.send("y")
        out = self.srv.command("echo after-yes")
        self.assertIn("2 entries match:", "\n".join(out))
        self.assertEqual(sorted(os.listdir(log)),
                         sorted([".hidden.log", "c.txt", "caf\udce9.log",
                                 "new\nline.log", "sub", "d.log", "away",
                                 "out.log"]))
        self.assertTrue(os.path.exists(os.path.join(self.outside,
                                                    "secret.log")))

    def test_get_fetches_each_match_into_a_directory(self):
        local = os.path.join(self.tmp, "logs")
        out = self.srv.command("get n1:/var/log/sub/* " + local, timeout=60)
        self.assertIn("2 entries match", out)
        self.assertEqual(sorted(os.listdir(local)), ["x.log", "y.txt"])
        for name in ["x.log", "y.txt"]:
            with open(os.path.join(local, name), "rb") as f:
                self.assertEqual(f.read(), b"data sub/" + name.encode())

    def test_node_sets_refuse_a_glob_clearly(self):
        out = self.srv.command("ls all:/var/log/*.log")
        self.assertTrue(any("a glob takes one node" in x for x in out), out)


if __name__ == "__main__":
    harness.main()
