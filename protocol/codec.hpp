#pragma once

// Frames on the wire: a 4-byte big-endian body length, then the body. The
// body starts with a 1-byte message tag. Everything is big-endian; strings
// are a 4-byte length and raw bytes. PROTOCOL.md is the full contract.

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "protocol/byte_buffer.hpp"
#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::protocol {

/// Wire tags, one per message kind. Part of the protocol: never renumber.
enum class message_tag : uint8_t {
  hello = 1,
  welcome = 2,
  reject = 3,
  heartbeat = 4,
  heartbeat_ack = 5,
  goodbye = 6,
  list_request = 16,
  stat_request = 17,
  chunk_ack = 18,
  cancel = 19,
  du_request = 20,
  remove_request = 21,
  notice = 22,
  echo_reply = 23,
  download_request = 24,
  upload_request = 25,
  upload_end = 26,
  data_chunk = 27,
  file_meta = 28,
  entries_chunk = 32,
  list_end = 33,
  stat_reply = 34,
  request_failed = 35,
  du_reply = 36,
  remove_reply = 37,
  echo = 38,
  download_end = 39,
  upload_reply = 40,
  list_progress = 41,
  hash_progress = 45,
  find_request = 50,
  find_chunk = 51,
  find_end = 52,
  find_progress = 53,
};

/// Returns the tag of `msg`.
message_tag tag_of(const message& msg) noexcept;

/// Returns a short name for the kind of `msg`, e.g. "list_request".
const char* name_of(const message& msg) noexcept;

/// The frame limit actually enforced for a configured or announced
/// `max_frame`: clamped to [min_frame_limit, absolute_max_frame], exactly as
/// frame_decoder does, so that sender and receiver agree.
constexpr uint32_t effective_max_frame(uint32_t max_frame) noexcept {
  return max_frame < min_frame_limit      ? min_frame_limit
         : max_frame > absolute_max_frame ? absolute_max_frame
                                          : max_frame;
}

/// Appends the complete frame (length prefix and body) for `msg` to `out`
/// and returns its size. Never truncates: fails with wire_code::bad_request,
/// leaving `out` as it was, if the body would exceed
/// effective_max_frame(max_frame) or a string or count does not fit its
/// length field.
[[nodiscard]] outcome<size_t> encode(const message& msg,
                                     std::vector<uint8_t>& out,
                                     uint32_t max_frame = absolute_max_frame);

/// Returns the complete frame for `msg`, or fails as the overload above.
[[nodiscard]] outcome<std::vector<uint8_t>>
encode(const message& msg, uint32_t max_frame = absolute_max_frame);

/// Largest `text` (in bytes) of an echo, echo_reply or notice whose frame
/// fits `max_frame` (as clamped by effective_max_frame). The console and the
/// node refuse longer lines with this number in the error.
size_t max_text_size(uint32_t max_frame) noexcept;

/// Returns how many bytes `x` adds to an entries_chunk body.
size_t encoded_size(const entry& x) noexcept;

/// Returns how many bytes `x` adds to a find_chunk body.
size_t encoded_size(const find_match& x) noexcept;

/// Decodes one frame body (without the length prefix). Fails with
/// wire_code::protocol_error on an unknown tag, truncated or trailing bytes,
/// an out-of-range enum value or an element count the body cannot hold.
outcome<message> decode_body(const uint8_t* data, size_t size);

/// Splits a byte stream into frames and decodes them. Feed it whatever the
/// socket delivered; it never buffers more than one frame beyond `max_frame`
/// (plus up to 256 KiB already decoded, reclaimed in one move rather than
/// after every frame).
class frame_decoder {
public:
  explicit frame_decoder(uint32_t max_frame = default_max_frame);

  /// Appends received bytes.
  void feed(const uint8_t* data, size_t size);

  /// The buffer that feed() appends to, for a producer that writes into it
  /// directly (a TLS session decrypting): append at the end only.
  byte_buffer& input() noexcept {
    return buf_;
  }

  /// Returns the next complete message, std::monostate if more bytes are
  /// needed, or a failure (oversized frame, undecodable body). After a
  /// failure the stream is unusable: the connection must close.
  std::variant<std::monostate, message, failure> next();

  /// Bytes received but not yet consumed.
  size_t buffered() const noexcept {
    return buf_.size() - pos_;
  }

private:
  uint32_t max_frame_;
  byte_buffer buf_;
  size_t pos_ = 0;
  bool failed_ = false;
};

} // namespace dirscope::protocol
