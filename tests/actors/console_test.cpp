// The console against the real supervisor and fake node connections: what
// the operator types and what gets printed.

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/server/console.hpp"
#include "actors/server/supervisor.hpp"
#include "shell/command.hpp"
#include "shell/nodes_view.hpp"
#include "shell/render.hpp"
#include "tests/actors/fixture.hpp"

using namespace dirscope;
using namespace dirscope::test;

namespace {

struct console_fixture : fixture {
  struct node {
    node_connection_actor hdl;
    std::shared_ptr<fake_node_log> log;
  };

  server_settings settings;
  supervisor_actor sup;
  std::shared_ptr<std::string> output = std::make_shared<std::string>();
  console_actor con;
  /// What start_console gives the console.
  console_options options;

  console_fixture() {
    sup = track(sys.spawn(supervisor, settings));
    run();
  }

  /// Prompts shown, in order (interactive consoles only).
  std::shared_ptr<std::vector<std::string>> prompts
    = std::make_shared<std::vector<std::string>>();

  void start_console(bool interactive = false) {
    auto out = output;
    console_prompt show_prompt;
    if (interactive) {
      auto log = prompts;
      show_prompt = [log](const std::string& text) { log->push_back(text); };
    }
    con = track(sys.spawn(console, sup,
                          console_output{[out](const std::string& text) {
                            *out += text;
                          }},
                          show_prompt, options));
    run();
  }

  /// Everything printed since the last call.
  std::string printed() {
    auto result = std::move(*output);
    output->clear();
    return result;
  }

  /// Types `text` and returns what got printed once everything settled.
  std::string type(const std::string& text) {
    caf::anon_send(con, atom::line_v, text);
    run();
    return printed();
  }

  /// A fake node "name" with "/" = {a, sub/} and "/sub" = {b}, announcing
  /// the policy bits `capabilities` in its hello.
  node add_node(const std::string& name, uint32_t capabilities = 0) {
    auto log = std::make_shared<fake_node_log>();
    log->dirs["/"] = {file_entry("a", 10), dir_entry("sub", 1)};
    log->dirs["/sub"] = {file_entry("b", 20)};
    log->files["/a"] = file_entry("a", 10);
    log->files["/sub/b"] = file_entry("b", 20);
    auto hdl = track(spawn_fake_node(sys, log));
    caf::anon_send(sup, atom::connected_v, hdl);
    auto info = make_info(name);
    info.capabilities = capabilities;
    auto r = request<uint64_t>(sup, atom::join_v, info, hdl,
                               std::make_shared<node_liveness>());
    run();
    REQUIRE(r->value);
    return {hdl, log};
  }

  std::vector<node_info> nodes() {
    auto r = request<std::vector<node_info>>(sup, atom::nodes_v);
    run();
    REQUIRE(r->value);
    return r->get();
  }

