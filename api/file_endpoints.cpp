#include "api/endpoints.hpp"

#include <chrono>
#include <optional>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/console.hpp"
#include "api/file_stream.hpp"
#include "api/http_reply.hpp"
#include "api/operator_auth.hpp"
#include "api/upload_source.hpp"
#include "protocol/messages.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"

namespace dirscope::api {

namespace {

using json = nlohmann::json;

/// Resolves `node`, checking that its policy allows `capability`.
outcome<std::pair<node_info, node_connection_actor>>
resolve_node(api_context& ctx, const std::string& node, uint32_t capability) {
  std::optional<failure> why;
  std::pair<node_info, node_connection_actor> result;
  caf::scoped_actor self{ctx.sys};
  self->request(ctx.supervisor, std::chrono::seconds{30}, atom::resolve_v, node)
    .receive(
      [&](node_info& x, node_connection_actor& c) {
        result = {std::move(x), std::move(c)};
      },
      [&why](caf::error& err) { why = to_failure(err); });
  if (why)
    return *why;
  if ((result.first.capabilities & capability) == 0)
    return failure{wire_code::not_permitted, "not permitted by node policy"};
  return result;
}

} // namespace

void on_file(api_context& ctx, const httplib::Request& req,
             httplib::Response& res) {
  if (!authorized(req, res, ctx.settings))
    return;
  auto node = req.get_param_value("node");
  auto raw_path = req.get_param_value("path");
  if (node.empty() || raw_path.empty())
    return reply_error(res, 400, wire_code::bad_request,
                       "give ?node=NAME&path=PATH");
  auto path = protocol::resolve_path("/", raw_path);
  if (!path)
    return reply_error(res, 400, path.error().code, path.error().message);
  auto op = operator_of(req);
  auto shown = node + ":" + protocol::escape_name(*path);
  spdlog::info("api request operator={} addr={} download {}", op,
               req.remote_addr, shown);
  auto target = resolve_node(ctx, node, protocol::capability::download);
  if (target
      && (target->first.capabilities & protocol::capability::file_meta) == 0)
    target = failure{wire_code::not_permitted,
                     "the node is too old to stream a file here"};
  if (!target) {
    auto& why = target.error();
    spdlog::info("api request operator={} download {} status=failed "
                 "error={}",
                 op, shown, to_string(why.code));
    return reply_error(res, http_status(why.code), why.code, why.message);
  }
  auto conn = target->second;
  auto queue = std::make_shared<stream_queue>(2 * file_stream_high_water
                                              + (1u << 20));
  auto start = std::make_shared<file_start>();
  auto query = next_query_id();
  auto hdl = ctx.sys.spawn(file_stream, conn, request_origin{query, op}, *path,
                           queue, start);
  if (!track(ctx.reg, caf::actor_cast<caf::actor>(hdl))) {
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    return reply_error(res, 503, wire_code::shutdown,
                       "the server is stopping");
  }
  auto begun = start->await(std::chrono::seconds{60});
  if (!begun || !*begun) {
    auto f = begun ? begun->error()
                   : failure{wire_code::timeout,
                             "the node did not start sending in time"};
    caf::anon_send(conn, atom::cancel_v, query);
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    spdlog::info("api request operator={} download {} status=failed "
                 "error={} message=\"{}\"",
                 op, shown, to_string(f.code), f.message);
    return reply_error(res, http_status(f.code), f.code, f.message);
  }
  auto size = **begun;
  auto base = path->substr(path->rfind('/') + 1);
  std::string safe;
  for (auto c : protocol::escape_name(base))
    safe += c == '"' || c == '\\' ? '_' : c;
  res.set_header("Content-Disposition",
                 "attachment; filename=\"" + safe + "\"");
  res.set_content_provider(
    size, "application/octet-stream",
    [queue, hdl](size_t, size_t, httplib::DataSink& sink) {
      std::string chunk;
      switch (queue->pop(chunk, queue_pop_wait)) {
        case stream_queue::got::data:
          caf::anon_send(hdl, atom::ack_v);
          return sink.write(chunk.data(), chunk.size());
        case stream_queue::got::idle:
          return true;
        case stream_queue::got::end:
          // httplib stops calling at the size: fewer bytes came (the
          // file shrank), so the body is cut short.
          return false;
        case stream_queue::got::failed:
          return false;
      }
      return false;
    },
    [conn, query, hdl, op, shown](bool success) {
      if (!success) {
        caf::anon_send(conn, atom::cancel_v, query);
        caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
      }
      spdlog::info("api request operator={} download {} status={}", op,
                   shown, success ? "ok" : "failed");
    });
}

void on_put(api_context& ctx, const httplib::Request& req,
            httplib::Response& res, const httplib::ContentReader& reader) {
  if (!authorized(req, res, ctx.settings))
    return;
  auto node = req.get_param_value("node");
  auto path = protocol::resolve_path("/", req.get_param_value("path"));
  if (node.empty() || !path || *path == "/")
    return reply_error(res, 400, wire_code::bad_request,
                       "give ?node=NAME&path=PATH (a new file)");
  auto length = req.get_header_value("Content-Length");
  if (length.empty() || length.size() > 19
      || length.find_first_not_of("0123456789") != std::string::npos)
    return reply_error(res, 411, wire_code::bad_request,
                       "an upload needs a Content-Length");
  auto size = static_cast<uint64_t>(std::stoull(length));
  auto op = operator_of(req);
  auto shown = node + ":" + protocol::escape_name(*path);
  spdlog::info("api request operator={} addr={} upload {} ({} bytes)", op,
               req.remote_addr, shown, size);
  auto target = resolve_node(ctx, node, protocol::capability::upload);
  if (!target) {
    spdlog::info("api request operator={} upload {} status=failed "
                 "error={}",
                 op, shown, to_string(target.error().code));
    return reply_error(res, http_status(target.error().code),
                       target.error().code, target.error().message);
  }
  auto conn = target->second;
  auto pipe = std::make_shared<byte_pipe>(4u << 20);
  auto result = std::make_shared<file_start>();
  auto source = ctx.sys.spawn<caf::detached>(upload_source, pipe, size);
  auto query = next_query_id();
  auto requester = ctx.sys.spawn(
    [conn, origin{request_origin{query, op}}, path{*path}, size, source,
     pipe, result](caf::event_based_actor* self) {
      self->request(conn, caf::infinite, atom::put_v, origin, path, size,
                    uint8_t{0}, uint32_t{0}, int64_t{0}, source)
        .then(
          [self, result](uint64_t n) {
            result->started(n);
            self->quit();
          },
          [self, result, pipe](caf::error& err) {
            result->failed(to_failure(err));
            pipe->abort(); // the body is no longer wanted
            self->quit();
          });
    });
  if (!track(ctx.reg, caf::actor_cast<caf::actor>(source))
      || !track(ctx.reg, requester)) {
    caf::anon_send_exit(source, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(requester, caf::exit_reason::user_shutdown);
    pipe->abort();
    return reply_error(res, 503, wire_code::shutdown,
                       "the server is stopping");
  }
  // After a failure the rest of the body is read and dropped: a reply
  // while the client still sends would reach it as a reset connection.
  auto complete = reader([&pipe](const char* data, size_t len) {
    pipe->push(data, len);
    return true;
  });
  if (complete)
    pipe->finish();
  else
    pipe->abort();
  auto done = result->await(std::chrono::seconds{120});
  if (!done) {
    caf::anon_send(conn, atom::cancel_v, query);
    done = outcome<uint64_t>{failure{wire_code::timeout,
                                     "the node did not confirm the upload"}};
  }
  caf::anon_send_exit(source, caf::exit_reason::user_shutdown);
  if (!*done) {
    auto& f = done->error();
    spdlog::info("api request operator={} upload {} status=failed "
                 "error={} message=\"{}\"",
                 op, shown, to_string(f.code), f.message);
    return reply_error(res, http_status(f.code), f.code, f.message);
  }
  spdlog::info("api request operator={} upload {} status=ok bytes={}", op,
               shown, **done);
  res.status = 201;
  res.set_content(json_line(json{{"status", "ok"}, {"size", **done}}),
                  "application/json");
}

} // namespace dirscope::api
