#include <catch2/catch.hpp>

#include <set>

#include "protocol/codec.hpp"
#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::protocol;
using namespace dirscope::protocol::test;

namespace {

void require_protocol_error(const bytes& body, const std::string& needle) {
  auto res = decode(body);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code == wire_code::protocol_error);
  INFO("error: " << res.error().message);
  CHECK(res.error().message.find(needle) != std::string::npos);
}

void put_u32(bytes& buf, size_t at, uint32_t x) {
  buf[at] = static_cast<uint8_t>(x >> 24);
  buf[at + 1] = static_cast<uint8_t>(x >> 16);
  buf[at + 2] = static_cast<uint8_t>(x >> 8);
  buf[at + 3] = static_cast<uint8_t>(x);
}

entry one_entry() {
  entry e;
  e.name = "abc";
  e.type = entry_type::file;
  return e;
}

// Offsets inside body_of(entries_chunk{1, {one_entry()}}).
constexpr size_t count_at = 1 + 4;
constexpr size_t name_at = count_at + 4;
constexpr size_t type_at = name_at + 4 + 3;
constexpr size_t items_flag_at = type_at + 1 + 8 + 8;

} // namespace

TEST_CASE("every proper prefix of a valid body fails", "[codec][malformed]") {
  for (auto& msg : sample_messages()) {
    INFO("message kind: " << name_of(msg));
    auto body = body_of(msg);
    // A welcome without its optional last field is a valid welcome.
    auto w = std::get_if<welcome>(&msg);
    auto optional_tail = w && w->features ? body.size() - 4 : body.size();
    for (size_t n = 0; n < body.size(); ++n) {
      if (n == optional_tail)
        continue;
      INFO("prefix length: " << n);
      auto res = decode_body(body.data(), n);
      REQUIRE_FALSE(res.ok());
      CHECK(res.error().code == wire_code::protocol_error);
      CHECK_FALSE(res.error().message.empty());
    }
  }
}

TEST_CASE("a trailing byte fails", "[codec][malformed]") {
  for (auto& msg : sample_messages()) {
    INFO("message kind: " << name_of(msg));
    auto body = body_of(msg);
    body.push_back(0);
    require_protocol_error(body, "1 trailing bytes");
  }
}

TEST_CASE("an empty body fails", "[codec][malformed]") {
  require_protocol_error(bytes{}, "empty");
  CHECK_FALSE(decode_body(nullptr, 0).ok());
}

TEST_CASE("unknown tags fail", "[codec][malformed]") {
  std::set<int> known;
  for (auto& msg : sample_messages())
    known.insert(static_cast<int>(tag_of(msg)));
  REQUIRE(known.size() == std::variant_size_v<message>);
  for (int tag = 0; tag < 256; ++tag) {
    if (known.count(tag) > 0)
      continue;
    INFO("tag: " << tag);
    bytes body{static_cast<uint8_t>(tag), 0, 0, 0, 0, 0, 0, 0, 0};
    require_protocol_error(body, "unknown message tag " + std::to_string(tag));
  }
}

TEST_CASE("a bad bool fails", "[codec][malformed]") {
  auto body = body_of(list_end{1, 2, true});
  for (int value : {2, 0x80, 0xff}) {
    body.back() = static_cast<uint8_t>(value);
    require_protocol_error(body, "bad bool value " + std::to_string(value));
  }
  body.back() = 0;
  REQUIRE(decode(body).ok());
  CHECK_FALSE(std::get<list_end>(*decode(body)).sorted);
}

TEST_CASE("a bad remove_request.recursive fails", "[codec][malformed]") {
  auto body = body_of(remove_request{1, "/x", true});
  body.back() = 2;
  require_protocol_error(body, "bad bool value 2 in recursive");
}

TEST_CASE("a bad du_reply type fails", "[codec][malformed]") {
  auto body = body_of(du_reply{1, entry_type::file, 1, 1, 0});
  body[5] = 4;
  require_protocol_error(body, "bad entry_type 4");
}

TEST_CASE("a huge notice length fails without allocating",
          "[codec][malformed]") {
  auto body = body_of(notice{"abc"});
  put_u32(body, 1, 0xffffffff);
  REQUIRE_FALSE(decode(body).ok());
}

TEST_CASE("a bad presence flag fails", "[codec][malformed]") {
  auto body = body_of(entries_chunk{1, {one_entry()}});
  REQUIRE(decode(body).ok());
  for (size_t i = 0; i < 4; ++i) {
    INFO("flag index: " << i);
    auto copy = body;
    REQUIRE(copy[items_flag_at + i] == 0);
    copy[items_flag_at + i] = 2;
    require_protocol_error(copy, "bad presence flag 2");
  }
}

