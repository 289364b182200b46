#pragma once

// The server's file-descriptor budget: one descriptor per node connection
// plus a few for itself (listen socket, epoll, pipes, log, transfers).

#include <cstddef>
#include <cstdint>
#include <string>

namespace dirscope {

/// Descriptors the server keeps for itself beside one per node: the ones
/// open at start plus this many for transfers and files opened later.
constexpr size_t fd_headroom = 64;

/// RLIMIT_NOFILE before and after raise_fd_limit().
struct fd_limit {
  uint64_t soft_before = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
  /// Why the soft limit could not be raised (empty: it was, or it was
  /// already at the hard limit).
  std::string error;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit: the soft default (often
/// 1024) caps a fleet long before the machine does.
fd_limit raise_fd_limit();

/// Descriptors open in this process now (entries of /proc/self/fd; 0 if it
/// cannot be read).
size_t open_descriptors();

/// A sentence for the operator when `max_clients` nodes plus the server's
/// own descriptors (`open_now` + fd_headroom) do not fit in `soft`; empty
/// when they do.
std::string fd_limit_warning(size_t max_clients, size_t open_now,
                             uint64_t soft, uint64_t hard);

} // namespace dirscope
