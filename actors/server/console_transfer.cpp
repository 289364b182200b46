// Console commands that move files: get, put.

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

// -- transfers ----------------------------------------------------------------

/// Starts the progress line for the transfers of the running command.
transfer_progress_ptr start_progress(self_ptr self) {
  auto& st = self->state;
  auto result = std::make_shared<transfer_progress>();
  if (st.transfers.empty()) {
    st.transfer_start = std::chrono::steady_clock::now();
    ++st.transfer_generation;
    st.progress_shown = false;
    // Only transfers that take more than a second show progress.
    if (st.options.progress)
      self->delayed_send(self, std::chrono::seconds{1}, atom::progress_v,
                         st.transfer_generation);
  }
  st.transfers.push_back(result);
  return result;
}

double transfer_seconds(self_ptr self) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now()
                                       - self->state.transfer_start)
    .count();
}

/// The command's transfers are over: clear the progress line.
void stop_progress(self_ptr self) {
  auto& st = self->state;
  st.transfers.clear();
  ++st.transfer_generation;
  if (st.progress_shown && st.options.progress)
    st.options.progress("");
  st.progress_shown = false;
}

void show_progress(self_ptr self, uint64_t generation) {
  auto& st = self->state;
  if (generation != st.transfer_generation || st.transfers.empty())
    return;
  uint64_t done = 0;
  uint64_t total = 0;
  for (auto& x : st.transfers) {
    done += x->done.load();
    total += x->total.load();
  }
  st.options.progress(shell::render_progress(done, total,
                                             transfer_seconds(self)));
  st.progress_shown = true;
  self->delayed_send(self, std::chrono::milliseconds{250}, atom::progress_v,
                     generation);
}

/// Ctrl-C: the running command fails with cancelled as soon as each of its
/// transfers and listings has been cancelled on its node (the download and
/// upload actors then drop their temporary files, the node its own).
void cancel_running(self_ptr self) {
  auto& st = self->state;
  if (!st.busy) {
    st.out("\n(Ctrl-C cancels a running command; type quit or press Ctrl-D "
           "to leave)\n");
    prompt(self);
    return;
  }
  if (st.answer) {
    give_answer(self, ""); // no answer is no
    return;
  }
  // Sent again on a second Ctrl-C: a cancel for a finished query is a no-op.
  st.cancel_requested = true;
  for (auto& [dest, query] : st.running)
    self->send(dest, atom::cancel_v, query);
}

failure cancelled_failure() {
  return failure{wire_code::cancelled, "cancelled"};
}

void run_download(self_ptr self, const target& t, download_job job,
                  std::function<void()> next) {
  if (self->state.cancel_requested) {
    stop_progress(self);
    return fail(self, cancelled_failure());
  }
  job.origin = cancellable_origin(self, job.conn);
  auto hdl = self->spawn<caf::detached>(download, std::move(job));
  self->request(hdl, caf::infinite, atom::get_v)
    .then(
      [self, t, next](uint64_t size, std::string& where) {
        auto seconds = transfer_seconds(self);
        stop_progress(self);
        self->state.out(shell::render_got(shown(t), where, size, seconds));
        if (next)
          return next();
        finish(self);
      },
      [self](caf::error& err) {
        stop_progress(self);
        fail(self, err);
      });
}

void cmd_get(self_ptr self, const command& cmd) {
  auto& args = cmd.args;
  auto force = cmd.has_flag("force");
  auto resume = cmd.has_flag("resume");
  std::string local;
  if (args.size() == 2) {
    auto raw = protocol::unescape_name(args[1]);
    if (!raw || raw->empty())
      return fail(self, failure{wire_code::bad_request,
                                "bad local path '" + args[1] + "'"});
    local = std::move(*raw);
  }
  if (glob_in(args[0]))
    return get_glob(self, args[0], local, force);
  with_target(self, args[0], [self, local, force, resume](target& t) {
    auto& st = self->state;
    download_job job;
    job.conn = t.conn;
    job.node = t.info.name;
    job.path = t.path;
    job.local = local;
    job.download_dir = st.options.download_dir;
    job.force = force;
    job.resume = resume;
    job.progress = start_progress(self);
    // What PATH is (a directory travels as tar.gz) and the size for the
    // progress line (du reads no data). Should du fail, the get itself
    // reports why.
    self->request(t.conn, caf::infinite, atom::du_v,
                  cancellable_origin(self, t.conn), t.path)
      .then(
        [self, t, job](protocol::du_reply& x) mutable {
          if (x.type == protocol::entry_type::file)
            job.progress->total = x.bytes;
          job.tree = x.type == protocol::entry_type::dir;
          run_download(self, t, std::move(job));
        },
        [self, t, job](caf::error&) mutable {
          run_download(self, t, std::move(job));
        });
  });
}

