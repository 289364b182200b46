#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "node/unique_fd.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::node {

/// How often tcp_connect looks at its `abandon` flag while it waits.
constexpr std::chrono::milliseconds connect_poll_slice{100};

/// Connects a TCP socket to `host`:`port` (a name or a numeric IPv4/IPv6
/// address), trying each address in turn. The connect is non-blocking and
/// waited for in slices of connect_poll_slice, so it gives up after
/// `timeout` in all, or within one slice once `abandon` turns true (then the
/// failure's code is `cancelled`). Only name resolution cannot be
/// abandoned: it is bounded by the resolver's own timeouts, and numeric
/// addresses skip it. Returns a connected, non-blocking, close-on-exec
/// socket.
outcome<unique_fd> tcp_connect(const std::string& host, uint16_t port,
                               std::chrono::milliseconds timeout,
                               const std::atomic<bool>& abandon);

} // namespace dirscope::node