  static std::string error_line(wire_code code, const std::string& text) {
    return shell::render_failure(failure{code, text});
  }
};

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE_METHOD(console_fixture, "console: help", "[console]") {
  start_console();
  CHECK(printed().empty()); // no prompt without a terminal
  auto text = type("help");
  CHECK(text == *shell::help_text(std::nullopt));
  for (auto name : {"ls", "cd", "pwd", "stat", "tree", "nodes", "use", "kick",
                    "wait-nodes", "help", "quit"})
    CHECK(contains(text, name));
  CHECK(type("help ls") == *shell::help_text("ls"));
  auto err = type("help frobnicate");
  CHECK(starts_with(err, "error: "));
  CHECK(contains(err, "(bad_request)"));
}

TEST_CASE_METHOD(console_fixture, "console: bad input prints an error",
                 "[console]") {
  start_console();
  SECTION("an unknown command") {
    auto text = type("frobnicate now");
    CHECK(starts_with(text, "error: "));
    CHECK(contains(text, "frobnicate"));
  }
  SECTION("wrong argument count") {
    CHECK(starts_with(type("use"), "error: "));
    CHECK(starts_with(type("kick a b"), "error: "));
  }
  SECTION("an unterminated quote") {
    CHECK(starts_with(type("ls 'abc"), "error: "));
  }
  SECTION("an empty line prints nothing") {
    CHECK(type("").empty());
    CHECK(type("   ").empty());
  }
  // The console keeps going after an error.
  CHECK(type("nodes") == "no nodes connected\n");
}

TEST_CASE_METHOD(console_fixture, "console: nodes and use", "[console]") {
  start_console();
  CHECK(type("nodes") == "no nodes connected\n");
  add_node("alpha");
  add_node("beta");
  auto xs = nodes();
  CHECK(type("nodes") == shell::render_nodes(xs) + "2 nodes: 2 up, 0 late\n");
  CHECK(type("nodes b*") == shell::render_nodes({xs[1]})
                              + "1 of 2 nodes match: 1 up, 0 late\n");
  CHECK(type("nodes --count") == "2 nodes: 2 up, 0 late\n");
  CHECK(type("nodes --json") == shell::render_nodes_json(xs));
  CHECK(type("pwd")
        == error_line(wire_code::bad_request,
                      "no node selected: 'use NODE' first"));
  CHECK(type("use beta") == "using node beta (host-beta, root /srv/beta)\n");
  CHECK(type("pwd") == "beta:/\n");
  CHECK(type("use 1") == "using node alpha (host-alpha, root /srv/alpha)\n");
  CHECK(type("pwd") == "alpha:/\n");
  auto err = type("use gamma");
  CHECK(starts_with(err, "error: "));
  CHECK(contains(err, "(not_found)"));
  CHECK(type("pwd") == "alpha:/\n");
}

TEST_CASE_METHOD(console_fixture, "console: ls, stat, cd and tree",
                 "[console]") {
  start_console();
  auto alpha = add_node("alpha");
  auto& dirs = alpha.log->dirs;
  SECTION("ls without a node selected") {
    CHECK(starts_with(type("ls"), "error: no node selected"));
    CHECK(alpha.log->requests.empty());
  }
  SECTION("ls NODE:PATH prints the entries and acks each chunk") {
    auto expected = shell::render_listing_header();
    for (auto& x : dirs["/"])
      expected += shell::render_entry_line(x);
    expected += shell::render_listing_footer(2, true);
    CHECK(type("ls alpha:/") == expected);
    CHECK(alpha.log->requests == std::vector<std::string>{"ls /"});
    CHECK(alpha.log->acks.size() == 1);
  }
  SECTION("ls --json") {
    std::string expected;
    for (auto& x : dirs["/sub"])
      expected += shell::render_entry_json("alpha", "/sub", x);
    CHECK(type("ls --json alpha:/sub") == expected);
  }
  SECTION("ls of a file shows the file") {
    CHECK(type("ls alpha:/a")
          == shell::render_stat("alpha", "/a", alpha.log->files["/a"]));
    CHECK(alpha.log->requests == std::vector<std::string>{"ls /a", "stat /a"});
  }
  SECTION("ls of a missing directory") {
    CHECK(type("ls alpha:/nope")
          == error_line(wire_code::not_found, "no such directory: /nope"));
  }
  SECTION("stat") {
    CHECK(type("stat alpha:/sub/b")
          == shell::render_stat("alpha", "/sub/b", alpha.log->files["/sub/b"]));
  }
  SECTION("cd and relative paths") {
    CHECK(type("use alpha") == "using node alpha (host-alpha, root /srv/alpha)\n");
    CHECK(type("cd sub").empty());
    CHECK(type("pwd") == "alpha:/sub\n");
    auto text = type("ls");
    CHECK(contains(text, shell::render_entry_line(dirs["/sub"][0])));
    CHECK(alpha.log->requests.back() == "ls /sub");
    CHECK(type("stat ../a")
          == shell::render_stat("alpha", "/a", alpha.log->files["/a"]));
    CHECK(type("cd /a")
          == error_line(wire_code::not_a_directory,
                        "alpha:/a is not a directory"));
    CHECK(type("pwd") == "alpha:/sub\n");
  }
  SECTION("tree") {
    auto expected = std::string{"alpha:/\n"};
    expected += shell::render_tree_line({false}, dirs["/"][0]);
    expected += shell::render_tree_line({true}, dirs["/"][1]);
    expected += shell::render_tree_line({true, true}, dirs["/sub"][0]);
    expected += shell::render_tree_footer(1, 2);
    CHECK(type("tree alpha:/") == expected);
    CHECK(alpha.log->requests
          == std::vector<std::string>{"ls /", "ls /sub"});
  }
  SECTION("tree --depth 1 does not descend") {
    auto text = type("tree --depth 1 alpha:/");
    CHECK(contains(text, shell::render_tree_footer(1, 1)));
    CHECK(alpha.log->requests == std::vector<std::string>{"ls /"});
  }
  SECTION("an unknown node") {
    auto text = type("ls gamma:/");
    CHECK(starts_with(text, "error: "));
    CHECK(contains(text, "(not_found)"));
  }
}

TEST_CASE_METHOD(console_fixture, "console: kick", "[console]") {
  start_console();
  auto alpha = add_node("alpha");
  add_node("beta");
  type("use alpha");
  CHECK(type("kick alpha") == "kicked alpha (10.0.0.1:50000)\n");
  REQUIRE(alpha.log->goodbyes.size() == 1);
  CHECK(code_of(alpha.log->goodbyes[0]) == wire_code::kicked);
  auto xs = nodes();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].name == "beta");
  // The kicked node was the current one: no node is selected any more.
  CHECK(starts_with(type("pwd"), "error: no node selected"));
  CHECK(contains(type("kick alpha"), "(not_found)"));
}

