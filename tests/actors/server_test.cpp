// The server's network side as it runs in production: acceptor, forked
// node_connection brokers and the supervisor, over CAF's test multiplexer.
// The tests play the node by writing frames into the virtual network and
// reading what the server wrote back.

#include <functional>
#include <limits>
#include <sstream>
#include <tuple>

#include <caf/exit_reason.hpp>
#include <caf/io/accept_handle.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/scribe.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/detail/simple_actor_clock.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "actors/server/acceptor.hpp"
#include "actors/server/node_connection.hpp"
#include "actors/server/supervisor.hpp"
#include "actors/server/upload_pump.hpp"
#include "node/sha256.hpp"
#include "tests/actors/fixture.hpp"

using namespace dirscope;
using namespace dirscope::test;
using caf::io::connection_handle;

namespace {

// -- a listing sink that records ----------------------------------------------

struct sink_log {
  std::vector<std::pair<uint64_t, std::vector<protocol::entry>>> chunks;
  /// Ack each chunk to `conn`, as the console does.
  bool auto_ack = true;

  std::vector<std::string> names() const {
    std::vector<std::string> result;
    for (auto& [query, xs] : chunks)
      for (auto& x : xs)
        result.push_back(x.name);
    return result;
  }
};

listing_sink_actor::behavior_type
recording_sink(listing_sink_actor::pointer self, std::shared_ptr<sink_log> log,
               node_connection_actor conn) {
  return {
    [self, log, conn](atom::chunk, uint64_t query,
                      std::vector<protocol::entry>& xs) {
      log->chunks.emplace_back(query, std::move(xs));
      if (log->auto_ack)
        self->send(conn, atom::ack_v, query);
    },
    [](atom::progress, uint64_t, const std::string&, uint64_t, uint64_t) {},
  };
}

// -- the fixture --------------------------------------------------------------

struct server_fixture : fixture {
  static constexpr uint16_t port = 3443;

  server_settings settings;
  supervisor_actor sup;
  caf::actor acc;
  caf::io::accept_handle ah = caf::io::accept_handle::from_int(1);
  int64_t next_connection = 100;

  /// `adjust` changes the settings before anything starts.
  explicit server_fixture(
    std::function<void(server_settings&)> adjust = nullptr) {
    settings.heartbeat_interval = 10s;
    settings.heartbeat_misses = 3;
    settings.handshake_timeout = 5s;
    settings.request_timeout = 25s;
    settings.max_in_flight = 3;
    settings.max_clients = 4;
    settings.shutdown_grace = 3s;
    if (adjust)
      adjust(settings);
    mpx.provide_acceptor(port, ah);
    sup = track(sys.spawn(supervisor, settings));
    // As server_main.cpp does it.
    auto& mm = sys.middleman();
    auto doorman = mm.backend().new_tcp_doorman(port, nullptr, true);
    REQUIRE(doorman);
    acc = track(
      mm.spawn_broker(acceptor, std::move(*doorman), sup, settings,
                      dirscope::tls_context_ptr{}));
    run();
  }

  /// A node opens a TCP connection.
  connection_handle connect() {
    auto ch = connection_handle::from_int(next_connection++);
    mpx.add_pending_connect(ah, ch);
    mpx.accept_connection(ah);
    run();
    return ch;
  }

  /// The node writes `msg`.
  void send(connection_handle ch, const protocol::message& msg) {
    mpx.virtual_send(ch, frame(msg));
    run();
  }

  void send_raw(connection_handle ch, const std::string& bytes) {
    mpx.virtual_send(ch, byte_buffer(bytes.begin(), bytes.end()));
    run();
  }

  /// What the server wrote to the node since the last call.
  std::vector<protocol::message> sent(connection_handle ch) {
    return drain_frames(mpx.output_buffer(ch));
  }

  static protocol::hello hello(const std::string& name) {
    return protocol::hello{protocol::version, name, "host-" + name,
                           "/srv/" + name,
                           protocol::capability::list
                             | protocol::capability::stat
                             | protocol::capability::hash,
                           ""};
  }

  /// Connects, says hello and requires the welcome.
  connection_handle join(const std::string& name) {
    auto ch = connect();
    send(ch, hello(name));
    auto out = sent(ch);
    REQUIRE(out.size() == 1);
    REQUIRE(std::holds_alternative<protocol::welcome>(out[0]));
    return ch;
  }

  /// True once the server closed the connection.
  bool closed(connection_handle ch) {
    return mpx.impl_ptr(ch) == nullptr || mpx.stopped_reading(ch);
  }

  /// The supervisor's live connections (joined or not).
  size_t connection_count() {
    using ptr = supervisor_actor::stateful_pointer<supervisor_state>;
    return deref<ptr>(sup)->state.connections.size();
  }

  node_connection_actor resolve(const std::string& name) {
    auto r = request<node_info, node_connection_actor>(sup, atom::resolve_v,
                                                       name);
    run();
    REQUIRE(r->value);
    return r->get<1>();
  }

  std::vector<node_info> nodes() {
    auto r = request<std::vector<node_info>>(sup, atom::nodes_v);
    run();
    REQUIRE(r->value);
    return r->get();
  }

  std::vector<std::string> node_names() {
    std::vector<std::string> result;
    for (auto& x : nodes())
      result.push_back(x.name);
    return result;
  }

  std::shared_ptr<reply<protocol::entry>> stat(const node_connection_actor& c,
                                               std::string path) {
    auto r = request<protocol::entry>(c, atom::stat_v, request_origin{1, "tester"}, std::move(path));
    run();
    return r;
  }

  /// The one message of kind T in `xs`.
  template <class T>
  static T single(const std::vector<protocol::message>& xs) {
    auto ys = only<T>(xs);
    REQUIRE(ys.size() == 1);
    return ys[0];
  }

  /// A stat round trip on node `ch`, proving the connection still works.
  void check_alive(connection_handle ch, const std::string& name) {
    auto conn = resolve(name);
    auto r = stat(conn, "/alive");
    auto req = single<protocol::stat_request>(sent(ch));
    CHECK(req.path == "/alive");
    send(ch, protocol::stat_reply{req.id, file_entry("alive")});
    REQUIRE(r->value);
    CHECK(r->get().name == "alive");
  }
};

using names = std::vector<std::string>;

} // namespace

// -- handshake ----------------------------------------------------------------

TEST_CASE_METHOD(server_fixture,
                 "server: a hello gets a welcome and the node joins",
                 "[server]") {
  auto ch = connect();
  CHECK(connection_count() == 1);
  CHECK(nodes().empty());
  send(ch, hello("alpha"));
  auto out = sent(ch);
  REQUIRE(out.size() == 1);
  auto welcome = single<protocol::welcome>(out);
  CHECK(welcome.session_id == 1u);
  CHECK(welcome.heartbeat_ms == 10'000u);
  CHECK(welcome.max_frame == settings.max_frame);
  CHECK(welcome.server_time_ns > 0);
  auto xs = nodes();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].id == 1u);
  CHECK(xs[0].name == "alpha");
  CHECK(xs[0].hostname == "host-alpha");
  CHECK(xs[0].root == "/srv/alpha");
  CHECK_FALSE(closed(ch));
  SECTION("a second node gets the next session id") {
    auto ch2 = connect();
    send(ch2, hello("beta"));
    CHECK(single<protocol::welcome>(sent(ch2)).session_id == 2u);
    CHECK(node_names() == names{"alpha", "beta"});
  }
  SECTION("a hello split into single bytes works the same") {
    auto ch2 = connect();
    auto bytes = frame(hello("beta"));
    for (auto byte : bytes) {
      CHECK(sent(ch2).empty());
      mpx.virtual_send(ch2, byte_buffer{byte});
      run();
    }
    CHECK(single<protocol::welcome>(sent(ch2)).session_id == 2u);
  }
  SECTION("a taken name is rejected and the connection closes") {
    auto ch2 = connect();
    send(ch2, hello("alpha"));
    auto reject = single<protocol::reject>(sent(ch2));
    CHECK(reject.code == wire_code::name_taken);
    CHECK(closed(ch2));
    CHECK(connection_count() == 1);
    CHECK(node_names() == names{"alpha"});
    check_alive(ch, "alpha");
  }
  SECTION("an invalid name is rejected with bad_request") {
    auto ch2 = connect();
    send(ch2, hello("no/slashes"));
    auto reject = single<protocol::reject>(sent(ch2));
    CHECK(reject.code == wire_code::bad_request);
    CHECK(closed(ch2));
    CHECK(node_names() == names{"alpha"});
  }
}

