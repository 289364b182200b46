#include "node/sha256.hpp"

#include <cerrno>
#include <cstdint>
#include <memory>

#include <unistd.h>

#include "node/confine.hpp"

namespace dirscope::node {

void sha256_hasher::update(std::string_view data) {
  hash_.Update(reinterpret_cast<const CryptoPP::byte*>(data.data()),
                     data.size());
}

protocol::sha256_digest sha256_hasher::finish() {
  protocol::sha256_digest digest;
  static_assert(sizeof(digest) == CryptoPP::SHA256::DIGESTSIZE);
  hash_.Final(digest.data());
  return digest;
}

outcome<protocol::sha256_digest> sha256_fd(int fd,
                                           const std::atomic<bool>* stop,
                                           std::atomic<uint64_t>* progress) {
  sha256_hasher hash;
  // One buffer per worker thread: a listing of many small files allocates
  // nothing per file.
  thread_local std::unique_ptr<char[]> buf{new char[hash_read_size]};
  for (;;) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed))
      return make_failure(wire_code::cancelled, "hashing cancelled");
    auto n = ::read(fd, buf.get(), hash_read_size);
    if (n > 0) {
      hash.update({buf.get(), static_cast<size_t>(n)});
      if (progress != nullptr)
        progress->fetch_add(static_cast<uint64_t>(n),
                            std::memory_order_relaxed);
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      auto err = errno;
      auto result = errno_failure(err, "read");
      result.code = wire_code::io_error;
      return result;
    }
  }
  return hash.finish();
}

protocol::sha256_digest sha256_bytes(std::string_view data) {
  sha256_hasher hash;
  hash.update(data);
  return hash.finish();
}

} // namespace dirscope::node
