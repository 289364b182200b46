#!/usr/bin/env python3
"""System test: issue 10 item 3, nothing lost and nothing widened.

A single-file get or put keeps the source's permission bits (within the
receiving process's umask, never setuid/setgid/sticky) and its mtime to
the nanosecond; a refused get creates no local directory.
"""

import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SERVER_ARGS = ["--heartbeat-interval=1s", "--request-timeout=30s"]
MTIME = 1_600_000_000_123_456_789


def current_umask():
    old = os.umask(0o022)
    os.umask(old)
    return old


def make_source(path, mode, data=b"secret\n"):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    os.utime(path, ns=(MTIME, MTIME))


def errors(out):
    return [x for x in out if x.startswith("error:")]


def dirs_beneath(top):
    result = []
    for dirpath, dirnames, _ in os.walk(top):
        result += [os.path.relpath(os.path.join(dirpath, d), top)
                   for d in dirnames]
    return sorted(result)


class TransferModesTest(harness.SystemTest):

    def start(self, client_args):
        self.dl = os.path.join(self.tmp, "downloads")
        server = self.start_server(args=SERVER_ARGS
                                   + ["--download-dir=" + self.dl])
        root = self.make_dir("root")
        client = self.start_client(server, root, "n1", args=client_args)
        server.wait_nodes(1)
        return server, client, root

    def assert_like(self, path, mode):
        st = os.lstat(path)
        expected = mode & 0o777 & ~current_umask()
        self.assertEqual(stat.S_IMODE(st.st_mode), expected,
                         "%s: %o, expected %o" % (path, stat.S_IMODE(
                             st.st_mode), expected))
        self.assertEqual(st.st_mode & 0o7000, 0, path)
        self.assertEqual(st.st_mtime_ns, MTIME, path)

    def test_get_keeps_mode_and_mtime(self):
        server, _, root = self.start(["--allow-download"])
        for mode in (0o600, 0o640, 0o755, 0o4755, 0o2750, 0o1777):
            name = "f%o" % mode
            make_source(os.path.join(root, name), mode)
            out = server.command("get n1:/" + name)
            self.assertFalse(errors(out), out)
            self.assert_like(os.path.join(self.dl, "n1", name), mode)

    def test_put_keeps_mode_and_mtime(self):
        server, _, root = self.start(["--allow-upload"])
        src = self.make_dir("src")
        for mode in (0o600, 0o640, 0o755, 0o4755, 0o2750, 0o1777):
            name = "f%o" % mode
            make_source(os.path.join(src, name), mode)
            out = server.command("put %s n1:/%s" % (os.path.join(src, name),
                                                     name))
            self.assertFalse(errors(out), out)
            self.assert_like(os.path.join(root, name), mode)

    def test_get_to_a_local_path_keeps_mode(self):
        server, _, root = self.start(["--allow-download"])
        make_source(os.path.join(root, "key"), 0o600)
        target = os.path.join(self.tmp, "mine", "key.pem")
        out = server.command("get n1:/key " + target)
        self.assertFalse(errors(out), out)
        self.assert_like(target, 0o600)

    def test_refused_get_leaves_no_directories(self):
        server, _, root = self.start([])  # no allow-download
        os.makedirs(os.path.join(root, "a", "b"))
        make_source(os.path.join(root, "a", "b", "c"), 0o644)
        out = server.command("get n1:/a/b/c")
        self.assertTrue(any("not permitted" in x for x in errors(out)), out)
        local = os.path.join(self.tmp, "local", "deeper") + "/"
        out = server.command("get n1:/a/b/c " + local)
        self.assertTrue(any("not permitted" in x for x in errors(out)), out)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "local")))
        self.assertEqual(dirs_beneath(self.dl) if os.path.exists(self.dl)
                         else [], [])

    def test_missing_file_get_leaves_no_directories(self):
        server, _, root = self.start(["--allow-download"])
        os.mkdir(os.path.join(root, "a"))
        out = server.command("get n1:/a/x/missing")
        self.assertTrue(any("not_found" in x for x in errors(out)), out)
        self.assertEqual(dirs_beneath(self.dl) if os.path.exists(self.dl)
                         else [], [])
        # An existing download directory stays; only what the get made goes.
        os.makedirs(os.path.join(self.dl, "n1", "keep"))
        out = server.command("get n1:/a/missing")
        self.assertTrue(errors(out), out)
        self.assertEqual(dirs_beneath(self.dl), ["n1", "n1/keep"])


if __name__ == "__main__":
    harness.main()