TEST_CASE_METHOD(server_fixture,
                 "server: a hello with another protocol version is rejected",
                 "[server]") {
  auto ch = connect();
  auto msg = hello("alpha");
  msg.version = protocol::version + 1;
  send(ch, msg);
  auto out = sent(ch);
  REQUIRE(out.size() == 1);
  auto reject = single<protocol::reject>(out);
  CHECK(reject.code == wire_code::version_mismatch);
  CHECK(reject.reason.find("version") != std::string::npos);
  CHECK(closed(ch));
  CHECK(connection_count() == 0);
  CHECK(nodes().empty());
}

TEST_CASE_METHOD(server_fixture,
                 "server: a connection without hello is dropped after the "
                 "handshake timeout",
                 "[server]") {
  auto ch = connect();
  auto alpha = join("alpha");
  advance(4s);
  CHECK_FALSE(closed(ch));
  CHECK(connection_count() == 2);
  advance(1s);
  CHECK(closed(ch));
  CHECK(connection_count() == 1);
  // The node that said hello in time stays (its first heartbeat is due at
  // 10 s).
  CHECK_FALSE(closed(alpha));
  CHECK(node_names() == names{"alpha"});
  CHECK(sent(alpha).empty());
}

namespace {

struct token_fixture : server_fixture {
  token_fixture()
    : server_fixture([](server_settings& x) { x.enrollment_token = "s3cret"; }) {
    // nop
  }
};

} // namespace

TEST_CASE_METHOD(token_fixture,
                 "server: with an enrollment token only nodes that present "
                 "it join",
                 "[server]") {
  auto ch = connect();
  auto msg = hello("alpha");
  SECTION("no token") {
    // nop
  }
  SECTION("a wrong token") {
    msg.token = "s3cre";
  }
  SECTION("a longer token with the right prefix") {
    msg.token = "s3cret!";
  }
  send(ch, msg);
  auto reject = single<protocol::reject>(sent(ch));
  CHECK(reject.code == wire_code::unauthorized);
  CHECK(reject.reason.find("s3cret") == std::string::npos);
  CHECK(closed(ch));
  CHECK(nodes().empty());
  CHECK(connection_count() == 0);
  // The right token gets in.
  auto ch2 = connect();
  msg.token = "s3cret";
  send(ch2, msg);
  CHECK(single<protocol::welcome>(sent(ch2)).session_id == 1u);
  CHECK(node_names() == names{"alpha"});
}

// -- protocol violations ------------------------------------------------------

TEST_CASE_METHOD(server_fixture,
                 "server: a protocol violation closes only that connection",
                 "[server]") {
  auto alpha = join("alpha");
  auto beta = join("beta");
  SECTION("garbage bytes") {
    send_raw(alpha, "GET / HTTP/1.1\r\nHost: example\r\n\r\n");
  }
  SECTION("an unknown message tag") {
    send_raw(alpha, std::string{"\x00\x00\x00\x01\xff", 5});
  }
  SECTION("a message only the server may send") {
    send(alpha, protocol::welcome{1, 2, 3, 4});
  }
  SECTION("a second hello") {
    send(alpha, hello("alpha"));
  }
  SECTION("a frame larger than max_frame") {
    auto big = frame(protocol::stat_reply{
      1, file_entry(std::string(settings.max_frame, 'x'))});
    mpx.virtual_send(alpha, big);
    run();
  }
  SECTION("a request failure for a request never made is ignored, then "
          "garbage") {
    send(alpha, protocol::request_failed{99, wire_code::not_found, "x"});
    CHECK(sent(alpha).empty());
    CHECK_FALSE(closed(alpha));
    send_raw(alpha, std::string(8, '\xff'));
  }
  auto out = sent(alpha);
  REQUIRE(out.size() == 1);
  auto bye = single<protocol::goodbye>(out);
  CHECK(bye.code == wire_code::protocol_error);
  CHECK_FALSE(bye.reason.empty());
  CHECK(closed(alpha));
  CHECK(node_names() == names{"beta"});
  CHECK(connection_count() == 1);
  CHECK_FALSE(closed(beta));
  check_alive(beta, "beta");
}

TEST_CASE_METHOD(server_fixture,
                 "server: anything but a hello first is a protocol error",
                 "[server]") {
  auto alpha = join("alpha");
  auto ch = connect();
  SECTION("garbage") {
    send_raw(ch, "SSH-2.0-OpenSSH_9.2\r\n");
  }
  SECTION("a well-formed frame that is not a hello") {
    send(ch, protocol::heartbeat_ack{1});
  }
  auto bye = single<protocol::goodbye>(sent(ch));
  CHECK(bye.code == wire_code::protocol_error);
  CHECK(closed(ch));
  CHECK(connection_count() == 1);
  CHECK(node_names() == names{"alpha"});
  check_alive(alpha, "alpha");
}

// -- liveness -----------------------------------------------------------------

TEST_CASE_METHOD(server_fixture,
                 "server: heartbeats keep a node; silence disconnects it",
                 "[server]") {
  auto ch = join("alpha");
  CHECK(nodes()[0].last_heartbeat_ns == 0);
  // An answering node stays as long as it answers.
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    advance(9s);
    CHECK(sent(ch).empty());
    advance(1s);
    auto out = sent(ch);
    REQUIRE(out.size() == 1);
    auto hb = single<protocol::heartbeat>(out);
    CHECK(hb.seq == seq);
    CHECK(hb.server_time_ns > 0);
    send(ch, protocol::heartbeat_ack{hb.seq});
  }
  auto xs = nodes();
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].last_heartbeat_ns > 0);
  // A silent node still gets heartbeats for three intervals...
  for (uint64_t seq = 7; seq <= 9; ++seq) {
    advance(10s);
    CHECK(single<protocol::heartbeat>(sent(ch)).seq == seq);
    CHECK(node_names() == names{"alpha"});
  }
  // ... and is disconnected at the next tick.
  advance(10s);
  auto out = sent(ch);
  REQUIRE(out.size() == 1);
  CHECK(single<protocol::goodbye>(out).code == wire_code::timeout);
  CHECK(closed(ch));
  CHECK(nodes().empty());
  CHECK(connection_count() == 0);
}

TEST_CASE_METHOD(server_fixture,
                 "server: any frame from the node counts as a sign of life",
                 "[server]") {
  auto ch = join("alpha");
  auto conn = resolve("alpha");
  // The node answers stat requests but never acks a heartbeat.
  for (int i = 0; i < 8; ++i) {
    advance(10s);
    CHECK(only<protocol::heartbeat>(sent(ch)).size() == 1);
    auto r = stat(conn, "/f");
    auto req = single<protocol::stat_request>(sent(ch));
    send(ch, protocol::stat_reply{req.id, file_entry("f")});
    CHECK(r->value);
  }
  CHECK(node_names() == names{"alpha"});
  CHECK_FALSE(closed(ch));
}

// -- requests -----------------------------------------------------------------

