#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "protocol/messages.hpp"

namespace dirscope::node {

/// Identifies one version of a file's contents well enough to reuse a hash.
/// The change time catches what mtime cannot: a rewrite that keeps the size
/// and sets the mtime back (ctime cannot be set from user space).
struct file_key {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  friend bool operator==(const file_key& x, const file_key& y) noexcept {
    return x.dev == y.dev && x.ino == y.ino && x.size == y.size
           && x.mtime_ns == y.mtime_ns && x.ctime_ns == y.ctime_ns;
  }
};

struct file_key_hash {
  size_t operator()(const file_key& x) const noexcept;
};

/// Thread-safe map from file_key to SHA-256, shared by all filesystem
/// workers of a node. Bounded: the oldest insertions go first.
class hash_cache {
public:
  explicit hash_cache(size_t capacity = 200'000);

  std::optional<protocol::sha256_digest> find(const file_key& key);

  void insert(const file_key& key, const protocol::sha256_digest& digest);

  size_t hits() const;
  size_t misses() const;
  size_t size() const;

private:
  mutable std::mutex mtx_;
  size_t capacity_;
  std::unordered_map<file_key, protocol::sha256_digest, file_key_hash> map_;
  std::deque<file_key> order_;
  size_t hits_ = 0;
  size_t misses_ = 0;
};

} // namespace dirscope::node
