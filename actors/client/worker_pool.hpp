#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "actors/actors.hpp"

namespace dirscope {

/// The node's filesystem workers, handed out round-robin. Copies share the
/// same rotation.
///
/// Two lanes: `workers` take the short jobs (open, read a batch, hash a
/// batch of small files, stat, a chunk of a transfer), `bulk` the jobs of
/// unbounded length (hashes of large files, du, recursive deletes), so that
/// a stat or a read never waits behind a 10 GB hash. Without bulk workers
/// (tests) `workers` take both.
struct worker_pool {
  std::vector<fs_worker_actor> workers;
  std::vector<fs_worker_actor> bulk;
  std::shared_ptr<std::atomic<size_t>> next
    = std::make_shared<std::atomic<size_t>>(0);
  std::shared_ptr<std::atomic<size_t>> next_bulk
    = std::make_shared<std::atomic<size_t>>(0);

  /// A worker for a short job.
  const fs_worker_actor& pick() const {
    return workers[next->fetch_add(1, std::memory_order_relaxed)
                   % workers.size()];
  }

  /// A worker for a job of unbounded length.
  const fs_worker_actor& pick_bulk() const {
    if (bulk.empty())
      return pick();
    return bulk[next_bulk->fetch_add(1, std::memory_order_relaxed)
                % bulk.size()];
  }
};

} // namespace dirscope
