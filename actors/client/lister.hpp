#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/client/worker_pool.hpp"

namespace dirscope {

/// How one listing runs (from the request and what the server accepts).
struct lister_config {
  /// Compute SHA-256 of regular files.
  bool with_hashes = false;
  /// The server allows a row whose hash takes long to come after rows that
  /// follow it (list_flags::late_rows).
  bool late_rows = false;
  /// The server accepts hash_progress frames (else list_progress only).
  bool hash_progress = false;
  /// Most entry bytes in one chunk (the server's frame limit).
  size_t max_chunk_bytes = 0;
};

/// One listing in progress: reads batches from the cursor, fans hashing out
/// over the worker pool, and hands finished chunks to the connection in
/// order, never more than protocol::chunk_window ahead of the server, each
/// chunk at most `max_chunk_bytes` of entries (the server's frame limit).
/// With late rows, a batch that waited `late_row_grace` for large files'
/// hashes goes out without their rows; each follows once its hash is done.
struct lister_state {
  static inline const char* name = "lister";

  /// A large file hashed on a bulk worker.
  struct big_hash {
    std::string name;
    uint64_t size = 0;
    /// The bulk worker's progress.
    node::hash_job_ptr job;
    /// Position of its row in its batch.
    size_t index = 0;
    bool done = false;
    std::optional<protocol::sha256_digest> sha256;
    std::optional<protocol::entry_error> error;
    /// Its batch went out without it: the row waits here for the hash.
    std::optional<protocol::entry> row;
  };

  /// A batch whose hashes are still being computed.
  struct batch_in_progress {
    uint64_t seq = 0;
    node::listing_batch batch;
    /// Groups of small files whose hashes are still running.
    size_t small_pending = 0;
    /// Its large files, in row order (keys of `bigs`).
    std::vector<uint64_t> bigs;
    caf::actor_clock::time_point arrived;
  };

  client_connection_actor conn;
  worker_pool pool;
  uint32_t id = 0;
  lister_config config;
  /// Null until the directory is open.
  dir_cursor_ptr cursor;
  bool reading = false;
  bool exhausted = false;
  uint32_t unacked = 0;
  uint64_t total = 0;
  uint64_t next_seq = 0;
  std::deque<batch_in_progress> batches;
  /// Large files being hashed (or done, their batch still waiting).
  std::map<uint64_t, big_hash> bigs;
  uint64_t next_big = 0;
  /// Bytes of large files whose hash is done and whose row went out.
  uint64_t big_bytes_done = 0;
  /// Rows whose hash arrived after their batch went out.
  std::vector<protocol::entry> late;
  /// The batch a grace timer runs for.
  std::optional<uint64_t> grace_for;
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
/// progress this often (well below the server's request timeout) to a
/// server that only knows list_progress.
constexpr auto lister_progress_interval = std::chrono::seconds{5};

/// How often a lister sends hash_progress for each large file being hashed
/// (for the shell's progress line).
constexpr auto lister_hash_progress_interval = std::chrono::seconds{1};

/// How long a batch waits for its large files' hashes before its other
/// rows go out without them (late rows only): files hashed in less keep
/// their place in name order.
constexpr auto late_row_grace = std::chrono::milliseconds{250};

/// Most large files a listing hashes or holds at once: reading stops
/// beyond it (bounds the rows held back).
constexpr size_t lister_max_big_hashes = 64;

/// Most bytes of small files hashed in one message to an ordinary worker
/// (a stat or a read queued behind it waits about 10 ms at most).
constexpr uint64_t lister_small_group_bytes = 16u << 20;

/// Most hash_progress frames per tick.
constexpr size_t lister_max_progress_frames = 8;

lister_actor::behavior_type
lister(lister_actor::stateful_pointer<lister_state> self,
       client_connection_actor conn, worker_pool pool, uint32_t id,
       std::string path, lister_config config);

} // namespace dirscope
