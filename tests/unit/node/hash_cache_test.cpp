#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "node/hash_cache.hpp"
#include "node/sha256.hpp"

using namespace dirscope;
using namespace dirscope::node;

namespace {

file_key key(uint64_t ino) {
  return file_key{1, ino, 100, 1'700'000'000'000'000'000};
}

protocol::sha256_digest digest(uint8_t seed) {
  protocol::sha256_digest result{};
  result.fill(seed);
  return result;
}

} // namespace

TEST_CASE("hash_cache counts hits and misses on find", "[hash_cache]") {
  hash_cache cache{10};
  CHECK_FALSE(cache.find(key(1)));
  CHECK(cache.misses() == 1);
  CHECK(cache.hits() == 0);
  cache.insert(key(1), digest(1));
  auto found = cache.find(key(1));
  REQUIRE(found);
  CHECK(*found == digest(1));
  CHECK(cache.hits() == 1);
  CHECK(cache.misses() == 1);
  CHECK(cache.size() == 1);
}

TEST_CASE("hash_cache keys differ in every field", "[hash_cache]") {
  hash_cache cache{10};
  auto base = key(7);
  cache.insert(base, digest(7));
  auto other = base;
  other.dev += 1;
  CHECK_FALSE(cache.find(other));
  other = base;
  other.ino += 1;
  CHECK_FALSE(cache.find(other));
  other = base;
  other.size += 1;
  CHECK_FALSE(cache.find(other));
  other = base;
  other.mtime_ns += 1;
  CHECK_FALSE(cache.find(other));
  other = base;
  other.ctime_ns += 1;
  CHECK_FALSE(cache.find(other));
  CHECK(cache.find(base));
  CHECK(cache.misses() == 5);
  CHECK(cache.hits() == 1);
}

TEST_CASE("hash_cache evicts the oldest insertion at capacity",
          "[hash_cache]") {
  hash_cache cache{3};
  for (uint8_t i = 1; i <= 3; ++i)
    cache.insert(key(i), digest(i));
  CHECK(cache.size() == 3);
  // Looking a key up does not make it younger: eviction is FIFO.
  CHECK(cache.find(key(1)));
  cache.insert(key(4), digest(4));
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.find(key(1)));
  CHECK(cache.find(key(2)));
  CHECK(cache.find(key(4)));
}

TEST_CASE("hash_cache replaces the digest of a known key", "[hash_cache]") {
  hash_cache cache{2};
  cache.insert(key(1), digest(1));
  cache.insert(key(1), digest(9));
  CHECK(cache.size() == 1);
  CHECK(*cache.find(key(1)) == digest(9));
  cache.insert(key(2), digest(2));
  cache.insert(key(3), digest(3));
  CHECK(cache.size() == 2);
  CHECK_FALSE(cache.find(key(1)));
}

TEST_CASE("hash_cache with capacity zero stores nothing", "[hash_cache]") {
  hash_cache cache{0};
  cache.insert(key(1), digest(1));
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.find(key(1)));
}

TEST_CASE("hash_cache is safe to share between threads", "[hash_cache]") {
  hash_cache cache{500};
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t)
    threads.emplace_back([&cache, t] {
      for (uint64_t i = 0; i < 1000; ++i) {
        auto k = key(t * 1000 + i);
        cache.insert(k, digest(static_cast<uint8_t>(i)));
        cache.find(k);
      }
    });
  for (auto& th : threads)
    th.join();
  CHECK(cache.size() == 500);
  CHECK(cache.hits() + cache.misses() == 4000);
}
