#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/io/broker.hpp>
#include <caf/io/typed_broker.hpp>

#include "actors/actors.hpp"
#include "actors/channel.hpp"
#include "actors/server/request_table.hpp"
#include "actors/settings.hpp"
#include "protocol/codec.hpp"
#include "tls/context.hpp"

namespace dirscope {

/// The server's end of one node's TCP connection: speaks the wire protocol
/// and turns frames into typed messages. One per accepted connection.
struct node_connection_state {
  static inline const char* name = "node_connection";

  /// Fails whatever is still pending, whichever way the actor ended (a kill
  /// skips every handler): nobody waits for a reply forever.
  ~node_connection_state();

  caf::io::connection_handle hdl;
  /// Plain TCP or TLS: frames are read and written through it.
  channel chan;
  supervisor_actor supervisor;
  server_settings settings;
  protocol::frame_decoder decoder;
  /// Address, port and, after the hello, what the node said of itself.
  node_info info;
  enum class phase { awaiting_hello, joining, joined, closing } stage
    = phase::awaiting_hello;
  uint64_t heartbeat_seq = 0;
  /// When the node last acked a heartbeat, as the supervisor reads it.
  node_liveness_ptr liveness = std::make_shared<node_liveness>();
  caf::actor_clock::time_point last_rx;
  /// Every request in flight.
  request_table requests;
  /// Reading from the node is paused: it does not read what we write.
  bool reading_paused = false;
  /// Bytes asked of the socket per read: idle_read_size, or read_size
  /// while data flows.
  size_t read_limit = 0;
  /// A read filled the buffer since the last tick: data flows.
  bool reads_full = false;
  /// The next read hands its large buffer back to the allocator.
  bool release_read_buffer = false;
  /// Most data bytes per data_chunk either way: max_large_chunk once both
  /// sides have large_chunks (set with the welcome), else max_data_chunk.
  size_t data_chunk_limit = protocol::max_data_chunk;

  /// The node's name as logs may show it (escaped), or "no hello yet".
  std::string who() const;
};

/// Bytes the server may have waiting for one node's socket before it stops
/// reading from that node (an upload window is 1 MiB of data, up to 4 MiB
/// with large_chunks: a put then waits for the socket before it reads the
/// node's acks, which bounds what a node that never reads costs us).
constexpr size_t output_backlog_limit = 2 * 1024 * 1024;

/// Bytes read from a node's socket at a time while data flows.
constexpr size_t read_size = 64 * 1024;

/// Bytes read from a node's socket at a time while it is quiet: a fleet of
/// idle nodes must not cost read_size each (issue 9).
constexpr size_t idle_read_size = 2 * 1024;

/// The broker with its own timer, which only it sends to itself.
using node_broker_impl_actor = node_broker_actor::extend<
  /// Timer: request `id` may have run out of time.
  caf::reacts_to<atom::timeout, uint32_t>>;

using node_connection_broker
  = node_broker_impl_actor::stateful_broker_pointer<node_connection_state>;

/// The TLS context of the server (nullptr: plain TCP).
using tls_context_ptr = std::shared_ptr<tls::context>;

/// Runs one node connection (forked by the acceptor).
node_broker_impl_actor::behavior_type
node_connection(node_connection_broker self, caf::io::connection_handle hdl,
                supervisor_actor supervisor, server_settings settings,
                tls_context_ptr tls);

} // namespace dirscope