TEST_CASE_METHOD(server_fixture, "server: stat requests", "[server]") {
  auto ch = join("alpha");
  auto conn = resolve("alpha");
  SECTION("a reply delivers the entry") {
    auto r = stat(conn, "/x");
    auto req = single<protocol::stat_request>(sent(ch));
    CHECK(req.path == "/x");
    CHECK_FALSE(r->done());
    send(ch, protocol::stat_reply{req.id, file_entry("x", 1234)});
    REQUIRE(r->value);
    CHECK(r->get().name == "x");
    CHECK(r->get().size == 1234u);
    CHECK(r->get().sha256.has_value());
  }
  SECTION("the root") {
    auto r = stat(conn, "/");
    auto req = single<protocol::stat_request>(sent(ch));
    send(ch, protocol::stat_reply{req.id, dir_entry("/", 3)});
    REQUIRE(r->value);
    CHECK(r->get().items == 3u);
  }
  SECTION("request_failed delivers the node's error") {
    auto r = stat(conn, "/missing");
    auto req = single<protocol::stat_request>(sent(ch));
    send(ch, protocol::request_failed{req.id, wire_code::not_found,
                                      "no such file"});
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::not_found);
    CHECK(to_failure(r->error).message == "no such file");
    CHECK_FALSE(closed(ch));
  }
  SECTION("request ids are unique among requests in flight") {
    auto r1 = stat(conn, "/a");
    auto r2 = stat(conn, "/b");
    auto reqs = only<protocol::stat_request>(sent(ch));
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].id != reqs[1].id);
    // Answers in the other order reach the right requests.
    send(ch, protocol::stat_reply{reqs[1].id, file_entry("b")});
    send(ch, protocol::stat_reply{reqs[0].id, file_entry("a")});
    REQUIRE(r1->value);
    REQUIRE(r2->value);
    CHECK(r1->get().name == "a");
    CHECK(r2->get().name == "b");
  }
  SECTION("paths that are not normalized never reach the wire") {
    for (auto path : {"x", "/a/../b", "/a/", "//a", ""}) {
      auto r = stat(conn, path);
      INFO("path: " << path);
      REQUIRE(r->error);
      auto code = code_of(r->error);
      CHECK((code == wire_code::bad_request
             || code == wire_code::outside_root));
    }
    CHECK(sent(ch).empty());
  }
  SECTION("paths longer than max_path never reach the wire") {
    auto r = stat(conn, "/" + std::string(settings.max_path, 'x'));
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::bad_request);
    CHECK(sent(ch).empty());
    auto ok = stat(conn, "/" + std::string(settings.max_path - 1, 'x'));
    CHECK(only<protocol::stat_request>(sent(ch)).size() == 1);
  }
  SECTION("more than max_in_flight requests fail with too_many_requests") {
    for (int i = 0; i < 3; ++i)
      stat(conn, "/slow");
    auto r = stat(conn, "/one-too-many");
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::too_many_requests);
    CHECK(only<protocol::stat_request>(sent(ch)).size() == 3);
  }
  SECTION("a reply with an invalid entry name is a protocol error") {
    auto r = stat(conn, "/x");
    auto req = single<protocol::stat_request>(sent(ch));
    send(ch, protocol::stat_reply{req.id, file_entry("a/b")});
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::protocol_error);
    CHECK(single<protocol::goodbye>(sent(ch)).code
          == wire_code::protocol_error);
    CHECK(closed(ch));
  }
}

TEST_CASE_METHOD(server_fixture,
                 "server: stat, du and rm are cancelled on the node too",
                 "[server][cancel]") {
  auto ch = join("alpha");
  auto conn = resolve("alpha");
  uint32_t id = 0;
  std::shared_ptr<reply<protocol::entry>> r_stat;
  std::shared_ptr<reply<protocol::du_reply>> r_du;
  std::shared_ptr<reply<uint64_t>> r_rm;
  auto error = [&]() -> caf::error {
    if (r_stat)
      return r_stat->error;
    if (r_du)
      return r_du->error;
    return r_rm->error;
  };
  protocol::message late;
  SECTION("stat") {
    r_stat = request<protocol::entry>(conn, atom::stat_v, request_origin{9, "tester"},
                                      std::string{"/x"});
    run();
    id = single<protocol::stat_request>(sent(ch)).id;
    late = protocol::stat_reply{id, file_entry("x")};
  }
  SECTION("du") {
    r_du = request<protocol::du_reply>(conn, atom::du_v, request_origin{9, "tester"},
                                       std::string{"/x"});
    run();
    id = single<protocol::du_request>(sent(ch)).id;
    late = protocol::du_reply{id, protocol::entry_type::file, 1, 1, 0};
  }
  SECTION("rm") {
    r_rm = request<uint64_t>(conn, atom::remove_v, request_origin{9, "tester"},
                             std::string{"/x"}, true);
    run();
    id = single<protocol::remove_request>(sent(ch)).id;
    late = protocol::remove_reply{id, 1};
  }
  // A cancel for another query changes nothing.
  caf::anon_send(conn, atom::cancel_v, uint64_t{8});
  run();
  CHECK(sent(ch).empty());
  CHECK_FALSE(error());
  caf::anon_send(conn, atom::cancel_v, uint64_t{9});
  run();
  CHECK(single<protocol::cancel>(sent(ch)).id == id);
  REQUIRE(error());
  CHECK(code_of(error()) == wire_code::cancelled);
  // The answer racing the cancel is ignored; the node stays.
  send(ch, late);
  send(ch, protocol::request_failed{id, wire_code::cancelled, "cancelled"});
  CHECK(sent(ch).empty());
  CHECK_FALSE(closed(ch));
  check_alive(ch, "alpha");
}

TEST_CASE_METHOD(server_fixture,
                 "server: when the node vanishes mid-request the request "
                 "fails at once",
                 "[server]") {
  auto alpha = join("alpha");
  auto beta = join("beta");
  auto conn = resolve("alpha");
  auto conn_down = watch(conn);
  auto r = stat(conn, "/x");
  auto sink = std::make_shared<sink_log>();
  auto sink_hdl = track(sys.spawn(recording_sink, sink, conn));
  auto l = request<uint64_t, bool>(conn, atom::list_v, request_origin{1, "tester"},
                                   std::string{"/"}, uint8_t{0}, sink_hdl);
  run();
  auto out = sent(alpha);
  CHECK(single<protocol::stat_request>(out).path == "/x");
  CHECK(single<protocol::list_request>(out).path == "/");
  CHECK_FALSE(r->done());
  CHECK_FALSE(l->done());
  wire_code expected = wire_code::io_error;
  SECTION("the peer disconnects") {
    mpx.impl_ptr(alpha)->io_failure(&mpx, caf::io::network::operation::read);
    run();
  }
  SECTION("the node says goodbye") {
    send(alpha, protocol::goodbye{wire_code::client_exit, "stopping"});
    CHECK(sent(alpha).empty()); // no goodbye back
    CHECK(closed(alpha));
  }
  SECTION("the server is told to stop the connection") {
    caf::anon_send_exit(conn, caf::exit_reason::user_shutdown);
    run();
    expected = wire_code::shutdown;
  }
  // No timer involved: the requests failed without advancing the clock.
  REQUIRE(r->error);
  CHECK(code_of(r->error) == expected);
  REQUIRE(l->error);
  CHECK(code_of(l->error) == expected);
  CHECK(conn_down->down);
  CHECK(node_names() == names{"beta"});
  CHECK(connection_count() == 1);
  check_alive(beta, "beta");
}

