#include "api/api_server.hpp"

#include <algorithm>
#include <limits>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/console.hpp"
#include "api/event_relay.hpp"
#include "api/file_stream.hpp"
#include "api/stream_queue.hpp"
#include "api/web_assets.hpp"
#include "api/upload_source.hpp"
#include "node/transfer.hpp"
#include "protocol/messages.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/command.hpp"
#include "shell/render.hpp"
#include "tls/openssl_util.hpp"
#include "tls/pki.hpp"

namespace dirscope::api {

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr auto pop_wait = std::chrono::milliseconds{200};
/// A silent event stream sends a comment this often (proxies, dead peers).
constexpr auto keepalive_every = std::chrono::seconds{10};
/// A silent NDJSON response sends a blank line this often: a client that
/// left is noticed (the write fails) and its command cancelled.
constexpr auto ndjson_keepalive_every = std::chrono::seconds{2};
constexpr size_t max_sessions = 64;
constexpr auto session_idle_limit = std::chrono::hours{1};
constexpr size_t max_operator_name = 64;

std::string json_line(const json& x) {
  return dump_json(x) + "\n";
}

/// 128 random bits in hex: a session id.
std::string random_id() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1)
    return {};
  auto text = tls::detail::hex_with_colons(raw, sizeof(raw));
  text.erase(std::remove(text.begin(), text.end(), ':'), text.end());
  return text;
}

/// The provider of a chunked response fed by `queue`. While the queue is
/// silent for `every`, it writes `keepalive` (nothing if empty): the write
/// fails once the client left.
httplib::ContentProviderWithoutLength
pump_from(std::shared_ptr<stream_queue> queue, std::string keepalive,
          steady::duration every) {
  auto last = std::make_shared<steady::time_point>(steady::now());
  return [queue, keepalive, every, last](size_t, httplib::DataSink& sink) {
    std::string chunk;
    switch (queue->pop(chunk, pop_wait)) {
      case stream_queue::got::data:
        *last = steady::now();
        return sink.write(chunk.data(), chunk.size());
      case stream_queue::got::idle:
        if (keepalive.empty() || steady::now() - *last < every)
          return true;
        *last = steady::now();
        return sink.write(keepalive.data(), keepalive.size());
      case stream_queue::got::end:
        sink.done();
        return true;
      case stream_queue::got::failed:
        return false;
    }
    return false;
  };
}

// -- one command's response ---------------------------------------------------

/// The response of one running command.
struct run {
  std::shared_ptr<stream_queue> queue = std::make_shared<stream_queue>();
  /// NDJSON: every line an object, the last one the status.
  bool framed = false;
  /// The command writes JSON lines itself (--json): they pass unchanged.
  bool json_output = false;
  std::optional<failure> failed;
  bool overflow = false;
  /// The request said "confirm": true (rm may delete).
  bool confirm = false;
  std::string op;
  std::string command;
};

/// A console actor serving the API: one command (then it quits), or a
/// session's commands one request at a time. Called from the console's
/// thread (output) and handler threads (begin), hence the lock.
struct session {
  std::string id;
  bool persistent = false;
  console_actor console;
  std::mutex mtx;
  std::shared_ptr<run> current;
  bool started = false;
  bool ended = false;
  std::string prompt_text;
  steady::time_point last_used = steady::now();

  void output(const std::string& text, bool is_error) {
    std::lock_guard<std::mutex> guard{mtx};
    if (!current || text.empty())
      return;
    auto& r = *current;
    // The status line carries a framed command's failure.
    if (is_error && r.framed)
      return;
    auto ok = r.framed && !r.json_output
                ? r.queue->push(json_line(json{{"out", text}}))
                : r.queue->push(text);
    if (!ok && !r.overflow) {
      r.overflow = true;
      caf::anon_send(console, atom::cancel_v);
    }
  }

  void failed(const failure& why) {
    std::lock_guard<std::mutex> guard{mtx};
    if (current && !current->failed)
      current->failed = why;
  }

  /// The console shows its prompt: the running command is complete.
  void prompted(const std::string& text) {
    std::lock_guard<std::mutex> guard{mtx};
    prompt_text = text;
    if (!started) {
      started = true; // the console's first prompt, before any command
      return;
    }
    finish_current();
  }

