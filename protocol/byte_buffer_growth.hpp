#pragma once

// Growing a byte_buffer at memcpy speed. The vector's own reallocation
// moves a byte_buffer's bytes one by one through its allocator (libstdc++
// copies with memmove only for std::allocator): 5 % of all samples of a get
// on the server's I/O thread (bench/RESULTS.md).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/byte_buffer.hpp"

namespace dirscope::protocol {

/// Resizes `buf` to `n` bytes; new bytes are uninitialised. The capacity
/// grows geometrically, the old bytes move with one memcpy.
inline void resize_uninit(byte_buffer& buf, size_t n) {
  if (n > buf.capacity()) {
    byte_buffer bigger;
    bigger.reserve(std::max(n, 2 * buf.capacity())); // empty: nothing moves
    bigger.resize(n);                                // nothing initialised
    if (!buf.empty())
      std::memcpy(bigger.data(), buf.data(), buf.size());
    buf.swap(bigger);
    return;
  }
  buf.resize(n);
}

/// Appends `size` bytes at `data` to `buf`.
inline void append(byte_buffer& buf, const uint8_t* data, size_t size) {
  if (size == 0)
    return;
  auto used = buf.size();
  resize_uninit(buf, used + size);
  std::memcpy(buf.data() + used, data, size);
}

} // namespace dirscope::protocol