TEST_CASE_METHOD(server_fixture,
                 "server: a listing streams chunks to the sink", "[server]") {
  auto ch = join("alpha");
  auto conn = resolve("alpha");
  auto sink = std::make_shared<sink_log>();
  auto sink_hdl = track(sys.spawn(recording_sink, sink, conn));
  auto r = request<uint64_t, bool>(conn, atom::list_v, request_origin{7, "tester"},
                                   std::string{"/"},
                                   protocol::list_flags::with_hashes, sink_hdl);
  run();
  auto req = single<protocol::list_request>(sent(ch));
  CHECK(req.path == "/");
  CHECK(req.flags == protocol::list_flags::with_hashes);
  auto id = req.id;
  SECTION("chunks, acks and the end") {
    send(ch, protocol::entries_chunk{id, {file_entry("a"), dir_entry("b")}});
    REQUIRE(sink->chunks.size() == 1);
    CHECK(sink->chunks[0].first == 7u);
    CHECK(sink->names() == names{"a", "b"});
    CHECK(single<protocol::chunk_ack>(sent(ch)).id == id);
    send(ch, protocol::entries_chunk{id, {file_entry("c")}});
    CHECK(single<protocol::chunk_ack>(sent(ch)).id == id);
    CHECK_FALSE(r->done());
    send(ch, protocol::list_end{id, 3, true});
    REQUIRE(r->value);
    CHECK(r->get<0>() == 3u);
    CHECK(r->get<1>() == true);
    CHECK(sink->names() == names{"a", "b", "c"});
    CHECK(sent(ch).empty()); // no ack for list_end
  }
  SECTION("an unsorted listing") {
    send(ch, protocol::entries_chunk{id, {file_entry("z"), file_entry("a")}});
    send(ch, protocol::list_end{id, 2, false});
    REQUIRE(r->value);
    CHECK(r->get<1>() == false);
  }
  SECTION("an empty directory") {
    send(ch, protocol::list_end{id, 0, true});
    REQUIRE(r->value);
    CHECK(r->get<0>() == 0u);
    CHECK(sink->chunks.empty());
  }
  SECTION("chunk_ack goes out only when the sink acks") {
    sink->auto_ack = false;
    send(ch, protocol::entries_chunk{id, {file_entry("a")}});
    send(ch, protocol::entries_chunk{id, {file_entry("b")}});
    CHECK(sink->chunks.size() == 2);
    CHECK(sent(ch).empty());
    caf::anon_send(conn, atom::ack_v, uint64_t{7});
    run();
    CHECK(single<protocol::chunk_ack>(sent(ch)).id == id);
    // Acks for unknown queries go nowhere.
    caf::anon_send(conn, atom::ack_v, uint64_t{8});
    run();
    CHECK(sent(ch).empty());
  }
  SECTION("the node fails the listing after some chunks") {
    send(ch, protocol::entries_chunk{id, {file_entry("a")}});
    sent(ch);
    send(ch, protocol::request_failed{id, wire_code::io_error, "disk on fire"});
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::io_error);
    CHECK(sink->names() == names{"a"});
    CHECK_FALSE(closed(ch));
  }
  SECTION("the user cancels") {
    caf::anon_send(conn, atom::cancel_v, uint64_t{7});
    run();
    CHECK(single<protocol::cancel>(sent(ch)).id == id);
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::cancelled);
    // Frames racing the cancel are ignored; the node stays.
    send(ch, protocol::entries_chunk{id, {file_entry("late")}});
    send(ch, protocol::request_failed{id, wire_code::cancelled, "cancelled"});
    CHECK(sink->chunks.empty());
    CHECK(sent(ch).empty());
    CHECK_FALSE(closed(ch));
    check_alive(ch, "alpha");
  }
  SECTION("a list_end whose total does not match is a protocol error") {
    send(ch, protocol::entries_chunk{id, {file_entry("a")}});
    sent(ch);
    send(ch, protocol::list_end{id, 2, true});
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::protocol_error);
    CHECK(single<protocol::goodbye>(sent(ch)).code
          == wire_code::protocol_error);
    CHECK(closed(ch));
    CHECK(nodes().empty());
  }
  SECTION("an entry named '..' is a protocol error") {
    send(ch, protocol::entries_chunk{id, {file_entry("ok"), dir_entry("..")}});
    CHECK(sink->chunks.empty());
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::protocol_error);
    CHECK(single<protocol::goodbye>(sent(ch)).code
          == wire_code::protocol_error);
    CHECK(closed(ch));
  }
}

TEST_CASE_METHOD(server_fixture,
                 "server: requests without an answer time out", "[server]") {
  auto ch = join("alpha");
  auto conn = resolve("alpha");
  SECTION("stat") {
    auto r = stat(conn, "/x");
    auto id = single<protocol::stat_request>(sent(ch)).id;
    advance(20s); // two heartbeats, no answer needed yet
    sent(ch);
    advance(4s);
    CHECK_FALSE(r->done());
    advance(1s);
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::timeout);
    CHECK(single<protocol::cancel>(sent(ch)).id == id);
    // The late answer is ignored and the node stays.
    send(ch, protocol::stat_reply{id, file_entry("x")});
    CHECK_FALSE(closed(ch));
    CHECK(node_names() == names{"alpha"});
    check_alive(ch, "alpha");
  }
  SECTION("a listing: every chunk restarts the clock") {
    auto sink = std::make_shared<sink_log>();
    auto sink_hdl = track(sys.spawn(recording_sink, sink, conn));
    auto r = request<uint64_t, bool>(conn, atom::list_v, request_origin{1, "tester"},
                                     std::string{"/big"}, uint8_t{0},
                                     sink_hdl);
    run();
    auto id = single<protocol::list_request>(sent(ch)).id;
    advance(20s);
    send(ch, protocol::entries_chunk{id, {file_entry("a")}}); // t = 20 s
    sent(ch);
    advance(24s); // t = 44 s: the first timer (25 s) found a fresh deadline
    CHECK_FALSE(r->done());
    CHECK(only<protocol::cancel>(sent(ch)).empty());
    advance(1s); // t = 45 s
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::timeout);
    CHECK(single<protocol::cancel>(sent(ch)).id == id);
    CHECK(sink->names() == names{"a"});
    // Late frames for the listing are ignored.
    send(ch, protocol::list_end{id, 1, true});
    CHECK_FALSE(closed(ch));
  }
}

// -- the operator -------------------------------------------------------------

TEST_CASE_METHOD(server_fixture,
                 "server: kick writes goodbye(kicked) and closes", "[server]") {
  auto alpha = join("alpha");
  auto beta = join("beta");
  auto r = request<node_info>(sup, atom::kick_v, std::string{"tester"},
                              std::string{"alpha"});
  run();
  REQUIRE(r->value);
  CHECK(r->get().name == "alpha");
  CHECK(single<protocol::goodbye>(sent(alpha)).code == wire_code::kicked);
  CHECK(closed(alpha));
  CHECK(sent(beta).empty());
  CHECK(node_names() == names{"beta"});
}

TEST_CASE_METHOD(server_fixture,
                 "server: shutdown writes goodbye(shutdown) on every "
                 "connection",
                 "[server]") {
  auto alpha = join("alpha");
  auto beta = join("beta");
  auto idle = connect();
  auto r = request<uint64_t>(sup, atom::shutdown_v);
  run();
  for (auto ch : {alpha, beta}) {
    auto out = sent(ch);
    REQUIRE(out.size() == 1);
    CHECK(single<protocol::goodbye>(out).code == wire_code::shutdown);
    CHECK(closed(ch));
  }
  CHECK(closed(idle));
  REQUIRE(r->value);
  CHECK(r->get() == 2u);
  CHECK(connection_count() == 0);
  SECTION("a node connecting now is turned away") {
    auto late = connect();
    send(late, hello("gamma"));
    CHECK(closed(late));
    CHECK(only<protocol::welcome>(sent(late)).empty());
    CHECK(nodes().empty());
  }
}

// A timed-out listing also forgets the console query that maps to it: a
// late ack from the sink (a chunk already on its way to the console) must
// not write chunk_ack for the abandoned id (regression test).
TEST_CASE_METHOD(server_fixture,
                 "server: a listing that timed out forgets its query",
                 "[server]") {
  auto ch = join("alpha");
  auto conn = resolve("alpha");
  auto sink = std::make_shared<sink_log>();
  sink->auto_ack = false;
  auto sink_hdl = track(sys.spawn(recording_sink, sink, conn));
  auto r = request<uint64_t, bool>(conn, atom::list_v, request_origin{5, "tester"},
                                   std::string{"/"}, uint8_t{0}, sink_hdl);
  run();
  auto id = single<protocol::list_request>(sent(ch)).id;
  send(ch, protocol::entries_chunk{id, {file_entry("a")}});
  advance(25s);
  REQUIRE(r->error);
  CHECK(single<protocol::cancel>(sent(ch)).id == id);
  using ptr = node_connection_broker;
  CHECK(deref<ptr>(conn)->state.requests.empty());
  caf::anon_send(conn, atom::ack_v, uint64_t{5});
  run();
  CHECK(only<protocol::chunk_ack>(sent(ch)).empty());
}

// PROTOCOL.md 7: goodbye may be sent in either direction at any time. A
// node stopped right after its hello (SIGINT while the welcome is on its
// way) must not be treated as a protocol error (a bug, fixed).
TEST_CASE_METHOD(server_fixture,
                 "server: a goodbye right after the hello is a normal close",
                 "[server][regression]") {
  join("beta");
  auto ch = connect();
  auto bytes = frame(hello("alpha"));
  auto bye = frame(protocol::goodbye{wire_code::client_exit, "stopping"});
  bytes.insert(bytes.end(), bye.begin(), bye.end());
  mpx.virtual_send(ch, bytes);
  run();
  CHECK(only<protocol::goodbye>(sent(ch)).empty());
  CHECK(closed(ch));
  CHECK(node_names() == names{"beta"});
  CHECK(connection_count() == 1);
}

// -- flow control, enforced where data arrives (issue 11) ---------------------