  /// The console is gone: it quit (`reason` none) or was stopped.
  void terminated(const caf::error& reason) {
    std::lock_guard<std::mutex> guard{mtx};
    ended = true;
    if (reason && current && !current->failed)
      current->failed = failure{wire_code::shutdown,
                                "the server is stopping"};
    finish_current();
  }

  /// Starts a command; nullptr while another one runs or after the end.
  std::shared_ptr<run> begin(std::shared_ptr<run> r) {
    std::lock_guard<std::mutex> guard{mtx};
    if (current || ended)
      return nullptr;
    current = std::move(r);
    last_used = steady::now();
    return current;
  }

  /// Whether the running command may delete (rm asks this).
  bool confirmed() {
    std::lock_guard<std::mutex> guard{mtx};
    return current && current->confirm;
  }

  bool idle_since(steady::time_point t) {
    std::lock_guard<std::mutex> guard{mtx};
    return !current && last_used < t;
  }

private:
  void finish_current() {
    if (!current)
      return;
    auto& r = *current;
    if (r.overflow && !r.failed)
      r.failed = failure{wire_code::too_many_requests,
                         "the client read the output too slowly"};
    std::string last;
    if (r.framed) {
      json status;
      if (r.failed)
        status = json{{"status", "error"},
                      {"code", std::string{to_string(r.failed->code)}},
                      {"message", r.failed->message}};
      else
        status = json{{"status", "ok"}};
      if (persistent && !ended)
        status["prompt"] = prompt_text;
      last = json_line(status);
    }
    if (r.failed)
      spdlog::info("api request operator={} command=\"{}\" status=failed "
                   "error={} message=\"{}\"",
                   r.op, r.command, to_string(r.failed->code),
                   r.failed->message);
    else
      spdlog::info("api request operator={} command=\"{}\" status=ok", r.op,
                   r.command);
    r.queue->close(last);
    current.reset();
  }
};

using session_ptr = std::shared_ptr<session>;

/// What the API runs, shared with the functors of terminating actors
/// (which may outlive the server object).
struct registry {
  std::mutex mtx;
  std::map<std::string, session_ptr> sessions;
  std::map<caf::actor_addr, caf::actor> relays;
  bool stopped = false;

  /// Adds `s` under a fresh id; false once the API stopped.
  bool add(const session_ptr& s) {
    std::lock_guard<std::mutex> guard{mtx};
    if (stopped)
      return false;
    s->id = random_id();
    sessions.emplace(s->id, s);
    return true;
  }

  void forget(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx};
    sessions.erase(id);
  }
};

using registry_ptr = std::shared_ptr<registry>;

// -- requests -----------------------------------------------------------------

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

void reply_error(httplib::Response& res, int status, wire_code code,
                 const std::string& message) {
  res.status = status;
  res.set_content(json_line(json{{"status", "error"},
                                 {"code", std::string{to_string(code)}},
                                 {"message", message}}),
                  "application/json");
}

} // namespace

// -- the server ---------------------------------------------------------------

struct api_server::impl {
  caf::actor_system& sys;
  supervisor_actor supervisor;
  api_settings settings;
  std::unique_ptr<httplib::SSLServer> http;
  std::thread thread;
  registry_ptr reg = std::make_shared<registry>();

  impl(caf::actor_system& sys, supervisor_actor supervisor,
       api_settings settings)
    : sys(sys), supervisor(std::move(supervisor)),
      settings(std::move(settings)) {
  }

  // -- helpers ----------------------------------------------------------------

  /// The operator's name for the log (X-Dirscope-Operator, else "api").
  static std::string operator_of(const httplib::Request& req) {
    auto name = req.get_header_value("X-Dirscope-Operator");
    if (auto cn = certificate_name(req); !cn.empty())
      name = cn; // the certificate names its holder
    if (name.empty())
      return "api";
    if (name.size() > max_operator_name)
      name.resize(max_operator_name);
    return protocol::escape_name(name);
  }

