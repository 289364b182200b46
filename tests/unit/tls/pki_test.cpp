#include <catch2/catch.hpp>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>

#include <sys/stat.h>

#include "test_support.hpp"
#include "tls/pki.hpp"

using namespace dirscope;
using namespace dirscope::tls;
using namespace dirscope::tls::test;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// `openssl x509 -fingerprint -sha256` output, e.g. "sha256 Fingerprint=AB:..".
std::string openssl_cli_fingerprint(const std::string& pem) {
  auto cmd = "openssl x509 -noout -fingerprint -sha256 -in '" + pem + "'";
  std::string out;
  if (auto* pipe = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (auto n = std::fread(buf, 1, sizeof(buf), pipe))
      out.append(buf, n);
    ::pclose(pipe);
  }
  return out;
}

std::string openssl_cli_text(const std::string& pem) {
  auto cmd = "openssl x509 -noout -text -in '" + pem + "'";
  std::string out;
  if (auto* pipe = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof(buf), pipe))
      out.append(buf, n);
    ::pclose(pipe);
  }
  return out;
}

} // namespace

TEST_CASE("ensure_server_identity creates, then reuses", "[pki]") {
  temp_dir dir;
  auto state = dir.path() + "/a/state";
  auto first = ensure_server_identity(state, {"files.example", "10.1.2.3"});
  REQUIRE(first.ok());
  CHECK(first->created);
  CHECK(first->ca_cert == state + "/ca.crt");
  CHECK(first->server_key == state + "/server.key");
  CHECK(mode_of(state) == 0700);
  CHECK(mode_of(first->ca_key) == 0600);
  CHECK(mode_of(first->server_key) == 0600);
  CHECK(mode_of(first->server_cert) == 0644);
  auto fp = fingerprint_of_cert_file(first->server_cert);
  REQUIRE(fp.ok());
  CHECK(fp->size() == 32 * 3 - 1);
  auto second = ensure_server_identity(state, {"files.example"});
  REQUIRE(second.ok());
  CHECK_FALSE(second->created);
  auto fp2 = fingerprint_of_cert_file(second->server_cert);
  REQUIRE(fp2.ok());
  CHECK(*fp2 == *fp);
  SECTION("the certificates say what they should") {
    auto ca = openssl_cli_text(first->ca_cert);
    CHECK_THAT(ca, Catch::Contains("CN = dirscope CA "));
    CHECK_THAT(ca, Catch::Contains("CA:TRUE"));
    CHECK_THAT(ca, Catch::Contains("Certificate Sign"));
    CHECK_THAT(ca, Catch::Contains("prime256v1"));
    auto server = openssl_cli_text(first->server_cert);
    CHECK_THAT(server, Catch::Contains("Subject: CN = files.example"));
    CHECK_THAT(server, Catch::Contains("TLS Web Server Authentication"));
    CHECK_THAT(server, Catch::Contains("DNS:files.example"));
    CHECK_THAT(server, Catch::Contains("IP Address:10.1.2.3"));
    CHECK_THAT(server, Catch::Contains("DNS:localhost"));
    CHECK_THAT(server, Catch::Contains("IP Address:127.0.0.1"));
    CHECK_THAT(server, Catch::Contains("IP Address:0:0:0:0:0:0:0:1"));
  }
  SECTION("the fingerprint matches the openssl tool's") {
    auto cli = openssl_cli_fingerprint(first->server_cert);
    auto normalized = normalize_fingerprint(cli);
    REQUIRE(normalized.ok());
    CHECK(*normalized == *fp);
  }
  SECTION("a missing server certificate is reissued by the same CA") {
    auto ca_before = slurp(first->ca_cert);
    REQUIRE(std::remove(first->server_cert.c_str()) == 0);
    auto third = ensure_server_identity(state, {"files.example"});
    REQUIRE(third.ok());
    CHECK(third->created);
    CHECK(slurp(third->ca_cert) == ca_before);
    auto fp3 = fingerprint_of_cert_file(third->server_cert);
    REQUIRE(fp3.ok());
    CHECK(*fp3 != *fp);
  }
}

