// hash_progress (tag 45) and the bits that gate it.

#include <catch2/catch.hpp>

#include "protocol/codec.hpp"
#include "test_support.hpp"

using namespace dirscope::protocol;
using namespace dirscope::protocol::test;

TEST_CASE("hash_progress layout", "[codec][layout]") {
  // clang-format off
  bytes expected{
    0, 0, 0, 26,            // length
    45,                     // tag
    0, 0, 0, 7,             // id
    0, 0, 0, 1, 'b',        // name
    0, 0, 0, 0, 0, 0, 1, 0, // size
    0, 0, 0, 0, 0, 0, 0, 2, // hashed
  };
  // clang-format on
  CHECK(encode(hash_progress{7, "b", 256, 2}).value() == expected);
}

TEST_CASE("hash_progress round-trips raw names", "[codec]") {
  hash_progress x{9, std::string("a\0\xff", 3), UINT64_MAX, 12345};
  auto frame = encode(x).value();
  auto back = decode_body(frame.data() + 4, frame.size() - 4).value();
  auto& y = std::get<hash_progress>(back);
  CHECK(y.id == 9);
  CHECK(y.name == x.name);
  CHECK(y.size == UINT64_MAX);
  CHECK(y.hashed == 12345);
}

TEST_CASE("hash_progress bits sit where the brief assigned them",
          "[codec]") {
  CHECK(capability::hash_progress == 1u << 9);
  CHECK(server_feature::hash_progress == 1u << 9);
  CHECK((list_flags::late_rows & list_flags::with_hashes) == 0);
}
