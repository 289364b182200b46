#include "actors/wire_io.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

namespace dirscope {

void flush_channel(caf::io::abstract_broker* self,
                   caf::io::connection_handle hdl, channel& chan) {
  auto& buf = self->wr_buf(hdl);
  auto before = buf.size();
  chan.drain(buf);
  if (buf.size() != before)
    self->flush(hdl);
}

std::optional<failure> send_frame(caf::io::abstract_broker* self,
                                  caf::io::connection_handle hdl,
                                  channel& chan, const protocol::message& msg) {
  auto& frame = frame_scratch();
  frame.clear();
  if (auto n = protocol::encode(msg, frame); !n) {
    spdlog::error("not sent: {}", n.error().message);
    return n.error();
  }
  // A failed TLS session refuses writes; its failure surfaces on receive.
  [[maybe_unused]] auto ok = chan.send(frame);
  flush_channel(self, hdl, chan);
  return std::nullopt;
}

void close_channel(caf::io::abstract_broker* self,
                   caf::io::connection_handle hdl, channel& chan) {
  chan.close();
  flush_channel(self, hdl, chan);
}

namespace {

/// Bytes of decoder input an idle connection may keep allocated.
constexpr size_t idle_input_capacity = 4096;

/// Frees the decoder's input buffer once the connection is quiet: the read
/// was small (a heartbeat ack) and left nothing half-read. Kept by every
/// idle connection, that buffer was ~40 % of the server's memory at 10,000
/// nodes (issue 9). Freed after every large read too, it cost a transfer an
/// allocation and fresh pages per read (get 1.35x slower, bench/RESULTS.md).
void release_idle_input(protocol::frame_decoder& decoder, size_t received) {
  auto& buf = decoder.input();
  if (received <= idle_input_capacity && decoder.buffered() == 0
      && buf.capacity() > idle_input_capacity)
    protocol::byte_buffer{}.swap(buf);
}

} // namespace

std::optional<failure>
consume_bytes(channel& chan, protocol::frame_decoder& decoder,
              const std::vector<char>& bytes,
              const std::function<bool(protocol::message&)>& on_message) {
  // Straight into the decoder's buffer: no copy in between.
  auto received = chan.receive(bytes.data(), bytes.size(), decoder.input());
  if (!received)
    return received.error();
  for (;;) {
    auto next = decoder.next();
    if (auto err = std::get_if<failure>(&next))
      return *err;
    auto msg = std::get_if<protocol::message>(&next);
    if (msg == nullptr || !on_message(*msg)) {
      release_idle_input(decoder, bytes.size());
      return std::nullopt;
    }
  }
}

std::vector<uint8_t>& frame_scratch() {
  thread_local std::vector<uint8_t> buf;
  return buf;
}

int64_t wall_clock_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace dirscope
