#!/usr/bin/env python3
"""System test: secure transport and a node that cannot be tricked.

TLS 1.3 checked with `openssl s_client`, pinned fingerprints, enrollment
tokens, mutual TLS, the client limit, and escape attempts against a node's
root (each must fail with a clear error and reveal nothing outside it)."""

import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CLIENT_ARGS = ["--reconnect=false", "--workers=1"]


def openssl_s_client(port, *args, timeout=15):
    """Runs `openssl s_client` against 127.0.0.1:port; (rc, output)."""
    res = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-brief",
         *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=timeout)
    return res.returncode, res.stdout.decode("utf-8", "replace")


def fingerprint_of(server):
    res = subprocess.run(
        [harness.server_bin(), "--init", "--state-dir=" + server.state_dir,
         "--log-level=error"], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, timeout=20, check=True)
    for line in res.stdout.decode().splitlines():
        if line.startswith("fingerprint: "):
            return line.split(": ", 1)[1]
    raise AssertionError("no fingerprint in --init output")


class Transport(harness.SystemTest):
    def setUp(self):
        super().setUp()
        self.root = self.make_dir("root")
        with open(os.path.join(self.root, "a.txt"), "w") as f:
            f.write("hello\n")
        self.srv = self.start_server()

    def node(self, name, args=(), trust=True):
        """A client with this server's token, and its CA unless `trust`
        is False (then `args` must say how to verify)."""
        if trust:
            return self.start_client(self.srv, self.root, name,
                                     args=CLIENT_ARGS + list(args))
        argv = harness.client_argv(self.srv.port, self.root, name,
                                   args=["--token-file=" + self.srv.token_file]
                                   + CLIENT_ARGS + list(args))
        return self.start_process("client-" + name, argv)

    def test_openssl_sees_tls13_with_a_verified_certificate(self):
        rc, out = openssl_s_client(
            self.srv.port, "-tls1_3", "-CAfile", self.srv.ca_file,
            "-verify_hostname", "localhost", "-verify_return_error")
        self.assertEqual(rc, 0, out)
        self.assertIn("Protocol version: TLSv1.3", out)
        self.assertIn("Verification: OK", out)

    def test_openssl_tls12_is_refused(self):
        rc, out = openssl_s_client(self.srv.port, "-tls1_2")
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("CONNECTION ESTABLISHED", out)
        harness.wait_for(lambda: "TLS 1.3" in self.srv.log_text(), 5,
                         what="the refusal in the server log")

    def test_pinned_fingerprint_joins(self):
        fp = fingerprint_of(self.srv)
        n = self.node("pinned", ["--server-fingerprint=" + fp], trust=False)
        self.srv.wait_nodes(1, watch=[n])
        got = self.srv.command_json("ls --json pinned:/")
        self.assertEqual([x["name"] for x in got], ["a.txt"])

    def test_wrong_fingerprint_is_refused_before_any_hello(self):
        wrong = ":".join(["5a"] * 32)
        n = self.node("mallory", ["--server-fingerprint=" + wrong],
                      trust=False)
        self.assertExitsNonZero(n)
        self.assertIn("fingerprint mismatch", n.stderr_text())
        # The server saw a failed handshake, never a hello from this node.
        log = self.srv.log_text()
        self.assertNotIn("mallory", log)
        self.assertEqual(self.srv.node_names(), [])

    def test_bad_token_is_refused_and_never_logged(self):
        argv = harness.client_argv(
            self.srv.port, self.root, "intruder",
            args=["--ca-file=" + self.srv.ca_file, "--token=not-the-token"]
            + CLIENT_ARGS)
        n = self.start_process("client-intruder", argv)
        self.assertExitsNonZero(n)
        self.assertIn("enrollment token refused", n.stderr_text())
        log = self.srv.log_text() + self.srv.stderr_text()
        self.assertIn("enrollment token", log)
        self.assertNotIn("not-the-token", log)
        self.assertNotIn(self.srv.token().decode(), log)
        self.assertEqual(self.srv.node_names(), [])

    def test_missing_token_is_refused(self):
        argv = harness.client_argv(
            self.srv.port, self.root, "tokenless",
            args=["--ca-file=" + self.srv.ca_file] + CLIENT_ARGS)
        n = self.start_process("client-tokenless", argv)
        self.assertExitsNonZero(n)
        self.assertIn("enrollment token refused", n.stderr_text())

    def test_plaintext_client_on_tls_port_gets_a_clear_message(self):
        n = self.node("plain", ["--tls=false"])
        self.assertExitsNonZero(n)
        self.assertIn("TLS connections only", n.stderr_text())
        harness.wait_for(
            lambda: "plaintext client on a TLS port" in self.srv.log_text(),
            5, what="the drop in the server log")

    def test_duplicate_name_is_rejected(self):
        a = self.node("same")
        self.srv.wait_nodes(1, watch=[a])
        b = self.node("same")
        self.assertExitsNonZero(b)
        self.assertIn("already connected", b.stderr_text())
        self.assertTrue(a.running())


