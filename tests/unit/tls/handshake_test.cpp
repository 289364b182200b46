#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>

#include <openssl/ssl.h>

#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::tls;
using namespace dirscope::tls::test;

TEST_CASE("a client drains its ClientHello right after make",
          "[handshake]") {
  pki_fixture fx;
  auto client = make_endpoint(fx.client(fx.ca_trust()));
  std::vector<uint8_t> hello;
  client.tls->drain(hello);
  REQUIRE(hello.size() > 5);
  CHECK(looks_like_tls(hello.data(), hello.size()));
  CHECK(looks_like_tls(hello.data(), 1));
  CHECK_FALSE(client.tls->established());
  auto server = make_endpoint(fx.server());
  std::vector<uint8_t> nothing;
  server.tls->drain(nothing);
  CHECK(nothing.empty());
}

TEST_CASE("looks_like_tls tells TLS from dirscope frames", "[handshake]") {
  const uint8_t frame[] = {0x00, 0x00, 0x00, 0x10};
  CHECK_FALSE(looks_like_tls(frame, sizeof(frame)));
  CHECK_FALSE(looks_like_tls(frame, 0));
  const uint8_t not_tls[] = {0x16, 0x00};
  CHECK_FALSE(looks_like_tls(not_tls, sizeof(not_tls)));
  const uint8_t http[] = {'G', 'E', 'T', ' '};
  CHECK_FALSE(looks_like_tls(http, sizeof(http)));
}

TEST_CASE("handshake verifying the CA and the host name", "[handshake]") {
  pki_fixture fx;
  for (auto name : {"localhost", "dirscope.test", "127.0.0.1", "::1"}) {
    INFO("server_name " << name);
    auto client = make_endpoint(fx.client(fx.ca_trust(name)));
    auto server = make_endpoint(fx.server());
    pump(client, server);
    CHECK_FALSE(client.error);
    CHECK_FALSE(server.error);
    REQUIRE(client.tls->established());
    REQUIRE(server.tls->established());
    CHECK(client.tls->protocol_version() == "TLSv1.3");
    CHECK(server.tls->protocol_version() == "TLSv1.3");
    CHECK(client.tls->peer_fingerprint() == fx.fingerprint);
    CHECK(client.tls->peer_common_name() == "dirscope.test");
    CHECK(server.tls->peer_fingerprint().empty());
    CHECK(server.tls->peer_common_name().empty());
  }
}

TEST_CASE("handshake with a fingerprint pin", "[handshake]") {
  pki_fixture fx;
  auto plain = fx.fingerprint;
  plain.erase(std::remove(plain.begin(), plain.end(), ':'), plain.end());
  auto upper = plain;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (auto pin : {fx.fingerprint, plain, "sha256:" + upper}) {
    INFO("pin " << pin);
    client_trust trust;
    trust.fingerprint = pin;
    auto client = make_endpoint(fx.client(trust));
    auto server = make_endpoint(fx.server());
    pump(client, server);
    CHECK_FALSE(client.error);
    REQUIRE(client.tls->established());
    REQUIRE(server.tls->established());
  }
  SECTION("pin and CA together") {
    auto trust = fx.ca_trust("localhost");
    trust.fingerprint = fx.fingerprint;
    auto client = make_endpoint(fx.client(trust));
    auto server = make_endpoint(fx.server());
    pump(client, server);
    CHECK(client.tls->established());
    CHECK(server.tls->established());
  }
  SECTION("pin only ignores the host name") {
    client_trust trust;
    trust.fingerprint = fx.fingerprint;
    trust.server_name = "elsewhere.example";
    auto client = make_endpoint(fx.client(trust));
    auto server = make_endpoint(fx.server());
    pump(client, server);
    CHECK(client.tls->established());
  }
}

TEST_CASE("a wrong pin fails the handshake before any data flows",
          "[handshake]") {
  pki_fixture fx;
  client_trust trust;
  trust.fingerprint = std::string(64, 'a');
  SECTION("pin only") {
    // nop
  }
  SECTION("pin next to a CA that would accept the server") {
    trust.ca_file = fx.files.ca_cert;
    trust.server_name = "localhost";
  }
  auto client = make_endpoint(fx.client(trust));
  auto server = make_endpoint(fx.server());
  // Both sides queue data up front: none of it may ever be delivered.
  REQUIRE(client.tls->write(bytes_of("from client").data(), 11).ok());
  REQUIRE(server.tls->write(bytes_of("from server").data(), 11).ok());
  pump(client, server);
  REQUIRE(client.error);
  CHECK(client.tls->failed());
  CHECK_FALSE(client.tls->established());
  CHECK_THAT(client.error->message,
             Catch::StartsWith("server certificate fingerprint mismatch: "
                               "expected aa:aa:"));
  CHECK_THAT(client.error->message, Catch::EndsWith("got " + fx.fingerprint));
  CHECK(server.tls->failed());
  CHECK_FALSE(server.tls->established());
  CHECK(client.received.empty());
  CHECK(server.received.empty());
  SECTION("a dead session keeps failing") {
    std::vector<uint8_t> out;
    auto again = client.tls->feed(bytes_of("x").data(), 1, out);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().message == client.error->message);
    CHECK_FALSE(client.tls->write(bytes_of("x").data(), 1).ok());
  }
}