TEST_CASE("a bad entry_type fails", "[codec][malformed]") {
  auto body = body_of(entries_chunk{1, {one_entry()}});
  for (int value = 0; value < 256; ++value) {
    INFO("entry_type: " << value);
    body[type_at] = static_cast<uint8_t>(value);
    if (value <= 3)
      CHECK(decode(body).ok());
    else
      require_protocol_error(body, "bad entry_type");
  }
  auto reply = body_of(stat_reply{1, one_entry()});
  reply[5 + 4 + 3] = 4;
  require_protocol_error(reply, "bad entry_type 4");
}

TEST_CASE("a huge string length fails without allocating",
          "[codec][malformed]") {
  auto body = body_of(goodbye{wire_code::ok, "bye"});
  put_u32(body, 3, 0xffffffff);
  require_protocol_error(body, "claims 4294967295 bytes");
  put_u32(body, 3, 4); // one more than present
  require_protocol_error(body, "claims 4 bytes but only 3 remain");
  auto chunk = body_of(entries_chunk{1, {one_entry()}});
  put_u32(chunk, name_at, 0x7fffffff);
  require_protocol_error(chunk, "entry name claims");
}

TEST_CASE("a huge entry count fails", "[codec][malformed]") {
  auto body = body_of(entries_chunk{1, {one_entry()}});
  for (uint32_t n : {0xffffffffu, 0x10000000u, 1000u, 2u}) {
    INFO("count: " << n);
    put_u32(body, count_at, n);
    require_protocol_error(body, "");
  }
  put_u32(body, count_at, 0xffffffff);
  require_protocol_error(body, "4294967295 entries cannot fit");
  // Twenty bytes cannot hold even a minimal entry (25 bytes).
  bytes short_body{32, 0, 0, 0, 1, 0, 0, 0, 1};
  short_body.resize(short_body.size() + 20);
  require_protocol_error(short_body, "1 entries cannot fit in 20 bytes");
}

TEST_CASE("a wrong hello magic fails", "[codec][malformed]") {
  auto body = body_of(hello{});
  REQUIRE(decode(body).ok());
  for (size_t i = 1; i <= 4; ++i) {
    auto copy = body;
    copy[i] ^= 0x20;
    require_protocol_error(copy, "not a dirscope peer");
  }
  // An HTTP client is the classic stray peer.
  bytes http{1, 'G', 'E', 'T', ' ', '/'};
  require_protocol_error(http, "not a dirscope peer");
}

TEST_CASE("unknown wire codes decode as internal", "[codec]") {
  auto body = body_of(goodbye{wire_code::ok, ""});
  body[1] = 0x12;
  body[2] = 0x34;
  auto res = decode(body);
  REQUIRE(res.ok());
  CHECK(std::get<goodbye>(*res).code == wire_code::internal);
}

TEST_CASE("decode errors name the message kind", "[codec][malformed]") {
  auto body = body_of(request_failed{1, wire_code::io_error, "disk"});
  body.resize(6);
  require_protocol_error(body, "request_failed: truncated at code");
}

TEST_CASE("an oversized data_chunk fails", "[codec][malformed]") {
  // The encoder refuses to build it, so build it by hand.
  auto body = body_of(data_chunk{1, 0, std::string(max_large_chunk, 'x')});
  body.push_back('x');
  auto n = max_large_chunk + 1;
  body[13] = static_cast<uint8_t>(n >> 24);
  body[14] = static_cast<uint8_t>(n >> 16);
  body[15] = static_cast<uint8_t>(n >> 8);
  body[16] = static_cast<uint8_t>(n);
  require_protocol_error(body, "exceeds");
}

TEST_CASE("truncated transfer messages fail", "[codec][malformed]") {
  for (auto msg : {message{download_end{1, 2, sample_digest()}},
                   message{upload_end{1, 2, sample_digest()}},
                   message{download_request{1, "/a", 5}},
                   message{upload_request{1, "/a", 5}},
                   message{upload_reply{1, 5}},
                   message{data_chunk{1, 0, "abc"}}}) {
    auto body = body_of(msg);
    body.pop_back();
    INFO(name_of(msg));
    REQUIRE_FALSE(decode(body).ok());
    body = body_of(msg);
    body.push_back(0);
    require_protocol_error(body, "trailing");
  }
}

TEST_CASE("a huge data_chunk length fails without allocating",
          "[codec][malformed]") {
  auto body = body_of(data_chunk{1, 0, "abc"});
  put_u32(body, 13, 0xffffffff);
  REQUIRE_FALSE(decode(body).ok());
}
