#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include <caf/io/broker.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actors.hpp"
#include "actors/channel.hpp"
#include "actors/settings.hpp"
#include "protocol/codec.hpp"
#include "tls/context.hpp"

namespace dirscope {

/// The server's end of one node's TCP connection: speaks the wire protocol
/// and turns frames into typed messages. One per accepted connection.
struct node_connection_state {
  static inline const char* name = "node_connection";

  using clock = std::chrono::steady_clock;

  struct pending_list {
    uint64_t query = 0;
    std::string path;
    listing_sink_actor sink;
    caf::typed_response_promise<uint64_t, bool> promise;
    uint64_t received = 0;
    caf::actor_clock::time_point deadline;
  };

  struct pending_stat {
    uint64_t query = 0;
    std::string path;
    caf::typed_response_promise<protocol::entry> promise;
    caf::actor_clock::time_point deadline;
  };

  /// A request answered by one final frame (du, rm): `on_reply` gets that
  /// frame (false: it was not the expected kind), `on_error` a failure.
  struct pending_op {
    uint64_t query = 0;
    const char* command = "";
    std::string path;
    std::function<bool(protocol::message&)> on_reply;
    std::function<void(const caf::error&)> on_error;
    caf::actor_clock::time_point deadline;
  };

  /// A download: bytes go to `sink`, download_end delivers size and hash.
  struct pending_download {
    uint64_t query = 0;
    std::string path;
    transfer_sink_actor sink;
    caf::typed_response_promise<uint64_t, protocol::sha256_digest> promise;
    uint64_t next_offset = 0;
    caf::actor_clock::time_point deadline;
  };

  /// An upload: chunks are pulled from `source` while the window has room.
  struct pending_upload {
    uint64_t query = 0;
    std::string path;
    upload_source_actor source;
    caf::typed_response_promise<uint64_t> promise;
    uint64_t size = 0;
    uint32_t unacked = 0;
    bool reading = false;
    bool ended = false;
    bool tree = false; ///< a tar.gz stream: `size` is known at its end
    caf::actor_clock::time_point deadline;
  };

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
  uint32_t next_request = 1;
  uint64_t heartbeat_seq = 0;
  caf::actor_clock::time_point last_rx;
  std::unordered_map<uint32_t, pending_list> lists;
  std::unordered_map<uint32_t, pending_stat> stats;
  std::unordered_map<uint32_t, pending_op> ops;
  std::unordered_map<uint32_t, pending_download> downloads;
  std::unordered_map<uint32_t, pending_upload> uploads;
  /// Console query id -> wire request id of lists and transfers, for acks
  /// and cancels (stats and ops carry theirs; a cancel looks there too).
  std::unordered_map<uint64_t, uint32_t> queries;

  size_t in_flight() const {
    return lists.size() + stats.size() + ops.size() + downloads.size()
           + uploads.size();
  }
};

using node_connection_broker
  = caf::io::stateful_broker<node_connection_state>*;

/// The TLS context of the server (nullptr: plain TCP).
using tls_context_ptr = std::shared_ptr<tls::context>;

/// Runs one node connection (forked by the acceptor).
caf::behavior node_connection(node_connection_broker self,
                              caf::io::connection_handle hdl,
                              supervisor_actor supervisor,
                              server_settings settings, tls_context_ptr tls);

/// Accepts TCP connections on `doorman` and forks a node_connection for
/// each, announcing it to the supervisor.
caf::behavior acceptor(caf::io::broker* self, caf::io::doorman_ptr doorman,
                       supervisor_actor supervisor, server_settings settings,
                       tls_context_ptr tls);

} // namespace dirscope
