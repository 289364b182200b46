#pragma once

#include <deque>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/client/worker_pool.hpp"

namespace dirscope {

/// One find (or node-side tree walk) in progress: steps the walk on a
/// filesystem worker, cuts its matches into chunks of at most
/// `max_chunk_bytes` and hands them to the connection, never more than
/// protocol::chunk_window ahead of the server. Speaks lister_actor (ack,
/// tick), so the connection treats it as a listing.
struct finder_state {
  static inline const char* name = "finder";

  client_connection_actor conn;
  worker_pool pool;
  uint32_t id = 0;
  size_t max_chunk_bytes = 0;
  /// Hashing walks take the bulk workers (a step may hash large files).
  bool bulk = false;
  /// Null until the walk is open.
  find_walk_ptr walk;
  bool stepping = false;
  bool exhausted = false;
  uint32_t unacked = 0;
  uint64_t matched = 0;
  bool sent_since_tick = false;
  std::deque<std::vector<protocol::find_match>> ready;

  ~finder_state() {
    // However the find ends, a step or hash still running gives up.
    if (walk)
      walk->cancel();
  }
};

/// Entries one step of a walk looks at before it returns (so that a cancel
/// and the progress timer get their turn).
constexpr size_t finder_step_visits = 4096;

finder_actor::behavior_type
finder(finder_actor::stateful_pointer<finder_state> self,
       client_connection_actor conn, worker_pool pool,
       protocol::find_request req, size_t max_chunk_bytes);

} // namespace dirscope
