#include <catch2/catch.hpp>

#include "protocol/codec.hpp"
#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::protocol;
using namespace dirscope::protocol::test;

namespace {

using step = std::variant<std::monostate, message, failure>;

bytes all_samples_as_stream() {
  bytes stream;
  for (auto& msg : sample_messages())
    REQUIRE(encode(msg, stream));
  return stream;
}

// Drains `dec`, appending every message to `out`; returns the last step.
step drain(frame_decoder& dec, std::vector<message>& out) {
  for (;;) {
    auto x = dec.next();
    if (auto msg = std::get_if<message>(&x))
      out.push_back(std::move(*msg));
    else
      return x;
  }
}

void require_same(const std::vector<message>& got,
                  const std::vector<message>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("message #" << i << ": " << name_of(want[i]));
    CHECK(equal(got[i], want[i]));
  }
}

std::string failure_text(const step& x) {
  REQUIRE(std::holds_alternative<failure>(x));
  CHECK(std::get<failure>(x).code == wire_code::protocol_error);
  return std::get<failure>(x).message;
}

bytes prefix(uint32_t n) {
  return bytes{static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
               static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
}

} // namespace

TEST_CASE("frame_decoder starts empty", "[frame_decoder]") {
  frame_decoder dec;
  CHECK(dec.buffered() == 0);
  CHECK(std::holds_alternative<std::monostate>(dec.next()));
}

TEST_CASE("frame_decoder splits a stream fed in one go", "[frame_decoder]") {
  auto stream = all_samples_as_stream();
  frame_decoder dec;
  dec.feed(stream.data(), stream.size());
  CHECK(dec.buffered() == stream.size());
  std::vector<message> got;
  auto last = drain(dec, got);
  CHECK(std::holds_alternative<std::monostate>(last));
  require_same(got, sample_messages());
  CHECK(dec.buffered() == 0);
}

TEST_CASE("frame_decoder handles a stream fed byte by byte",
          "[frame_decoder]") {
  auto stream = all_samples_as_stream();
  frame_decoder dec;
  std::vector<message> got;
  for (auto b : stream) {
    dec.feed(&b, 1);
    auto last = drain(dec, got);
    REQUIRE(std::holds_alternative<std::monostate>(last));
  }
  require_same(got, sample_messages());
  CHECK(dec.buffered() == 0);
}

TEST_CASE("frame_decoder handles uneven slices", "[frame_decoder]") {
  auto stream = all_samples_as_stream();
  for (size_t slice : {2u, 3u, 7u, 13u, 64u, 1000u}) {
    INFO("slice size: " << slice);
    frame_decoder dec;
    std::vector<message> got;
    for (size_t pos = 0; pos < stream.size(); pos += slice) {
      auto n = std::min(slice, stream.size() - pos);
      dec.feed(stream.data() + pos, n);
      REQUIRE(std::holds_alternative<std::monostate>(drain(dec, got)));
    }
    require_same(got, sample_messages());
  }
}

TEST_CASE("frame_decoder keeps a partial frame buffered", "[frame_decoder]") {
  auto frame = encode(goodbye{wire_code::kicked, "operator said so"}).value();
  frame_decoder dec;
  dec.feed(frame.data(), frame.size() - 1);
  CHECK(std::holds_alternative<std::monostate>(dec.next()));
  CHECK(dec.buffered() == frame.size() - 1);
  dec.feed(&frame.back(), 1);
  auto x = dec.next();
  REQUIRE(std::holds_alternative<message>(x));
  CHECK(std::get<goodbye>(std::get<message>(x)).reason == "operator said so");
  CHECK(dec.buffered() == 0);
}

TEST_CASE("frame_decoder only reports what remains", "[frame_decoder]") {
  auto a = encode(chunk_ack{1}).value();
  auto b = encode(chunk_ack{2}).value();
  bytes both = a;
  both.insert(both.end(), b.begin(), b.begin() + 3);
  frame_decoder dec;
  dec.feed(both.data(), both.size());
  REQUIRE(std::holds_alternative<message>(dec.next()));
  CHECK(dec.buffered() == 3);
  CHECK(std::holds_alternative<std::monostate>(dec.next()));
  dec.feed(b.data() + 3, b.size() - 3);
  auto x = dec.next();
  REQUIRE(std::holds_alternative<message>(x));
  CHECK(std::get<chunk_ack>(std::get<message>(x)).id == 2);
}