TEST_CASE_METHOD(console_fixture,
                 "console: every request to a node names the operator",
                 "[console]") {
  SECTION("the server's terminal console is \"console\"") {
    start_console();
    auto alpha = add_node("alpha");
    type("ls alpha:/");
    type("stat alpha:/a");
    type("du alpha:/sub");
    REQUIRE(alpha.log->operators.size() >= 3);
    for (auto& who : alpha.log->operators)
      CHECK(who == "console");
  }
  SECTION("an API session's console names its operator, on every node of "
          "a fleet command") {
    options.operator_name = "alice";
    start_console();
    auto alpha = add_node("alpha");
    auto beta = add_node("beta", protocol::capability::remove);
    type("ls all:/");
    type("du alpha:/sub");
    CHECK(contains(type("rm -y beta:/a"), "deleted beta:/a (1 entry)"));
    CHECK(type("broadcast hello") == "notice sent to 2 nodes\n");
    CHECK(beta.log->requests.back() == "notice hello");
    for (auto* log : {alpha.log.get(), beta.log.get()}) {
      REQUIRE(log->operators.size() >= 2);
      for (auto& who : log->operators)
        CHECK(who == "alice");
    }
  }
}

TEST_CASE_METHOD(console_fixture,
                 "console: commands run one at a time, in input order",
                 "[console]") {
  start_console();
  add_node("alpha");
  caf::anon_send(con, atom::line_v, std::string{"wait-nodes 2 --timeout 5"});
  caf::anon_send(con, atom::line_v, std::string{"pwd"});
  caf::anon_send(con, atom::line_v, std::string{"nodes"});
  run();
  CHECK(printed().empty()); // pwd and nodes wait for wait-nodes
  SECTION("the wait ends with the timeout") {
    advance(4s);
    CHECK(printed().empty());
    advance(1s);
    auto text = printed();
    auto err = text.substr(0, text.find('\n') + 1);
    CHECK(starts_with(err, "error: "));
    CHECK(contains(err, "(timeout)"));
    auto rest = text.substr(err.size());
    CHECK(starts_with(rest, "error: no node selected"));
    CHECK(contains(rest, "alpha"));
  }
  SECTION("the wait ends when a node joins") {
    add_node("beta");
    auto text = printed();
    CHECK(starts_with(text, "2 node(s) connected\nerror: no node selected"));
    CHECK(contains(text, "beta"));
  }
}

TEST_CASE_METHOD(console_fixture, "console: the prompt shows where you are",
                 "[console]") {
  using strings = std::vector<std::string>;
  SECTION("interactive") {
    start_console(true);
    CHECK(*prompts == strings{"dirscope> "});
    add_node("alpha");
    CHECK(type("use alpha")
          == "using node alpha (host-alpha, root /srv/alpha)\n");
    CHECK(type("cd sub").empty());
    CHECK(type("").empty());
    CHECK(*prompts
          == strings{"dirscope> ", "dirscope alpha:/> ", "dirscope alpha:/sub> ",
                     "dirscope alpha:/sub> "});
  }
  SECTION("a prompt only once a queued command finished") {
    start_console(true);
    prompts->clear();
    caf::anon_send(con, atom::line_v, std::string{"wait-nodes 1 --timeout 5"});
    caf::anon_send(con, atom::line_v, std::string{"pwd"});
    run();
    CHECK(prompts->empty());
    add_node("alpha");
    CHECK(*prompts == strings{"dirscope> "});
  }
  SECTION("piped input shows no prompt") {
    start_console(false);
    add_node("alpha");
    type("use alpha");
    CHECK(prompts->empty());
    CHECK(printed().empty());
  }
}

