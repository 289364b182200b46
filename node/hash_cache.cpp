#include "node/hash_cache.hpp"

namespace dirscope::node {

namespace {

// splitmix64 finalizer: cheap and spreads inode numbers, which often differ
// only in their low bits, over the whole word.
uint64_t mix(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

} // namespace

size_t file_key_hash::operator()(const file_key& x) const noexcept {
  auto h = mix(x.ino);
  h = mix(h ^ x.dev);
  h = mix(h ^ x.size);
  h = mix(h ^ static_cast<uint64_t>(x.mtime_ns));
  h = mix(h ^ static_cast<uint64_t>(x.ctime_ns));
  return static_cast<size_t>(h);
}

hash_cache::hash_cache(size_t capacity) : capacity_(capacity) {
  // nop
}

std::optional<protocol::sha256_digest> hash_cache::find(const file_key& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(key);
  if (i == map_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  return i->second;
}

void hash_cache::insert(const file_key& key,
                        const protocol::sha256_digest& digest) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (capacity_ == 0)
    return;
  if (auto i = map_.find(key); i != map_.end()) {
    i->second = digest;
    return;
  }
  while (map_.size() >= capacity_) {
    map_.erase(order_.front());
    order_.pop_front();
  }
  map_.emplace(key, digest);
  order_.push_back(key);
}

size_t hash_cache::hits() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return hits_;
}

size_t hash_cache::misses() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return misses_;
}

size_t hash_cache::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return map_.size();
}

} // namespace dirscope::node
