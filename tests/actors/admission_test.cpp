// Admission control for reconnect storms (issue 9, item 5): at
// max_handshakes connections between accept and welcome the server stops
// accepting, and goes on once half of them are through. Before, it accepted
// every connection of a storm at once and the handshakes queued past their
// deadline.

#include <caf/io/accept_handle.hpp>
#include <caf/io/connection_handle.hpp>

#include "actors/server/acceptor.hpp"
#include "actors/server/listener.hpp"
#include "actors/server/supervisor.hpp"
#include "tests/actors/fixture.hpp"

using namespace dirscope;
using namespace dirscope::test;
using caf::io::connection_handle;

namespace {

struct admission_fixture : fixture {
  static constexpr uint16_t port = 3443;
  caf::io::accept_handle ah = caf::io::accept_handle::from_int(1);
  server_settings settings;
  supervisor_actor sup;
  caf::actor acc;
  int64_t next_connection = 100;

  admission_fixture() {
    settings.max_handshakes = 4;
    mpx.provide_acceptor(port, ah);
    sup = track(sys.spawn(supervisor, settings));
    auto& mm = sys.middleman();
    auto doorman = open_listener(mm.backend(), port, nullptr, true);
    REQUIRE(doorman);
    acc = track(mm.spawn_broker(acceptor, std::move(*doorman), sup, settings,
                                tls_context_ptr{}));
    run();
  }

  /// A TCP connection arrives and is accepted.
  connection_handle connect() {
    auto ch = connection_handle::from_int(next_connection++);
    mpx.add_pending_connect(ah, ch);
    mpx.accept_connection(ah);
    run();
    REQUIRE(mpx.impl_ptr(ch) != nullptr);
    return ch;
  }

  /// The peer of `ch` goes away before its hello.
  void disconnect(connection_handle ch) {
    mpx.impl_ptr(ch)->io_failure(&mpx, caf::io::network::operation::read);
    run();
  }

  /// The acceptor is out of the accept loop.
  bool halted() {
    return mpx.passive_mode(ah);
  }
};

} // namespace

TEST_CASE_METHOD(admission_fixture,
                 "admission: at max_handshakes the server stops accepting "
                 "until half are through",
                 "[acceptor][issue9]") {
  std::vector<connection_handle> chs;
  for (int i = 0; i < 3; ++i) {
    chs.push_back(connect());
    CHECK_FALSE(halted());
  }
  chs.push_back(connect()); // the fourth handshake in progress
  CHECK(halted());
  // One through (here: gone): 3 left, more than half of 4.
  disconnect(chs[0]);
  CHECK(halted());
  // Two left: accepting again.
  disconnect(chs[1]);
  CHECK_FALSE(halted());
  chs.push_back(connect());
  CHECK_FALSE(halted());
  chs.push_back(connect());
  CHECK(halted());
  for (size_t i = 2; i < chs.size(); ++i)
    disconnect(chs[i]);
  CHECK_FALSE(halted());
}

TEST_CASE_METHOD(admission_fixture,
                 "admission: the fd-shortage retry does not reopen a door the "
                 "supervisor closed",
                 "[acceptor][issue9]") {
  for (int i = 0; i < 4; ++i)
    connect();
  REQUIRE(halted());
  caf::anon_send(acc, atom::wait_v, EMFILE);
  run();
  advance(accept_retry);
  CHECK(halted());
}

TEST_CASE_METHOD(admission_fixture,
                 "admission: a server shutting down stops accepting for good",
                 "[acceptor][issue9]") {
  // Nodes that reconnect while a large fleet is told goodbye only add TLS
  // handshakes to the I/O thread (quit at 10,000 nodes: 55 s, leaves lost).
  connect();
  connect();
  REQUIRE_FALSE(halted());
  auto done = request<uint64_t>(sup, atom::shutdown_v);
  run();
  CHECK(halted());
  // The connections without a welcome were told to go; their leaving does
  // not open the door again, nor does the descriptor retry.
  REQUIRE(done->value);
  CHECK(done->get() == 0u);
  CHECK(halted());
  caf::anon_send(acc, atom::wait_v, EMFILE);
  run();
  advance(accept_retry);
  CHECK(halted());
}
