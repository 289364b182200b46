// libFuzzer harness: a TLS session (tls/session.*) fed arbitrary records.
// The first input byte picks the victim: a server from its first byte on
// (ClientHello parsing), a client right after its ClientHello (the
// server's flight), or either end of an established session (records
// after the handshake). The rest arrives in pieces. A session either
// accepts the bytes or fails for good; it never crashes, leaks or writes
// after a failure.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/check.hpp"
#include "fuzz/tls_peers.hpp"

using namespace dirscope;
using namespace dirscope::tls;

namespace {

void feed_pieces(session& victim, const uint8_t* data, size_t size,
                 size_t piece) {
  std::vector<uint8_t> plain;
  std::vector<uint8_t> out;
  for (size_t pos = 0; pos < size; pos += piece) {
    auto n = std::min(piece, size - pos);
    auto res = victim.feed(data + pos, n, plain);
    out.clear();
    victim.drain(out);
    if (!res) {
      FUZZ_CHECK(victim.failed());
      FUZZ_CHECK(!victim.error().message.empty());
      // Dead for good: feeding or writing again fails the same way.
      FUZZ_CHECK(!victim.feed(data, size, plain).ok());
      uint8_t x = 'x';
      FUZZ_CHECK(!victim.write(&x, 1).ok());
      return;
    }
    FUZZ_CHECK(*res == victim.established());
  }
  // Still alive: it can write and close.
  uint8_t x = 'x';
  (void) victim.write(&x, 1);
  victim.close();
  out.clear();
  victim.drain(out);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  auto& peers = fuzz::tls_peers::get();
  auto mode = data[0] & 3;
  size_t piece = 1 + (data[0] >> 2) * 37;
  data += 1;
  size -= 1;
  auto server = session::make(peers.server);
  auto client = session::make(peers.client);
  FUZZ_CHECK(server.ok() && client.ok());
  switch (mode) {
    case 0:
      feed_pieces(**server, data, size, piece);
      break;
    case 1: {
      std::vector<uint8_t> hello;
      (*client)->drain(hello);
      FUZZ_CHECK(!hello.empty());
      feed_pieces(**client, data, size, piece);
      break;
    }
    default: {
      fuzz::pump(**client, **server);
      FUZZ_CHECK((*client)->established() && (*server)->established());
      feed_pieces(mode == 2 ? **server : **client, data, size, piece);
      break;
    }
  }
  return 0;
}
