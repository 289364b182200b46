// libFuzzer harness: every message decoder (decode_body dispatches on the
// first byte, the tag). A body either fails with protocol_error or decodes
// to a message that re-encodes to a body of the same length (the encoding
// is canonical up to unknown wire codes, which decode as `internal`) and
// round-trips from there byte for byte.

#include <cstddef>
#include <cstdint>

#include "fuzz/check.hpp"
#include "protocol/codec.hpp"
#include "tests/unit/protocol/test_support.hpp"

using namespace dirscope;
using namespace dirscope::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto res = decode_body(data, size);
  if (!res) {
    FUZZ_CHECK(res.error().code == wire_code::protocol_error);
    FUZZ_CHECK(!res.error().message.empty());
    return 0;
  }
  auto frame = encode(*res);
  FUZZ_CHECK(frame.ok());
  FUZZ_CHECK(frame->size() == frame_header_size + size);
  FUZZ_CHECK(tag_of(*res) == static_cast<message_tag>(data[0]));
  auto again = decode_body(frame->data() + frame_header_size,
                           frame->size() - frame_header_size);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(test::equal(*again, *res));
  auto frame2 = encode(*again);
  FUZZ_CHECK(frame2.ok() && *frame2 == *frame);
  return 0;
}