/// The node path a put writes to: PATH, or PATH/<local name> when PATH ends
/// with a slash (or is the root).
outcome<std::string> put_path(const std::string& local,
                              const std::string& typed,
                              const std::string& resolved) {
  if (!typed.empty() && typed.back() != '/' && resolved != "/")
    return resolved;
  auto slash = local.rfind('/');
  auto name = slash == std::string::npos ? local : local.substr(slash + 1);
  if (!protocol::is_valid_entry_name(name))
    return make_failure(wire_code::bad_request,
                        "'" + protocol::escape_name(local)
                          + "' does not name a file");
  return protocol::join_path(resolved, name);
}

/// Starts one upload; `done` gets the size or the failure.
void start_upload(self_ptr self, const node_connection_actor& conn,
                  const std::string& local, const std::string& path,
                  bool tree, bool resume, std::function<void(uint64_t)> ok,
                  std::function<void(const caf::error&)> bad) {
  auto& st = self->state;
  if (st.cancel_requested)
    return bad(to_error(cancelled_failure()));
  upload_job job{conn,  cancellable_origin(self, conn), local,
                 path,  start_progress(self),            tree, resume};
  auto hdl = self->spawn<caf::detached>(upload, std::move(job));
  self->request(hdl, caf::infinite, atom::put_v)
    .then([ok](uint64_t n) { ok(n); },
          [bad](caf::error& err) { bad(err); });
}

/// Uploads LOCAL to every node of `nodes`, one result line per node; only
/// the nodes that got the file hear about it. With `question` (a set
/// named by a selector) asks it first.
void put_to(self_ptr self, const std::string& local, const std::string& typed,
            const std::string& cwd, bool tree, bool resume,
            std::vector<node_info> nodes, std::string question) {
  if (nodes.empty())
    return fail(self, failure{wire_code::not_found,
                              "no node is connected"});
  struct tally {
    std::map<std::string, std::string> lines;
    size_t waiting = 0;
    size_t total = 0;
    std::vector<node_connection_actor> got_it;
    std::string path;
  };
  auto t = std::make_shared<tally>();
  t->waiting = t->total = nodes.size();
  auto resolved = protocol::resolve_path(cwd, typed);
  if (!resolved)
    return fail(self, resolved.error());
  auto path = put_path(local, typed, *resolved);
  if (!path)
    return fail(self, path.error());
  t->path = *path;
  auto one_done = [self, t, local] {
    if (--t->waiting > 0)
      return;
    auto& st = self->state;
    stop_progress(self);
    for (auto& [name, line] : t->lines)
      st.out(line);
    if (st.cancel_requested && t->got_it.size() < t->total)
      return fail(self, cancelled_failure());
    auto shown_path = protocol::escape_name(t->path);
    st.out("put " + protocol::escape_name(local) + " -> " + shown_path
           + " on " + std::to_string(t->got_it.size()) + " of "
           + std::to_string(t->total) + " nodes\n");
    for (auto& conn : t->got_it)
      self->send(conn, atom::notice_v, st.options.operator_name,
                 "new file available: " + shown_path);
    finish(self);
  };
  auto failed = [self, t, one_done](const std::string& name,
                                    const caf::error& err) {
    auto why = to_failure(err);
    // After Ctrl-C one "cancelled" says it for every node.
    if (why.code != wire_code::cancelled
        || !self->state.cancel_requested)
      t->lines[name] = name + ": " + shell::render_failure(why);
    one_done();
  };
  auto start = [self, t, local, nodes, one_done, failed, tree, resume] {
    if (stop_if_cancelled(self))
      return;
    for (auto& info : nodes) {
      auto name = info.name;
      self->request(self->state.supervisor, caf::infinite,
                    atom::resolve_v, name)
        .then(
          [self, t, local, name, one_done, failed, tree,
           resume](node_info&, node_connection_actor& conn) {
            start_upload(
              self, conn, local, t->path, tree, resume,
              [t, name, one_done, conn](uint64_t n) {
                t->got_it.push_back(conn);
                t->lines[name] = name + ": ok (" + std::to_string(n)
                                 + " bytes)\n";
                one_done();
              },
              [name, failed](const caf::error& err) { failed(name, err); });
          },
          [name, failed](caf::error& err) { failed(name, err); });
    }
  };
  if (question.empty())
    return start();
  confirm(self,
          question + " " + protocol::escape_name(local) + " -> "
            + protocol::escape_name(t->path) + " on "
            + std::to_string(nodes.size()) + " node"
            + (nodes.size() == 1 ? "" : "s") + "? [y/N] ",
          [self, start](bool ok) {
            if (ok)
              return start();
            self->state.out("not sent\n");
            finish(self);
          });
}

