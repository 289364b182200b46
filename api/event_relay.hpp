#pragma once

// GET /api/v1/events: an actor that watches the fleet for one client and
// queues server-sent events (nodes, join, leave, echo) for its HTTP thread.

#include <memory>
#include <string>

#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/actors.hpp"
#include "api/stream_queue.hpp"

namespace dirscope::api {

/// JSON text; invalid UTF-8 is replaced, never thrown over.
std::string dump_json(const nlohmann::json& x);

/// A node's row as `nodes --json` shows it.
nlohmann::json node_json(const node_info& info);

struct event_relay_state {
  static inline const char* name = "api_events";
  std::shared_ptr<stream_queue> queue;
};

/// Subscribes to `supervisor`'s events; sends the node table first. Quits
/// when the client stops reading (the queue is full).
node_event_sink_actor::behavior_type
event_relay(node_event_sink_actor::stateful_pointer<event_relay_state> self,
            supervisor_actor supervisor, std::shared_ptr<stream_queue> queue);

} // namespace dirscope::api
