#!/usr/bin/env python3
"""System test: the web view (issue 8 item 4) in a real browser.

A real server (API on a free port) and a real node on loopback; Debian's
headless Chromium, driven by chromedriver through python3-selenium, loads
the page the server serves, logs in with the operator token, sees the node,
navigates into a directory and back by the breadcrumbs, compares a shown
hash with sha256 of the file, sees a second node join without a reload,
finds a file by name, downloads one and deletes one after confirming. The browser trusts
exactly the server's key (its SPKI hash), not every certificate. A
screenshot is left in the build dir (tests/test-artifacts/web.png).
"""

import base64
import hashlib
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# Debian's python3-selenium lives in dist-packages; the interpreter that
# runs the tests may be another build of the same Python version.
sys.path.append("/usr/lib/python3/dist-packages")
try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TIMEOUT = 30


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def spki_sha256(host, port):
    """Base64 SHA-256 of the server certificate's public key, as Chromium's
    --ignore-certificate-errors-spki-list wants it."""
    pem = ssl.get_server_certificate((host, port))
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout"],
                         input=pem.encode(), capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=pub, capture_output=True, check=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class WebViewTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dirscope-web-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.root = os.path.join(self.tmp, "root")
        self.motd = os.urandom(5000)
        write(os.path.join(self.root, "etc", "motd"), self.motd)
        write(os.path.join(self.root, "etc", "caf\xe9".encode("latin-1")
                           .decode("utf-8", "surrogateescape")), b"x")
        write(os.path.join(self.root, "etc", "old.log"), b"old\n")
        write(os.path.join(self.root, "top.txt"), b"top\n")
        self.api_port = harness.free_port()
        self.server = harness.Server(
            self.tmp, harness.free_port(),
            args=["--api-listen=127.0.0.1:%d" % self.api_port])
        self.addCleanup(self.server.kill)
        assert self.server.wait_listening()
        harness.wait_for(lambda: "operator API on" in
                         self.server.stderr_text(), TIMEOUT,
                         what="the operator API")
        self.node = self.start_node("web1", self.root,
                                    ["--allow-delete", "--allow-download"])
        self.server.wait_nodes(1, watch=[self.node])

    def start_node(self, name, root, extra=()):
        p = harness.Process(
            name, harness.client_argv(self.server.port, root, name,
                                      args=self.server.client_args()
                                      + list(extra)), self.tmp)
        self.addCleanup(p.kill)
        return p

    def start_browser(self):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ["--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1200,800",
                    "--no-first-run", "--user-data-dir="
                    + os.path.join(self.tmp, "chromium"),
                    "--ignore-certificate-errors-spki-list="
                    + spki_sha256("127.0.0.1", self.api_port)]:
            options.add_argument(arg)
        service = Service(CHROMEDRIVER,
                          log_output=os.path.join(self.tmp,
                                                  "chromedriver.log"))
        self.downloads = os.path.join(self.tmp, "downloads")
        os.mkdir(self.downloads)
        options.add_experimental_option("prefs", {
            "download.default_directory": self.downloads,
            "download.prompt_for_download": False})
        browser = webdriver.Chrome(service=service, options=options)
        self.addCleanup(browser.quit)
        browser.set_page_load_timeout(TIMEOUT)
        return browser

    def wait(self, predicate, what):
        # The page replaces its rows while a predicate may be reading them:
        # such a predicate is asked again.
        return WebDriverWait(
            self.browser, TIMEOUT,
            ignored_exceptions=(StaleElementReferenceException,)).until(
                lambda b: predicate(), message="waiting for " + what)

    def rows(self):
        """The listing as {name: [type, mtime, size, details, name text]}."""
        result = {}
        for tr in self.browser.find_elements(By.CSS_SELECTOR,
                                             "#listing tbody tr"):
            cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            result[tr.get_attribute("data-name")] = cells
        return result

    def node_names(self):
        return [li.get_attribute("data-node") for li in
                self.browser.find_elements(By.CSS_SELECTOR, "#nodes li")]

    @unittest.skipUnless(HAVE_SELENIUM and os.path.exists(CHROMIUM)
                         and os.path.exists(CHROMEDRIVER),
                         "needs chromium, chromium-driver and "
                         "python3-selenium (make deps installs them)")
    def test_browse_hash_live_nodes_find_and_delete(self):
        b = self.browser = self.start_browser()
        b.get("https://127.0.0.1:%d/" % self.api_port)
        self.assertEqual(b.title, "dirscope")
        # Nothing without the token; a wrong one is said so.
        b.find_element(By.ID, "token").send_keys("wrong")
        b.find_element(By.CSS_SELECTOR, "#login button").click()
        self.wait(lambda: "wrong" in b.find_element(By.ID, "status").text,
                  "the wrong token to be refused")
        self.assertEqual(self.node_names(), [])
        b.find_element(By.ID, "token").send_keys(self.server.operator_token())
        b.find_element(By.CSS_SELECTOR, "#login button").click()
        self.wait(lambda: self.node_names() == ["web1"], "the node list")

        # The node's root, then etc/ by a click.
        b.find_element(By.CSS_SELECTOR, '#nodes li[data-node="web1"]').click()
        self.wait(lambda: "etc" in self.rows(), "the root listing")
        root = self.rows()
        self.assertEqual(root["etc"][0], "dir")
        self.assertEqual(root["etc"][3], "3 items")
        self.assertEqual(root["top.txt"][3],
                         hashlib.sha256(b"top\n").hexdigest())
        b.find_element(By.CSS_SELECTOR,
                       '#listing tr[data-name="etc"] td.name a').click()
        self.wait(lambda: "motd" in self.rows(), "the etc listing")
        etc = self.rows()
        self.assertEqual(etc["motd"][0], "file")
        self.assertEqual(etc["motd"][2], str(len(self.motd)))
        self.assertEqual(etc["motd"][3], hashlib.sha256(self.motd).hexdigest())
        # A name that is not UTF-8 is escaped as the shell escapes it.
        self.assertIn("caf\\xe9", etc)
        # The shell's own listing shows the same mtime text.
        shell = self.server.command("ls web1:/etc")
        motd_line = [x for x in shell if x.endswith(" motd")][0]
        self.assertIn(etc["motd"][1], motd_line)
        self.assertIn("web1:/", b.find_element(By.ID, "crumbs").text)
        self.assertIn("etc", b.find_element(By.ID, "crumbs").text)
        os.makedirs(os.path.join(os.environ.get("DIRSCOPE_ARTIFACTS",
                                                "test-artifacts")),
                    exist_ok=True)
        b.save_screenshot(os.path.join(os.environ.get(
            "DIRSCOPE_ARTIFACTS", "test-artifacts"), "web.png"))

        # A download: the bytes the node holds.
        b.find_element(By.CSS_SELECTOR,
                       '#listing tr[data-name="motd"] button.download').click()
        saved = os.path.join(self.downloads, "motd")

        def downloaded():
            if not os.path.exists(saved):
                return False
            with open(saved, "rb") as f:
                return f.read() == self.motd
        self.wait(downloaded, "the download of motd")

        # A second node joins: it appears without a reload.
        other = os.path.join(self.tmp, "other")
        write(os.path.join(other, "deep", "motd"), b"other motd\n")
        self.start_node("db2", other)
        self.wait(lambda: self.node_names() == ["db2", "web1"],
                  "db2 to appear")

        # Find by name on every node: one row per node's match.
        b.find_element(By.ID, "search-name").send_keys("motd")
        b.find_element(By.ID, "search-all").click()
        b.find_element(By.CSS_SELECTOR, "#search button").click()
        self.wait(lambda: "2 match" in b.find_element(By.ID, "message").text,
                  "the find to end")
        found = sorted(tr.get_attribute("data-path") for tr in
                       b.find_elements(By.CSS_SELECTOR, "#listing tbody tr"))
        self.assertEqual(found, ["/deep/motd", "/etc/motd"])

        # Delete only after the operator confirms; dismissing keeps it.
        b.find_element(By.CSS_SELECTOR,
                       '#nodes li[data-node="web1"]').click()
        self.wait(lambda: "etc" in self.rows(), "the root listing again")
        b.find_element(By.CSS_SELECTOR,
                       '#listing tr[data-name="etc"] td.name a').click()
        self.wait(lambda: "old.log" in self.rows(), "etc again")
        old = os.path.join(self.root, "etc", "old.log")
        delete = ('#listing tr[data-name="old.log"] button.delete')
        b.find_element(By.CSS_SELECTOR, delete).click()
        self.wait(lambda: b.switch_to.alert, "the confirmation")
        b.switch_to.alert.dismiss()
        self.assertTrue(os.path.exists(old))
        b.find_element(By.CSS_SELECTOR, delete).click()
        self.wait(lambda: b.switch_to.alert, "the confirmation")
        b.switch_to.alert.accept()
        self.wait(lambda: "old.log" not in self.rows(), "the row to go")
        self.assertFalse(os.path.exists(old))

    def test_pages_are_served_with_a_strict_policy(self):
        ctx = ssl.create_default_context(cafile=self.server.ca_file)
        import http.client
        conn = http.client.HTTPSConnection("127.0.0.1", self.api_port,
                                           context=ctx, timeout=TIMEOUT)
        self.addCleanup(conn.close)
        for path, kind in [("/", "text/html"), ("/app.js", "text/javascript"),
                           ("/style.css", "text/css")]:
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read()
            self.assertEqual(res.status, 200, path)
            self.assertTrue(res.getheader("Content-Type").startswith(kind))
            self.assertIn("default-src 'self'",
                          res.getheader("Content-Security-Policy"))
            self.assertEqual(res.getheader("X-Content-Type-Options"),
                             "nosniff")
            # Nothing is fetched from elsewhere.
            self.assertNotIn(b"http://", body)
            self.assertNotIn(b"https://", body)
        conn.request("GET", "/nothing.js")
        res = conn.getresponse()
        res.read()
        self.assertEqual(res.status, 404)


if __name__ == "__main__":
    harness.main()
