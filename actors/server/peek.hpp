#pragma once

// cat, head and tail of a remote file (console commands): the bytes come
// through the download path (download_request with transfer_meta) into
// memory, bounded by a cap, and the transfer is cancelled as soon as the
// answer is known.

#include <cstdint>
#include <optional>
#include <string>

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actors.hpp"
#include "protocol/outcome.hpp"
#include "shell/peek.hpp"

namespace dirscope {

/// One cat, head or tail on the server.
using peek_actor = transfer_sink_actor::extend<
  /// Runs it; replies with the bytes to print (not yet checked for binary
  /// content).
  replies_to<atom::get>::with<std::string>>;

/// What to read.
struct peek_job {
  node_connection_actor conn;
  request_origin origin; ///< the console's query (Ctrl-C cancels it)
  std::string path;    ///< normalized node path
  std::string shown;   ///< node:path, escaped, for messages
  shell::peek_kind kind = shell::peek_kind::cat;
  uint64_t lines = shell::default_peek_lines;
  uint64_t cap = shell::default_peek_cap;
};

struct peek_state {
  static inline const char* name = "peek";

  peek_job job;
  /// Bytes received, starting at file offset `base`.
  std::string data;
  uint64_t base = 0;
  /// The offset of the running request.
  uint64_t offset = 0;
  /// The node's file_meta (nodes before it send none).
  std::optional<uint64_t> size;
  /// tail of a file larger than the cap: the request from offset 0 is being
  /// cancelled, then the end of the file is asked for.
  bool restarting = false;
  /// Decided before the transfer ended (enough lines, or over the cap):
  /// the transfer is being cancelled and this is the answer.
  std::optional<outcome<std::string>> answer;
  caf::typed_response_promise<std::string> promise;
};

peek_actor::behavior_type
peek(peek_actor::stateful_pointer<peek_state> self, peek_job job);

} // namespace dirscope