TEST_CASE_METHOD(console_fixture,
                 "console: end of input shuts the server down and quits",
                 "[console]") {
  start_console();
  auto alpha = add_node("alpha");
  auto beta = add_node("beta");
  auto con_down = watch(con);
  SECTION("eof when idle") {
    caf::anon_send(con, atom::eof_v);
    run();
  }
  SECTION("quit") {
    caf::anon_send(con, atom::line_v, std::string{"quit"});
    run();
  }
  SECTION("a signal") {
    caf::anon_send(con, atom::shutdown_v);
    run();
  }
  SECTION("eof while a command runs: the command finishes first") {
    caf::anon_send(con, atom::line_v, std::string{"wait-nodes 3 --timeout 5"});
    caf::anon_send(con, atom::line_v, std::string{"pwd"});
    caf::anon_send(con, atom::eof_v);
    run();
    CHECK_FALSE(con_down->down);
    CHECK(alpha.log->goodbyes.empty());
    advance(5s);
    auto text = printed();
    CHECK(contains(text, "(timeout)"));
    CHECK(contains(text, "no node selected")); // queued pwd ran too
  }
  for (auto* log : {alpha.log.get(), beta.log.get()}) {
    REQUIRE(log->goodbyes.size() == 1);
    CHECK(code_of(log->goodbyes[0]) == wire_code::shutdown);
  }
  CHECK(nodes().empty());
  CHECK(con_down->down);
}

TEST_CASE_METHOD(console_fixture,
                 "console: a signal abandons the running command",
                 "[console]") {
  start_console();
  auto alpha = add_node("alpha");
  alpha.log->silent = true;
  auto con_down = watch(con);
  caf::anon_send(con, atom::line_v, std::string{"ls alpha:/"});
  caf::anon_send(con, atom::line_v, std::string{"nodes"});
  run();
  CHECK(alpha.log->requests == std::vector<std::string>{"ls /"});
  caf::anon_send(con, atom::shutdown_v);
  run();
  CHECK(con_down->down);
  REQUIRE(alpha.log->goodbyes.size() == 1);
  CHECK(code_of(alpha.log->goodbyes[0]) == wire_code::shutdown);
  CHECK(printed().empty()); // the queued `nodes` never ran
}

// -- Ctrl-C -------------------------------------------------------------------

TEST_CASE_METHOD(console_fixture,
                 "console: Ctrl-C cancels every command that waits, once, "
                 "and on the node too",
                 "[console][cancel]") {
  start_console(true);
  auto alpha = add_node("alpha", protocol::capability::remove);
  alpha.log->silent = true;
  auto cancel_and_check = [&](const std::string& line) {
    INFO(line);
    CHECK(type(line).empty()); // waiting for the node
    REQUIRE(alpha.log->pending.size() == 1);
    auto query = alpha.log->pending.begin()->first;
    prompts->clear();
    caf::anon_send(con, atom::cancel_v);
    run();
    CHECK(printed() == "cancelled\n");
    CHECK(alpha.log->cancels == std::vector<uint64_t>{query});
    CHECK(alpha.log->pending.empty());
    CHECK(prompts->size() == 1); // the shell is ready for the next command
    alpha.log->cancels.clear();
  };
  for (auto line : {"ls alpha:/", "stat alpha:/a", "du alpha:/", "rm -y alpha:/a",
                    "cd alpha:/sub", "get alpha:/a"}) {
    alpha.log->requests.clear();
    cancel_and_check(line);
  }
  SECTION("tree stops walking") {
    alpha.log->requests.clear();
    CHECK(type("tree alpha:/") == "alpha:/\n");
    caf::anon_send(con, atom::cancel_v);
    run();
    // Not "(unreadable) [error: cancelled]" and a footer.
    CHECK(printed() == "cancelled\n");
    CHECK(alpha.log->requests == std::vector<std::string>{"ls /"});
  }
  SECTION("a cancelled command leaves the shell usable") {
    alpha.log->silent = false;
    CHECK(type("pwd") == error_line(wire_code::bad_request,
                                    "no node selected: 'use NODE' first"));
    CHECK(type("stat alpha:/a")
          == shell::render_stat("alpha", "/a", alpha.log->files["/a"]));
  }
}

