#!/usr/bin/env python3
"""System test: file operations on nodes (issue 4).

Real nodes serve real trees; results are checked against the file system:
`du` against os.lstat sums, `rm` by looking at what is left (and at what
must be left: targets of symlinks, files outside the root), policy refusals
on both sides' logs, `broadcast` on every node's stdout and log, and the
reversed echo of a node whose stdin is a terminal (a pty).
"""

import os
import pty
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--request-timeout=20s"]
CLIENT_ARGS = ["--reconnect-min=200ms"]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def build_tree(root, outside):
    """root/tree: a.txt (3), sub/b.bin (70000), sub/deeper/, link -> a.txt,
    out -> `outside` (a directory with keep.txt)."""
    os.makedirs(os.path.join(root, "tree", "sub", "deeper"))
    write(os.path.join(root, "tree", "a.txt"), b"abc")
    write(os.path.join(root, "tree", "sub", "b.bin"), os.urandom(70000))
    os.symlink("a.txt", os.path.join(root, "tree", "link"))
    os.makedirs(outside, exist_ok=True)
    write(os.path.join(outside, "keep.txt"), b"keep me")
    os.symlink(outside, os.path.join(root, "tree", "out"))
    write(os.path.join(root, "file with space.txt"), b"x" * 1234)
    write(os.path.join(root, b"bad\xffname".decode("utf-8", "surrogateescape")),
          b"12345")
    write(os.path.join(root, "empty"), b"")


def walk_usage(path):
    """(bytes, files, dirs) beneath `path`, links not followed."""
    total = files = dirs = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                files += 1
                dirnames.remove(d)
            else:
                dirs += 1
        for f in filenames:
            st = os.lstat(os.path.join(dirpath, f))
            files += 1
            if not os.path.islink(os.path.join(dirpath, f)):
                total += st.st_size
    return total, files, dirs


