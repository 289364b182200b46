// libFuzzer harness: the frame decoder fed a byte stream in arbitrary
// pieces. Every frame it accepts re-encodes to a frame the decoder accepts
// again as the same message; a failure is final and always a
// protocol_error with a message; it never buffers more than one frame
// beyond its limit.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/check.hpp"
#include "protocol/codec.hpp"
#include "tests/unit/protocol/test_support.hpp"

using namespace dirscope;
using namespace dirscope::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  // First byte: the decoder's limit (the smallest, the default or the
  // largest) and the piece size the stream arrives in.
  static constexpr uint32_t limits[] = {min_frame_limit, default_max_frame,
                                        absolute_max_frame, 0};
  auto limit = limits[data[0] & 3];
  size_t piece = 1 + (data[0] >> 2) * 7;
  data += 1;
  size -= 1;
  frame_decoder dec{limit};
  size_t fed = 0;
  bool failed = false;
  while (!failed) {
    if (fed < size) {
      auto n = std::min(piece, size - fed);
      dec.feed(data + fed, n);
      fed += n;
    }
    FUZZ_CHECK(dec.buffered() <= size);
    for (;;) {
      auto next = dec.next();
      if (auto err = std::get_if<failure>(&next)) {
        FUZZ_CHECK(err->code == wire_code::protocol_error);
        FUZZ_CHECK(!err->message.empty());
        FUZZ_CHECK(dec.buffered() == 0);
        // Dead for good.
        FUZZ_CHECK(std::holds_alternative<failure>(dec.next()));
        failed = true;
        break;
      }
      auto msg = std::get_if<message>(&next);
      if (msg == nullptr)
        break;
      auto frame = encode(*msg, limit);
      FUZZ_CHECK(frame.ok());
      frame_decoder again{limit};
      again.feed(frame->data(), frame->size());
      auto back = again.next();
      FUZZ_CHECK(std::holds_alternative<message>(back));
      FUZZ_CHECK(test::equal(std::get<message>(back), *msg));
    }
    if (fed == size)
      break;
  }
  return 0;
}