class PlainTcp(harness.SystemTest):
    def test_both_sides_plaintext_work_and_warn(self):
        root = self.make_dir("root")
        srv = self.start_server(tls=False)
        n = self.start_client(srv, root, "plain", args=CLIENT_ARGS)
        srv.wait_nodes(1, watch=[n])
        self.assertIn("plaintext", srv.stderr_text())
        self.assertIn("plaintext", n.stderr_text())

    def test_tls_client_on_plaintext_port_is_dropped(self):
        root = self.make_dir("root")
        srv = self.start_server(tls=False)
        argv = harness.client_argv(
            srv.port, root, "tlsnode",
            args=["--server-fingerprint=" + harness.DUMMY_FINGERPRINT]
            + CLIENT_ARGS)
        n = self.start_process("client-tlsnode", argv)
        self.assertExitsNonZero(n)
        self.assertIn("TLS handshake", n.stderr_text())
        harness.wait_for(
            lambda: "TLS client on a plaintext port" in srv.log_text(), 5,
            what="the drop in the server log")


class MutualTls(harness.SystemTest):
    def test_client_certificates(self):
        root = self.make_dir("root")
        srv = self.start_server(args=["--require-client-cert"])
        res = subprocess.run(
            [harness.server_bin(), "--state-dir=" + srv.state_dir,
             "--issue-client-cert=n1", "--log-level=error"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=20)
        self.assertEqual(res.returncode, 0)
        crt = os.path.join(srv.state_dir, "clients", "n1.crt")
        key = os.path.join(srv.state_dir, "clients", "n1.key")
        self.assertTrue(os.path.exists(crt) and os.path.exists(key))
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        good = self.start_client(srv, root, "n1", args=CLIENT_ARGS + [
            "--cert-file=" + crt, "--key-file=" + key])
        srv.wait_nodes(1, watch=[good])
        self.assertEqual(srv.nodes()[0].get("client_certificate"), "n1")
        bad = self.start_client(srv, root, "nocert", args=CLIENT_ARGS)
        self.assertExitsNonZero(bad)
        self.assertIn("client certificate", bad.stderr_text())
        self.assertEqual(srv.node_names(), ["n1"])


class ClientLimit(harness.SystemTest):
    def fill(self, srv, root, count):
        nodes = [self.start_client(srv, root, "n%03d" % i, args=CLIENT_ARGS)
                 for i in range(count)]
        srv.wait_nodes(count, timeout=90, watch=nodes)
        return nodes

    def check_full(self, srv, root, nodes):
        extra = self.start_client(srv, root, "one-too-many", args=CLIENT_ARGS)
        self.assertExitsNonZero(extra, timeout=20)
        self.assertIn("server full", extra.stderr_text())
        harness.wait_for(lambda: "server full" in srv.log_text(), 5,
                         what="the refusal in the server log")
        self.assertTrue(all(n.running() for n in nodes))
        for name in ("n000", "n%03d" % (len(nodes) - 1)):
            got = srv.command_json("ls --json %s:/" % name)
            self.assertEqual([x["name"] for x in got], ["f"])

    def test_small_configured_limit(self):
        root = self.make_dir("root")
        open(os.path.join(root, "f"), "w").close()
        srv = self.start_server(args=["--max-clients=3"])
        self.check_full(srv, root, self.fill(srv, root, 3))

    def test_default_limit_of_100(self):
        root = self.make_dir("root")
        open(os.path.join(root, "f"), "w").close()
        srv = self.start_server()
        self.check_full(srv, root, self.fill(srv, root, 100))


class RootConfinement(harness.SystemTest):
    """Escape attempts through the server's shell against a real node."""

    def setUp(self):
        super().setUp()
        self.outside = self.make_dir("outside")
        with open(os.path.join(self.outside, "secret.txt"), "w") as f:
            f.write("secret\n")
        self.root = self.make_dir("root")
        os.makedirs(os.path.join(self.root, "d", "sub"))
        with open(os.path.join(self.root, "d", "inside.txt"), "w") as f:
            f.write("inside\n")
        os.symlink("/etc", os.path.join(self.root, "etc-link"))
        os.symlink("../../outside", os.path.join(self.root, "d", "up"))
        os.symlink(self.outside, os.path.join(self.root, "abs-out"))
        self.srv = self.start_server()
        self.node = self.start_client(self.srv, self.root, "n1",
                                      args=CLIENT_ARGS)
        self.srv.wait_nodes(1, watch=[self.node])

    def assert_refused(self, command):
        out = self.srv.command(command)
        text = "\n".join(out)
        self.assertTrue(out and out[0].startswith("error:"),
                        "%r was not refused: %r" % (command, out))
        for leak in ("secret", "passwd", "shadow", "hostname"):
            self.assertNotIn(leak, text, "%r revealed %r" % (command, leak))
        return text

    def names(self, path):
        return sorted(x["name"] for x in
                      self.srv.command_json("ls --json n1:" + path))

    def test_dotdot_chains_stay_at_the_root(self):
        self.assertEqual(self.names("/../../.."), self.names("/"))
        self.assertEqual(self.names("/d/../../../.."), self.names("/"))
        self.assert_refused("ls n1:/../../etc")

    def test_absolute_paths_are_relative_to_the_root(self):
        self.assert_refused("ls n1:/etc")
        self.assert_refused("stat n1:" + self.outside)

    def test_symlinks_out_are_listed_never_followed(self):
        entries = {x["name"]: x for x in
                   self.srv.command_json("ls --json n1:/")}
        self.assertEqual(entries["etc-link"]["target"], "/etc")
        self.assertEqual(entries["abs-out"]["type"], "symlink")
        self.assertIn("outside_root", self.assert_refused("ls n1:/etc-link"))
        self.assert_refused("ls n1:/etc-link/")
        self.assert_refused("stat n1:/etc-link/passwd")
        self.assert_refused("ls n1:/abs-out")
        self.assert_refused("stat n1:/abs-out/secret.txt")
        self.assert_refused("ls n1:/d/up")
        self.assert_refused("stat n1:/d/up/secret.txt")

    def test_directory_swapped_for_a_symlink(self):
        self.srv.command("cd n1:/d")
        self.assertIn("inside.txt", self.names("/d"))
        shutil.rmtree(os.path.join(self.root, "d"))
        os.symlink(self.outside, os.path.join(self.root, "d"))
        self.assert_refused("ls")
        self.assert_refused("ls n1:/d")
        self.assert_refused("stat n1:/d/secret.txt")

    def test_names_with_nul_or_slash(self):
        self.assertIn("bad_request", self.assert_refused("stat n1:/a\\x00b"))
        self.assert_refused("ls n1:/d/inside.txt\\x00/x")
        # A '/' inside a name is a separator: it can only name a path.
        self.assert_refused("stat n1:/d/inside.txt/x")

    def test_overlong_path(self):
        text = self.assert_refused("ls n1:/" + "a" * 4096)
        self.assertIn("too long", text)

    def test_node_survives_every_attempt(self):
        for cmd in ("ls n1:/etc-link", "ls n1:/../../etc",
                    "ls n1:/" + "b" * 5000, "stat n1:/a\\x00b"):
            self.srv.command(cmd)
        self.assertTrue(self.node.running())
        self.assertIn("d", self.names("/"))


if __name__ == "__main__":
    harness.main()
