#include "actors/wire_io.hpp"

#include <chrono>

namespace dirscope {

void send_frame(caf::io::abstract_broker* self, caf::io::connection_handle hdl,
                const protocol::message& msg) {
  auto frame = protocol::encode(msg);
  auto& buf = self->wr_buf(hdl);
  buf.insert(buf.end(), frame.begin(), frame.end());
  self->flush(hdl);
}

std::optional<failure>
consume_bytes(protocol::frame_decoder& decoder, const std::vector<char>& bytes,
              const std::function<bool(protocol::message&)>& on_message) {
  decoder.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  for (;;) {
    auto next = decoder.next();
    if (auto err = std::get_if<failure>(&next))
      return *err;
    auto msg = std::get_if<protocol::message>(&next);
    if (msg == nullptr || !on_message(*msg))
      return std::nullopt;
  }
}

int64_t wall_clock_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace dirscope
