// Console commands on the node's own walk: find, and tree for nodes that
// walk themselves (capability::find).

#include "actors/server/console_commands.hpp"

#include <memory>

#include <caf/event_based_actor.hpp>

#include "actors/error.hpp"
#include "actors/wire_io.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/find_options.hpp"
#include "shell/render.hpp"

namespace dirscope::console_impl {

uint64_t
start_find(self_ptr self, const node_connection_actor& conn,
           protocol::find_request spec,
           std::function<void(std::vector<protocol::find_match>&)> on_matches,
           std::function<void(uint64_t, uint64_t)> on_end,
           std::function<void(const caf::error&)> on_error) {
  auto& st = self->state;
  auto query = cancellable_query(self, conn);
  st.find_sinks.emplace(query,
                        console_state::find_sink{conn, std::move(on_matches)});
  auto sink = caf::actor_cast<find_sink_actor>(self);
  self->request(conn, caf::infinite, atom::find_v,
                request_origin{query, st.options.operator_name},
                std::move(spec), sink)
    .then(
      [self, query, on_end](uint64_t matched, uint64_t visited) {
        self->state.find_sinks.erase(query);
        on_end(matched, visited);
      },
      [self, query, on_error](caf::error& err) {
        self->state.find_sinks.erase(query);
        on_error(err);
      });
  return query;
}

std::pair<std::string, std::string> split_match(const std::string& base,
                                                const std::string& rel) {
  if (rel == ".") {
    if (base == "/")
      return {"/", "/"};
    return {protocol::parent_path(base), base.substr(base.rfind('/') + 1)};
  }
  auto slash = rel.rfind('/');
  if (slash == std::string::npos)
    return {base, rel};
  return {protocol::join_path(base, rel.substr(0, slash)),
          rel.substr(slash + 1)};
}

namespace {

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

} // namespace

void run_find(self_ptr self, const target& t, protocol::find_request spec,
              bool json, std::function<void(uint64_t, uint64_t)> on_done,
              std::function<void(const caf::error&)> on_error,
              console_output out, bool header) {
  spec.path = t.path;
  auto header_done = std::make_shared<bool>(!header);
  auto node = t.info.name;
  auto base = t.path;
  start_find(
    self, t.conn, std::move(spec),
    [json, node, base, header_done,
     out](std::vector<protocol::find_match>& xs) {
      std::string text;
      if (!json && !*header_done) {
        text += shell::render_listing_header();
        *header_done = true;
      }
      for (auto& x : xs) {
        if (json) {
          auto [dir, name] = split_match(base, x.item.name);
          auto item = std::move(x.item);
          item.name = std::move(name);
          text += shell::render_entry_json(node, dir, item);
        } else {
          text += shell::render_entry_line(x.item);
        }
      }
      if (!text.empty())
        out(text);
    },
    std::move(on_done), std::move(on_error));
}

void cmd_find(self_ptr self, const command& cmd) {
  auto spec = shell::parse_find_options(cmd, wall_clock_ns());
  if (!spec)
    return fail(self, spec.error());
  auto json = cmd.has_flag("json");
  auto arg = cmd.args.empty() ? std::nullopt
                              : std::optional<std::string>{cmd.args[0]};
  auto matches = std::make_shared<uint64_t>(0);
  if (fleet_dispatch(self, arg, json, fleet_find(self, *spec, json, matches),
                     [matches] {
                       return "; " + plural(*matches, "match", "matches");
                     }))
    return;
  with_target(self, arg, [self, json, spec = std::move(*spec)](target& t) {
    run_find(
      self, t, spec, json,
      [self, json](uint64_t matched, uint64_t visited) {
        if (!json)
          self->state.out(plural(matched, "match", "matches") + " ("
                          + plural(visited, "entry", "entries")
                          + " looked at)\n");
        finish(self);
      },
      [self](const caf::error& err) { fail(self, err); }, self->state.out,
      true);
  });
}

void tree_by_walk(self_ptr self, const target& t, size_t depth, bool json,
                  console_output out, std::function<void()> on_done,
                  std::function<void(const caf::error&)> on_error) {
  struct walk_state {
    std::vector<bool> last;
    uint64_t dirs = 0;
    uint64_t files = 0;
  };
  auto walk = std::make_shared<walk_state>();
  protocol::find_request spec;
  spec.path = t.path;
  spec.max_depth = static_cast<uint32_t>(depth);
  auto node = t.info.name;
  auto base = t.path;
  start_find(
    self, t.conn, std::move(spec),
    [walk, json, node, base, out](std::vector<protocol::find_match>& xs) {
      std::string text;
      for (auto& x : xs) {
        auto& rel = x.item.name;
        if (rel == ".") {
          // The listing of the top failed: shown in place, as before.
          if (x.item.type == protocol::entry_type::dir && !x.item.error)
            continue;
          protocol::entry note;
          note.name = "(unreadable)";
          note.error = x.item.error
                         ? *x.item.error
                         : protocol::entry_error{wire_code::not_a_directory,
                                                 protocol::escape_name(base)
                                                   + ": Not a directory"};
          if (!json)
            text += shell::render_tree_line({true}, note);
          continue;
        }
        size_t level = 1;
        for (auto c : rel)
          if (c == '/')
            ++level;
        walk->last.resize(level - 1);
        walk->last.push_back(x.last);
        if (x.item.type == protocol::entry_type::dir)
          ++walk->dirs;
        else
          ++walk->files;
        auto [dir, name] = split_match(base, rel);
        x.item.name = std::move(name);
        text += json ? shell::render_entry_json(node, dir, x.item)
                     : shell::render_tree_line(walk->last, x.item);
      }
      if (!text.empty())
        out(text);
    },
    [walk, json, out, on_done](uint64_t, uint64_t) {
      if (!json)
        out(shell::render_tree_footer(walk->dirs, walk->files));
      on_done();
    },
    std::move(on_error));
}

} // namespace dirscope::console_impl
