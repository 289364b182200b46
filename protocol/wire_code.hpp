#pragma once

#include <cstdint>
#include <string_view>

namespace dirscope {

/// Every status that crosses the wire: request failures, per-entry errors,
/// handshake rejections and goodbye reasons share one code space, documented
/// in PROTOCOL.md. Values are part of the protocol: never renumber.
enum class wire_code : uint16_t {
  /// Success / normal close.
  ok = 0,
  /// The path does not exist on the node.
  not_found = 1,
  /// The node's operating system refused access.
  permission_denied = 2,
  /// A directory operation was asked of something else.
  not_a_directory = 3,
  /// The path would leave the node's root.
  outside_root = 4,
  /// The request was malformed (bad path, bad flags).
  bad_request = 5,
  /// An I/O error on the node.
  io_error = 6,
  /// Too many requests in flight on this connection.
  too_many_requests = 7,
  /// The request was cancelled by the server.
  cancelled = 8,
  /// The frame could not be decoded; the connection closes.
  protocol_error = 9,
  /// The peer speaks an incompatible protocol version.
  version_mismatch = 10,
  /// Another live node already uses this name.
  name_taken = 11,
  /// The server accepts no more nodes.
  server_full = 12,
  /// The server is shutting down.
  shutdown = 13,
  /// The operator disconnected the node.
  kicked = 14,
  /// The peer stopped answering heartbeats.
  timeout = 15,
  /// The client process is stopping (signal).
  client_exit = 16,
  /// The entry is of a kind that cannot be read (FIFO, socket, device).
  not_readable = 17,
  /// A symlink loop or too many levels of links.
  symlink_loop = 18,
  /// Anything else.
  internal = 19,
  /// The node did not prove it may join (enrollment token, certificate).
  unauthorized = 20,
  /// The node's policy does not allow the operation.
  not_permitted = 21,
  /// The TLS handshake or certificate verification failed.
  tls_failure = 22,
  /// The server only accepts TLS connections.
  tls_required = 23,
  /// The target of a transfer exists and is never overwritten.
  already_exists = 24,
  /// The server is stopping to come back: the node keeps reconnecting.
  restarting = 25,
};

/// The highest code this build knows.
constexpr wire_code last_wire_code = wire_code::restarting;

/// Returns a short snake_case name for `x`, e.g. "not_found".
std::string_view to_string(wire_code x) noexcept;

/// Maps a raw value received from the wire; unknown values become `internal`.
wire_code wire_code_from(uint16_t x) noexcept;

} // namespace dirscope