TEST_CASE("frame_decoder survives a long session", "[frame_decoder]") {
  // Many frames with the buffer never fully drained exercises compaction.
  frame_decoder dec;
  auto frame = encode(heartbeat{1, 2}).value();
  uint64_t seen = 0;
  for (int i = 0; i < 10000; ++i) {
    dec.feed(frame.data(), frame.size());
    dec.feed(frame.data(), 5); // keep a partial frame in the buffer
    REQUIRE(std::holds_alternative<message>(dec.next()));
    ++seen;
    dec.feed(frame.data() + 5, frame.size() - 5);
    REQUIRE(std::holds_alternative<message>(dec.next()));
    ++seen;
    REQUIRE(dec.buffered() == 0);
  }
  CHECK(seen == 20000);
}

TEST_CASE("an oversized length prefix fails before the body arrives",
          "[frame_decoder]") {
  frame_decoder dec{min_frame_limit};
  auto p = prefix(min_frame_limit + 1);
  dec.feed(p.data(), p.size());
  auto text = failure_text(dec.next());
  CHECK(text
        == "frame of " + std::to_string(min_frame_limit + 1)
             + " bytes exceeds limit of " + std::to_string(min_frame_limit));
}

TEST_CASE("the default limit is default_max_frame", "[frame_decoder]") {
  frame_decoder dec;
  auto ok = prefix(default_max_frame);
  dec.feed(ok.data(), ok.size());
  CHECK(std::holds_alternative<std::monostate>(dec.next()));
  frame_decoder dec2;
  auto bad = prefix(default_max_frame + 1);
  dec2.feed(bad.data(), bad.size());
  CHECK(failure_text(dec2.next()).find("exceeds limit") != std::string::npos);
}

TEST_CASE("a frame of exactly max_frame bytes is accepted", "[frame_decoder]") {
  // goodbye body: tag, code, reason length, reason.
  std::string reason(min_frame_limit - 1 - 2 - 4, 'r');
  auto frame = encode(goodbye{wire_code::ok, reason}).value();
  REQUIRE(frame.size() == frame_header_size + min_frame_limit);
  frame_decoder dec{min_frame_limit};
  dec.feed(frame.data(), frame.size());
  auto x = dec.next();
  REQUIRE(std::holds_alternative<message>(x));
  CHECK(std::get<goodbye>(std::get<message>(x)).reason == reason);
  reason += 'r';
  frame = encode(goodbye{wire_code::ok, reason}).value();
  frame_decoder dec2{min_frame_limit};
  dec2.feed(frame.data(), frame.size());
  CHECK(failure_text(dec2.next()).find("exceeds limit") != std::string::npos);
}

TEST_CASE("max_frame is clamped to the protocol's bounds", "[frame_decoder]") {
  SECTION("above absolute_max_frame") {
    frame_decoder dec{UINT32_MAX};
    auto p = prefix(absolute_max_frame + 1);
    dec.feed(p.data(), p.size());
    CHECK(failure_text(dec.next())
          == "frame of " + std::to_string(absolute_max_frame + 1)
               + " bytes exceeds limit of "
               + std::to_string(absolute_max_frame));
  }
  SECTION("exactly absolute_max_frame waits for the body") {
    frame_decoder dec{UINT32_MAX};
    auto p = prefix(absolute_max_frame);
    dec.feed(p.data(), p.size());
    CHECK(std::holds_alternative<std::monostate>(dec.next()));
  }
  SECTION("below min_frame_limit") {
    frame_decoder dec{16};
    auto frame = encode(goodbye{wire_code::ok, std::string(100, 'x')}).value();
    dec.feed(frame.data(), frame.size());
    CHECK(std::holds_alternative<message>(dec.next()));
  }
}

TEST_CASE("a zero length frame fails", "[frame_decoder]") {
  frame_decoder dec;
  auto p = prefix(0);
  dec.feed(p.data(), p.size());
  CHECK(failure_text(dec.next()).find("length 0") != std::string::npos);
}

TEST_CASE("an undecodable body fails the stream", "[frame_decoder]") {
  frame_decoder dec;
  auto bad = frame_of(bytes{0xee, 1, 2, 3});
  auto good = encode(cancel{1}).value();
  bad.insert(bad.end(), good.begin(), good.end());
  dec.feed(bad.data(), bad.size());
  CHECK(failure_text(dec.next()) == "unknown message tag 238");
}

TEST_CASE("frame_decoder stays failed", "[frame_decoder]") {
  frame_decoder dec;
  auto good = encode(cancel{1}).value();
  auto bad = prefix(0);
  bytes stream = good;
  stream.insert(stream.end(), bad.begin(), bad.end());
  stream.insert(stream.end(), good.begin(), good.end());
  dec.feed(stream.data(), stream.size());
  REQUIRE(std::holds_alternative<message>(dec.next()));
  failure_text(dec.next());
  for (int i = 0; i < 3; ++i) {
    dec.feed(good.data(), good.size());
    CHECK_FALSE(failure_text(dec.next()).empty());
  }
  CHECK(dec.buffered() == 0);
}
