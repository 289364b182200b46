#pragma once

// The consoles that serve the API: one per command, or one per `dirscope
// shell` session, and the registry of what stop() must end.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "actors/actors.hpp"
#include "api/stream_queue.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::api {

/// The response of one running command.
struct command_response {
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
class session {
public:
  std::string id;
  bool persistent = false;
  console_actor console;

  void output(const std::string& text, bool is_error);

  void failed(const failure& why);

  /// The console shows its prompt: the running command is complete.
  void prompted(const std::string& text);

  /// The console is gone: it quit (`reason` none) or was stopped.
  void terminated(const caf::error& reason);

  /// Starts a command; nullptr while another one runs or after the end.
  std::shared_ptr<command_response>
  begin(std::shared_ptr<command_response> r);

  /// Whether the running command may delete (rm asks this).
  bool confirmed();

  bool idle_since(std::chrono::steady_clock::time_point t);

private:
  void finish_current();

  std::mutex mtx_;
  std::shared_ptr<command_response> current_;
  bool started_ = false;
  bool ended_ = false;
  std::string prompt_text_;
  std::chrono::steady_clock::time_point last_used_
    = std::chrono::steady_clock::now();
};

using session_ptr = std::shared_ptr<session>;

/// What the API runs, shared with the functors of terminating actors
/// (which may outlive the server object).
struct registry {
  std::mutex mtx;
  std::map<std::string, session_ptr> sessions;
  /// Other actors that stop() ends (event relays, file transfers).
  std::map<caf::actor_addr, caf::actor> tracked;
  bool stopped = false;

  /// Adds `s` under a fresh id; false once the API stopped.
  bool add(const session_ptr& s);

  void forget(const std::string& id);

  /// The open `dirscope shell` session `id`, or null.
  session_ptr open_session(const std::string& id);

  /// Shuts down the sessions idle since before `cutoff` (each forgets
  /// itself as it ends); returns how many others are open.
  size_t expire_idle_sessions(std::chrono::steady_clock::time_point cutoff);
};

using registry_ptr = std::shared_ptr<registry>;

/// Registers an actor that stop() ends; false once the API stopped.
bool track(const registry_ptr& reg, const caf::actor& hdl);

/// Spawns a console for `s` whose output goes to its running command;
/// the nodes' request report names operator `op` for its requests.
void spawn_console(caf::actor_system& sys, const supervisor_actor& supervisor,
                   const registry_ptr& reg, const session_ptr& s,
                   const std::string& op);

} // namespace dirscope::api
