#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "actors/actors.hpp"

namespace dirscope {

/// The node's filesystem workers, handed out round-robin. Copies share the
/// same rotation.
struct worker_pool {
  std::vector<fs_worker_actor> workers;
  std::shared_ptr<std::atomic<size_t>> next
    = std::make_shared<std::atomic<size_t>>(0);

  const fs_worker_actor& pick() const {
    return workers[next->fetch_add(1, std::memory_order_relaxed)
                   % workers.size()];
  }
};

} // namespace dirscope
