// Globs in paths for ls, stat, get and rm (ls web1:/var/log/*.log): the node
// walks beneath its root (a find from the glob's base, as deep as the
// pattern, never following symlinks); the server keeps what matches the
// whole pattern, then shows, describes, downloads or deletes those entries.

#include "actors/server/console_commands.hpp"

#include <algorithm>
#include <memory>

#include <caf/event_based_actor.hpp>

#include "actors/error.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/glob.hpp"
#include "shell/render.hpp"
#include "shell/selector.hpp"

namespace dirscope::console_impl {

namespace {

/// Matches kept at most: a glob is for a handful of names, not a walk.
constexpr size_t max_glob_matches = 10000;

/// The entries a glob matched on one node, in name order.
struct glob_result {
  target base; ///< the node and the walk's start
  std::string pattern;
  /// Each entry's `name` is its path relative to base.path.
  std::vector<protocol::entry> items;
};

using glob_then = std::function<void(glob_result&)>;

std::string full_path(const glob_result& g, const protocol::entry& x) {
  return protocol::join_path(g.base.path, x.name);
}

std::string shown_path(const glob_result& g, const protocol::entry& x) {
  return g.base.info.name + ":" + protocol::escape_name(full_path(g, x));
}

/// Expands the glob in `arg` on its node; fails with not_found when
/// nothing matches.
void expand_glob(self_ptr self, const std::string& arg, bool hashes,
                 glob_then then) {
  if (auto spec = parse_target(arg); spec && shell::names_many(spec->node))
    return fail(self, failure{wire_code::bad_request,
                              "a glob takes one node: " + arg});
  with_target(self, arg, [self, hashes, then](target& t) {
    auto split = shell::split_glob(t.path);
    protocol::find_request spec;
    spec.max_depth = static_cast<uint32_t>(split.depth);
    spec.name_glob = split.last;
    if (hashes)
      spec.flags = protocol::find_flags::with_hashes;
    auto g = std::make_shared<glob_result>();
    g->pattern = split.pattern;
    g->base = t;
    g->base.path = split.base;
    spec.path = split.base;
    auto too_many = std::make_shared<bool>(false);
    start_find(
      self, t.conn, std::move(spec),
      [g, too_many](std::vector<protocol::find_match>& xs) {
        for (auto& x : xs) {
          if (!shell::glob_matches(g->pattern, x.item.name))
            continue;
          if (g->items.size() >= max_glob_matches) {
            *too_many = true;
            return;
          }
          g->items.push_back(std::move(x.item));
        }
      },
      [self, g, too_many, then](uint64_t, uint64_t) {
        auto shown_glob = g->base.info.name + ":"
                          + protocol::escape_name(protocol::join_path(
                            g->base.path, g->pattern));
        if (*too_many)
          return fail(self, failure{wire_code::bad_request,
                                    shown_glob + " matches more than "
                                      + std::to_string(max_glob_matches)
                                      + " entries: use find"});
        if (g->items.empty())
          return fail(self, failure{wire_code::not_found,
                                    "no match for " + shown_glob});
        std::sort(g->items.begin(), g->items.end(),
                  [](const protocol::entry& a, const protocol::entry& b) {
                    return a.name < b.name;
                  });
        then(*g);
      },
      [self](const caf::error& err) { fail(self, err); });
  });
}

/// The entry with its own name (last component) for JSON rows.
protocol::entry with_last_name(const protocol::entry& x) {
  auto item = x;
  auto slash = item.name.rfind('/');
  if (slash != std::string::npos)
    item.name = item.name.substr(slash + 1);
  return item;
}

} // namespace

bool glob_in(const std::optional<std::string>& arg) {
  if (!arg)
    return false;
  auto spec = parse_target(arg);
  return spec && shell::has_glob(spec->path);
}

void ls_glob(self_ptr self, const std::string& arg, bool json, bool hashes,
             const shell::listing_style& style) {
  expand_glob(self, arg, hashes, [self, json, style](glob_result& g) {
    std::string text;
    if (!json)
      text += shell::render_listing_header(style);
    for (auto& x : g.items) {
      if (json)
        text += shell::render_entry_json(
          g.base.info.name, protocol::parent_path(full_path(g, x)),
          with_last_name(x));
      else
        text += shell::render_entry_line(x, style);
    }
    if (!json)
      text += std::to_string(g.items.size())
              + (g.items.size() == 1 ? " match\n" : " matches\n");
    self->state.out(text);
    finish(self);
  });
}

void stat_glob(self_ptr self, const std::string& arg, bool json) {
  expand_glob(self, arg, true, [self, json](glob_result& g) {
    std::string text;
    for (auto& x : g.items) {
      auto path = full_path(g, x);
      if (json)
        text += shell::render_entry_json(g.base.info.name, path,
                                         with_last_name(x));
      else
        text += (text.empty() ? "" : "\n")
                + shell::render_stat(g.base.info.name, path, x);
    }
    self->state.out(text);
    finish(self);
  });
}

namespace {

/// Deletes the matches one after another from `next` on.
void remove_next(self_ptr self, std::shared_ptr<glob_result> g, size_t next,
                 bool recursive) {
  if (next == g->items.size())
    return finish(self);
  if (stop_if_cancelled(self))
    return;
  auto& x = g->items[next];
  auto conn = g->base.conn;
  self->request(conn, caf::infinite, atom::remove_v,
                cancellable_origin(self, conn), full_path(*g, x), recursive)
    .then(
      [self, g, next, recursive](uint64_t n) {
        self->state.out(shell::render_removed(shown_path(*g, g->items[next]),
                                              n));
        remove_next(self, g, next + 1, recursive);
      },
      [self](caf::error& err) { fail(self, err); });
}

} // namespace

namespace {

/// Downloads the matches one after another from `next` on.
void get_next(self_ptr self, std::shared_ptr<glob_result> g, size_t next,
              std::string local, bool force) {
  if (next == g->items.size())
    return finish(self);
  if (stop_if_cancelled(self))
    return;
  auto& x = g->items[next];
  target t = g->base;
  t.path = full_path(*g, x);
  download_job job;
  job.conn = t.conn;
  job.node = t.info.name;
  job.path = t.path;
  job.local = local;
  job.download_dir = self->state.options.download_dir;
  job.force = force;
  job.tree = x.type == protocol::entry_type::dir;
  job.progress = start_progress(self);
  if (x.type == protocol::entry_type::file)
    job.progress->total = x.size;
  run_download(self, t, std::move(job), [self, g, next, local, force] {
    get_next(self, g, next + 1, local, force);
  });
}

} // namespace

void get_glob(self_ptr self, const std::string& arg, std::string local,
              bool force) {
  // Several files land in a directory: LOCAL is one (made if missing).
  if (!local.empty() && local.back() != '/')
    local += '/';
  expand_glob(self, arg, false, [self, local, force](glob_result& found) {
    auto g = std::make_shared<glob_result>(std::move(found));
    auto count = g->items.size();
    self->state.out(std::to_string(count)
                    + (count == 1 ? " entry matches\n" : " entries match\n"));
    get_next(self, g, 0, local, force);
  });
}

void rm_glob(self_ptr self, const std::string& arg, bool recursive,
             bool yes) {
  expand_glob(self, arg, false, [self, recursive, yes](glob_result& found) {
    auto g = std::make_shared<glob_result>(std::move(found));
    if ((g->base.info.capabilities & protocol::capability::remove) == 0)
      return fail(self, failure{wire_code::not_permitted,
                                "not permitted by node policy"});
    // Say what will go before anything is deleted.
    std::string text;
    for (auto& x : g->items) {
      if (x.type == protocol::entry_type::dir && !recursive)
        return fail(self, failure{wire_code::bad_request,
                                  shown_path(*g, x)
                                    + " is a directory: deleting it needs "
                                      "-r"});
      text += "  " + shown_path(*g, x)
              + (x.type == protocol::entry_type::dir ? "/" : "") + "\n";
    }
    auto count = g->items.size();
    self->state.out(std::to_string(count)
                    + (count == 1 ? " entry matches:\n" : " entries match:\n")
                    + text);
    if (yes)
      return remove_next(self, g, 0, recursive);
    confirm(self,
            "delete " + std::to_string(count)
              + (count == 1 ? " entry on " : " entries on ")
              + g->base.info.name + "? [y/N] ",
            [self, g, recursive](bool ok) {
              if (ok)
                return remove_next(self, g, 0, recursive);
              self->state.out("not deleted\n");
              finish(self);
            });
  });
}

} // namespace dirscope::console_impl
