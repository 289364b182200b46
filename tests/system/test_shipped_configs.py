#!/usr/bin/env python3
"""System test: every shipped configuration file (conf/*.ini) works as it
is. A server starts with each server config and a node with each client
config, given nothing but --config-file: only the port is changed (to a
free one) and the paths are moved into a temporary directory (relative
paths stay relative to it, the working directory of both programs; the
samples the node serves are copied there). They must connect, and the node
must serve its tree."""

import glob
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CONF_DIR = os.path.join(harness.REPO_ROOT, "conf")
PATH_KEYS = {"root", "state-dir", "download-dir", "log-file", "ca-file",
             "token-file", "cert-file", "key-file", "client-ca-file"}
SETTING = re.compile(r'^(\s*;?\s*)([a-z][a-z0-9-]*)(\s*=\s*)(.*?)\s*$')


def shipped(kind):
    return sorted(glob.glob(os.path.join(CONF_DIR, kind + "*.ini")))


def rewrite(text, port):
    """The file with the port changed and absolute paths moved to relative
    ones (so under the working directory); comments and everything else
    untouched. Returns (text, {key: value}) of the active settings."""
    lines = []
    values = {}
    for line in text.splitlines():
        m = SETTING.match(line)
        if not m or m.group(1).strip().startswith(";"):
            lines.append(line)
            continue
        key, value = m.group(2), m.group(4)
        if key == "port":
            value = str(port)
        elif key == "server":
            value = '"127.0.0.1:%d"' % port
        elif key == "bind":
            value = '"127.0.0.1"'
        elif key in PATH_KEYS and value.strip('"').startswith("/"):
            value = '"%s"' % value.strip('"').lstrip("/")
        values[key] = value.strip('"')
        lines.append(m.group(1) + key + m.group(3) + value)
    return "\n".join(lines) + "\n", values


class ShippedConfigs(harness.SystemTest):

    def test_there_are_shipped_configs(self):
        names = sorted(os.path.basename(p) for p in
                       glob.glob(os.path.join(CONF_DIR, "*.ini")))
        self.assertTrue(shipped("server") and shipped("client"), names)
        # Every file is one of the two kinds, so the test below covers it.
        self.assertEqual(sorted(shipped("server") + shipped("client")),
                         sorted(glob.glob(os.path.join(CONF_DIR, "*.ini"))))

    def test_every_shipped_config_connects(self):
        for server_ini in shipped("server"):
            for client_ini in shipped("client"):
                with self.subTest(server=os.path.basename(server_ini),
                                  client=os.path.basename(client_ini)):
                    self.check_pair(server_ini, client_ini)

    def check_pair(self, server_ini, client_ini):
        run_dir = self.make_dir("run-%s-%s" % (
            os.path.basename(server_ini), os.path.basename(client_ini)))
        port = harness.free_port()
        with open(server_ini) as f:
            server_text, server_values = rewrite(f.read(), port)
        with open(client_ini) as f:
            client_text, client_values = rewrite(f.read(), port)
        for name, text in (("server.ini", server_text),
                           ("client.ini", client_text)):
            with open(os.path.join(run_dir, name), "w") as f:
                f.write(text)
        root = client_values.get("root")
        self.assertTrue(root, "%s names no root" % client_ini)
        source = os.path.join(harness.REPO_ROOT, root)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(run_dir, root), symlinks=True)
        else:
            os.makedirs(os.path.join(run_dir, root))

        srv = harness.Server(self.workdir, port, cwd=run_dir,
                             argv=[harness.server_bin(),
                                   "--config-file=server.ini"],
                             name="server-" + os.path.basename(server_ini))
        self.addCleanup(srv.kill)
        self.assertTrue(srv.wait_listening(timeout=20), srv.stderr_text())
        cl = harness.Process("client-" + os.path.basename(client_ini),
                             [harness.client_bin(),
                              "--config-file=client.ini"],
                             self.workdir, stdin=harness.subprocess.DEVNULL,
                             cwd=run_dir)
        self.addCleanup(cl.kill)
        srv.wait_nodes(1, timeout=20, watch=[cl])
        nodes = srv.nodes()
        name = client_values.get("name") or nodes[0]["name"]
        self.assertEqual([x["name"] for x in nodes], [name])
        self.assertEqual(nodes[0]["root"],
                         os.path.realpath(os.path.join(run_dir, root)))
        got = srv.command_json("ls --json %s:/" % name)
        self.assertEqual(sorted(x["name"] for x in got),
                         sorted(os.listdir(os.path.join(run_dir, root))))
        srv.send("quit")
        self.assertExitsWith(srv, 0, timeout=10)
        self.assertExitsWith(cl, 0, timeout=10)
        # The server wrote its log and state where the file says.
        if server_values.get("log-file"):
            self.assertIn("listening on", harness.read_text(
                os.path.join(run_dir, server_values["log-file"])))
        if server_values.get("state-dir"):
            self.assertTrue(os.path.isdir(os.path.join(
                run_dir, server_values["state-dir"])))


if __name__ == "__main__":
    harness.main()
