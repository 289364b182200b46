// Tab completion: command names from the table, node names from the
// supervisor, remote names from a listing without hashes (cached for a few
// seconds). Runs beside the command in progress: nothing here touches the
// running command's state or its Ctrl-C list.

#include "actors/server/console_commands.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include <caf/event_based_actor.hpp>

#include "protocol/paths.hpp"
#include "shell/completion.hpp"

namespace dirscope::console_impl {

namespace {

using std::chrono::steady_clock;

/// How long a node may take to answer before the key press gives up.
constexpr auto completion_timeout = std::chrono::seconds(2);

/// How long a directory's names serve further key presses.
constexpr auto completion_cache_for = std::chrono::seconds(5);

/// Candidates at most, so a huge directory cannot flood the terminal.
constexpr size_t max_candidates = 1000;

/// Node rows asked for at most.
constexpr uint32_t max_node_rows = 200;

using words = std::vector<std::string>;
using names = std::vector<std::pair<std::string, bool>>;

/// Collects the candidates of one key press from up to two sources.
struct completion_run {
  caf::typed_response_promise<words> rp;
  words found;
  int waiting = 0;

  void add(std::string word) {
    if (found.size() < max_candidates)
      found.push_back(std::move(word));
  }

  void done() {
    if (--waiting > 0)
      return;
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    rp.deliver(std::move(found));
  }
};

using run_ptr = std::shared_ptr<completion_run>;

bool starts_with(const std::string& x, const std::string& prefix) {
  return x.compare(0, prefix.size(), prefix) == 0;
}

void offer_names(const run_ptr& run, const shell::remote_prefix& spec,
                 const names& xs) {
  for (auto& [name, is_dir] : xs)
    if (starts_with(name, spec.name))
      run->add(spec.typed_dir + shell::escape_word(name)
               + (is_dir ? "/" : ""));
}

/// Lists `path` on `conn` without hashes into the cache, then `then`.
void list_names(self_ptr self, node_connection_actor conn, std::string node,
                std::string path, std::function<void(const names&)> then) {
  auto key = std::make_pair(std::move(node), std::move(path));
  auto& cache = self->state.completions;
  auto now = steady_clock::now();
  for (auto i = cache.begin(); i != cache.end();)
    i = now - i->second.taken > completion_cache_for ? cache.erase(i)
                                                     : std::next(i);
  if (auto i = cache.find(key); i != cache.end())
    return then(i->second.names);
  auto query = next_query_id();
  auto collected = std::make_shared<names>();
  auto& st = self->state;
  st.sinks.emplace(
    query,
    console_state::listing_sink{
      conn, [collected](std::vector<protocol::entry>& xs) {
        for (auto& x : xs)
          if (collected->size() < max_candidates)
            collected->emplace_back(std::move(x.name),
                                    x.type == protocol::entry_type::dir);
      }});
  auto sink = caf::actor_cast<listing_sink_actor>(self);
  self
    ->request(conn, completion_timeout, atom::list_v,
              request_origin{query, st.options.operator_name}, key.second,
              uint8_t{0}, sink)
    .then(
      [self, query, key, collected, then](uint64_t, bool) {
        self->state.sinks.erase(query);
        self->state.completions[key]
          = console_state::completion_dir{steady_clock::now(), *collected};
        then(*collected);
      },
      [self, query, conn, collected, then](caf::error&) {
        // Too slow or failed: what came so far, and the node stops.
        self->state.sinks.erase(query);
        self->send(conn, atom::cancel_v, query);
        then(*collected);
      });
}

void complete_nodes(self_ptr self, const run_ptr& run,
                    const std::string& prefix) {
  node_query q;
  q.patterns.push_back(prefix + "*");
  q.limit = max_node_rows;
  self->request(self->state.supervisor, completion_timeout, atom::nodes_v, q)
    .then(
      [run, prefix](node_page& page) {
        for (auto& x : page.rows)
          if (starts_with(x.name, prefix))
            run->add(x.name + ":");
        run->done();
      },
      [run](caf::error&) { run->done(); });
}

void complete_path(self_ptr self, const run_ptr& run,
                   shell::remote_prefix spec) {
  auto node = spec.node.empty() ? self->state.current_node : spec.node;
  self->request(self->state.supervisor, completion_timeout, atom::resolve_v,
                node)
    .then(
      [self, run, spec](node_info& info, node_connection_actor& conn) {
        auto cwd = self->state.cwd[info.name];
        auto dir = protocol::resolve_path(cwd.empty() ? "/" : cwd, spec.dir);
        if (!dir) {
          run->done();
          return;
        }
        list_names(self, conn, info.name, *dir,
                   [run, spec](const names& xs) {
                     offer_names(run, spec, xs);
                     run->done();
                   });
      },
      [run](caf::error&) { run->done(); });
}

} // namespace

void complete(self_ptr self, const std::string& line,
              caf::typed_response_promise<words> rp) {
  auto w = shell::word_at_end(line);
  if (w.quoted) {
    rp.deliver(words{});
    return;
  }
  if (w.index == 0) {
    rp.deliver(shell::complete_commands(w.typed));
    return;
  }
  auto spec = shell::split_remote(w.typed);
  if (!spec) {
    rp.deliver(words{});
    return;
  }
  auto run = std::make_shared<completion_run>();
  run->rp = std::move(rp);
  // A bare word may start a node name; anything with ':' or '/' is a path.
  bool nodes = spec->node.empty()
               && w.typed.find_first_of(":/") == std::string::npos;
  bool path = !spec->node.empty() || !self->state.current_node.empty();
  run->waiting = (nodes ? 1 : 0) + (path ? 1 : 0);
  if (run->waiting == 0) {
    run->rp.deliver(words{});
    return;
  }
  if (nodes)
    complete_nodes(self, run, w.typed);
  if (path)
    complete_path(self, run, std::move(*spec));
}

} // namespace dirscope::console_impl
