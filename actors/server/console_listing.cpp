// Console commands that read: ls, stat, tree.

#include "actors/server/console_commands.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>

#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/transfer.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/render.hpp"

namespace dirscope::console_impl {

void cmd_stat_print(self_ptr self, const target& t, bool json,
                    bool listing) {
  if (stop_if_cancelled(self))
    return;
  auto query = cancellable_query(self, t.conn);
  if (!json)
    watch_hashes(self, query);
  self->request(t.conn, caf::infinite, atom::stat_v,
                request_origin{query, self->state.options.operator_name},
                t.path,
                caf::actor_cast<listing_sink_actor>(self))
    .then(
      [self, t, json, listing](protocol::entry& x) {
        hide_hash_line(self);
        if (json)
          self->state.out(shell::render_entry_json(
            t.info.name, listing ? protocol::parent_path(t.path) : t.path,
            x));
        else
          self->state.out(shell::render_stat(t.info.name, t.path, x));
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

namespace {

/// How `ls` was asked to order its rows.
enum class ls_order { node, name, size, mtime };

/// What `ls` options ask for.
struct ls_request {
  bool json = false;
  bool hashes = true;
  ls_order order = ls_order::node;
  bool reverse = false;
  shell::listing_style style;
  std::optional<std::string> path;
};

/// Most rows `ls --sort`/`-r` holds to sort; a larger directory lists in
/// the node's order (and says so).
constexpr size_t max_sorted_rows = 200'000;

outcome<ls_request> parse_ls(self_ptr self, const command& cmd) {
  ls_request result;
  result.json = cmd.has_flag("json");
  result.hashes = !cmd.has_flag("no-hash");
  result.reverse = cmd.has_flag("reverse");
  result.style.human = cmd.has_flag("human");
  if (!cmd.args.empty())
    result.path = cmd.args[0];
  if (auto key = cmd.option("sort")) {
    if (*key == "name")
      result.order = ls_order::name;
    else if (*key == "size")
      result.order = ls_order::size;
    else if (*key == "mtime" || *key == "time")
      result.order = ls_order::mtime;
    else
      return make_failure(wire_code::bad_request,
                          "--sort expects name, size or mtime, got '"
                            + protocol::escape_name(*key) + "'");
  }
  if (result.reverse && result.order == ls_order::node)
    result.order = ls_order::name;
  auto& opts = self->state.options;
  if (!result.json) {
    result.style.columns = opts.columns ? opts.columns() : 0;
    result.style.color = opts.color;
  }
  return result;
}

/// Sorts rows as ls does: names ascending (bytewise), sizes and times
/// largest / newest first, ties by name; `reverse` turns it around.
void sort_rows(std::vector<protocol::entry>& xs, ls_order order,
               bool reverse) {
  auto by_name = [](const protocol::entry& a, const protocol::entry& b) {
    return a.name < b.name;
  };
  std::function<bool(const protocol::entry&, const protocol::entry&)> less
    = by_name;
  if (order == ls_order::size)
    less = [by_name](const protocol::entry& a, const protocol::entry& b) {
      return a.size != b.size ? a.size > b.size : by_name(a, b);
    };
  else if (order == ls_order::mtime)
    less = [by_name](const protocol::entry& a, const protocol::entry& b) {
      return a.mtime_ns != b.mtime_ns ? a.mtime_ns > b.mtime_ns
                                      : by_name(a, b);
    };
  std::sort(xs.begin(), xs.end(), less);
  if (reverse)
    std::reverse(xs.begin(), xs.end());
}

/// Rows of one `ls` on their way to the screen.
struct ls_rows {
  ls_request req;
  std::string node;
  std::string dir;
  bool header_done = false;
  /// Rows held to sort (--sort, -r).
  std::vector<protocol::entry> held;
  /// Too many to sort: the rest streams in the node's order.
  bool overflow = false;
};

void print_rows(self_ptr self, ls_rows& rows,
                std::vector<protocol::entry>& xs) {
  auto& out = self->state.out;
  if (!rows.req.json && !rows.header_done) {
    out(shell::render_listing_header(rows.req.style));
    rows.header_done = true;
  }
  std::string text;
  for (auto& x : xs)
    text += rows.req.json
              ? shell::render_entry_json(rows.node, rows.dir, x)
              : shell::render_entry_line(x, rows.req.style);
  if (!text.empty())
    out(text);
}

} // namespace

fleet_op fleet_ls(self_ptr self, const command& cmd) {
  auto req = parse_ls(self, cmd);
  if (!req)
    return {};
  return [self, req = *req](const target& t, console_output out,
                            std::function<void()> ok,
                            std::function<void(const caf::error&)> bad) {
    auto rows = std::make_shared<ls_rows>();
    rows->req = req;
    rows->node = t.info.name;
    rows->dir = t.path;
    // Each row gets "NAME: " in front: the hash column gives way.
    auto& cols = rows->req.style.columns;
    auto prefix = protocol::escape_name(t.info.name).size() + 2;
    cols = cols > prefix ? cols - prefix : 0;
    auto print = [rows, out](std::vector<protocol::entry>& xs) {
      std::string text;
      for (auto& x : xs)
        text += rows->req.json
                  ? shell::render_entry_json(rows->node, rows->dir, x)
                  : shell::render_entry_line(x, rows->req.style);
      if (!text.empty())
        out(text);
    };
    uint8_t flags = 0;
    if (req.hashes)
      flags = protocol::list_flags::with_hashes
              | protocol::list_flags::late_rows;
    start_listing(
      self, t.conn, t.path, flags,
      [rows, print](std::vector<protocol::entry>& xs) {
        if (rows->req.order == ls_order::node)
          return print(xs);
        rows->held.insert(rows->held.end(),
                          std::make_move_iterator(xs.begin()),
                          std::make_move_iterator(xs.end()));
      },
      [rows, print, ok](uint64_t, bool) {
        sort_rows(rows->held, rows->req.order, rows->req.reverse);
        print(rows->held);
        ok();
      },
      [self, t, rows, out, ok, bad](const caf::error& err) {
        if (to_failure(err).code != wire_code::not_a_directory)
          return bad(err);
        // `ls FILE` shows the file, as on one node.
        self
          ->request(t.conn, caf::infinite, atom::stat_v,
                    cancellable_origin(self, t.conn), t.path,
                    caf::actor_cast<listing_sink_actor>(self))
          .then(
            [rows, out, ok](protocol::entry& x) {
              out(rows->req.json
                    ? shell::render_entry_json(
                      rows->node, protocol::parent_path(rows->dir), x)
                    : shell::render_entry_line(x, rows->req.style));
              ok();
            },
            [bad](caf::error& err) { bad(err); });
      });
  };
}

void cmd_ls(self_ptr self, const command& cmd) {
  auto req = parse_ls(self, cmd);
  if (!req)
    return fail(self, req.error());
  auto path = req->path;
  if (glob_in(path))
    return ls_glob(self, *path, req->json, req->hashes, req->style);
  if (fleet_dispatch(self, path, req->json, fleet_ls(self, cmd)))
    return;
  with_target(self, path, [self, req = *req](target& t) {
    auto rows = std::make_shared<ls_rows>();
    rows->req = req;
    rows->node = t.info.name;
    rows->dir = t.path;
    uint8_t flags = 0;
    if (req.hashes)
      flags = protocol::list_flags::with_hashes
              | protocol::list_flags::late_rows;
    auto query = start_listing(
      self, t.conn, t.path, flags,
      [self, rows](std::vector<protocol::entry>& xs) {
        if (rows->req.order == ls_order::node || rows->overflow)
          return print_rows(self, *rows, xs);
        rows->held.insert(rows->held.end(),
                          std::make_move_iterator(xs.begin()),
                          std::make_move_iterator(xs.end()));
        if (rows->held.size() > max_sorted_rows) {
          rows->overflow = true;
          print_rows(self, *rows, rows->held);
          rows->held.clear();
        }
      },
      [self, rows](uint64_t total, bool sorted) {
        hide_hash_line(self);
        if (!rows->held.empty() || !rows->header_done) {
          sort_rows(rows->held, rows->req.order, rows->req.reverse);
          print_rows(self, *rows, rows->held);
        }
        if (rows->req.order != ls_order::node)
          sorted = !rows->overflow;
        if (!rows->req.json)
          self->state.out(shell::render_listing_footer(total, sorted));
        finish(self);
      },
      [self, t, json = req.json](const caf::error& err) {
        // `ls FILE` shows the file, as ls(1) does.
        if (to_failure(err).code == wire_code::not_a_directory)
          return cmd_stat_print(self, t, json, true);
        fail(self, err);
      });
    if (!req.json)
      watch_hashes(self, query);
  });
}

// -- tree ---------------------------------------------------------------------

void tree_step(self_ptr self);

void tree_descend(self_ptr self, const std::string& path) {
  auto& walk = self->state.tree;
  if (self->state.cancel_requested) {
    walk.stack.clear();
    return fail(self, cancelled_failure());
  }
  walk.stack.push_back(console_state::tree_frame{path, {}, 0});
  auto frame_index = walk.stack.size() - 1;
  start_listing(
    self, walk.conn, path, 0,
    [self, frame_index](std::vector<protocol::entry>& xs) {
      auto& frame = self->state.tree.stack[frame_index];
      frame.entries.insert(frame.entries.end(),
                           std::make_move_iterator(xs.begin()),
                           std::make_move_iterator(xs.end()));
    },
    [self](uint64_t, bool) { tree_step(self); },
    [self](const caf::error& err) {
      auto& walk = self->state.tree;
      auto why = to_failure(err);
      // Ctrl-C ends the walk; a lost node or connection cannot go on.
      if (why.code == wire_code::cancelled || why.code == wire_code::io_error
          || why.code == wire_code::timeout || why.code == wire_code::shutdown
          || self->state.cancel_requested) {
        walk.stack.clear();
        return fail(self, why);
      }
      // An unreadable directory is reported in place; the walk goes on.
      protocol::entry note;
      note.name = "(unreadable)";
      note.error = protocol::entry_error{why.code, why.message};
      walk.stack.back().entries.push_back(std::move(note));
      tree_step(self);
    });
}

void tree_step(self_ptr self) {
  auto& walk = self->state.tree;
  while (!walk.stack.empty()) {
    auto& frame = walk.stack.back();
    if (frame.next == frame.entries.size()) {
      walk.stack.pop_back();
      continue;
    }
    auto& x = frame.entries[frame.next++];
    auto dir = frame.path;
    if (walk.json) {
      self->state.out(shell::render_entry_json(walk.node, dir, x));
    } else {
      std::vector<bool> last;
      for (auto& f : walk.stack)
        last.push_back(f.next == f.entries.size());
      self->state.out(shell::render_tree_line(last, x));
    }
    if (x.type == protocol::entry_type::dir) {
      ++walk.dirs;
      if (walk.stack.size() < walk.max_depth && !x.error) {
        tree_descend(self, protocol::join_path(dir, x.name));
        return;
      }
    } else if (!x.error || x.name != "(unreadable)") {
      ++walk.files;
    }
  }
  if (!walk.json)
    self->state.out(shell::render_tree_footer(walk.dirs, walk.files));
  finish(self);
}

void cmd_tree(self_ptr self, const command& cmd) {
  size_t depth = 3;
  if (auto text = cmd.option("depth")) {
    auto n = shell::parse_count("--depth", *text);
    if (!n)
      return fail(self, n.error());
    depth = std::min<size_t>(*n, max_tree_depth);
  }
  auto json = cmd.has_flag("json");
  auto arg = cmd.args.empty() ? std::nullopt
                              : std::optional<std::string>{cmd.args[0]};
  if (fleet_dispatch(self, arg, json, fleet_tree(self, depth, json)))
    return;
  with_target(self, arg, [self, depth, json](target& t) {
    auto& walk = self->state.tree;
    walk = console_state::tree_walk{t.info.name, t.conn, json, depth, {}, 0,
                                    0};
    if (!json)
      self->state.out(shown(t) + "\n");
    // One streamed walk on the node instead of one listing per directory.
    if ((t.info.capabilities & protocol::capability::find) != 0 && depth > 0)
      return tree_by_walk(
        self, t, depth, json, self->state.out, [self] { finish(self); },
        [self](const caf::error& err) { fail(self, err); });
    if (depth == 0)
      return tree_step(self);
    tree_descend(self, t.path);
  });
}


void cmd_stat(self_ptr self, const command& cmd) {
  auto json = cmd.has_flag("json");
  if (glob_in(cmd.args[0]))
    return stat_glob(self, cmd.args[0], json);
  if (fleet_dispatch(self, cmd.args[0], json, fleet_stat(self, json)))
    return;
  with_target(self, cmd.args[0],
              [self, json](target& t) { cmd_stat_print(self, t, json); });
}

} // namespace dirscope::console_impl