namespace {

/// A download sink that records bytes and acks them unless told not to.
struct data_log {
  std::vector<std::pair<uint64_t, std::string>> chunks;
  bool auto_ack = true;
  /// file_meta forwarded by the connection: (size, mode, mtime_ns).
  std::vector<std::tuple<uint64_t, uint32_t, int64_t>> metas;
};

transfer_sink_actor::behavior_type
recording_data_sink(transfer_sink_actor::pointer self,
                    std::shared_ptr<data_log> log,
                    node_connection_actor conn) {
  return {
    [self, log, conn](atom::data, uint64_t query, uint64_t offset,
                      std::string& bytes) {
      log->chunks.emplace_back(offset, std::move(bytes));
      if (log->auto_ack)
        self->send(conn, atom::ack_v, query);
    },
    [log](atom::meta, uint64_t, uint64_t size, uint32_t mode,
          int64_t mtime_ns) { log->metas.emplace_back(size, mode, mtime_ns); },
  };
}

using get_reply = reply<uint64_t, protocol::sha256_digest>;

struct broker_fixture : server_fixture {
  connection_handle ch;
  node_connection_actor conn;

  broker_fixture() {
    ch = join("alpha");
    conn = resolve("alpha");
  }

  std::shared_ptr<get_reply> get(uint64_t query, std::string path,
                                 const transfer_sink_actor& sink) {
    auto r = request<uint64_t, protocol::sha256_digest>(
      conn, atom::get_v, request_origin{query, "tester"}, std::move(path),
      uint64_t{0}, uint8_t{0},
      sink);
    run();
    return r;
  }

  /// The connection closed with goodbye(protocol_error).
  void require_protocol_error() {
    auto bye = single<protocol::goodbye>(sent(ch));
    CHECK(bye.code == wire_code::protocol_error);
    CHECK(closed(ch));
    CHECK(nodes().empty());
  }
};

} // namespace

TEST_CASE_METHOD(broker_fixture,
                 "server: a node that overruns a listing window is dropped",
                 "[server][regression]") {
  auto sink = std::make_shared<sink_log>();
  auto sink_hdl = track(sys.spawn(recording_sink, sink, conn));
  auto r = request<uint64_t, bool>(conn, atom::list_v, request_origin{7, "tester"},
                                   std::string{"/"}, uint8_t{0}, sink_hdl);
  run();
  auto id = single<protocol::list_request>(sent(ch)).id;
  SECTION("acked chunks keep the window open") {
    for (uint64_t i = 0; i < 50; ++i) {
      send(ch, protocol::entries_chunk{id, {file_entry("f")}});
      CHECK(single<protocol::chunk_ack>(sent(ch)).id == id);
    }
    send(ch, protocol::list_end{id, 50, true});
    REQUIRE(r->value);
    CHECK(r->get() == 50u);
  }
  SECTION("a fifth unacked chunk is a protocol error") {
    sink->auto_ack = false;
    for (uint32_t i = 0; i < protocol::chunk_window; ++i)
      send(ch, protocol::entries_chunk{id, {file_entry("f")}});
    CHECK_FALSE(closed(ch));
    CHECK(sink->chunks.size() == protocol::chunk_window);
    send(ch, protocol::entries_chunk{id, {file_entry("f")}});
    CHECK(sink->chunks.size() == protocol::chunk_window);
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::protocol_error);
    require_protocol_error();
  }
  SECTION("an ack reopens the window by one") {
    sink->auto_ack = false;
    for (uint32_t i = 0; i < protocol::chunk_window; ++i)
      send(ch, protocol::entries_chunk{id, {file_entry("f")}});
    caf::anon_send(conn, atom::ack_v, uint64_t{7});
    run();
    CHECK(single<protocol::chunk_ack>(sent(ch)).id == id);
    send(ch, protocol::entries_chunk{id, {file_entry("f")}});
    CHECK_FALSE(closed(ch));
    send(ch, protocol::entries_chunk{id, {file_entry("f")}});
    require_protocol_error();
  }
}

TEST_CASE_METHOD(broker_fixture,
                 "server: a node that overruns a download window is dropped",
                 "[server][regression]") {
  auto log = std::make_shared<data_log>();
  auto sink = track(sys.spawn(recording_data_sink, log, conn));
  auto r = get(3, "/big", sink);
  auto id = single<protocol::download_request>(sent(ch)).id;
  std::string bytes(1000, 'x');
  SECTION("acked chunks keep the window open") {
    for (uint64_t i = 0; i < 100; ++i) {
      send(ch, protocol::data_chunk{id, i * bytes.size(), bytes});
      CHECK(single<protocol::chunk_ack>(sent(ch)).id == id);
    }
    send(ch, protocol::download_end{id, 100 * bytes.size(), {}});
    REQUIRE(r->value);
    CHECK(log->chunks.size() == 100u);
  }
  SECTION("a 17th unacked data_chunk is a protocol error") {
    log->auto_ack = false;
    for (uint64_t i = 0; i < protocol::data_window; ++i)
      send(ch, protocol::data_chunk{id, i * bytes.size(), bytes});
    CHECK_FALSE(closed(ch));
    send(ch, protocol::data_chunk{id, protocol::data_window * bytes.size(),
                                  bytes});
    CHECK(log->chunks.size() == protocol::data_window);
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::protocol_error);
    require_protocol_error();
  }
}

TEST_CASE_METHOD(broker_fixture,
                 "server: late data of a cancelled get never reaches a new "
                 "one; ids are never reused",
                 "[server][regression]") {
  auto old_log = std::make_shared<data_log>();
  auto new_log = std::make_shared<data_log>();
  auto old_sink = track(sys.spawn(recording_data_sink, old_log, conn));
  auto new_sink = track(sys.spawn(recording_data_sink, new_log, conn));
  auto r1 = get(1, "/a", old_sink);
  auto id1 = single<protocol::download_request>(sent(ch)).id;
  send(ch, protocol::data_chunk{id1, 0, "old"});
  CHECK(single<protocol::chunk_ack>(sent(ch)).id == id1);
  caf::anon_send(conn, atom::cancel_v, uint64_t{1});
  run();
  CHECK(single<protocol::cancel>(sent(ch)).id == id1);
  REQUIRE(r1->error);
  CHECK(code_of(r1->error) == wire_code::cancelled);
  auto r2 = get(2, "/b", new_sink);
  auto id2 = single<protocol::download_request>(sent(ch)).id;
  CHECK(id2 != id1);
  // The node was still sending the cancelled download: ignored, not fatal.
  send(ch, protocol::data_chunk{id1, 3, "stale"});
  send(ch, protocol::download_end{id1, 8, {}});
  send(ch, protocol::request_failed{id1, wire_code::cancelled, "cancelled"});
  CHECK(sent(ch).empty());
  CHECK_FALSE(closed(ch));
  send(ch, protocol::data_chunk{id2, 0, "new"});
  send(ch, protocol::download_end{id2, 3, {}});
  REQUIRE(r2->value);
  REQUIRE(new_log->chunks.size() == 1);
  CHECK(new_log->chunks[0].second == "new");
  REQUIRE(old_log->chunks.size() == 1);
  CHECK(old_log->chunks[0].second == "old");
}

TEST_CASE_METHOD(broker_fixture,
                 "server: request ids wrap around past ids in flight",
                 "[server][regression]") {
  auto first = stat(conn, "/1");
  CHECK(single<protocol::stat_request>(sent(ch)).id == 1u);
  deref<node_connection_broker>(conn)->state.requests.next_id
    = std::numeric_limits<uint32_t>::max();
  auto second = stat(conn, "/2");
  CHECK(single<protocol::stat_request>(sent(ch)).id
        == std::numeric_limits<uint32_t>::max());
  auto third = stat(conn, "/3");
  CHECK(single<protocol::stat_request>(sent(ch)).id == 2u); // not 0, not 1
}

TEST_CASE_METHOD(broker_fixture,
                 "server: a du_reply whose counts overflow is refused",
                 "[server][regression]") {
  auto r = request<protocol::du_reply>(conn, atom::du_v, request_origin{1, "tester"}, std::string{"/d"});
  run();
  auto id = single<protocol::du_request>(sent(ch)).id;
  auto max = std::numeric_limits<uint64_t>::max();
  SECTION("files + dirs overflows") {
    send(ch, protocol::du_reply{id, protocol::entry_type::dir, 0, max - 3, 9});
  }
  SECTION("files + dirs + the target overflows") {
    send(ch, protocol::du_reply{id, protocol::entry_type::dir, 0, max, 0});
  }
  REQUIRE(r->error);
  CHECK(code_of(r->error) == wire_code::protocol_error);
  require_protocol_error();
}

