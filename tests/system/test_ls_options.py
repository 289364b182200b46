"""Issue 7 item 6: the `ls` options people type (-h, --sort, -r,
--no-hash), rows that fit the terminal, colours on a terminal only, and the
progress line of a long hash (issue 10 item 2) on a terminal only."""

import fcntl
import hashlib
import json
import os
import re
import struct
import termios

import harness

GiB = 1 << 30
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def write(path, data, mtime):
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


class LsOptionsTest(harness.SystemTest):

    def make_root(self):
        root = self.make_dir("root")
        write(os.path.join(root, "alpha.txt"), b"a" * 10, 1_700_000_300)
        write(os.path.join(root, "beta.bin"), b"b" * 4096, 1_700_000_100)
        write(os.path.join(root, "gamma.log"), b"c" * 1500, 1_700_000_200)
        os.mkdir(os.path.join(root, "sub"))
        os.utime(os.path.join(root, "sub"), (1_700_000_000, 1_700_000_000))
        os.symlink("alpha.txt", os.path.join(root, "link"))
        return root

    def node(self):
        root = self.make_root()
        srv = self.start_server()
        self.start_client(srv, root, "n1")
        srv.wait_nodes(1)
        return root, srv

    def test_sort_reverse_and_no_hash(self):
        _, srv = self.node()
        names = lambda cmd: [x["name"] for x in srv.command_json(cmd)]
        self.assertEqual(names("ls n1:/ --json --sort name"),
                         ["alpha.txt", "beta.bin", "gamma.log", "link",
                          "sub"])
        self.assertEqual(names("ls n1:/ --json -r"),
                         ["sub", "link", "gamma.log", "beta.bin",
                          "alpha.txt"])
        files = lambda cmd: [x for x in names(cmd) if "." in x]
        self.assertEqual(files("ls n1:/ --json --sort size"),
                         ["beta.bin", "gamma.log", "alpha.txt"])
        self.assertEqual(files("ls n1:/ --json --sort size -r"),
                         ["alpha.txt", "gamma.log", "beta.bin"])
        self.assertEqual(files("ls n1:/ --json --sort mtime"),
                         ["alpha.txt", "gamma.log", "beta.bin"])
        self.assertEqual(files("ls n1:/ --json --sort mtime -r"),
                         ["beta.bin", "gamma.log", "alpha.txt"])
        rows = srv.command_json("ls n1:/ --json --no-hash")
        self.assertEqual(len(rows), 5)
        self.assertFalse([x for x in rows if "sha256" in x], rows)
        hashed = srv.command_json("ls n1:/ --json")
        self.assertEqual([x["sha256"] for x in hashed
                          if x["name"] == "alpha.txt"],
                         [hashlib.sha256(b"a" * 10).hexdigest()])
        bad = srv.command("ls n1:/ --sort colour")
        self.assertIn("--sort expects name, size or mtime", bad[-1])

    def test_human_sizes_and_plain_rows_in_a_pipe(self):
        _, srv = self.node()
        out = srv.command("ls n1:/ -h --sort name")
        text = "\n".join(out)
        self.assertNotIn("\x1b", text)  # no colours in a pipe
        row = [x for x in out if x.endswith("beta.bin")][0]
        self.assertIn(" 4.0K ", row)
        row = [x for x in out if x.endswith("gamma.log")][0]
        self.assertIn(" 1.5K ", row)
        # A pipe gets the whole SHA-256, whatever the width.
        self.assertIn(hashlib.sha256(b"b" * 4096).hexdigest(), text)
        plain = srv.command("ls n1:/")
        self.assertTrue([x for x in plain if " 4096 " in x], plain)

    def test_help_documents_each_option(self):
        _, srv = self.node()
        text = "\n".join(srv.command("help ls"))
        for word in ("-h", "--sort", "-r", "--no-hash", "--json", "terminal",
                     "name", "size", "mtime"):
            self.assertIn(word, text)

    def test_terminal_rows_fit_80_columns_with_colours(self):
        root = self.make_root()
        # A big file: its hash shows on the progress line.
        with open(os.path.join(root, "huge.bin"), "wb") as f:
            f.truncate(2 * GiB)
        state_tty = os.path.join(self.tmp, "state-tty")
        port = harness.free_port()
        term = harness.PtyProcess("server-tty", [
            harness.server_bin(), "--state-dir=" + state_tty,
            "--bind", "127.0.0.1", "--port", str(port),
            "--log-file=" + os.path.join(self.tmp, "tty.log")], cwd=self.tmp)
        self.addCleanup(term.kill)
        fcntl.ioctl(term.master, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 24, 80, 0, 0))
        term.wait_output("dirscope> ")
        self.start_process("client-t1", harness.client_argv(
            port, root, "t1", args=[
                "--ca-file=" + os.path.join(state_tty, "ca.crt"),
                "--token-file=" + os.path.join(state_tty,
                                               "enrollment.token")]))
        mark = len(term.output())
        term.type("wait-nodes 1 --timeout 20")
        mark = term.wait_output("1 node(s) connected", since=mark)
        term.type("ls t1:/")
        end = term.wait_output("entries", since=mark, timeout=90)
        shown = term.output()[mark:end]
        # The progress line of the big file's hash was on the terminal.
        self.assertIn("hashing huge.bin", shown)
        rows = [ANSI.sub("", line.split("\r")[-1])
                for line in shown.split("\r\n")]
        rows = [x for x in rows
                if x.split(" ")[0] in ("TYPE", "file", "dir", "link")]
        # Names of at most 16 columns: every row fits 80 columns.
        self.assertGreaterEqual(len(rows), 7, shown)
        for line in rows:
            self.assertLessEqual(len(line), 80, repr(line))
        self.assertIn("\u2026", shown)  # the hash was shortened
        self.assertIn("\x1b[1;34msub\x1b[0m", shown)
        self.assertIn("\x1b[1;36mlink\x1b[0m -> alpha.txt", shown)
        # --json on a terminal: no colours, whole hashes.
        mark = len(term.output())
        term.type("ls t1:/ --json --sort name")
        end = term.wait_output('"name":"sub"', since=mark)
        shown = term.output()[mark:end]
        self.assertNotIn("\x1b[1;3", shown)
        self.assertIn(hashlib.sha256(b"a" * 10).hexdigest(), shown)
        term.type("quit")
        term.wait(timeout=15)


if __name__ == "__main__":
    harness.main()
