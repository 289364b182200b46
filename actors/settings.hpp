#pragma once

// What the actors need from the configuration, as plain values. The mains
// fill these from server_config / client_config (config.hpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace dirscope {

using std::chrono::milliseconds;

/// Settings of the server side.
struct server_settings {
  /// Interval between heartbeats sent to each node.
  milliseconds heartbeat_interval{10'000};
  /// Heartbeat intervals without any frame before a node counts as dead.
  uint32_t heartbeat_misses = 3;
  /// A connection must complete its hello within this time.
  milliseconds handshake_timeout{10'000};
  /// Most connections between accept and welcome (TLS handshake, hello):
  /// beyond it the server stops accepting until some are through, so that
  /// a reconnect storm waits in the listen backlog instead of piling up
  /// handshakes that miss handshake_timeout after their work was done.
  size_t max_handshakes = 256;
  /// Largest frame accepted from a node.
  uint32_t max_frame = 1u << 20;
  /// Most connected nodes.
  size_t max_clients = 100;
  /// Most requests in flight per node.
  size_t max_in_flight = 64;
  /// Longest node path a request may carry (bytes).
  size_t max_path = 4095;
  /// How long the shell waits for a node's answer (no data at all).
  milliseconds request_timeout{60'000};
  /// How long shutdown waits for nodes to leave after the goodbye.
  milliseconds shutdown_grace{3'000};
  /// Nodes must present this token in their hello (empty: no token).
  std::string enrollment_token;
};

/// Settings of the client (node) side.
struct client_settings {
  std::string server_host = "127.0.0.1";
  uint16_t server_port = 3443;
  std::string root;
  std::string name;
  std::string hostname;
  bool reconnect = true;
  milliseconds reconnect_min{1'000};
  milliseconds reconnect_max{30'000};
  /// Filesystem workers (0: one per core).
  size_t workers = 0;
  /// Directories with at most this many entries are listed sorted.
  size_t sort_limit = 100'000;
  uint32_t max_frame = 1u << 20;
  /// Enrollment token sent in the hello.
  std::string token;
  /// Node policy: what the operator may do beyond reading.
  bool allow_download = false;
  bool allow_upload = false;
  bool allow_delete = false;
  /// Heartbeat interval assumed until the server's welcome says otherwise.
  milliseconds heartbeat_interval{10'000};
  uint32_t heartbeat_misses = 3;
};

} // namespace dirscope