TEST_CASE_METHOD(broker_fixture,
                 "server: a reply of another kind for an id in flight is a "
                 "protocol error",
                 "[server]") {
  auto r = stat(conn, "/x");
  auto id = single<protocol::stat_request>(sent(ch)).id;
  send(ch, protocol::du_reply{id, protocol::entry_type::file, 1, 1, 0});
  REQUIRE(r->error);
  CHECK(code_of(r->error) == wire_code::protocol_error);
  require_protocol_error();
}

// -- every request is answered, however the connection ends (issue 11) --------

TEST_CASE_METHOD(broker_fixture,
                 "server: a killed connection still fails its requests",
                 "[server][regression]") {
  auto log = std::make_shared<data_log>();
  auto sink = track(sys.spawn(recording_data_sink, log, conn));
  auto s = stat(conn, "/x");
  auto g = get(1, "/big", sink);
  sent(ch);
  // A kill runs no handler: without the state's own cleanup the requesters
  // (detached transfer actors) would wait forever and ~actor_system hang.
  caf::anon_send_exit(conn, caf::exit_reason::kill);
  run();
  REQUIRE(s->error);
  REQUIRE(g->error);
}

// -- connections that never join leave nothing behind (issue 11) --------------

TEST_CASE_METHOD(server_fixture,
                 "server: connections closed before the hello leave no actor "
                 "behind",
                 "[server][regression]") {
  auto running = sys.registry().running();
  std::vector<caf::actor_addr> gone;
  using sup_ptr = supervisor_actor::stateful_pointer<supervisor_state>;
  auto close_one = [&](int how) {
    auto ch = connect();
    auto& conns = deref<sup_ptr>(sup)->state.connections;
    REQUIRE(conns.size() == 1);
    gone.push_back(conns.begin()->first);
    switch (how) {
      case 0: // the peer hangs up
        mpx.impl_ptr(ch)->io_failure(&mpx, caf::io::network::operation::read);
        run();
        break;
      case 1: // garbage instead of a hello
        send_raw(ch, "GET / HTTP/1.0\r\n\r\n");
        break;
      default: // silence until the handshake deadline
        advance(settings.handshake_timeout);
    }
    INFO("how " << how << ", connection " << gone.size());
    REQUIRE(connection_count() == 0);
  };
  for (int how = 2; how >= 0; --how)
    for (int i = 0; i < 100; ++i)
      close_one(how);
  CHECK(connection_count() == 0);
  CHECK(sys.registry().running() == running);
  // Not merely stopped: destroyed, nothing holds them (a pending timer
  // would keep each one, and its memory, alive).
  size_t alive = 0;
  for (auto& addr : gone)
    if (caf::actor_cast<caf::strong_actor_ptr>(addr) != nullptr)
      ++alive;
  CHECK(alive == 0);
}

TEST_CASE_METHOD(server_fixture,
                 "server: nodes that leave leave no actor behind",
                 "[server][regression]") {
  std::vector<caf::actor_addr> gone;
  for (int i = 0; i < 50; ++i) {
    auto ch = join("n" + std::to_string(i));
    auto conn = resolve("n" + std::to_string(i));
    auto r = stat(conn, "/pending"); // a request timer is running too
    gone.push_back(caf::actor_cast<caf::actor_addr>(conn));
    conn = nullptr;
    mpx.impl_ptr(ch)->io_failure(&mpx, caf::io::network::operation::read);
    run();
    REQUIRE(r->error);
  }
  CHECK(connection_count() == 0);
  // Their heartbeat and request timers fire into nothing and hold nobody.
  advance(settings.request_timeout);
  size_t alive = 0;
  for (auto& addr : gone)
    if (caf::actor_cast<caf::strong_actor_ptr>(addr) != nullptr)
      ++alive;
  CHECK(alive == 0);
}

// -- output back-pressure (issue 11) ------------------------------------------

TEST_CASE_METHOD(broker_fixture,
                 "server: a node that does not read is not read from",
                 "[server][regression]") {
  std::string line(256 * 1024, 'x');
  constexpr size_t lines = 24; // 6 MiB of replies if nothing stopped them
  // Frame by frame, as a socket would deliver them (the test multiplexer
  // reads a whole virtual_send at once).
  for (size_t i = 0; i < lines; ++i)
    mpx.virtual_send(ch, frame(protocol::echo{line}));
  run();
  auto& out = mpx.output_buffer(ch);
  CHECK(out.size() > output_backlog_limit);
  CHECK(out.size() <= output_backlog_limit + line.size() + read_size + 1024);
  CHECK(mpx.passive_mode(ch)); // not reading: the rest waits in the socket
  CHECK_FALSE(mpx.virtual_network_buffer(ch).empty());
  SECTION("once it reads, everything flows again") {
    size_t replies = 0;
    for (int round = 0; round < 20 && replies < lines; ++round) {
      auto n = out.size();
      replies += only<protocol::echo_reply>(sent(ch)).size();
      caf::anon_send(caf::actor_cast<caf::actor>(conn),
                     caf::io::data_transferred_msg{ch, n, 0});
      run();
    }
    CHECK(replies == lines);
    CHECK_FALSE(closed(ch));
    CHECK(node_names() == names{"alpha"});
  }
  SECTION("a node that never reads is dropped like a silent one") {
    for (int i = 0; i < 4; ++i)
      advance(settings.heartbeat_interval);
    CHECK(closed(ch));
    CHECK(nodes().empty());
  }
}

// -- node text in the server's log (issue 11) ---------------------------------

namespace {

/// Sends everything spdlog writes into `text` while it lives.
struct log_capture {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> saved = spdlog::default_logger();
  spdlog::level::level_enum saved_level = spdlog::get_level();

  log_capture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(text);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("x", sink));
    spdlog::set_level(spdlog::level::debug);
  }

  ~log_capture() {
    spdlog::set_default_logger(saved);
    spdlog::set_level(saved_level);
  }
};

} // namespace

// -- heartbeats without a message per ack (issue 9) ----------------------------

TEST_CASE_METHOD(server_fixture,
                 "server: a node that stops acking is dropped and its leave "
                 "logged; acking nodes stay",
                 "[server][heartbeat]") {
  log_capture capture;
  auto alpha = join("alpha");
  advance(2500ms);
  auto beta = join("beta");
  advance(4s);
  auto gamma = join("gamma");
  // gamma never acks; alpha and beta ack every heartbeat they get.
  std::map<std::string, uint64_t> acked;
  for (int i = 0; i < 60 && !closed(gamma); ++i) {
    advance(1s);
    for (auto& [name, ch] : {std::pair{"alpha", alpha}, {"beta", beta}})
      for (auto& hb : only<protocol::heartbeat>(sent(ch))) {
        send(ch, protocol::heartbeat_ack{hb.seq});
        acked[name] = hb.seq;
      }
  }
  // Dropped after three silent intervals (a tick every 10 s, the first up
  // to one round early), told why, and its leave in the log.
  CHECK(closed(gamma));
  auto out = sent(gamma);
  REQUIRE_FALSE(only<protocol::goodbye>(out).empty());
  CHECK(only<protocol::goodbye>(out).back().code == wire_code::timeout);
  CHECK(only<protocol::heartbeat>(out).size() == 3);
  CHECK(capture.text.str().find("node gamma (") != std::string::npos);
  CHECK(capture.text.str().find(") left: ") != std::string::npos);
  CHECK(node_names() == names{"alpha", "beta"});
  CHECK(acked["alpha"] >= 3u);
  CHECK(acked["beta"] >= 3u);
  // The acking nodes stay, long after.
  for (int i = 0; i < 100; ++i) {
    advance(1s);
    for (auto ch : {alpha, beta})
      for (auto& hb : only<protocol::heartbeat>(sent(ch)))
        send(ch, protocol::heartbeat_ack{hb.seq});
  }
  CHECK(node_names() == names{"alpha", "beta"});
  CHECK_FALSE(closed(alpha));
  CHECK_FALSE(closed(beta));
  check_alive(alpha, "alpha");
  for (auto& x : nodes())
    CHECK(x.last_heartbeat_ns > 0);
}

