#!/usr/bin/env python3
"""System test: directories travel as tar.gz (issue 4, part 3).

`get NODE:DIR` and `put -r LOCALDIR NODE:PATH` on real trees: nested and
empty directories, modes 0700/0644/0755, mtimes, a symlink that points out
of the root (kept as a link, its target never read), names with spaces and
invalid UTF-8. Both trees are compared independently (os.walk + lstat +
SHA-256). Refusals (policy, existing target) leave nothing behind.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--request-timeout=30s"]
CLIENT_ARGS = ["--reconnect-min=200ms"]
ODD = b"bad\xffname with space".decode("utf-8", "surrogateescape")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def snapshot(top):
    """{relative path: (kind, mode, mtime, content)} of everything beneath
    `top`, links not followed; the top directory as '.'."""
    result = {}

    def one(path, rel):
        st = os.lstat(path)
        mode = st.st_mode & 0o7777
        if os.path.islink(path):
            result[rel] = ("link", None, None, os.readlink(path))
        elif os.path.isdir(path):
            result[rel] = ("dir", mode, int(st.st_mtime), None)
        else:
            result[rel] = ("file", mode, int(st.st_mtime), sha256_of(path))

    one(top, ".")
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            one(path, os.path.relpath(path, top))
    return result


def make_tree(top, outside):
    os.makedirs(os.path.join(top, "a dir", "deep"))
    os.makedirs(os.path.join(top, "empty"))
    os.makedirs(os.path.join(top, "private"))
    with open(os.path.join(top, "a dir", "deep", ODD), "wb") as f:
        f.write(os.urandom(200000))
    with open(os.path.join(top, "plain.txt"), "wb") as f:
        f.write(b"hello\n")
    with open(os.path.join(top, "run.sh"), "wb") as f:
        f.write(b"#!/bin/sh\necho hi\n")
    with open(os.path.join(top, "private", "key"), "wb") as f:
        f.write(b"k")
    os.chmod(os.path.join(top, "run.sh"), 0o755)
    os.chmod(os.path.join(top, "plain.txt"), 0o644)
    os.chmod(os.path.join(top, "private", "key"), 0o600)
    os.chmod(os.path.join(top, "private"), 0o700)
    with open(outside, "wb") as f:
        f.write(b"outside the root")
    os.symlink(outside, os.path.join(top, "a dir", "out"))
    os.symlink("../plain.txt", os.path.join(top, "a dir", "rel"))
    t = 1000000000
    for rel in ("plain.txt", "run.sh", os.path.join("a dir", "deep", ODD),
                os.path.join("a dir", "deep"), "empty", "private", "a dir"):
        os.utime(os.path.join(top, rel), (t, t))
        t += 1000
    os.utime(top, (t, t))


def make_special_tree(top):
    """Modes an upload must not reproduce: setuid/setgid, sticky and
    world-writable entries."""
    os.makedirs(os.path.join(top, "tmp"))
    os.makedirs(os.path.join(top, "open"))
    for name, mode in (("suid", 0o6755), ("sgid", 0o2755),
                       (os.path.join("open", "any"), 0o666)):
        with open(os.path.join(top, name), "wb") as f:
            f.write(b"#!/bin/sh\n")
        os.chmod(os.path.join(top, name), mode)
    os.chmod(os.path.join(top, "tmp"), 0o1777)
    os.chmod(os.path.join(top, "open"), 0o777)
    os.chmod(top, 0o777)


# What make_special_tree's entries must become under umask 027.
SAFE_MODES = {".": 0o750, "suid": 0o750, "sgid": 0o750, "tmp": 0o750,
              "open": 0o750, os.path.join("open", "any"): 0o640}


def modes(top):
    return {rel: mode for rel, (kind, mode, _, _) in snapshot(top).items()}


def leftovers(top):
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        found += [n for n in dirnames + filenames
                  if n.startswith(".dirscope-upload")]
    return found


class TreeTransferTest(harness.SystemTest):

    def start(self, names_args):
        self.dl = os.path.join(self.tmp, "downloads")
        server = self.start_server(args=SERVER_ARGS
                                   + ["--download-dir=" + self.dl])
        nodes = {}
        for name, args in names_args:
            root = self.make_dir("root-" + name)
            client = self.start_client(server, root, name,
                                       args=CLIENT_ARGS + list(args))
            nodes[name] = (client, root)
        server.wait_nodes(len(nodes))
        return server, nodes

    def assert_ok(self, out, prefix):
        self.assertFalse([x for x in out if x.startswith("error:")], out)
        self.assertTrue(any(x.startswith(prefix) for x in out), out)

    def test_get_tree(self):
        server, nodes = self.start([("n1", ["--allow-download"])])
        root = nodes["n1"][1]
        make_tree(os.path.join(root, "t"), os.path.join(self.tmp, "secret"))
        out = server.command("get n1:/t")
        self.assert_ok(out, "got n1:/t -> ")
        got = os.path.join(self.dl, "n1", "t")
        self.assertEqual(snapshot(got), snapshot(os.path.join(root, "t")))
        self.assertEqual(os.readlink(os.path.join(got, "a dir", "out")),
                         os.path.join(self.tmp, "secret"))
        self.assertEqual(leftovers(self.dl), [])
        self.assertRegex(server.log_text(), r"cmd=get path=/t status=ok")
        # Into LOCAL, then refusing to replace it (even with -f).
        local = os.path.join(self.tmp, "mine")
        out = server.command("get n1:/t " + local)
        self.assert_ok(out, "got ")
        self.assertEqual(snapshot(local), snapshot(os.path.join(root, "t")))
        # An existing directory LOCAL receives the tree under its name,
        # which is then never replaced (even with -f).
        out = server.command("get n1:/t " + local)
        self.assert_ok(out, "got ")
        self.assertEqual(snapshot(os.path.join(local, "t")),
                         snapshot(os.path.join(root, "t")))
        out = server.command("get n1:/t " + local + " -f")
        self.assertTrue(any("refusing to overwrite" in x for x in out), out)
        self.assertEqual(leftovers(self.tmp), [])
        # A tree with an entry that cannot be read fails; nothing stays
        # (root reads everything: then only the rest is checked).
        if os.geteuid() == 0:
            return
        os.chmod(os.path.join(root, "t", "private"), 0)
        try:
            out = server.command("get n1:/t " + local + "/again")
            self.assertTrue(any(x.startswith("error:") for x in out), out)
        finally:
            os.chmod(os.path.join(root, "t", "private"), 0o700)
        self.assertFalse(os.path.exists(os.path.join(local, "again")))
        self.assertEqual(leftovers(self.tmp), [])

    def test_put_tree(self):
        server, nodes = self.start([("n1", ["--allow-upload"])])
        root = nodes["n1"][1]
        src = os.path.join(self.make_dir("src"), "site")
        make_tree(src, os.path.join(self.tmp, "secret"))
        out = server.command("put -r %s n1:/" % src)
        self.assert_ok(out, "put ")
        self.assertEqual(snapshot(os.path.join(root, "site")), snapshot(src))
        out = server.command("put --recursive %s/ 'n1:/copy two'" % src)
        self.assert_ok(out, "put ")
        self.assertEqual(snapshot(os.path.join(root, "copy two")),
                         snapshot(src))
        # Never over an existing entry.
        out = server.command("put -r %s n1:/site" % src)
        self.assertTrue(any("refusing to overwrite: /site exists" in x
                            for x in out), out)
        self.assertEqual(leftovers(root), [])
        self.assertRegex(server.log_text(), r"cmd=put path=/site status=ok")

    @unittest.skipUnless(shutil.which("strace"), "needs strace (make deps)")
    def test_put_tree_is_on_disk_before_it_gets_its_name(self):
        # A crash must never leave a named tree with empty files: the node
        # syncs the unpacked tree's filesystem, then renames it into place,
        # then syncs the directory holding it.
        server, nodes = self.start([("n1", ["--allow-upload"])])
        client, root = nodes["n1"]
        src = os.path.join(self.make_dir("src"), "durable")
        make_tree(src, os.path.join(self.tmp, "secret"))
        trace = os.path.join(self.tmp, "strace.out")
        tracer = subprocess.Popen(
            ["strace", "-f", "-o", trace, "-e",
             "trace=syncfs,renameat2,fsync", "-p", str(client.proc.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            # strace says so once it has attached to the node's threads.
            attached = tracer.stderr.readline()
            self.assertIn("attached", attached)
            out = server.command("put -r %s n1:/" % src)
            self.assert_ok(out, "put ")
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(timeout=10)
        calls = [line.split(None, 1)[1] for line in harness.read_text(trace)
                 .splitlines() if "resumed" not in line and " " in line]
        renames = [i for i, c in enumerate(calls)
                   if c.startswith("renameat2(") and '"durable"' in c]
        self.assertEqual(len(renames), 1, calls)
        syncs = [i for i, c in enumerate(calls) if c.startswith("syncfs(")]
        self.assertTrue(syncs and syncs[0] < renames[0], calls)
        self.assertTrue(any(c.startswith("fsync(")
                            for c in calls[renames[0] + 1:]), calls)
        self.assertEqual(snapshot(os.path.join(root, "durable")),
                         snapshot(src))

    def test_put_tree_never_plants_special_modes(self):
        # The node runs with umask 027: nothing it creates may be more
        # permissive, and setuid, setgid and sticky bits never land.
        old = os.umask(0o027)
        try:
            server, nodes = self.start([("n1", ["--allow-upload"])])
        finally:
            os.umask(old)
        root = nodes["n1"][1]
        src = os.path.join(self.make_dir("src"), "plant")
        make_special_tree(src)
        self.assertEqual(modes(src)["suid"], 0o6755)
        out = server.command("put -r %s n1:/" % src)
        self.assert_ok(out, "put ")
        self.assertEqual(modes(os.path.join(root, "plant")), SAFE_MODES)
        # A single file too: its own 0755 within the umask, never 06755
        # (issue 10: it keeps the source's permission bits).
        out = server.command("put %s n1:/one" % os.path.join(src, "suid"))
        self.assert_ok(out, "put ")
        self.assertEqual(os.lstat(os.path.join(root, "one")).st_mode & 0o7777,
                         0o750)

    def test_get_tree_never_plants_special_modes(self):
        # The same on the operator's side (umask 027), against what a node
        # sends.
        old = os.umask(0o027)
        try:
            server, nodes = self.start([("n1", ["--allow-download"])])
        finally:
            os.umask(old)
        make_special_tree(os.path.join(nodes["n1"][1], "plant"))
        out = server.command("get n1:/plant")
        self.assert_ok(out, "got ")
        self.assertEqual(modes(os.path.join(self.dl, "n1", "plant")),
                         SAFE_MODES)

    def test_policy_refuses_trees(self):
        server, nodes = self.start([("ro", [])])
        client, root = nodes["ro"]
        os.mkdir(os.path.join(root, "d"))
        out = server.command("get ro:/d")
        self.assertTrue(any("not permitted by node policy" in x
                            for x in out), out)
        src = self.make_dir("src")
        out = server.command("put -r %s ro:/new" % src)
        self.assertTrue(any("not permitted by node policy" in x
                            for x in out), out)
        self.assertEqual(os.listdir(root), ["d"])
        self.assertFalse(os.path.exists(os.path.join(self.dl, "ro", "d")))


if __name__ == "__main__":
    harness.main()
