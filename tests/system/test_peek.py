#!/usr/bin/env python3
"""System test: cat, head and tail of a remote file (issue 7 item 5).

Real server and nodes on loopback, piped shell. The lines printed are
compared with coreutils head/tail (and the file itself for cat) run on the
same local files; then the node's allow-download policy, the cap (--max),
binary content (--binary) and escaped names.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SERVER_ARGS = ["--request-timeout=20s"]
MIB = 1 << 20


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def lines_of(data):
    """What the shell's output looks like line by line: a last line without
    a newline gets one."""
    text = data.decode("utf-8")
    if not text:
        return []
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


def coreutils(tool, n, path):
    return subprocess.run([tool, "-n", str(n), path], check=True,
                          stdout=subprocess.PIPE).stdout


def build_root(root):
    files = {
        "short.txt": b"one\ntwo\nthree\n",
        "no-newline.txt": b"alpha\nbeta\ngamma",
        "empty": b"",
        "blank-lines.txt": b"\n\n\nx\n\n",
        "one-line": b"just one line without newline",
        # About 2.3 MiB of numbered lines: more than the default cap.
        "big.log": b"".join(b"line %07d of the big log\n" % i
                            for i in range(90000)),
        "binary.bin": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8,
        "escape.txt": b"looks like text \x1b[2J but clears the screen\n",
    }
    for name, data in files.items():
        write(os.path.join(root, name), data)
    write(os.path.join(root, b"odd\xffname".decode("utf-8",
                                                    "surrogateescape")),
          b"odd\n")
    os.mkdir(os.path.join(root, "dir"))
    return files


class PeekTest(harness.SystemTest):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(args=SERVER_ARGS)
        self.root = self.make_dir("root")
        self.files = build_root(self.root)
        self.start_client(self.server, self.root, "n1",
                          args=["--allow-download"])
        closed = self.make_dir("closed")
        build_root(closed)
        self.start_client(self.server, closed, "shut")
        self.server.wait_nodes(2)

    def run_ok(self, line):
        out = self.server.command(line, timeout=60)
        errors = [x for x in out if x.startswith("error:")]
        self.assertEqual(errors, [], "%r failed: %r" % (line, out[-5:]))
        return out

    def run_error(self, line):
        out = self.server.command(line, timeout=60)
        errors = [x for x in out if x.startswith("error:")]
        self.assertEqual(len(errors), 1, "%r: expected one error, got %r"
                         % (line, out[-5:]))
        self.assertEqual(len(out), 1, "%r printed more than its error: %r"
                         % (line, out[:5]))
        return errors[0]

    def local(self, name):
        return os.path.join(self.root, name)

    def test_cat_prints_the_file(self):
        for name in ("short.txt", "no-newline.txt", "empty",
                     "blank-lines.txt", "one-line"):
            with self.subTest(name=name):
                self.assertEqual(self.run_ok("cat n1:/" + name),
                                 lines_of(self.files[name]))

    def test_head_and_tail_match_coreutils(self):
        for name in ("short.txt", "no-newline.txt", "empty",
                     "blank-lines.txt", "one-line", "big.log"):
            for n in (0, 1, 2, 3, 10, 25):
                for tool in ("head", "tail"):
                    with self.subTest(name=name, n=n, tool=tool):
                        want = coreutils(tool, n, self.local(name))
                        got = self.run_ok("%s -n %d n1:/%s" % (tool, n, name))
                        self.assertEqual(got, lines_of(want))
        # Default 10 lines, and the -nN and --lines N spellings.
        want = coreutils("tail", 10, self.local("big.log"))
        self.assertEqual(self.run_ok("tail n1:/big.log"), lines_of(want))
        want = coreutils("head", 4, self.local("big.log"))
        self.assertEqual(self.run_ok("head -n4 n1:/big.log"), lines_of(want))
        self.assertEqual(self.run_ok("head --lines 4 n1:/big.log"),
                         lines_of(want))

    def test_the_cap(self):
        big = self.files["big.log"]
        self.assertGreater(len(big), 2 * MIB)
        err = self.run_error("cat n1:/big.log")
        self.assertIn("larger than the cap of 1048576 bytes", err)
        self.assertIn("--max", err)
        self.assertEqual(self.run_ok("cat n1:/big.log --max 3M"),
                         lines_of(big))
        # Lines longer in total than the cap are refused, not cut.
        err = self.run_error("head -n 80000 n1:/big.log")
        self.assertIn("the first 80000 lines", err)
        err = self.run_error("tail -n 80000 n1:/big.log --max 512k")
        self.assertIn("the last 80000 lines", err)
        want = coreutils("tail", 80000, self.local("big.log"))
        self.assertEqual(self.run_ok("tail -n 80000 n1:/big.log --max 3M"),
                         lines_of(want))
        self.assertIn("at most 256M", self.run_error("cat n1:/big.log "
                                                     "--max 1G"))
        self.assertIn("--max expects a size",
                      self.run_error("cat n1:/big.log --max lots"))

    def test_binary_content_is_refused_unless_asked(self):
        for name in ("binary.bin", "escape.txt"):
            with self.subTest(name=name):
                err = self.run_error("cat n1:/" + name)
                self.assertIn("binary content", err)
                self.assertIn("--binary", err)
        # head stops before the binary part: text is printed.
        write(self.local("mixed"), b"text line\n\x00\x01binary\n")
        self.assertEqual(self.run_ok("head -n 1 n1:/mixed"), ["text line"])
        self.assertIn("binary content", self.run_error("tail -n 1 n1:/mixed"))
        # --binary prints the bytes as they are.
        self.assertEqual(self.run_ok("cat n1:/escape.txt --binary"),
                         lines_of(self.files["escape.txt"]))
        self.assertEqual(self.run_ok("tail -n 1 n1:/mixed --binary"),
                         ["\x00\x01binary"])

    def test_policy_and_errors(self):
        for line in ("cat shut:/short.txt", "head shut:/short.txt",
                     "tail -n 1 shut:/short.txt"):
            with self.subTest(line=line):
                self.assertIn("not permitted by node policy",
                              self.run_error(line))
        self.run_error("cat n1:/missing")
        self.run_error("cat n1:/dir")
        self.assertIn("usage: head", self.run_error("head -n"))
        self.assertIn("-n expects", self.run_error("head -n x n1:/short.txt"))
        # Names travel escaped, in the command and in messages.
        self.assertEqual(self.run_ok("cat n1:/odd\\xffname"), ["odd"])
        write(os.path.join(self.root, b"bin\xffary".decode(
            "utf-8", "surrogateescape")), b"\x00")
        err = self.run_error("cat n1:/bin\\xffary")
        self.assertIn("n1:/bin\\xffary", err)


if __name__ == "__main__":
    harness.main()