TEST_CASE_METHOD(server_fixture,
                 "server: a heartbeat ack sends the supervisor nothing",
                 "[server][heartbeat]") {
  auto ch = join("alpha");
  advance(10s);
  auto hb = single<protocol::heartbeat>(sent(ch));
  CHECK(nodes()[0].last_heartbeat_ns == 0);
  // Only the connection (on the multiplexer) runs: nothing may be queued
  // for the scheduler's actors, the supervisor above all.
  mpx.virtual_send(ch, frame(protocol::heartbeat_ack{hb.seq}));
  while (mpx.try_exec_runnable() || mpx.read_data()) {
  }
  CHECK(sched.jobs.empty());
  using sup_ptr = supervisor_actor::stateful_pointer<supervisor_state>;
  // Blocked: idle, nothing enqueued (size() would unblock it).
  CHECK(deref<sup_ptr>(sup)->mailbox().blocked());
  // Yet `nodes` shows the ack: the supervisor reads it from the connection.
  CHECK(nodes()[0].last_heartbeat_ns > 0);
}

TEST_CASE_METHOD(server_fixture,
                 "server: one coarse heartbeat timer, not one per node",
                 "[server][heartbeat]") {
  using clock_type = caf::detail::simple_actor_clock;
  // Delayed messages in the clock for anyone but the supervisor.
  auto timers_of_others = [this] {
    size_t n = 0;
    for (auto& [due, ev] : sched.clock().schedule())
      if (ev->subtype == clock_type::actor_msg_type) {
        auto& x = static_cast<clock_type::actor_msg&>(*ev);
        if (x.receiver != caf::actor_cast<caf::strong_actor_ptr>(sup))
          ++n;
      }
    return n;
  };
  std::vector<connection_handle> chs;
  for (auto name : {"a1", "a2", "a3"})
    chs.push_back(join(name));
  // Every heartbeat comes from the supervisor's round timer: no node has
  // a timer of its own.
  CHECK(timers_of_others() == 0u);
  for (int round = 1; round <= 3; ++round) {
    advance(10s);
    for (auto ch : chs) {
      auto hb = single<protocol::heartbeat>(sent(ch));
      CHECK(hb.seq == static_cast<uint64_t>(round));
      send(ch, protocol::heartbeat_ack{hb.seq});
    }
    CHECK(timers_of_others() == 0u);
  }
}

TEST_CASE_METHOD(server_fixture,
                 "server: a node's name reaches the log escaped",
                 "[server][regression]") {
  std::string logged;
  {
    log_capture capture;
    auto ch = connect();
    // The hello and a second frame in one segment: the second one is a
    // protocol error logged while the name is not yet checked.
    auto bytes = frame(hello("\x1b]0;pwned\x07" "evil"));
    auto more = frame(protocol::heartbeat_ack{1});
    bytes.insert(bytes.end(), more.begin(), more.end());
    mpx.virtual_send(ch, bytes);
    run();
    CHECK(closed(ch));
    logged = capture.text.str();
  }
  CHECK(logged.find("protocol error") != std::string::npos);
  CHECK(logged.find('\x1b') == std::string::npos);
  CHECK(logged.find('\x07') == std::string::npos);
  CHECK(logged.find("\\x1b]0;pwned\\x07evil") != std::string::npos);
}

// -- issue 10: file_meta ------------------------------------------------------

namespace {

/// A node that announces the file_meta capability.
struct meta_fixture : server_fixture {
  connection_handle ch;
  node_connection_actor conn;
  std::shared_ptr<data_log> log = std::make_shared<data_log>();
  transfer_sink_actor sink;

  meta_fixture() {
    ch = connect();
    auto h = hello("alpha");
    h.capabilities |= protocol::capability::file_meta;
    send(ch, h);
    REQUIRE(single<protocol::welcome>(sent(ch)).session_id > 0);
    conn = resolve("alpha");
    sink = track(sys.spawn(recording_data_sink, log, conn));
  }

  std::shared_ptr<reply<uint64_t, protocol::sha256_digest>>
  get(uint8_t flags) {
    auto r = request<uint64_t, protocol::sha256_digest>(
      conn, atom::get_v, request_origin{5, "tester"}, std::string{"/key"}, uint64_t{0}, flags,
      sink);
    run();
    return r;
  }
};

} // namespace

TEST_CASE_METHOD(meta_fixture,
                 "server: a get asks for file_meta and forwards it once",
                 "[server][transfer][meta]") {
  auto r = get(protocol::transfer_meta);
  auto req = single<protocol::download_request>(sent(ch));
  CHECK(req.flags == protocol::transfer_meta);
  send(ch, protocol::file_meta{req.id, 3, 0600, 42});
  REQUIRE(log->metas.size() == 1);
  CHECK(log->metas[0] == std::make_tuple(uint64_t{3}, 0600u, int64_t{42}));
  SECTION("then the data") {
    send(ch, protocol::data_chunk{req.id, 0, "abc"});
    CHECK(single<protocol::chunk_ack>(sent(ch)).id == req.id);
    send(ch, protocol::download_end{req.id, 3, {}});
    CHECK(r->value);
  }
  SECTION("a second file_meta is a protocol error") {
    send(ch, protocol::file_meta{req.id, 3, 0600, 42});
    CHECK(closed(ch));
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::protocol_error);
  }
}

TEST_CASE_METHOD(meta_fixture,
                 "server: file_meta for a get that did not ask is refused",
                 "[server][transfer][meta]") {
  auto r = get(0);
  auto req = single<protocol::download_request>(sent(ch));
  CHECK(req.flags == 0);
  send(ch, protocol::file_meta{req.id, 3, 0600, 42});
  CHECK(closed(ch));
  CHECK(log->metas.empty());
}

TEST_CASE_METHOD(server_fixture,
                 "server: large data chunks only with a node that has "
                 "large_chunks",
                 "[server][transfer][large]") {
  auto large = GENERATE(true, false);
  auto ch = connect();
  auto h = hello("alpha");
  h.capabilities |= protocol::capability::features;
  if (large)
    h.capabilities |= protocol::capability::large_chunks;
  send(ch, h);
  auto w = single<protocol::welcome>(sent(ch));
  REQUIRE(w.features);
  CHECK(((*w.features & protocol::server_feature::large_chunks) != 0)
        == large);
  auto conn = resolve("alpha");
  auto log = std::make_shared<data_log>();
  auto sink = track(sys.spawn(recording_data_sink, log, conn));
  auto r = request<uint64_t, protocol::sha256_digest>(
    conn, atom::get_v, request_origin{5, "tester"}, std::string{"/f"}, uint64_t{0},
    uint8_t{0}, sink);
  run();
  auto id = single<protocol::download_request>(sent(ch)).id;
  auto limit = large ? protocol::max_large_chunk : protocol::max_data_chunk;
  send(ch, protocol::data_chunk{id, 0, std::string(limit, 'c')});
  CHECK(single<protocol::chunk_ack>(sent(ch)).id == id);
  REQUIRE(log->chunks.size() == 1);
  CHECK(log->chunks[0].second.size() == limit);
  if (large) {
    // (Above max_large_chunk the codec refuses: test_codec_malformed.)
    CHECK_FALSE(closed(ch));
    return;
  }
  // Without it, a chunk above max_data_chunk is a protocol error.
  send(ch, protocol::data_chunk{id, limit, std::string(limit + 1, 'c')});
  CHECK(closed(ch));
  REQUIRE(r->error);
  CHECK(code_of(r->error) == wire_code::protocol_error);
  CHECK(log->chunks.size() == 1);
}

TEST_CASE_METHOD(server_fixture,
                 "server: nodes without file_meta get version-1 transfers",
                 "[server][transfer][meta]") {
  auto ch = join("old");
  auto conn = resolve("old");
  auto log = std::make_shared<data_log>();
  auto sink = track(sys.spawn(recording_data_sink, log, conn));
  auto r = request<uint64_t, protocol::sha256_digest>(
    conn, atom::get_v, request_origin{5, "tester"}, std::string{"/key"}, uint64_t{0},
    protocol::transfer_meta, sink);
  run();
  CHECK(single<protocol::download_request>(sent(ch)).flags == 0);
  auto p = request<uint64_t>(conn, atom::put_v, request_origin{6, "tester"},
                             std::string{"/new"}, uint64_t{0},
                             uint8_t{protocol::transfer_meta
                                     | protocol::transfer_resume},
                             uint32_t{0600}, int64_t{1}, upload_source_actor{});
  run();
  REQUIRE(p->error);
  CHECK(code_of(p->error) == wire_code::bad_request);
}

