#pragma once

// Internal to protocol/: the primitive encodings of PROTOCOL.md. Not part of
// the public API.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dirscope::protocol::detail {

/// Appends big-endian integers, raw bytes and length-prefixed strings.
/// A length that its field cannot hold is never truncated: the writer fails
/// (the first failure sticks, and nothing more is appended after it).
class byte_writer {
public:
  explicit byte_writer(std::vector<uint8_t>& out) : out_(out) {
    // nop
  }

  bool ok() const noexcept {
    return error_.empty();
  }

  const std::string& error() const noexcept {
    return error_;
  }

  /// Records `what` as the failure unless an earlier one exists.
  void fail(std::string what) {
    if (ok())
      error_ = std::move(what);
  }

  void u8(uint8_t x) {
    put(x, 1);
  }

  void u16(uint16_t x) {
    put(x, 2);
  }

  void u32(uint32_t x) {
    put(x, 4);
  }

  void u64(uint64_t x) {
    put(x, 8);
  }

  void i64(int64_t x) {
    put(static_cast<uint64_t>(x), 8);
  }

  void boolean(bool x) {
    put(x ? 1 : 0, 1);
  }

  void raw(const uint8_t* data, size_t size) {
    if (ok())
      out_.insert(out_.end(), data, data + size);
  }

  /// Writes a u32 length, then the bytes; fails without writing anything
  /// if the length does not fit in a u32. `field` names it in the error.
  void str(std::string_view x, const char* field = "string") {
    if (!fits_u32(x.size(), field))
      return;
    u32(static_cast<uint32_t>(x.size()));
    auto first = reinterpret_cast<const uint8_t*>(x.data());
    raw(first, x.size());
  }

  /// Writes an element count as a u32; fails if it does not fit.
  void count(size_t n, const char* field) {
    if (fits_u32(n, field))
      u32(static_cast<uint32_t>(n));
  }

  /// Overwrites 4 bytes at `offset` with `x` (used for length prefixes);
  /// fails if `x` does not fit in a u32 or the bytes were never written.
  void patch_u32(size_t offset, size_t x, const char* field = "length") {
    if (!fits_u32(x, field))
      return;
    if (offset > out_.size() || out_.size() - offset < 4) {
      fail(std::string{"cannot patch "} + field + " beyond the written bytes");
      return;
    }
    for (size_t i = 0; i < 4; ++i)
      out_[offset + i] = static_cast<uint8_t>(x >> (8 * (3 - i)));
  }

  size_t size() const noexcept {
    return out_.size();
  }

private:
  bool fits_u32(size_t n, const char* field) {
    if (n <= UINT32_MAX)
      return ok();
    fail(std::string{field} + " of " + std::to_string(n)
         + " bytes does not fit its 32-bit length field");
    return false;
  }

  void put(uint64_t x, size_t width) {
    if (!ok())
      return;
    for (size_t i = width; i > 0; --i)
      out_.push_back(static_cast<uint8_t>(x >> (8 * (i - 1))));
  }

  std::vector<uint8_t>& out_;
  std::string error_;
};

/// Reads what byte_writer wrote without ever reading past the end or
/// allocating more than the input could hold. The first failure sticks:
/// after it every read returns a zero value, so a decoder can read a whole
/// message and check ok() once at the end.
class byte_reader {
public:
  /// `kind` names the message being read in error messages.
  byte_reader(const uint8_t* data, size_t size, const char* kind)
    : pos_(data), end_(data + size), kind_(kind) {
    // nop
  }

  bool ok() const noexcept {
    return error_.empty();
  }

  const std::string& error() const noexcept {
    return error_;
  }

  size_t remaining() const noexcept {
    return static_cast<size_t>(end_ - pos_);
  }

  /// Records `what` as the failure unless an earlier one exists.
  void fail(const std::string& what) {
    if (ok())
      error_ = std::string{kind_} + ": " + what;
  }

  uint8_t u8(const char* field) {
    return static_cast<uint8_t>(get(1, field));
  }

  uint16_t u16(const char* field) {
    return static_cast<uint16_t>(get(2, field));
  }

  uint32_t u32(const char* field) {
    return static_cast<uint32_t>(get(4, field));
  }

  uint64_t u64(const char* field) {
    return get(8, field);
  }

  int64_t i64(const char* field) {
    return static_cast<int64_t>(get(8, field));
  }

  /// Reads a u8 that must be 0 or 1.
  bool boolean(const char* field) {
    auto x = u8(field);
    if (x > 1)
      fail("bad bool value " + std::to_string(x) + " in " + field);
    return x == 1;
  }

  /// Reads an optional's presence flag, which must be 0 or 1.
  bool flag(const char* field) {
    auto x = u8(field);
    if (x > 1)
      fail("bad presence flag " + std::to_string(x) + " for " + field);
    return x == 1;
  }

  /// Reads a u32 length and that many bytes.
  std::string str(const char* field) {
    auto n = u32(field);
    if (!ok())
      return {};
    if (n > remaining()) {
      fail(std::string{field} + " claims " + std::to_string(n)
           + " bytes but only " + std::to_string(remaining()) + " remain");
      return {};
    }
    std::string result(reinterpret_cast<const char*>(pos_), n);
    pos_ += n;
    return result;
  }

  template <size_t N>
  void raw(std::array<uint8_t, N>& out, const char* field) {
    if (!need(N, field))
      return;
    for (size_t i = 0; i < N; ++i)
      out[i] = pos_[i];
    pos_ += N;
  }

private:
  bool need(size_t n, const char* field) {
    if (!ok())
      return false;
    if (remaining() < n) {
      fail("truncated at " + std::string{field} + " (needs " + std::to_string(n)
           + " bytes, " + std::to_string(remaining()) + " left)");
      return false;
    }
    return true;
  }

  uint64_t get(size_t width, const char* field) {
    if (!need(width, field))
      return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < width; ++i)
      x = (x << 8) | pos_[i];
    pos_ += width;
    return x;
  }

  const uint8_t* pos_;
  const uint8_t* end_;
  const char* kind_;
  std::string error_;
};

} // namespace dirscope::protocol::detail
