#pragma once

// The two things every connection broker does with the wire: write one
// message as a frame, and turn received bytes into messages.

#include <functional>

#include <caf/io/abstract_broker.hpp>
#include <caf/io/connection_handle.hpp>

#include "protocol/codec.hpp"

namespace dirscope {

/// Encodes `msg` into the broker's write buffer for `hdl` and flushes.
void send_frame(caf::io::abstract_broker* self, caf::io::connection_handle hdl,
                const protocol::message& msg);

/// Feeds `bytes` to `decoder` and calls `on_message` for each complete
/// message while it returns true. Returns the decoder's failure, if any.
std::optional<failure>
consume_bytes(protocol::frame_decoder& decoder, const std::vector<char>& bytes,
              const std::function<bool(protocol::message&)>& on_message);

/// Current wall-clock time in ns since the epoch (UTC).
int64_t wall_clock_ns();

} // namespace dirscope
