// The node's side: client_connection over the test multiplexer with a pool
// of fs_workers (spawned non-detached, so their blocking I/O runs on the
// test thread) serving a real temporary directory. The tests play the
// server.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <caf/exit_reason.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/client/client_connection.hpp"
#include "actors/client/fs_worker.hpp"
#include "actors/server/console.hpp"
#include "actors/server/node_connection.hpp"
#include "actors/server/supervisor.hpp"
#include "node/confine.hpp"
#include "node/sha256.hpp"
#include "protocol/paths.hpp"
#include "shell/render.hpp"
#include "tests/actors/fixture.hpp"

using namespace dirscope;
using namespace dirscope::test;
using caf::io::connection_handle;
namespace fs = std::filesystem;

namespace {

struct agent_log {
  size_t welcomed = 0;
  size_t other = 0;
};

node_agent_actor::behavior_type fake_agent(node_agent_actor::pointer,
                                           std::shared_ptr<agent_log> log) {
  return {
    [log](atom::connect) { ++log->other; },
    [log](atom::welcomed) { ++log->welcomed; },
    [log](atom::shutdown) { ++log->other; },
    [log](atom::echo, const std::string&) { ++log->other; },
  };
}

/// A temporary directory tree, removed at the end.
struct temp_tree {
  fs::path root;

  temp_tree() {
    std::string tmpl = (fs::temp_directory_path() / "dirscope-actors-XXXXXX");
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
  }

  ~temp_tree() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  void file(const std::string& path, const std::string& content) {
    fs::create_directories((root / path).parent_path());
    std::ofstream out{root / path, std::ios::binary};
    out << content;
  }

  void dir(const std::string& path) {
    fs::create_directories(root / path);
  }
};

struct client_fixture : fixture {
  static constexpr uint16_t port = 3443;

  temp_tree tree;
  client_settings settings;
  std::shared_ptr<agent_log> agent_events = std::make_shared<agent_log>();
  node_agent_actor agent;
  worker_pool pool;
  caf::actor conn;
  connection_handle ch = connection_handle::from_int(7);

