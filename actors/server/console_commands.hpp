#pragma once

// The console's commands, split by topic: console_support.cpp (running one
// command at a time, naming nodes and paths, listings), console_listing.cpp
// (ls, stat, tree), console_file_ops.cpp (du, rm, broadcast),
// console_transfer.cpp (get, put), console.cpp (node commands, dispatch,
// the behavior). Internal to the console actor.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>

#include "actors/server/console.hpp"
#include "actors/server/transfer.hpp"
#include "protocol/outcome.hpp"
#include "shell/command.hpp"
#include "shell/peek.hpp"

namespace dirscope::console_impl {

using self_ptr = console_pointer;
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

// -- find (console_find.cpp) --------------------------------------------------

/// `find [NODE:]PATH [filters]`.
void cmd_find(self_ptr self, const command& cmd);

/// Runs one find on one node (`t`) and prints its rows named by `t`'s
/// node; `on_done(matched, visited)` or `on_error` then. Takes the node as
/// a parameter so a fleet selector can run it on many.
void run_find(self_ptr self, const target& t, protocol::find_request spec,
              bool json, std::function<void(uint64_t, uint64_t)> on_done,
              std::function<void(const caf::error&)> on_error);

/// `tree` on the node's own walk (nodes with capability::find).
void tree_by_walk(self_ptr self, const target& t, size_t depth, bool json);

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

void run_download(self_ptr self, const target& t, download_job job);

void cmd_get(self_ptr self, const command& cmd);

outcome<std::string> put_path(const std::string& local,
                              const std::string& typed,
                              const std::string& resolved);

void start_upload(self_ptr self, const node_connection_actor& conn,
                  const std::string& local, const std::string& path,
                  bool tree, std::function<void(uint64_t)> ok,
                  std::function<void(const caf::error&)> bad);

void put_all(self_ptr self, const std::string& local, const std::string& arg,
             bool tree);

void cmd_put(self_ptr self, const command& cmd);

/// cat, head, tail: prints (part of) a remote file (console_peek.cpp).
void cmd_peek(self_ptr self, const command& cmd, shell::peek_kind kind);

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
