#pragma once

// PUT /api/v1/file: an API client's request body as an upload to a node.
// The HTTP thread pushes the body into a bounded pipe (blocking while it is
// full, so TCP stops the client); a detached actor hands it to the node's
// upload pump chunk by chunk, hashing it on the way.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "node/sha256.hpp"

namespace dirscope::api {

class byte_pipe {
public:
  explicit byte_pipe(size_t limit) : limit_(limit) {
  }

  /// Appends, waiting while the pipe is full; false once it was aborted.
  bool push(const char* data, size_t len);

  /// Marks the end of the bytes.
  void finish();

  /// Stops both sides (the upload failed, or the client left).
  void abort();

  enum class got { data, end, aborted, timeout };

  /// Takes up to `most` bytes into `out`, waiting up to `wait`.
  got pop(std::string& out, size_t most, std::chrono::seconds wait);

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::string buf_;
  size_t limit_;
  bool finished_ = false;
  bool aborted_ = false;
};

struct upload_source_state {
  static inline const char* name = "api_upload";
  std::shared_ptr<byte_pipe> pipe;
  uint64_t size = 0;
  uint64_t offset = 0;
  node::sha256_hasher hash;
  bool done = false;
};

/// Hands out `size` bytes from `pipe` (detached: it blocks on the pipe).
upload_source_actor::behavior_type
upload_source(upload_source_actor::stateful_pointer<upload_source_state> self,
              std::shared_ptr<byte_pipe> pipe, uint64_t size);

} // namespace dirscope::api
