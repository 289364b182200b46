#pragma once

// Where a file's hash is computed: Crypto++ SHA-256 over 64 KiB reads
// (measured fastest on our machines, see STACK-NOTES.md).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <cryptopp/sha.h>

#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::node {

/// Size of each read() while hashing.
constexpr size_t hash_read_size = 64u << 10;

/// SHA-256 of bytes that arrive piece by piece (a transfer hashes what it
/// streams).
class sha256_hasher {
public:
  void update(std::string_view data);

  /// The digest of everything added since construction or the last
  /// finish(); the hasher then starts over.
  protocol::sha256_digest finish();

private:
  CryptoPP::SHA256 hash_;
};

/// Hashes everything readable from `fd` (from its current offset). Gives
/// up with wire_code::cancelled between two reads once `*stop` is true, so
/// a cancelled request or a stopping node never waits for a 10 GB hash.
/// Adds every byte it reads to `*progress` (when given), for a listing
/// that reports how far a long hash got. Reads into one buffer per thread.
outcome<protocol::sha256_digest>
sha256_fd(int fd, const std::atomic<bool>* stop = nullptr,
          std::atomic<uint64_t>* progress = nullptr);

/// Hashes an in-memory buffer (tests, known vectors).
protocol::sha256_digest sha256_bytes(std::string_view data);

} // namespace dirscope::node
