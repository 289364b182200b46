#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "protocol/byte_io.hpp"
#include "protocol/codec.hpp"
#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::protocol;
using namespace dirscope::protocol::test;

// Issue 11: the encoder truncated lengths silently (str() cast the size to
// u32, patch_u32 took whatever it was given). Every length that does not fit
// must be a failure, never a wrong frame.

namespace {

// A view of 4 GiB + 1 byte whose bytes are never touched: the writer must
// refuse it from its size alone.
std::string_view huge_view() {
  static const char byte = 'x';
  // volatile: the compiler must not see (and warn) that the view is fake.
  static const char* volatile first = &byte;
  return std::string_view{first, (size_t{1} << 32) + 1};
}

} // namespace

TEST_CASE("byte_writer refuses a string its u32 length cannot hold",
          "[codec][limits]") {
  bytes out{0xaa};
  detail::byte_writer w{out};
  w.str(huge_view(), "path");
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().find("path") != std::string::npos);
  CHECK(w.error().find("32-bit") != std::string::npos);
  CHECK(out == bytes{0xaa});
  // The failure sticks: nothing more is appended.
  w.u32(7);
  w.str("abc");
  w.raw(out.data(), 1);
  CHECK(out == bytes{0xaa});
}

TEST_CASE("byte_writer refuses a count or patch beyond u32",
          "[codec][limits]") {
  bytes out;
  detail::byte_writer w{out};
  w.u32(0);
  w.patch_u32(0, UINT32_MAX);
  REQUIRE(w.ok());
  CHECK(out == bytes{0xff, 0xff, 0xff, 0xff});
  w.patch_u32(0, size_t{UINT32_MAX} + 1, "frame length");
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().find("frame length") != std::string::npos);
  CHECK(out == bytes{0xff, 0xff, 0xff, 0xff}); // untouched, not 0
  bytes out2;
  detail::byte_writer w2{out2};
  w2.count(size_t{1} << 32, "entry count");
  CHECK_FALSE(w2.ok());
  CHECK(out2.empty());
  bytes out3;
  detail::byte_writer w3{out3};
  w3.patch_u32(0, 1); // nothing written there
  CHECK_FALSE(w3.ok());
}

TEST_CASE("encode refuses a frame over the limit and leaves out unchanged",
          "[codec][limits]") {
  bytes out{1, 2, 3};
  std::string text(absolute_max_frame, 't');
  auto res = encode(echo{text}, out);
  REQUIRE_FALSE(res);
  CHECK(res.error().code == wire_code::bad_request);
  CHECK(res.error().message.find("echo") != std::string::npos);
  CHECK(res.error().message.find("exceeds the frame limit")
        != std::string::npos);
  CHECK(out == bytes{1, 2, 3});
  CHECK_FALSE(encode(notice{text}));
  CHECK_FALSE(encode(goodbye{wire_code::ok, text}));
}

TEST_CASE("encode honours a smaller max_frame exactly", "[codec][limits]") {
  for (uint32_t limit : {min_frame_limit, default_max_frame,
                         absolute_max_frame}) {
    INFO("limit " << limit);
    auto n = max_text_size(limit);
    REQUIRE(n == limit - 5);
    for (auto make : {+[](std::string s) -> message { return echo{s}; },
                      +[](std::string s) -> message { return notice{s}; },
                      +[](std::string s) -> message {
                        return echo_reply{s};
                      }}) {
      auto fits = encode(make(std::string(n, 'x')), limit);
      REQUIRE(fits);
      CHECK(fits->size() == frame_header_size + limit);
      // The peer's decoder at that limit takes it.
      frame_decoder dec{limit};
      dec.feed(fits->data(), fits->size());
      CHECK(std::holds_alternative<message>(dec.next()));
      auto over = encode(make(std::string(n + 1, 'x')), limit);
      REQUIRE_FALSE(over);
      CHECK(over.error().code == wire_code::bad_request);
    }
  }
}

TEST_CASE("max_text_size clamps the limit as the decoder does",
          "[codec][limits]") {
  CHECK(max_text_size(0) == min_frame_limit - 5);
  CHECK(max_text_size(100) == min_frame_limit - 5);
  CHECK(max_text_size(UINT32_MAX) == absolute_max_frame - 5);
  CHECK(effective_max_frame(0) == min_frame_limit);
  CHECK(effective_max_frame(default_max_frame) == default_max_frame);
  CHECK(effective_max_frame(UINT32_MAX) == absolute_max_frame);
}

TEST_CASE("encode refuses a data_chunk the peer would refuse",
          "[codec][limits]") {
  // max_large_chunk: only between peers with large_chunks (the
  // connections check that); nobody takes more.
  REQUIRE(encode(data_chunk{1, 0, std::string(max_large_chunk, 'd')}));
  auto res = encode(data_chunk{1, 0, std::string(max_large_chunk + 1, 'd')});
  REQUIRE_FALSE(res);
  CHECK(res.error().message.find("data_chunk") != std::string::npos);
}

TEST_CASE("every sample still encodes within the default limit",
          "[codec][limits]") {
  for (auto& msg : sample_messages()) {
    INFO(name_of(msg));
    auto res = encode(msg, default_max_frame);
    REQUIRE(res);
    CHECK(res->size() > frame_header_size);
  }
}
