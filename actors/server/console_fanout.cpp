// Fleet commands: a read-only command on every node a selector names
// (`ls all:/`, `find web*:/etc --name passwd`), a bounded number of nodes
// at a time, rows streamed as each node sends them.

#include "actors/server/console_commands.hpp"

#include <deque>
#include <memory>

#include <caf/event_based_actor.hpp>

#include "actors/error.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/render.hpp"
#include "shell/selector.hpp"

namespace dirscope::console_impl {

namespace {

/// Names asked of the supervisor per page: no message carries the fleet.
constexpr uint32_t fleet_page_rows = 500;

/// One fleet command in progress.
struct fleet_run {
  node_query query;
  std::string selector; ///< as typed, for messages
  std::string path;
  bool json = false;
  fleet_op op;
  std::function<std::string()> extra;
  std::function<void()> then;
  /// Names paged in, not yet started.
  std::deque<std::string> queue;
  bool more = true;
  bool fetching = false;
  bool over = false;
  size_t in_flight = 0;
  size_t parallel = 64;
  uint64_t selected = 0;
  uint64_t answered = 0;
  uint64_t failed = 0;
  uint64_t timed_out = 0;
  /// The page query itself failed (the supervisor is gone).
  std::optional<failure> broken;
};

using run_ptr = std::shared_ptr<fleet_run>;

std::string count_of(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

console_output err_out(self_ptr self) {
  auto& st = self->state;
  return st.options.err ? st.options.err : st.out;
}

/// Writes text of node `name`: every line starts with "name: " (text
/// output); JSON objects carry the node already.
console_output node_out(self_ptr self, const std::string& name, bool json) {
  if (json)
    return [self](const std::string& text) { self->state.out(text); };
  auto prefix = protocol::escape_name(name) + ": ";
  return [self, prefix](const std::string& text) {
    std::string result;
    result.reserve(text.size() + prefix.size() * 4);
    size_t start = 0;
    while (start < text.size()) {
      auto nl = text.find('\n', start);
      auto end = nl == std::string::npos ? text.size() : nl + 1;
      result += prefix;
      result.append(text, start, end - start);
      start = end;
    }
    if (!result.empty() && result.back() != '\n')
      result += '\n';
    self->state.out(result);
  };
}

void pump(self_ptr self, const run_ptr& run);

void end(self_ptr self, const run_ptr& run) {
  run->over = true;
  auto& st = self->state;
  if (run->broken)
    return fail(self, *run->broken);
  if (run->selected == 0 && !st.cancel_requested)
    return fail(self, failure{wire_code::not_found,
                              "no node matches '"
                                + protocol::escape_name(run->selector)
                                + "' (see 'nodes')"});
  auto summary = count_of(run->answered, "node answered", "nodes answered")
                 + ", " + std::to_string(run->failed) + " failed, "
                 + std::to_string(run->timed_out) + " timed out";
  auto skipped = run->selected - run->answered - run->failed - run->timed_out;
  if (skipped > 0)
    summary += ", " + std::to_string(skipped) + " cancelled";
  if (run->extra)
    summary += run->extra();
  // --json keeps stdout to objects: the summary goes with the errors.
  (run->json ? err_out(self) : st.out)(summary + "\n");
  if (st.cancel_requested)
    return fail(self, cancelled_failure());
  if (run->failed + run->timed_out > 0 && st.options.failed)
    st.options.failed(failure{wire_code::io_error,
                              "some nodes failed or timed out"});
  if (run->then)
    return run->then();
  finish(self);
}

void node_done(self_ptr self, const run_ptr& run, const std::string& name,
               const caf::error* err) {
  --run->in_flight;
  auto& st = self->state;
  if (err == nullptr) {
    ++run->answered;
  } else {
    auto why = to_failure(*err);
    if (why.code == wire_code::cancelled && st.cancel_requested) {
      // Counted as cancelled in the summary; one "cancelled" says it.
    } else {
      if (why.code == wire_code::timeout)
        ++run->timed_out;
      else
        ++run->failed;
      err_out(self)(protocol::escape_name(name) + ": "
                    + shell::render_failure(why));
    }
  }
  pump(self, run);
}

void launch(self_ptr self, const run_ptr& run, const std::string& name) {
  ++run->in_flight;
  self->request(self->state.supervisor, caf::infinite, atom::resolve_v, name)
    .then(
      [self, run, name](node_info& info, node_connection_actor& conn) {
        if (self->state.cancel_requested) {
          auto err = make_error(wire_code::cancelled, "cancelled");
          return node_done(self, run, name, &err);
        }
        target t{std::move(info), std::move(conn), run->path};
        auto once = std::make_shared<bool>(false);
        run->op(
          t, node_out(self, t.info.name, run->json),
          [self, run, name, once] {
            if (std::exchange(*once, true))
              return;
            node_done(self, run, name, nullptr);
          },
          [self, run, name, once](const caf::error& err) {
            if (std::exchange(*once, true))
              return;
            node_done(self, run, name, &err);
          });
      },
      [self, run, name](caf::error& err) {
        // The node left between the page and now.
        node_done(self, run, name, &err);
      });
}

void fetch(self_ptr self, const run_ptr& run) {
  run->fetching = true;
  self->request(self->state.supervisor, caf::infinite, atom::nodes_v,
                run->query)
    .then(
      [self, run](node_page& page) {
        run->fetching = false;
        run->more = page.more;
        if (!page.rows.empty())
          run->query.after = page.rows.back().name;
        for (auto& row : page.rows)
          run->queue.push_back(std::move(row.name));
        run->selected += page.rows.size();
        pump(self, run);
      },
      [self, run](caf::error& err) {
        run->fetching = false;
        run->more = false;
        run->broken = to_failure(err);
        pump(self, run);
      });
}

void pump(self_ptr self, const run_ptr& run) {
  if (run->over)
    return;
  auto& st = self->state;
  if (st.cancel_requested) {
    // Nodes not started yet are not asked at all.
    run->queue.clear();
    run->more = false;
  }
  while (run->in_flight < run->parallel && !run->queue.empty()) {
    auto name = std::move(run->queue.front());
    run->queue.pop_front();
    launch(self, run, name);
  }
  if (!run->fetching && run->more && run->queue.size() < run->parallel)
    fetch(self, run);
  if (!run->fetching && !run->more && run->queue.empty()
      && run->in_flight == 0)
    end(self, run);
}

} // namespace

outcome<std::optional<fleet_plan>>
fleet_plan_of(self_ptr self, const std::optional<std::string>& arg) {
  auto& st = self->state;
  auto spec = parse_target(arg);
  if (!spec)
    return spec.error();
  fleet_plan result;
  std::string cwd = "/";
  if (spec->node.empty()) {
    if (st.selection.empty())
      return std::optional<fleet_plan>{};
    result.selector = st.selection;
    cwd = st.selection_cwd;
  } else {
    result.selector = spec->node;
  }
  auto sel = shell::parse_selector(result.selector);
  if (!sel)
    return sel.error();
  if (!sel->many)
    return std::optional<fleet_plan>{};
  result.patterns = std::move(sel->patterns);
  auto path = protocol::resolve_path(cwd, spec->path);
  if (!path)
    return path.error();
  result.path = std::move(*path);
  return std::optional<fleet_plan>{std::move(result)};
}

void run_fleet(self_ptr self, fleet_plan plan) {
  auto run = std::make_shared<fleet_run>();
  run->selector = std::move(plan.selector);
  run->query.patterns = std::move(plan.patterns);
  run->query.limit = fleet_page_rows;
  if (!plan.names.empty()) {
    run->queue.assign(plan.names.begin(), plan.names.end());
    run->selected = plan.names.size();
    run->more = false;
  }
  run->path = std::move(plan.path);
  run->json = plan.json;
  run->op = std::move(plan.op);
  run->extra = std::move(plan.extra);
  run->then = std::move(plan.then);
  run->parallel = std::max<size_t>(self->state.options.fleet_parallel, 1);
  pump(self, run);
}

bool fleet_dispatch(self_ptr self, const std::optional<std::string>& arg,
                    bool json, fleet_op op,
                    std::function<std::string()> extra) {
  auto plan = fleet_plan_of(self, arg);
  if (!plan) {
    fail(self, plan.error());
    return true;
  }
  if (!*plan)
    return false;
  (*plan)->json = json;
  (*plan)->op = std::move(op);
  (*plan)->extra = std::move(extra);
  run_fleet(self, std::move(**plan));
  return true;
}

bool refuse_many(self_ptr self, const std::optional<std::string>& arg,
                 const char* what) {
  auto spec = fleet_plan_of(self, arg);
  if (!spec) {
    fail(self, spec.error());
    return true;
  }
  if (!*spec)
    return false;
  fail(self, failure{wire_code::bad_request,
                     std::string{what} + " takes one node; '"
                       + protocol::escape_name((*spec)->selector)
                       + "' names several (write NODE:PATH)"});
  return true;
}

// -- the per-node parts -------------------------------------------------------

fleet_op fleet_stat(self_ptr self, bool json) {
  return [self, json](const target& t, console_output out,
                      std::function<void()> ok,
                      std::function<void(const caf::error&)> bad) {
    self
      ->request(t.conn, caf::infinite, atom::stat_v,
                cancellable_origin(self, t.conn), t.path,
                caf::actor_cast<listing_sink_actor>(self))
      .then(
        [t, json, out, ok](protocol::entry& x) {
          out(json ? shell::render_entry_json(t.info.name, t.path, x)
                   : shell::render_stat(t.info.name, t.path, x));
          ok();
        },
        [bad](caf::error& err) { bad(err); });
  };
}

fleet_op fleet_du(self_ptr self) {
  return [self](const target& t, console_output out, std::function<void()> ok,
                std::function<void(const caf::error&)> bad) {
    self
      ->request(t.conn, caf::infinite, atom::du_v,
                cancellable_origin(self, t.conn), t.path)
      .then(
        [t, out, ok](protocol::du_reply& x) {
          out(shell::render_du(protocol::escape_name(t.path), x));
          ok();
        },
        [bad](caf::error& err) { bad(err); });
  };
}

fleet_op fleet_find(self_ptr self, const protocol::find_request& spec,
                    bool json, std::shared_ptr<uint64_t> matches) {
  return [self, spec, json, matches](
           const target& t, console_output out, std::function<void()> ok,
           std::function<void(const caf::error&)> bad) {
    // A node without find is refused by its connection, as on one node.
    run_find(
      self, t, spec, json,
      [matches, ok](uint64_t matched, uint64_t) {
        *matches += matched;
        ok();
      },
      std::move(bad), std::move(out), false);
  };
}

fleet_op fleet_tree(self_ptr self, size_t depth, bool json) {
  return [self, depth, json](const target& t, console_output out,
                             std::function<void()> ok,
                             std::function<void(const caf::error&)> bad) {
    if ((t.info.capabilities & protocol::capability::find) == 0 || depth == 0)
      return bad(make_error(wire_code::bad_request,
                            depth == 0 ? "tree --depth 0 takes one node"
                                       : "the node is too old for a tree "
                                         "on several nodes"));
    if (!json)
      out(protocol::escape_name(t.path) + "\n");
    tree_by_walk(self, t, depth, json, std::move(out), std::move(ok),
                 std::move(bad));
  };
}

// -- rm on several nodes -----------------------------------------------------

void fleet_rm(self_ptr self, fleet_plan plan, bool recursive, bool yes) {
  if (plan.path == "/")
    return fail(self, failure{wire_code::bad_request,
                              "refusing to delete the root of any node"});
  // Pass 1: what each node holds there (as rm on one node says it); the
  // nodes where it can go are asked once, naming how many they are.
  auto found = std::make_shared<std::vector<std::string>>();
  auto shown_path = protocol::escape_name(plan.path);
  plan.op = [self, recursive, found](const target& t, console_output out,
                                     std::function<void()> ok,
                                     std::function<void(const caf::error&)>
                                       bad) {
    if ((t.info.capabilities & protocol::capability::remove) == 0)
      return bad(make_error(wire_code::not_permitted,
                            "not permitted by node policy"));
    auto shown = protocol::escape_name(t.path);
    self
      ->request(t.conn, caf::infinite, atom::du_v,
                cancellable_origin(self, t.conn), t.path)
      .then(
        [t, recursive, found, out, ok, bad, shown](protocol::du_reply& x) {
          out(shell::render_remove_target(shown, x, recursive));
          if (x.type == protocol::entry_type::dir && !recursive)
            return bad(make_error(wire_code::bad_request,
                                  shown + " is a directory: deleting it "
                                          "needs -r"));
          found->push_back(t.info.name);
          ok();
        },
        [bad, shown](caf::error& err) {
          auto why = to_failure(err);
          if (why.code == wire_code::not_found)
            return bad(make_error(why.code, shown + " does not exist: "
                                                    "nothing to delete"));
          bad(err);
        });
  };
  auto selector = plan.selector;
  auto path = plan.path;
  plan.then = [self, found, recursive, yes, shown_path, selector, path] {
    if (found->empty()) {
      self->state.out("nothing to delete\n");
      return finish(self);
    }
    auto run = [self, found, recursive, selector, path] {
      if (stop_if_cancelled(self))
        return;
      fleet_plan second;
      second.selector = selector;
      second.names = *found;
      second.path = path;
      second.op = [self, recursive](const target& t, console_output out,
                                    std::function<void()> ok,
                                    std::function<void(const caf::error&)>
                                      bad) {
        self
          ->request(t.conn, caf::infinite, atom::remove_v,
                    cancellable_origin(self, t.conn), t.path, recursive)
          .then(
            [t, out, ok](uint64_t n) {
              out(shell::render_removed(protocol::escape_name(t.path), n));
              ok();
            },
            [bad](caf::error& err) { bad(err); });
      };
      run_fleet(self, std::move(second));
    };
    if (yes)
      return run();
    auto n = found->size();
    confirm(self,
            "delete " + shown_path + " on " + std::to_string(n) + " node"
              + (n == 1 ? "" : "s") + " (" + protocol::escape_name(selector)
              + ")? [y/N] ",
            [self, run](bool ok) {
              if (ok)
                return run();
              self->state.out("not deleted\n");
              finish(self);
            });
  };
  run_fleet(self, std::move(plan));
}

} // namespace dirscope::console_impl