// -- uploads: the connection frames what its upload_pump reads (issue 9) -----

namespace {

/// What a fake upload source serves and how often it was read.
struct source_log {
  std::string content;
  size_t chunk = 100;
  size_t reads = 0;
  /// The read (0-based) that fails with io_error, if any.
  std::optional<size_t> fail_at;
  /// The chunk size the last read asked for.
  uint64_t asked = 0;
};

upload_source_actor::behavior_type
fake_source(upload_source_actor::pointer, std::shared_ptr<source_log> log) {
  return {
    [log](atom::read, uint64_t max_bytes) -> caf::result<node::file_chunk> {
      log->asked = max_bytes;
      auto n = log->reads++;
      if (log->fail_at == n)
        return make_error(wire_code::io_error, "disk on fire");
      node::file_chunk x;
      x.offset = n * log->chunk;
      if (x.offset >= log->content.size()) {
        x.end = true;
        x.size = log->content.size();
        x.sha256 = node::sha256_bytes(log->content);
      } else {
        x.data = log->content.substr(x.offset, log->chunk);
      }
      return x;
    },
  };
}

struct upload_fixture : broker_fixture {
  std::shared_ptr<source_log> log = std::make_shared<source_log>();
  caf::actor source;

  upload_fixture() {
    log->content = std::string(100 * (protocol::data_window + 4), 'u');
    source = track(caf::actor_cast<caf::actor>(sys.spawn(fake_source, log)));
  }

  std::shared_ptr<reply<uint64_t>> put(uint64_t query) {
    auto r = request<uint64_t>(conn, atom::put_v,
                               request_origin{query, "tester"},
                               std::string{"/up"},
                               uint64_t{log->content.size()}, uint8_t{0},
                               uint32_t{0644}, int64_t{0},
                               caf::actor_cast<upload_source_actor>(source));
    run();
    return r;
  }

  /// The pump of the only upload in flight.
  upload_pump_actor pump() {
    auto& requests = deref<node_connection_broker>(conn)->state.requests;
    REQUIRE(requests.size() == 1);
    return requests.begin()->second.pump;
  }
};

} // namespace

TEST_CASE_METHOD(upload_fixture,
                 "server: an upload goes out within the window, acked chunk "
                 "by chunk",
                 "[server][upload]") {
  auto r = put(4);
  auto out = sent(ch);
  auto id = single<protocol::upload_request>(out).id;
  // The pump stops at the window: no read beyond it until the node acks.
  auto chunks = only<protocol::data_chunk>(out);
  CHECK(chunks.size() == protocol::data_window);
  CHECK(log->reads == protocol::data_window);
  // A node without large_chunks: chunks of the version-1 size.
  CHECK(log->asked == protocol::max_data_chunk);
  uint64_t next = 0;
  for (auto& x : chunks) {
    CHECK(x.id == id);
    CHECK(x.offset == next);
    next += x.data.size();
  }
  for (int i = 0; i < 5; ++i) {
    send(ch, protocol::chunk_ack{id});
    for (auto& x : sent(ch))
      if (auto chunk = std::get_if<protocol::data_chunk>(&x)) {
        CHECK(chunk->offset == next);
        next += chunk->data.size();
      } else {
        auto end = std::get<protocol::upload_end>(x);
        CHECK(end.size == log->content.size());
        CHECK(end.sha256 == node::sha256_bytes(log->content));
      }
  }
  CHECK(next == log->content.size());
  CHECK_FALSE(r->done());
  auto pump_down = watch(pump());
  send(ch, protocol::upload_reply{id, log->content.size()});
  REQUIRE(r->value);
  CHECK(r->get() == log->content.size());
  CHECK(pump_down->down);
  CHECK(deref<node_connection_broker>(conn)->state.requests.empty());
}

TEST_CASE_METHOD(upload_fixture,
                 "server: an upload ends with its pump, whichever way",
                 "[server][upload]") {
  SECTION("the source fails: the node is told to stop") {
    log->fail_at = 3;
    auto r = put(4);
    auto out = sent(ch);
    auto id = single<protocol::upload_request>(out).id;
    CHECK(only<protocol::data_chunk>(out).size() == 3);
    CHECK(single<protocol::cancel>(out).id == id);
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::io_error);
    CHECK_FALSE(closed(ch));
  }
  SECTION("the console cancels: the pump stops reading") {
    auto r = put(4);
    auto id = single<protocol::upload_request>(sent(ch)).id;
    auto pump_down = watch(pump());
    caf::anon_send(conn, atom::cancel_v, uint64_t{4});
    run();
    CHECK(single<protocol::cancel>(sent(ch)).id == id);
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::cancelled);
    CHECK(pump_down->down);
    auto reads = log->reads;
    send(ch, protocol::chunk_ack{id}); // late: ignored
    CHECK(log->reads == reads);
    CHECK(sent(ch).empty());
    CHECK_FALSE(closed(ch));
  }
  SECTION("the connection is killed: the pump goes with it") {
    auto r = put(4);
    sent(ch);
    auto pump_down = watch(pump());
    caf::anon_send_exit(conn, caf::exit_reason::kill);
    run();
    REQUIRE(r->error);
    CHECK(pump_down->down);
  }
  SECTION("a chunk_ack for no data_chunk is a protocol error") {
    log->content.clear();
    auto r = put(4);
    auto out = sent(ch);
    auto id = single<protocol::upload_request>(out).id;
    CHECK(single<protocol::upload_end>(out).size == 0u);
    send(ch, protocol::chunk_ack{id});
    REQUIRE(r->error);
    require_protocol_error();
  }
  SECTION("an upload_reply before the end is a protocol error") {
    auto r = put(4);
    auto id = single<protocol::upload_request>(sent(ch)).id;
    send(ch, protocol::upload_reply{id, log->content.size()});
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::protocol_error);
    require_protocol_error();
  }
}

// -- the cost of an idle connection (issue 9) ---------------------------------

TEST_CASE_METHOD(broker_fixture,
                 "server: reads are small while a node is quiet, large while "
                 "data flows",
                 "[server][memory]") {
  CHECK(mpx.read_config(ch).second == idle_read_size);
  // A frame larger than a small read: reads grow.
  send(ch, protocol::echo{std::string(3 * idle_read_size, 'x')});
  CHECK(only<protocol::echo_reply>(sent(ch)).size() == 1);
  CHECK(mpx.read_config(ch).second == read_size);
  // One heartbeat interval with data still counts as flowing...
  advance(settings.heartbeat_interval);
  auto hb = single<protocol::heartbeat>(sent(ch));
  send(ch, protocol::heartbeat_ack{hb.seq});
  CHECK(mpx.read_config(ch).second == read_size);
  // ... a quiet one shrinks reads again.
  advance(settings.heartbeat_interval);
  hb = single<protocol::heartbeat>(sent(ch));
  send(ch, protocol::heartbeat_ack{hb.seq});
  CHECK(mpx.read_config(ch).second == idle_read_size);
  check_alive(ch, "alpha");
}

TEST_CASE_METHOD(server_fixture,
                 "server: one heartbeat per node per interval, from one "
                 "coarse timer",
                 "[server]") {
  auto alpha = join("alpha");
  advance(3500ms);
  auto beta = join("beta");
  advance(6500ms); // alpha joined 10 s ago
  CHECK(single<protocol::heartbeat>(sent(alpha)).seq == 1u);
  CHECK(sent(beta).empty());
  advance(3s); // beta joined 9.5 s ago: its round is due (one round early)
  CHECK(sent(alpha).empty());
  CHECK(single<protocol::heartbeat>(sent(beta)).seq == 1u);
  for (uint64_t seq = 2; seq <= 3; ++seq) {
    advance(7s);
    CHECK(single<protocol::heartbeat>(sent(alpha)).seq == seq);
    send(alpha, protocol::heartbeat_ack{seq});
    CHECK(sent(beta).empty());
    advance(3s);
    CHECK(single<protocol::heartbeat>(sent(beta)).seq == seq);
    send(beta, protocol::heartbeat_ack{seq});
  }
  auto xs = nodes();
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].last_heartbeat_ns > 0);
  CHECK(xs[1].last_heartbeat_ns > 0);
}
