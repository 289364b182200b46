// The find frames (tags 50-53, capability bit 8): exact layouts, hostile
// lengths and counts, and random bodies under those tags.

#include <catch2/catch.hpp>

#include <random>

#include "protocol/codec.hpp"
#include "tests/unit/protocol/test_support.hpp"

using namespace dirscope::protocol;
using namespace dirscope::protocol::test;
using dirscope::wire_code;

namespace {

entry small_entry(std::string name) {
  entry e;
  e.name = std::move(name);
  e.type = entry_type::file;
  e.size = 3;
  return e;
}

void put_u32(bytes& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 24);
  b[at + 1] = static_cast<uint8_t>(v >> 16);
  b[at + 2] = static_cast<uint8_t>(v >> 8);
  b[at + 3] = static_cast<uint8_t>(v);
}

} // namespace

TEST_CASE("find_request layout", "[codec][find][layout]") {
  find_request x;
  x.id = 7;
  x.path = "/a";
  x.flags = find_flags::with_hashes;
  x.max_depth = 2;
  x.types = find_types::dir;
  // clang-format off
  bytes expected{
    50,                   // tag
    0, 0, 0, 7,           // id
    0, 0, 0, 2, '/', 'a', // path
    1,                    // flags
    1, 0, 0, 0, 2,        // max_depth
    0,                    // name glob absent
    0,                    // path glob absent
    2,                    // types
    0, 0, 0, 0,           // sizes and mtimes absent
    0,                    // sha256 absent
  };
  // clang-format on
  CHECK(body_of(x) == expected);
  auto back = decode(expected);
  REQUIRE(back.ok());
  CHECK(equal(*back, message{x}));
}

TEST_CASE("find_chunk, find_end and find_progress layouts",
          "[codec][find][layout]") {
  find_chunk c{9, {find_match{true, small_entry("d/f")}}};
  auto body = body_of(c);
  // tag, id, count, then last:bool and the entry.
  REQUIRE(body.size() == 1 + 4 + 4 + encoded_size(c.matches[0]));
  CHECK(body[0] == 51);
  CHECK(body[9] == 1);
  CHECK(encoded_size(c.matches[0]) == 1 + encoded_size(c.matches[0].item));
  CHECK(body_of(find_end{1, 2, 3})
        == bytes({52, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                  3}));
  CHECK(body_of(find_progress{1, 258})
        == bytes({53, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2}));
}

TEST_CASE("every sample find frame round-trips", "[codec][find]") {
  for (auto& msg : sample_messages()) {
    auto tag = static_cast<uint8_t>(tag_of(msg));
    if (tag < 50 || tag > 53)
      continue;
    auto back = decode(body_of(msg));
    REQUIRE(back.ok());
    CHECK(equal(*back, msg));
  }
}

TEST_CASE("find_chunk refuses hostile counts before allocating",
          "[codec][find][hostile]") {
  auto body = body_of(find_chunk{1, {find_match{false, small_entry("x")}}});
  for (uint32_t n : {2u, 1000u, 0x7fffffffu, UINT32_MAX}) {
    auto b = body;
    put_u32(b, 5, n);
    INFO("count " << n);
    auto err = decode_error(b);
    CHECK_FALSE(err.empty());
  }
  // Zero matches but the bytes of one: trailing bytes.
  auto b = body;
  put_u32(b, 5, 0);
  CHECK(decode_error(b).find("trailing") != std::string::npos);
}

TEST_CASE("find_chunk refuses a last flag other than 0 or 1",
          "[codec][find][hostile]") {
  auto body = body_of(find_chunk{1, {find_match{false, small_entry("x")}}});
  body[9] = 2;
  CHECK_FALSE(decode_error(body).empty());
}

TEST_CASE("find_request refuses hostile lengths and flags",
          "[codec][find][hostile]") {
  find_request x;
  x.id = 1;
  x.path = "/";
  x.name_glob = "*.txt";
  auto body = body_of(x);
  // The path length claims more than the body holds.
  for (uint32_t n : {2u, 0x10000u, UINT32_MAX}) {
    auto b = body;
    put_u32(b, 5, n);
    CHECK_FALSE(decode_error(b).empty());
  }
  // The name glob's length (after tag, id, path, flags, max_depth flag and
  // the glob's presence flag) claims more than is left.
  size_t at = 1 + 4 + 4 + 1 + 1 + 1 + 1;
  auto b = body;
  put_u32(b, at, UINT32_MAX);
  CHECK_FALSE(decode_error(b).empty());
  // A presence flag of 2.
  b = body;
  b[1 + 4 + 4 + 1 + 1] = 2;
  CHECK_FALSE(decode_error(b).empty());
  // Every truncation fails cleanly.
  for (size_t n = 1; n < body.size(); ++n) {
    bytes cut(body.begin(), body.begin() + static_cast<ptrdiff_t>(n));
    CHECK_FALSE(decode_error(cut).empty());
  }
  // A digest cut short.
  find_request h;
  h.sha256 = sha256_digest{};
  auto hb = body_of(h);
  hb.pop_back();
  CHECK_FALSE(decode_error(hb).empty());
}

TEST_CASE("a find_chunk larger than the frame limit is not encoded",
          "[codec][find]") {
  find_chunk c{1, {}};
  for (int i = 0; i < 300; ++i)
    c.matches.push_back(find_match{false, small_entry(std::string(300, 'n'))});
  auto res = encode(c, min_frame_limit);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().code == wire_code::bad_request);
}

TEST_CASE("random bodies under the find tags decode or fail cleanly",
          "[codec][find][fuzz]") {
  std::mt19937 rng{20261202};
  size_t decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    bytes body(1 + rng() % 96);
    for (auto& x : body)
      x = static_cast<uint8_t>(rng() % 4 == 0 ? rng() & 0xff : rng() % 3);
    body[0] = static_cast<uint8_t>(50 + rng() % 4);
    auto res = decode(body);
    if (!res) {
      CHECK(res.error().code == wire_code::protocol_error);
      continue;
    }
    ++decoded;
    // What decodes re-encodes to the same bytes (no code fields here but
    // inside entries, whose unknown codes map to internal).
    auto again = body_of(*res);
    auto res2 = decode(again);
    REQUIRE(res2.ok());
    CHECK(equal(*res2, *res));
  }
  CHECK(decoded > 0);
}
