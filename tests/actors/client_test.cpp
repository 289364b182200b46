// The node's side: client_connection over the test multiplexer with a pool
// of fs_workers (spawned non-detached, so their blocking I/O runs on the
// test thread) serving a real temporary directory. The tests play the
// server.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <caf/exit_reason.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/client/client_connection.hpp"
#include "actors/client/fs_worker.hpp"
#include "actors/client/node_agent.hpp"
#include "actors/server/console.hpp"
#include "actors/server/acceptor.hpp"
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

  void link(const std::string& path, const std::string& target) {
    fs::create_symlink(target, root / path);
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
  void start_serving(uint32_t heartbeat_ms = 10'000,
                     uint32_t max_frame = protocol::default_max_frame) {
    start();
    REQUIRE(only<protocol::hello>(sent()).size() == 1);
    send(protocol::welcome{1, 1'700'000'000'000'000'000, heartbeat_ms,
                           max_frame});
    REQUIRE(agent_events->welcomed == 1);
  }

  void send(const protocol::message& msg) {
    mpx.virtual_send(ch, frame(msg));
    run();
  }

  /// Sends `msgs` in one segment: the node reads them in one go.
  void send_segment(const std::vector<protocol::message>& msgs) {
    mpx.virtual_send(ch, segment(msgs));
    run();
  }

  static byte_buffer segment(const std::vector<protocol::message>& msgs) {
    byte_buffer bytes;
    for (auto& msg : msgs) {
      auto f = frame(msg);
      bytes.insert(bytes.end(), f.begin(), f.end());
    }
    return bytes;
  }

  /// What the node wrote so far, without taking it off the socket.
  std::vector<protocol::message> peek() {
    auto copy = mpx.output_buffer(ch);
    return drain_frames(copy);
  }

  /// Acks every data chunk of `id` until download_end (or request_failed,
  /// unless `through_failures`) arrives; returns every frame seen.
  std::vector<protocol::message> drain_download(uint32_t id,
                                                bool through_failures = false) {
    std::vector<protocol::message> all;
    for (int round = 0; round < 10'000; ++round) {
      auto out = sent();
      all.insert(all.end(), out.begin(), out.end());
      if (!only<protocol::download_end>(out).empty()
          || (!through_failures && !only<protocol::request_failed>(out).empty())
          || !only<protocol::goodbye>(out).empty())
        return all;
      auto chunks = only<protocol::data_chunk>(out).size();
      REQUIRE(chunks > 0);
      send_segment(std::vector<protocol::message>(chunks,
                                                  protocol::chunk_ack{id}));
    }
    FAIL("download never ended");
    return all;
  }

  /// Plays a server that uploads `content` as upload `id` in chunks of
  /// `chunk` bytes, never more than data_window unacknowledged; stops early
  /// when the node fails the upload or leaves. Returns every frame seen.
  std::vector<protocol::message> upload(uint32_t id, const std::string& content,
                                        size_t chunk = 1000) {
    std::vector<protocol::message> all;
    size_t offset = 0;
    size_t unacked = 0;
    for (int round = 0; round < 10'000 && offset < content.size(); ++round) {
      std::vector<protocol::message> xs;
      while (unacked < protocol::data_window && offset < content.size()) {
        auto n = std::min(chunk, content.size() - offset);
        xs.push_back(protocol::data_chunk{id, offset, content.substr(offset, n)});
        offset += n;
        ++unacked;
      }
      send_segment(xs);
      auto out = sent();
      all.insert(all.end(), out.begin(), out.end());
      unacked -= only<protocol::chunk_ack>(out).size();
      if (!only<protocol::request_failed>(out).empty()
          || !only<protocol::goodbye>(out).empty())
        break;
    }
    return all;
  }

  /// Names in the root directory.
  std::vector<std::string> root_names() {
    std::vector<std::string> result;
    for (auto& x : fs::directory_iterator(tree.root))
      result.push_back(x.path().filename().string());
    std::sort(result.begin(), result.end());
    return result;
  }

  /// Takes what the node wrote off its socket, as the multiplexer reports
  /// it to the broker (data_transferred_msg), and runs.
  std::vector<protocol::message> sent() {
    auto& buf = mpx.output_buffer(ch);
    auto n = buf.size();
    auto result = drain_frames(buf);
    if (n > 0 && conn) {
      caf::anon_send(conn, caf::io::data_transferred_msg{ch, n, 0});
      run();
    }
    return result;
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

/// The kinds of `xs` in order, for failure messages.
std::string kinds_of(const std::vector<protocol::message>& xs) {
  std::string result;
  for (auto& x : xs) {
    result += protocol::name_of(x);
    result += ' ';
  }
  return result;
}

/// Body bytes of `msg` on the wire (what max_frame limits).
size_t body_size(const protocol::message& msg) {
  return protocol::encode(msg).value().size() - protocol::frame_header_size;
}

/// `n` bytes that differ from chunk to chunk.
std::string pattern(size_t n, char seed = 0) {
  std::string result(n, '\0');
  for (size_t i = 0; i < n; ++i)
    result[i] = static_cast<char>((i * 131 + i / 4093 + seed) & 0xff);
  return result;
}

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

// Issue 9, item 6: a node paused (SIGSTOP, VM pause, swap) longer than the
// heartbeat timeout finds, when it resumes, both the server's
// goodbye(timeout) and its own clock 35 s ahead. Either way only the
// connection ends, with a reason the agent retries.
TEST_CASE_METHOD(client_fixture,
                 "client: a node paused past the heartbeat timeout reconnects",
                 "[client]") {
  start_serving();
  auto conn_down = watch(conn);
  SECTION("goodbye(timeout) and 35 s on the clock at once") {
    mpx.virtual_send(ch, frame(protocol::goodbye{
                           wire_code::timeout,
                           "the node stopped answering heartbeats"}));
    advance(35s);
    REQUIRE(conn_down->down);
    // Before the fix: exit_reason::normal, and the node quit for good.
    REQUIRE(conn_down->reason != caf::exit_reason::normal);
    CHECK(code_of(conn_down->reason) == wire_code::timeout);
    CHECK(is_retryable(conn_down->reason));
  }
  SECTION("goodbye(timeout) alone") {
    send(protocol::goodbye{wire_code::timeout, "heartbeats"});
    REQUIRE(conn_down->down);
    // Before the fix: exit_reason::normal, and the node quit for good.
    REQUIRE(conn_down->reason != caf::exit_reason::normal);
    CHECK(code_of(conn_down->reason) == wire_code::timeout);
    CHECK(is_retryable(conn_down->reason));
  }
  SECTION("the node's own clock first") {
    advance(35s);
    REQUIRE(conn_down->down);
    // Before the fix: exit_reason::normal, and the node quit for good.
    REQUIRE(conn_down->reason != caf::exit_reason::normal);
    CHECK(code_of(conn_down->reason) == wire_code::timeout);
    CHECK(is_retryable(conn_down->reason));
  }
  SECTION("goodbye(protocol_error) ends the connection only") {
    send(protocol::goodbye{wire_code::protocol_error, "confused"});
    REQUIRE(conn_down->down);
    REQUIRE(conn_down->reason != caf::exit_reason::normal);
    CHECK(is_retryable(conn_down->reason));
  }
  SECTION("goodbye(restarting) from a service: the node comes back") {
    send(protocol::goodbye{wire_code::restarting, "server restarting"});
    REQUIRE(conn_down->down);
    REQUIRE(conn_down->reason != caf::exit_reason::normal);
    CHECK(code_of(conn_down->reason) == wire_code::restarting);
    CHECK(is_retryable(conn_down->reason));
  }
  SECTION("the server stopping dismisses the node") {
    send(protocol::goodbye{wire_code::shutdown, "the server is shutting down"});
    REQUIRE(conn_down->down);
    CHECK(conn_down->reason == caf::exit_reason::normal);
    CHECK_FALSE(is_retryable(conn_down->reason));
  }
}

TEST_CASE("client: only kick, shutdown and ok dismiss a node", "[client]") {
  CHECK(ends_node(wire_code::kicked));
  CHECK(ends_node(wire_code::shutdown));
  CHECK(ends_node(wire_code::ok));
  CHECK_FALSE(ends_node(wire_code::restarting));
  CHECK_FALSE(ends_node(wire_code::timeout));
  CHECK_FALSE(ends_node(wire_code::protocol_error));
  CHECK_FALSE(ends_node(wire_code::io_error));
}

TEST_CASE("client: reconnect waits are jittered within [backoff/2, backoff]",
          "[client]") {
  using std::chrono::milliseconds;
  CHECK(jittered(milliseconds{1000}, 0) == milliseconds{500});
  CHECK(jittered(milliseconds{1000}, 500) == milliseconds{1000});
  CHECK(jittered(milliseconds{1000}, 501) == milliseconds{500});
  CHECK(jittered(milliseconds{1}, 0) == milliseconds{0});
  CHECK(jittered(milliseconds{1}, 1) == milliseconds{1});
  std::minstd_rand rng{42};
  milliseconds low{30'000};
  milliseconds high{0};
  for (int i = 0; i < 1000; ++i) {
    auto x = jittered(milliseconds{30'000}, rng());
    low = std::min(low, x);
    high = std::max(high, x);
  }
  CHECK(low >= milliseconds{15'000});
  CHECK(high <= milliseconds{30'000});
  CHECK(high - low > milliseconds{10'000}); // spread out, not one instant
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

// -- a rogue server -----------------------------------------------------------

TEST_CASE_METHOD(client_fixture,
                 "client: a chunk_ack in the segment of its list_request is a "
                 "protocol error, not a crash",
                 "[client][rogue]") {
  start_serving();
  auto conn_down = watch(conn);
  // The ack reaches the node before the directory is open and before any
  // chunk was sent: the server cannot have consumed one.
  send_segment({protocol::list_request{1, "/", 0}, protocol::chunk_ack{1}});
  auto bye = single<protocol::goodbye>(sent());
  CHECK(bye.code == wire_code::protocol_error);
  REQUIRE(conn_down->down);
  CHECK(code_of(conn_down->reason) == wire_code::protocol_error);
}

TEST_CASE_METHOD(client_fixture,
                 "client: an ack beyond the chunks sent is a protocol error",
                 "[client][rogue]") {
  settings.allow_download = true;
  start_serving();
  SECTION("an ack for an ended request is ignored") {
    send(protocol::list_request{1, "/", 0});
    auto out = sent();
    REQUIRE(only<protocol::entries_chunk>(out).size() == 1);
    REQUIRE(only<protocol::list_end>(out).empty() == false);
    // Ended: acks for it are ignored.
    send(protocol::chunk_ack{1});
    CHECK(sent().empty());
    CHECK_FALSE(closed());
  }
  SECTION("one ack more than chunks sent") {
    tree.dir("many");
    for (int i = 0; i < 1500; ++i)
      tree.file("many/f" + std::to_string(i), "");
    send(protocol::list_request{1, "/many", 0});
    auto chunks = only<protocol::entries_chunk>(sent()).size();
    REQUIRE(chunks == protocol::chunk_window);
    send_segment(std::vector<protocol::message>(chunks + 1,
                                                protocol::chunk_ack{1}));
    CHECK(single<protocol::goodbye>(sent()).code == wire_code::protocol_error);
    CHECK(closed());
  }
}

TEST_CASE_METHOD(client_fixture,
                 "client: nothing of a cancelled download leaves the node "
                 "after its request_failed",
                 "[client][rogue]") {
  settings.allow_download = true;
  auto old_bytes = std::string(40 * protocol::max_data_chunk, 'o');
  auto new_bytes = pattern(30 * protocol::max_data_chunk);
  tree.file("old.bin", old_bytes);
  tree.file("new.bin", new_bytes);
  start_serving();
  send(protocol::download_request{1, "/old.bin", 0, 0});
  REQUIRE(only<protocol::data_chunk>(sent()).size() == protocol::data_window);
  // The server cancels and reuses the id at once.
  send_segment({protocol::cancel{1},
                protocol::download_request{1, "/new.bin", 0, 0}});
  // A chunk the old sender handed over before it stopped reaches the
  // connection only now (on a real node it races the cancel); this actor
  // stands in for that sender.
  auto stale = std::string(protocol::max_data_chunk, 'o');
  auto handle = caf::actor_cast<client_connection_actor>(conn);
  sys.spawn([handle, stale](caf::event_based_actor* self) {
    self->send(handle, atom::data_v, uint32_t{1},
               uint64_t{protocol::data_window * protocol::max_data_chunk},
               stale);
  });
  run();
  auto out = drain_download(1, true);
  INFO(kinds_of(out));
  auto failed = std::find_if(out.begin(), out.end(), [](auto& x) {
    return std::holds_alternative<protocol::request_failed>(x);
  });
  REQUIRE(failed != out.end());
  CHECK(std::get<protocol::request_failed>(*failed).code
        == wire_code::cancelled);
  std::string received;
  for (auto i = failed; i != out.end(); ++i)
    if (auto x = std::get_if<protocol::data_chunk>(&*i)) {
      CHECK(x->offset == received.size());
      received += x->data;
    }
  CHECK(received == new_bytes);
  auto end = single<protocol::download_end>(out);
  CHECK(end.size == new_bytes.size());
  CHECK(end.sha256 == node::sha256_bytes(new_bytes));
  CHECK_FALSE(closed());
}

TEST_CASE_METHOD(client_fixture,
                 "client: a download waits for the socket, not only for acks",
                 "[client][rogue]") {
  settings.allow_download = true;
  auto content = pattern(6u << 20);
  tree.file("six.bin", content);
  start_serving();
  send(protocol::download_request{1, "/six.bin", 0, 0});
  // A server that acks every chunk the node wrote but never reads the
  // socket (the output buffer is never taken).
  size_t acked = 0;
  for (int round = 0; round < 1000; ++round) {
    auto chunks = only<protocol::data_chunk>(peek()).size();
    if (chunks == acked)
      break;
    send_segment(std::vector<protocol::message>(chunks - acked,
                                                protocol::chunk_ack{1}));
    acked = chunks;
  }
  auto unsent = mpx.output_buffer(ch).size();
  INFO("bytes the node wrote while the server did not read: " << unsent);
  CHECK(unsent < (2u << 20));
  CHECK(only<protocol::download_end>(peek()).empty());
  SECTION("reading the socket lets the download finish") {
    auto out = sent();
    send_segment(std::vector<protocol::message>(
      only<protocol::data_chunk>(out).size() - acked, protocol::chunk_ack{1}));
    auto rest = drain_download(1);
    out.insert(out.end(), rest.begin(), rest.end());
    std::string received;
    for (auto& x : only<protocol::data_chunk>(out)) {
      CHECK(x.offset == received.size());
      received += x.data;
    }
    CHECK(received == content);
    CHECK(single<protocol::download_end>(out).sha256
          == node::sha256_bytes(content));
  }
  SECTION("a cancel drops what waits for the socket") {
    send(protocol::cancel{1});
    auto out = sent();
    // Nudge the node: it writes what waits once the socket has room.
    send(protocol::heartbeat{1, 1});
    auto more = sent();
    out.insert(out.end(), more.begin(), more.end());
    auto failed = std::find_if(out.begin(), out.end(), [](auto& x) {
      return std::holds_alternative<protocol::request_failed>(x);
    });
    REQUIRE(failed != out.end());
    CHECK(std::none_of(failed, out.end(), [](auto& x) {
      return std::holds_alternative<protocol::data_chunk>(x);
    }));
    CHECK(single<protocol::heartbeat_ack>(out).seq == 1u);
    CHECK_FALSE(closed());
  }
}

TEST_CASE_METHOD(client_fixture,
                 "client: large data chunks only with a server whose "
                 "welcome has large_chunks",
                 "[client][large]") {
  settings.allow_download = true;
  settings.allow_upload = true;
  auto content = pattern(2 * protocol::max_large_chunk + 5);
  tree.file("big.bin", content);
  start();
  auto hello = single<protocol::hello>(sent());
  CHECK((hello.capabilities & protocol::capability::large_chunks) != 0);
  auto conn_down = watch(conn);
  SECTION("with it: downloads go out in large chunks, uploads may come so") {
    protocol::welcome w{1, 1, 10'000, protocol::default_max_frame};
    w.features = protocol::server_feature::large_chunks;
    send(w);
    send(protocol::download_request{1, "/big.bin", 0, 0});
    auto chunks = only<protocol::data_chunk>(sent());
    REQUIRE(chunks.size() == 3);
    CHECK(chunks[0].data.size() == protocol::max_large_chunk);
    CHECK(chunks[2].data.size() == 5);
    send(protocol::upload_request{2, "/up.bin", protocol::max_large_chunk, 0});
    send(protocol::data_chunk{2, 0, std::string(protocol::max_large_chunk,
                                                'u')});
    CHECK(single<protocol::chunk_ack>(sent()).id == 2u);
    CHECK_FALSE(closed());
  }
  SECTION("without it: version-1 chunks, a larger one is a protocol error") {
    send(protocol::welcome{1, 1, 10'000, protocol::default_max_frame});
    send(protocol::download_request{1, "/big.bin", 0, 0});
    auto chunks = only<protocol::data_chunk>(sent());
    REQUIRE_FALSE(chunks.empty());
    CHECK(chunks[0].data.size() == protocol::max_data_chunk);
    send(protocol::upload_request{2, "/up.bin", protocol::max_large_chunk, 0});
    send(protocol::data_chunk{2, 0, std::string(protocol::max_data_chunk + 1,
                                                'u')});
    CHECK(only<protocol::goodbye>(sent()).size() == 1);
    REQUIRE(conn_down->down);
    CHECK(code_of(conn_down->reason) == wire_code::protocol_error);
  }
}

TEST_CASE_METHOD(client_fixture, "client: uploads", "[client][rogue]") {
  settings.allow_upload = true;
  start_serving();
  auto conn_down = watch(conn);
  SECTION("within the window and the declared size") {
    auto content = pattern(100'000);
    send(protocol::upload_request{1, "/up.bin", content.size(), 0});
    auto out = upload(1, content);
    CHECK(only<protocol::chunk_ack>(out).size() == 100u);
    send(protocol::upload_end{1, content.size(),
                              node::sha256_bytes(content)});
    CHECK(single<protocol::upload_reply>(sent()).size == content.size());
    std::ifstream in{tree.root / "up.bin", std::ios::binary};
    CHECK(std::string{std::istreambuf_iterator<char>{in}, {}} == content);
  }
  SECTION("more chunks than the window is a protocol error") {
    std::vector<protocol::message> xs{
      protocol::upload_request{1, "/up.bin", 100 * (protocol::data_window + 1),
                               0}};
    for (uint64_t i = 0; i <= protocol::data_window; ++i)
      xs.push_back(protocol::data_chunk{1, i * 100, std::string(100, 'u')});
    send_segment(xs);
    CHECK(single<protocol::goodbye>(sent()).code == wire_code::protocol_error);
    REQUIRE(conn_down->down);
    CHECK(code_of(conn_down->reason) == wire_code::protocol_error);
    CHECK(root_names() == names{"a.txt", "b.bin", "sub"});
  }
  SECTION("more bytes than declared fail the upload, nothing committed") {
    auto content = pattern(200'000);
    send(protocol::upload_request{2, "/ten.bin", 10, 0});
    auto out = upload(2, content);
    send(protocol::upload_end{2, content.size(), node::sha256_bytes(content)});
    auto more = sent();
    out.insert(out.end(), more.begin(), more.end());
    CHECK(only<protocol::upload_reply>(out).empty());
    auto failed = single<protocol::request_failed>(out);
    CHECK(failed.id == 2u);
    CHECK(failed.code == wire_code::bad_request);
    CHECK(root_names() == names{"a.txt", "b.bin", "sub"});
    CHECK_FALSE(closed());
  }
  SECTION("fewer bytes than declared fail the upload") {
    auto content = pattern(50);
    send(protocol::upload_request{3, "/short.bin", 100, 0});
    auto out = upload(3, content);
    send(protocol::upload_end{3, content.size(), node::sha256_bytes(content)});
    auto more = sent();
    out.insert(out.end(), more.begin(), more.end());
    CHECK(only<protocol::upload_reply>(out).empty());
    CHECK(single<protocol::request_failed>(out).code
          == wire_code::bad_request);
    CHECK(root_names() == names{"a.txt", "b.bin", "sub"});
  }
}

TEST_CASE_METHOD(client_fixture,
                 "client: every frame fits the server's max_frame",
                 "[client][rogue]") {
  constexpr uint32_t limit = 4096;
  settings.allow_download = true;
  tree.dir("long");
  for (int i = 0; i < 100; ++i)
    tree.file("long/" + std::string(200, static_cast<char>('a' + i % 26))
                + std::to_string(i),
              "x");
  tree.link("long/link", std::string(1000, 't'));
  start_serving(10'000, limit);
  SECTION("data chunks shrink") {
    send(protocol::download_request{1, "/b.bin", 0, 0});
    auto out = drain_download(1);
    std::string received;
    for (auto& x : out) {
      CHECK(body_size(x) <= limit);
      if (auto chunk = std::get_if<protocol::data_chunk>(&x))
        received += chunk->data;
    }
    CHECK(received == std::string(100'000, 'x'));
    CHECK(single<protocol::download_end>(out).size == 100'000u);
  }
  SECTION("entries chunks shrink") {
    send(protocol::list_request{2, "/long", protocol::list_flags::with_hashes});
    auto out = drain_listing(2);
    for (auto& x : out)
      CHECK(body_size(x) <= limit);
    CHECK(entries_of(out).size() == 101u);
    CHECK(single<protocol::list_end>(out).total == 101u);
  }
  SECTION("a reply that cannot be split fails its request") {
    tree.link("huge", std::string(4090, 'h'));
    send(protocol::stat_request{3, "/huge"});
    auto out = sent();
    CHECK(body_size(out.at(0)) <= limit);
    CHECK(single<protocol::request_failed>(out).code == wire_code::io_error);
    CHECK_FALSE(closed());
  }
}

TEST_CASE_METHOD(client_fixture,
                 "client: a welcome with an unusable max_frame is a protocol "
                 "error",
                 "[client][rogue]") {
  start();
  sent();
  auto conn_down = watch(conn);
  send(protocol::welcome{1, 1, 10'000, 100});
  CHECK(single<protocol::goodbye>(sent()).code == wire_code::protocol_error);
  REQUIRE(conn_down->down);
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