TEST_CASE_METHOD(console_fixture,
                 "console: Ctrl-C cancels wait-nodes in the supervisor too",
                 "[console][cancel]") {
  start_console(true);
  add_node("alpha");
  CHECK(type("wait-nodes 2 --timeout 1h").empty());
  using sup_ptr = supervisor_actor::stateful_pointer<supervisor_state>;
  CHECK(deref<sup_ptr>(sup)->state.waiters.size() == 1);
  caf::anon_send(con, atom::cancel_v);
  run();
  CHECK(printed() == "cancelled\n");
  CHECK(deref<sup_ptr>(sup)->state.waiters.empty());
  // The old timer finds nothing to do; a new node changes nothing.
  advance(std::chrono::hours{1});
  add_node("beta");
  CHECK(printed().empty());
  CHECK(type("wait-nodes 2") == "2 node(s) connected\n");
}

TEST_CASE_METHOD(console_fixture,
                 "console: a second Ctrl-C or one at the question",
                 "[console][cancel]") {
  start_console(true);
  auto alpha = add_node("alpha", protocol::capability::remove);
  SECTION("two Ctrl-C print cancelled once") {
    alpha.log->silent = true;
    type("du alpha:/");
    caf::anon_send(con, atom::cancel_v);
    caf::anon_send(con, atom::cancel_v);
    run();
    auto text = printed();
    CHECK(starts_with(text, "cancelled\n"));
    CHECK(text.find("cancelled", 1) == std::string::npos);
  }
  SECTION("Ctrl-C at rm's question answers no") {
    auto text = type("rm alpha:/a");
    CHECK(contains(*prompts->rbegin(), "delete alpha:/a? [y/N]"));
    caf::anon_send(con, atom::cancel_v);
    run();
    CHECK(printed() == "not deleted\n");
    CHECK(alpha.log->requests == std::vector<std::string>{"du /a"});
  }
}

// -- what the user types ------------------------------------------------------

TEST_CASE_METHOD(console_fixture,
                 "console: wait-nodes refuses durations and counts that make "
                 "no sense",
                 "[console]") {
  start_console();
  add_node("alpha");
  // 1e12 s overflowed the nanosecond cast and timed out at once.
  auto text = type("wait-nodes 2 --timeout 1e12");
  CHECK(text
        == error_line(wire_code::bad_request,
                      "--timeout value too large: '1e12'"));
  CHECK(type("wait-nodes 2 --timeout 25h")
        == error_line(wire_code::bad_request,
                      "--timeout must be at most 24h, got '25h'"));
  CHECK(type("wait-nodes 2 --timeout -1")
        == error_line(wire_code::bad_request,
                      "--timeout expects a non-negative number of seconds "
                      "(e.g. 30, 2.5, 30s, 5m, 1h), got '-1'"));
  CHECK(type("wait-nodes 101")
        == error_line(wire_code::bad_request,
                      "cannot wait for 101 nodes: at most 100 may connect "
                      "(--max-clients)"));
  CHECK(starts_with(type("wait-nodes 99999999999999999999999"), "error: "));
  using sup_ptr = supervisor_actor::stateful_pointer<supervisor_state>;
  CHECK(deref<sup_ptr>(sup)->state.waiters.empty());
  // A long but valid timeout waits.
  CHECK(type("wait-nodes 2 --timeout 24h").empty());
  advance(std::chrono::hours{23});
  CHECK(printed().empty());
  add_node("beta");
  CHECK(printed() == "2 node(s) connected\n");
}

// -- policies and symlinks ----------------------------------------------------

TEST_CASE_METHOD(console_fixture,
                 "console: rm refuses at once when the node's policy does",
                 "[console]") {
  start_console(true);
  auto alpha = add_node("alpha"); // read-only
  prompts->clear();
  CHECK(type("rm alpha:/a")
        == error_line(wire_code::not_permitted,
                      "not permitted by node policy"));
  CHECK(alpha.log->requests.empty()); // nothing asked of the node
  // No question: the next prompt is the command prompt.
  CHECK(*prompts == std::vector<std::string>{"dirscope> "});
  auto beta = add_node("beta", protocol::capability::remove);
  type("rm beta:/a");
  CHECK(contains(prompts->back(), "delete beta:/a? [y/N]"));
  CHECK(type("y") == shell::render_removed("beta:/a", 1));
  CHECK(beta.log->requests == std::vector<std::string>{"du /a", "rm /a"});
}

