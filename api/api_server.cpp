#include "api/api_server.hpp"

#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <httplib.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "api/endpoints.hpp"
#include "api/http_reply.hpp"

namespace dirscope::api {

struct api_server::impl {
  api_context ctx;
  std::unique_ptr<httplib::SSLServer> http;
  std::thread thread;

  impl(caf::actor_system& sys, supervisor_actor supervisor,
       api_settings settings)
    : ctx{sys, std::move(supervisor), std::move(settings)} {
  }

  /// `f` as an httplib handler; an exception becomes a 500.
  httplib::Server::Handler guarded(endpoint f) {
    return [this, f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(ctx, req, res);
      } catch (const std::exception& e) {
        spdlog::error("api: {} {} failed: {}", req.method, req.path, e.what());
        reply_error(res, 500, wire_code::internal, "internal error");
      } catch (...) {
        reply_error(res, 500, wire_code::internal, "internal error");
      }
    };
  }
};

api_server::api_server(caf::actor_system& sys, supervisor_actor supervisor,
                       api_settings settings)
  : impl_(std::make_unique<impl>(sys, std::move(supervisor),
                                 std::move(settings))) {
}

api_server::~api_server() {
  stop();
}

outcome<uint16_t> api_server::start() {
  auto& d = *impl_;
  auto& settings = d.ctx.settings;
  auto cert = settings.cert_file;
  auto key = settings.key_file;
  auto client_ca = settings.client_ca_file;
  d.http = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    // TLS 1.3 only, like the nodes' port.
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_3_VERSION) != 1
        || SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) != 1
        || SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM)
             != 1
        || SSL_CTX_check_private_key(&ctx) != 1)
      return false;
    if (client_ca.empty())
      return true;
    // A client certificate is optional (the token works without one); one
    // that does not verify against the CA ends the handshake.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
    return SSL_CTX_load_verify_locations(&ctx, client_ca.c_str(), nullptr)
           == 1;
  });
  if (!d.http->is_valid())
    return make_failure(wire_code::internal,
                        "cannot set up TLS for the operator API with "
                          + cert + " and " + key);
  auto& http = *d.http;
  // Each streaming response holds one thread until it ends.
  http.new_task_queue = [] { return new httplib::ThreadPool(16); };
  // Uploads stream (PUT /api/v1/file); every other body is a command and
  // small, refused before it is read.
  http.set_payload_max_length(std::numeric_limits<size_t>::max());
  http.set_pre_routing_handler(
    [](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "PUT")
        return httplib::Server::HandlerResponse::Unhandled;
      auto length = req.get_header_value("Content-Length");
      auto digits = length.find_first_not_of("0123456789")
                    == std::string::npos;
      if (req.has_header("Transfer-Encoding")
          || (!length.empty()
              && (!digits || length.size() > 6
                  || std::stoul(length) > 64 * 1024))) {
        reply_error(res, 413, wire_code::bad_request,
                    "a command body is at most 64 KiB with a "
                    "Content-Length");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
  // An idle kept-alive connection holds a pool thread, and stop() waits
  // for it: keep it short.
  http.set_keep_alive_timeout(1);
  http.Post("/api/v1/run", d.guarded(on_run));
  http.Post("/api/v1/session", d.guarded(on_new_session));
  http.Delete(R"(/api/v1/session/([0-9a-f]+))",
              d.guarded(on_end_session));
  http.Post(R"(/api/v1/session/([0-9a-f]+)/complete)",
            d.guarded(on_complete));
  http.Get("/api/v1/nodes", d.guarded(on_nodes));
  http.Get("/api/v1/events", d.guarded(on_events));
  http.Get("/api/v1/file", d.guarded(on_file));
  http.Put("/api/v1/file",
           [&d](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) {
             try {
               on_put(d.ctx, req, res, reader);
             } catch (const std::exception& e) {
               spdlog::error("api: PUT failed: {}", e.what());
               reply_error(res, 500, wire_code::internal, "internal error");
             }
           });
  http.Get(R"(/[^/]*)", d.guarded(on_web_asset));
  int port = settings.port == 0
               ? http.bind_to_any_port(settings.host.c_str())
               : (http.bind_to_port(settings.host.c_str(), settings.port)
                    ? settings.port
                    : -1);
  if (port <= 0)
    return make_failure(wire_code::io_error,
                        "cannot listen on " + settings.host + ":"
                          + std::to_string(settings.port));
  d.thread = std::thread{[&http] {
    try {
      http.listen_after_bind();
    } catch (const std::exception& e) {
      spdlog::error("api: stopped: {}", e.what());
    }
  }};
  return static_cast<uint16_t>(port);
}

void api_server::stop() {
  auto& d = *impl_;
  std::map<std::string, session_ptr> sessions;
  std::map<caf::actor_addr, caf::actor> tracked;
  {
    std::lock_guard<std::mutex> guard{d.ctx.reg->mtx};
    if (d.ctx.reg->stopped)
      return;
    d.ctx.reg->stopped = true;
    sessions = d.ctx.reg->sessions;
    tracked = d.ctx.reg->tracked;
  }
  if (d.http)
    d.http->stop();
  if (d.thread.joinable())
    d.thread.join();
  for (auto& [id, s] : sessions)
    if (s->console)
      caf::anon_send_exit(s->console, caf::exit_reason::user_shutdown);
  for (auto& [addr, x] : tracked)
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
}

} // namespace dirscope::api
