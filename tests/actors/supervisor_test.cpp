// The supervisor alone: fake node connections stand in for the brokers.

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/server/supervisor.hpp"
#include "tests/actors/fixture.hpp"

using namespace dirscope;
using namespace dirscope::test;

namespace {

struct supervisor_fixture : fixture {
  struct node {
    node_connection_actor hdl;
    std::shared_ptr<fake_node_log> log;
    node_liveness_ptr liveness = std::make_shared<node_liveness>();
  };

  server_settings settings;
  supervisor_actor sup;

  supervisor_fixture() {
    settings.max_clients = 3;
    settings.shutdown_grace = 3s;
    sup = track(sys.spawn(supervisor, settings));
    run();
  }

  /// A new connection, announced to the supervisor as the acceptor does.
  node connect() {
    auto log = std::make_shared<fake_node_log>();
    auto hdl = track(spawn_fake_node(sys, log));
    caf::anon_send(sup, atom::connected_v, hdl);
    run();
    return {hdl, log, std::make_shared<node_liveness>()};
  }

  std::shared_ptr<reply<uint64_t>> join(const node& n, std::string name) {
    auto result = request<uint64_t>(sup, atom::join_v, make_info(name), n.hdl,
                                    n.liveness);
    run();
    return result;
  }

  /// Connects and joins; requires success.
  node joined(std::string name) {
    auto n = connect();
    auto r = join(n, name);
    REQUIRE(r->value);
    return n;
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

  supervisor_actor::stateful_pointer<supervisor_state> state_ptr() {
    return deref<supervisor_actor::stateful_pointer<supervisor_state>>(sup);
  }
};

using names = std::vector<std::string>;

} // namespace

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: joined nodes are listed and resolvable",
                 "[supervisor]") {
  auto alpha = connect();
  auto r1 = join(alpha, "alpha");
  REQUIRE(r1->value);
  CHECK(r1->get() == 1u);
  auto beta = connect();
  auto r2 = join(beta, "beta");
  REQUIRE(r2->value);
  CHECK(r2->get() == 2u);
  auto xs = nodes();
  REQUIRE(xs.size() == 2);
  CHECK(xs[0].id == 1u);
  CHECK(xs[0].name == "alpha");
  CHECK(xs[0].hostname == "host-alpha");
  CHECK(xs[0].root == "/srv/alpha");
  CHECK(xs[0].connected_ns > 0);
  CHECK(xs[0].last_heartbeat_ns == 0);
  CHECK(xs[1].id == 2u);
  CHECK(xs[1].name == "beta");
  SECTION("resolve by name") {
    auto r = request<node_info, node_connection_actor>(sup, atom::resolve_v,
                                                       std::string{"beta"});
    run();
    REQUIRE(r->value);
    CHECK(r->get<0>().id == 2u);
    CHECK(r->get<1>() == beta.hdl);
  }
  SECTION("resolve by id") {
    auto r = request<node_info, node_connection_actor>(sup, atom::resolve_v,
                                                       std::string{"1"});
    run();
    REQUIRE(r->value);
    CHECK(r->get<0>().name == "alpha");
    CHECK(r->get<1>() == alpha.hdl);
  }
  SECTION("resolve of an unknown node fails with not_found") {
    for (auto name : {"gamma", "3", "", "99999999999999999999999"}) {
      auto r = request<node_info, node_connection_actor>(sup, atom::resolve_v,
                                                         std::string{name});
      run();
      INFO("name: " << name);
      REQUIRE(r->error);
      CHECK(code_of(r->error) == wire_code::not_found);
    }
  }
  SECTION("heartbeats are recorded per node") {
    beta.liveness->last_ack_ns = 123456789;
    auto ys = nodes();
    CHECK(ys[0].last_heartbeat_ns == 0);
    CHECK(ys[1].last_heartbeat_ns == 123456789);
  }
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: join refuses taken, invalid and surplus names",
                 "[supervisor]") {
  joined("alpha");
  SECTION("a taken name fails with name_taken") {
    auto other = connect();
    auto r = join(other, "alpha");
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::name_taken);
    CHECK(node_names() == names{"alpha"});
  }
  SECTION("invalid names fail with bad_request") {
    for (auto name : {std::string{}, std::string{"with space"},
                      std::string{"a/b"}, std::string{"a:b"},
                      std::string{"a\\b"}, std::string{"tab\there"},
                      std::string{"caf\xc3\xa9"}, std::string(65, 'x')}) {
      auto other = connect();
      auto r = join(other, name);
      INFO("name: " << name);
      REQUIRE(r->error);
      CHECK(code_of(r->error) == wire_code::bad_request);
    }
    CHECK(node_names() == names{"alpha"});
    auto longest = connect();
    CHECK(join(longest, std::string(64, 'x'))->value);
  }
  SECTION("max_clients is enforced with server_full") {
    joined("beta");
    joined("gamma");
    auto fourth = connect();
    auto r = join(fourth, "delta");
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::server_full);
    CHECK(node_names() == names{"alpha", "beta", "gamma"});
    // A slot frees up as soon as a node leaves.
    auto beta = request<node_info, node_connection_actor>(
      sup, atom::resolve_v, std::string{"beta"});
    run();
    REQUIRE(beta->value);
    caf::anon_send_exit(beta->get<1>(), caf::exit_reason::user_shutdown);
    run();
    auto r2 = join(fourth, "delta");
    REQUIRE(r2->value);
    CHECK(r2->get() == 4u); // beta's id 2 is not reused
    CHECK(node_names() == names{"alpha", "gamma", "delta"});
  }
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: a node leaves the table when its connection dies",
                 "[supervisor]") {
  auto alpha = joined("alpha");
  auto beta = joined("beta");
  auto idle = connect(); // accepted, never said hello
  CHECK(state_ptr()->state.connections.size() == 3);
  SECTION("connection killed") {
    caf::anon_send_exit(alpha.hdl, caf::exit_reason::kill);
  }
  SECTION("connection quits normally") {
    caf::anon_send(alpha.hdl, atom::goodbye_v,
                   make_error(wire_code::ok, "test"));
  }
  run();
  CHECK(node_names() == names{"beta"});
  auto r = request<node_info, node_connection_actor>(sup, atom::resolve_v,
                                                     std::string{"alpha"});
  run();
  REQUIRE(r->error);
  CHECK(code_of(r->error) == wire_code::not_found);
  // The name is free again.
  auto again = connect();
  CHECK(join(again, "alpha")->value);
  // Connections that never joined are forgotten too.
  caf::anon_send_exit(idle.hdl, caf::exit_reason::kill);
  run();
  CHECK(state_ptr()->state.connections.size() == 2);
  CHECK(node_names() == names{"beta", "alpha"});
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: kick says goodbye(kicked) and replies once the "
                 "connection is gone",
                 "[supervisor]") {
  auto alpha = joined("alpha");
  auto beta = joined("beta");
  SECTION("a connection that stays up delays the reply") {
    alpha.log->leave_on_goodbye = false;
    auto r = request<node_info>(sup, atom::kick_v, std::string{"tester"},
                              std::string{"alpha"});
    run();
    REQUIRE(alpha.log->goodbyes.size() == 1);
    CHECK(code_of(alpha.log->goodbyes[0]) == wire_code::kicked);
    CHECK(beta.log->goodbyes.empty());
    CHECK_FALSE(r->done());
    CHECK(node_names() == names{"alpha", "beta"});
    caf::anon_send_exit(alpha.hdl, caf::exit_reason::user_shutdown);
    run();
    REQUIRE(r->value);
    CHECK(r->get().name == "alpha");
    CHECK(r->get().id == 1u);
    CHECK(node_names() == names{"beta"});
  }
  SECTION("kick by id") {
    auto r = request<node_info>(sup, atom::kick_v, std::string{"tester"},
                              std::string{"2"});
    run();
    REQUIRE(r->value);
    CHECK(r->get().name == "beta");
    REQUIRE(beta.log->goodbyes.size() == 1);
    CHECK(code_of(beta.log->goodbyes[0]) == wire_code::kicked);
    CHECK(node_names() == names{"alpha"});
  }
  SECTION("kicking an unknown node fails with not_found") {
    auto r = request<node_info>(sup, atom::kick_v, std::string{"tester"},
                              std::string{"gamma"});
    run();
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::not_found);
    CHECK(alpha.log->goodbyes.empty());
    CHECK(beta.log->goodbyes.empty());
  }
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: wait replies once enough nodes are connected",
                 "[supervisor]") {
  SECTION("enough nodes already") {
    joined("alpha");
    auto r0 = request<uint64_t>(sup, atom::wait_v, uint64_t{0}, uint64_t{0},
                                caf::timespan{1s});
    auto r1 = request<uint64_t>(sup, atom::wait_v, uint64_t{0}, uint64_t{1},
                                caf::timespan{1s});
    run();
    REQUIRE(r0->value);
    CHECK(r0->get() == 1u);
    REQUIRE(r1->value);
    CHECK(r1->get() == 1u);
  }
  SECTION("more nodes arrive before the timeout") {
    auto r = request<uint64_t>(sup, atom::wait_v, uint64_t{0}, uint64_t{2},
                               caf::timespan{10s});
    run();
    joined("alpha");
    CHECK_FALSE(r->done());
    advance(9s);
    CHECK_FALSE(r->done());
    joined("beta");
    REQUIRE(r->value);
    CHECK(r->get() == 2u);
    // The timer firing later changes nothing.
    advance(5s);
    CHECK(r->value);
    CHECK_FALSE(r->error);
  }
  SECTION("too few nodes: timeout") {
    joined("alpha");
    auto r = request<uint64_t>(sup, atom::wait_v, uint64_t{0}, uint64_t{3},
                               caf::timespan{10s});
    run();
    joined("beta");
    advance(9s);
    CHECK_FALSE(r->done());
    advance(1s);
    REQUIRE(r->error);
    CHECK(code_of(r->error) == wire_code::timeout);
    // Later joins do not touch the finished waiter.
    joined("gamma");
    CHECK_FALSE(r->value);
  }
  SECTION("a node that joins and leaves again does not count") {
    auto r = request<uint64_t>(sup, atom::wait_v, uint64_t{0}, uint64_t{2},
                               caf::timespan{10s});
    run();
    auto alpha = joined("alpha");
    caf::anon_send_exit(alpha.hdl, caf::exit_reason::kill);
    run();
    joined("beta");
    CHECK_FALSE(r->done());
    joined("gamma");
    REQUIRE(r->value);
    CHECK(r->get() == 2u);
  }
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: shutdown says goodbye to every node",
                 "[supervisor]") {
  SECTION("without nodes it replies at once") {
    auto r = request<uint64_t>(sup, atom::shutdown_v);
    run();
    REQUIRE(r->value);
    CHECK(r->get() == 0u);
  }
  SECTION("replies once all connections are down") {
    auto alpha = joined("alpha");
    auto beta = joined("beta");
    auto idle = connect();
    auto idle_down = watch(idle.hdl);
    auto r = request<uint64_t>(sup, atom::shutdown_v);
    run();
    for (auto* log : {alpha.log.get(), beta.log.get()}) {
      REQUIRE(log->goodbyes.size() == 1);
      CHECK(code_of(log->goodbyes[0]) == wire_code::shutdown);
    }
    // A connection without hello gets no goodbye, just the exit.
    CHECK(idle.log->goodbyes.empty());
    CHECK(idle_down->down);
    REQUIRE(r->value);
    CHECK(r->get() == 2u);
    CHECK(nodes().empty());
    SECTION("afterwards nobody may join") {
      auto late = connect();
      auto late_down = watch(late.hdl);
      auto j = join(late, "gamma");
      CHECK(late_down->down); // the supervisor closed it at once
      REQUIRE(j->error);
      CHECK(code_of(j->error) == wire_code::shutdown);
      CHECK(nodes().empty());
    }
  }
  SECTION("a restart says restarting, so nodes come back") {
    auto alpha = joined("alpha");
    auto r = request<uint64_t>(sup, atom::restart_v);
    run();
    REQUIRE(alpha.log->goodbyes.size() == 1);
    CHECK(code_of(alpha.log->goodbyes[0]) == wire_code::restarting);
    REQUIRE(r->value);
    CHECK(r->get() == 1u);
    CHECK(nodes().empty());
  }
  SECTION("after the grace period lingering connections are killed") {
    auto alpha = joined("alpha");
    auto beta = joined("beta");
    beta.log->leave_on_goodbye = false;
    auto beta_down = watch(beta.hdl);
    auto r = request<uint64_t>(sup, atom::shutdown_v);
    run();
    REQUIRE(beta.log->goodbyes.size() == 1);
    CHECK(node_names() == names{"beta"});
    CHECK_FALSE(r->done());
    advance(2s);
    CHECK_FALSE(r->done());
    CHECK_FALSE(beta_down->down);
    advance(1s);
    REQUIRE(r->value);
    CHECK(r->get() == 2u);
    REQUIRE(beta_down->down);
    CHECK(beta_down->reason == caf::exit_reason::kill);
    CHECK(nodes().empty());
  }
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: its exit takes every connection down",
                 "[supervisor]") {
  auto alpha = joined("alpha");
  auto idle = connect();
  auto alpha_down = watch(alpha.hdl);
  auto idle_down = watch(idle.hdl);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  CHECK(alpha_down->down);
  CHECK(idle_down->down);
}

