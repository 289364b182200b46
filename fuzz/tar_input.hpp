#pragma once

// Turns a fuzz input into the tar.gz stream a tree upload carries. Input
// byte 0 selects: bit 0 set means the rest is a raw tar (its header
// checksums are fixed up and it is gzip-compressed here, so that mutations
// reach libarchive's tar reader instead of dying on a CRC); clear means the
// rest is fed as is. Used by the harness and the seed generator.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <zlib.h>

namespace dirscope::fuzz {

/// Rewrites the checksum of every tar header reachable by walking `tar`
/// the way a reader does (header, then ceil(size / 512) data blocks).
inline void fix_tar_checksums(std::string& tar) {
  size_t pos = 0;
  while (pos + 512 <= tar.size()) {
    auto h = reinterpret_cast<unsigned char*>(&tar[pos]);
    bool zero = true;
    for (size_t i = 0; i < 512 && zero; ++i)
      zero = h[i] == 0;
    if (zero)
      return;
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; ++i)
      sum += h[i];
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%06o", sum & 0777777);
    std::memcpy(h + 148, buf, 6);
    h[154] = 0;
    h[155] = ' ';
    uint64_t len = 0;
    for (size_t i = 124; i < 136 && h[i] >= '0' && h[i] <= '7'; ++i)
      len = len * 8 + (h[i] - '0');
    if (len > tar.size())
      return;
    pos += 512 + (len + 511) / 512 * 512;
  }
}

/// gzip-compresses `data` (fast level: the input is small anyway).
inline std::string gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return {};
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// The stream to unpack for fuzz input `data`.
inline std::string tar_stream(const uint8_t* data, size_t size) {
  if (size == 0)
    return {};
  std::string rest{reinterpret_cast<const char*>(data + 1), size - 1};
  if ((data[0] & 1) == 0)
    return rest;
  fix_tar_checksums(rest);
  return gzip(rest);
}

} // namespace dirscope::fuzz