/// put --all (every node, `patterns` empty) or put to a selector's nodes
/// (asks first unless -y).
void put_all(self_ptr self, const std::string& local, const std::string& arg,
             bool tree, bool resume, const fleet_plan* plan, bool yes) {
  auto spec = parse_target(arg);
  if (!spec)
    return fail(self, spec.error());
  auto typed = spec->path;
  if (plan == nullptr) {
    if (!spec->node.empty())
      return fail(self, failure{wire_code::bad_request,
                                "put --all takes a PATH without a node"});
    self->request(self->state.supervisor, caf::infinite, atom::nodes_v)
      .then(
        [self, local, typed, tree, resume](std::vector<node_info>& nodes) {
          put_to(self, local, typed, "/", tree, resume, std::move(nodes), "");
        },
        [self](caf::error& err) { fail(self, err); });
    return;
  }
  node_query q;
  q.patterns = plan->patterns;
  q.limit = std::numeric_limits<uint32_t>::max();
  // Relative to the set's directory after `use web*`, else to the root.
  auto cwd = spec->node.empty() ? self->state.selection_cwd : "/";
  auto question = yes ? std::string{} : "put";
  auto selector = plan->selector;
  self->request(self->state.supervisor, caf::infinite, atom::nodes_v, q)
    .then(
      [self, local, typed, cwd, tree, resume, question,
       selector](node_page& page) {
        if (page.rows.empty())
          return fail(self, failure{wire_code::not_found,
                                    "no node matches '"
                                      + protocol::escape_name(selector)
                                      + "' (see 'nodes')"});
        put_to(self, local, typed, cwd, tree, resume, std::move(page.rows),
               question);
      },
      [self](caf::error& err) { fail(self, err); });
}

void cmd_put(self_ptr self, const command& cmd) {
  auto all = cmd.has_flag("all");
  auto& args = cmd.args;
  auto tree = cmd.has_flag("recursive");
  auto yes = cmd.has_flag("yes");
  auto resume = cmd.has_flag("resume");
  if (tree && resume)
    return fail(self, failure{wire_code::bad_request,
                              "--resume continues a single file, not -r"});
  auto raw = protocol::unescape_name(args[0]);
  if (!raw || raw->empty())
    return fail(self, failure{wire_code::bad_request,
                              "bad local path '" + args[0] + "'"});
  auto local = std::move(*raw);
  while (tree && local.size() > 1 && local.back() == '/')
    local.pop_back();
  if (all)
    return put_all(self, local, args[1], tree, resume, nullptr, yes);
  auto plan = fleet_plan_of(self, args[1]);
  if (!plan)
    return fail(self, plan.error());
  if (*plan)
    return put_all(self, local, args[1], tree, resume, &**plan, yes);
  auto spec = parse_target(args[1]);
  if (!spec)
    return fail(self, spec.error());
  auto typed = spec->path;
  with_target(self, args[1], [self, local, typed, tree, resume](target& t) {
    auto path = put_path(local, typed, t.path);
    if (!path)
      return fail(self, path.error());
    t.path = *path;
    start_upload(
      self, t.conn, local, t.path, tree, resume,
      [self, t, local](uint64_t n) {
        auto seconds = transfer_seconds(self);
        stop_progress(self);
        self->state.out(shell::render_put(protocol::escape_name(local),
                                          shown(t), n, seconds));
        finish(self);
      },
      [self](const caf::error& err) {
        stop_progress(self);
        fail(self, err);
      });
  });
}

} // namespace dirscope::console_impl
