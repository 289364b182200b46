#!/usr/bin/env python3
"""System test: the operator API and the dirscope command (issue 8 items 2
and 3).

A real server (piped shell, API on a free port) and real nodes on loopback.
The API is driven with curl and with the dirscope binary, and its output is
compared with what the server's own shell prints for the same command, and
with sha256 of the files. Also: tokens, exit codes, rm's confirmation, the
event stream, a client that leaves cancels its command, a certificate that
does not verify is refused, and API.md's curl examples run as written.
"""

import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TIMEOUT = 30


def cli_bin():
    return os.path.join(harness.BIN_DIR, "dirscope")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dirscope-api-")
        cls.root = os.path.join(cls.tmp, "root")
        write(os.path.join(cls.root, "etc", "hostname"), b"web1\n")
        write(os.path.join(cls.root, "etc", "motd"), b"hello " * 1000)
        write(os.path.join(cls.root, "data", "a.bin"), os.urandom(70000))
        write(os.path.join(cls.root, "tmp", "old.log"), b"old\n")
        write(os.path.join(cls.root, "keep.txt"), b"keep\n")
        cls.api_port = harness.free_port()
        # A CA of its own for operators' client certificates.
        cls.ops = os.path.join(cls.tmp, "operators")
        for extra in (["--init"], ["--issue-client-cert", "alice"]):
            subprocess.run([harness.server_bin(), "--state-dir=" + cls.ops,
                            "--log-file=" + os.path.join(cls.tmp, "ops.log")]
                           + extra, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True,
                           timeout=TIMEOUT)
        cls.server = harness.Server(
            cls.tmp, harness.free_port(),
            args=["--api-listen=127.0.0.1:%d" % cls.api_port,
                  "--api-client-ca=" + os.path.join(cls.ops, "ca.crt")])
        assert cls.server.wait_listening()
        harness.wait_for(lambda: "operator API on" in
                         cls.server.stderr_text(), TIMEOUT,
                         what="the operator API")
        cls.url = "https://127.0.0.1:%d" % cls.api_port
        cls.token = cls.server.operator_token()
        cls.ca = cls.server.ca_file
        cls.node = harness.Process(
            "web1", harness.client_argv(cls.server.port, cls.root, "web1",
                                        args=cls.server.client_args()
                                        + ["--allow-delete",
                                           "--allow-download",
                                           "--allow-upload"]),
            cls.tmp)
        cls.server.wait_nodes(1, watch=[cls.node])

    @classmethod
    def tearDownClass(cls):
        cls.server.close_stdin()
        cls.server.wait()
        cls.node.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers

    def env(self, **extra):
        env = dict(os.environ, DIRSCOPE_SERVER=self.url,
                   DIRSCOPE_TOKEN=self.token, DIRSCOPE_CA=self.ca)
        env.update(extra)
        return env

    def curl(self, *args, token=True, data=None):
        argv = ["curl", "-sS", "--max-time", str(TIMEOUT), "--cacert",
                self.ca]
        if token:
            argv += ["-H", "Authorization: Bearer " + self.token]
        if data is not None:
            argv += ["--data-binary", data]
        argv += list(args)
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=TIMEOUT + 5)

    def run_cli(self, *args, env=None, stdin=None):
        return subprocess.run([cli_bin()] + list(args), input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env or self.env(), timeout=TIMEOUT + 5)

    def wait_logged(self, pattern):
        """Waits (bounded) for a line matching `pattern` in the log."""
        harness.wait_for(lambda: re.search(pattern, self.server.log_text()),
                         TIMEOUT, what="%r in the server log" % pattern)

    def status_of(self, *args, token=True, data=None):
        res = self.curl("-o", "/dev/null", "-w", "%{http_code}", *args,
                        token=token, data=data)
        return res.stdout.decode()

    @contextlib.contextmanager
    def shell_on_pty(self, name):
        """`dirscope shell` at a terminal, as (terminal, offset past its
        first prompt); killed when the block ends."""
        env = {k: v for k, v in self.env().items()
               if k.startswith("DIRSCOPE_")}
        term = harness.PtyProcess(name, [cli_bin(), "shell"], cwd=self.tmp,
                                  env=env)
        try:
            yield term, term.wait_output("dirscope> ")
        finally:
            term.kill()

    # -- authentication

    def test_no_token_or_wrong_token_is_401(self):
        self.assertEqual(self.status_of(self.url + "/api/v1/nodes",
                                        token=False), "401")
        wrong = "0" * len(self.token)
        res = self.curl("-o", "/dev/null", "-w", "%{http_code}",
                        "-H", "Authorization: Bearer " + wrong,
                        self.url + "/api/v1/run", token=False, data="nodes")
        self.assertEqual(res.stdout.decode(), "401")
        res = self.run_cli("nodes", env=self.env(DIRSCOPE_TOKEN=wrong))
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn(b"operator token", res.stderr)
        # The token is never logged.
        self.assertNotIn(self.token, self.server.log_text())
        self.assertNotIn(self.token, self.server.stderr_text())

    def test_operator_client_certificate(self):
        cert = os.path.join(self.ops, "clients", "alice.crt")
        key = os.path.join(self.ops, "clients", "alice.key")
        res = self.curl("--cert", cert, "--key", key, "-H",
                        "X-Dirscope-Operator: mallory", self.url
                        + "/api/v1/run", token=False, data="stat web1:/keep.txt")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn(b"keep.txt", res.stdout)
        # The certificate names the operator, not the header.
        self.wait_logged(r"operator=alice addr=\S+ command=\"stat "
                         r"web1:/keep.txt\"")
        env = self.env(DIRSCOPE_TOKEN="", DIRSCOPE_CERT=cert, DIRSCOPE_KEY=key)
        self.assertEqual(self.run_cli("stat", "web1:/keep.txt", env=env)
                         .returncode, 0)
        # A certificate of the nodes' CA does not make an operator: the
        # handshake fails.
        subprocess.run([harness.server_bin(),
                        "--state-dir=" + self.server.state_dir,
                        "--log-file=" + os.path.join(self.tmp, "issue.log"),
                        "--issue-client-cert", "node9"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=TIMEOUT)
        clients = os.path.join(self.server.state_dir, "clients")
        res = self.curl("--cert", os.path.join(clients, "node9.crt"),
                        "--key", os.path.join(clients, "node9.key"),
                        self.url + "/api/v1/nodes", token=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertNotIn(b"web1", res.stdout)

    def test_token_is_not_the_enrollment_token(self):
        self.assertNotEqual(self.token.encode(), self.server.token())
        mode = os.stat(os.path.join(self.server.state_dir,
                                    "operator.token")).st_mode
        self.assertEqual(mode & 0o077, 0)
        res = self.curl("-o", "/dev/null", "-w", "%{http_code}", "-H",
                        "Authorization: Bearer "
                        + self.server.token().decode(),
                        self.url + "/api/v1/nodes", token=False)
        self.assertEqual(res.stdout.decode(), "401")

    # -- the same output as the shell

    def test_ls_and_stat_over_curl_match_the_shell(self):
        for cmd in ("ls web1:/etc", "stat web1:/data/a.bin", "tree web1:/",
                    "du web1:/data"):
            shell = self.server.command(cmd)
            res = self.curl(self.url + "/api/v1/run", data=cmd)
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertEqual(res.stdout.decode().splitlines(), shell, cmd)

    def test_json_is_ndjson_with_a_status_line(self):
        shell = self.server.command_json("ls --json web1:/etc")
        res = self.curl("-H", "Content-Type: application/json",
                        self.url + "/api/v1/run",
                        data=json.dumps({"command": "ls --json web1:/etc"}))
        lines = [json.loads(x) for x in res.stdout.decode().splitlines()
                 if x.strip()]
        self.assertEqual(lines[-1], {"status": "ok"})
        self.assertEqual(lines[:-1], shell)

    def test_dirscope_binary_output_and_hashes(self):
        res = self.run_cli("ls", "--json", "web1:/data")
        self.assertEqual(res.returncode, 0, res.stderr)
        rows = [json.loads(x) for x in res.stdout.decode().splitlines()]
        with open(os.path.join(self.root, "data", "a.bin"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual([(x["name"], x["sha256"]) for x in rows],
                         [("a.bin", digest)])
        res = self.run_cli("ls", "web1:/etc")
        self.assertEqual(res.stdout.decode().splitlines(),
                         self.server.command("ls web1:/etc"))
        res = self.run_cli("cat", "web1:/etc/hostname")
        self.assertEqual((res.returncode, res.stdout), (0, b"web1\n"))

    def test_exit_codes(self):
        self.assertEqual(self.run_cli("stat", "web1:/keep.txt").returncode, 0)
        res = self.run_cli("stat", "web1:/missing")
        self.assertEqual(res.returncode, 1)
        self.assertIn(b"(not_found)", res.stderr)
        self.assertEqual(res.stdout, b"")
        res = self.run_cli("nosuchcommand")
        self.assertEqual(res.returncode, 2)
        self.assertIn(b"unknown command", res.stderr)
        self.assertEqual(self.run_cli().returncode, 2)
        self.assertEqual(self.run_cli("--bogus", "ls").returncode, 2)
        self.assertEqual(self.run_cli("ls", "a", "b", "c").returncode, 2)
        res = self.run_cli("ls", env=self.env(DIRSCOPE_TOKEN=""))
        self.assertEqual(res.returncode, 2)
        # A failure with --json: stdout stays parseable (empty), the error
        # goes to stderr.
        res = self.run_cli("ls", "--json", "web1:/missing")
        self.assertEqual((res.returncode, res.stdout), (1, b""))

    def test_concurrent_requests_on_one_node(self):
        """Several consoles (four API requests and the server's shell)
        list one big directory at once, each to the end."""
        big = os.path.join(self.root, "big")
        if not os.path.isdir(big):
            os.makedirs(big)
            for i in range(3000):
                write(os.path.join(big, "f%05d" % i), b"")
        results = {}

        def one(i):
            res = self.curl(self.url + "/api/v1/run",
                            data=json.dumps({"command":
                                             "ls --json --no-hash web1:/big"}))
            results[i] = res.stdout.decode().splitlines()

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        shell = self.server.command("ls --no-hash web1:/big",
                                    timeout=TIMEOUT)
        for t in threads:
            t.join(TIMEOUT + 10)
        self.assertEqual(shell[-1], "3000 entries")
        for i in range(4):
            lines = results.get(i)
            self.assertIsNotNone(lines, "request %d did not finish" % i)
            self.assertEqual(json.loads(lines[-1]), {"status": "ok"})
            self.assertEqual(len(lines), 3001)

    def test_get_and_put_stay_at_the_server(self):
        for cmd in ("get web1:/keep.txt", "put /etc/hostname web1:/x"):
            res = self.curl("-H", "Accept: application/x-ndjson",
                            self.url + "/api/v1/run", data=cmd)
            status = json.loads(res.stdout.decode().splitlines()[-1])
            self.assertEqual(status["code"], "not_permitted", cmd)
        self.assertFalse(os.path.exists(os.path.join(self.root, "x")))

    # -- downloads

    def test_file_download(self):
        with open(os.path.join(self.root, "data", "a.bin"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        res = self.curl("-f", self.url + "/api/v1/file?node=web1&path=/data/a.bin")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(hashlib.sha256(res.stdout).hexdigest(), digest)
        self.assertEqual(self.status_of(
            self.url + "/api/v1/file?node=web1&path=/data/none"), "404")
        self.assertEqual(self.status_of(
            self.url + "/api/v1/file?node=web1&path=/data"), "400")
        self.assertEqual(self.status_of(
            self.url + "/api/v1/file?node=nobody&path=/x"), "404")
        self.assertEqual(self.status_of(
            self.url + "/api/v1/file?node=web1&path=/data/a.bin",
            token=False), "401")
        # dirscope get: a new local file, never over an existing one.
        work = tempfile.mkdtemp(dir=self.tmp)
        local = os.path.join(work, "copy.bin")
        res = self.run_cli("get", "web1:/data/a.bin", local)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(local, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest)
        res = self.run_cli("get", "web1:/keep.txt", local)
        self.assertEqual(res.returncode, 1)
        self.assertIn(b"exists", res.stderr)
        res = self.run_cli("get", "web1:/missing", local + "2")
        self.assertEqual(res.returncode, 1)
        self.assertEqual(os.listdir(work), ["copy.bin"])
        res = self.run_cli("get", "web1:/etc/hostname", "-")
        self.assertEqual((res.returncode, res.stdout), (0, b"web1\n"))

    def test_file_upload(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        local = os.path.join(self.tmp, "upload.bin")
        write(local, data)
        res = self.curl("-T", local, self.url
                        + "/api/v1/file?node=web1&path=/up/curl.bin")
        self.assertEqual(res.returncode, 0, res.stderr)
        # The node creates no directories: /up does not exist.
        self.assertEqual(json.loads(res.stdout)["status"], "error")
        res = self.curl("-f", "-T", local, self.url
                        + "/api/v1/file?node=web1&path=/data/curl.bin")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(json.loads(res.stdout),
                         {"status": "ok", "size": len(data)})
        with open(os.path.join(self.root, "data", "curl.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        # Never over an existing file.
        res = self.curl("-o", "/dev/null", "-w", "%{http_code}", "-T", local,
                        self.url + "/api/v1/file?node=web1&path=/data/curl.bin")
        self.assertEqual(res.stdout.decode(), "409")
        res = self.curl("-o", "/dev/null", "-w", "%{http_code}", "-T", local,
                        self.url + "/api/v1/file?node=web1&path=/data/x.bin",
                        token=False)
        self.assertEqual(res.stdout.decode(), "401")
        self.assertFalse(os.path.exists(os.path.join(self.root, "data",
                                                     "x.bin")))
        # dirscope put, into a directory.
        res = self.run_cli("put", local, "web1:/data/")
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(os.path.join(self.root, "data", "upload.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                             hashlib.sha256(data).hexdigest())
        self.assertEqual(self.run_cli("put", local, "web1:/data/")
                         .returncode, 1)
        # A command body over 64 KiB is refused before it is read.
        res = self.curl("-o", "/dev/null", "-w", "%{http_code}",
                        self.url + "/api/v1/run", data="x" * 70000)
        self.assertEqual(res.stdout.decode(), "413")

    def test_download_needs_the_node_policy(self):
        root = os.path.join(self.tmp, "ro-root")
        write(os.path.join(root, "f"), b"f")
        node = harness.Process(
            "ro", harness.client_argv(self.server.port, root, "ro",
                                      args=self.server.client_args()),
            self.tmp)
        try:
            harness.wait_for(lambda: self.run_cli("stat", "ro:/f")
                             .returncode == 0, TIMEOUT, what="node ro")
            self.assertEqual(self.status_of(
                self.url + "/api/v1/file?node=ro&path=/f"), "403")
            res = self.curl("-o", "/dev/null", "-w", "%{http_code}", "-T",
                            os.path.join(root, "f"),
                            self.url + "/api/v1/file?node=ro&path=/g")
            self.assertEqual(res.stdout.decode(), "403")
        finally:
            self.run_cli("kick", "ro")
            node.wait()

    def test_leaving_download_is_cancelled(self):
        big = os.path.join(self.root, "data", "big.bin")
        if not os.path.exists(big):
            write(big, os.urandom(24 << 20))
        conn = self.connect()
        conn.request("GET", "/api/v1/file?node=web1&path=/data/big.bin",
                     headers={"Authorization": "Bearer " + self.token})
        res = conn.getresponse()
        self.assertEqual(res.status, 200)
        self.assertEqual(int(res.getheader("Content-Length")), 24 << 20)
        res.read(65536)
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        self.wait_logged(r"cmd=get path=/data/big.bin status=failed "
                         r"error=cancelled")

    # -- rm

    def test_rm_needs_confirm(self):
        victim = os.path.join(self.root, "victim.txt")
        write(victim, b"x")
        res = self.curl(self.url + "/api/v1/run",
                        data=json.dumps({"command": "rm -y web1:/victim.txt"}))
        self.assertIn(b"explicit confirmation", res.stdout)
        self.assertTrue(os.path.exists(victim))
        res = self.run_cli("rm", "web1:/victim.txt")
        self.assertEqual(res.returncode, 1)
        self.assertTrue(os.path.exists(victim))
        res = self.curl(self.url + "/api/v1/run",
                        data=json.dumps({"command": "rm web1:/victim.txt",
                                         "confirm": True}))
        self.assertIn(b"deleted web1:/victim.txt", res.stdout)
        self.assertFalse(os.path.exists(victim))
        write(victim, b"x")
        res = self.run_cli("--confirm", "rm", "web1:/victim.txt")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertFalse(os.path.exists(victim))

    # -- sessions (dirscope shell)

    def test_shell_keeps_its_directory(self):
        res = self.run_cli("shell", stdin=b"cd web1:/etc\nls\npwd\n")
        self.assertEqual(res.returncode, 0, res.stderr)
        out = res.stdout.decode().splitlines()
        self.assertEqual(out[-1], "web1:/etc")
        self.assertEqual(out[:-1], self.server.command("ls web1:/etc"))
        res = self.run_cli("shell", stdin=b"stat web1:/nope\n")
        self.assertEqual(res.returncode, 1)
        self.assertIn(b"(not_found)", res.stderr)

    def test_interactive_shell(self):
        """dirscope shell at a terminal: the server's prompt, cd that
        lasts, Ctrl-C cancels the running command, Ctrl-D leaves."""
        with self.shell_on_pty("dirscope-shell") as (term, at):
            term.type("cd web1:/etc")
            at = term.wait_output("dirscope web1:/etc> ", at)
            term.type("ls")
            at = term.wait_output("hostname", at)
            term.type("wait-nodes 51 --timeout 120")
            harness.wait_for(lambda: 'command="wait-nodes 51 --timeout 120" '
                             '(session)' in self.server.log_text(), TIMEOUT,
                             what="the command at the server")
            term.ctrl_c()
            at = term.wait_output("cancelled", at)
            at = term.wait_output("dirscope web1:/etc> ", at)
            term.type("pwd")
            at = term.wait_output("web1:/etc\r\n", at)
            # Ctrl-D once the line editor reads again (it drops what came
            # before), again if it was too early: bounded.
            at = term.wait_output("dirscope web1:/etc> ", at)
            for _ in range(10):
                os.write(term.master, b"\x04")
                try:
                    term.proc.wait(timeout=1)
                    break
                except subprocess.TimeoutExpired:
                    pass
            self.assertEqual(term.wait(), 0)
        self.wait_logged(r"command=\"wait-nodes 51 --timeout 120\" "
                         r"status=failed error=cancelled")

    def test_shell_tab_completes_remote_names(self):
        """Tab in dirscope shell asks the session's console: node names,
        directories with '/', as the server's own shell completes."""
        conn = self.connect()
        headers = {"Authorization": "Bearer " + self.token}
        conn.request("POST", "/api/v1/session", body=b"", headers=headers)
        session = json.loads(conn.getresponse().read())["session"]
        conn.request("POST", "/api/v1/session/%s/complete" % session,
                     body=b"ls web1:/et", headers=headers)
        res = conn.getresponse()
        self.assertEqual(res.status, 200)
        self.assertEqual(json.loads(res.read()), ["web1:/etc/"])
        conn.request("POST", "/api/v1/session/%s/complete" % session,
                     body=b"stat we", headers=headers)
        self.assertIn("web1:", json.loads(conn.getresponse().read()))
        conn.request("DELETE", "/api/v1/session/" + session, headers=headers)
        conn.getresponse().read()
        conn.close()
        with self.shell_on_pty("dirscope-shell-tab") as (term, at):
            # The line editor drops keys typed before it reads: type again
            # (after Ctrl-U) until they show; bounded.
            for _ in range(10):
                os.write(term.master, b"\x15ls web1:/et")
                try:
                    term.wait_output("ls web1:/et", at, timeout=2)
                    break
                except AssertionError:
                    pass
            os.write(term.master, b"\t")
            # libedit draws only what it added ("c/") at the cursor.
            term.wait_output("c/", at)
            os.write(term.master, b"\r")
            term.wait_output("hostname", at)

    # -- events

    def connect(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        return http.client.HTTPSConnection("127.0.0.1", self.api_port,
                                           context=ctx, timeout=TIMEOUT)

    def test_events_show_joins_and_leaves(self):
        conn = self.connect()
        conn.request("GET", "/api/v1/events",
                     headers={"Authorization": "Bearer " + self.token})
        res = conn.getresponse()
        self.assertEqual(res.status, 200)

        def next_event():
            event, data = None, None
            for _ in range(100):
                line = res.fp.readline().decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                elif line == "" and event:
                    return event, data
            raise AssertionError("no event")

        event, data = next_event()
        self.assertEqual(event, "nodes")
        self.assertIn("web1", [x["name"] for x in data])
        root2 = os.path.join(self.tmp, "root2")
        os.makedirs(root2, exist_ok=True)
        web2 = harness.Process(
            "web2", harness.client_argv(self.server.port, root2, "web2",
                                        args=self.server.client_args()),
            self.tmp)
        try:
            seen = []
            for _ in range(10):
                event, data = next_event()
                seen.append((event, data.get("name")))
                if (event, data.get("name")) == ("join", "web2"):
                    break
            self.assertIn(("join", "web2"), seen)
            out = self.run_cli("kick", "web2")
            self.assertEqual(out.returncode, 0, out.stderr)
            for _ in range(10):
                event, data = next_event()
                if event == "leave":
                    break
            self.assertEqual((event, data["name"]), ("leave", "web2"))
        finally:
            web2.wait()
            conn.close()

    def test_nodes_endpoint(self):
        res = self.curl(self.url + "/api/v1/nodes")
        rows = json.loads(res.stdout)
        self.assertIn("web1", [x["name"] for x in rows])

    # -- the request report

    def test_request_report_names_the_operator(self):
        # A one-shot command, a session's command and a download: each
        # request to the node is in the report under its operator's name.
        res = self.curl("-H", "X-Dirscope-Operator: carol", "--json",
                        json.dumps({"command": "stat web1:/keep.txt"}),
                        self.url + "/api/v1/run")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.wait_logged(r"request node=web1 addr=\S+ operator=carol "
                         r"cmd=stat path=/keep\.txt status=ok")
        res = self.curl("-d", "", "-H", "X-Dirscope-Operator: dave",
                        self.url + "/api/v1/session")
        session = json.loads(res.stdout)["session"]
        res = self.curl("-H", "X-Dirscope-Operator: dave", "--json",
                        json.dumps({"command": "du web1:/data",
                                    "session": session}),
                        self.url + "/api/v1/run")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.curl("-X", "DELETE", self.url + "/api/v1/session/" + session)
        self.wait_logged(r"operator=dave cmd=du path=/data status=ok")
        res = self.curl("-f", "-o", "/dev/null", "-H",
                        "X-Dirscope-Operator: erin",
                        self.url + "/api/v1/file?node=web1&path=/data/a.bin")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.wait_logged(r"operator=erin cmd=get path=/data/a\.bin status=ok")

    # -- a client that leaves cancels its command

    def test_disconnect_cancels(self):
        conn = self.connect()
        conn.request("POST", "/api/v1/run",
                     body=json.dumps({"command":
                                      "wait-nodes 50 --timeout 120"}),
                     headers={"Authorization": "Bearer " + self.token,
                              "Accept": "application/x-ndjson",
                              "X-Dirscope-Operator": "alice"})
        res = conn.getresponse()
        self.assertEqual(res.status, 200)
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        self.wait_logged(r"operator=alice command=\"wait-nodes 50 "
                         r"--timeout 120\" status=failed error=cancelled")

    # -- certificates

    def test_certificate_that_does_not_verify_is_refused(self):
        other = os.path.join(self.tmp, "other-state")
        subprocess.run([harness.server_bin(), "--init", "--state-dir=" + other,
                        "--log-file=" + os.path.join(self.tmp, "init.log")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=TIMEOUT)
        res = self.run_cli("nodes", env=self.env(
            DIRSCOPE_CA=os.path.join(other, "ca.crt")))
        self.assertEqual(res.returncode, 1)
        self.assertIn(b"does not verify", res.stderr)
        # Without a CA only the system's CAs are trusted: refused too.
        env = self.env()
        del env["DIRSCOPE_CA"]
        res = self.run_cli("nodes", env=env)
        self.assertEqual(res.returncode, 1)
        self.assertIn(b"does not verify", res.stderr)
        # TLS 1.2 is refused.
        res = subprocess.run(["curl", "-sS", "--tls-max", "1.2", "--cacert",
                              self.ca, self.url + "/api/v1/nodes"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=TIMEOUT)
        self.assertNotEqual(res.returncode, 0)

    def test_config_file(self):
        home = tempfile.mkdtemp(dir=self.tmp)
        os.makedirs(os.path.join(home, ".config", "dirscope"))
        token_file = os.path.join(home, "token")
        with open(token_file, "w") as f:
            f.write(self.token + "\n")
        with open(os.path.join(home, ".config", "dirscope", "config"),
                  "w") as f:
            f.write("# dirscope\nserver = %s\ntoken-file = %s\nca = %s\n"
                    % (self.url, token_file, self.ca))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DIRSCOPE_") and k != "XDG_CONFIG_HOME"}
        env["HOME"] = home
        res = self.run_cli("stat", "web1:/keep.txt", env=env)
        self.assertEqual(res.returncode, 0, res.stderr)

    # -- API.md

    def test_api_md_examples_run(self):
        with open(os.path.join(REPO, "API.md")) as f:
            text = f.read()
        blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
        self.assertGreater(len(blocks), 3)
        write(os.path.join(self.root, "tmp", "old.log"), b"old\n")
        for block in blocks:
            res = subprocess.run(["bash", "-euo", "pipefail", "-c", block],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=TIMEOUT,
                                 env=self.env(PATH=harness.BIN_DIR + ":"
                                              + os.environ["PATH"]))
            self.assertEqual(res.returncode, 0, "%s\n%s\n%s" % (
                block, res.stdout.decode(), res.stderr.decode()))
        self.assertFalse(os.path.exists(os.path.join(self.root, "tmp",
                                                     "old.log")))


class ApiShutdownTest(unittest.TestCase):
    def test_quit_with_open_streams(self):
        """quit at the console ends the server although API clients hold
        an event stream and a running command open."""
        tmp = tempfile.mkdtemp(prefix="dirscope-api-stop-")
        try:
            port = harness.free_port()
            server = harness.Server(
                tmp, harness.free_port(),
                args=["--api-listen=127.0.0.1:%d" % port])
            assert server.wait_listening()
            harness.wait_for(lambda: "operator API on" in
                             server.stderr_text(), TIMEOUT, what="the API")
            ctx = ssl.create_default_context(cafile=server.ca_file)
            headers = {"Authorization": "Bearer " + server.operator_token()}
            events = http.client.HTTPSConnection("127.0.0.1", port,
                                                 context=ctx, timeout=TIMEOUT)
            events.request("GET", "/api/v1/events", headers=headers)
            self.assertEqual(events.getresponse().status, 200)
            run = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                              timeout=TIMEOUT)
            run.request("POST", "/api/v1/run",
                        body="wait-nodes 5 --timeout 120", headers=headers)
            self.assertEqual(run.getresponse().status, 200)
            server.send("quit")
            self.assertEqual(server.wait(), 0)
            self.assertIn('command="wait-nodes 5 --timeout 120" '
                          'status=failed error=shutdown', server.log_text())
            events.close()
            run.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