// A shutdown request after a completed shutdown must not wait for a grace
// timer that may never fire (regression test).
TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: a second shutdown request after the first "
                 "completed replies at once",
                 "[supervisor]") {
  SECTION("the first shutdown had nodes to wait for") {
    joined("alpha");
  }
  SECTION("the first shutdown had nothing to wait for") {
    // nop
  }
  auto r1 = request<uint64_t>(sup, atom::shutdown_v);
  run();
  REQUIRE(r1->value);
  auto r2 = request<uint64_t>(sup, atom::shutdown_v);
  run();
  CHECK(r2->value);
}

// A second kick of a node whose connection has not gone yet must not
// replace the first request's promise (a bug, fixed).
TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: two kicks of the same node both reply",
                 "[supervisor][regression]") {
  auto alpha = joined("alpha");
  alpha.log->leave_on_goodbye = false;
  auto r1 = request<node_info>(sup, atom::kick_v, std::string{"tester"},
                              std::string{"alpha"});
  run();
  auto r2 = request<node_info>(sup, atom::kick_v, std::string{"tester"},
                              std::string{"alpha"});
  run();
  CHECK_FALSE(r1->done());
  CHECK_FALSE(r2->done());
  caf::anon_send_exit(alpha.hdl, caf::exit_reason::user_shutdown);
  run();
  CHECK(r1->value);
  CHECK(r2->value);
}

