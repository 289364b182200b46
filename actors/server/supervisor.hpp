#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actors.hpp"
#include "actors/server/heartbeat_schedule.hpp"
#include "actors/settings.hpp"

namespace dirscope {

/// Where a node is tracked: the server's table of connected nodes.
struct supervisor_state {
  static inline const char* name = "supervisor";

  struct node_record {
    node_info info;
    node_connection_actor conn;
    /// Written by the connection on every heartbeat_ack.
    node_liveness_ptr liveness;

    /// The node's row for `nodes`: info with the last heartbeat now.
    node_info row() const;
  };

  struct waiter {
    /// The requester's query id, for cancel.
    uint64_t query;
    uint64_t count;
    caf::typed_response_promise<uint64_t> promise;
  };

  server_settings settings;
  uint64_t next_id = 1;
  /// Joined nodes by session id.
  std::map<uint64_t, node_record> nodes;
  /// Session ids of the joined nodes by name: `nodes` pages in name order,
  /// and finding a node by name does not scan the fleet.
  std::map<std::string, uint64_t> names;
  /// A live connection: its session id (0: no welcome yet) and when it was
  /// accepted (for the handshake deadline).
  struct connection_record {
    uint64_t id = 0;
    caf::actor_clock::time_point accepted;
  };

  /// Every live connection, joined or not. Only here (weakly, until its
  /// down message) does the server remember a connection that has not said
  /// hello: no timer holds one alive after it closed.
  std::unordered_map<caf::actor_addr, connection_record> connections;
  /// A handshake sweep (tick) is scheduled.
  bool sweep_pending = false;
  /// The acceptor, told to stop and resume accepting (admission control).
  caf::actor acceptor;
  /// The acceptor was told to stop accepting: max_handshakes reached.
  bool admission_closed = false;
  /// Every joined node's heartbeat, on one coarse timer.
  heartbeat_schedule heartbeats{std::chrono::seconds{10}};
  /// A heartbeat round is scheduled.
  bool round_pending = false;
  /// Pending `kick` replies by session id.
  std::unordered_multimap<uint64_t, caf::typed_response_promise<node_info>>
    kicks;
  /// Pending `wait` requests by waiter id.
  std::map<uint64_t, waiter> waiters;
  uint64_t next_waiter = 1;
  /// Where lines typed on nodes go (the console); may be unset.
  echo_sink_actor echo_sink;
  /// Who watches joins, leaves and echo lines (the API's event streams).
  std::vector<node_event_sink_actor> event_sinks;
  bool shutting_down = false;
  bool shutdown_done = false;
  /// The grace period ended: lingering connections were killed, their
  /// down messages (and "left" lines) are on the way.
  bool cutting_off = false;
  std::vector<caf::typed_response_promise<uint64_t>> shutdown_promises;
  uint64_t shutdown_count = 0;

  /// Finds a joined node by name or decimal id.
  node_record* find(const std::string& name_or_id);
};

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           server_settings settings);

} // namespace dirscope
