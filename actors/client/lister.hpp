#pragma once

#include <chrono>
#include <deque>
#include <string>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/client/worker_pool.hpp"

namespace dirscope {

/// One listing in progress: reads batches from the cursor, fans hashing out
/// over the worker pool, and hands finished chunks to the connection in
/// order, never more than protocol::chunk_window ahead of the server, each
/// chunk at most `max_chunk_bytes` of entries (the server's frame limit).
struct lister_state {
  static inline const char* name = "lister";

  /// A batch whose hashes are still being computed.
  struct batch_in_progress {
    node::listing_batch batch;
    size_t outstanding = 0;
  };

  client_connection_actor conn;
  worker_pool pool;
  uint32_t id = 0;
  bool with_hashes = false;
  size_t max_chunk_bytes = 0;
  /// Null until the directory is open.
  dir_cursor_ptr cursor;
  bool reading = false;
  bool exhausted = false;
  uint32_t unacked = 0;
  uint64_t total = 0;
  std::deque<batch_in_progress> batches;
  /// Hashes of large files running on the bulk workers.
  size_t big_hashes = 0;
  /// A chunk went to the connection since the last tick.
  bool sent_since_tick = false;
  bool ticking = false;
  /// Complete chunks waiting for room in the window.
  std::deque<std::vector<protocol::entry>> ready;

  ~lister_state() {
    // However the listing ends (done, cancelled, connection gone), hashes
    // still running for it give up.
    if (cursor)
      cursor->cancel();
  }
};

/// While a large file is hashed and no chunk goes out, the lister reports
/// progress this often (well below the server's request timeout).
constexpr auto lister_progress_interval = std::chrono::seconds{5};

lister_actor::behavior_type
lister(lister_actor::stateful_pointer<lister_state> self,
       client_connection_actor conn, worker_pool pool, uint32_t id,
       std::string path, bool with_hashes, size_t max_chunk_bytes);

} // namespace dirscope
