#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/settings.hpp"
#include "shell/command.hpp"

namespace dirscope {

/// Anything that abandons request `id` on `cancel` (node connections, the
/// supervisor's `wait`): where Ctrl-C sends the running command's cancels.
using cancellable_actor
  = caf::typed_actor<caf::reacts_to<atom::cancel, uint64_t>>;

/// Writes text for people (stdout in production, a buffer in tests).
using console_output = std::function<void(const std::string&)>;

/// Shows the prompt for the next command (interactive shells only).
using console_prompt = std::function<void(const std::string&)>;

/// Shows (or with an empty string clears) the one-line progress of a
/// running transfer; server_main writes it to a terminal's stderr only.
using console_progress = std::function<void(const std::string&)>;

/// What the console needs beyond its output functions.
struct console_options {
  /// Where `get` writes without LOCAL: DOWNLOAD_DIR/<node>/<path>.
  std::string download_dir = "server_data";
  /// Progress line updates (empty: none).
  console_progress progress;
  /// Writes output that arrives while the user may be typing (a node's
  /// echo) without breaking the line being typed; empty: the normal output.
  console_output async_out;
  /// Where a failed command's error line goes (empty: `out`). Without a
  /// terminal server_main sends it to stderr, so that stdout holds results
  /// only.
  console_output err;
  /// Told of every command that failed, except those that the server's
  /// own shutdown ended (server_main's exit status).
  std::function<void(const failure&)> failed;
  /// Width of the terminal `out` writes to, asked before each `ls` (rows
  /// then fit it); empty or 0: not a terminal, full rows.
  std::function<size_t()> columns;
  /// `out` is a terminal that shows colours (ls colours names).
  bool color = false;
  /// Most nodes a fleet command (`ls all:/`) asks at once.
  size_t fleet_parallel = 64;
  /// The server's own console: node lines (echo) come here, and quitting
  /// shuts the server down. An operator API session has neither.
  bool server_console = true;
  /// How rm's "delete X? [y/N]" is answered: empty: asks (the next input
  /// line answers); else asked when rm starts: true: confirmed beforehand
  /// (as -y); false: rm refuses to run (an API request without
  /// "confirm": true, even with -y).
  std::function<bool()> rm_confirmed;
  /// get and put may use the server's own files (download dir, local
  /// paths); not over the operator API, whose users are elsewhere.
  bool local_files = true;
  /// Who types the commands, for the nodes' request report: "console" at
  /// the server's terminal, the operator's name for an API session.
  std::string operator_name = "console";
};

/// The operator's shell: runs one command at a time, in input order.
struct console_state {
  static inline const char* name = "console";

  /// Receives the entries of one listing query.
  struct listing_sink {
    node_connection_actor conn;
    std::function<void(std::vector<protocol::entry>&)> on_entries;
  };

  /// A long hash a node reported (hash_progress) for the progress line.
  struct hash_status {
    uint64_t size = 0;
    uint64_t hashed = 0;
    /// When the console first heard of it.
    std::chrono::steady_clock::time_point since;
  };

  /// One directory of a `tree` walk.
  struct tree_frame {
    std::string path;
    std::vector<protocol::entry> entries;
    size_t next = 0;
  };

  /// A `tree` walk in progress.
  struct tree_walk {
    std::string node;
    node_connection_actor conn;
    bool json = false;
    size_t max_depth = 3;
    std::vector<tree_frame> stack;
    uint64_t dirs = 0;
    uint64_t files = 0;
  };

  supervisor_actor supervisor;
  console_output out;
  console_prompt show_prompt;
  /// Lines that arrived while a command was running.
  std::deque<std::string> pending;
  bool busy = false;
  bool draining = false;
  bool input_done = false;
  bool quitting = false;
  /// The node `use` selected (by name).
  std::string current_node;
  /// The nodes `use` selected when it named several (`use web*`, as
  /// typed; empty: none) and their working directory: paths without a
  /// node then run on each.
  std::string selection;
  std::string selection_cwd = "/";
  /// Working directory per node name.
  std::map<std::string, std::string> cwd;
  /// A running command waits for a yes/no line (rm's confirmation); the
  /// next input line goes here instead of running as a command.
  std::function<void(const std::string&)> answer;
  console_options options;
  /// The running transfer(s) of the current command, for the progress line.
  std::vector<std::shared_ptr<struct transfer_progress>> transfers;
  std::chrono::steady_clock::time_point transfer_start;
  uint64_t transfer_generation = 0;
  bool progress_shown = false;
  /// Requests the running command has started, as (receiver, query): each
  /// gets a cancel on Ctrl-C.
  std::vector<std::pair<cancellable_actor, uint64_t>> running;
  /// Ctrl-C arrived while the running command was still preparing.
  bool cancel_requested = false;
  std::unordered_map<uint64_t, listing_sink> sinks;
  /// Queries of the running command whose long hashes the progress line
  /// shows (text output on a terminal), and those hashes by (query, name).
  std::vector<uint64_t> hash_queries;
  std::map<std::pair<uint64_t, std::string>, hash_status> hashes;
  bool hash_line_shown = false;
  /// Receives the matches of one find query.
  struct find_sink {
    node_connection_actor conn;
    std::function<void(std::vector<protocol::find_match>&)> on_matches;
  };
  std::unordered_map<uint64_t, find_sink> find_sinks;
  tree_walk tree;
  /// Names in a directory, as tab completion last saw them.
  struct completion_dir {
    std::chrono::steady_clock::time_point taken;
    /// (raw name, is a directory)
    std::vector<std::pair<std::string, bool>> names;
  };
  /// Recent directories of tab completion by (node, path): one listing
  /// serves the keystrokes of a few seconds.
  std::map<std::pair<std::string, std::string>, completion_dir> completions;
};

using console_pointer = console_actor::stateful_pointer<console_state>;

/// A fresh query id for a request to a node, unique in the process: node
/// connections find acks and cancels by query id alone, and several
/// consoles (the operator API's) share a connection.
uint64_t next_query_id();

/// Spawned by the server main; `show_prompt` may be empty (piped input).
console_actor::behavior_type console(console_pointer self,
                                     supervisor_actor supervisor,
                                     console_output out,
                                     console_prompt show_prompt,
                                     console_options options);

} // namespace dirscope