class FileOpsTest(harness.SystemTest):

    def start(self, names_args):
        """A server and one node per (name, extra args); returns server and
        {name: (client, root)}."""
        server = self.start_server(args=SERVER_ARGS)
        nodes = {}
        for name, args in names_args:
            root = self.make_dir("root-" + name)
            build_tree(root, os.path.join(self.tmp, "outside-" + name))
            client = self.start_client(server, root, name,
                                       args=CLIENT_ARGS + list(args))
            nodes[name] = (client, root)
        server.wait_nodes(len(nodes))
        return server, nodes

    # -- du

    def test_du(self):
        server, nodes = self.start([("n1", [])])
        root = nodes["n1"][1]
        b, f, d = walk_usage(os.path.join(root, "tree"))
        self.assertEqual((b, f, d), (70003, 4, 2))
        out = server.command("du n1:/tree")
        self.assertEqual(out, ["n1:/tree: 70003 bytes (68.4 KiB) in 4 files "
                               "and 2 directories"])
        out = server.command("size 'n1:/file with space.txt'")
        self.assertEqual(out, ["n1:/file with space.txt: file, 1234 bytes "
                               "(1.2 KiB)"])
        out = server.command("du n1:/bad\\xffname")
        self.assertEqual(out, ["n1:/bad\\xffname: file, 5 bytes"])
        out = server.command("du n1:/empty")
        self.assertEqual(out, ["n1:/empty: file, 0 bytes"])
        out = server.command("du n1:/tree/link")
        self.assertEqual(out, ["n1:/tree/link: symlink, 5 bytes"])
        b, f, d = walk_usage(root)
        out = server.command("du n1:/")
        self.assertEqual(len(out), 1)
        m = re.match(r"n1:/: (\d+) bytes.* in (\d+) files? and (\d+) dir", out[0])
        self.assertTrue(m, out)
        self.assertEqual(tuple(int(x) for x in m.groups()), (b, f, d))
        out = server.command("du n1:/nope")
        self.assertEqual(len(out), 1)
        self.assertTrue(out[0].startswith("error:") and "not_found" in out[0],
                        out)
        out = server.command("du n1:/tree/out/keep.txt")
        self.assertTrue(out[0].startswith("error:"), out)
        log = server.log_text()
        # The request report names who asked: the server's own terminal.
        self.assertRegex(log, r"request node=n1 addr=\S+ operator=console "
                              r"cmd=du path=/tree status=ok")
        self.assertRegex(log, r"operator=console cmd=du path=/nope "
                              r"status=failed error=not_found")

    # -- rm

    def test_rm_refused_by_policy(self):
        server, nodes = self.start([("ro", [])])
        client, root = nodes["ro"]
        # The node's hello announced its policy: refused at once, before
        # describing the target or asking (issue 11); the node is not asked.
        out = server.command("rm ro:/tree/a.txt")
        self.assertTrue(any(x.startswith("error:") and "not permitted by node "
                            "policy" in x and "not_permitted" in x
                            for x in out), out)
        self.assertFalse(any("[y/N]" in x or "is a file" in x for x in out),
                         out)
        self.assertTrue(os.path.exists(os.path.join(root, "tree", "a.txt")))
        self.assertNotIn("refused to delete", client.stderr_text())

    def test_rm_file_asks_first(self):
        server, nodes = self.start([("n1", ["--allow-delete"])])
        root = nodes["n1"][1]
        a = os.path.join(root, "tree", "a.txt")
        # Anything but y/yes keeps the file.
        out = server.command_lines_with_answer("rm n1:/tree/a.txt", "no")
        self.assertIn("n1:/tree/a.txt is a file of 3 bytes", out)
        self.assertIn("delete n1:/tree/a.txt? [y/N] ", out)
        self.assertIn("not deleted", out)
        self.assertTrue(os.path.exists(a))
        out = server.command_lines_with_answer("rm n1:/tree/a.txt", "")
        self.assertIn("not deleted", out)
        self.assertTrue(os.path.exists(a))
        out = server.command_lines_with_answer("rm n1:/tree/a.txt", " YES ")
        self.assertIn("deleted n1:/tree/a.txt (1 entry)", out)
        self.assertFalse(os.path.exists(a))
        # A symlink is deleted itself; its target stays.
        out = server.command("rm n1:/tree/out -y")
        self.assertIn("n1:/tree/out is a symlink (only the link is deleted)",
                      out)
        self.assertIn("deleted n1:/tree/out (1 entry)", out)
        self.assertFalse(os.path.lexists(os.path.join(root, "tree", "out")))
        self.assertTrue(os.path.exists(os.path.join(
            self.tmp, "outside-n1", "keep.txt")))
        out = server.command("rm -y 'n1:/file with space.txt'")
        self.assertIn("deleted n1:/file with space.txt (1 entry)", out)
        out = server.command("rm -y n1:/bad\\xffname")
        self.assertIn("deleted n1:/bad\\xffname (1 entry)", out)
        self.assertEqual(sorted(os.listdir(root)), ["empty", "tree"])
        self.assertRegex(server.log_text(),
                         r"cmd=rm path=/tree/a.txt status=ok")

    def test_rm_dir_and_missing(self):
        server, nodes = self.start([("n1", ["--allow-delete"])])
        root = nodes["n1"][1]
        tree = os.path.join(root, "tree")
        out = server.command("rm n1:/tree -y")
        self.assertIn("n1:/tree is a directory holding 6 items (4 files, 2 "
                      "directories, 70003 bytes (68.4 KiB)); deleting it "
                      "needs -r", out)
        self.assertTrue(any(x.startswith("error:") and "needs -r" in x
                            for x in out), out)
        self.assertTrue(os.path.isdir(tree))
        out = server.command_lines_with_answer("rm n1:/tree -r", "n")
        self.assertIn("not deleted", out)
        self.assertTrue(os.path.isdir(tree))
        out = server.command_lines_with_answer("rm -r n1:/tree", "y")
        self.assertIn("deleted n1:/tree (7 entries)", out)
        self.assertFalse(os.path.exists(tree))
        self.assertTrue(os.path.exists(os.path.join(
            self.tmp, "outside-n1", "keep.txt")))
        for line in ("rm n1:/tree", "rm n1:/tree -y", "rm -ry n1:/tree"):
            out = server.command(line)
            self.assertEqual(len(out), 1, out)
            self.assertRegex(out[0], r"^error: n1:/tree does not exist: "
                                     r"nothing to delete \(not_found\)")
        out = server.command("rm n1:/ -r -y")
        self.assertTrue(out[0].startswith("error:") and "root" in out[0], out)
        self.assertTrue(os.path.isdir(root))
        out = server.command("rm n1:/../x -y")
        self.assertTrue(out[0].startswith("error:"), out)

    def test_rm_answer_at_end_of_input(self):
        server, nodes = self.start([("n1", ["--allow-delete"])])
        root = nodes["n1"][1]
        server.send("rm n1:/tree/a.txt")
        server.close_stdin()
        server.read_until(lambda x: x == "not deleted")
        self.assertExitsWith(server, 0)
        self.assertTrue(os.path.exists(os.path.join(root, "tree", "a.txt")))

    # -- broadcast and echo

    def test_broadcast_reaches_every_node(self):
        server, nodes = self.start([("n1", []), ("n2", []), ("n3", [])])
        out = server.command("broadcast 'maintenance at 18:00 \u20ac'")
        self.assertEqual(out, ["notice sent to 3 nodes"])
        for name, (client, _) in nodes.items():
            harness.wait_for(
                lambda: "notice from server: maintenance at 18:00 \u20ac"
                in harness.read_text(client.stdout_path), 5,
                what="notice on %s's stdout" % name)
            self.assertRegex(client.stderr_text(),
                             r"info.*notice from server: maintenance")

    def test_broadcast_too_long_is_refused_before_sending(self):
        server, nodes = self.start([("n1", [])])
        out = server.command("broadcast " + "x" * 70000)
        self.assertEqual(len(out), 1, out)
        self.assertRegex(out[0], r"^error: notice of 70000 bytes is too "
                                 r"long \(at most \d+\)")
        # Nobody was told, and the node is still there.
        self.assertEqual(server.node_names(), ["n1"])
        self.assertNotIn("notice", harness.read_text(nodes["n1"][0].stdout_path))

    def test_echo_from_a_terminal_is_reversed(self):
        server = self.start_server(args=SERVER_ARGS)
        root = self.make_dir("root-tty")
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        argv = harness.client_argv(server.port, root, "tty", host=server.host,
                                   args=server.client_args() + CLIENT_ARGS)
        client = harness.Process("client-tty", argv, self.workdir,
                                 stdin=slave)
        self.addCleanup(client.kill)
        os.close(slave)
        # A node without a terminal ignores its stdin.
        quiet = self.start_client(server, self.make_dir("root-pipe"), "pipe")
        server.wait_nodes(2)
        os.write(master, "h\u00e9llo w\u00f6rld\n".encode())
        server.read_until(lambda x: x == "[tty] h\u00e9llo w\u00f6rld")
        harness.wait_for(
            lambda: "dlr\u00f6w oll\u00e9h"
            in harness.read_text(client.stdout_path), 5, what="echo reply")
        self.assertEqual(harness.read_text(quiet.stdout_path), "")


def command_lines_with_answer(self, line, answer,
                              timeout=harness.DEFAULT_TIMEOUT):
    """Runs a command that asks a question, answers it with the next line,
    and returns the output (synchronised like Server.command)."""
    harness.Server._sync_counter += 1
    token = "sync-%d-done" % harness.Server._sync_counter
    self.send(line)
    self.send(answer)
    self.send("echo %s" % token)
    before, _ = self.read_until(lambda x: x == token, timeout=timeout)
    return before


harness.Server.command_lines_with_answer = command_lines_with_answer

if __name__ == "__main__":
    harness.main()