TEST_CASE("the CA does not vouch for other names", "[handshake]") {
  pki_fixture fx;
  for (auto name : {"wrong.example", "10.9.9.9"}) {
    INFO("server_name " << name);
    auto client = make_endpoint(fx.client(fx.ca_trust(name)));
    auto server = make_endpoint(fx.server());
    pump(client, server);
    REQUIRE(client.error);
    CHECK_THAT(client.error->message,
               Catch::Contains("server certificate verification failed"));
    CHECK_THAT(client.error->message, Catch::Contains(name));
    CHECK_FALSE(client.tls->established());
    CHECK(server.tls->failed());
  }
}

TEST_CASE("a different CA does not vouch for the server", "[handshake]") {
  pki_fixture fx;
  pki_fixture other;
  auto client = make_endpoint(fx.client(other.ca_trust("localhost")));
  auto server = make_endpoint(fx.server());
  pump(client, server);
  REQUIRE(client.error);
  CHECK_THAT(client.error->message,
             Catch::Contains("server certificate verification failed"));
  REQUIRE(server.error);
  CHECK_THAT(server.error->message,
             Catch::Contains("client rejected our certificate: unknown CA"));
}

TEST_CASE("a TLS 1.2 client is refused", "[handshake]") {
  pki_fixture fx;
  auto ctx = context::make_client_for_testing(fx.ca_trust(), TLS1_2_VERSION);
  REQUIRE(ctx.ok());
  auto client = make_endpoint(*ctx);
  auto server = make_endpoint(fx.server());
  pump(client, server);
  REQUIRE(server.error);
  REQUIRE(client.error);
  CHECK(server.error->code == wire_code::version_mismatch);
  CHECK(client.error->code == wire_code::version_mismatch);
  CHECK_THAT(server.error->message, Catch::Contains("TLS 1.3"));
  CHECK_FALSE(client.tls->established());
  CHECK_FALSE(server.tls->established());
}

TEST_CASE("client contexts need a way to verify the server",
          "[handshake][context]") {
  pki_fixture fx;
  client_trust none;
  none.server_name = "localhost";
  auto res = context::make_client(none);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code == wire_code::bad_request);
  CHECK(res.error().message
        == "no way to verify the server: give a CA file or a fingerprint");
  client_trust bad_pin;
  bad_pin.fingerprint = "12:34";
  auto res2 = context::make_client(bad_pin);
  REQUIRE_FALSE(res2.ok());
  CHECK(res2.error().code == wire_code::bad_request);
  client_trust no_name;
  no_name.ca_file = fx.files.ca_cert;
  CHECK_FALSE(context::make_client(no_name).ok());
}

TEST_CASE("context errors name the file", "[handshake][context]") {
  pki_fixture fx;
  auto missing = fx.dir.path() + "/missing.pem";
  SECTION("server certificate") {
    auto res = context::make_server({missing, fx.files.server_key, {}, false});
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == wire_code::io_error);
    CHECK_THAT(res.error().message, Catch::Contains(missing));
  }
  SECTION("key that is not a key") {
    auto res = context::make_server({fx.files.server_cert,
                                     fx.files.server_cert, {}, false});
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == wire_code::bad_request);
    CHECK_THAT(res.error().message, Catch::Contains(fx.files.server_cert));
  }
  SECTION("key of another certificate") {
    auto res = context::make_server({fx.files.server_cert, fx.files.ca_key,
                                     {}, false});
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == wire_code::bad_request);
    CHECK_THAT(res.error().message, Catch::Contains("does not match"));
  }
  SECTION("client CA file") {
    auto trust = fx.ca_trust();
    trust.ca_file = missing;
    auto res = context::make_client(trust);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == wire_code::io_error);
    CHECK_THAT(res.error().message, Catch::Contains(missing));
  }
  SECTION("required client certificates without a CA") {
    auto res = context::make_server({fx.files.server_cert,
                                     fx.files.server_key, {}, true});
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == wire_code::bad_request);
  }
}

TEST_CASE("a client certificate cannot pose as the server", "[handshake]") {
  pki_fixture fx;
  auto issued = issue_client_cert(fx.state_dir(), "localhost",
                                  fx.dir.path() + "/out");
  REQUIRE(issued.ok());
  auto ctx = context::make_server({issued->first, issued->second, {}, false});
  REQUIRE(ctx.ok());
  auto client = make_endpoint(fx.client(fx.ca_trust("localhost")));
  auto server = make_endpoint(*ctx);
  pump(client, server);
  REQUIRE(client.error);
  CHECK_THAT(client.error->message,
             Catch::Contains("unsuitable certificate purpose"));
  CHECK_FALSE(client.tls->established());
}
