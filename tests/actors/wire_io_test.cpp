// What an idle connection keeps between reads (issue 9: server memory at
// 10,000 nodes).

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/channel.hpp"
#include "actors/wire_io.hpp"
#include "protocol/codec.hpp"

using namespace dirscope;

namespace {

std::vector<char> bytes_of(const protocol::message& msg) {
  auto frame = protocol::encode(msg);
  REQUIRE(frame);
  return {frame->begin(), frame->end()};
}

} // namespace

TEST_CASE("consume_bytes: an idle decoder keeps no large buffer",
          "[wire_io][heartbeat]") {
  channel chan;
  protocol::frame_decoder decoder;
  std::vector<protocol::message> got;
  auto on_message = [&got](protocol::message& x) {
    got.push_back(x);
    return true;
  };
  auto big = bytes_of(protocol::notice{std::string(20000, 'x')});
  auto small = bytes_of(protocol::notice{"ack-sized"});
  SECTION("data flowing keeps the buffer, the next quiet read frees it") {
    CHECK_FALSE(consume_bytes(chan, decoder, big, on_message));
    REQUIRE(got.size() == 1);
    CHECK(decoder.buffered() == 0u);
    // A large read: more may follow at once, no reallocation per read.
    CHECK(decoder.input().capacity() > 4096u);
    CHECK_FALSE(consume_bytes(chan, decoder, small, on_message));
    REQUIRE(got.size() == 2);
    CHECK(decoder.input().capacity() <= 4096u);
  }
  SECTION("half a frame stays buffered until the rest comes") {
    std::vector<char> head(big.begin(), big.begin() + 15000);
    std::vector<char> tail(big.begin() + 15000, big.end());
    CHECK_FALSE(consume_bytes(chan, decoder, head, on_message));
    CHECK(got.empty());
    CHECK(decoder.buffered() == 15000u);
    CHECK_FALSE(consume_bytes(chan, decoder, tail, on_message));
    REQUIRE(got.size() == 1);
    CHECK(std::get<protocol::notice>(got[0]).text.size() == 20000u);
    CHECK_FALSE(consume_bytes(chan, decoder, small, on_message));
    CHECK(decoder.input().capacity() <= 4096u);
  }
}