// issue 9: quit at 10k lost "left" lines: the shutdown answered at the end
// of the grace period, before the connections it killed had reported
// back. Now the answer waits for their down messages.
TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: shutdown answers after every leave",
                 "[supervisor][regression]") {
  auto alpha = joined("alpha");
  auto beta = joined("beta");
  beta.log->leave_on_goodbye = false;
  auto st = state_ptr();
  auto nodes_at_reply = std::make_shared<std::optional<size_t>>();
  track(sys.spawn([this, st, nodes_at_reply](caf::event_based_actor* self) {
    self->request(sup, caf::infinite, atom::shutdown_v)
      .then([st, nodes_at_reply](uint64_t) {
        *nodes_at_reply = st->state.nodes.size();
      });
  }));
  run();
  CHECK_FALSE(nodes_at_reply->has_value());
  advance(settings.shutdown_grace);
  REQUIRE(nodes_at_reply->has_value());
  CHECK(**nodes_at_reply == 0u);
}

TEST_CASE_METHOD(supervisor_fixture,
                 "supervisor: the last seen heartbeat is the connection's",
                 "[supervisor]") {
  auto alpha = joined("alpha");
  CHECK(nodes()[0].last_heartbeat_ns == 0);
  alpha.liveness->last_ack_ns = 42;
  CHECK(nodes()[0].last_heartbeat_ns == 42);
}
