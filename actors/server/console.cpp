#include "actors/server/console.hpp"

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

namespace {

using self_ptr = console_pointer;
using shell::command;

/// Hard cap on `tree --depth`.
constexpr size_t max_tree_depth = 64;

// -- running commands one at a time -------------------------------------------

void run_line(self_ptr self, const std::string& line);

void prompt(self_ptr self) {
  auto& st = self->state;
  if (!st.show_prompt || st.quitting)
    return;
  std::string where = st.current_node.empty()
                        ? std::string{}
                        : " " + st.current_node + ":"
                            + protocol::escape_name(st.cwd[st.current_node]);
  st.show_prompt("dirscope" + where + "> ");
}

void quit_now(self_ptr self) {
  auto& st = self->state;
  if (st.quitting)
    return;
  st.quitting = true;
  st.pending.clear();
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
  if (why.code == wire_code::cancelled && self->state.cancel_requested)
    self->state.out("cancelled\n"); // the operator pressed Ctrl-C
  else
    self->state.out(shell::render_failure(why));
  finish(self);
}

void fail(self_ptr self, const caf::error& err) {
  fail(self, to_failure(err));
}

// -- naming nodes and paths ---------------------------------------------------

/// What the user wrote as a path: an optional node and the path text.
struct target_spec {
  std::string node; ///< empty: the current node
  std::string path; ///< raw bytes, empty: the node's working directory
};

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

/// A node resolved by the supervisor plus the absolute path on it.
struct target {
  node_info info;
  node_connection_actor conn;
  std::string path;
};

/// Resolves `arg` (or the current directory) and calls `then`; prints the
/// failure and finishes the command otherwise.
void with_target(self_ptr self, const std::optional<std::string>& arg,
                 std::function<void(target&)> then) {
  auto& st = self->state;
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
/// `on_end(total, sorted)` or `on_error`.
void start_listing(self_ptr self, const node_connection_actor& conn,
                   const std::string& path, uint8_t flags,
                   std::function<void(std::vector<protocol::entry>&)> on_entries,
                   std::function<void(uint64_t, bool)> on_end,
                   std::function<void(const caf::error&)> on_error) {
  auto& st = self->state;
  auto query = st.next_query++;
  st.sinks.emplace(query, console_state::listing_sink{conn, on_entries});
  auto sink = caf::actor_cast<listing_sink_actor>(self);
  self->request(conn, caf::infinite, atom::list_v, query, path, flags, sink)
    .then(
      [self, query, on_end](uint64_t total, bool sorted) {
        self->state.sinks.erase(query);
        on_end(total, sorted);
      },
      [self, query, on_error](caf::error& err) {
        self->state.sinks.erase(query);
        on_error(err);
      });
}

void print_entry(self_ptr self, bool json, const std::string& node,
                 const std::string& dir, const protocol::entry& x) {
  self->state.out(json ? shell::render_entry_json(node, dir, x)
                       : shell::render_entry_line(x));
}

void cmd_stat_print(self_ptr self, const target& t, bool json) {
  self->request(t.conn, caf::infinite, atom::stat_v, t.path)
    .then(
      [self, t, json](protocol::entry& x) {
        if (json)
          self->state.out(shell::render_entry_json(
            t.info.name, protocol::parent_path(t.path), x));
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
          return cmd_stat_print(self, t, json);
        fail(self, err);
      });
  });
}

// -- tree ---------------------------------------------------------------------

void tree_step(self_ptr self);

void tree_descend(self_ptr self, const std::string& path) {
  auto& walk = self->state.tree;
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
      if (why.code == wire_code::io_error || why.code == wire_code::timeout) {
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
    if (depth == 0)
      return tree_step(self);
    tree_descend(self, t.path);
  });
}

// -- file operations ----------------------------------------------------------

void cmd_du(self_ptr self, const command& cmd) {
  with_target(self, cmd.args[0], [self](target& t) {
    self->request(t.conn, caf::infinite, atom::du_v, t.path)
      .then(
        [self, t](protocol::du_reply& x) {
          self->state.out(shell::render_du(shown(t), x));
          finish(self);
        },
        [self](caf::error& err) { fail(self, err); });
  });
}

/// Hands `line` to the command waiting for an answer.
void give_answer(self_ptr self, const std::string& line) {
  auto f = std::move(self->state.answer);
  self->state.answer = nullptr;
  f(line);
}

