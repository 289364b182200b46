#!/usr/bin/env python3
"""System test: `make demo` (scripts/demo.sh) on a terminal. Ctrl-C at the
idle prompt reaches only the server (it reminds you of quit); the two demo
nodes run in their own sessions, keep serving, and write what they print
into the log files the banner names, never onto the operator's terminal.
When the server exits the demo stops the nodes and removes its keys."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DEMO = os.path.join(harness.REPO_ROOT, "scripts", "demo.sh")


def node_pids(port):
    """Pids of the dirscope-client processes that connect to `port`."""
    result = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (argv and argv[0].endswith(b"dirscope-client")
                and ("127.0.0.1:%d" % port).encode() in argv):
            name = argv[argv.index(b"--name") + 1].decode()
            result[name] = int(entry)
    return result


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Demo(harness.SystemTest):

    def kill_nodes(self, pids):
        for pid in pids:
            if alive(pid):
                os.kill(pid, 9)

    def test_ctrl_c_reaches_only_the_server_and_nodes_log_to_files(self):
        port = harness.free_port()
        demo = harness.PtyProcess("demo", ["bash", DEMO, harness.BIN_DIR],
                                  cwd=self.tmp,
                                  env={"DIRSCOPE_DEMO_PORT": str(port),
                                       "TMPDIR": self.tmp})
        self.addCleanup(demo.kill)
        mark = demo.wait_output("dirscope> ", timeout=30)
        banner = demo.output()
        logs = re.search(r"Logs: (\S+)/\{server,alpha,beta\}\.log", banner)
        self.assertTrue(logs, banner)
        logs = logs.group(1)
        self.assertTrue(logs.startswith(self.tmp), logs)
        demo.type("wait-nodes 2 --timeout 20")
        mark = demo.wait_output("2 node(s) connected", since=mark, timeout=30)
        pids = node_pids(port)
        self.addCleanup(self.kill_nodes, list(pids.values()))
        self.assertEqual(sorted(pids), ["alpha", "beta"])

        # Ctrl-C at the idle prompt: the server only reminds of quit.
        demo.ctrl_c()
        mark = demo.wait_output("quit", since=mark)
        demo.type("broadcast demo-notice")
        mark = demo.wait_output("notice sent to 2 nodes", since=mark)
        for name, pid in pids.items():
            path = os.path.join(logs, name + ".log")
            harness.wait_for(lambda: "notice from server: demo-notice"
                             in harness.read_text(path), 15,
                             what="the notice in %s" % path)
            self.assertTrue(alive(pid), name)
        self.assertNotIn("notice from server", demo.output())

        # quit: the server says goodbye, the demo stops and cleans up.
        demo.type("quit")
        self.assertEqual(demo.wait(timeout=20), 0, demo.output()[-1500:])
        for name, pid in pids.items():
            harness.wait_for(lambda: not alive(pid), 10,
                             what="node %s (%d) to stop" % (name, pid))
        self.assertFalse(os.path.exists(os.path.join(logs, "state")))
        self.assertIn("listening on", harness.read_text(
            os.path.join(logs, "server.log")))
        self.assertIn("logs kept in " + logs, demo.output())


if __name__ == "__main__":
    harness.main()
