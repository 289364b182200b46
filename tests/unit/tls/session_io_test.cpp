// The session's own BIO (issue 10): ciphertext is read in place from what
// is fed, in any split, and drain() hands over or appends the records.

#include <catch2/catch.hpp>

#include "protocol/byte_buffer.hpp"
#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::tls;
using namespace dirscope::tls::test;

TEST_CASE("ciphertext fed in any split decrypts to the same bytes",
          "[session][bio]") {
  pki_fixture fx;
  auto client = make_endpoint(fx.client(fx.ca_trust()));
  auto server = make_endpoint(fx.server());
  pump(client, server);
  REQUIRE(server.tls->established());
  auto data = pattern(300'000, 7);
  REQUIRE(client.tls->write(data.data(), data.size()));
  std::vector<char> wire;
  client.tls->drain(wire);
  CHECK_FALSE(client.tls->has_output());
  REQUIRE(wire.size() > data.size());
  // Pieces that split record headers and bodies at odd places.
  protocol::byte_buffer plain;
  size_t pos = 0;
  size_t piece = 1;
  while (pos < wire.size()) {
    auto n = std::min(piece, wire.size() - pos);
    auto res = server.tls->feed(reinterpret_cast<uint8_t*>(wire.data()) + pos,
                                n, plain);
    REQUIRE(res);
    pos += n;
    piece = piece * 3 + 1;
  }
  CHECK(std::vector<uint8_t>(plain.begin(), plain.end()) == data);
}

TEST_CASE("drain hands over its records or appends them",
          "[session][bio]") {
  pki_fixture fx;
  auto client = make_endpoint(fx.client(fx.ca_trust()));
  auto server = make_endpoint(fx.server());
  pump(client, server);
  REQUIRE(client.tls->established());
  auto first = bytes_of("first");
  auto second = bytes_of("second");
  REQUIRE(client.tls->write(first.data(), first.size()));
  std::vector<char> wire;
  client.tls->drain(wire); // empty: takes the session's buffer
  auto one = wire.size();
  REQUIRE(one > 0);
  REQUIRE(client.tls->write(second.data(), second.size()));
  client.tls->drain(wire); // not empty: appends after what is there
  REQUIRE(wire.size() > one);
  CHECK_FALSE(client.tls->has_output());
  std::vector<uint8_t> plain;
  REQUIRE(server.tls->feed(reinterpret_cast<uint8_t*>(wire.data()),
                           wire.size(), plain));
  CHECK(plain == bytes_of("firstsecond"));
}
