#!/usr/bin/env python3
"""System test (issue 8, item 5): the systemd units pass
`systemd-analyze verify`, and `cpack` builds the two .deb packages with
the expected files, dependencies and maintainer scripts."""

import glob
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
UNITS = os.path.join(SOURCE, "conf", "systemd")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=240,
                          **kw)


class Packaging(harness.SystemTest):
    def test_units_verify(self):
        self.assertIsNotNone(shutil.which("systemd-analyze"),
                             "systemd-analyze is missing (make deps)")
        # verify checks that ExecStart's program exists: point it at the
        # binaries just built instead of /usr/bin.
        work = self.make_dir("units")
        for unit in ("dirscope-server.service", "dirscope-client@.service"):
            with open(os.path.join(UNITS, unit)) as f:
                text = f.read()
            self.assertIn("ExecStart=/usr/bin/", text)
            with open(os.path.join(work, unit), "w") as f:
                f.write(text.replace("/usr/bin/", harness.BIN_DIR + "/"))
        out = run(["systemd-analyze", "verify",
                   "./dirscope-server.service",
                   "./dirscope-client@web1.service"], cwd=work)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(out.stderr.strip(), "", out.stderr)

    def test_deb_packages(self):
        config = os.path.join(harness.BIN_DIR, "CPackConfig.cmake")
        self.assertTrue(os.path.exists(config), config)
        work = self.make_dir("cpack")
        out = run(["cpack", "-G", "DEB", "--config", config, "-B", work])
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        debs = {os.path.basename(p).split("_")[0]: p
                for p in glob.glob(os.path.join(work, "*.deb"))}
        self.assertEqual(sorted(debs), ["dirscope-client", "dirscope-server"])
        expected = {
            "dirscope-server": ["./usr/bin/dirscope-server",
                                "./usr/bin/dirscope",
                                "./usr/share/doc/dirscope-server/API.md",
                                "./usr/lib/systemd/system/dirscope-server.service",
                                "./etc/dirscope/server.ini",
                                "./usr/share/doc/dirscope-server/README.md"],
            "dirscope-client": ["./usr/bin/dirscope-client",
                                "./usr/lib/systemd/system/dirscope-client@.service",
                                "./usr/share/doc/dirscope-client/examples/"
                                "client-example.ini"],
        }
        owned = {}
        for name, deb in debs.items():
            listing = run(["dpkg-deb", "-c", deb])
            self.assertEqual(listing.returncode, 0, listing.stderr)
            files = [line.split()[-1] for line in listing.stdout.splitlines()]
            for path in expected[name]:
                self.assertIn(path, files, "%s lacks %s" % (name, path))
            owned[name] = {f for f in files if not f.endswith("/")}
            # Nothing outside the package's own places, nothing setuid.
            for line in listing.stdout.splitlines():
                mode, path = line.split()[0], line.split()[-1]
                self.assertNotIn("s", mode[1:], line)
                self.assertTrue(path in ("./", "./etc/")
                                or path.startswith(("./usr/", "./etc/dirscope/")),
                                line)
            info = run(["dpkg-deb", "-I", deb])
            self.assertEqual(info.returncode, 0, info.stderr)
            self.assertIn("Package: " + name, info.stdout)
            # shlibdeps found the shared libraries the binary links.
            self.assertRegex(info.stdout, r"Depends:.*libcaf", info.stdout)
            self.assertIn("adduser", info.stdout)
            self.assertIn("postinst", info.stdout)
            control = self.make_dir("control-" + name)
            ok = run(["dpkg-deb", "-e", deb, control])
            self.assertEqual(ok.returncode, 0, ok.stderr)
            with open(os.path.join(control, "postinst")) as f:
                self.assertIn("adduser --system", f.read())
            if name == "dirscope-server":
                with open(os.path.join(control, "conffiles")) as f:
                    self.assertIn("/etc/dirscope/server.ini", f.read())
        # Both on one host (the container image installs both): dpkg
        # refuses a file that another installed package already owns.
        self.assertEqual(owned["dirscope-server"] & owned["dirscope-client"],
                         set())


if __name__ == "__main__":
    harness.main()
