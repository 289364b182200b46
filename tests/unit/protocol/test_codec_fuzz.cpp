#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "protocol/codec.hpp"
#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::protocol;
using namespace dirscope::protocol::test;

namespace {

/// Every message type's tag, taken from the samples so that a new message
/// is fuzzed as soon as it has a sample (test_codec checks they all do).
std::vector<uint8_t> known_tags() {
  std::vector<uint8_t> tags;
  for (auto& msg : sample_messages())
    tags.push_back(static_cast<uint8_t>(tag_of(msg)));
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

struct fuzz_stats {
  size_t decoded = 0;
  size_t failed = 0;
};

// The encoding is canonical except for wire codes (unknown values decode as
// `internal`), so a decoded body must re-encode to the same length, and the
// re-encoding must decode to the same message and re-encode to itself.
void check_body(const bytes& body, fuzz_stats& stats) {
  auto res = decode(body);
  if (!res) {
    ++stats.failed;
    REQUIRE(res.error().code == wire_code::protocol_error);
    REQUIRE_FALSE(res.error().message.empty());
    return;
  }
  ++stats.decoded;
  auto again = body_of(*res);
  REQUIRE(again.size() == body.size());
  auto res2 = decode(again);
  REQUIRE(res2.ok());
  REQUIRE(equal(*res2, *res));
  REQUIRE(body_of(*res2) == again);
}

bool has_no_code_field(const message& msg) {
  // Messages without any wire_code field re-encode byte for byte.
  return !std::holds_alternative<reject>(msg)
         && !std::holds_alternative<goodbye>(msg)
         && !std::holds_alternative<request_failed>(msg)
         && !std::holds_alternative<entries_chunk>(msg)
         && !std::holds_alternative<stat_reply>(msg);
}

} // namespace

TEST_CASE("random bodies decode or fail cleanly", "[codec][fuzz]") {
  std::mt19937 rng{20240601};
  auto byte = [&rng] { return static_cast<uint8_t>(rng() & 0xff); };
  fuzz_stats stats;
  auto tags = known_tags();
  for (int i = 0; i < 20000; ++i) {
    bytes body(rng() % 96);
    for (auto& b : body)
      b = byte();
    // Mostly valid tags, or nearly every body dies at the tag.
    if (!body.empty() && rng() % 8 != 0)
      body[0] = tags[rng() % tags.size()];
    // Small length and count fields let bodies get past the first string.
    if (body.size() > 8 && rng() % 2 == 0)
      for (size_t j = 1; j < body.size(); ++j)
        if (rng() % 3 == 0)
          body[j] = static_cast<uint8_t>(rng() % 3);
    check_body(body, stats);
  }
  INFO("decoded " << stats.decoded << ", failed " << stats.failed);
  CHECK(stats.decoded > 0);
  CHECK(stats.failed > 0);
}

TEST_CASE("mutated valid bodies decode or fail cleanly", "[codec][fuzz]") {
  std::mt19937 rng{42};
  auto samples = sample_messages();
  std::vector<bytes> bodies;
  for (auto& msg : samples)
    bodies.push_back(body_of(msg));
  fuzz_stats stats;
  size_t exact = 0;
  for (int i = 0; i < 20000; ++i) {
    auto body = bodies[rng() % bodies.size()];
    auto mutations = 1 + rng() % 4;
    for (size_t m = 0; m < mutations && !body.empty(); ++m) {
      auto at = rng() % body.size();
      switch (rng() % 7) {
        case 0: // flip one bit
          body[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1: // random byte
          body[at] = static_cast<uint8_t>(rng());
          break;
        case 2: // insert a byte
          body.insert(body.begin() + at, static_cast<uint8_t>(rng()));
          break;
        case 3: // erase a byte
          body.erase(body.begin() + at);
          break;
        case 4: // truncate
          body.resize(at);
          break;
        case 5: // a large 32-bit value, as a length or count would be
          for (size_t k = 0; k < 4 && at + k < body.size(); ++k)
            body[at + k] = k == 0 ? 0x7f : 0xff;
          break;
        default: // append garbage
          body.push_back(static_cast<uint8_t>(rng()));
          break;
      }
    }
    check_body(body, stats);
    auto res = decode(body);
    if (res && has_no_code_field(*res)) {
      REQUIRE(body_of(*res) == body);
      ++exact;
    }
  }
  INFO("decoded " << stats.decoded << ", failed " << stats.failed);
  CHECK(stats.decoded > 100);
  CHECK(stats.failed > 100);
  CHECK(exact > 0);
}

TEST_CASE("random streams never break the frame_decoder", "[codec][fuzz]") {
  std::mt19937 rng{7};
  auto samples = sample_messages();
  for (int round = 0; round < 500; ++round) {
    bytes stream;
    for (int k = 0; k < 5; ++k)
      REQUIRE(encode(samples[rng() % samples.size()], stream));
    for (int k = 0; k < 3; ++k)
      stream[rng() % stream.size()] = static_cast<uint8_t>(rng());
    frame_decoder dec{min_frame_limit};
    size_t pos = 0;
    bool failed = false;
    while (pos < stream.size() && !failed) {
      auto n = std::min<size_t>(1 + rng() % 40, stream.size() - pos);
      dec.feed(stream.data() + pos, n);
      pos += n;
      for (;;) {
        auto x = dec.next();
        if (std::holds_alternative<std::monostate>(x))
          break;
        if (auto err = std::get_if<failure>(&x)) {
          REQUIRE(err->code == wire_code::protocol_error);
          failed = true;
          break;
        }
      }
    }
    if (failed)
      CHECK(std::holds_alternative<failure>(dec.next()));
  }
}
