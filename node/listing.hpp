#pragma once

// Reading directories and entries beneath the root. Nothing here follows a
// symlink, opens a FIFO, socket or device, or leaves the root.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/hash_cache.hpp"
#include "node/unique_fd.hpp"
#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"

struct stat;
struct timespec;

namespace dirscope::node {

/// Nanoseconds since the epoch of `ts`, saturated to the int64_t range for
/// times beyond about +-292 years (a file system may hold any value).
int64_t timespec_ns(const struct timespec& ts) noexcept;

/// The hash cache key of the file `st` describes.
file_key key_of(const struct stat& st) noexcept;

/// The target of symlink `name` in `dir_fd`; `hint` is its size from
/// lstat (a target can grow between the two calls: the buffer then grows).
outcome<std::string> read_link(int dir_fd, const std::string& name,
                               size_t hint);

/// An entry whose hash is still to be computed (cache miss). `key` says
/// which version of the file the hash must belong to.
struct pending_hash {
  size_t index = 0; ///< position in the batch
  file_key key;
};

/// One batch of a listing: entries complete except for `pending` hashes.
struct listing_batch {
  std::vector<protocol::entry> entries;
  std::vector<pending_hash> pending;
};

/// An open directory being listed. Read sequentially by one worker at a
/// time; the fd stays valid for hashing until the cursor is destroyed.
class dir_cursor {
public:
  /// Opens the directory at `path` beneath `root_fd`. If it holds at most
  /// `sort_limit` entries they come out sorted by name (bytewise), else in
  /// directory order.
  static outcome<std::shared_ptr<dir_cursor>>
  open(int root_fd, std::string_view path, size_t sort_limit = 100'000);

  ~dir_cursor();

  /// Reads the next entries: at most `max_entries` and about `byte_budget`
  /// encoded bytes. Fills sha256 from `cache` when `with_hashes` and the
  /// cache knows the file, else lists the file in `pending`. An entry that
  /// cannot be read carries its error.
  listing_batch next(size_t max_entries, size_t byte_budget, bool with_hashes,
                     hash_cache* cache);

  /// True once every entry has been returned.
  bool done() const noexcept;

  /// True if entries come out sorted.
  bool sorted() const noexcept;

  /// The directory's fd (for hash_at).
  int fd() const noexcept;

  /// Makes every hash_at given stop_flag() give up (the listing was
  /// cancelled or its connection closed).
  void cancel() noexcept;

  /// True once cancel() was called; for hash_at.
  const std::atomic<bool>* stop_flag() const noexcept;

  /// Bytes hashed so far for this listing (hash_at counts them), for the
  /// progress of a long hash.
  std::atomic<uint64_t>* hashed() const noexcept;

  struct impl;

private:
  explicit dir_cursor(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

/// Hashes the regular file `name` in directory `dir_fd` and stores the result
/// in `cache` (when given). Fails if the file changed identity since `key`
/// was taken or is not a regular file, and with cancelled once `*stop`.
outcome<protocol::sha256_digest>
hash_at(int dir_fd, const std::string& name, const file_key& key,
        hash_cache* cache, const std::atomic<bool>* stop = nullptr,
        std::atomic<uint64_t>* progress = nullptr);

/// Files up to this size are hashed in batches on the node's ordinary
/// workers; larger ones one by one on its bulk workers, so that a long hash
/// never waits in front of a stat, a read or other rows.
constexpr uint64_t small_hash_limit = 1u << 20;

/// Hashes the `pending` entries of `batch` (files in directory `dir_fd`)
/// and fills in their sha256, or their error; clears `pending`.
void hash_pending(int dir_fd, listing_batch& batch, hash_cache* cache,
                  const std::atomic<bool>* stop = nullptr,
                  std::atomic<uint64_t>* progress = nullptr);

/// Describes the single entry at `path` (the root itself is named "/"),
/// with its hash when it is a regular file and `with_hash` is set.
/// A regular file larger than `max_hash_size` and not in the cache is
/// described without its hash (the caller hashes it elsewhere). Bytes
/// hashed are added to `*progress` (when given).
outcome<protocol::entry>
stat_entry(int root_fd, std::string_view path, bool with_hash,
           hash_cache* cache, const std::atomic<bool>* stop = nullptr,
           uint64_t max_hash_size = UINT64_MAX,
           std::atomic<uint64_t>* progress = nullptr);

/// One long hash an actor waits for: the worker hashing adds the bytes it
/// has read (the waiting actor reports them as progress) and gives up once
/// `stop` is set (a stat's request was cancelled or its connection closed).
struct hash_job {
  std::atomic<uint64_t> hashed{0};
  std::atomic<bool> stop{false};
};
using hash_job_ptr = std::shared_ptr<hash_job>;

} // namespace dirscope::node