/// Asks `question` and calls `then` with true for "y" / "yes". The answer is
/// the next input line (queued lines first); end of input answers no.
void confirm(self_ptr self, const std::string& question,
             std::function<void(bool)> then) {
  auto& st = self->state;
  st.answer = [then](const std::string& line) {
    auto word = line;
    auto first = word.find_first_not_of(" \t\r");
    auto last = word.find_last_not_of(" \t\r");
    word = first == std::string::npos ? ""
                                      : word.substr(first, last - first + 1);
    for (auto& c : word)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    then(word == "y" || word == "yes");
  };
  if (st.show_prompt) {
    st.show_prompt(question);
  } else {
    st.out(question + "\n");
  }
  if (!st.pending.empty()) {
    auto line = std::move(st.pending.front());
    st.pending.pop_front();
    give_answer(self, line);
  } else if (st.input_done) {
    give_answer(self, "");
  }
}

void cmd_rm(self_ptr self, const command& cmd) {
  auto recursive = cmd.has_flag("recursive");
  auto yes = cmd.has_flag("yes");
  std::optional<std::string> path;
  for (auto& arg : cmd.args) {
    // Short flags -r, -y, -ry, -yr (a file named -r is written ./-r).
    if (arg.size() >= 2 && arg[0] == '-'
        && arg.find_first_not_of("ry", 1) == std::string::npos) {
      recursive |= arg.find('r') != std::string::npos;
      yes |= arg.find('y') != std::string::npos;
    } else if (!path) {
      path = arg;
    } else {
      return fail(self, failure{wire_code::bad_request,
                                "too many arguments for rm; usage: rm PATH "
                                "[-r] [-y]"});
    }
  }
  if (!path)
    return fail(self, failure{wire_code::bad_request,
                              "missing argument for rm; usage: rm PATH [-r] "
                              "[-y]"});
  with_target(self, path, [self, recursive, yes](target& t) {
    if (t.path == "/")
      return fail(self, failure{wire_code::bad_request,
                                "refusing to delete the root of "
                                  + t.info.name});
    // Say what the target is before anything is deleted.
    self->request(t.conn, caf::infinite, atom::du_v, t.path)
      .then(
        [self, t, recursive, yes](protocol::du_reply& x) {
          self->state.out(shell::render_remove_target(shown(t), x, recursive));
          if (x.type == protocol::entry_type::dir && !recursive)
            return fail(self, failure{wire_code::bad_request,
                                      shown(t) + " is a directory: deleting "
                                                 "it needs -r"});
          auto run = [self, t, recursive] {
            self->request(t.conn, caf::infinite, atom::remove_v, t.path,
                          recursive)
              .then(
                [self, t](uint64_t n) {
                  self->state.out(shell::render_removed(shown(t), n));
                  finish(self);
                },
                [self](caf::error& err) { fail(self, err); });
          };
          if (yes)
            return run();
          confirm(self, "delete " + shown(t) + "? [y/N] ",
                  [self, run](bool ok) {
                    if (ok)
                      return run();
                    self->state.out("not deleted\n");
                    finish(self);
                  });
        },
        [self, t](caf::error& err) {
          auto why = to_failure(err);
          if (why.code == wire_code::not_found)
            why.message = shown(t) + " does not exist: nothing to delete";
          fail(self, why);
        });
  });
}

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

/// Splits "-f" style short flags made of `letters` off the arguments.
std::vector<std::string> split_short_flags(const command& cmd,
                                           const std::string& letters,
                                           std::string& seen) {
  std::vector<std::string> rest;
  bool options_done = false;
  for (auto& arg : cmd.args) {
    if (!options_done && arg.size() >= 2 && arg[0] == '-'
        && arg.find_first_not_of(letters, 1) == std::string::npos) {
      seen += arg.substr(1);
    } else {
      rest.push_back(arg);
    }
  }
  return rest;
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
  st.cancel_requested = true;
  for (auto& [conn, query] : st.running)
    self->send(conn, atom::cancel_v, query);
  for (auto& [query, sink] : st.sinks)
    self->send(sink.conn, atom::cancel_v, query);
}

failure cancelled_failure() {
  return failure{wire_code::cancelled, "cancelled"};
}