TEST_CASE("ensure_server_identity rejects names it cannot certify",
          "[pki]") {
  temp_dir dir;
  auto res = ensure_server_identity(dir.path() + "/s", {"bad name/with"});
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code == wire_code::bad_request);
  CHECK_THAT(res.error().message, Catch::Contains("bad name/with"));
}

TEST_CASE("fingerprint_of_cert_file reports missing and bad files",
          "[pki]") {
  temp_dir dir;
  auto missing = fingerprint_of_cert_file(dir.path() + "/nope.crt");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == wire_code::io_error);
  CHECK_THAT(missing.error().message, Catch::Contains("nope.crt"));
  auto junk_path = dir.path() + "/junk.crt";
  std::ofstream{junk_path} << "not a certificate\n";
  auto junk = fingerprint_of_cert_file(junk_path);
  REQUIRE_FALSE(junk.ok());
  CHECK(junk.error().code == wire_code::bad_request);
  CHECK_THAT(junk.error().message, Catch::Contains("junk.crt"));
}

TEST_CASE("normalize_fingerprint accepts the usual spellings", "[pki]") {
  std::string hex = "00112233445566778899aabbccddeeff"
                    "00112233445566778899AABBCCDDEEFF";
  std::string canonical = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
                          "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
  for (auto input : {hex, canonical, "sha256:" + hex, "SHA256:" + canonical,
                     "  " + hex + "\n", "sha256 Fingerprint=" + canonical}) {
    INFO(input);
    auto res = normalize_fingerprint(input);
    REQUIRE(res.ok());
    CHECK(*res == canonical);
  }
  for (auto input : {std::string{}, hex.substr(2), hex + "00", "zz" + hex,
                     "md5:" + hex}) {
    INFO(input);
    auto res = normalize_fingerprint(input);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == wire_code::bad_request);
  }
}

TEST_CASE("issue_client_cert writes a key pair signed by the CA", "[pki]") {
  pki_fixture fx;
  auto out = fx.dir.path() + "/clients";
  auto res = issue_client_cert(fx.state_dir(), "node-1", out);
  REQUIRE(res.ok());
  CHECK(res->first == out + "/node-1.crt");
  CHECK(res->second == out + "/node-1.key");
  CHECK(mode_of(res->second) == 0600);
  auto text = openssl_cli_text(res->first);
  CHECK_THAT(text, Catch::Contains("Subject: CN = node-1"));
  CHECK_THAT(text, Catch::Contains("TLS Web Client Authentication"));
  SECTION("bad names") {
    for (auto name : {"", "../x", "a/b", ".hidden", "sp ace"}) {
      auto bad = issue_client_cert(fx.state_dir(), name, out);
      REQUIRE_FALSE(bad.ok());
      CHECK(bad.error().code == wire_code::bad_request);
    }
  }
  SECTION("no CA") {
    auto none = issue_client_cert(fx.dir.path() + "/empty", "n", out);
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == wire_code::io_error);
  }
}

TEST_CASE("ensure_token creates a stable secret", "[pki][token]") {
  temp_dir dir;
  auto state = dir.path() + "/state";
  auto token = ensure_token(state);
  REQUIRE(token.ok());
  CHECK(token->size() == 64);
  for (auto c : *token)
    CHECK((std::isdigit(static_cast<unsigned char>(c))
           || (c >= 'a' && c <= 'f')));
  CHECK(mode_of(state + "/enrollment.token") == 0600);
  auto again = ensure_token(state);
  REQUIRE(again.ok());
  CHECK(*again == *token);
  temp_dir other;
  auto fresh = ensure_token(other.path());
  REQUIRE(fresh.ok());
  CHECK(*fresh != *token);
}

TEST_CASE("token_equal compares exactly", "[pki][token]") {
  CHECK(token_equal("abc123", "abc123"));
  CHECK_FALSE(token_equal("abc123", "abc124"));
  CHECK_FALSE(token_equal("abc123", "abc12"));
  CHECK_FALSE(token_equal("abc123", "abc1234"));
  CHECK_FALSE(token_equal("", ""));
  CHECK_FALSE(token_equal("", "x"));
}
