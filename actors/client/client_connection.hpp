#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>

#include <caf/io/broker.hpp>
#include <caf/response_promise.hpp>

#include "actors/actors.hpp"
#include "actors/channel.hpp"
#include "actors/client/worker_pool.hpp"
#include "actors/settings.hpp"
#include "protocol/codec.hpp"
#include "tls/context.hpp"

namespace dirscope {

/// The node's end of the TCP connection: says hello, answers heartbeats,
/// and turns requests into work for listers and filesystem workers.
struct client_connection_state {
  static inline const char* name = "client_connection";

  caf::io::connection_handle hdl;
  /// Plain TCP or TLS: frames are read and written through it.
  channel chan;
  client_settings settings;
  worker_pool pool;
  node_agent_actor agent;
  protocol::frame_decoder decoder;
  enum class phase { awaiting_welcome, serving, closing } stage
    = phase::awaiting_welcome;
  std::chrono::milliseconds heartbeat_interval{10'000};
  /// Liveness ticks of older generations are ignored (the welcome restarts
  /// them at the server's interval).
  uint64_t tick_generation = 0;
  caf::actor_clock::time_point last_rx;
  /// Largest frame body the server accepts (welcome.max_frame).
  uint32_t peer_max_frame = protocol::min_frame_limit;
  /// protocol::server_feature bits of the welcome (0 from older servers).
  uint32_t server_features = 0;
  /// Listings in progress by request id.
  std::unordered_map<uint32_t, lister_actor> listers;
  /// Finds (and node-side tree walks) in progress by request id.
  std::unordered_map<uint32_t, finder_actor> finders;
  /// Downloads and uploads in progress by request id.
  std::unordered_map<uint32_t, file_sender_actor> senders;
  std::unordered_map<uint32_t, file_receiver_actor> receivers;
  /// Flow control of one request in flight.
  struct flow {
    /// Tells this request from an earlier one under the same id.
    uint64_t serial = 0;
    /// Chunks of a listing or download written out and not yet acked.
    uint32_t unacked_out = 0;
    /// Chunks of an upload received and not yet acked by this node.
    uint32_t unacked_in = 0;
  };
  /// Requests in flight by id.
  std::unordered_map<uint32_t, flow> in_flight;
  /// A stat hashing a large file on a bulk worker. Dropping it (the
  /// request ended, was cancelled, or the connection closed) stops the
  /// hash: nobody waits for it any more.
  struct stat_hash {
    uint64_t serial = 0;
    uint64_t size = 0;
    node::hash_job_ptr job;
    stat_hash() = default;
    stat_hash(stat_hash&&) = default;
    stat_hash& operator=(stat_hash&&) = default;
    ~stat_hash() {
      if (job)
        job->stop = true;
    }
  };
  /// Stats hashing large files by request id (for hash_progress).
  std::unordered_map<uint32_t, stat_hash> stat_hashes;
  uint64_t serials = 0;
  /// A reply frame waiting for room in the socket's write buffer.
  struct outgoing {
    uint32_t id = 0;
    protocol::message msg;
    /// Set for a data chunk: tells its file_sender that it went out.
    caf::response_promise written;
  };
  /// Replies in order, held while the socket's write buffer is full.
  std::deque<outgoing> outbox;
};

using client_connection_broker
  = caf::io::stateful_broker<client_connection_state>*;

/// Most requests a node works on at once; more get too_many_requests.
constexpr size_t client_max_in_flight = 256;

/// Replies wait in the outbox while the socket's write buffer holds more
/// than this many bytes, and file senders wait for their chunk to go out
/// before they read the next: a server that does not read the socket
/// cannot make the node buffer a file.
constexpr size_t client_send_backlog = 1u << 20;

/// Smallest welcome.max_frame the node works with (smaller is a protocol
/// error): a request_failed with its message fits.
constexpr uint32_t client_min_peer_frame = 1024;

/// True if a goodbye with `code` from the server dismisses the node (it
/// stops): `kicked`, `shutdown` and `ok`. Any other goodbye, e.g. `timeout`
/// after the node was paused, ends only the connection.
bool ends_node(wire_code code) noexcept;

/// Runs the node's connection; `tls` is nullptr for plain TCP.
caf::behavior client_connection(client_connection_broker self,
                                caf::io::connection_handle hdl,
                                client_settings settings, worker_pool pool,
                                node_agent_actor agent,
                                std::shared_ptr<tls::context> tls);

} // namespace dirscope
