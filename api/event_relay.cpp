#include "api/event_relay.hpp"

#include "protocol/names.hpp"
#include "shell/render.hpp"

namespace dirscope::api {

using json = nlohmann::json;

std::string dump_json(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

json node_json(const node_info& info) {
  auto text = shell::render_nodes_json({info});
  return json::parse(text, nullptr, false);
}

namespace {

std::string sse(const char* event, const json& data) {
  return std::string{"event: "} + event + "\ndata: " + dump_json(data)
         + "\n\n";
}

} // namespace

node_event_sink_actor::behavior_type
event_relay(node_event_sink_actor::stateful_pointer<event_relay_state> self,
            supervisor_actor supervisor, std::shared_ptr<stream_queue> queue) {
  self->state.queue = std::move(queue);
  auto push = [self](const std::string& text) {
    if (!self->state.queue->push(text))
      self->quit(); // the client does not read: the stream ends
  };
  self->send(supervisor, atom::subscribe_v,
             caf::actor_cast<node_event_sink_actor>(self));
  // Asked after subscribing (same sender, so in order): no join is lost
  // between this list and the first event.
  self->request(supervisor, caf::infinite, atom::nodes_v)
    .then(
      [push](std::vector<node_info>& xs) {
        auto rows = json::array();
        for (auto& x : xs)
          rows.push_back(node_json(x));
        push(sse("nodes", rows));
      },
      [self](caf::error&) { self->quit(); });
  return {
    [push](atom::echo, const std::string& node, const std::string& text) {
      push(sse("echo", json{{"node", protocol::escape_name(node)},
                            {"text", protocol::escape_name(text)}}));
    },
    [push](atom::join, const node_info& info) {
      push(sse("join", node_json(info)));
    },
    [push](atom::goodbye, const node_info& info, const std::string& reason) {
      auto x = node_json(info);
      x["reason"] = reason;
      push(sse("leave", x));
    },
  };
}

} // namespace dirscope::api
