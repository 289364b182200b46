#!/usr/bin/env python3
"""System test: the Dockerfile and compose.yaml stay in step with the code
(issue 8 item 5). No container runtime or registry is reachable here, so
the image is not built (`make container-check`, as root, runs its runtime
stage and compose's services without Docker); what can drift is checked
here instead: the build
stage installs only packages the Makefile's build needs, the files and
directories they name exist, and every option the compose commands pass
is one the binaries accept (and the commands parse)."""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def read(name):
    with open(os.path.join(REPO, name)) as f:
        return f.read()


def makefile_packages():
    text = read("Makefile").replace("\\\n", " ")
    m = re.search(r"^PACKAGES := (.*)$", text, re.M)
    return set(m.group(1).split())


class ContainerFilesTest(unittest.TestCase):

    def test_build_stage_installs_the_makefiles_packages(self):
        text = read("Dockerfile").replace("\\\n", " ")
        first = re.search(r"apt-get install -y --no-install-recommends"
                          r"([^&]*)&&", text)
        wanted = set(first.group(1).split())
        # `file` is what CPack's shlibdeps runs; all else is the build's.
        self.assertLessEqual(wanted - {"file"}, makefile_packages())
        for lib in ["libcaf-dev", "libcpp-httplib-dev", "libssl-dev",
                    "libarchive-dev", "dpkg-dev"]:
            self.assertIn(lib, wanted)

    def test_compose_commands_use_real_options(self):
        text = read("compose.yaml")
        commands = [json.loads("[" + m + "]") for m in re.findall(
            r'\[("dirscope-(?:server|client)".*?)\]', text, re.S)]
        self.assertEqual(sorted(c[0] for c in commands),
                         ["dirscope-client", "dirscope-client",
                          "dirscope-server"])
        for argv in commands:
            binary = os.path.join(harness.BIN_DIR, argv[0])
            help_text = subprocess.run([binary, "--help"],
                                       stdout=subprocess.PIPE, timeout=30,
                                       check=True).stdout.decode()
            for arg in argv[1:]:
                option = arg.split("=")[0]
                self.assertIn(option, help_text, "%s %s" % (argv[0], arg))
        # Bind mounts name directories of this repository.
        for path in re.findall(r"- \./([\w.-]+):", text):
            self.assertTrue(os.path.isdir(os.path.join(REPO, path)), path)
        # The nodes read exactly the files the server writes.
        self.assertIn("/state/ca.crt", text)
        self.assertIn("/state/enrollment.token", text)


if __name__ == "__main__":
    harness.main()
