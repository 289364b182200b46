#pragma once

#include <cstdint>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"

namespace dirscope {

/// One upload in flight on a node connection: reads the next chunk from
/// the upload's source while the node's window has room and hands it to
/// the connection, which frames it. Ends with the connection (monitored),
/// after the last chunk, or when the connection stops it.
struct upload_pump_state {
  static inline const char* name = "upload_pump";

  upload_target_actor conn;
  upload_source_actor source;
  /// The upload's wire id on the connection.
  uint32_t id = 0;
  /// Chunks handed over and not yet acked by the node.
  uint32_t unacked = 0;
  /// A read from `source` is on its way.
  bool reading = false;
  /// Most bytes per chunk the node takes (large_chunks or not).
  uint64_t chunk_limit = 0;
};

upload_pump_actor::behavior_type
upload_pump(upload_pump_actor::stateful_pointer<upload_pump_state> self,
            upload_target_actor conn, uint32_t id,
            upload_source_actor source, uint64_t chunk_limit);

} // namespace dirscope