  /// The CN of a client certificate that verified against the CA (the
  /// handshake refuses one that does not); empty without one.
  static std::string certificate_name(const httplib::Request& req) {
    if (req.ssl == nullptr)
      return {};
    auto* cert = SSL_get1_peer_certificate(req.ssl);
    if (cert == nullptr)
      return {};
    std::string result;
    if (SSL_get_verify_result(req.ssl) == X509_V_OK) {
      char cn[256] = {0};
      if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                    NID_commonName, cn, sizeof(cn) - 1)
          > 0)
        result = cn;
    }
    X509_free(cert);
    return result;
  }

  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (!settings.client_ca_file.empty() && !certificate_name(req).empty())
      return true;
    auto header = req.get_header_value("Authorization");
    static constexpr std::string_view bearer = "Bearer ";
    auto given = header.size() > bearer.size()
                     && header.compare(0, bearer.size(), bearer) == 0
                   ? std::string_view{header}.substr(bearer.size())
                   : std::string_view{};
    if (tls::token_equal(given, settings.token))
      return true;
    spdlog::warn("api: refused {} {} from {}: {}", req.method, req.path,
                 req.remote_addr,
                 header.empty() ? "no operator token" : "wrong operator token");
    res.set_header("WWW-Authenticate", "Bearer realm=\"dirscope\"");
    reply_error(res, 401, wire_code::permission_denied,
                "the operator token is missing or wrong (Authorization: "
                "Bearer TOKEN; the token is in the server's state dir, "
                "operator.token)");
    return false;
  }

  /// Spawns a console for `s` whose output goes to its running command;
  /// the nodes' request report names `op` for its requests.
  void spawn_console(const session_ptr& s, const std::string& op) {
    console_options options;
    options.operator_name = op;
    options.server_console = false;
    options.local_files = false;
    options.rm_confirmed = [s] { return s->confirmed(); };
    options.err = [s](const std::string& text) { s->output(text, true); };
    options.failed = [s](const failure& why) { s->failed(why); };
    auto out = [s](const std::string& text) { s->output(text, false); };
    auto prompt = [s](const std::string& text) { s->prompted(text); };
    s->console = sys.spawn(console, supervisor, out, prompt,
                           std::move(options));
    s->console->attach_functor([s, reg{reg}](const caf::error& reason) {
      s->terminated(reason);
      reg->forget(s->id);
    });
  }

  /// Streams `r` to the client; a client that leaves cancels the command.
  void stream(httplib::Response& res, const session_ptr& s,
              const std::shared_ptr<run>& r) {
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

  // -- endpoints --------------------------------------------------------------

  void on_run(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res))
      return;
    auto parsed = parse_run(req);
    if (!parsed)
      return reply_error(res, 400, parsed.error().code,
                         parsed.error().message);
    auto r = std::make_shared<run>();
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
      std::lock_guard<std::mutex> guard{reg->mtx};
      auto i = reg->sessions.find(parsed->session);
      if (i == reg->sessions.end() || !i->second->persistent)
        return reply_error(res, 404, wire_code::not_found,
                           "no such session (it ended or expired)");
      s = i->second;
    } else {
      s = std::make_shared<session>();
    }
    if (!s->begin(r))
      return reply_error(res, 409, wire_code::too_many_requests,
                         "the session is running another command");
    if (parsed->session.empty()) {
      // One command: a console of its own that quits after it.
      if (!reg->add(s))
        return reply_error(res, 503, wire_code::shutdown,
                           "the server is stopping");
      spawn_console(s, r->op);
      caf::anon_send(s->console, atom::line_v, parsed->command);
      caf::anon_send(s->console, atom::eof_v);
    } else {
      caf::anon_send(s->console, atom::line_v, parsed->command);
    }
    stream(res, s, r);
  }

  void on_new_session(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res))
      return;
    auto s = std::make_shared<session>();
    s->persistent = true;
    {
      std::lock_guard<std::mutex> guard{reg->mtx};
      auto cutoff = steady::now() - session_idle_limit;
      size_t open = 0;
      for (auto& [id, x] : reg->sessions) {
        if (!x->persistent)
          continue;
        if (x->idle_since(cutoff))
          caf::anon_send(x->console, atom::shutdown_v); // it forgets itself
        else
          ++open;
      }
      if (open >= max_sessions)
        return reply_error(res, 503, wire_code::server_full,
                           "too many open sessions");
    }
    if (!reg->add(s))
      return reply_error(res, 503, wire_code::shutdown,
                         "the server is stopping");
    auto op = operator_of(req);
    spawn_console(s, op);
    spdlog::info("api session opened operator={} addr={}", op,
                 req.remote_addr);
    res.set_content(json_line(json{{"session", s->id},
                                   {"prompt", "dirscope> "}}),
                    "application/json");
  }

  /// The open `dirscope shell` session `id`, or null.
  session_ptr open_session(const std::string& id) {
    std::lock_guard<std::mutex> guard{reg->mtx};
    auto i = reg->sessions.find(id);
    if (i == reg->sessions.end() || !i->second->persistent)
      return nullptr;
    return i->second;
  }

  /// Tab in `dirscope shell`: the words the session's console offers for
  /// the end of the line before the cursor (the body), as the server's own
  /// console completes (console_complete.cpp).
  void on_complete(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res))
      return;
    auto s = open_session(req.matches[1].str());
    if (!s)
      return reply_error(res, 404, wire_code::not_found, "no such session");
    auto words = json::array();
    caf::scoped_actor self{sys};
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

  void on_end_session(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res))
      return;
    auto s = open_session(req.matches[1].str());
    if (!s)
      return reply_error(res, 404, wire_code::not_found, "no such session");
    caf::anon_send(s->console, atom::shutdown_v);
    spdlog::info("api session closed operator={}", operator_of(req));
    res.set_content(json_line(json{{"status", "ok"}}), "application/json");
  }

  void on_nodes(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res))
      return;
    caf::scoped_actor self{sys};
    auto rows = json::array();
    std::optional<failure> why;
    self->request(supervisor, std::chrono::seconds{30}, atom::nodes_v)
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

  /// The HTTP status for a failure before any byte was sent.
  static int http_status(wire_code code) {
    switch (code) {
      case wire_code::not_found:
        return 404;
      case wire_code::permission_denied:
      case wire_code::not_permitted:
      case wire_code::outside_root:
      case wire_code::not_readable:
        return 403;
      case wire_code::bad_request:
      case wire_code::not_a_directory:
      case wire_code::symlink_loop:
        return 400;
      case wire_code::timeout:
        return 504;
      case wire_code::already_exists:
        return 409;
      default:
        return 502;
    }
  }

  /// Registers an actor that stop() ends; false once the API stopped.
  bool track(const caf::actor& hdl) {
    auto addr = hdl.address();
    hdl->attach_functor([reg{reg}, addr] {
      std::lock_guard<std::mutex> guard{reg->mtx};
      reg->relays.erase(addr);
    });
    std::lock_guard<std::mutex> guard{reg->mtx};
    if (reg->stopped)
      return false;
    reg->relays.emplace(addr, hdl);
    return true;
  }

  void on_file(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res))
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
    std::optional<failure> why;
    node_info info;
    node_connection_actor conn;
    {
      caf::scoped_actor self{sys};
      self->request(supervisor, std::chrono::seconds{30}, atom::resolve_v, node)
        .receive(
          [&](node_info& x, node_connection_actor& c) {
            info = std::move(x);
            conn = std::move(c);
          },
          [&why](caf::error& err) { why = to_failure(err); });
    }
    if (!why && (info.capabilities & protocol::capability::download) == 0)
      why = failure{wire_code::not_permitted, "not permitted by node policy"};
    if (!why && (info.capabilities & protocol::capability::file_meta) == 0)
      why = failure{wire_code::not_permitted,
                    "the node is too old to stream a file here"};
    if (why) {
      spdlog::info("api request operator={} download {} status=failed "
                   "error={}",
                   op, shown, to_string(why->code));
      return reply_error(res, http_status(why->code), why->code,
                         why->message);
    }
    auto queue = std::make_shared<stream_queue>(2 * file_stream_high_water
                                                + (1u << 20));
    auto start = std::make_shared<file_start>();
    auto query = next_query_id();
    auto hdl = sys.spawn(file_stream, conn, request_origin{query, op}, *path,
                         queue, start);
    if (!track(caf::actor_cast<caf::actor>(hdl))) {
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
        switch (queue->pop(chunk, pop_wait)) {
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

  /// Resolves `node`, checking that its policy allows `capability`.
  outcome<std::pair<node_info, node_connection_actor>>
  resolve_node(const std::string& node, uint32_t capability) {
    std::optional<failure> why;
    std::pair<node_info, node_connection_actor> result;
    caf::scoped_actor self{sys};
    self->request(supervisor, std::chrono::seconds{30}, atom::resolve_v, node)
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

  void on_put(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader) {
    if (!authorized(req, res))
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
    auto target = resolve_node(node, protocol::capability::upload);
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
    auto source = sys.spawn<caf::detached>(upload_source, pipe, size);
    auto query = next_query_id();
    auto requester = sys.spawn(
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
    if (!track(caf::actor_cast<caf::actor>(source))
        || !track(requester)) {
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

  void on_events(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res))
      return;
    auto queue = std::make_shared<stream_queue>(1u << 20);
    auto relay = sys.spawn(event_relay, supervisor, queue);
    auto addr = relay.address();
    relay->attach_functor([queue, reg{reg}, addr] {
      queue->close();
      std::lock_guard<std::mutex> guard{reg->mtx};
      reg->relays.erase(addr);
    });
    {
      std::lock_guard<std::mutex> guard{reg->mtx};
      if (reg->stopped) {
        caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
        return reply_error(res, 503, wire_code::shutdown,
                           "the server is stopping");
      }
      reg->relays.emplace(addr, caf::actor_cast<caf::actor>(relay));
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

  /// The web view's files: no token needed, they hold no data (the page
  /// asks for the token and sends it with every API call).
  void on_web_asset(const httplib::Request& req, httplib::Response& res) {
    auto asset = find_web_asset(req.path);
    if (asset == nullptr)
      return reply_error(res, 404, wire_code::not_found,
                         "no such page: " + protocol::escape_name(req.path));
    // Only our own scripts and styles, never framed by another site.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string{asset->body},
                    std::string{web_content_type(asset->path)});
  }

  template <class F>
  httplib::Server::Handler guarded(F f) {
    return [this, f](const httplib::Request& req, httplib::Response& res) {
      try {
        (this->*f)(req, res);
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
  auto cert = d.settings.cert_file;
  auto key = d.settings.key_file;
  auto client_ca = d.settings.client_ca_file;
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
  http.Post("/api/v1/run", d.guarded(&impl::on_run));
  http.Post("/api/v1/session", d.guarded(&impl::on_new_session));
  http.Delete(R"(/api/v1/session/([0-9a-f]+))",
              d.guarded(&impl::on_end_session));
  http.Post(R"(/api/v1/session/([0-9a-f]+)/complete)",
            d.guarded(&impl::on_complete));
  http.Get("/api/v1/nodes", d.guarded(&impl::on_nodes));
  http.Get("/api/v1/events", d.guarded(&impl::on_events));
  http.Get("/api/v1/file", d.guarded(&impl::on_file));
  http.Put("/api/v1/file",
           [&d](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) {
             try {
               d.on_put(req, res, reader);
             } catch (const std::exception& e) {
               spdlog::error("api: PUT failed: {}", e.what());
               reply_error(res, 500, wire_code::internal, "internal error");
             }
           });
  http.Get(R"(/[^/]*)", d.guarded(&impl::on_web_asset));
  int port = d.settings.port == 0
               ? http.bind_to_any_port(d.settings.host.c_str())
               : (http.bind_to_port(d.settings.host.c_str(), d.settings.port)
                    ? d.settings.port
                    : -1);
  if (port <= 0)
    return make_failure(wire_code::io_error,
                        "cannot listen on " + d.settings.host + ":"
                          + std::to_string(d.settings.port));
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
  std::map<caf::actor_addr, caf::actor> relays;
  {
    std::lock_guard<std::mutex> guard{d.reg->mtx};
    if (d.reg->stopped)
      return;
    d.reg->stopped = true;
    sessions = d.reg->sessions;
    relays = d.reg->relays;
  }
  if (d.http)
    d.http->stop();
  if (d.thread.joinable())
    d.thread.join();
  for (auto& [id, s] : sessions)
    if (s->console)
      caf::anon_send_exit(s->console, caf::exit_reason::user_shutdown);
  for (auto& [addr, x] : relays)
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
}

} // namespace dirscope::api
