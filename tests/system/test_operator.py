#!/usr/bin/env python3
"""System test: what the operator sees of the programs as programs (issue
11): where results, errors and help go, the exit status, error messages
for people (never CAF's own text), what an interactive server shows on its
terminal, the request log of `ls FILE`, and that tests never touch the real
home directory."""

import json
import os
import pwd
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CAF_TEXT = re.compile(r"parser_error|system_error|caf::|not_an_option|"
                      r"cannot_connect_to_node|error\(")


def run(argv, stdin=subprocess.DEVNULL, timeout=20, **kw):
    return subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, **kw)


class Operator(harness.SystemTest):

    def init_state(self):
        """A state dir made by --init; returns (state dir, fingerprint)."""
        state = os.path.join(self.tmp, "state")
        res = run([harness.server_bin(), "--init", "--state-dir=" + state,
                   "--log-file="])
        self.assertEqual(res.returncode, 0, res.stderr)
        fingerprint = re.search(r"^fingerprint: (\S+)$",
                                res.stdout.decode(), re.M).group(1)
        return state, fingerprint

    def node_for(self, state, port, root, name="n1"):
        argv = harness.client_argv(port, root, name, args=[
            "--ca-file=" + os.path.join(state, "ca.crt"),
            "--token-file=" + os.path.join(state, "enrollment.token"),
            "--reconnect-min=100ms", "--reconnect-max=300ms"])
        return self.start_process("client-" + name, argv)

    def piped_server(self, commands, args=()):
        """Runs a server on piped input with one node (n1 serving a.txt):
        the commands follow `wait-nodes 1`. Returns the finished process."""
        state, _ = self.init_state()
        root = self.make_dir("root")
        with open(os.path.join(root, "a.txt"), "w") as f:
            f.write("a\n")
        port = harness.free_port()
        self.node_for(state, port, root)
        script = "wait-nodes 1 --timeout 20\n" + "".join(
            c + "\n" for c in commands)
        return run([harness.server_bin(), "--state-dir=" + state,
                    "--bind", "127.0.0.1", "--port", str(port),
                    "--log-file=" + os.path.join(self.tmp, "server.log")]
                   + list(args),
                   stdin=None, input=script.encode(), timeout=40)

    # -- piped mode: stdout holds results only; the exit status tells

    def test_piped_errors_go_to_stderr_and_set_the_exit_status(self):
        res = self.piped_server(["ls --json n1:/missing", "ls --json n1:/"])
        out = res.stdout.decode().splitlines()
        err = res.stderr.decode()
        self.assertEqual(out[0], "1 node(s) connected", out)
        objects = [json.loads(line) for line in out[1:]]  # JSON lines only
        self.assertEqual([x["name"] for x in objects], ["a.txt"])
        errors = [line for line in err.splitlines()
                  if line.startswith("error:")]
        self.assertEqual(len(errors), 1, err)
        self.assertIn("/missing", errors[0])
        self.assertEqual(res.returncode, 1, err)

    def test_piped_commands_that_all_succeed_exit_0(self):
        res = self.piped_server(["ls --json n1:/", "echo done", "quit"])
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertEqual(res.stdout.decode().splitlines()[-1], "done")
        self.assertNotIn("error:", res.stderr.decode())

    # -- the command line: usage errors, --help, --dump-config

    def test_bad_options_are_explained_not_dumped(self):
        for exe in (harness.server_bin(), harness.client_bin()):
            name = os.path.basename(exe)
            res = run([exe, "--frobnicate"])
            err = res.stderr.decode()
            self.assertEqual(res.returncode, 2, (exe, err))
            self.assertEqual(err, "%s: unknown option --frobnicate (see "
                             "--help)\n" % name)
            self.assertEqual(res.stdout, b"")
            for bad in ("--port=abc", "--frobnicate=1", "--log-file"):
                if bad == "--port=abc" and exe == harness.client_bin():
                    bad = "--workers=abc"
                res = run([exe, bad])
                err = res.stderr.decode()
                self.assertEqual(res.returncode, 2, (bad, err))
                self.assertNotRegex(err, CAF_TEXT, bad)
                self.assertIn(bad.split("=")[0], err)

    def test_help_prints_on_stdout_and_says_so(self):
        for exe in (harness.server_bin(), harness.client_bin()):
            res = run([exe, "--help"])
            text = res.stdout.decode()
            self.assertEqual(res.returncode, 0, exe)
            self.assertEqual(res.stderr, b"", exe)
            self.assertIn("--help", text)
            self.assertNotIn("STDERR", text)
            self.assertNotIn("long-help", text)
        text = run([harness.server_bin(), "--help"]).stdout.decode()
        self.assertIn("Exit status: 0 when all went well; 1 when a piped "
                      "command failed", text)

    def test_dump_config_shows_only_our_options(self):
        ini = os.path.join(self.tmp, "s.ini")
        with open(ini, "w") as f:
            f.write('[global]\nport=4242\nbind="::1"\n')
        res = run([harness.server_bin(), "--config-file=" + ini,
                   "--heartbeat-interval=3s", "--dump-config"])
        text = res.stdout.decode()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stderr, b"")
        for unwanted in ("middleman", "scheduler", "logger", "stream",
                         "work-stealing", "dump-config"):
            self.assertNotIn(unwanted, text)
        # CAF's stream and openssl options (certificate=, cafile=, ...)
        # would read like the server's own TLS settings.
        keys = [x.split("=", 1)[0] for x in text.splitlines()[1:]]
        for unwanted in ("desired-batch-complexity", "certificate", "cafile",
                         "capath", "passphrase", "key"):
            self.assertNotIn(unwanted, keys)
        lines = text.splitlines()
        self.assertEqual(lines[0], "[global]")
        self.assertIn("port=4242", lines)
        self.assertIn('bind="::1"', lines)
        self.assertIn("heartbeat-interval=3s", lines)
        # What it prints is a config file the server reads back.
        again = os.path.join(self.tmp, "again.ini")
        with open(again, "w") as f:
            f.write(text)
        res = run([harness.server_bin(), "--config-file=" + again,
                   "--dump-config"])
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.decode(), text)

    def test_failed_connect_is_explained(self):
        port = harness.free_port()  # nothing listens there
        root = self.make_dir("root")
        res = run(harness.client_argv(port, root, "n1", args=[
            "--reconnect=false"] + harness.unreachable_client_args()))
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 1, err)
        self.assertNotRegex(err, CAF_TEXT)
        self.assertIn("cannot connect to 127.0.0.1:%d: connection refused"
                      % port, err)

    # -- an interactive server on a terminal

    def test_interactive_server_shows_how_to_connect_and_errors_once(self):
        state, fingerprint = self.init_state()
        root = self.make_dir("root")
        with open(os.path.join(root, "a.txt"), "w") as f:
            f.write("a\n")
        port = harness.free_port()
        srv = harness.PtyProcess("server", [
            harness.server_bin(), "--state-dir=" + state, "--bind",
            "127.0.0.1", "--port", str(port),
            "--log-file=" + os.path.join(self.tmp, "server.log")],
            cwd=self.tmp)
        self.addCleanup(srv.kill)
        srv.wait_output("dirscope> ")
        shown = srv.output()
        self.assertIn("listening on 127.0.0.1:%d" % port, shown)
        self.assertIn(fingerprint, shown)
        self.node_for(state, port, root)
        mark = len(srv.output())
        srv.type("wait-nodes 1 --timeout 20")
        mark = srv.wait_output("1 node(s) connected", since=mark)
        srv.type("ls n1:/missing")
        end = srv.wait_output("dirscope> ", since=srv.wait_output(
            "error:", since=mark))
        shown = srv.output()[mark:end]
        self.assertEqual(shown.count("/missing"), 2, shown)  # typed, error
        self.assertNotIn("status=failed", shown)
        real = os.path.join(pwd.getpwuid(os.getuid()).pw_dir,
                            ".dirscope_history")
        before = harness.read_text(real)
        srv.type("quit")
        self.assertEqual(srv.wait(timeout=10), 0)
        # The history went to the test's HOME, not the real one.
        history = harness.read_text(os.path.join(os.environ["HOME"],
                                                 ".dirscope_history"))
        self.assertIn("n1:/missing", history)  # libedit writes " " as \\040
        self.assertEqual(harness.read_text(real), before)

    # -- ls FILE

    def test_ls_file_is_logged_as_a_success(self):
        log = os.path.join(self.tmp, "server.log")
        res = self.piped_server(["ls n1:/a.txt", "ls --json n1:/a.txt"])
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        out = res.stdout.decode()
        self.assertEqual(len(re.findall(r"a\.txt", out)), 2, out)
        text = harness.read_text(log)
        self.assertEqual(len(re.findall(r"cmd=stat path=/a\.txt status=ok",
                                        text)), 2, text)
        self.assertNotIn("status=failed", text)


    # -- stat --json names the entry itself

    def test_stat_json_path_is_the_entry(self):
        res = self.piped_server(["stat --json n1:/a.txt", "ls --json n1:/a.txt",
                                 "stat n1:/a.txt"])
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        out = res.stdout.decode().splitlines()
        stat, listed = json.loads(out[1]), json.loads(out[2])
        self.assertEqual((stat["path"], stat["name"]), ("/a.txt", "a.txt"))
        # ls keeps its meaning: the directory holding the entry.
        self.assertEqual((listed["path"], listed["name"]), ("/", "a.txt"))
        self.assertIn("path: /a.txt", out[3:])


class Home(unittest.TestCase):

    def test_tests_run_with_their_own_home(self):
        real = pwd.getpwuid(os.getuid()).pw_dir
        home = os.environ["HOME"]
        self.assertNotEqual(os.path.realpath(home), os.path.realpath(real))
        self.assertTrue(os.path.basename(home).startswith("dirscope-home-"))
        child = run(["sh", "-c", "echo $HOME"]).stdout.decode().strip()
        self.assertEqual(child, home)


if __name__ == "__main__":
    harness.main()
