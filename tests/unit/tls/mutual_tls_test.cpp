#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::tls;
using namespace dirscope::tls::test;

namespace {

struct mutual : pki_fixture {
  std::shared_ptr<context> strict_server() {
    server_identity id;
    id.client_ca_file = files.ca_cert;
    id.require_client_cert = true;
    return server(id);
  }

  client_trust with_cert(const std::string& name) {
    auto issued = issue_client_cert(state_dir(), name, dir.path() + "/out");
    if (!issued)
      FAIL("issue_client_cert: " << issued.error().message);
    auto trust = ca_trust();
    trust.cert_file = issued->first;
    trust.key_file = issued->second;
    return trust;
  }
};

} // namespace

TEST_CASE_METHOD(mutual, "mutual TLS with a certificate from the CA",
                 "[mutual]") {
  auto client = make_endpoint(this->client(with_cert("node-7")));
  auto server = make_endpoint(strict_server());
  auto hello = bytes_of("hello from node-7");
  REQUIRE(client.tls->write(hello.data(), hello.size()).ok());
  pump(client, server);
  CHECK_FALSE(client.error);
  CHECK_FALSE(server.error);
  REQUIRE(server.tls->established());
  CHECK(server.tls->peer_common_name() == "node-7");
  auto fp = fingerprint_of_cert_file(dir.path() + "/out/node-7.crt");
  REQUIRE(fp.ok());
  CHECK(server.tls->peer_fingerprint() == *fp);
  CHECK(server.received == hello);
}

TEST_CASE_METHOD(mutual, "mutual TLS without a certificate", "[mutual]") {
  auto client = make_endpoint(this->client(ca_trust()));
  auto server = make_endpoint(strict_server());
  auto hello = bytes_of("let me in");
  REQUIRE(client.tls->write(hello.data(), hello.size()).ok());
  pump(client, server);
  REQUIRE(server.error);
  CHECK_THAT(server.error->message, Catch::Contains("no certificate"));
  CHECK_FALSE(server.tls->established());
  CHECK(server.received.empty());
  // In TLS 1.3 the client finishes first and learns from the alert.
  REQUIRE(client.error);
  CHECK_THAT(client.error->message,
             Catch::Contains("requires a client certificate"));
}

TEST_CASE_METHOD(mutual, "mutual TLS with a certificate from another CA",
                 "[mutual]") {
  mutual other;
  auto client = make_endpoint(this->client([&] {
    auto trust = other.with_cert("intruder");
    trust.ca_file = files.ca_cert; // still trusts our server
    return trust;
  }()));
  auto server = make_endpoint(strict_server());
  pump(client, server);
  REQUIRE(server.error);
  CHECK_THAT(server.error->message,
             Catch::Contains("client certificate verification failed"));
  CHECK_FALSE(server.tls->established());
  CHECK(client.tls->failed());
}

TEST_CASE_METHOD(mutual, "optional client certificates", "[mutual]") {
  server_identity id;
  id.client_ca_file = files.ca_cert;
  auto ctx = server(id);
  SECTION("without") {
    auto client = make_endpoint(this->client(ca_trust()));
    auto server = make_endpoint(ctx);
    pump(client, server);
    CHECK(server.tls->established());
    CHECK(server.tls->peer_common_name().empty());
  }
  SECTION("with") {
    auto client = make_endpoint(this->client(with_cert("opt")));
    auto server = make_endpoint(ctx);
    pump(client, server);
    CHECK(server.tls->established());
    CHECK(server.tls->peer_common_name() == "opt");
  }
}
