#!/usr/bin/env python3
"""System test (issue 7 item 1): node selectors and fleet-wide commands
over four real nodes (web1, web2, db1, db2).

`ls all:/`, `find all:/ --name passwd` against os.walk, brace lists and
globs, `use web*`, --json objects naming their node, the summary line and
its counts, one node SIGKILLed while its query is in flight (one failure
line, the others answer) and one SIGSTOPped (it times out with one line
while the others' rows arrive first), and the exit status of piped mode.
"""

import fnmatch
import json
import os
import re
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NAMES = ["db1", "db2", "web1", "web2"]
SUMMARY = re.compile(r"^(\d+) nodes? answered, (\d+) failed, (\d+) timed out")


def build(root, name):
    """A small tree per node: /etc/passwd on all but db2, a file named
    after the node, a directory that differs."""
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "var", "log"))
    if name != "db2":
        with open(os.path.join(root, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:%s\n" % name)
    with open(os.path.join(root, "etc", "hosts"), "w") as f:
        f.write("127.0.0.1 %s\n" % name)
    with open(os.path.join(root, "only-" + name), "w") as f:
        f.write(name)
    if name.startswith("web"):
        os.makedirs(os.path.join(root, "var", "www", "passwd"))


def rows_by_node(lines):
    """{node: [rest of line]} for lines "node: ..."; other lines apart."""
    result = {}
    other = []
    for line in lines:
        m = re.match(r"^([A-Za-z0-9_.-]+): (.*)$", line)
        if m and m.group(1) in NAMES:
            result.setdefault(m.group(1), []).append(m.group(2))
        else:
            other.append(line)
    return result, other


def summary_of(lines):
    for line in lines:
        m = SUMMARY.match(line)
        if m:
            return tuple(int(x) for x in m.groups())
    raise AssertionError("no summary line in %r" % lines)


class Fleet(harness.SystemTest):
    def start_fleet(self, server_args=()):
        self.server = self.start_server(args=list(server_args))
        self.roots = {}
        self.nodes = {}
        for name in NAMES:
            root = self.make_dir("root-" + name)
            build(root, name)
            self.roots[name] = root
            # db2 keeps the read-only default: cat and put are refused
            # there; only the web nodes allow rm.
            policy = [] if name == "db2" else ["--allow-download",
                                               "--allow-upload"]
            if name.startswith("web"):
                policy.append("--allow-delete")
            self.nodes[name] = self.start_client(
                self.server, root, name, args=["--reconnect=false"] + policy)
        self.server.wait_nodes(len(NAMES), watch=list(self.nodes.values()))

    def expected_find(self, pattern, start="/"):
        """(node, path) of every entry named like `pattern`, by os.walk."""
        result = set()
        for name, root in self.roots.items():
            top = os.path.join(root, start.lstrip("/"))
            for dirpath, dirs, files in os.walk(top):
                for x in dirs + files:
                    if fnmatch.fnmatchcase(x, pattern):
                        rel = os.path.relpath(os.path.join(dirpath, x), root)
                        result.add((name, "/" + rel))
        return result

    # -- selectors ------------------------------------------------------------

    def test_ls_all_names_every_row_and_counts(self):
        self.start_fleet()
        out = self.server.command("ls all:/")
        rows, other = rows_by_node(out)
        self.assertEqual(sorted(rows), NAMES, out)
        for name in NAMES:
            shown = sorted(r.split()[-1] for r in rows[name])
            self.assertEqual(shown, sorted(os.listdir(self.roots[name])),
                             (name, rows[name]))
        self.assertEqual(summary_of(other), (4, 0, 0), out)
        self.assertEqual(out[-1], "4 nodes answered, 0 failed, 0 timed out")
        # `*:` is the same selector.
        out2 = self.server.command("ls *:/etc")
        rows2, other2 = rows_by_node(out2)
        self.assertEqual(sorted(rows2), NAMES)
        self.assertEqual(summary_of(other2), (4, 0, 0))

    def test_find_all_matches_an_independent_walk(self):
        self.start_fleet()
        out = self.server.command("find all:/ --name passwd")
        rows, other = rows_by_node(out)
        got = set()
        for name, lines in rows.items():
            for line in lines:
                got.add((name, "/" + line.split()[-1]))
        want = self.expected_find("passwd")
        self.assertEqual(got, want, out)
        self.assertNotIn("db2", rows)  # answered, matched nothing
        self.assertTrue(out[-1].startswith(
            "4 nodes answered, 0 failed, 0 timed out; %d matches"
            % len(want)), out)
        # --json: one object per match, each naming its node; stdout holds
        # objects only, the summary goes to stderr.
        out = self.server.command("find all:/etc --name passwd --json")
        objs = [json.loads(x) for x in out if x.startswith("{")]
        rest = [x for x in out if not x.startswith("{")]
        got = {(o["node"], o["path"].rstrip("/") + "/" + o["name"])
               for o in objs}
        self.assertEqual(got, self.expected_find("passwd", "/etc"))
        self.assertEqual(summary_of(rest), (4, 0, 0), out)
        self.assertEqual(len(rest), 1, out)

    def test_brace_list_glob_and_use(self):
        self.start_fleet()
        out = self.server.command("ls {web1,db2}:/etc")
        rows, other = rows_by_node(out)
        self.assertEqual(sorted(rows), ["db2", "web1"], out)
        self.assertEqual(summary_of(other), (2, 0, 0))
        out = self.server.command("stat web*:/etc/passwd --json")
        objs = [json.loads(x) for x in out if x.startswith("{")]
        self.assertEqual(sorted(o["node"] for o in objs), ["web1", "web2"])
        out = self.server.command("du db?:/etc")
        rows, other = rows_by_node(out)
        self.assertEqual(sorted(rows), ["db1", "db2"], out)
        self.assertEqual(summary_of(other), (2, 0, 0))
        out = self.server.command("cat {web2,db1}:/etc/hosts")
        rows, other = rows_by_node(out)
        self.assertEqual(rows, {"web2": ["127.0.0.1 web2"],
                                "db1": ["127.0.0.1 db1"]}, out)
        # A node that refuses gets one line and counts as failed.
        out = self.server.command("cat all:/etc/hosts")
        rows, other = rows_by_node(out)
        self.assertEqual(rows["db2"],
                         ["error: not permitted by node policy "
                          "(not_permitted)"], out)
        self.assertEqual(rows["web1"], ["127.0.0.1 web1"], out)
        self.assertEqual(summary_of(other), (3, 1, 0), out)
        out = self.server.command("tree web*:/var --depth 2")
        rows, _ = rows_by_node(out)
        self.assertEqual(sorted(rows), ["web1", "web2"], out)
        self.assertTrue(any("www" in r for r in rows["web1"]), out)
        # A selection: paths without a node run on every node in it.
        out = self.server.command("use web*")
        self.assertEqual(out, ["using web* (2 of 4 nodes now)"])
        self.assertEqual(self.server.command("pwd"), ["web*:/"])
        self.assertEqual(self.server.command("cd etc"), [])
        self.assertEqual(self.server.command("pwd"), ["web*:/etc"])
        out = self.server.command("ls")
        rows, other = rows_by_node(out)
        self.assertEqual(sorted(rows), ["web1", "web2"], out)
        self.assertTrue(all("hosts" in " ".join(v) for v in rows.values()))
        # get takes one node.
        out = self.server.command("get passwd")
        self.assertTrue(out and "takes one node" in out[-1], out)
        # One node again: rows as before selectors (no node names).
        self.server.command("use web1")
        out = self.server.command("ls /etc")
        self.assertTrue(out[0].startswith("TYPE"), out)
        self.assertFalse(any(x.startswith("web1:") for x in out), out)
        out = self.server.command("ls nosuch*:/")
        self.assertTrue(out and "no node matches" in out[-1], out)
        out = self.server.command("ls {a,,b}:/")
        self.assertTrue(out and "bad node selector" in out[-1], out)

    def test_rm_on_several_nodes_asks_once_naming_how_many(self):
        self.start_fleet()

        def hosts_left():
            return sorted(n for n, r in self.roots.items()
                          if os.path.exists(os.path.join(r, "etc", "hosts")))

        # What each node holds is shown, the db nodes refuse (policy), the
        # question names the two nodes that can; "n" keeps everything.
        out = self.server.command("rm all:/etc/hosts\nn")
        rows, other = rows_by_node(out)
        self.assertIn("is a file", rows["web1"][0], out)
        self.assertIn("not permitted", rows["db1"][0], out)
        self.assertEqual(summary_of(other), (2, 2, 0), out)
        self.assertIn("delete /etc/hosts on 2 nodes (all)? [y/N] ", out)
        self.assertEqual(out[-1], "not deleted")
        self.assertEqual(hosts_left(), NAMES)
        # "y" deletes on both.
        out = self.server.command("rm web*:/etc/hosts\ny")
        rows, other = rows_by_node(out)
        self.assertIn("delete /etc/hosts on 2 nodes (web*)? [y/N] ", out)
        self.assertTrue(any(r.startswith("deleted /etc/hosts")
                            for r in rows["web2"]), out)
        self.assertEqual(hosts_left(), ["db1", "db2"])
        self.assertEqual(out[-1], "2 nodes answered, 0 failed, 0 timed out")
        # A directory needs -r on every node: nothing asked, nothing gone.
        out = self.server.command("rm web*:/var -y")
        self.assertTrue(all("needs -r" in " ".join(v)
                            for v in rows_by_node(out)[0].values()), out)
        self.assertEqual(out[-1], "nothing to delete")
        out = self.server.command("rm web*:/var -r -y")
        self.assertFalse(os.path.exists(os.path.join(self.roots["web1"],
                                                     "var")))
        self.assertTrue(os.path.exists(os.path.join(self.roots["db1"],
                                                    "var")))

    def test_put_on_several_nodes_asks_once_naming_how_many(self):
        self.start_fleet()
        local = os.path.join(self.tmp, "motd.txt")
        with open(local, "w") as f:
            f.write("hello fleet\n")

        def have():
            return sorted(n for n, r in self.roots.items()
                          if os.path.exists(os.path.join(r, "etc",
                                                         "motd.txt")))

        out = self.server.command("put %s {web1,db1}:/etc/\nno" % local)
        self.assertIn("put %s -> /etc/motd.txt on 2 nodes? [y/N] " % local,
                      out)
        self.assertEqual(out[-1], "not sent")
        self.assertEqual(have(), [])
        out = self.server.command("put %s web*:/etc/\ny" % local)
        self.assertIn("put %s -> /etc/motd.txt on 2 nodes? [y/N] " % local,
                      out)
        self.assertEqual(have(), ["web1", "web2"])
        # -y: no question; a node without upload policy says so.
        out = self.server.command("put -y %s all:/var/" % local)
        self.assertFalse(any("[y/N]" in x for x in out), out)
        self.assertTrue(any(x.startswith("db2: error:") for x in out), out)

    # -- failing nodes --------------------------------------------------------

    def test_killed_node_gets_one_line_the_others_answer(self):
        self.start_fleet(["--request-timeout=120s"])
        victim = self.nodes["db2"]
        # Stopped first, so that its query is surely in flight when it dies.
        victim.signal(signal.SIGSTOP)
        self.server.send("find all:/ --name 'only-*'")
        self.server.send("echo fleet-done")
        # The other three answer while db2 cannot.
        seen = set()
        before = []
        while len(seen) < 3:
            line = self.server.read_line(timeout=60)
            self.assertIsNotNone(line)
            before.append(line)
            m = re.match(r"^(\w+): ", line)
            if m and "error" not in line:
                seen.add(m.group(1))
        self.assertEqual(seen, {"db1", "web1", "web2"}, before)
        victim.signal(signal.SIGKILL)
        rest, _ = self.server.read_until(lambda x: x == "fleet-done",
                                         timeout=60)
        out = before + rest
        db2 = [x for x in out if x.startswith("db2:")]
        self.assertEqual(len(db2), 1, out)
        self.assertIn("error:", db2[0])
        self.assertEqual(summary_of(out), (3, 1, 0), out)
        # Piped mode: a command where a node failed fails (exit status 1).
        self.server.close_stdin()
        self.assertExitsWith(self.server, 1, timeout=30)

    def test_paused_node_times_out_without_holding_back_the_others(self):
        # The request timeout is well below the heartbeat timeout (3 x 10 s),
        # so the paused node is timed out, not dropped.
        self.start_fleet(["--request-timeout=5s"])
        paused = self.nodes["db1"]
        paused.signal(signal.SIGSTOP)
        try:
            out = self.server.command("ls all:/etc", timeout=60)
        finally:
            paused.signal(signal.SIGCONT)
        rows, other = rows_by_node(out)
        db1 = rows.pop("db1", [])
        self.assertEqual(len(db1), 1, out)
        self.assertIn("timeout", db1[0])
        self.assertEqual(sorted(rows), ["db2", "web1", "web2"], out)
        # Streamed: every other node's rows came before the timeout line.
        timeout_at = out.index("db1: " + db1[0])
        for i, line in enumerate(out):
            if line.split(":")[0] in ("db2", "web1", "web2"):
                self.assertLess(i, timeout_at, out)
        self.assertEqual(summary_of(other), (3, 0, 1), out)
        # It answers again once resumed.
        out = self.server.command("ls db1:/etc")
        self.assertTrue(any("passwd" in x for x in out), out)


class FleetCtrlC(harness.SystemTest):
    def test_ctrl_c_cancels_on_every_node(self):
        state = os.path.join(self.workdir, "state")
        log = os.path.join(self.workdir, "server.log")
        port = harness.free_port()
        server = harness.PtyProcess(
            "server", [harness.server_bin(), "--state-dir=" + state,
                       "--bind", "127.0.0.1", "--port", str(port),
                       "--log-file=" + log, "--request-timeout=120s"],
            env={"HOME": self.workdir})
        self.addCleanup(server.kill)
        harness.wait_for(lambda: "listening on" in harness.read_text(log),
                         20, what="server listening")
        args = ["--reconnect=false", "--ca-file=" + os.path.join(state,
                                                                "ca.crt")]
        token = os.path.join(state, "enrollment.token")
        if os.path.exists(token):
            args.append("--token-file=" + token)
        nodes = {}
        for name in ("n1", "n2", "n3"):
            root = self.make_dir("root-" + name)
            build(root, name)
            nodes[name] = self.start_client(port, root, name, args=args)
        server.type("wait-nodes 3")
        at = server.wait_output("3 node(s) connected")
        nodes["n3"].signal(signal.SIGSTOP)
        try:
            server.type("find all:/ --name 'only-*'")
            at = max(server.wait_output("only-n1", since=at),
                     server.wait_output("only-n2", since=at))
            server.ctrl_c()
            at = server.wait_output(
                "2 nodes answered, 0 failed, 0 timed out, 1 cancelled",
                since=at)
            at = server.wait_output("cancelled", since=at)
        finally:
            nodes["n3"].signal(signal.SIGCONT)
        # The shell stays up and the resumed node answers again.
        server.type("ls all:/etc")
        server.wait_output("3 nodes answered, 0 failed, 0 timed out",
                           since=at)
        server.type("quit")
        self.assertEqual(server.wait(timeout=30), 0)


if __name__ == "__main__":
    harness.main()
