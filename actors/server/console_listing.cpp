// Console commands that read: ls, stat, tree.

#include "actors/server/console_commands.hpp"

#include <cctype>
#include <chrono>

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
  self->request(t.conn, caf::infinite, atom::stat_v,
                cancellable_query(self, t.conn), t.path)
    .then(
      [self, t, json, listing](protocol::entry& x) {
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

void cmd_ls(self_ptr self, const command& cmd) {
  auto json = cmd.has_flag("json");
  auto arg = cmd.args.empty() ? std::nullopt
                              : std::optional<std::string>{cmd.args[0]};
  with_target(self, arg, [self, json](target& t) {
    auto header_done = std::make_shared<bool>(false);
    auto print_header = [self, json, header_done] {
      if (!json && !*header_done) {
        self->state.out(shell::render_listing_header());
        *header_done = true;
      }
    };
    start_listing(
      self, t.conn, t.path, protocol::list_flags::with_hashes,
      [self, json, t, print_header](std::vector<protocol::entry>& xs) {
        print_header();
        for (auto& x : xs)
          print_entry(self, json, t.info.name, t.path, x);
      },
      [self, json, print_header](uint64_t total, bool sorted) {
        if (!json) {
          print_header();
          self->state.out(shell::render_listing_footer(total, sorted));
        }
        finish(self);
      },
      [self, t, json](const caf::error& err) {
        // `ls FILE` shows the file, as ls(1) does.
        if (to_failure(err).code == wire_code::not_a_directory)
          return cmd_stat_print(self, t, json, true);
        fail(self, err);
      });
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
  with_target(self, arg, [self, depth, json](target& t) {
    auto& walk = self->state.tree;
    walk = console_state::tree_walk{t.info.name, t.conn, json, depth, {}, 0,
                                    0};
    if (!json)
      self->state.out(shown(t) + "\n");
    // One streamed walk on the node instead of one listing per directory.
    if ((t.info.capabilities & protocol::capability::find) != 0 && depth > 0)
      return tree_by_walk(self, t, depth, json);
    if (depth == 0)
      return tree_step(self);
    tree_descend(self, t.path);
  });
}


void cmd_stat(self_ptr self, const command& cmd) {
  auto json = cmd.has_flag("json");
  with_target(self, cmd.args[0],
              [self, json](target& t) { cmd_stat_print(self, t, json); });
}

} // namespace dirscope::console_impl