void run_download(self_ptr self, const target& t, download_job job) {
  if (self->state.cancel_requested) {
    stop_progress(self);
    return fail(self, cancelled_failure());
  }
  self->state.running.emplace_back(job.conn, job.query);
  auto hdl = self->spawn<caf::detached>(download, std::move(job));
  self->request(hdl, caf::infinite, atom::get_v)
    .then(
      [self, t](uint64_t size, std::string& where) {
        auto seconds = transfer_seconds(self);
        stop_progress(self);
        self->state.out(shell::render_got(shown(t), where, size, seconds));
        finish(self);
      },
      [self](caf::error& err) {
        stop_progress(self);
        fail(self, err);
      });
}

void cmd_get(self_ptr self, const command& cmd) {
  std::string seen;
  auto args = split_short_flags(cmd, "f", seen);
  auto force = cmd.has_flag("force") || !seen.empty();
  if (args.empty() || args.size() > 2)
    return fail(self, failure{wire_code::bad_request,
                              "usage: get NODE:PATH [LOCAL] [-f]"});
  std::string local;
  if (args.size() == 2) {
    auto raw = protocol::unescape_name(args[1]);
    if (!raw || raw->empty())
      return fail(self, failure{wire_code::bad_request,
                                "bad local path '" + args[1] + "'"});
    local = std::move(*raw);
  }
  with_target(self, args[0], [self, local, force](target& t) {
    auto& st = self->state;
    download_job job;
    job.conn = t.conn;
    job.query = st.next_query++;
    job.node = t.info.name;
    job.path = t.path;
    job.local = local;
    job.download_dir = st.options.download_dir;
    job.force = force;
    job.progress = start_progress(self);
    // What PATH is (a directory travels as tar.gz) and the size for the
    // progress line (du reads no data). Should du fail, the get itself
    // reports why.
    self->request(t.conn, caf::infinite, atom::du_v, t.path)
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
                  bool tree, std::function<void(uint64_t)> ok,
                  std::function<void(const caf::error&)> bad) {
  auto& st = self->state;
  if (st.cancel_requested)
    return bad(to_error(cancelled_failure()));
  upload_job job{conn,  st.next_query++,      local,
                 path,  start_progress(self), tree};
  st.running.emplace_back(job.conn, job.query);
  auto hdl = self->spawn<caf::detached>(upload, std::move(job));
  self->request(hdl, caf::infinite, atom::put_v)
    .then([ok](uint64_t n) { ok(n); },
          [bad](caf::error& err) { bad(err); });
}

/// put --all: one upload per connected node, one line per node.
void put_all(self_ptr self, const std::string& local, const std::string& arg,
             bool tree) {
  auto spec = parse_target(arg);
  if (!spec)
    return fail(self, spec.error());
  if (!spec->node.empty())
    return fail(self, failure{wire_code::bad_request,
                              "put --all takes a PATH without a node"});
  auto typed = spec->path;
  self->request(self->state.supervisor, caf::infinite, atom::nodes_v)
    .then(
      [self, local, typed, tree](std::vector<node_info>& nodes) {
        if (nodes.empty())
          return fail(self, failure{wire_code::not_found,
                                    "no node is connected"});
        struct tally {
          std::map<std::string, std::string> lines;
          size_t waiting = 0;
          size_t ok = 0;
          std::string path;
        };
        auto t = std::make_shared<tally>();
        t->waiting = nodes.size();
        auto resolved = protocol::resolve_path("/", typed);
        if (!resolved)
          return fail(self, resolved.error());
        auto path = put_path(local, typed, *resolved);
        if (!path)
          return fail(self, path.error());
        t->path = *path;
        auto one_done = [self, t, local] {
          if (--t->waiting > 0)
            return;
          stop_progress(self);
          for (auto& [name, line] : t->lines)
            self->state.out(line);
          auto shown_path = protocol::escape_name(t->path);
          self->state.out("put " + protocol::escape_name(local) + " -> "
                          + shown_path + " on " + std::to_string(t->ok)
                          + " of " + std::to_string(t->lines.size())
                          + " nodes\n");
          if (t->ok == 0)
            return finish(self);
          self->request(self->state.supervisor, caf::infinite,
                        atom::broadcast_v,
                        "new file available: " + shown_path)
            .then([self](uint64_t) { finish(self); },
                  [self](caf::error& err) { fail(self, err); });
        };
        for (auto& info : nodes) {
          auto name = info.name;
          self->request(self->state.supervisor, caf::infinite,
                        atom::resolve_v, name)
            .then(
              [self, t, local, name, one_done,
               tree](node_info&, node_connection_actor& conn) {
                start_upload(
                  self, conn, local, t->path, tree,
                  [t, name, one_done](uint64_t n) {
                    ++t->ok;
                    t->lines[name] = name + ": ok (" + std::to_string(n)
                                     + " bytes)\n";
                    one_done();
                  },
                  [t, name, one_done](const caf::error& err) {
                    t->lines[name] = name + ": "
                                     + shell::render_failure(to_failure(err));
                    one_done();
                  });
              },
              [t, name, one_done](caf::error& err) {
                t->lines[name] = name + ": "
                                 + shell::render_failure(to_failure(err));
                one_done();
              });
        }
      },
      [self](caf::error& err) { fail(self, err); });
}

void cmd_put(self_ptr self, const command& cmd) {
  auto all = cmd.has_flag("all");
  std::string seen;
  auto args = split_short_flags(cmd, "r", seen);
  auto tree = cmd.has_flag("recursive") || !seen.empty();
  if (args.size() != 2)
    return fail(self, failure{wire_code::bad_request,
                              "usage: put [-r] LOCAL NODE:PATH, or put --all "
                              "[-r] LOCAL PATH"});
  auto raw = protocol::unescape_name(args[0]);
  if (!raw || raw->empty())
    return fail(self, failure{wire_code::bad_request,
                              "bad local path '" + args[0] + "'"});
  auto local = std::move(*raw);
  while (tree && local.size() > 1 && local.back() == '/')
    local.pop_back();
  if (all)
    return put_all(self, local, args[1], tree);
  auto spec = parse_target(args[1]);
  if (!spec)
    return fail(self, spec.error());
  auto typed = spec->path;
  with_target(self, args[1], [self, local, typed, tree](target& t) {
    auto path = put_path(local, typed, t.path);
    if (!path)
      return fail(self, path.error());
    t.path = *path;
    start_upload(
      self, t.conn, local, t.path, tree,
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

void cmd_broadcast(self_ptr self, const command& cmd) {
  self->request(self->state.supervisor, caf::infinite, atom::broadcast_v,
                cmd.args[0])
    .then(
      [self](uint64_t n) {
        self->state.out("notice sent to " + std::to_string(n) + " node"
                        + (n == 1 ? "" : "s") + "\n");
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

// -- node commands ------------------------------------------------------------

void cmd_nodes(self_ptr self, const command& cmd) {
  auto json = cmd.has_flag("json");
  self->request(self->state.supervisor, caf::infinite, atom::nodes_v)
    .then(
      [self, json](std::vector<node_info>& xs) {
        self->state.out(json ? shell::render_nodes_json(xs)
                             : shell::render_nodes(xs));
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

void cmd_use(self_ptr self, const command& cmd) {
  self->request(self->state.supervisor, caf::infinite, atom::resolve_v,
                cmd.args[0])
    .then(
      [self](node_info& info, node_connection_actor&) {
        auto& st = self->state;
        st.current_node = info.name;
        if (st.cwd[info.name].empty())
          st.cwd[info.name] = "/";
        st.out("using node " + info.name + " ("
               + protocol::escape_name(info.hostname) + ", root "
               + protocol::escape_name(info.root) + ")\n");
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

void cmd_cd(self_ptr self, const command& cmd) {
  with_target(self, cmd.args[0], [self](target& t) {
    self->request(t.conn, caf::infinite, atom::stat_v, t.path)
      .then(
        [self, t](protocol::entry& x) {
          if (x.type != protocol::entry_type::dir)
            return fail(self, failure{wire_code::not_a_directory,
                               shown(t) + " is not a directory"});
          auto& st = self->state;
          st.current_node = t.info.name;
          st.cwd[t.info.name] = t.path;
          finish(self);
        },
        [self](caf::error& err) { fail(self, err); });
  });
}

void cmd_pwd(self_ptr self) {
  auto& st = self->state;
  if (st.current_node.empty())
    return fail(self, failure{wire_code::bad_request,
                       "no node selected: 'use NODE' first"});
  st.out(st.current_node + ":" + protocol::escape_name(st.cwd[st.current_node])
         + "\n");
  finish(self);
}

void cmd_stat(self_ptr self, const command& cmd) {
  auto json = cmd.has_flag("json");
  with_target(self, cmd.args[0],
              [self, json](target& t) { cmd_stat_print(self, t, json); });
}

void cmd_kick(self_ptr self, const command& cmd) {
  self->request(self->state.supervisor, caf::infinite, atom::kick_v,
                cmd.args[0])
    .then(
      [self](node_info& info) {
        auto& st = self->state;
        st.out("kicked " + info.name + " (" + info.endpoint() + ")\n");
        if (st.current_node == info.name)
          st.current_node.clear();
        st.cwd.erase(info.name);
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

void cmd_wait_nodes(self_ptr self, const command& cmd) {
  auto count = shell::parse_count("N", cmd.args[0]);
  if (!count)
    return fail(self, count.error());
  double seconds = 30;
  if (auto text = cmd.option("timeout")) {
    auto s = shell::parse_seconds("--timeout", *text);
    if (!s)
      return fail(self, s.error());
    seconds = *s;
  }
  auto timeout = std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>{seconds});
  self->request(self->state.supervisor, caf::infinite, atom::wait_v, *count,
                timeout)
    .then(
      [self](uint64_t n) {
        self->state.out(std::to_string(n) + " node(s) connected\n");
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

void cmd_help(self_ptr self, const command& cmd) {
  auto text = shell::help_text(
    cmd.args.empty() ? std::nullopt
                     : std::optional<std::string_view>{cmd.args[0]});
  if (!text)
    return fail(self, text.error());
  self->state.out(*text);
  finish(self);
}

void run_line(self_ptr self, const std::string& line) {
  auto& st = self->state;
  auto parsed = shell::parse_command(line);
  if (!parsed)
    return fail(self, parsed.error());
  auto& cmd = *parsed;
  if (cmd.spec == nullptr)
    return finish(self); // empty line
  st.busy = true;
  auto name = cmd.spec->name;
  if (name == "ls")
    cmd_ls(self, cmd);
  else if (name == "cd")
    cmd_cd(self, cmd);
  else if (name == "pwd")
    cmd_pwd(self);
  else if (name == "stat")
    cmd_stat(self, cmd);
  else if (name == "tree")
    cmd_tree(self, cmd);
  else if (name == "nodes")
    cmd_nodes(self, cmd);
  else if (name == "use")
    cmd_use(self, cmd);
  else if (name == "kick")
    cmd_kick(self, cmd);
  else if (name == "du")
    cmd_du(self, cmd);
  else if (name == "rm")
    cmd_rm(self, cmd);
  else if (name == "broadcast")
    cmd_broadcast(self, cmd);
  else if (name == "get")
    cmd_get(self, cmd);
  else if (name == "put")
    cmd_put(self, cmd);
  else if (name == "wait-nodes")
    cmd_wait_nodes(self, cmd);
  else if (name == "help")
    cmd_help(self, cmd);
  else if (name == "quit")
    quit_now(self);
  else
    fail(self, failure{wire_code::internal,
                "command '" + std::string{name} + "' is not implemented"});
}

} // namespace

console_actor::behavior_type console(console_pointer self,
                                     supervisor_actor supervisor,
                                     console_output out,
                                     console_prompt show_prompt,
                                     console_options options) {
  auto& st = self->state;
  st.options = std::move(options);
  st.supervisor = std::move(supervisor);
  st.out = std::move(out);
  st.show_prompt = std::move(show_prompt);
  self->send(st.supervisor, atom::subscribe_v,
             caf::actor_cast<echo_sink_actor>(self));
  prompt(self);
  return {
    [self](atom::line, std::string& line) {
      auto& st = self->state;
      if (st.quitting)
        return;
      if (st.answer)
        give_answer(self, line);
      else if (st.busy)
        st.pending.push_back(std::move(line));
      else
        run_line(self, line);
    },
    [self](atom::eof) {
      auto& st = self->state;
      st.input_done = true;
      if (st.answer)
        give_answer(self, ""); // no answer is no
      else if (!st.busy)
        quit_now(self);
    },
    [self](atom::shutdown) { quit_now(self); },
    [self](atom::cancel) { cancel_running(self); },
    [self](atom::echo, const std::string& node, const std::string& text) {
      self->state.out(shell::render_echo(node, text));
    },
    [self](atom::progress, uint64_t generation) {
      show_progress(self, generation);
    },
    [self](atom::chunk, uint64_t query, std::vector<protocol::entry>& xs) {
      auto& st = self->state;
      auto i = st.sinks.find(query);
      if (i == st.sinks.end())
        return;
      auto conn = i->second.conn;
      i->second.on_entries(xs);
      self->send(conn, atom::ack_v, query);
    },
  };
}

} // namespace dirscope
