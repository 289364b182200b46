#include "actors/server/console.hpp"

#include "actors/server/console_commands.hpp"

#include <cctype>
#include <chrono>

#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/transfer.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/nodes_view.hpp"
#include "shell/render.hpp"
#include "shell/selector.hpp"

namespace dirscope {

namespace console_impl {

// -- node commands ------------------------------------------------------------

/// Rows of `nodes` per page: output starts at once and no message carries
/// the whole fleet.
constexpr uint32_t nodes_page_rows = 500;

namespace {

/// A `nodes` command between pages.
struct nodes_listing {
  node_query query;
  bool json = false;
  bool count_only = false;
  node_counts counts;
  shell::nodes_table table;
};

void nodes_next(self_ptr self, std::shared_ptr<nodes_listing> l) {
  self->request(self->state.supervisor, caf::infinite, atom::nodes_v,
                l->query)
    .then(
      [self, l](node_page& page) {
        if (stop_if_cancelled(self))
          return;
        auto filtered = !l->query.patterns.empty() || !l->query.match.empty();
        if (l->query.after.empty())
          l->counts = page.counts;
        if (l->count_only) {
          self->state.out(l->json
                            ? shell::render_nodes_counts_json(l->counts)
                            : shell::render_nodes_summary(l->counts,
                                                          filtered));
          return finish(self);
        }
        if (!page.rows.empty()) {
          l->query.after = page.rows.back().name;
          self->state.out(l->json ? shell::render_nodes_json(page.rows)
                                  : l->table.rows(page.rows));
        }
        if (page.more)
          return nodes_next(self, l);
        if (!l->json)
          self->state.out(shell::render_nodes_summary(l->counts, filtered));
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

} // namespace

void cmd_nodes(self_ptr self, const command& cmd) {
  auto l = std::make_shared<nodes_listing>();
  l->json = cmd.has_flag("json");
  l->count_only = cmd.has_flag("count");
  l->query.patterns = cmd.args;
  l->query.match = cmd.option("match").value_or("");
  l->query.limit = l->count_only ? 0 : nodes_page_rows;
  nodes_next(self, std::move(l));
}

void cmd_use(self_ptr self, const command& cmd) {
  auto sel = shell::parse_selector(cmd.args[0]);
  if (!sel)
    return fail(self, sel.error());
  if (sel->many) {
    // A set of nodes: paths without a node run on each (checked per
    // command, so nodes that join later are in the set too).
    auto& st = self->state;
    node_query q;
    q.patterns = sel->patterns;
    auto text = cmd.args[0];
    self->request(st.supervisor, caf::infinite, atom::nodes_v, q)
      .then(
        [self, text](node_page& page) {
          auto& st = self->state;
          st.selection = text;
          st.selection_cwd = "/";
          st.current_node.clear();
          st.out("using " + protocol::escape_name(text) + " ("
                 + std::to_string(page.counts.matching) + " of "
                 + std::to_string(page.counts.total) + " nodes now)\n");
          finish(self);
        },
        [self](caf::error& err) { fail(self, err); });
    return;
  }
  self->request(self->state.supervisor, caf::infinite, atom::resolve_v,
                cmd.args[0])
    .then(
      [self](node_info& info, node_connection_actor&) {
        auto& st = self->state;
        st.current_node = info.name;
        st.selection.clear();
        if (st.cwd[info.name].empty())
          st.cwd[info.name] = "/";
        st.out("using node " + info.name + " ("
               + protocol::escape_name(info.hostname) + ", root "
               + protocol::escape_name(info.root) + ")\n");
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

/// Makes `t` the working directory.
void enter(self_ptr self, const target& t) {
  auto& st = self->state;
  st.current_node = t.info.name;
  st.selection.clear();
  st.cwd[t.info.name] = t.path;
  finish(self);
}

/// cd into a symlink: ls follows one that stays inside the root, so cd
/// does too. Whether it does is the node's call: a listing of the link
/// either starts (the first chunk or the end says so, the rest is
/// cancelled) or fails (outside_root, not_a_directory, ...).
void enter_symlink(self_ptr self, const target& t) {
  auto decided = std::make_shared<bool>(false);
  auto conn = t.conn;
  auto query = std::make_shared<uint64_t>(0); // known once started
  auto accept = [self, t, decided, conn, query] {
    if (*decided)
      return;
    *decided = true;
    self->send(conn, atom::cancel_v, *query);
    enter(self, t);
  };
  *query = start_listing(
    self, t.conn, t.path, 0,
    [accept](std::vector<protocol::entry>&) { accept(); },
    [accept](uint64_t, bool) { accept(); },
    [self, t, decided](const caf::error& err) {
      if (*decided)
        return; // the cancel after the first chunk
      *decided = true;
      auto why = to_failure(err);
      if (why.code == wire_code::not_a_directory)
        why.message = shown(t) + " is not a directory";
      fail(self, why);
    });
}

/// cd on a set of nodes (`cd web*:/etc`, or `cd PATH` after `use web*`):
/// the path is only resolved, not checked, since nodes may differ.
bool cd_selection(self_ptr self, const std::string& arg) {
  auto& st = self->state;
  auto spec = parse_target(arg);
  if (!spec)
    return false; // with_target reports it
  auto selector = spec->node.empty() ? st.selection : spec->node;
  if (selector.empty() || !shell::names_many(selector))
    return false;
  auto cwd = spec->node.empty() ? st.selection_cwd : std::string{"/"};
  auto path = protocol::resolve_path(cwd, spec->path);
  if (!path) {
    fail(self, path.error());
    return true;
  }
  st.selection = selector;
  st.selection_cwd = std::move(*path);
  st.current_node.clear();
  finish(self);
  return true;
}

void cmd_cd(self_ptr self, const command& cmd) {
  if (cd_selection(self, cmd.args[0]))
    return;
  with_target(self, cmd.args[0], [self](target& t) {
    self->request(t.conn, caf::infinite, atom::stat_v,
                  cancellable_origin(self, t.conn), t.path)
      .then(
        [self, t](protocol::entry& x) {
          if (x.type == protocol::entry_type::symlink)
            return enter_symlink(self, t);
          if (x.type != protocol::entry_type::dir)
            return fail(self, failure{wire_code::not_a_directory,
                               shown(t) + " is not a directory"});
          enter(self, t);
        },
        [self](caf::error& err) { fail(self, err); });
  });
}

void cmd_pwd(self_ptr self) {
  auto& st = self->state;
  if (!st.selection.empty()) {
    st.out(protocol::escape_name(st.selection) + ":"
           + protocol::escape_name(st.selection_cwd) + "\n");
    return finish(self);
  }
  if (st.current_node.empty())
    return fail(self, failure{wire_code::bad_request,
                       "no node selected: 'use NODE' first"});
  st.out(st.current_node + ":" + protocol::escape_name(st.cwd[st.current_node])
         + "\n");
  finish(self);
}

void cmd_kick(self_ptr self, const command& cmd) {
  self->request(self->state.supervisor, caf::infinite, atom::kick_v,
                self->state.options.operator_name, cmd.args[0])
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
    return fail(self,
                failure{wire_code::bad_request,
                        "wait-nodes expects a number of nodes, got '"
                          + protocol::escape_name(cmd.args[0]) + "'"});
  caf::timespan timeout = std::chrono::seconds{30};
  if (auto text = cmd.option("timeout")) {
    auto d = shell::parse_duration("--timeout", *text);
    if (!d)
      return fail(self, d.error());
    timeout = *d;
  }
  auto& sup = self->state.supervisor;
  self->request(sup, caf::infinite, atom::wait_v, cancellable_query(self, sup),
                *count, timeout)
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

void cmd_echo(self_ptr self, const command& cmd) {
  std::string text;
  for (auto& word : cmd.args) {
    if (!text.empty())
      text += ' ';
    text += protocol::escape_name(word);
  }
  self->state.out(text + "\n");
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
  if (!st.options.local_files && (name == "get" || name == "put"))
    return fail(self,
                failure{wire_code::not_permitted,
                        std::string{name}
                          + " reads and writes the server's own files: "
                            "not over the operator API (use cat)"});
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
  else if (name == "find")
    cmd_find(self, cmd);
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
  else if (name == "cat")
    cmd_peek(self, cmd, shell::peek_kind::cat);
  else if (name == "head")
    cmd_peek(self, cmd, shell::peek_kind::head);
  else if (name == "tail")
    cmd_peek(self, cmd, shell::peek_kind::tail);
  else if (name == "wait-nodes")
    cmd_wait_nodes(self, cmd);
  else if (name == "help")
    cmd_help(self, cmd);
  else if (name == "echo")
    cmd_echo(self, cmd);
  else if (name == "quit")
    quit_now(self);
  else
    fail(self, failure{wire_code::internal,
                "command '" + std::string{name} + "' is not implemented"});
}

} // namespace console_impl

using namespace console_impl;


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
  if (st.options.server_console)
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
      auto& st = self->state;
      auto& out = st.options.async_out ? st.options.async_out : st.out;
      out(shell::render_echo(node, text));
    },
    [self](atom::progress, uint64_t generation) {
      show_progress(self, generation);
    },
    [self](atom::chunk, uint64_t query,
           std::vector<protocol::find_match>& xs) {
      auto& st = self->state;
      auto i = st.find_sinks.find(query);
      if (i == st.find_sinks.end())
        return;
      auto conn = i->second.conn;
      i->second.on_matches(xs);
      self->send(conn, atom::ack_v, query);
    },
    [self](atom::chunk, uint64_t query, std::vector<protocol::entry>& xs) {
      auto& st = self->state;
      auto i = st.sinks.find(query);
      if (i == st.sinks.end())
        return;
      auto conn = i->second.conn;
      hide_hash_line(self);
      hashes_arrived(self, query, xs);
      i->second.on_entries(xs);
      show_hash_line(self);
      self->send(conn, atom::ack_v, query);
    },
    [self](atom::progress, uint64_t query, std::string& name, uint64_t size,
           uint64_t hashed) {
      on_hash_progress(self, query, std::move(name), size, hashed);
    },
    [self](atom::complete, const std::string& line)
      -> caf::result<std::vector<std::string>> {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      complete(self, line, rp);
      return rp;
    },
  };
}

} // namespace dirscope
