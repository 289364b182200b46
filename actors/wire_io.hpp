#pragma once

// What every connection broker does with the wire: write a message as a
// frame, and turn received bytes into messages, both through its channel
// (plain TCP or TLS).

#include <functional>
#include <optional>

#include <caf/io/abstract_broker.hpp>
#include <caf/io/connection_handle.hpp>

#include "actors/channel.hpp"
#include "protocol/codec.hpp"

namespace dirscope {

/// Moves whatever the channel has for the socket into the write buffer.
void flush_channel(caf::io::abstract_broker* self,
                   caf::io::connection_handle hdl, channel& chan);

/// Encodes `msg`, sends it through `chan` and flushes. Returns (and logs)
/// the encoder's failure if `msg` cannot be framed; nothing is sent then.
std::optional<failure> send_frame(caf::io::abstract_broker* self,
                                  caf::io::connection_handle hdl,
                                  channel& chan, const protocol::message& msg);

/// Ends our side of the channel (TLS close_notify, after everything sent
/// so far) and flushes: call it after the last frame, e.g. a goodbye,
/// before closing the connection.
void close_channel(caf::io::abstract_broker* self,
                   caf::io::connection_handle hdl, channel& chan);

/// Passes received `bytes` through `chan` into `decoder` and calls
/// `on_message` for each complete message while it returns true. Returns
/// the channel's or the decoder's failure, if any. Flush the channel
/// afterwards: TLS answers handshakes on its own.
std::optional<failure>
consume_bytes(channel& chan, protocol::frame_decoder& decoder,
              const std::vector<char>& bytes,
              const std::function<bool(protocol::message&)>& on_message);

/// A buffer for encoding frames on this thread (the brokers' multiplexer
/// thread), reused so that sending a frame allocates nothing. Cleared by
/// every user before it encodes.
std::vector<uint8_t>& frame_scratch();

/// Current wall-clock time in ns since the epoch (UTC).
int64_t wall_clock_ns();

} // namespace dirscope