  client_fixture() {
    tree.file("a.txt", "hello\n");
    tree.file("b.bin", std::string(100'000, 'x'));
    tree.dir("sub");
    tree.file("sub/c.txt", "c");
    settings.server_host = "server.test";
    settings.server_port = port;
    settings.root = tree.root.string();
    settings.name = "alpha";
    settings.hostname = "host-alpha";
    settings.heartbeat_interval = 10s;
    settings.heartbeat_misses = 3;
    settings.token = "tok";
    agent = track(sys.spawn(fake_agent, agent_events));
  }

  /// Opens the root, spawns the workers and connects.
  void start(size_t workers = 2) {
    auto root = node::open_root(settings.root);
    REQUIRE(root);
    auto root_fd = std::make_shared<const node::unique_fd>(std::move(*root));
    auto cache = std::make_shared<node::hash_cache>();
    for (size_t i = 0; i < workers; ++i)
      pool.workers.push_back(track(
        sys.spawn(fs_worker, root_fd, cache, settings.sort_limit,
                  std::make_shared<std::atomic<bool>>(false))));
    mpx.provide_scribe(settings.server_host, port, ch);
    auto hdl = sys.middleman().spawn_client(client_connection,
                                            settings.server_host, port,
                                            settings, pool, agent,
                                            std::shared_ptr<tls::context>{});
    REQUIRE(hdl);
    conn = track(*hdl);
    run();
  }

  /// Starts and completes the handshake.
  void start_serving(uint32_t heartbeat_ms = 10'000) {
    start();
    REQUIRE(only<protocol::hello>(sent()).size() == 1);
    send(protocol::welcome{1, 1'700'000'000'000'000'000, heartbeat_ms,
                           protocol::default_max_frame});
    REQUIRE(agent_events->welcomed == 1);
  }

  void send(const protocol::message& msg) {
    mpx.virtual_send(ch, frame(msg));
    run();
  }

  std::vector<protocol::message> sent() {
    return drain_frames(mpx.output_buffer(ch));
  }

  template <class T>
  static T single(const std::vector<protocol::message>& xs) {
    auto ys = only<T>(xs);
    REQUIRE(ys.size() == 1);
    return ys[0];
  }

  bool closed() {
    return mpx.impl_ptr(ch) == nullptr || mpx.stopped_reading(ch);
  }

  /// Acks every chunk of `id` until list_end or request_failed arrives;
  /// returns every frame seen. Never more than chunk_window unacked.
  std::vector<protocol::message> drain_listing(uint32_t id) {
    std::vector<protocol::message> all;
    for (int round = 0; round < 1000; ++round) {
      auto out = sent();
      all.insert(all.end(), out.begin(), out.end());
      auto chunks = only<protocol::entries_chunk>(out).size();
      CHECK(chunks <= protocol::chunk_window);
      if (!only<protocol::list_end>(out).empty()
          || !only<protocol::request_failed>(out).empty())
        return all;
      REQUIRE(chunks > 0);
      for (size_t i = 0; i < chunks; ++i)
        send(protocol::chunk_ack{id});
    }
    FAIL("listing never ended");
    return all;
  }

  static std::vector<protocol::entry>
  entries_of(const std::vector<protocol::message>& xs) {
    std::vector<protocol::entry> result;
    for (auto& chunk : only<protocol::entries_chunk>(xs))
      result.insert(result.end(), chunk.entries.begin(), chunk.entries.end());
    return result;
  }
};

std::vector<std::string> names_of(const std::vector<protocol::entry>& xs) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.push_back(x.name);
  return result;
}

using names = std::vector<std::string>;

} // namespace

TEST_CASE_METHOD(client_fixture, "client: says hello and waits for the welcome",
                 "[client]") {
  start();
  auto out = sent();
  REQUIRE(out.size() == 1);
  auto hello = single<protocol::hello>(out);
  CHECK(hello.version == protocol::version);
  CHECK(hello.node_name == "alpha");
  CHECK(hello.hostname == "host-alpha");
  CHECK(hello.root == settings.root);
  CHECK(hello.token == "tok");
  CHECK((hello.capabilities & protocol::capability::list) != 0);
  CHECK((hello.capabilities & protocol::capability::stat) != 0);
  CHECK((hello.capabilities & protocol::capability::hash) != 0);
  CHECK(agent_events->welcomed == 0);
  auto conn_down = watch(conn);
  SECTION("welcome") {
    send(protocol::welcome{9, 1, 5'000, protocol::default_max_frame});
    CHECK(agent_events->welcomed == 1);
    CHECK(sent().empty());
    CHECK_FALSE(closed());
  }
  SECTION("reject: the connection ends with the server's reason") {
    send(protocol::reject{wire_code::name_taken, "taken"});
    REQUIRE(conn_down->down);
    CHECK(code_of(conn_down->reason) == wire_code::name_taken);
    CHECK(sent().empty());
    CHECK(agent_events->welcomed == 0);
  }
  SECTION("a request before the welcome is a protocol error") {
    send(protocol::stat_request{1, "/a.txt"});
    auto bye = single<protocol::goodbye>(sent());
    CHECK(bye.code == wire_code::protocol_error);
    REQUIRE(conn_down->down);
    CHECK(code_of(conn_down->reason) == wire_code::protocol_error);
  }
}

TEST_CASE_METHOD(client_fixture, "client: heartbeats", "[client]") {
  start_serving(1'000);
  auto conn_down = watch(conn);
  SECTION("every heartbeat is acked with its seq") {
    for (uint64_t seq : {1u, 2u, 7u}) {
      send(protocol::heartbeat{seq, 1});
      CHECK(single<protocol::heartbeat_ack>(sent()).seq == seq);
      advance(1s);
    }
    CHECK_FALSE(conn_down->down);
  }
  SECTION("a silent server is dropped after three of the welcome's "
          "intervals") {
    // heartbeat_ms 1000 from the welcome, not the 10 s of the settings.
    advance(3s);
    CHECK_FALSE(conn_down->down);
    advance(1s);
    REQUIRE(conn_down->down);
    CHECK(code_of(conn_down->reason) == wire_code::timeout);
  }
}

TEST_CASE_METHOD(client_fixture, "client: stat requests", "[client]") {
  start_serving();
  SECTION("a file, with its hash") {
    send(protocol::stat_request{1, "/a.txt"});
    auto reply = single<protocol::stat_reply>(sent());
    CHECK(reply.id == 1u);
    CHECK(reply.item.name == "a.txt");
    CHECK(reply.item.type == protocol::entry_type::file);
    CHECK(reply.item.size == 6u);
    REQUIRE(reply.item.sha256);
    CHECK(*reply.item.sha256 == node::sha256_bytes("hello\n"));
  }
  SECTION("a directory") {
    send(protocol::stat_request{2, "/sub"});
    auto reply = single<protocol::stat_reply>(sent());
    CHECK(reply.item.type == protocol::entry_type::dir);
    CHECK(reply.item.items == 1u);
  }
  SECTION("failures") {
    send(protocol::stat_request{3, "/missing"});
    auto f1 = single<protocol::request_failed>(sent());
    CHECK(f1.id == 3u);
    CHECK(f1.code == wire_code::not_found);
    send(protocol::stat_request{4, "/../etc"});
    CHECK(single<protocol::request_failed>(sent()).code
          == wire_code::outside_root);
    send(protocol::stat_request{5, "relative"});
    CHECK(single<protocol::request_failed>(sent()).code
          == wire_code::bad_request);
    // The ids are free again.
    send(protocol::stat_request{3, "/a.txt"});
    CHECK(single<protocol::stat_reply>(sent()).id == 3u);
    CHECK_FALSE(closed());
  }
}

TEST_CASE_METHOD(client_fixture, "client: listing", "[client]") {
  start_serving();
  SECTION("a small directory, sorted and hashed") {
    send(protocol::list_request{1, "/", protocol::list_flags::with_hashes});
    auto out = drain_listing(1);
    auto xs = entries_of(out);
    CHECK(names_of(xs) == names{"a.txt", "b.bin", "sub"});
    auto end = single<protocol::list_end>(out);
    CHECK(end.id == 1u);
    CHECK(end.total == 3u);
    CHECK(end.sorted);
    REQUIRE(xs.size() == 3);
    REQUIRE(xs[1].sha256);
    CHECK(*xs[1].sha256 == node::sha256_bytes(std::string(100'000, 'x')));
    CHECK(xs[2].items == 1u);
    CHECK_FALSE(xs[2].sha256);
  }
  SECTION("without hashes") {
    send(protocol::list_request{1, "/", 0});
    auto xs = entries_of(drain_listing(1));
    REQUIRE(xs.size() == 3);
    CHECK_FALSE(xs[0].sha256);
  }
  SECTION("failures") {
    send(protocol::list_request{1, "/a.txt", 0});
    auto f1 = single<protocol::request_failed>(sent());
    CHECK(f1.code == wire_code::not_a_directory);
    send(protocol::list_request{2, "/nope", 0});
    CHECK(single<protocol::request_failed>(sent()).code
          == wire_code::not_found);
    send(protocol::list_request{3, "/a/../..", 0});
    auto f3 = single<protocol::request_failed>(sent());
    CHECK((f3.code == wire_code::bad_request
           || f3.code == wire_code::outside_root));
    CHECK_FALSE(closed());
  }
  SECTION("a request id already in flight is a protocol error") {
    tree.dir("many");
    for (int i = 0; i < 2000; ++i)
      tree.file("many/f" + std::to_string(i), "");
    send(protocol::list_request{1, "/many", 0});
    sent();
    send(protocol::stat_request{1, "/a.txt"});
    CHECK(single<protocol::goodbye>(sent()).code == wire_code::protocol_error);
    CHECK(closed());
  }
}

TEST_CASE_METHOD(client_fixture,
                 "client: flow control keeps at most chunk_window chunks "
                 "unacknowledged",
                 "[client]") {
  tree.dir("many");
  for (int i = 0; i < 1500; ++i)
    tree.file("many/f" + std::to_string(10000 + i), "");
  start_serving();
  send(protocol::list_request{1, "/many", 0});
  auto first = sent();
  auto chunks = only<protocol::entries_chunk>(first);
  CHECK(chunks.size() == protocol::chunk_window);
  CHECK(only<protocol::list_end>(first).empty());
  for (auto& c : chunks)
    CHECK(c.entries.size() <= protocol::max_entries_per_chunk);
  SECTION("acks release the rest") {
    send(protocol::chunk_ack{1});
    auto next = sent();
    CHECK(only<protocol::entries_chunk>(next).size() == 1);
    // Acks for other ids change nothing.
    send(protocol::chunk_ack{2});
    CHECK(sent().empty());
    send(protocol::chunk_ack{1});
    auto rest = drain_listing(1);
    auto all = first;
    all.insert(all.end(), next.begin(), next.end());
    all.insert(all.end(), rest.begin(), rest.end());
    auto xs = entries_of(all);
    CHECK(xs.size() == 1500);
    CHECK(std::is_sorted(xs.begin(), xs.end(),
                         [](auto& x, auto& y) { return x.name < y.name; }));
    auto end = single<protocol::list_end>(all);
    CHECK(end.total == 1500u);
    CHECK(end.sorted);
  }
  SECTION("cancel stops the listing") {
    send(protocol::cancel{1});
    auto failed = single<protocol::request_failed>(sent());
    CHECK(failed.id == 1u);
    CHECK(failed.code == wire_code::cancelled);
    for (int i = 0; i < 4; ++i)
      send(protocol::chunk_ack{1});
    CHECK(sent().empty());
    // A cancel for a finished request is ignored.
    send(protocol::cancel{1});
    CHECK(sent().empty());
    CHECK_FALSE(closed());
  }
}

TEST_CASE_METHOD(client_fixture, "client: closing", "[client]") {
  start_serving();
  auto conn_down = watch(conn);
  SECTION("the server says goodbye") {
    send(protocol::goodbye{wire_code::kicked, "bye"});
    CHECK(sent().empty());
    REQUIRE(conn_down->down);
    CHECK(conn_down->reason == caf::exit_reason::normal);
  }
  SECTION("the agent stops the node") {
    caf::anon_send(caf::actor_cast<client_connection_actor>(conn),
                   atom::goodbye_v,
                   make_error(wire_code::client_exit, "the node is stopping"));
    run();
    auto bye = single<protocol::goodbye>(sent());
    CHECK(bye.code == wire_code::client_exit);
    CHECK(bye.reason == "the node is stopping");
    REQUIRE(conn_down->down);
    CHECK(closed());
  }
  SECTION("the server disconnects") {
    mpx.impl_ptr(ch)->io_failure(&mpx, caf::io::network::operation::read);
    run();
    REQUIRE(conn_down->down);
    CHECK(code_of(conn_down->reason) == wire_code::io_error);
  }
  SECTION("garbage from the server") {
    mpx.virtual_send(ch, byte_buffer(16, '\xff'));
    run();
    CHECK(single<protocol::goodbye>(sent()).code == wire_code::protocol_error);
    REQUIRE(conn_down->down);
    CHECK(code_of(conn_down->reason) == wire_code::protocol_error);
  }
}

TEST_CASE_METHOD(client_fixture, "client: echo lines are capped by the frame "
                 "limits", "[client]") {
  start();
  sent();
  auto conn_down = watch(conn);
  auto echo = [this](std::string line) {
    caf::anon_send(caf::actor_cast<client_connection_actor>(conn),
                   atom::echo_v, std::move(line));
    run();
    return only<protocol::echo>(sent());
  };
  // The frame body of an echo: tag, text length, text.
  constexpr size_t overhead = 1 + 4;
  // A refused line is no reason to leave.
  auto still_serving = [&] {
    send(protocol::heartbeat{1, 1});
    CHECK(single<protocol::heartbeat_ack>(sent()).seq == 1u);
    CHECK_FALSE(conn_down->down);
    CHECK_FALSE(closed());
  };
  SECTION("the server's limit, from its welcome") {
    send(protocol::welcome{1, 1, 10'000, protocol::min_frame_limit});
    auto fits = std::string(protocol::min_frame_limit - overhead, 'x');
    auto sent_lines = echo(fits);
    REQUIRE(sent_lines.size() == 1);
    CHECK(sent_lines[0].text == fits);
    CHECK(echo(fits + "y").empty());
    still_serving();
  }
  SECTION("ours, when the server takes more: the reply must fit") {
    send(protocol::welcome{1, 1, 10'000, protocol::absolute_max_frame});
    auto fits = std::string(settings.max_frame - overhead, 'x');
    CHECK(echo(fits).size() == 1);
    CHECK(echo(fits + "y").empty());
    still_serving();
  }
  SECTION("none before the welcome") {
    CHECK(echo("early").empty());
    send(protocol::welcome{1, 1, 10'000, protocol::default_max_frame});
    CHECK(echo("now").size() == 1);
    still_serving();
  }
}

TEST_CASE_METHOD(client_fixture, "client: a closed connection leaves no actor "
                 "behind", "[client]") {
  start(); // the workers and a first connection, which stays
  auto baseline = sys.registry().running();
  for (int i = 0; i < 20; ++i) {
    auto hdl = connection_handle::from_int(100 + i);
    mpx.provide_scribe(settings.server_host, port, hdl);
    caf::actor_addr addr;
    {
      auto c = sys.middleman().spawn_client(client_connection,
                                            settings.server_host, port,
                                            settings, pool, agent,
                                            std::shared_ptr<tls::context>{});
      REQUIRE(c);
      addr = c->address();
    }
    run();
    CHECK(sys.registry().running() == baseline + 1);
    if (i % 2 == 1) {
      mpx.virtual_send(hdl, frame(protocol::welcome{
                              1, 1, 10'000, protocol::default_max_frame}));
      run();
    }
    mpx.impl_ptr(hdl)->io_failure(&mpx, caf::io::network::operation::read);
    run();
    CHECK(sys.registry().running() == baseline);
    // Once its last liveness tick (at most a second away) has fired,
    // nothing holds the dead connection: its memory is gone, not only its
    // thread of control. (It used to stay forever.)
    advance(1s);
    CHECK(caf::actor_cast<caf::actor>(addr) == nullptr);
  }
}

// -- end to end ---------------------------------------------------------------

namespace {

/// The whole system in one process: console, supervisor, acceptor and
/// node_connection on the server side, client_connection and fs_workers on
/// the node side. The test multiplexer's two connection handles are joined
/// by copying what each side writes into the other's input.
struct e2e_fixture : client_fixture {
  server_settings server;
  supervisor_actor sup;
  console_actor con;
  std::shared_ptr<std::string> output = std::make_shared<std::string>();
  caf::io::accept_handle ah = caf::io::accept_handle::from_int(1);
  connection_handle server_ch = connection_handle::from_int(8);

  e2e_fixture() {
    mpx.provide_acceptor(port, ah);
    sup = track(sys.spawn(supervisor, server));
    auto& mm = sys.middleman();
    auto doorman = mm.backend().new_tcp_doorman(port, nullptr, true);
    REQUIRE(doorman);
    track(mm.spawn_broker(acceptor, std::move(*doorman), sup, server,
                          tls_context_ptr{}));
    auto out = output;
    con = track(sys.spawn(console, sup,
                          console_output{[out](const std::string& text) {
                            *out += text;
                          }},
                          console_prompt{}, console_options{}));
    run();
    mpx.add_pending_connect(ah, server_ch);
    mpx.accept_connection(ah);
    run();
    start();
    settle();
    REQUIRE(agent_events->welcomed == 1);
  }

  /// Runs and carries bytes between the two ends until nothing moves.
  void settle() {
    for (;;) {
      run();
      bool moved = false;
      auto carry = [&](connection_handle from, connection_handle to) {
        if (mpx.impl_ptr(from) == nullptr || mpx.impl_ptr(to) == nullptr)
          return;
        auto& buf = mpx.output_buffer(from);
        if (buf.empty())
          return;
        byte_buffer bytes;
        bytes.swap(buf);
        mpx.virtual_send(to, bytes);
        moved = true;
      };
      carry(ch, server_ch);
      carry(server_ch, ch);
      if (!moved)
        return;
    }
  }

  std::string type(const std::string& line) {
    caf::anon_send(con, atom::line_v, line);
    settle();
    auto result = std::move(*output);
    output->clear();
    return result;
  }

  /// What the node itself reports for `path` (via the same library).
  protocol::entry local_stat(const std::string& path) {
    auto root = node::open_root(settings.root);
    REQUIRE(root);
    auto x = node::stat_entry(root->get(), path, true, nullptr);
    REQUIRE(x);
    return *x;
  }
};

} // namespace

TEST_CASE_METHOD(e2e_fixture, "end to end: the operator browses a node",
                 "[e2e]") {
  auto xs = [this] {
    auto r = request<std::vector<node_info>>(sup, atom::nodes_v);
    run();
    REQUIRE(r->value);
    return r->get();
  }();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].name == "alpha");
  CHECK(xs[0].root == settings.root);
  SECTION("ls shows real entries with their hashes") {
    auto expected = shell::render_listing_header();
    for (auto name : {"/a.txt", "/b.bin", "/sub"}) {
      auto x = local_stat(name);
      x.name = protocol::split_node_path(name)->back();
      expected += shell::render_entry_line(x);
    }
    expected += shell::render_listing_footer(3, true);
    CHECK(type("ls alpha:/") == expected);
  }
  SECTION("stat") {
    CHECK(type("stat alpha:/b.bin")
          == shell::render_stat("alpha", "/b.bin", local_stat("/b.bin")));
  }
  SECTION("use, cd and tree") {
    type("use alpha");
    CHECK(type("cd sub").empty());
    CHECK(type("pwd") == "alpha:/sub\n");
    auto text = type("tree /");
    CHECK(text.find("c.txt") != std::string::npos);
    CHECK(text.find(shell::render_tree_footer(1, 3)) != std::string::npos);
  }
  SECTION("a large directory streams through flow control") {
    tree.dir("many");
    for (int i = 0; i < 1500; ++i)
      tree.file("many/f" + std::to_string(10000 + i), "x");
    auto text = type("ls --json alpha:/many");
    CHECK(std::count(text.begin(), text.end(), '\n') == 1500);
    CHECK(type("ls alpha:/many").find(shell::render_listing_footer(1500, true))
          != std::string::npos);
  }
  SECTION("errors from the node reach the operator") {
    auto text = type("ls alpha:/missing");
    CHECK(text.rfind("error: ", 0) == 0);
    CHECK(text.find("(not_found)") != std::string::npos);
    CHECK(type("ls alpha:/a.txt")
          == shell::render_stat("alpha", "/a.txt", local_stat("/a.txt")));
  }
  SECTION("kick ends the node's connection normally") {
    auto conn_down = watch(conn);
    CHECK(type("kick alpha").rfind("kicked alpha", 0) == 0);
    REQUIRE(conn_down->down);
    CHECK(conn_down->reason == caf::exit_reason::normal);
    CHECK(type("nodes") == "no nodes connected\n");
  }
  SECTION("end of input: goodbye(shutdown) reaches the node") {
    auto conn_down = watch(conn);
    auto con_down = watch(con);
    caf::anon_send(con, atom::eof_v);
    settle();
    CHECK(con_down->down);
    REQUIRE(conn_down->down);
    CHECK(conn_down->reason == caf::exit_reason::normal);
  }
}
