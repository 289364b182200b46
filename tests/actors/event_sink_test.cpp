// The supervisor's event sinks (the operator API's event streams): joins,
// leaves and echo lines reach every sink until it terminates.

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/server/supervisor.hpp"
#include "tests/actors/fixture.hpp"

using namespace dirscope;
using namespace dirscope::test;

namespace {

using event_log = std::vector<std::string>;

node_event_sink_actor::behavior_type
recording_sink(node_event_sink_actor::pointer, std::shared_ptr<event_log> log) {
  return {
    [log](atom::echo, const std::string& node, const std::string& text) {
      log->push_back("echo " + node + " " + text);
    },
    [log](atom::join, const node_info& info) {
      log->push_back("join " + info.name);
    },
    [log](atom::goodbye, const node_info& info, const std::string&) {
      log->push_back("leave " + info.name);
    },
  };
}

using sup_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

} // namespace

TEST_CASE_METHOD(fixture,
                 "supervisor: event sinks hear joins, leaves and echo lines "
                 "until they terminate",
                 "[supervisor][api]") {
  server_settings settings;
  auto sup = track(sys.spawn(supervisor, settings));
  auto first = std::make_shared<event_log>();
  auto second = std::make_shared<event_log>();
  auto sink1 = track(sys.spawn(recording_sink, first));
  auto sink2 = track(sys.spawn(recording_sink, second));
  caf::anon_send(sup, atom::subscribe_v, sink1);
  caf::anon_send(sup, atom::subscribe_v, sink2);
  run();
  auto log = std::make_shared<fake_node_log>();
  auto conn = track(spawn_fake_node(sys, log));
  caf::anon_send(sup, atom::connected_v, conn);
  run();
  auto joined = request<uint64_t>(sup, atom::join_v, make_info("alpha"), conn,
                                  std::make_shared<node_liveness>());
  run();
  REQUIRE(joined->value);
  caf::anon_send(sup, atom::echo_v, std::string{"alpha"},
                 std::string{"hi"});
  run();
  // The second sink goes away: it hears no more, and is forgotten.
  caf::anon_send_exit(sink2, caf::exit_reason::user_shutdown);
  run();
  CHECK(deref<sup_ptr>(sup)->state.event_sinks.size() == 1);
  caf::anon_send_exit(conn, caf::exit_reason::kill);
  run();
  CHECK(*first == event_log{"join alpha", "echo alpha hi", "leave alpha"});
  CHECK(*second == event_log{"join alpha", "echo alpha hi"});
}
