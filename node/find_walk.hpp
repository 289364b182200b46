#pragma once

// The node side of `find` and `tree`: a depth-first walk beneath the root
// with directory fds (openat O_NOFOLLOW | O_DIRECTORY, fstatat
// AT_SYMLINK_NOFOLLOW), never following a symlink, never leaving the root,
// applying the filters of a find_request on the node.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/hash_cache.hpp"
#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::node {

/// Longest glob a find_request may carry.
constexpr size_t max_find_glob = 4096;

/// Checks the parts of a find_request the node does not take as given
/// (flags, types, glob lengths): a bad_request failure, or nothing.
std::optional<failure> check_find_request(const protocol::find_request& req);

/// What one step of a walk returns.
struct find_batch {
  std::vector<protocol::find_match> matches;
  bool done = false;
};

/// A walk in progress. Used by one worker at a time; each step is bounded,
/// so a cancel (or the flow control) takes effect between steps.
class find_walk {
public:
  /// Starts the walk that `req` describes beneath `root_fd` (its path is
  /// checked as every node path). Fails if the path does not exist or is
  /// not allowed; an unreadable directory is reported as an entry.
  static outcome<std::shared_ptr<find_walk>>
  open(int root_fd, const protocol::find_request& req);

  ~find_walk();

  /// Walks on until `max_matches` matches or about `byte_budget` encoded
  /// bytes of them, `max_visits` entries looked at, or the end.
  find_batch next(size_t max_matches, size_t byte_budget, size_t max_visits,
                  hash_cache* cache);

  /// Entries looked at so far.
  uint64_t visited() const noexcept;

  /// Stops hashes in progress; next() returns done from now on.
  void cancel() noexcept;

  struct impl;

private:
  explicit find_walk(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

using find_walk_ptr = std::shared_ptr<find_walk>;

} // namespace dirscope::node
