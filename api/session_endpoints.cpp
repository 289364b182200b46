#include "api/endpoints.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/http_reply.hpp"
#include "api/operator_auth.hpp"

namespace dirscope::api {

namespace {

using json = nlohmann::json;

constexpr size_t max_sessions = 64;
constexpr auto session_idle_limit = std::chrono::hours{1};

/// The open session that the path names (/api/v1/session/ID), if the caller
/// may use it; else answers 401 or 404 and returns null.
session_ptr authorized_session(api_context& ctx, const httplib::Request& req,
                               httplib::Response& res) {
  if (!authorized(req, res, ctx.settings))
    return nullptr;
  auto s = ctx.reg->open_session(req.matches[1].str());
  if (!s)
    reply_error(res, 404, wire_code::not_found, "no such session");
  return s;
}

} // namespace

void on_new_session(api_context& ctx, const httplib::Request& req,
                    httplib::Response& res) {
  if (!authorized(req, res, ctx.settings))
    return;
  auto s = std::make_shared<session>();
  s->persistent = true;
  auto cutoff = std::chrono::steady_clock::now() - session_idle_limit;
  if (ctx.reg->expire_idle_sessions(cutoff) >= max_sessions)
    return reply_error(res, 503, wire_code::server_full,
                       "too many open sessions");
  if (!ctx.reg->add(s))
    return reply_error(res, 503, wire_code::shutdown,
                       "the server is stopping");
  auto op = operator_of(req);
  spawn_console(ctx.sys, ctx.supervisor, ctx.reg, s, op);
  spdlog::info("api session opened operator={} addr={}", op,
               req.remote_addr);
  res.set_content(json_line(json{{"session", s->id},
                                 {"prompt", "dirscope> "}}),
                  "application/json");
}

/// The words the session's console offers for the end of the line before
/// the cursor (the body), as the server's own console completes
/// (console_complete.cpp).
void on_complete(api_context& ctx, const httplib::Request& req,
                 httplib::Response& res) {
  auto s = authorized_session(ctx, req, res);
  if (!s)
    return;
  auto words = json::array();
  caf::scoped_actor self{ctx.sys};
  self->request(s->console, std::chrono::seconds{3}, atom::complete_v,
                req.body)
    .receive(
      [&words](std::vector<std::string>& xs) {
        for (auto& x : xs)
          words.push_back(std::move(x));
      },
      [](caf::error&) {}); // no answer in time: nothing to offer
  res.set_content(json_line(words), "application/json");
}

void on_end_session(api_context& ctx, const httplib::Request& req,
                    httplib::Response& res) {
  auto s = authorized_session(ctx, req, res);
  if (!s)
    return;
  caf::anon_send(s->console, atom::shutdown_v);
  spdlog::info("api session closed operator={}", operator_of(req));
  res.set_content(json_line(json{{"status", "ok"}}), "application/json");
}

} // namespace dirscope::api
