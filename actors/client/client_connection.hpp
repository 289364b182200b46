#pragma once

#include <cstdint>
#include <unordered_map>

#include <caf/io/broker.hpp>

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
  /// Largest frame the server accepts (from its welcome).
  uint32_t server_max_frame = protocol::default_max_frame;
  /// Liveness ticks of older generations are ignored (the welcome restarts
  /// them at the server's interval).
  uint64_t tick_generation = 0;
  caf::actor_clock::time_point last_rx;
  /// Listings in progress by request id.
  std::unordered_map<uint32_t, lister_actor> listers;
  /// Downloads and uploads in progress by request id.
  std::unordered_map<uint32_t, file_sender_actor> senders;
  std::unordered_map<uint32_t, file_receiver_actor> receivers;
  /// Requests in flight (listings and stats) by id.
  std::unordered_map<uint32_t, bool> in_flight;
};

using client_connection_broker
  = caf::io::stateful_broker<client_connection_state>*;

/// Most requests a node works on at once; more get too_many_requests.
constexpr size_t client_max_in_flight = 256;

/// Runs the node's connection; `tls` is nullptr for plain TCP.
caf::behavior client_connection(client_connection_broker self,
                                caf::io::connection_handle hdl,
                                client_settings settings, worker_pool pool,
                                node_agent_actor agent,
                                std::shared_ptr<tls::context> tls);

} // namespace dirscope
