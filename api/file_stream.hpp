#pragma once

// GET /api/v1/file: one node file streamed to an API client. The actor
// receives the download's bytes from the node's connection and queues
// them for the HTTP thread; while the client lags, it holds back its acks,
// so the node's window stops the transfer instead of memory filling up.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "api/stream_queue.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::api {

/// How the download began: its size (file_meta) or why it failed. Set
/// once by the actor, awaited by the HTTP thread before it answers.
class file_start {
public:
  void started(uint64_t size);
  void failed(failure why);

  /// Waits up to `wait`; nullopt on timeout.
  std::optional<outcome<uint64_t>> await(std::chrono::seconds wait);

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::optional<outcome<uint64_t>> result_;
};

struct file_stream_state {
  static inline const char* name = "api_file";

  node_connection_actor conn;
  uint64_t query = 0;
  std::shared_ptr<stream_queue> queue;
  std::shared_ptr<file_start> start;
  bool started = false;
  /// Acks held back while the client lags.
  uint64_t owed = 0;
};

/// Queued bytes above which acks wait for the client.
constexpr size_t file_stream_high_water = 4u << 20;

/// Downloads `path` (normalized) through `conn` under query `query`.
file_stream_actor::behavior_type
file_stream(file_stream_actor::stateful_pointer<file_stream_state> self,
            node_connection_actor conn, request_origin origin, std::string path,
            std::shared_ptr<stream_queue> queue,
            std::shared_ptr<file_start> start);

} // namespace dirscope::api
