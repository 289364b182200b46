#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace dirscope {

/// When a node last answered a heartbeat (UTC ns, 0: not yet). Its
/// connection writes it on every heartbeat_ack; the supervisor reads it for
/// `nodes`. Shared rather than sent: a message per ack was 1,000 messages a
/// second to the supervisor at 10,000 nodes (issue 9).
struct node_liveness {
  std::atomic<int64_t> last_ack_ns{0};
};

using node_liveness_ptr = std::shared_ptr<node_liveness>;

} // namespace dirscope
