#pragma once

#include <atomic>
#include <memory>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "node/hash_cache.hpp"
#include "node/unique_fd.hpp"

namespace dirscope {

/// A filesystem worker: does the node's blocking I/O (listing, stat,
/// hashing) on its own thread (spawn it detached).
struct fs_worker_state {
  static inline const char* name = "fs_worker";

  std::shared_ptr<const node::unique_fd> root;
  std::shared_ptr<node::hash_cache> cache;
  size_t sort_limit = 0;
  /// Set when the node stops: abandons any hash in progress.
  std::shared_ptr<const std::atomic<bool>> stopping;
};

fs_worker_actor::behavior_type
fs_worker(fs_worker_actor::stateful_pointer<fs_worker_state> self,
          std::shared_ptr<const node::unique_fd> root,
          std::shared_ptr<node::hash_cache> cache, size_t sort_limit,
          std::shared_ptr<const std::atomic<bool>> stopping);

} // namespace dirscope
