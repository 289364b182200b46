#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::tls;
using namespace dirscope::tls::test;

namespace {

// A fixture with an established pair of sessions.
struct connected : pki_fixture {
  connected()
    : client(make_endpoint(this->client_ctx())),
      server(make_endpoint(pki_fixture::server())) {
    pump(client, server);
    REQUIRE(client.tls->established());
    REQUIRE(server.tls->established());
  }

  std::shared_ptr<context> client_ctx() {
    return pki_fixture::client(ca_trust());
  }

  // Encrypts `data` on `from` and returns the ciphertext.
  static std::vector<uint8_t> seal(endpoint& from,
                                   const std::vector<uint8_t>& data) {
    auto res = from.tls->write(data.data(), data.size());
    REQUIRE(res.ok());
    CHECK(*res);
    std::vector<uint8_t> wire;
    from.tls->drain(wire);
    return wire;
  }

  endpoint client;
  endpoint server;
};

} // namespace

TEST_CASE_METHOD(connected, "application data flows both ways",
                 "[session]") {
  for (size_t size : {size_t{1}, size_t{100}, size_t{16384}, size_t{16385},
                      size_t{100000}, size_t{1} << 20}) {
    INFO("size " << size);
    auto up = pattern(size, 1);
    auto down = pattern(size, 2);
    REQUIRE(client.tls->write(up.data(), up.size()).ok());
    REQUIRE(server.tls->write(down.data(), down.size()).ok());
    pump(client, server);
    CHECK(server.received == up);
    CHECK(client.received == down);
    server.received.clear();
    client.received.clear();
  }
  CHECK_FALSE(client.error);
  CHECK_FALSE(server.error);
}

TEST_CASE_METHOD(connected, "ciphertext may arrive one byte at a time",
                 "[session]") {
  auto msg = bytes_of("hello, byte by byte");
  auto wire = seal(client, msg);
  for (auto byte : wire) {
    auto res = server.tls->feed(&byte, 1, server.received);
    REQUIRE(res.ok());
  }
  CHECK(server.received == msg);
}

TEST_CASE_METHOD(connected, "a truncated record waits for the rest",
                 "[session]") {
  auto msg = pattern(5000);
  auto wire = seal(client, msg);
  auto half = wire.size() / 2;
  auto res = server.tls->feed(wire.data(), half, server.received);
  REQUIRE(res.ok());
  CHECK(server.received.empty());
  CHECK_FALSE(server.tls->failed());
  res = server.tls->feed(wire.data() + half, wire.size() - half,
                         server.received);
  REQUIRE(res.ok());
  CHECK(server.received == msg);
}

TEST_CASE_METHOD(connected, "a corrupted record kills the session",
                 "[session]") {
  auto wire = seal(client, pattern(1000));
  REQUIRE(wire.size() > 20);
  wire[wire.size() / 2] ^= 0x01;
  auto res = server.tls->feed(wire.data(), wire.size(), server.received);
  REQUIRE_FALSE(res.ok());
  CHECK(server.tls->failed());
  CHECK(server.received.empty());
  CHECK_THAT(res.error().message, Catch::Contains("authentication"));
  // The alert reaches the client, which fails too.
  transfer(server, client);
  CHECK(client.tls->failed());
}

TEST_CASE("writes before the handshake are queued", "[session]") {
  pki_fixture fx;
  auto client = make_endpoint(fx.client(fx.ca_trust()));
  auto server = make_endpoint(fx.server());
  auto early = bytes_of("early bird");
  auto queued = client.tls->write(early.data(), early.size());
  REQUIRE(queued.ok());
  CHECK_FALSE(*queued);
  auto reply = bytes_of("welcome");
  REQUIRE(server.tls->write(reply.data(), reply.size()).ok());
  pump(client, server);
  CHECK(server.received == early);
  CHECK(client.received == reply);
}

TEST_CASE_METHOD(connected, "close_notify reaches the peer", "[session]") {
  auto last = bytes_of("last words");
  REQUIRE(client.tls->write(last.data(), last.size()).ok());
  client.tls->close();
  CHECK(client.tls->has_output());
  pump(client, server);
  CHECK(server.received == last);
  CHECK(server.tls->peer_closed());
  CHECK_FALSE(server.tls->failed());
  CHECK_FALSE(client.tls->peer_closed());
  CHECK_FALSE(client.tls->write(last.data(), last.size()).ok());
  server.tls->close();
  pump(client, server);
  CHECK(client.tls->peer_closed());
  CHECK_FALSE(client.error);
  CHECK_FALSE(server.error);
}

TEST_CASE("a plaintext peer is recognised", "[session]") {
  pki_fixture fx;
  const uint8_t frame[] = {0x00, 0x00, 0x00, 0x10, 0x01, 0x02, 0x03, 0x04};
  SECTION("plaintext client on a TLS server") {
    auto server = make_endpoint(fx.server());
    auto res = server.tls->feed(frame, sizeof(frame), server.received);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().message == "peer does not speak TLS (plaintext peer?)");
    CHECK(server.tls->failed());
  }
  SECTION("plaintext server answering a TLS client") {
    auto client = make_endpoint(fx.client(fx.ca_trust()));
    auto res = client.tls->feed(frame, sizeof(frame), client.received);
    REQUIRE_FALSE(res.ok());
    CHECK_THAT(res.error().message, Catch::Contains("does not speak TLS"));
  }
  SECTION("HTTP") {
    auto server = make_endpoint(fx.server());
    auto get = bytes_of("GET / HTTP/1.1\r\n\r\n");
    auto res = server.tls->feed(get.data(), get.size(), server.received);
    REQUIRE_FALSE(res.ok());
    CHECK_THAT(res.error().message, Catch::Contains("does not speak TLS"));
  }
  SECTION("handshake type but no TLS version, one byte at a time") {
    auto server = make_endpoint(fx.server());
    const uint8_t fake[] = {0x16, 0x00};
    REQUIRE(server.tls->feed(fake, 1, server.received).ok());
    auto res = server.tls->feed(fake + 1, 1, server.received);
    REQUIRE_FALSE(res.ok());
    CHECK_THAT(res.error().message, Catch::Contains("does not speak TLS"));
  }
}
