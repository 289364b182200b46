#include "api/endpoints.hpp"

#include <chrono>
#include <optional>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "api/event_relay.hpp"
#include "api/http_reply.hpp"
#include "api/operator_auth.hpp"

namespace dirscope::api {

namespace {

/// A silent event stream sends a comment this often (proxies, dead peers).
constexpr auto keepalive_every = std::chrono::seconds{10};

} // namespace

void on_nodes(api_context& ctx, const httplib::Request& req,
              httplib::Response& res) {
  if (!authorized(req, res, ctx.settings))
    return;
  caf::scoped_actor self{ctx.sys};
  auto rows = nlohmann::json::array();
  std::optional<failure> why;
  self->request(ctx.supervisor, std::chrono::seconds{30}, atom::nodes_v)
    .receive(
      [&rows](std::vector<node_info>& xs) {
        for (auto& x : xs)
          rows.push_back(node_json(x));
      },
      [&why](caf::error& err) { why = to_failure(err); });
  if (why)
    return reply_error(res, 503, why->code, why->message);
  res.set_content(json_line(rows), "application/json");
}

void on_events(api_context& ctx, const httplib::Request& req,
               httplib::Response& res) {
  if (!authorized(req, res, ctx.settings))
    return;
  auto queue = std::make_shared<stream_queue>(1u << 20);
  auto relay = ctx.sys.spawn(event_relay, ctx.supervisor, queue);
  relay->attach_functor([queue] { queue->close(); });
  if (!track(ctx.reg, caf::actor_cast<caf::actor>(relay))) {
    caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
    return reply_error(res, 503, wire_code::shutdown,
                       "the server is stopping");
  }
  spdlog::info("api events operator={} addr={}", operator_of(req),
               req.remote_addr);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
    "text/event-stream", pump_from(queue, ": keepalive\n\n", keepalive_every),
    [relay](bool) {
      caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
    });
}

} // namespace dirscope::api
