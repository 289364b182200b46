#include "api/endpoints.hpp"

#include <chrono>
#include <mutex>

#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/http_reply.hpp"
#include "api/operator_auth.hpp"
#include "protocol/names.hpp"
#include "shell/command.hpp"

namespace dirscope::api {

namespace {

using json = nlohmann::json;

/// A silent NDJSON response sends a blank line this often: a client that
/// left is noticed (the write fails) and its command cancelled.
constexpr auto ndjson_keepalive_every = std::chrono::seconds{2};

/// What a POST /api/v1/run asks for.
struct run_request {
  std::string command;
  bool confirm = false;
  std::string session;
};

bool truthy(const std::string& text) {
  return text == "1" || text == "true" || text == "yes";
}

outcome<run_request> parse_run(const httplib::Request& req) {
  run_request result;
  auto body = req.body;
  auto type = req.get_header_value("Content-Type");
  auto first = body.find_first_not_of(" \t\r\n");
  if (type.find("application/json") != std::string::npos
      || (first != std::string::npos && body[first] == '{')) {
    auto x = json::parse(body, nullptr, false);
    if (x.is_discarded() || !x.is_object())
      return make_failure(wire_code::bad_request,
                          "the body is not a JSON object");
    auto cmd = x.find("command");
    if (cmd == x.end() || !cmd->is_string())
      return make_failure(wire_code::bad_request,
                          "the body has no \"command\" string");
    result.command = cmd->get<std::string>();
    if (auto c = x.find("confirm"); c != x.end()) {
      if (!c->is_boolean())
        return make_failure(wire_code::bad_request,
                            "\"confirm\" must be true or false");
      result.confirm = c->get<bool>();
    }
    if (auto s = x.find("session"); s != x.end() && s->is_string())
      result.session = s->get<std::string>();
  } else {
    result.command = body;
    while (!result.command.empty()
           && (result.command.back() == '\n' || result.command.back() == '\r'))
      result.command.pop_back();
  }
  if (result.command.find_first_of("\r\n") != std::string::npos)
    return make_failure(wire_code::bad_request,
                        "one command per request (the body has several "
                        "lines)");
  if (req.has_param("confirm"))
    result.confirm = truthy(req.get_param_value("confirm"));
  if (req.has_param("session"))
    result.session = req.get_param_value("session");
  return result;
}

/// Streams `r` to the client; a client that leaves cancels the command.
void stream_output(httplib::Response& res, const session_ptr& s,
                   const std::shared_ptr<command_response>& r) {
  auto type = r->framed ? "application/x-ndjson" : "text/plain; charset=utf-8";
  auto console = s->console;
  // Plain text has no room for a keep-alive: a client that left is
  // noticed at the next output.
  res.set_chunked_content_provider(
    type, pump_from(r->queue, r->framed ? "\n" : "", ndjson_keepalive_every),
    [r, console](bool success) {
      if (!success && !r->queue->closed()) {
        spdlog::info("api request operator={} command=\"{}\": the client "
                     "left, cancelling",
                     r->op, r->command);
        caf::anon_send(console, atom::cancel_v);
      }
    });
}

} // namespace

void on_run(api_context& ctx, const httplib::Request& req,
            httplib::Response& res) {
  if (!authorized(req, res, ctx.settings))
    return;
  auto parsed = parse_run(req);
  if (!parsed)
    return reply_error(res, 400, parsed.error().code, parsed.error().message);
  auto r = std::make_shared<command_response>();
  r->confirm = parsed->confirm;
  r->op = operator_of(req);
  r->command = protocol::escape_name(parsed->command);
  if (auto cmd = shell::parse_command(parsed->command); cmd && cmd->spec)
    r->json_output = cmd->has_flag("json");
  r->framed = r->json_output
              || req.get_header_value("Accept").find("application/x-ndjson")
                   != std::string::npos;
  spdlog::info("api request operator={} addr={} command=\"{}\"{}", r->op,
               req.remote_addr, r->command,
               parsed->session.empty() ? "" : " (session)");
  session_ptr s;
  if (!parsed->session.empty()) {
    s = ctx.reg->open_session(parsed->session);
    if (!s)
      return reply_error(res, 404, wire_code::not_found,
                         "no such session (it ended or expired)");
  } else {
    s = std::make_shared<session>();
  }
  if (!s->begin(r))
    return reply_error(res, 409, wire_code::too_many_requests,
                       "the session is running another command");
  if (parsed->session.empty()) {
    // One command: a console of its own that quits after it.
    if (!ctx.reg->add(s))
      return reply_error(res, 503, wire_code::shutdown,
                         "the server is stopping");
    spawn_console(ctx.sys, ctx.supervisor, ctx.reg, s, r->op);
    caf::anon_send(s->console, atom::line_v, parsed->command);
    caf::anon_send(s->console, atom::eof_v);
  } else {
    caf::anon_send(s->console, atom::line_v, parsed->command);
  }
  stream_output(res, s, r);
}

} // namespace dirscope::api
