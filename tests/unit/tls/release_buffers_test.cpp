// Idle server sessions give their record buffers back (issue 9: memory per
// connection of a fleet).

#include <catch2/catch.hpp>

#include <openssl/ssl.h>

#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::tls;
using namespace dirscope::tls::test;

TEST_CASE("server sessions release their buffers between records",
          "[handshake][release]") {
  pki_fixture fx;
  auto ctx = fx.server();
  CHECK((SSL_CTX_get_mode(ctx->native()) & SSL_MODE_RELEASE_BUFFERS) != 0);
  // Records still flow both ways, one after another, as between
  // heartbeats.
  auto client = make_endpoint(fx.client(fx.ca_trust()));
  auto server = make_endpoint(ctx);
  pump(client, server);
  REQUIRE(server.tls->established());
  for (int i = 0; i < 3; ++i) {
    auto ping = bytes_of("ping");
    REQUIRE(client.tls->write(ping.data(), ping.size()));
    pump(client, server);
    auto pong = bytes_of("pong");
    REQUIRE(server.tls->write(pong.data(), pong.size()));
    pump(client, server);
  }
  CHECK(server.received == bytes_of("pingpingping"));
  CHECK(client.received == bytes_of("pongpongpong"));
  CHECK_FALSE(server.error);
  CHECK_FALSE(client.error);
}
