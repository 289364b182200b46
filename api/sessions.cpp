#include "api/sessions.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "actors/server/console.hpp"
#include "api/http_reply.hpp"
#include "tls/openssl_util.hpp"

namespace dirscope::api {

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

/// 128 random bits in hex: a session id.
std::string random_id() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1)
    return {};
  auto text = tls::detail::hex_with_colons(raw, sizeof(raw));
  text.erase(std::remove(text.begin(), text.end(), ':'), text.end());
  return text;
}

} // namespace

// -- session ------------------------------------------------------------------

void session::output(const std::string& text, bool is_error) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!current_ || text.empty())
    return;
  auto& r = *current_;
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

void session::failed(const failure& why) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (current_ && !current_->failed)
    current_->failed = why;
}

void session::prompted(const std::string& text) {
  std::lock_guard<std::mutex> guard{mtx_};
  prompt_text_ = text;
  if (!started_) {
    started_ = true; // the console's first prompt, before any command
    return;
  }
  finish_current();
}

void session::terminated(const caf::error& reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  ended_ = true;
  if (reason && current_ && !current_->failed)
    current_->failed = failure{wire_code::shutdown, "the server is stopping"};
  finish_current();
}

std::shared_ptr<command_response>
session::begin(std::shared_ptr<command_response> r) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (current_ || ended_)
    return nullptr;
  current_ = std::move(r);
  last_used_ = steady::now();
  return current_;
}

bool session::confirmed() {
  std::lock_guard<std::mutex> guard{mtx_};
  return current_ && current_->confirm;
}

bool session::idle_since(steady::time_point t) {
  std::lock_guard<std::mutex> guard{mtx_};
  return !current_ && last_used_ < t;
}

void session::finish_current() {
  if (!current_)
    return;
  auto& r = *current_;
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
    if (persistent && !ended_)
      status["prompt"] = prompt_text_;
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
  current_.reset();
}

// -- registry -----------------------------------------------------------------

bool registry::add(const session_ptr& s) {
  std::lock_guard<std::mutex> guard{mtx};
  if (stopped)
    return false;
  s->id = random_id();
  sessions.emplace(s->id, s);
  return true;
}

void registry::forget(const std::string& id) {
  std::lock_guard<std::mutex> guard{mtx};
  sessions.erase(id);
}

session_ptr registry::open_session(const std::string& id) {
  std::lock_guard<std::mutex> guard{mtx};
  auto i = sessions.find(id);
  if (i == sessions.end() || !i->second->persistent)
    return nullptr;
  return i->second;
}

size_t registry::expire_idle_sessions(steady::time_point cutoff) {
  std::lock_guard<std::mutex> guard{mtx};
  size_t open = 0;
  for (auto& [id, x] : sessions) {
    if (!x->persistent)
      continue;
    if (x->idle_since(cutoff))
      caf::anon_send(x->console, atom::shutdown_v); // it forgets itself
    else
      ++open;
  }
  return open;
}

bool track(const registry_ptr& reg, const caf::actor& hdl) {
  auto addr = hdl.address();
  hdl->attach_functor([reg, addr] {
    std::lock_guard<std::mutex> guard{reg->mtx};
    reg->tracked.erase(addr);
  });
  std::lock_guard<std::mutex> guard{reg->mtx};
  if (reg->stopped)
    return false;
  reg->tracked.emplace(addr, hdl);
  return true;
}

// -- consoles -----------------------------------------------------------------

void spawn_console(caf::actor_system& sys, const supervisor_actor& supervisor,
                   const registry_ptr& reg, const session_ptr& s,
                   const std::string& op) {
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
  s->console->attach_functor([s, reg](const caf::error& reason) {
    s->terminated(reason);
    reg->forget(s->id);
  });
}

} // namespace dirscope::api