TEST_CASE_METHOD(console_fixture,
                 "console: cd follows a symlink to a directory as ls does",
                 "[console]") {
  start_console();
  auto alpha = add_node("alpha");
  protocol::entry link;
  link.name = "link";
  link.type = protocol::entry_type::symlink;
  link.target = "sub";
  alpha.log->files["/link"] = link;
  alpha.log->dirs["/link"] = alpha.log->dirs["/sub"];
  alpha.log->files["/link/b"] = alpha.log->files["/sub/b"];
  auto to_file = link;
  to_file.name = "flink";
  to_file.target = "a";
  alpha.log->files["/flink"] = to_file;
  type("use alpha");
  CHECK(contains(type("ls link"),
                 shell::render_entry_line(alpha.log->files["/sub/b"])));
  CHECK(type("cd link").empty());
  CHECK(type("pwd") == "alpha:/link\n");
  CHECK(type("stat b")
        == shell::render_stat("alpha", "/link/b", alpha.log->files["/sub/b"]));
  CHECK(type("cd /flink")
        == error_line(wire_code::not_a_directory,
                      "alpha:/flink is not a directory"));
  CHECK(type("pwd") == "alpha:/link\n");
}

// -- fleet commands (issue 7 item 1) ------------------------------------------

TEST_CASE_METHOD(console_fixture,
                 "console: a fleet ls names every row and sums up",
                 "[console][fleet]") {
  options.fleet_parallel = 2;
  start_console();
  for (auto name : {"web1", "web2", "db1", "db2", "web3"})
    add_node(name);
  auto out = type("ls web*:/sub");
  CHECK(contains(out, "web1: file"));
  CHECK(contains(out, "web3: file"));
  CHECK_FALSE(contains(out, "db1:"));
  CHECK(contains(out, "3 nodes answered, 0 failed, 0 timed out\n"));
  out = type("ls {db2,web1}:/nope");
  CHECK(contains(out, "db2: " + error_line(wire_code::not_found,
                                           "no such directory: /nope")));
  CHECK(contains(out, "0 nodes answered, 2 failed, 0 timed out\n"));
  out = type("ls nothing*:/");
  CHECK(out == error_line(wire_code::not_found,
                          "no node matches 'nothing*' (see 'nodes')"));
}

TEST_CASE_METHOD(console_fixture,
                 "console: a fleet command keeps at most fleet-parallel "
                 "requests in flight and Ctrl-C cancels each",
                 "[console][fleet]") {
  options.fleet_parallel = 3;
  start_console();
  std::vector<node> fleet;
  for (int i = 0; i < 8; ++i) {
    fleet.push_back(add_node("n" + std::to_string(i)));
    fleet.back().log->silent = true;
  }
  auto asked = [&fleet] {
    size_t n = 0;
    for (auto& x : fleet)
      n += x.log->requests.size();
    return n;
  };
  CHECK(type("ls all:/").empty());
  // Eight nodes selected, none answers: three asked, five waiting.
  CHECK(asked() == 3);
  caf::anon_send(con, atom::cancel_v);
  run();
  auto out = printed();
  CHECK(contains(out, "0 nodes answered, 0 failed, 0 timed out, "
                      "8 cancelled\n"));
  CHECK(contains(out, "cancelled\n"));
  // Each node asked got its cancel; the others were never asked.
  CHECK(asked() == 3);
  size_t cancels = 0;
  for (auto& x : fleet) {
    CHECK(x.log->cancels.size() == x.log->requests.size());
    cancels += x.log->cancels.size();
  }
  CHECK(cancels == 3);
  // The console takes commands again.
  for (auto& x : fleet)
    x.log->silent = false;
  out = type("ls all:/sub");
  CHECK(contains(out, "8 nodes answered, 0 failed, 0 timed out\n"));
}

TEST_CASE_METHOD(console_fixture,
                 "console: use with a selector selects a set and the prompt "
                 "shows it",
                 "[console][fleet]") {
  start_console(true);
  add_node("web1");
  add_node("web2");
  add_node("db1");
  CHECK(type("use web*") == "using web* (2 of 3 nodes now)\n");
  CHECK(prompts->back() == "dirscope web*:/> ");
  CHECK(type("cd sub").empty());
  CHECK(prompts->back() == "dirscope web*:/sub> ");
  CHECK(type("pwd") == "web*:/sub\n");
  auto out = type("ls");
  CHECK(contains(out, "web1: file"));
  CHECK(contains(out, "web2: file"));
  CHECK_FALSE(contains(out, "db1"));
  // Commands for one node refuse the set.
  CHECK(contains(type("get b"), "takes one node"));
  // One node again: as before selectors.
  CHECK(type("use db1") == "using node db1 (host-db1, root /srv/db1)\n");
  CHECK(prompts->back() == "dirscope db1:/> ");
  CHECK(starts_with(type("ls"), "TYPE"));
  CHECK(contains(type("use {a,"), "bad node selector"));
}
