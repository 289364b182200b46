#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"

namespace dirscope {

/// One attempt to reach the server (a detached helper of the node agent).
/// Declared here, not in actors.hpp: only the agent talks to it.
using connector_actor = caf::typed_actor<
  /// Connects to (host, port); replies with the connected socket, which the
  /// caller then owns.
  caf::replies_to<atom::connect, std::string, uint16_t>::with<int>>;

/// How long one attempt to reach the server may take.
constexpr std::chrono::seconds connect_timeout{15};

/// One attempt to reach the server, on its own thread (spawn it detached).
///
/// Why not CAF's spawn_client: it connects with a blocking connect() that
/// nothing can interrupt, so a node stopping while it tried an unreachable
/// host waited for the kernel to give up (about two minutes). Here the
/// connect is non-blocking (node::tcp_connect), bounded by connect_timeout,
/// and looks at `abandon` every 100 ms. The agent never waits for it: it
/// stops at once and sends this actor an exit; the actor system's own wait
/// for this thread at shutdown then lasts one poll slice at most. An actor
/// rather than a plain thread, so that the actor system knows it and
/// nothing runs on after the system is gone.
struct connector_state {
  static inline const char* name = "connector";

  /// Set when the node stops: the attempt ends within one poll slice.
  std::shared_ptr<const std::atomic<bool>> abandon;
};

connector_actor::behavior_type
connector(connector_actor::stateful_pointer<connector_state> self,
          std::shared_ptr<const std::atomic<bool>> abandon);

} // namespace dirscope
