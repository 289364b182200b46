#pragma once

// The console's commands, split by topic: console_support.cpp (running one
// command at a time, naming nodes and paths, listings), console_listing.cpp
// (ls, stat, tree), console_file_ops.cpp (du, rm, broadcast),
// console_transfer.cpp (get, put), console_fanout.cpp (a command on every
// node a selector names), console.cpp (node commands, dispatch, the
// behavior). Internal to the console actor.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>

#include "actors/server/console.hpp"
#include "actors/server/transfer.hpp"
#include "protocol/outcome.hpp"
#include "shell/command.hpp"
#include "shell/peek.hpp"
#include "shell/render.hpp"

namespace dirscope::console_impl {

using self_ptr = console_pointer;

struct fleet_plan;
using shell::command;

/// Hard cap on `tree --depth`.
constexpr size_t max_tree_depth = 64;

/// What the user wrote as a path: an optional node and the path text.
struct target_spec {
  std::string node; ///< empty: the current node
  std::string path; ///< raw bytes, empty: the node's working directory
};

/// A node resolved by the supervisor plus the absolute path on it.
struct target {
  node_info info;
  node_connection_actor conn;
  std::string path;
};

void prompt(self_ptr self);

/// A query id for a request of the running command; Ctrl-C sends `cancel`
/// with it to `dest`.
template <class Handle>
uint64_t cancellable_query(self_ptr self, const Handle& dest) {
  auto& st = self->state;
  auto query = next_query_id();
  st.running.emplace_back(caf::actor_cast<cancellable_actor>(dest), query);
  return query;
}

/// The origin of a request of the running command to a node: a query id
/// as above, and the operator for the node's request report.
template <class Handle>
request_origin cancellable_origin(self_ptr self, const Handle& dest) {
  return {cancellable_query(self, dest), self->state.options.operator_name};
}

/// Fails the running command with `cancelled` if Ctrl-C arrived while it
/// was between two steps; call before starting the next step.
bool stop_if_cancelled(self_ptr self);

void quit_now(self_ptr self);

void finish(self_ptr self);

void fail(self_ptr self, const failure& why);

void fail(self_ptr self, const caf::error& err);

outcome<target_spec> parse_target(const std::optional<std::string>& arg);

void with_target(self_ptr self, const std::optional<std::string>& arg,
                 std::function<void(target&)> then);

std::string shown(const target& t);

uint64_t start_listing(self_ptr self, const node_connection_actor& conn,
                   const std::string& path, uint8_t flags,
                   std::function<void(std::vector<protocol::entry>&)> on_entries,
                   std::function<void(uint64_t, bool)> on_end,
                   std::function<void(const caf::error&)> on_error);

void print_entry(self_ptr self, bool json, const std::string& node,
                 const std::string& dir, const protocol::entry& x);

/// Prints the entry at `t`. In JSON, "path" is the entry's own path (as
/// in the text form), or with `listing` (ls FILE) the directory holding
/// it, as in every ls --json object.
void cmd_stat_print(self_ptr self, const target& t, bool json,
                    bool listing = false);

void cmd_ls(self_ptr self, const command& cmd);

// -- tab completion (console_complete.cpp) --

/// The words that may complete the last word of `line` (the text before
/// the cursor): command names, node names, remote paths.
void complete(self_ptr self, const std::string& line,
              caf::typed_response_promise<std::vector<std::string>> rp);

// -- the progress line of long hashes (console_hash_progress.cpp) --

/// Shows the long hashes of `query` on the progress line (if there is one).
void watch_hashes(self_ptr self, uint64_t query);

/// A node reported progress of a long hash for `query` (hash_progress).
void on_hash_progress(self_ptr self, uint64_t query, std::string name,
                      uint64_t size, uint64_t hashed);

/// Clears the progress line before output.
void hide_hash_line(self_ptr self);

/// Draws the progress line again (if hashes still run).
void show_hash_line(self_ptr self);

/// Rows of `query` arrived: their hashes are done.
void hashes_arrived(self_ptr self, uint64_t query,
                    const std::vector<protocol::entry>& xs);

/// The command is over: no progress line any more.
void stop_watching_hashes(self_ptr self);

void tree_step(self_ptr self);

// -- globs in paths (console_glob.cpp) -----------------------------------------

/// True if the path of `arg` (after any NODE:) holds a glob.
bool glob_in(const std::optional<std::string>& arg);

/// ls of the entries a glob matches (one row each, names relative to the
/// glob's base).
void ls_glob(self_ptr self, const std::string& arg, bool json, bool hashes,
             const shell::listing_style& style);

/// stat of each entry a glob matches.
void stat_glob(self_ptr self, const std::string& arg, bool json);

/// get of each entry a glob matches, one after another, into directory
/// `local` (empty: the download directory); stops at the first failure.
void get_glob(self_ptr self, const std::string& arg, std::string local,
              bool force);

/// rm of the entries a glob matches: lists them, asks once (unless `yes`).
void rm_glob(self_ptr self, const std::string& arg, bool recursive, bool yes);

// -- find (console_find.cpp) --------------------------------------------------

/// Starts a find on `conn`; matches go to `on_matches`, then
/// `on_end(matched, visited)` or `on_error`. Returns the query id.
uint64_t
start_find(self_ptr self, const node_connection_actor& conn,
           protocol::find_request spec,
           std::function<void(std::vector<protocol::find_match>&)> on_matches,
           std::function<void(uint64_t, uint64_t)> on_end,
           std::function<void(const caf::error&)> on_error);

/// The node directory holding relative path `rel` of a walk of `base`
/// and its last component ("." is `base` itself).
std::pair<std::string, std::string> split_match(const std::string& base,
                                                const std::string& rel);

/// `find [NODE:]PATH [filters]`.
void cmd_find(self_ptr self, const command& cmd);

/// Runs one find on one node (`t`) and writes its rows to `out` (after
/// the listing header on the first text rows if `header`);
/// `on_done(matched, visited)` or `on_error` then.
void run_find(self_ptr self, const target& t, protocol::find_request spec,
              bool json, std::function<void(uint64_t, uint64_t)> on_done,
              std::function<void(const caf::error&)> on_error,
              console_output out, bool header);

/// `tree` on the node's own walk (nodes with capability::find): lines go
/// to `out`, then `on_done` or `on_error`.
void tree_by_walk(self_ptr self, const target& t, size_t depth, bool json,
                  console_output out, std::function<void()> on_done,
                  std::function<void(const caf::error&)> on_error);

void tree_descend(self_ptr self, const std::string& path);

void tree_step(self_ptr self);

void cmd_tree(self_ptr self, const command& cmd);

void cmd_stat(self_ptr self, const command& cmd);

void cmd_du(self_ptr self, const command& cmd);

void give_answer(self_ptr self, const std::string& line);

void confirm(self_ptr self, const std::string& question,
             std::function<void(bool)> then);

void cmd_rm(self_ptr self, const command& cmd);

void cmd_broadcast(self_ptr self, const command& cmd);

transfer_progress_ptr start_progress(self_ptr self);

double transfer_seconds(self_ptr self);

void stop_progress(self_ptr self);

void show_progress(self_ptr self, uint64_t generation);

std::vector<std::string> split_short_flags(const command& cmd,
                                           const std::string& letters,
                                           std::string& seen);

void cancel_running(self_ptr self);

failure cancelled_failure();

/// Runs one get; then `next` (if given) instead of finishing the command.
void run_download(self_ptr self, const target& t, download_job job,
                  std::function<void()> next = {});

void cmd_get(self_ptr self, const command& cmd);

outcome<std::string> put_path(const std::string& local,
                              const std::string& typed,
                              const std::string& resolved);

void start_upload(self_ptr self, const node_connection_actor& conn,
                  const std::string& local, const std::string& path,
                  bool tree, std::function<void(uint64_t)> ok,
                  std::function<void(const caf::error&)> bad);

void put_all(self_ptr self, const std::string& local, const std::string& arg,
             bool tree, bool resume, const fleet_plan* plan, bool yes);

void cmd_put(self_ptr self, const command& cmd);

/// What cat, head and tail were asked for.
struct peek_spec {
  shell::peek_kind kind = shell::peek_kind::cat;
  std::string path;
  uint64_t lines = 0;
  uint64_t cap = 0;
  bool binary = false;
};

/// cat, head, tail: prints (part of) a remote file (console_peek.cpp).
void cmd_peek(self_ptr self, const command& cmd, shell::peek_kind kind);

/// Prints (part of) the file at `t` through `out`, then `on_done` or
/// `on_error` (binary content without --binary is an error).
void run_peek(self_ptr self, const target& t, const peek_spec& spec,
              console_output out, std::function<void()> on_done,
              std::function<void(const caf::error&)> on_error);

// -- fleet commands (console_fanout.cpp) -------------------------------------

/// One node's part of a fleet command: runs on `t`, writes its rows with
/// `out` (which names the node on every text line), then calls `ok` or
/// `bad` exactly once.
using fleet_op = std::function<void(const target& t, console_output out,
                                    std::function<void()> ok,
                                    std::function<void(const caf::error&)> bad)>;

/// A fleet command ready to run.
struct fleet_plan {
  std::string selector; ///< as typed, for messages
  /// Globs on node names (paged from the supervisor), unless `names`.
  std::vector<std::string> patterns;
  /// These nodes instead of `patterns` (a second pass, e.g. rm's).
  std::vector<std::string> names;
  std::string path; ///< resolved
  bool json = false;
  fleet_op op;
  /// Appended to the summary line.
  std::function<std::string()> extra;
  /// After the summary instead of ending the command (not on Ctrl-C).
  std::function<void()> then;
};

/// The plan for `arg` if its node (or the `use` selection) names several
/// nodes (op and the rest still empty); nullopt for one node.
outcome<std::optional<fleet_plan>>
fleet_plan_of(self_ptr self, const std::optional<std::string>& arg);

/// Runs `op` on every node of the plan (see fleet_dispatch).
void run_fleet(self_ptr self, fleet_plan plan);

/// If `arg`'s node (or, without one, the `use` selection) names several
/// nodes, runs `op` on each of them (at most `fleet-parallel` at once,
/// rows streamed as they come, one line per node that fails or times
/// out, a summary at the end followed by `extra()`) and returns true; also
/// true when the selector is bad (the command failed then). False: one
/// node, and the caller goes on as before.
bool fleet_dispatch(self_ptr self, const std::optional<std::string>& arg,
                    bool json, fleet_op op,
                    std::function<std::string()> extra = {});

/// The per-node parts of ls (console_listing.cpp), cat/head/tail
/// (console_peek.cpp), stat, du, find and tree (console_fanout.cpp).
fleet_op fleet_ls(self_ptr self, const command& cmd);
fleet_op fleet_peek(self_ptr self, const peek_spec& spec);
fleet_op fleet_stat(self_ptr self, bool json);
fleet_op fleet_du(self_ptr self);
fleet_op fleet_find(self_ptr self, const protocol::find_request& spec,
                    bool json, std::shared_ptr<uint64_t> matches);
fleet_op fleet_tree(self_ptr self, size_t depth, bool json);

/// `rm` on several nodes: says what each holds, asks once naming how many
/// nodes it will touch, then deletes (console_fanout.cpp).
void fleet_rm(self_ptr self, fleet_plan plan, bool recursive, bool yes);

/// Fails the command if `arg` names several nodes (or none is named and
/// `use` selected several): for commands that take one node. True if so.
bool refuse_many(self_ptr self, const std::optional<std::string>& arg,
                 const char* what);

void cmd_nodes(self_ptr self, const command& cmd);

void cmd_use(self_ptr self, const command& cmd);

void cmd_cd(self_ptr self, const command& cmd);

void cmd_pwd(self_ptr self);

void cmd_kick(self_ptr self, const command& cmd);

void cmd_wait_nodes(self_ptr self, const command& cmd);

void cmd_help(self_ptr self, const command& cmd);

void cmd_echo(self_ptr self, const command& cmd);

void run_line(self_ptr self, const std::string& line);

} // namespace dirscope::console_impl
