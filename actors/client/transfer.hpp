#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <string>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "node/transfer.hpp"

namespace dirscope {

/// One download in progress on the node: reads the file chunk by chunk on
/// one fs_worker (hashing as it goes) and hands the chunks to the
/// connection. Reads run ahead to fill the window: chunks being read,
/// chunks waiting for room in the socket buffer and chunks the server has
/// not acked together never exceed protocol::data_window, so a server that
/// acks without reading cannot make the node buffer the file.
struct file_sender_state {
  static inline const char* name = "file_sender";

  client_connection_actor conn;
  fs_worker_actor worker;
  uint32_t id = 0;
  node::file_reader_ptr reader;
  /// Bytes per chunk (fits the server's frame limit).
  size_t max_chunk = 0;
  /// Reads asked of the worker and not yet answered (answered in order).
  uint32_t reading = 0;
  /// Chunks waiting in the connection for room in the socket buffer.
  uint32_t handing_over = 0;
  uint32_t unacked = 0;
  /// The end of the file was read: later answers are ignored.
  bool ended = false;
};

file_sender_actor::behavior_type
file_sender(file_sender_actor::stateful_pointer<file_sender_state> self,
            client_connection_actor conn, fs_worker_actor worker,
            uint32_t id, std::string path, uint64_t offset, bool tree,
            size_t max_chunk, bool meta);

/// One upload in progress on the node: creates the temporary file and
/// writes the chunks in order on one fs_worker, acking each once written;
/// the commit checks size and hash and moves the file into place. The
/// temporary file goes away with this actor unless committed (or, with
/// `meta`, stays as a partial file for a resume). More bytes than
/// `declared`, or an end that says another size, fails the upload. With
/// `meta` the writer waits for the source's mode and mtime (file_meta);
/// with `resume` it continues the partial file of the same source.
struct file_receiver_state {
  static inline const char* name = "file_receiver";

  client_connection_actor conn;
  fs_worker_actor worker;
  uint32_t id = 0;
  node::file_writer_ptr writer;
  /// Chunks that arrived before the temporary file existed.
  std::deque<std::pair<uint64_t, std::string>> early;
  /// The commit, if it arrived before the temporary file existed.
  std::optional<std::pair<uint64_t, protocol::sha256_digest>> early_commit;
  /// upload_request.size (none for a tree, whose size is not known ahead).
  std::optional<uint64_t> declared;
  /// Bytes received so far (the end of the last chunk).
  uint64_t received = 0;
  bool failed = false;
  /// Continue a kept partial file (transfer_resume).
  bool resume = false;
  /// The target while the writer waits for file_meta (transfer_meta).
  std::string path;
};

file_receiver_actor::behavior_type
file_receiver(file_receiver_actor::stateful_pointer<file_receiver_state> self,
              client_connection_actor conn, fs_worker_actor worker,
              uint32_t id, std::string path, bool tree,
              std::optional<uint64_t> declared, bool meta = false,
              bool resume = false);

} // namespace dirscope
