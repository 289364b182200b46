// Console machinery: one command at a time, naming nodes and paths, listings.

#include "actors/server/console_commands.hpp"

#include <atomic>
#include <cctype>
#include <chrono>

#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/transfer.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/render.hpp"

namespace dirscope {

uint64_t next_query_id() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

} // namespace dirscope

namespace dirscope::console_impl {

// -- running commands one at a time -------------------------------------------



void prompt(self_ptr self) {
  auto& st = self->state;
  if (!st.show_prompt || st.quitting)
    return;
  std::string where;
  if (!st.selection.empty())
    where = " " + protocol::escape_name(st.selection) + ":"
            + protocol::escape_name(st.selection_cwd);
  else if (!st.current_node.empty())
    where = " " + st.current_node + ":"
            + protocol::escape_name(st.cwd[st.current_node]);
  st.show_prompt("dirscope" + where + "> ");
}

void quit_now(self_ptr self) {
  auto& st = self->state;
  if (st.quitting)
    return;
  st.quitting = true;
  st.pending.clear();
  if (!st.options.server_console) {
    self->quit(); // an API session ends; the server goes on
    return;
  }
  self->request(st.supervisor, caf::infinite, atom::shutdown_v)
    .then([self](uint64_t n) { self->quit(); },
          [self](caf::error& err) {
            spdlog::error("shutdown failed: {}", to_failure(err).message);
            self->quit();
          });
}

/// Called when the running command is complete: starts the next one.
void finish(self_ptr self) {
  auto& st = self->state;
  stop_watching_hashes(self);
  st.busy = false;
  st.running.clear();
  st.cancel_requested = false;
  // Commands that complete synchronously call finish() again: let the
  // outermost call drain the queue instead of recursing once per line.
  if (st.draining)
    return;
  st.draining = true;
  while (!st.busy && !st.quitting && !st.pending.empty()) {
    auto line = std::move(st.pending.front());
    st.pending.pop_front();
    run_line(self, line);
  }
  st.draining = false;
  if (!st.busy && !st.quitting) {
    if (st.input_done)
      quit_now(self);
    else
      prompt(self);
  }
}

void fail(self_ptr self, const failure& why) {
  auto& st = self->state;
  hide_hash_line(self);
  auto& err = st.options.err ? st.options.err : st.out;
  if (why.code == wire_code::cancelled && st.cancel_requested)
    err("cancelled\n"); // the operator pressed Ctrl-C
  else
    err(shell::render_failure(why));
  if (st.options.failed && !(st.quitting && why.code == wire_code::shutdown))
    st.options.failed(why);
  finish(self);
}

void fail(self_ptr self, const caf::error& err) {
  fail(self, to_failure(err));
}

bool stop_if_cancelled(self_ptr self) {
  if (!self->state.cancel_requested)
    return false;
  fail(self, cancelled_failure());
  return true;
}

// -- naming nodes and paths ---------------------------------------------------

outcome<target_spec> parse_target(const std::optional<std::string>& arg) {
  target_spec result;
  if (!arg)
    return result;
  auto colon = arg->find(':');
  auto slash = arg->find('/');
  std::string path = *arg;
  if (colon != std::string::npos && colon > 0
      && (slash == std::string::npos || colon < slash)) {
    result.node = arg->substr(0, colon);
    path = arg->substr(colon + 1);
  }
  auto raw = protocol::unescape_name(path);
  if (!raw)
    return make_failure(wire_code::bad_request,
                        "bad escape in '" + path
                          + "' (use \\\\ for a backslash, \\xNN for a byte)");
  result.path = std::move(*raw);
  return result;
}

/// Resolves `arg` (or the current directory) and calls `then`; prints the
/// failure and finishes the command otherwise.
void with_target(self_ptr self, const std::optional<std::string>& arg,
                 std::function<void(target&)> then) {
  auto& st = self->state;
  if (refuse_many(self, arg, "this command"))
    return;
  auto spec = parse_target(arg);
  if (!spec)
    return fail(self, spec.error());
  auto node = spec->node.empty() ? st.current_node : spec->node;
  if (node.empty())
    return fail(self, failure{wire_code::bad_request,
                       "no node selected: 'use NODE' first or write "
                       "NODE:PATH (see 'nodes')"});
  auto path = std::move(spec->path);
  self->request(st.supervisor, caf::infinite, atom::resolve_v, node)
    .then(
      [self, path, then](node_info& info, node_connection_actor& conn) {
        if (stop_if_cancelled(self))
          return;
        auto& cwd = self->state.cwd[info.name];
        if (cwd.empty())
          cwd = "/";
        auto resolved = protocol::resolve_path(cwd, path);
        if (!resolved)
          return fail(self, resolved.error());
        target t{std::move(info), std::move(conn), std::move(*resolved)};
        then(t);
      },
      [self](caf::error& err) { fail(self, err); });
}

std::string shown(const target& t) {
  return t.info.name + ":" + protocol::escape_name(t.path);
}

// -- listing ------------------------------------------------------------------

/// Starts a listing of `path` on `conn`; entries go to `on_entries`, then
/// `on_end(total, sorted)` or `on_error`. Returns the query id.
uint64_t start_listing(self_ptr self, const node_connection_actor& conn,
                   const std::string& path, uint8_t flags,
                   std::function<void(std::vector<protocol::entry>&)> on_entries,
                   std::function<void(uint64_t, bool)> on_end,
                   std::function<void(const caf::error&)> on_error) {
  auto& st = self->state;
  auto query = cancellable_query(self, conn);
  st.sinks.emplace(query, console_state::listing_sink{conn, on_entries});
  auto sink = caf::actor_cast<listing_sink_actor>(self);
  self->request(conn, caf::infinite, atom::list_v,
                request_origin{query, st.options.operator_name}, path,
                flags, sink)
    .then(
      [self, query, on_end](uint64_t total, bool sorted) {
        self->state.sinks.erase(query);
        on_end(total, sorted);
      },
      [self, query, on_error](caf::error& err) {
        self->state.sinks.erase(query);
        on_error(err);
      });
  return query;
}

void print_entry(self_ptr self, bool json, const std::string& node,
                 const std::string& dir, const protocol::entry& x) {
  self->state.out(json ? shell::render_entry_json(node, dir, x)
                       : shell::render_entry_line(x));
}

} // namespace dirscope::console_impl
